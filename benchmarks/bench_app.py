"""Latency of the dashboard: from a widget change to the new image of a 1000 x 700 pixel view.

Run from the repository root::

    python -m benchmarks.bench_app             # full run, a few minutes: benchmarks/results/
    python -m benchmarks.bench_app --quick     # fewer repeats, benchmarks/output/
    python -m benchmarks.bench_app --no-browser

Two measurements of the same changes on the demo scene:

* **in-process**: a :class:`app.Dashboard` with a 1000 x 700 pixel view, driven through its
  parameters. Outside a server it refreshes synchronously, so the time of the assignment is the
  time until the new layer image (the RGBA array the map shows) exists. Bokeh and the browser
  are not included. Bytes: the RGBA images the change produced (what the map then sends,
  before Bokeh's own framing).
* **browser**: ``panel serve app/app.py`` in Debian's Chromium (Playwright), with the window
  sized so that the map's plot is about 1000 x 700 pixels. A script in the page watches the
  map's image data every animation frame; the time runs from just before Playwright changes
  the widget to the first frame in which the new image is in the plot (then painted). Bytes:
  the payloads of the websocket frames the server sent from the change until the dashboard is
  idle again (Playwright's ``framereceived``), and those the page sent (``framesent``).

**New bands are new.** Band composites are cached per (band, method, cloud mask) for the
session, so a "new band" sample must ask for a band that session never computed: the benchmark
keeps, per session, the set of bands computed for each method and mask (the visible layers'
bands at every refresh) and picks the next red band outside it. In-process, the computations'
cache misses confirm it: every sample's count of band composites computed is recorded. The
preset change (two new bands at once) starts each sample from a fresh set of caches: in-process
the band caches are cleared (the view's images stay loaded), in the browser a fresh page opens
a new session (every session has its own computations).

Every other change asks for something not computed before (a new threshold, new dates, a new
view). Nothing is asserted; the goals are reported beside the figures: a band change of mean or
median ≤ 0.5 s (the preset change too), a click until the pixel inspector shows the point's
series and a timeline change until its single image shows ≤ 0.5 s, s2cloudless + shadows and
csmask after their first use ≤ 1.5 s. A change of dates or view loads new images and is
reported for information.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from app import image_url
from app.options import BAND_PRESETS, CLOUD_MASK_LABELS, REFLECTANCE_BANDS
from app.serve_and_screenshot import IMAGES_JS
from benchmarks.measure import ROOT, json_ready, machine

FULL_OUT = ROOT / "benchmarks" / "results"
QUICK_OUT = ROOT / "benchmarks" / "output"  # gitignored

VIEW_SIZE = (1000, 700)
#: Chromium's window: the sidebar (330 px), the map and the NDVI-LST panel (420 px) around a
#: 1000-pixel-wide plot; the map's plot frame is 700 pixels high.
BROWSER_VIEWPORT = (1930, 1150)
#: The order in which never-computed bands are picked as the new red band: first the bands no
#: preset uses, then the rest.
_UNUSED_BY_PRESETS = ("B12", "B01", "B05", "B06", "B07", "B8A", "B09")
NEW_BAND_ORDER = (
    *_UNUSED_BY_PRESETS,
    *(band for band in REFLECTANCE_BANDS if band not in _UNUSED_BY_PRESETS),
)
#: The preset change timed: from the default SWIR (B11, B8, B3) to true colour, two new bands.
PRESET_FROM, PRESET_TO = "SWIR (B11, B8, B3)", "True colour (B4, B3, B2)"
MEAN_GOAL_S, S2CLOUDLESS_GOAL_S = 0.5, 1.5
#: The issue's goal for the pixel inspector and the timeline, once the view is loaded.
INSPECTOR_GOAL_S = 0.5
PACKAGES = (
    "panel", "holoviews", "geoviews", "cartopy", "bokeh", "datashader", "numpy", "dask",
    "playwright",
)  # fmt: skip


@dataclass
class Scenario:
    """One kind of widget change, timed several times, with the bytes of each update."""

    name: str
    goal_s: float | None
    in_process_s: list[float] = field(default_factory=list)
    browser_s: list[float] = field(default_factory=list)
    #: RGBA bytes of the images each in-process sample produced.
    in_process_bytes: list[int] = field(default_factory=list)
    #: Band composites each in-process sample computed (the computations' cache misses).
    in_process_computed: list[int] = field(default_factory=list)
    #: Websocket payload bytes per browser sample: server to page, and page to server.
    browser_received: list[int] = field(default_factory=list)
    browser_sent: list[int] = field(default_factory=list)
    #: How many new band composites each sample asks for (None: not a band change).
    new_bands: int | None = None
    note: str = ""

    @staticmethod
    def summary(values: list[float]) -> dict[str, float] | None:
        if not values:
            return None
        return {
            "median": statistics.median(values),
            "min": min(values),
            "max": max(values),
            "n": len(values),
        }


class SessionBands:
    """The bands a dashboard session has computed, per (method, cloud mask key).

    The benchmark adds the visible layer's bands after every refresh it causes, so that it
    can ask for a band the session has never computed."""

    def __init__(self) -> None:
        self.done: dict[tuple[str, str], set[str]] = {}

    def add(self, method: str, mask: str, bands: tuple[str, ...] | set[str]) -> None:
        self.done.setdefault((method, mask), set()).update(bands)

    def new_band(self, method: str, mask: str) -> str:
        done = self.done.get((method, mask), set())
        for band in NEW_BAND_ORDER:
            if band not in done:
                return band
        raise RuntimeError(f"every band is computed for {method} ({mask}): fewer repeats")

    def clear(self) -> None:
        self.done.clear()


# --- in-process ----------------------------------------------------------------------------


def in_process(scenarios: dict[str, Scenario], repeats: int) -> dict[str, object]:
    """Time the changes on a Dashboard in this process (synchronous refreshes)."""
    from app import Dashboard
    from app.options import DEFAULT_PLACE
    from app.view import initial_view
    from compositing.sources.demo import PRESETS

    point = PRESETS[DEFAULT_PLACE]["point"]  # the Earth Engine mosaic example's place
    started = time.perf_counter()
    dashboard = Dashboard(view=initial_view(*point, *VIEW_SIZE, span_m=11_500))
    first_load = time.perf_counter() - started
    controls, computations = dashboard.controls, dashboard.computations
    image = dashboard.map_view.images
    session = SessionBands()

    def triplet() -> tuple[str, str, str]:
        return (controls.red, controls.green, controls.blue)

    session.add("median", controls.cloud_mask, triplet())  # the first view's median

    def timed(scenario: Scenario, change: Callable[[], None], key: str) -> None:
        """Time ``change`` until layer ``key`` has a new image; record bytes and computations."""
        before = dict(image)
        misses = computations.band_composites.misses
        start = time.perf_counter()
        change()
        elapsed = time.perf_counter() - start
        if image[key] is None or image[key] is before[key]:
            raise RuntimeError(f"no new {key} image after the change: {dashboard.status}")
        scenario.in_process_s.append(elapsed)
        scenario.in_process_bytes.append(
            sum(
                len(image_url.encode(new.rgba))  # what the map sends: the image's data URL
                for k, new in image.items()
                if new is not None and new is not before[k]
            )
        )
        scenario.in_process_computed.append(computations.band_composites.misses - misses)

    for method in ("mean", "median"):
        controls.layers = [method]  # computes the current triplet for the method, if new
        session.add(method, controls.cloud_mask, triplet())
        for _ in range(repeats):
            red = session.new_band(method, controls.cloud_mask)
            timed(scenarios[f"bands_{method}"], lambda r=red: setattr(controls, "red", r), method)
            session.add(method, controls.cloud_mask, triplet())

    for _ in range(max(2, repeats // 2)):
        # A fresh start for the bands: the from-preset's three bands cached, nothing else.
        controls.band_preset = PRESET_TO  # so that the next line is a change (untimed)
        computations.band_composites.clear()
        computations.values.clear()
        computations.images.clear()
        controls.band_preset = PRESET_FROM  # computes its three bands (untimed)
        timed(
            scenarios["preset_median"],
            lambda: setattr(controls, "band_preset", PRESET_TO),
            "median",
        )

    controls.param.update(red="B11", green="B08", blue="B03")
    for index in range(repeats):
        timed(
            scenarios["stretch_median"],
            lambda i=index: setattr(controls, "stretch_max", 3000 + 10 * i),
            "median",
        )

    inspect_and_timeline(dashboard, scenarios, repeats, timed, point)

    start = time.perf_counter()
    controls.cloud_mask = "s2cloudless"
    scenarios["s2cloudless_first"].in_process_s.append(time.perf_counter() - start)
    for index in range(repeats):
        threshold = 40.0 + index
        timed(
            scenarios["s2cloudless_median"],
            lambda t=threshold: setattr(controls, "cld_prb_thresh", t),
            "median",
        )
    start = time.perf_counter()
    controls.cloud_mask = "csmask"
    scenarios["csmask_first"].in_process_s.append(time.perf_counter() - start)
    for index in range(repeats):
        timed(
            scenarios["csmask_median"],
            # 50 m steps: at the view's ~20 m pixels each is a new disk (a new mask).
            lambda b=100.0 + 50 * index: setattr(controls, "buffer", b),
            "median",
        )
    controls.cloud_mask = "cldprb"

    for index in range(max(2, repeats // 2)):
        end = dt.date(2021, 8, 1) + dt.timedelta(days=5 * (index + 1))
        timed(
            scenarios["dates_median"],
            lambda e=end: setattr(controls, "dates", (dt.date(2021, 7, 1), e)),
            "median",
        )
    view = dashboard.map_view.view
    for index in range(max(2, repeats // 2)):
        shift = (view.x_range[1] - view.x_range[0]) * 0.3 * (index + 1)
        panned = type(view)(
            (view.x_range[0] + shift, view.x_range[1] + shift), view.y_range, *VIEW_SIZE
        )
        timed(
            scenarios["pan_median"],
            lambda v=panned: setattr(dashboard.map_view, "view", v),
            "median",
        )
    grid = dashboard.map_view.images["median"].rgba.shape
    return {"first_load_s": first_load, "image_shape": list(grid[:2]), "status": dashboard.status}


def click_point(point: tuple[float, float], index: int) -> tuple[float, float]:
    """The ``index``-th inspected point: north-east of the view's centre, each a new pixel."""
    return (point[0] + 0.002 * (index + 1), point[1] + 0.001 * (index + 1))


def inspect_and_timeline(dashboard, scenarios: dict[str, Scenario], repeats: int, timed, point):
    """In-process: a click until the inspector shows the new pixel's series (the refresh goes
    on after it, for the map and the thermal fit); a timeline change until the single image
    shows."""
    inspector = dashboard.inspector
    for index in range(repeats):
        shown: list[float] = []
        watcher = inspector.param.watch(
            lambda _, into=shown: into.append(time.perf_counter()), "summary"
        )
        start = time.perf_counter()
        dashboard.map_view.tapped = click_point(point, index)
        inspector.param.unwatch(watcher)
        if not shown or inspector.series is None:
            raise RuntimeError(f"no series after the click: {inspector.summary}")
        scenarios["inspect_click"].in_process_s.append(shown[0] - start)
    controls = dashboard.controls
    controls.layers = ["median", "image"]
    times = list(controls.param.image_date.objects.values())
    for index in range(repeats):
        time_ = times[index % len(times)]
        if time_ == controls.image_date:
            time_ = times[(index + 1) % len(times)]
        timed(
            scenarios["timeline_image"], lambda t=time_: setattr(controls, "image_date", t), "image"
        )
    controls.layers = ["median"]


# --- browser -------------------------------------------------------------------------------

#: Installed before each change: watches the map's image sources every animation frame and
#: records when their data change (the new image is in the plot; the frame is then painted).
WATCH_JS = (
    """
() => {
  const images = """
    + IMAGES_JS
    + """;
  // The map's images that are not 1 x 1 placeholders of hidden layers.
  const signature = () => JSON.stringify(JSON.parse(images()).filter((image) => image[0] > 1));
  const before = signature();
  window.__changed = null;
  window.__start = performance.now();
  const tick = () => {
    const now = signature();
    if (now !== before && now !== "[]") {
      requestAnimationFrame(() => { window.__changed = performance.now() - window.__start; });
      return;
    }
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
}
"""
)


class Frames:
    """Websocket payload bytes of a page, both ways, since the last :meth:`reset`."""

    def __init__(self) -> None:
        self.received = 0
        self.sent = 0

    def watch(self, page) -> None:
        """Count every websocket the page opens from now on (a reload opens a new one)."""

        def count(direction: str, payload: str | bytes) -> None:
            size = len(payload.encode() if isinstance(payload, str) else payload)
            setattr(self, direction, getattr(self, direction) + size)

        def opened(socket) -> None:
            socket.on("framereceived", lambda payload: count("received", payload))
            socket.on("framesent", lambda payload: count("sent", payload))

        page.on("websocket", opened)

    def reset(self) -> None:
        self.received = self.sent = 0


def browser(scenarios: dict[str, Scenario], repeats: int) -> dict[str, object]:
    """Time the same changes in Chromium against ``panel serve``."""
    from app.serve_and_screenshot import (
        CHROMIUM,
        chromium,
        layer_checkbox,
        served_app,
        wait_until_idle,
        widget,
    )

    if not CHROMIUM.exists():
        return {"skipped": f"no Chromium at {CHROMIUM}"}
    frames = Frames()
    with served_app() as served, chromium(BROWSER_VIEWPORT) as page:
        frames.watch(page)

        def open_session() -> float:
            """A fresh page: a new session with its own computations and caches."""
            started = time.perf_counter()
            page.goto(served.url)
            page.get_by_text("refreshed in").first.wait_for(timeout=180_000)
            seconds = time.perf_counter() - started
            wait_until_idle(page)  # the first refresh's thermal fit too
            return seconds

        def timed(scenario: Scenario, change: Callable[[], None], timeout_s: float = 60) -> None:
            page.evaluate(WATCH_JS)
            frames.reset()
            change()
            page.wait_for_function("window.__changed !== null", timeout=timeout_s * 1000)
            scenario.browser_s.append(page.evaluate("window.__changed") / 1000)
            wait_until_idle(page)  # the refresh's remaining steps (legend, fit)
            # Playwright hands over websocket events only while it talks to the browser: this
            # round trip delivers the frames that arrived during the idle wait's last sleep.
            page.evaluate("0")
            scenario.browser_received.append(frames.received)
            scenario.browser_sent.append(frames.sent)

        first_load = open_session()
        session = SessionBands()
        mask = "cldprb"  # the default cloud mask (MSK_CLDPRB ≤ 10), kept for these rows
        bands = list(BAND_PRESETS[PRESET_FROM])  # the default triplet, shown as R, G, B
        session.add("median", mask, bands)  # the first view's median
        for method in ("mean", "median"):
            show, hide = ("Mean", "Median") if method == "mean" else ("Median", "Mean")
            layer_checkbox(page, show).check()
            layer_checkbox(page, hide).uncheck()
            wait_until_idle(page)
            session.add(method, mask, bands)
            for _ in range(repeats):
                red = session.new_band(method, mask)
                timed(
                    scenarios[f"bands_{method}"], lambda r=red: widget(page, "R").select_option(r)
                )
                bands[0] = red
                session.add(method, mask, bands)
        maximum = widget(page, "Max", "input")
        for index in range(repeats):
            timed(
                scenarios["stretch_median"],
                lambda i=index: (maximum.fill(str(3500 + 10 * i)), maximum.press("Enter")),
            )
        # The inspector: a click on the map until the inspector's words name the new point.
        box = page.locator(".bk-Canvas").first.bounding_box()
        summary = page.get_by_text("kept by the cloud mask").first
        for index in range(repeats):
            before = summary.text_content()
            click = (0.55 + 0.03 * index, 0.45 - 0.02 * index)  # each a new pixel
            started = time.perf_counter()
            page.mouse.click(
                box["x"] + box["width"] * click[0], box["y"] + box["height"] * click[1]
            )
            while summary.text_content() == before:
                if time.perf_counter() - started > 60:
                    raise TimeoutError("the inspector did not show the clicked pixel")
                time.sleep(0.01)
            scenarios["inspect_click"].browser_s.append(time.perf_counter() - started)
            wait_until_idle(page)
        # The timeline with the single image shown: until the new image is in the map.
        layer_checkbox(page, "Single image (timeline)").check()
        wait_until_idle(page)
        timeline = widget(page, "Image (timeline)")
        labels = timeline.locator("option").all_inner_texts()
        for index in range(repeats):
            timed(
                scenarios["timeline_image"],
                lambda i=index: timeline.select_option(label=labels[i % len(labels)]),
            )
        layer_checkbox(page, "Single image (timeline)").uncheck()
        wait_until_idle(page)
        timed(
            scenarios["s2cloudless_first"],
            lambda: widget(page, "Cloud mask").select_option(label="s2cloudless + shadows"),
            180,
        )
        threshold = (
            page.locator("div.bk-Row", has=page.get_by_text("cld_prb_thresh (%)"))
            .locator("input.bk-input")
            .first
        )
        for index in range(repeats):
            value = str(60 + index)
            timed(
                scenarios["s2cloudless_median"],
                lambda v=value: (threshold.fill(v), threshold.press("Enter")),
            )
        timed(
            scenarios["csmask_first"],
            lambda: widget(page, "Cloud mask").select_option(label=CLOUD_MASK_LABELS["csmask"]),
            180,
        )
        buffer = (
            page.locator("div.bk-Row", has=page.get_by_text("buffer (m)"))
            .locator("input.bk-input")
            .first
        )
        for index in range(repeats):
            value = str(100 + 50 * index)  # each a new disk at ~20 m pixels: a new mask
            timed(
                scenarios["csmask_median"],
                lambda v=value: (buffer.fill(v), buffer.press("Enter")),
            )
        widget(page, "Cloud mask").select_option(label="MSK_CLDPRB ≤ 10")
        wait_until_idle(page)
        box = page.locator(".bk-Canvas").first.bounding_box()
        centre = (box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        for _ in range(max(2, repeats // 2)):

            def drag() -> None:
                page.mouse.move(*centre)
                page.mouse.down()
                page.mouse.move(centre[0] - 0.3 * box["width"], centre[1], steps=4)
                page.mouse.up()

            timed(scenarios["pan_median"], drag)
        status = page.get_by_text("refreshed in").first.text_content()

        # The preset change, each time in a fresh session: the default SWIR median computed
        # (B11, B8, B3), then true colour asks for two bands never computed (B4, B2).
        fresh_loads = []
        for _ in range(max(2, repeats // 2)):
            fresh_loads.append(open_session())
            timed(
                scenarios["preset_median"],
                lambda: widget(page, "Bands").select_option(label=PRESET_TO),
            )
    return {"first_load_s": first_load, "fresh_session_loads_s": fresh_loads, "status": status}


# --- report --------------------------------------------------------------------------------


def make_scenarios() -> dict[str, Scenario]:
    new_band = (
        "one band the session never computed (tracked per session; in-process the cache misses "
        "confirm it); the view's images already loaded"
    )
    return {
        "bands_mean": Scenario(
            "Bands → mean (new R band)", MEAN_GOAL_S, new_bands=1, note=new_band
        ),
        "bands_median": Scenario(
            "Bands → median (new R band)", MEAN_GOAL_S, new_bands=1, note=new_band
        ),
        "preset_median": Scenario(
            f"Bands preset {PRESET_FROM.split(' (')[0]} → {PRESET_TO.split(' (')[0]} → median "
            "(2 new bands)",
            MEAN_GOAL_S,
            new_bands=2,
            note=(
                "B4 and B2 never computed: each sample starts with fresh band caches "
                "(in-process cleared, browser a fresh session); the view's images already loaded"
            ),
        ),
        "stretch_median": Scenario(
            "Stretch max → median (recolour only)", MEAN_GOAL_S, new_bands=0
        ),
        "inspect_click": Scenario(
            "Click the map → pixel inspector's series",
            INSPECTOR_GOAL_S,
            note=(
                "until the inspector shows the clicked pixel's series, mask reasons and picks "
                "(the refresh then goes on: map and thermal fit); the view's images loaded"
            ),
        ),
        "timeline_image": Scenario(
            "Timeline → single image",
            INSPECTOR_GOAL_S,
            note="another image of the loaded collection shown alone (Single image layer on)",
        ),
        "s2cloudless_median": Scenario(
            "s2cloudless cld_prb_thresh → median, after first use",
            S2CLOUDLESS_GOAL_S,
            note="probability cached; projection, buffer and median recomputed",
        ),
        "s2cloudless_first": Scenario(
            "Cloud mask → s2cloudless + shadows, first use",
            None,
            note="loads the L1C images and runs the model at ~100 m",
        ),
        "csmask_median": Scenario(
            "csmask buffer → median, after first use",
            S2CLOUDLESS_GOAL_S,
            note="network's probabilities cached; classes, buffer and median recomputed",
        ),
        "csmask_first": Scenario(
            "Cloud mask → csmask, first use",
            None,
            note="runs ukis-csmask's network at ~30 m on the view's L2A images",
        ),
        "dates_median": Scenario(
            "Dates → median (new images)", None, note="loads the view's images anew"
        ),
        "pan_median": Scenario(
            "Pan the map 30 % → median", None, note="loads the new view's images"
        ),
    }


def _context_line(where: str, context: dict) -> str:
    if not context:
        return f"- {where}: not run"
    if "skipped" in context:
        return f"- {where}: skipped ({context['skipped']})"
    line = (
        f"- {where}: first view with its thermal fit in {context['first_load_s']:.1f} s; "
        f"last status: “{context['status']}”"
    )
    if context.get("fresh_session_loads_s"):
        loads = ", ".join(f"{s:.1f}" for s in context["fresh_session_loads_s"])
        line += f"; the preset row's fresh sessions loaded in {loads} s"
    return line


def _cell(values: list[float]) -> str:
    summary = Scenario.summary(values)
    if summary is None:
        return "–"
    spread = f"{summary['min']:.2f}–{summary['max']:.2f}, n={summary['n']}"
    return f"{summary['median']:.2f} s ({spread})"


def _megabytes(values: list[int]) -> str:
    """Median bytes per update, in MB (10^6), with the range."""
    if not values:
        return "–"
    # kB for the page's small messages (widget events), MB for images.
    scale, unit = (1e3, "kB") if statistics.median(values) < 1e5 else (1e6, "MB")
    median = statistics.median(values) / scale
    low, high = min(values) / scale, max(values) / scale
    spread = f" ({low:.2f}–{high:.2f})" if high - low >= 0.005 else ""
    return f"{median:.2f} {unit}{spread}"


def _met(scenario: Scenario) -> str:
    if scenario.goal_s is None:
        return "(info)"
    verdicts = []
    for where, values in (("in-process", scenario.in_process_s), ("browser", scenario.browser_s)):
        if values:
            ok = statistics.median(values) <= scenario.goal_s
            verdicts.append(f"{where} {'yes' if ok else '**no**'}")
    return ", ".join(verdicts)


def _computed_note(scenario: Scenario) -> str:
    """For band changes: whether every in-process sample computed the new bands it asked for."""
    if scenario.new_bands is None or not scenario.in_process_computed:
        return scenario.note
    counts = sorted(set(scenario.in_process_computed))
    if counts == [scenario.new_bands]:
        check = f"in-process every sample computed {scenario.new_bands} band composite(s)"
    else:
        check = (
            f"**in-process samples computed {scenario.in_process_computed} band composites, "
            f"expected {scenario.new_bands} each**"
        )
    return f"{scenario.note}; {check}" if scenario.note else check


def write_report(out: Path, scenarios: dict[str, Scenario], details: dict, seconds: float) -> None:
    out.mkdir(parents=True, exist_ok=True)
    loads = details.get("load_average", [])
    host = machine(PACKAGES)
    (out / "app.json").write_text(
        json.dumps(
            json_ready(
                {
                    "generated": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                    "seconds": seconds,
                    "machine": host,
                    "details": details,
                    "scenarios": {
                        key: {
                            **asdict(s),
                            "in_process": Scenario.summary(s.in_process_s),
                            "browser": Scenario.summary(s.browser_s),
                            "in_process_image_bytes": Scenario.summary(s.in_process_bytes),
                            "browser_received_bytes": Scenario.summary(s.browser_received),
                            "browser_sent_bytes": Scenario.summary(s.browser_sent),
                        }
                        for key, s in scenarios.items()
                    },
                }
            ),
            indent=2,
        )
    )
    lines = [
        "# Dashboard latency",
        "",
        f"Generated by `python -m benchmarks.bench_app` on "
        f"{dt.datetime.now(dt.timezone.utc).isoformat(timespec='seconds')} in {seconds:.0f} s.",
        "",
        f"- Machine: {host['usable_cpus']} usable CPUs, {host['ram_gib']} GiB RAM, {host['cpu']}; "
        f"Python {host['python']}; "
        + ", ".join(f"{name} {version}" for name, version in host["versions"].items()),
        "- Load average (1 min) at the start and the end: "
        + ", ".join(f"{value:.2f}" for value in loads)
        + " (the browser, the server and other work share the cores)",
        "",
        "From a widget change to the new image of the demo scene's 1000 × 700 pixel view: "
        "median (min–max, n). In-process: a `Dashboard` driven through its parameters, until "
        "the layer's RGBA image exists. Browser: `panel serve` in Chromium, until the new "
        "image data is in the map's plot and a frame is drawn.",
        "",
        "A band change counts as new only when the session never computed that band for that "
        "method and mask: the benchmark tracks the bands each session computed and picks the "
        "next red band outside them; the preset row starts every sample from fresh band caches "
        "(in-process cleared, in the browser a fresh session).",
        "",
        "Bytes per update (median; MB = 10^6 bytes, kB = 10^3): in-process, the RGBA images "
        "the change produced; in the browser, the payloads of the websocket frames from the "
        "server to the page (↓) and back (↑), from the change until the dashboard is idle.",
        "",
        _context_line("In-process", details.get("in_process", {})),
        _context_line("Browser", details.get("browser", {})),
        "",
        "| Change | Goal | In-process | Browser | Met? | Bytes in-process | Bytes browser ↓ / ↑ "
        "| Note |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for scenario in scenarios.values():
        goal = f"≤ {scenario.goal_s:g} s" if scenario.goal_s else "–"
        browser_bytes = (
            f"{_megabytes(scenario.browser_received)} / {_megabytes(scenario.browser_sent)}"
            if scenario.browser_received
            else "–"
        )
        lines.append(
            f"| {scenario.name} | {goal} | {_cell(scenario.in_process_s)} | "
            f"{_cell(scenario.browser_s)} | {_met(scenario)} | "
            f"{_megabytes(scenario.in_process_bytes)} | {browser_bytes} | "
            f"{_computed_note(scenario)} |"
        )
    (out / "app.md").write_text("\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 repeats, to benchmarks/output/")
    parser.add_argument("--out", type=Path, help="output directory")
    parser.add_argument("--no-browser", action="store_true", help="in-process only")
    args = parser.parse_args(argv)
    repeats = 3 if args.quick else 7
    out = args.out or (QUICK_OUT if args.quick else FULL_OUT)
    scenarios = make_scenarios()
    started = time.perf_counter()
    load_start = os.getloadavg()[0]
    details: dict[str, object] = {"in_process": in_process(scenarios, repeats)}
    if not args.no_browser:
        details["browser"] = browser(scenarios, repeats)
    details["load_average"] = [load_start, os.getloadavg()[0]]
    write_report(out, scenarios, details, time.perf_counter() - started)
    print((out / "app.md").read_text())


if __name__ == "__main__":
    main()
