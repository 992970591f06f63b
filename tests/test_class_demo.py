"""The hosted class demo, its functional half at N = 4: four Chromium pages on one server.

All four load with their images; what one student does (the point, the stretch, a bad stretch,
a 3-year date range) never shows in another student's page, and the server stays up for them;
hosted mode (``--args --hosted``) names its cap in the notification and answers ``--liveness``.
The figures (N = 1 to 30, memory over rounds) are the load test's:
``python -m benchmarks.bench_class``. Memory released after close: tests/test_sessions.py.

One Chromium (Playwright's sync API allows one instance) with four pages in one context; the
tests run in file order and each leaves its pages usable.
"""

from __future__ import annotations

import json
import re
import time
import urllib.request

import pytest

from app.serve_and_screenshot import (
    CHROMIUM,
    chromium,
    eventually,
    map_images,
    served_app,
    wait_for_images,
    wait_until_idle,
    widget,
)

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="no Chromium at /usr/bin/chromium on this machine"
)

PAGES = 4
VIEWPORT = (1400, 900)
#: Chromium's own chatter, not the page's: a software GPU warns about readbacks.
BENIGN_CONSOLE = ("GL Driver Message", "WebGL")
#: What a session shows that no other session may change: the widgets' values as the page's
#: Bokeh models hold them (by label), the dates, the ticked layers.
SESSION_STATE_JS = """
() => {
  const state = {};
  for (const doc of Bokeh.documents) for (const m of doc._all_models.values()) {
    if (m.type === "DateRangePicker") state.Dates = m.value;
    else if (m.type === "CheckboxGroup") state[`checked ${m.labels}`] = m.active;
    else if (typeof m.title === "string" && m.title && ["string", "number"].includes(
      typeof m.value)) state[m.title] = m.value;
  }
  return JSON.stringify(state);
}
"""
SET_DATES_JS = """([start, end]) => { for (const doc of Bokeh.documents) for (const m of
  doc._all_models.values()) if (m.type === 'DateRangePicker') m.value = [start, end]; }"""


def toasts(page) -> list[str]:
    """The texts of the notifications the page shows now."""
    return [text.strip() for text in page.locator(".notyf__toast").all_text_contents()]


def snapshot(page) -> dict:
    """What this session shows that another session must not change (its notifications are
    compared apart: a toast may expire in between)."""
    return {
        "widgets": json.loads(page.evaluate(SESSION_STATE_JS)),
        "images": map_images(page),
        "legend": page.locator(".ce-legend").first.text_content(),
    }


def set_max(page, value: float) -> None:
    field = widget(page, "Max", "input")
    field.fill(str(value))
    field.press("Enter")


def open_pages(context, url: str, count: int) -> list:
    """``count`` pages of ``url`` opened together, each with its console errors recorded."""
    pages = []
    for _ in range(count):
        page = context.new_page()
        page.set_viewport_size({"width": VIEWPORT[0], "height": VIEWPORT[1]})
        page.console_errors = []
        page.on(
            "console",
            lambda message, page=page: (
                message.type == "error"
                and not any(text in message.text for text in BENIGN_CONSOLE)
                and page.console_errors.append(message.text)
            ),
        )
        page.on("pageerror", lambda error, page=page: page.console_errors.append(str(error)))
        page.goto(url, wait_until="commit", timeout=120_000)
        pages.append(page)
    for page in pages:
        wait_for_images(page, previous=None, timeout=180)
        wait_until_idle(page, timeout=120)
    return pages


@pytest.fixture(scope="module")
def browser():
    with chromium(VIEWPORT) as page:
        yield page.context


@pytest.fixture(scope="module")
def served():
    with served_app() as app:
        yield app


@pytest.fixture(scope="module")
def class_pages(served, browser):
    pages = open_pages(browser, served.url, PAGES)
    yield pages
    for page in pages:
        page.close()


def test_four_pages_load_with_their_images(class_pages):
    for index, page in enumerate(class_pages):
        assert map_images(page), f"page {index}: no image on the map"
        assert page.get_by_text("refreshed in").first.is_visible()
        assert page.locator("progress").first.evaluate("(bar) => bar.position") == 0
        assert page.console_errors == [], f"page {index}: {page.console_errors}"


def test_a_page_moving_its_point_and_stretch_leaves_the_others_unchanged(class_pages):
    mover, *others = class_pages
    before = [snapshot(page) for page in others]
    notified = [set(toasts(page)) for page in others]
    images = map_images(mover)
    for name, value in (("Longitude", -122.38), ("Latitude", 37.62)):
        field = widget(mover, name, "input")
        field.fill(str(value))
        field.press("Enter")
    set_max(mover, 3200)
    wait_for_images(mover, images)
    wait_until_idle(mover)
    assert float(widget(mover, "Longitude", "input").input_value()) == pytest.approx(-122.38)
    time.sleep(2)  # anything wrongly sent to the other sessions has arrived by now
    for index, (page, earlier) in enumerate(zip(others, before, strict=True), start=1):
        assert snapshot(page) == earlier, f"page {index} changed with page 0's point and stretch"
        assert set(toasts(page)) <= notified[index - 1], f"page {index} got page 0's notification"


def test_a_notification_reaches_the_second_session_only(class_pages):
    first, second, *others = class_pages
    widget(second, "Stretch").select_option(label="Manual (min, max, gamma)")
    minimum = widget(second, "Min", "input")
    minimum.fill("5000")
    minimum.press("Enter")  # above Max (4000)
    # A toast (not only the status line): this session has its own notification area.
    toast = second.locator(".notyf__toast", has_text="must be smaller than max")
    toast.first.wait_for(timeout=30_000)
    for page in (first, *others):
        assert not any("must be smaller" in text for text in toasts(page))
    minimum.fill("0")
    minimum.press("Enter")
    wait_until_idle(second)
    assert second.console_errors == []


def test_a_three_year_range_leaves_the_server_up_and_the_others_repainting(served, class_pages):
    """One student asks for three years of the demo (normal mode): the server neither falls
    over nor stops the other sessions, and the student is told what happened."""
    student, *others = class_pages
    student.evaluate(SET_DATES_JS, ["2019-07-01", "2022-07-01"])
    time.sleep(1)  # the long range's work has started
    for index, page in enumerate(others, start=1):
        images = map_images(page)
        started = time.monotonic()
        set_max(page, 3600 + 10 * index)
        wait_for_images(page, images, timeout=60)
        repaint_s = time.monotonic() - started
        # The goal is 2 s on an idle machine; CI shares its cores, so only a stall fails here.
        assert repaint_s < 20, f"page {index} repainted in {repaint_s:.1f} s beside a 3-year range"
    with urllib.request.urlopen(served.url, timeout=30) as response:
        assert response.status == 200
    # The long range ends in a map (thinned, said in the status) or in a message naming what
    # to narrow; either way the page is idle again and no error reached the console.
    assert eventually(
        lambda: (
            bool(toasts(student))
            or (
                student.get_by_text("refreshed in").count() > 0
                and student.locator("progress").first.evaluate("(bar) => bar.position") == 0
            )
        ),
        180,
    ), "the 3-year range neither finished nor said why not"
    assert student.console_errors == []
    for page in others:
        assert page.console_errors == []


# --- hosted mode ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hosted(browser):
    with served_app(args=["--liveness", "--args", "--hosted"]) as app:
        (page,) = open_pages(browser, app.url, 1)
        yield app, page
        page.close()


def test_hosted_mode_names_its_cap_when_the_dates_exceed_it(hosted):
    _, page = hosted
    dates = json.loads(page.evaluate(SESSION_STATE_JS))["Dates"]
    page.evaluate(SET_DATES_JS, ["2020-01-01", "2021-08-01"])  # 19 months: above one year
    notice = page.locator(".notyf__toast", has_text=re.compile("limit"))
    notice.first.wait_for(timeout=30_000)
    assert "Dates" in notice.first.text_content()
    # The rejected range snaps back to what the server holds.
    assert eventually(lambda: json.loads(page.evaluate(SESSION_STATE_JS))["Dates"] == dates, 15)
    assert page.console_errors == []


def test_hosted_mode_answers_liveness(hosted):
    app, _ = hosted
    liveness = app.url.rsplit("/", 1)[0] + "/liveness"
    with urllib.request.urlopen(liveness, timeout=10) as response:
        assert response.status == 200
