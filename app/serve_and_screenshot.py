"""Serve the dashboard and screenshot it: ``panel serve`` in a subprocess, headless Chromium.

The browser tests (``tests/test_app_browser.py``) and the latency benchmark
(``benchmarks/bench_app.py``) use it; so can anyone who wants a screenshot of the served app::

    from app.serve_and_screenshot import chromium, served_app, wait_until_idle

    with served_app() as app, chromium() as page:
        page.goto(app.url)
        wait_until_idle(page)
        page.screenshot(path="dashboard.png")

Chromium comes from Debian (``/usr/bin/chromium``): Playwright cannot download its own browsers
here. The flags keep it from reaching the network on its own.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
#: JavaScript that finds the map's images on the page: for every ``ImageURL`` data source
#: reachable from the documents' roots (a replaced plot may linger in ``all_models``), one entry
#: per image URL: [length of the URL, checksum of a sample of its characters, [w, h]]. A hidden
#: layer's source is empty (no entry).
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
      if (model.type !== "ColumnDataSource" || !model.data.url || !model.data.w) continue;
      const {url, w, h} = model.data;
      for (let i = 0; i < url.length; i++) {
        const text = String(url[i] ?? "");
        let sum = 0;
        const step = Math.max(1, Math.floor(text.length / 4096));
        for (let k = 0; k < text.length; k += step) sum = (sum * 31 + text.charCodeAt(k)) % 1e9;
        out.push([text.length, sum, [w[i], h[i]]]);
      }
    }
  }
  return JSON.stringify(out);
}
"""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class ServedApp:
    """A running ``panel serve``: the dashboard's address and the file the server logs to."""

    url: str
    log_path: Path

    def log(self) -> str:
        """What the server printed so far (for a failing test's message)."""
        return self.log_path.read_text(errors="replace")


@contextlib.contextmanager
def served_app(
    port: int | None = None,
    timeout: float = 120.0,
    env: dict[str, str] | None = None,
    args: Sequence[str] = (),
) -> Iterator[ServedApp]:
    """Run ``panel serve app/app.py`` on a free port until the block ends.

    Parameters
    ----------
    port
        The port (default a free one).
    timeout
        Seconds to wait for the first answer.
    env
        Environment variables to add to this process's for the server (e.g. the catalog
        endpoints ``COMPOSITE_EXPLORER_EARTH_SEARCH_URL`` / ``..._PLANETARY_COMPUTER_URL``).
    args
        Extra ``panel serve`` arguments appended to the command, e.g. ``["--liveness",
        "--check-unused-sessions", "1000", "--args", "--hosted"]`` (``--args`` takes the rest).
    """
    port = port or free_port()
    command = [
        str(Path(sys.executable).with_name("panel")),
        "serve",
        "app/app.py",
        "--port",
        str(port),
        "--address",
        "127.0.0.1",
        f"--allow-websocket-origin=127.0.0.1:{port}",
        *args,
    ]
    served = ServedApp(
        f"http://127.0.0.1:{port}/app",
        Path(tempfile.mkdtemp(prefix="panel-serve-")) / "server.log",
    )
    with open(served.log_path, "w") as log:
        process = subprocess.Popen(
            command,
            cwd=REPOSITORY,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
        )
        try:
            _wait_for_http(served, process, timeout)
            yield served
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_for_http(served: ServedApp, process: subprocess.Popen, timeout: float) -> None:
    """Wait until the server answers a static file. Not the app's page: every GET of the page
    opens a session that computes a dashboard for nobody, and on a busy machine a probe that
    times out and asks again piles such sessions up (20 were seen)."""
    probe = served.url.rsplit("/", 1)[0] + "/static/js/bokeh.min.js"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"panel serve exited with {process.returncode}:\n{served.log()}")
        try:
            with urllib.request.urlopen(probe, timeout=max(1.0, deadline - time.monotonic())):
                return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(
        f"panel serve did not answer at {probe} within {timeout:.0f} s:\n{served.log()}"
    )


@contextlib.contextmanager
def chromium(viewport: tuple[int, int] = (1800, 1000)) -> Iterator[object]:
    """A Playwright page in Debian's Chromium with a fresh profile.

    Parameters
    ----------
    viewport
        The window's (width, height) in pixels.
    """
    from playwright.sync_api import sync_playwright

    with (
        tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile,
        sync_playwright() as playwright,
    ):
        context = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=str(CHROMIUM),
            args=CHROMIUM_ARGS,
            headless=True,
            viewport={"width": viewport[0], "height": viewport[1]},
        )
        try:
            yield context.pages[0] if context.pages else context.new_page()
        finally:
            context.close()


def widget(page, label: str, element: str = "select"):
    """The ``element`` (select, input) of the dashboard widget labelled ``label``."""
    return page.locator(f".bk-input-group:has(> label:text-is('{label}')) {element}")


def layer_checkbox(page, label: str):
    """The Layers checkbox of the layer labelled ``label``."""
    return page.locator(f"label:has-text('{label}') input[type=checkbox]").first


def eventually(condition: Callable[[], bool], timeout: float = 30) -> bool:
    """Poll ``condition`` until it holds or ``timeout`` seconds pass; its last value."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def wait_until_idle(page, timeout: float = 60) -> None:
    """Wait until the status line says a refresh finished and no job is running.

    Raises
    ------
    TimeoutError
        Still busy after ``timeout`` seconds.
    """
    page.get_by_text("refreshed in").first.wait_for(timeout=timeout * 1000)
    progress = page.locator("progress").first
    # Busy: indeterminate (position -1) or partly filled; idle: empty.
    if not eventually(lambda: progress.evaluate("(bar) => bar.position") == 0, timeout):
        raise TimeoutError(f"the dashboard is still busy after {timeout:g} s")
    time.sleep(0.5)  # the last images reach the page after the bar empties


def map_images(page) -> list:
    """The map's images on the page (:data:`IMAGES_JS`), hidden layers' placeholders left out."""
    return [image for image in json.loads(page.evaluate(IMAGES_JS)) if image[0] > 1]


def wait_for_images(page, previous, timeout: float = 60) -> list:
    """Wait until the map's images differ from ``previous`` (and exist); return them.

    Raises
    ------
    AssertionError
        The map did not change within ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        images = map_images(page)
        if images and images != previous:
            return images
        time.sleep(0.1)
    raise AssertionError(f"the map did not change within {timeout} s (still {previous})")
