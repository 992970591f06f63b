"""Latency of the dashboard: from a widget change to the new image of a 1000 x 700 pixel view.

Run from the repository root::

    python -m benchmarks.bench_app             # full run, a few minutes: benchmarks/results/
    python -m benchmarks.bench_app --quick     # fewer repeats, benchmarks/output/
    python -m benchmarks.bench_app --no-browser

Two measurements of the same changes on the demo scene:

* **in-process**: a :class:`app.Dashboard` with a 1000 x 700 pixel view, driven through its
  parameters. Outside a server it refreshes synchronously, so the time of the assignment is the
  time until the new layer image (the RGBA array the map shows) exists. Bokeh and the browser
  are not included.
* **browser**: ``panel serve app/app.py`` in Debian's Chromium (Playwright), with the window
  sized so that the map's plot is about 1000 x 700 pixels. A script in the page watches the
  map's image data every animation frame; the time runs from just before Playwright changes
  the widget to the first frame in which the new image is in the plot (then painted).

Every change asks for something not computed before (a new band combination, a new threshold),
so the layer caches do not answer; the view's images stay loaded (the dashboard keeps them in
memory), as they would while a user explores one view. Nothing is asserted; the goals are
reported beside the figures: mean or median ≤ 0.5 s, s2cloudless + shadows after its first use
≤ 1.5 s. A change of dates or view loads new images and is reported for information.
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

from app.serving import IMAGES_JS
from benchmarks.measure import ROOT, json_ready, machine

FULL_OUT = ROOT / "benchmarks" / "results"
QUICK_OUT = ROOT / "benchmarks" / "output"  # gitignored

VIEW_SIZE = (1000, 700)
#: Chromium's window: the sidebar (330 px), the map and the NDVI-LST panel (420 px) around a
#: 1000-pixel-wide plot; the map's plot frame is 700 pixels high.
BROWSER_VIEWPORT = (1930, 1150)
#: Red bands tried in turn: each change asks for a band combination not computed before.
RED_BANDS = ("B12", "B01", "B05", "B06", "B07", "B8A", "B09", "B02", "B04", "B11")
MEAN_GOAL_S, S2CLOUDLESS_GOAL_S = 0.5, 1.5
PACKAGES = ("panel", "holoviews", "bokeh", "datashader", "numpy", "dask", "playwright")


@dataclass
class Scenario:
    """One kind of widget change, timed several times."""

    name: str
    goal_s: float | None
    in_process_s: list[float] = field(default_factory=list)
    browser_s: list[float] = field(default_factory=list)
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


# --- in-process ----------------------------------------------------------------------------


def in_process(scenarios: dict[str, Scenario], repeats: int) -> dict[str, object]:
    """Time the changes on a Dashboard in this process (synchronous refreshes)."""
    from app import Dashboard
    from app.view import initial_view
    from compositing.sources.demo import PRESETS

    point = PRESETS["Mosaic seed: San Francisco Peninsula, July 2021"]["point"]
    started = time.perf_counter()
    dashboard = Dashboard(view=initial_view(*point, *VIEW_SIZE, span_m=11_500))
    first_load = time.perf_counter() - started
    controls = dashboard.controls
    image = dashboard.map_view.images

    def timed(change: Callable[[], None], key: str) -> float:
        before = image[key]
        start = time.perf_counter()
        change()
        elapsed = time.perf_counter() - start
        if image[key] is None or image[key] is before:
            raise RuntimeError(f"no new {key} image after the change: {dashboard.status}")
        return elapsed

    for method in ("mean", "median"):
        controls.layers = [method]
        scenario = scenarios[f"bands_{method}"]
        for index in range(repeats):
            red = RED_BANDS[index % len(RED_BANDS)]
            green = "B08" if method == "mean" else "B8A"  # new combinations for each method
            scenario.in_process_s.append(
                timed(lambda r=red, g=green: controls.param.update(red=r, green=g), method)
            )
    controls.param.update(red="B11", green="B08", blue="B03")
    for index in range(repeats):
        scenarios["stretch_median"].in_process_s.append(
            timed(lambda i=index: setattr(controls, "stretch_max", 3000 + 10 * i), "median")
        )

    start = time.perf_counter()
    controls.cloud_mask = "s2cloudless"
    scenarios["s2cloudless_first"].in_process_s.append(time.perf_counter() - start)
    for index in range(repeats):
        threshold = 40.0 + index
        scenarios["s2cloudless_median"].in_process_s.append(
            timed(lambda t=threshold: setattr(controls, "cld_prb_thresh", t), "median")
        )
    controls.cloud_mask = "cldprb"

    for index in range(max(2, repeats // 2)):
        end = dt.date(2021, 8, 1) + dt.timedelta(days=5 * (index + 1))
        scenarios["dates_median"].in_process_s.append(
            timed(lambda e=end: setattr(controls, "dates", (dt.date(2021, 7, 1), e)), "median")
        )
    view = dashboard.map_view.view
    for index in range(max(2, repeats // 2)):
        shift = (view.x_range[1] - view.x_range[0]) * 0.3 * (index + 1)
        panned = type(view)(
            (view.x_range[0] + shift, view.x_range[1] + shift), view.y_range, *VIEW_SIZE
        )
        scenarios["pan_median"].in_process_s.append(
            timed(lambda v=panned: setattr(dashboard.map_view, "view", v), "median")
        )
    grid = dashboard.map_view.images["median"].rgba.shape
    return {"first_load_s": first_load, "image_shape": list(grid[:2]), "status": dashboard.status}


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


def browser(scenarios: dict[str, Scenario], repeats: int) -> dict[str, object]:
    """Time the same changes in Chromium against ``panel serve``."""
    from app.serving import (
        CHROMIUM,
        chromium,
        layer_checkbox,
        served_app,
        wait_until_idle,
        widget,
    )

    if not CHROMIUM.exists():
        return {"skipped": f"no Chromium at {CHROMIUM}"}
    with served_app() as served, chromium(BROWSER_VIEWPORT) as page:
        started = time.perf_counter()
        page.goto(served.url)
        status = page.get_by_text("refreshed in").first
        status.wait_for(timeout=180_000)
        first_load = time.perf_counter() - started
        wait_until_idle(page)  # the first refresh's thermal fit too

        def timed(change: Callable[[], None], timeout_s: float = 60) -> float:
            page.evaluate(WATCH_JS)
            change()
            page.wait_for_function("window.__changed !== null", timeout=timeout_s * 1000)
            elapsed = page.evaluate("window.__changed") / 1000
            wait_until_idle(page)  # the refresh's remaining steps (legend, fit)
            return elapsed

        layer_checkbox(page, "Mean").check()
        layer_checkbox(page, "Median").uncheck()
        wait_until_idle(page)
        for method in ("mean", "median"):
            if method == "median":
                layer_checkbox(page, "Median").check()
                layer_checkbox(page, "Mean").uncheck()
                wait_until_idle(page)
            green = "B08" if method == "mean" else "B8A"
            widget(page, "G").select_option(green)
            wait_until_idle(page)
            for index in range(repeats):
                red = RED_BANDS[(index + 3) % len(RED_BANDS)]
                scenarios[f"bands_{method}"].browser_s.append(
                    timed(lambda r=red: widget(page, "R").select_option(r))
                )
        maximum = widget(page, "Max", "input")
        for index in range(repeats):
            scenarios["stretch_median"].browser_s.append(
                timed(lambda i=index: (maximum.fill(str(3500 + 10 * i)), maximum.press("Enter")))
            )
        scenarios["s2cloudless_first"].browser_s.append(
            timed(
                lambda: widget(page, "Cloud mask").select_option(label="s2cloudless + shadows"), 180
            )
        )
        wait_until_idle(page)
        threshold = (
            page.locator("div.bk-Row", has=page.get_by_text("cld_prb_thresh (%)"))
            .locator("input.bk-input")
            .first
        )
        for index in range(repeats):
            value = str(60 + index)
            scenarios["s2cloudless_median"].browser_s.append(
                timed(lambda v=value: (threshold.fill(v), threshold.press("Enter")))
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

            scenarios["pan_median"].browser_s.append(timed(drag))
            wait_until_idle(page)
        plot_size = page.get_by_text("refreshed in").first.text_content()
    return {"first_load_s": first_load, "status": plot_size}


# --- report --------------------------------------------------------------------------------


def make_scenarios() -> dict[str, Scenario]:
    cached = "the view's images already loaded"
    return {
        "bands_mean": Scenario("Bands → mean (new R band)", MEAN_GOAL_S, note=cached),
        "bands_median": Scenario("Bands → median (new R band)", MEAN_GOAL_S, note=cached),
        "stretch_median": Scenario("Stretch max → median (recolour only)", MEAN_GOAL_S),
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
    return (
        f"- {where}: first view with its thermal fit in {context['first_load_s']:.1f} s; "
        f"last status: “{context['status']}”"
    )


def _cell(values: list[float]) -> str:
    summary = Scenario.summary(values)
    if summary is None:
        return "–"
    spread = f"{summary['min']:.2f}–{summary['max']:.2f}, n={summary['n']}"
    return f"{summary['median']:.2f} s ({spread})"


def _met(scenario: Scenario) -> str:
    if scenario.goal_s is None:
        return "(info)"
    verdicts = []
    for where, values in (("in-process", scenario.in_process_s), ("browser", scenario.browser_s)):
        if values:
            ok = statistics.median(values) <= scenario.goal_s
            verdicts.append(f"{where} {'yes' if ok else '**no**'}")
    return ", ".join(verdicts)


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
        _context_line("In-process", details.get("in_process", {})),
        _context_line("Browser", details.get("browser", {})),
        "",
        "| Change | Goal | In-process | Browser | Met? | Note |",
        "|---|---|---|---|---|---|",
    ]
    for scenario in scenarios.values():
        goal = f"≤ {scenario.goal_s:g} s" if scenario.goal_s else "–"
        lines.append(
            f"| {scenario.name} | {goal} | {_cell(scenario.in_process_s)} | "
            f"{_cell(scenario.browser_s)} | {_met(scenario)} | {scenario.note} |"
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
