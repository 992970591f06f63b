"""Sessions that come and go on one served dashboard: each page gets its image, its own
notifications and only local resources; closed sessions give their memory back.

One server (with a quick cull of unused sessions) and one Chromium serve the module; the tests
run in file order: pages open, are checked, then close.
"""

from __future__ import annotations

import json
import re
import time
from urllib.parse import urlparse

import pytest

from app.serve_and_screenshot import (
    CHROMIUM,
    chromium,
    eventually,
    map_images,
    served_app,
    widget,
)

psutil = pytest.importorskip("psutil")
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="no Chromium at /usr/bin/chromium on this machine"
)

PAGES = 3
#: Unused sessions are culled within about a second (Panel's defaults: 17 s and 15 s).
CULL_ARGS = ["--check-unused-sessions", "1000", "--unused-session-lifetime", "1000"]
#: Threads a closed session may leave behind in all (pools that grow lazily to their bound).
THREAD_TOLERANCE = 8
ALIVE = re.compile(r"sessions alive: (\d+) dashboards")
HELD = re.compile(r"a closed dashboard is still held: (.*)")


def server_process(url: str) -> psutil.Process:
    """The ``panel serve`` child process listening on the URL's port."""
    port = str(urlparse(url).port)
    for child in psutil.Process().children(recursive=True):
        with_args = child.cmdline()
        if "serve" in with_args and port in with_args:
            return child
    raise LookupError(f"no panel serve on port {port} among this process's children")


def settled(page) -> bool:
    """The map has its image, the status says it refreshed and the bar is empty."""
    try:
        return (
            bool(map_images(page))
            and page.get_by_text("refreshed in").count() > 0
            and page.locator("progress").first.evaluate("(bar) => bar.position") == 0
        )
    except Exception:  # noqa: BLE001  (a page still loading has no Bokeh yet)
        return False


@pytest.fixture(scope="module")
def served():
    with served_app(args=CULL_ARGS) as app:
        yield app


@pytest.fixture(scope="module")
def browser(served):
    with chromium() as first:
        first.requested = []
        first.context.on("request", lambda request: first.requested.append(request.url))
        yield first


@pytest.fixture(scope="module")
def baseline_threads(served, browser) -> int:
    """The server's threads with one warm session open (the first page's pools started)."""
    browser.goto(served.url)
    assert eventually(lambda: settled(browser), 180), served.log()[-3000:]
    return server_process(served.url).num_threads()


@pytest.fixture(scope="module")
def pages(served, browser, baseline_threads) -> list:
    opened = [browser.context.new_page() for _ in range(PAGES)]
    for page in opened:
        page.goto(served.url, wait_until="commit", timeout=180_000)
    yield opened
    for page in opened:
        if not page.is_closed():
            page.close()


def test_every_page_ends_with_its_image_a_finished_bar_and_its_status(pages, served):
    for page in pages:
        assert eventually(lambda page=page: settled(page), 180), served.log()[-3000:]
    assert "isn't known" not in served.log()


def test_a_second_session_gets_its_own_notification(pages):
    first, second = pages[0], pages[1]
    widget(second, "Stretch").select_option(label="Manual (min, max, gamma)")
    minimum = widget(second, "Min", "input")
    minimum.fill("9000")
    minimum.press("Enter")
    second.get_by_text("must be smaller than max").first.wait_for(timeout=30_000)
    time.sleep(1)
    assert first.get_by_text("must be smaller than max").count() == 0  # not another's


#: Every stylesheet of every model in the page's Bokeh documents, by its address.
STYLESHEETS_JS = """() => { const urls = new Set(); for (const doc of Bokeh.documents)
  for (const model of doc._all_models.values()) for (const sheet of (model.stylesheets || []))
    if (sheet && sheet.url) urls.add(sheet.url); return JSON.stringify([...urls]); }"""


def test_nothing_is_asked_of_a_cdn(pages, browser):
    """After the pages loaded, together, and changed (Manual stretch shows sliders, a toast
    pops up). Panel 1.9.4 gave the models of a page built while another session was being
    built stylesheets on cdn.holoviz.org (seen under load: 3 of 4 pages)."""
    hosts = {urlparse(url).hostname for url in browser.requested if not url.startswith("blob:")}
    assert hosts == {"127.0.0.1"}, sorted(u for u in browser.requested if "127.0.0.1" not in u)
    for page in [browser, *pages]:
        remote = [url for url in json.loads(page.evaluate(STYLESHEETS_JS)) if "//" in url]
        assert remote == [], remote  # relative addresses: this server's


def test_closed_sessions_leave_no_dashboard_and_no_threads(
    pages, browser, served, baseline_threads
):
    for page in pages:
        page.close()
    browser.close()  # the first page too: every session ends

    def all_released() -> bool:
        counts = ALIVE.findall(served.log())
        return bool(counts) and counts[-1] == "0"

    released = eventually(all_released, 60)
    threads = server_process(served.url).num_threads()
    assert threads <= baseline_threads + THREAD_TOLERANCE, (threads, baseline_threads)
    # When a closed dashboard is still held, the server names what holds it (app/holders.py).
    assert released, HELD.findall(served.log()) or served.log()[-3000:]
