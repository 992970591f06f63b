"""A class on one server: N real Chromium pages open the served dashboard together.

Run from the repository root (loopback only; bounded in pages and time)::

    python -m benchmarks.bench_class                          # N = 1, 10, 20, 30; 3 rounds
    python -m benchmarks.bench_class --sessions 2 --rounds 1  # a smoke test
    python -m benchmarks.bench_class --hosted                 # panel serve ... --args --hosted

For each N a fresh ``panel serve app/app.py`` and one Chromium process with N pages in one
browser context. The server checks for unused sessions every second (``--check-unused-sessions
1000``) and drops them after the README recipe's ``--unused-session-lifetime`` of 120 s. The
lifetime must be longer than a page takes to load under load: Bokeh builds a session for the
page's HTTP GET and the page's websocket then claims it; a session culled in between is built a
second time for the websocket. With a one-second lifetime at ten pages that doubled the server's
work (33 s of CPU instead of 17.6 s; first maps 46-58 s instead of 27-35 s); with 10 s at thirty
pages the websockets connected up to 83 s after their GETs and most pages were built twice
(0-2 of 30 got their map within 120 s; with 120 s, 30 of 30 within 300 s; 2026-12-03).
How each figure is measured:

* **time to first map**: all N pages navigate at once (asyncio); a script in every page
  (:data:`PAGE_JS`) notes the wall-clock time when the map shows a layer image (the image
  sources :data:`app.serve_and_screenshot.IMAGES_JS` finds), the status says "refreshed in"
  and the progress bar is empty. Counted from the moment the navigations start; a page without
  its map within the cap is counted (``None``), never dropped.
* **repaint, all change the same widget**: every loaded page sets the stretch's Max to the same
  value at once; per page, from that moment to the first poll in which its image data changed.
* **repaint, half change different widgets**: every other loaded page changes one of stretch,
  bands, layers or dates (within the default month), in turn; the other half change nothing
  and must keep their images (a change there is counted as a cross-session update).
* **bytes per update**: per page, from the change until the page is idle again, the payloads
  of the websocket frames the server sent (Playwright's ``framereceived``) plus the HTTP
  responses the page loaded (an image URL's PNG; ``request.sizes()``), each also apart.
* **server memory**: the RSS of the server process and its children (psutil), sampled every
  0.5 s: cold (started, no session), warm (one page loaded and closed, sessions culled), with N
  pages open (after the repaints), the peak, and after all closed and culled, for each round;
  the server's thread count beside each; after a close, also the dashboards still in memory and
  the bytes the shared cache holds, as the server logs them (the cache is bounded and kept for
  the next sessions, so it is part of what stays).
* **problems**: pages with a console error, a blank map (status "refreshed in" but no image),
  a stuck progress bar (image and status, but the bar not empty after the others settle).

A guard stops an N (its figures so far kept, marked ``aborted``) when the server grows past
``--max-server-gb`` or the machine's available memory falls below ``--min-available-gb``: the
machine is shared. Results: ``benchmarks/results/class_load.json``; the table:
:func:`benchmarks.class_table.class_load_table`.

``--repository`` serves another checkout (e.g. the code before a change) with the same test.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import psutil

from app import serve_and_screenshot
from benchmarks.measure import MIB, ROOT, json_ready, machine

DEFAULT_OUT = ROOT / "benchmarks" / "results" / "class_load.json"
CHROMIUM = Path("/usr/bin/chromium")
#: serve_and_screenshot's flags, and no throttling of background pages' timers (all N pages
#: are "background" but one).
CHROMIUM_ARGS = [
    *serve_and_screenshot.CHROMIUM_ARGS,
    "--disable-background-timer-throttling",
    "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows",
]
#: A window whose map plot is about 1000 x 700 pixels (as in bench_app).
VIEWPORT = (1930, 1150)
#: Chromium's own chatter, not the page's.
BENIGN_CONSOLE = ("GL Driver Message", "WebGL")
PACKAGES = ("panel", "bokeh", "holoviews", "geoviews", "playwright")
#: The changes of the half-and-half repaint, taken in turn by the changing pages.
MIXED_CHANGES = ("stretch", "bands", "layers", "dates")
#: The server's line after sessions close (app/app.py): dashboards still in memory, cache MB.
ALIVE_LOG = re.compile(r"sessions alive: (\d+) dashboards; shared cache (\d+) MB")
SHARED_MAX = "3000"  # the stretch's Max every page sets (the default is 4000)

#: Installed in every page before its scripts: polls the page every POLL_MS and keeps, in
#: ``window.__bench``, when the first map was complete and when the images last changed.
PAGE_JS_TEMPLATE = """
(() => {
  const images = %(images)s;
  const signature = () => {
    try { return JSON.stringify(JSON.parse(images()).filter((i) => i[0] > 1)); }
    catch (error) { return "[]"; }
  };
  // Panel renders in open shadow roots: look through all of them.
  const roots = (root, out) => {
    for (const el of root.querySelectorAll("*")) {
      if (el.shadowRoot) { out.push(el.shadowRoot); roots(el.shadowRoot, out); }
    }
    return out;
  };
  const state = () => {
    let refreshed = false, bar = null;
    for (const root of roots(document, [])) {
      if (!refreshed && (root.textContent || "").includes("refreshed in")) refreshed = true;
      const progress = root.querySelector("progress");
      if (progress && bar === null) bar = progress.position;
    }
    return {refreshed, bar};
  };
  const bench = window.__bench = {
    image: null, done: null, armed: null, changed: null, signature: "[]",
    state, idle: () => { const s = state(); return s.refreshed && s.bar === 0; },
    arm: () => { bench.armed = signature(); bench.changed = null; },
  };
  setInterval(() => {
    const now = signature();
    bench.signature = now;
    if (now !== "[]" && bench.image === null) bench.image = Date.now();
    if (bench.image !== null && bench.done === null) {
      const s = state();
      if (s.refreshed && s.bar === 0) bench.done = Date.now();
    }
    if (bench.armed !== null && bench.changed === null && now !== bench.armed && now !== "[]")
      bench.changed = Date.now();
  }, %(poll_ms)d);
})();
"""
POLL_MS = 200


#: The map's images, in either form the dashboard has sent them: RGBA arrays in an image
#: source's ``image`` column (before issue 12) or image URLs in ``url`` with their ``w``, ``h``
#: (as :data:`app.serve_and_screenshot.IMAGES_JS` finds them now). The load test measures
#: both, so it has its own: [length, checksum of a sample] per image.
IMAGES_JS = """
() => {
  const out = [];
  for (const doc of (window.Bokeh ? Bokeh.documents : [])) {
    const models = new Set();
    for (const root of doc.roots()) {
      models.add(root);
      for (const model of root.references()) models.add(model);
    }
    for (const model of models) {
      if (model.type !== "ColumnDataSource") continue;
      const data = model.data;
      const items = data.image || (data.w ? data.url : null);
      if (!items) continue;
      for (const item of items) {
        const text = typeof item === "string" ? item : null;
        const length = text !== null ? text.length : (item && item.length) || 0;
        const step = Math.max(1, Math.floor(length / 4096));
        let sum = 0;
        for (let k = 0; k < length; k += step)
          sum = (sum * 31 + (text !== null ? text.charCodeAt(k) : item[k] >>> 0)) % 1e9;
        out.push([length, sum]);
      }
    }
  }
  return JSON.stringify(out);
}
"""


def page_js() -> str:
    return PAGE_JS_TEMPLATE % {"images": IMAGES_JS.strip(), "poll_ms": POLL_MS}


# --- the server ------------------------------------------------------------------------------


class Server:
    """``panel serve app/app.py`` of ``repository`` on a free loopback port, and its memory.

    Not :func:`app.serve_and_screenshot.served_app`: the load test needs the process (for its
    memory and threads) and serves other checkouts too.

    Parameters
    ----------
    repository
        The checkout whose ``app/app.py`` is served (its own ``app`` package is imported).
    hosted
        Serve with ``--args --hosted``.
    check_ms
        ``--check-unused-sessions``: how often unused sessions are looked for, in milliseconds.
    lifetime_ms
        ``--unused-session-lifetime``: how long an unclaimed or closed session is kept, in
        milliseconds. Shorter than a page's load, it makes the server build that page twice.
    """

    def __init__(self, repository: Path, hosted: bool, check_ms: int, lifetime_ms: int) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        # Closed sessions are gone one lifetime and at most two checks after the close.
        self.cull_s = lifetime_ms / 1000 + 2 * check_ms / 1000
        self.url = f"http://127.0.0.1:{self.port}/app"
        self.log_path = Path(tempfile.mkdtemp(prefix="class-load-")) / "server.log"
        command = [
            str(Path(sys.executable).with_name("panel")), "serve", "app/app.py",
            "--port", str(self.port), "--address", "127.0.0.1",
            f"--allow-websocket-origin=127.0.0.1:{self.port}",
            "--check-unused-sessions", str(check_ms), "--unused-session-lifetime", str(lifetime_ms),
        ]  # fmt: skip
        if hosted:
            command += ["--args", "--hosted"]
        self._log = open(self.log_path, "w")  # noqa: SIM115 (closed in stop)
        environment = {**os.environ, "PYTHONPATH": str(repository)}
        self.process = subprocess.Popen(
            command, cwd=repository, stdout=self._log, stderr=subprocess.STDOUT, env=environment
        )
        self.watched = psutil.Process(self.process.pid)

    def wait_ready(self, timeout: float = 120) -> None:
        """Wait until the port accepts connections (no HTTP GET: that would open a session)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"panel serve exited:\n{self.log_path.read_text()[-3000:]}")
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), 1),
            ):
                return
            time.sleep(0.3)
        raise TimeoutError(f"panel serve did not listen within {timeout} s")

    def rss_mib(self) -> float:
        """RSS of the server and its children, MiB (0 once it ended)."""
        with contextlib.suppress(psutil.Error):
            members = [self.watched, *self.watched.children(recursive=True)]
            return sum(member.memory_info().rss for member in members) / MIB
        return 0.0

    def threads(self) -> int:
        with contextlib.suppress(psutil.Error):
            return self.watched.num_threads()
        return 0

    def alive(self) -> bool:
        return self.process.poll() is None

    def logged_count(self, what: str) -> int | None:
        """The last count the server logged after sessions closed: ``"dashboards"`` still in
        memory, or the shared ``"cache"``'s MB (None before any session closed)."""
        counts = ALIVE_LOG.findall(self.log_path.read_text(errors="replace"))
        if not counts:
            return None
        dashboards, cache = counts[-1]
        return int(dashboards if what == "dashboards" else cache)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._log.close()


class MemoryWatch:
    """Samples the server's memory every 0.5 s; trips when it passes the guard."""

    def __init__(self, server: Server, max_server_mib: float, min_available_mib: float) -> None:
        self.server = server
        self.max_server_mib, self.min_available_mib = max_server_mib, min_available_mib
        self.peak_mib = 0.0
        self.aborted: str | None = None

    def reset_peak(self) -> None:
        self.peak_mib = self.server.rss_mib()

    async def run(self) -> None:
        while True:
            rss = self.server.rss_mib()
            self.peak_mib = max(self.peak_mib, rss)
            available = psutil.virtual_memory().available / MIB
            if self.aborted is None:
                if rss > self.max_server_mib:
                    self.aborted = f"server RSS {rss:.0f} MiB > guard {self.max_server_mib:.0f}"
                elif available < self.min_available_mib:
                    self.aborted = f"machine's available memory {available:.0f} MiB < guard"
                elif not self.server.alive():
                    self.aborted = "the server process ended"
            await asyncio.sleep(0.5)

    async def settled(self, timeout: float = 30) -> float:
        """The RSS once three samples 1 s apart agree within 20 MiB (or at ``timeout``)."""
        samples: list[float] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            samples.append(self.server.rss_mib())
            if len(samples) >= 3 and max(samples[-3:]) - min(samples[-3:]) < 20:
                break
            await asyncio.sleep(1)
        return samples[-1]


# --- the pages -------------------------------------------------------------------------------


@dataclass
class Probe:
    """One page, what it received and what went wrong."""

    page: object
    index: int
    #: Websocket payload bytes from the server, and HTTP response bytes (an image URL the
    #: plot loads arrives this way), since the last reset.
    received: int = 0
    http_received: int = 0
    console_errors: list[str] = field(default_factory=list)

    def attach(self) -> None:
        def count(payload: str | bytes) -> None:
            self.received += len(payload.encode() if isinstance(payload, str) else payload)

        def console(message) -> None:
            if message.type == "error" and not any(t in message.text for t in BENIGN_CONSOLE):
                # "Failed to load resource" names no address: the location does.
                where = (message.location or {}).get("url", "")
                self.console_errors.append(f"{message.text[:300]} ({where[:120]})")

        async def finished(request) -> None:
            with contextlib.suppress(Exception):  # the page closed meanwhile
                sizes = await request.sizes()
                self.http_received += sizes["responseBodySize"] + sizes["responseHeadersSize"]

        self.page.on("websocket", lambda ws: ws.on("framereceived", count))
        self.page.on("requestfinished", finished)
        self.page.on("console", console)
        self.page.on("pageerror", lambda error: self.console_errors.append(str(error)[:300]))

    async def bench(self) -> dict:
        try:
            return await self.page.evaluate(
                "() => window.__bench ? {image: __bench.image, done: __bench.done, changed:"
                " __bench.changed, signature: __bench.signature, idle: __bench.idle(),"
                " state: __bench.state()} : null"
            )
        except Exception as error:  # a crashed or closed page  # noqa: BLE001
            return {"error": str(error)[:200]}


def widget(page, label: str, element: str = "select"):
    """As :func:`app.serve_and_screenshot.widget` (which is for Playwright's sync API)."""
    return page.locator(f".bk-input-group:has(> label:text-is('{label}')) {element}")


SET_DATES_JS = """([start, end]) => { for (const doc of Bokeh.documents) for (const m of
  doc._all_models.values()) if (m.type === 'DateRangePicker') m.value = [start, end]; }"""


async def change(page, kind: str, index: int) -> None:
    """Make the change ``kind`` on ``page`` as a user would (``index`` varies the value)."""
    if kind == "stretch":
        field_ = widget(page, "Max", "input")
        await field_.fill(str(2500 + 10 * index))
        await field_.press("Enter")
    elif kind == "bands":
        await widget(page, "Bands").select_option(label="True colour (B4, B3, B2)")
    elif kind == "layers":
        await page.locator("label:has-text('Mean') input[type=checkbox]").first.check()
    elif kind == "dates":  # within the default month, July 2021
        await page.evaluate(SET_DATES_JS, ["2021-07-01", f"2021-07-{10 + index % 19:02d}"])
    else:
        raise ValueError(kind)


async def set_shared_max(page) -> None:
    field_ = widget(page, "Max", "input")
    await field_.fill(SHARED_MAX)
    await field_.press("Enter")


async def wait_all(
    probes: list[Probe], key: str, since_ms: float, cap_s: float, also: str | None = None
) -> tuple[list, list]:
    """Seconds from ``since_ms`` until each page's ``__bench[key]`` is set (None: not within
    ``cap_s``), and the same for ``also`` (read on the way, not waited for)."""
    deadline = time.monotonic() + cap_s
    seconds: list[float | None] = [None] * len(probes)
    others: list[float | None] = [None] * len(probes)
    while True:
        states = await asyncio.gather(*(probe.bench() for probe in probes))
        for i, state in enumerate(states):
            for name, values in ((key, seconds), (also, others)):
                if name and values[i] is None and state and state.get(name):
                    values[i] = round(max(0.0, (state[name] - since_ms) / 1000), 2)
        if all(value is not None for value in seconds) or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.5)
    return seconds, others


async def wait_idle(probes: list[Probe], cap_s: float) -> None:
    deadline = time.monotonic() + cap_s
    while time.monotonic() < deadline:
        states = await asyncio.gather(*(probe.bench() for probe in probes))
        if all(state and state.get("idle") for state in states):
            break
        await asyncio.sleep(0.5)
    await asyncio.sleep(0.5)  # the last frames of the update
    await asyncio.gather(*(probe.page.evaluate("0") for probe in probes), return_exceptions=True)


async def repaint(probes: list[Probe], changes: dict[int, str], cap_s: float) -> dict:
    """Make ``changes`` (page index → kind; ``"shared"``: the same Max) together and time them."""
    pages = [probe for probe in probes if probe.index in changes]
    idle = [probe for probe in probes if probe.index not in changes]
    await asyncio.gather(*(probe.page.evaluate("__bench.arm()") for probe in probes))
    for probe in probes:
        probe.received = probe.http_received = 0
    since_ms = time.time() * 1000

    async def one(probe: Probe) -> None:
        kind = changes[probe.index]
        await (
            set_shared_max(probe.page)
            if kind == "shared"
            else change(probe.page, kind, probe.index)
        )

    outcomes = await asyncio.gather(*(one(probe) for probe in pages), return_exceptions=True)
    seconds, _ = await wait_all(pages, "changed", since_ms, cap_s)
    await wait_idle(probes, min(cap_s, 30))
    idle_states = await asyncio.gather(*(probe.bench() for probe in idle))
    by_kind: dict[str, list] = {}
    for probe, value in zip(pages, seconds, strict=True):
        by_kind.setdefault(changes[probe.index], []).append(value)
    done = [value for value in seconds if value is not None]
    return {
        "pages": len(pages),
        "repainted": len(done),
        "seconds": seconds,
        "by_kind": by_kind,
        "max_s": max(done) if done else None,
        "median_s": statistics.median(done) if done else None,
        "bytes_received": [probe.received + probe.http_received for probe in pages],
        "websocket_bytes": [probe.received for probe in pages],
        "http_bytes": [probe.http_received for probe in pages],
        "change_errors": [str(o)[:200] for o in outcomes if isinstance(o, Exception)],
        # Pages that changed nothing but whose images changed: another session's update.
        "unchanged_pages_repainted": sum(bool(s and s.get("changed")) for s in idle_states),
    }


async def problems(probes: list[Probe]) -> dict:
    """Pages with a console error, a blank map or a stuck progress bar, after the others settle."""
    states = await asyncio.gather(*(probe.bench() for probe in probes))
    blank = stuck = no_map = 0
    for state in states:
        if not state or "error" in state:
            no_map += 1
            continue
        refreshed, bar = state["state"]["refreshed"], state["state"]["bar"]
        has_image = state["signature"] != "[]"
        if refreshed and not has_image:
            blank += 1
        elif has_image and refreshed and bar != 0:
            stuck += 1
        elif not has_image:
            no_map += 1
    errors = [probe.console_errors for probe in probes]
    return {
        "console_error_pages": sum(bool(e) for e in errors),
        "console_errors_sample": sorted({m for e in errors for m in e})[:5],
        "blank_map": blank,
        "stuck_progress": stuck,
        "no_map": no_map,
    }


# --- one N -----------------------------------------------------------------------------------


@dataclass
class Options:
    repository: Path
    hosted: bool
    rounds: int
    load_cap_s: float
    repaint_cap_s: float
    check_ms: int
    lifetime_ms: int
    max_server_mib: float
    min_available_mib: float


async def open_pages(browser, n: int, script: str):
    context = await browser.new_context(viewport={"width": VIEWPORT[0], "height": VIEWPORT[1]})
    await context.add_init_script(script)
    probes = []
    for index in range(n):
        probe = Probe(await context.new_page(), index)
        probe.attach()
        probes.append(probe)
    return context, probes


async def navigate(probes: list[Probe], url: str, cap_s: float) -> list[str]:
    async def go(probe: Probe) -> None:
        await probe.page.goto(url, wait_until="commit", timeout=cap_s * 1000)

    outcomes = await asyncio.gather(*(go(probe) for probe in probes), return_exceptions=True)
    return [str(o)[:200] for o in outcomes if isinstance(o, Exception)]


async def after_close(context, watch: MemoryWatch, server: Server) -> dict:
    await context.close()
    await asyncio.sleep(server.cull_s + 2)  # the unused-session cull runs
    return {
        "after_close_mib": round(await watch.settled()),
        "threads_after": server.threads(),
        "dashboards_after": server.logged_count("dashboards"),
        "cache_after_mib": server.logged_count("cache"),
    }


async def one_n(browser, n: int, options: Options) -> dict:
    server = Server(options.repository, options.hosted, options.check_ms, options.lifetime_ms)
    # The machine is shared: the load before each N is part of its conditions.
    result: dict = {"sessions": n, "load_average": os.getloadavg(), "rounds": []}
    watcher = None
    try:
        server.wait_ready()
        watch = MemoryWatch(server, options.max_server_mib, options.min_available_mib)
        watcher = asyncio.create_task(watch.run())
        result["cold_mib"] = round(await watch.settled(10))
        result["threads_cold"] = server.threads()
        script = page_js()
        # Warm-up: the teacher's page, loaded and closed.
        context, probes = await open_pages(browser, 1, script)
        since_ms = time.time() * 1000
        await navigate(probes, server.url, options.load_cap_s)
        result["warmup_first_map_s"] = (
            await wait_all(probes, "done", since_ms, options.load_cap_s)
        )[0][0]
        closed = await after_close(context, watch, server)
        result["warm_mib"], result["threads_warm"] = (
            closed["after_close_mib"],
            closed["threads_after"],
        )
        for round_index in range(options.rounds):
            if watch.aborted:
                break
            result["rounds"].append(
                await one_round(browser, n, options, server, watch, script, round_index)
            )
        result["aborted"] = watch.aborted
    except Exception as error:  # noqa: BLE001 (kept in the results; the next N still runs)
        result["failed"] = f"{type(error).__name__}: {error}"[:500]
    finally:
        if watcher:
            watcher.cancel()
        result["server_alive_at_end"] = server.alive()
        server.stop()
        log = server.log_path.read_text(errors="replace")
        result["server_log_counts"] = {
            line: log.count(line)
            for line in ("ServerConnection created", "WebSocket connection opened", "Traceback")
        }
        result["server_log_tail"] = log[-600:]
    return result


async def one_round(
    browser, n, options: Options, server: Server, watch: MemoryWatch, script, round_index
) -> dict:
    started = time.monotonic()
    watch.reset_peak()
    context, probes = await open_pages(browser, n, script)
    since_ms = time.time() * 1000
    goto_errors = await navigate(probes, server.url, options.load_cap_s)
    first, images = await wait_all(
        probes,
        "done",
        since_ms,
        options.load_cap_s - (time.time() * 1000 - since_ms) / 1000,
        also="image",
    )
    loaded = [value for value in first if value is not None]
    record: dict = {
        "round": round_index + 1,
        "first_map_s": first,
        # The image alone (status or bar not yet, or never, done): the old code's stuck bars.
        "first_image_s": images,
        "loaded": len(loaded),
        "with_image": sum(value is not None for value in images),
        "within_10_s": sum(value <= 10 for value in loaded),
        "load_cap_s": options.load_cap_s,
        "all_loaded_s": max(first) if len(loaded) == n else None,
        "goto_errors": goto_errors[:3],
    }
    # Pages with an image repaint (one with a stuck bar too: the repaint is the image's).
    ready = [probe for probe, value in zip(probes, images, strict=True) if value is not None]
    if round_index == 0 and ready and not watch.aborted:
        record["shared"] = await repaint(
            ready, {p.index: "shared" for p in ready}, options.repaint_cap_s
        )
        if not watch.aborted:
            changes = {
                p.index: MIXED_CHANGES[i // 2 % 4] for i, p in enumerate(ready) if i % 2 == 0
            }
            record["mixed"] = await repaint(ready, changes, options.repaint_cap_s)
    record["problems"] = await problems(probes)
    record["open_mib"] = round(server.rss_mib())
    record["peak_mib"] = round(watch.peak_mib)
    record["threads_open"] = server.threads()
    record.update(await after_close(context, watch, server))
    record["seconds"] = round(time.monotonic() - started, 1)
    return record


async def run(sessions: list[int], options: Options, save: Callable[[list[dict]], None]) -> None:
    """Each N in turn with one Chromium; ``save`` gets the results so far after each N."""
    from playwright.async_api import async_playwright

    results = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            for n in sessions:
                started = time.monotonic()
                outcome = await one_n(browser, n, options)
                outcome["seconds"] = round(time.monotonic() - started, 1)
                results.append(outcome)
                save(results)
                print(json.dumps(json_ready(_brief(outcome))), flush=True)
        finally:
            await browser.close()


def _brief(outcome: dict) -> dict:
    """A one-line progress report of one N."""
    rounds = outcome.get("rounds", [])
    return {
        "sessions": outcome["sessions"],
        "seconds": outcome.get("seconds"),
        "loaded": [r["loaded"] for r in rounds],
        "with_image": [r["with_image"] for r in rounds],
        "open_mib": [r["open_mib"] for r in rounds],
        "after_close_mib": [r["after_close_mib"] for r in rounds],
        "aborted": outcome.get("aborted"),
        "failed": outcome.get("failed"),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, nargs="+", default=[1, 10, 20, 30])
    parser.add_argument("--rounds", type=int, default=3, help="open/close rounds per N")
    parser.add_argument("--hosted", action=argparse.BooleanOptionalAction, default=False)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--load-cap", type=float, default=120.0, help="s for all first maps")
    parser.add_argument("--repaint-cap", type=float, default=60.0, help="s for a repaint")
    parser.add_argument("--check-ms", type=int, default=1000, help="--check-unused-sessions")
    parser.add_argument(
        "--lifetime-ms", type=int, default=120000, help="--unused-session-lifetime (> a load)"
    )
    parser.add_argument("--max-server-gb", type=float, default=12.0)
    parser.add_argument("--min-available-gb", type=float, default=3.0)
    parser.add_argument("--repository", type=Path, default=ROOT, help="the checkout to serve")
    parser.add_argument("--note", default="", help="conditions of the run, kept in the results")
    args = parser.parse_args(argv)
    if not CHROMIUM.exists():
        raise SystemExit(f"no Chromium at {CHROMIUM}")
    if max(args.sessions) > 40 or args.rounds > 5:
        raise SystemExit("bounded: at most 40 pages and 5 rounds")
    options = Options(
        repository=args.repository.resolve(), hosted=args.hosted, rounds=args.rounds,
        load_cap_s=args.load_cap, repaint_cap_s=args.repaint_cap, check_ms=args.check_ms,
        lifetime_ms=args.lifetime_ms,
        max_server_mib=args.max_server_gb * 1024, min_available_mib=args.min_available_gb * 1024,
    )  # fmt: skip
    started = time.perf_counter()
    load_start = os.getloadavg()
    report: dict = {}

    def save(results: list[dict]) -> None:
        """Write what is measured so far (a long run stopped halfway keeps its first Ns)."""
        report.update(
            generated=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            seconds=round(time.perf_counter() - started),
            machine=machine(PACKAGES),
            conditions={
                "load_average_start": load_start,
                "load_average_end": os.getloadavg(),
                "note": args.note,
            },
            options={**asdict(options), "repository": str(options.repository)},
            client=f"Chromium pages ({CHROMIUM}), one browser, one context per round",
            viewport=VIEWPORT,
            by_sessions=results,
        )
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(json_ready(report), indent=1))

    asyncio.run(run(args.sessions, options, save))
    from benchmarks.class_table import class_load_table

    print(class_load_table(report))


if __name__ == "__main__":
    main()
