"""The served dashboard in a real browser: Debian's Chromium driven by Playwright.

One server and one page serve the whole module (a first load takes several seconds); the tests
run in file order and each leaves the page usable. Screenshots go to docs/.
"""

from __future__ import annotations

import json
import time

import pytest

from app.options import CLOUD_MASK_LABELS
from app.serve_and_screenshot import (
    CHROMIUM,
    REPOSITORY,
    chromium,
    eventually,
    layer_checkbox,
    map_images,
    served_app,
    wait_for_images,
    wait_until_idle,
    widget,
)

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="no Chromium at /usr/bin/chromium on this machine"
)

DOCS = REPOSITORY / "docs"
LABELS = ("Source", "Point", "Dates", "Bands", "Stretch", "Cloud mask", "Layers")
VIEWPORT = (1930, 1150)
#: Chromium's own chatter, not the page's: a software GPU warns about readbacks.
BENIGN_CONSOLE = ("GL Driver Message", "WebGL")


@pytest.fixture(scope="module")
def served():
    with served_app() as app:
        yield app


@pytest.fixture(scope="module")
def browser_page(served):
    with chromium(VIEWPORT) as page:
        page.console_errors = []
        page.on(
            "console",
            lambda message: (
                message.type == "error"
                and not any(text in message.text for text in BENIGN_CONSOLE)
                and page.console_errors.append(message.text)
            ),
        )
        page.on("pageerror", lambda error: page.console_errors.append(str(error)))
        page.goto(served.url)
        wait_for_images(page, previous=None, timeout=120)
        wait_until_idle(page)
        yield page


def highlighted_cells(page) -> int:
    """How many cells the map outlines (the quads of the highlight layer)."""
    return page.evaluate(
        """() => Math.max(0, ...Bokeh.documents.flatMap(d => d.roots().flatMap(r =>
             [...r.references()].filter(m => m.type === 'ColumnDataSource' && 'left' in m.data)
             .map(m => m.data.left.length))))"""
    )


def map_screenshot(page) -> bytes:
    return page.locator(".bk-Canvas").first.screenshot()


def test_the_page_loads_without_console_errors(browser_page):
    assert map_images(browser_page), "no image on the map"
    assert browser_page.console_errors == []
    DOCS.mkdir(exist_ok=True)
    browser_page.screenshot(path=str(DOCS / "dashboard.png"))


@pytest.mark.parametrize("label", LABELS)
def test_each_labelled_widget_is_present(browser_page, label):
    assert browser_page.get_by_text(label, exact=True).first.is_visible()


def test_changing_bands_repaints_the_map(browser_page):
    before_images, before_pixels = map_images(browser_page), map_screenshot(browser_page)
    widget(browser_page, "Bands").select_option(label="True colour (B4, B3, B2)")
    wait_for_images(browser_page, before_images)
    wait_until_idle(browser_page)
    assert map_screenshot(browser_page) != before_pixels
    assert browser_page.get_by_text("Median (B4, B3, B2)").first.is_visible()


def test_switching_a_layer_off_removes_it(browser_page):
    with_median = map_images(browser_page)
    assert len(with_median) == 1
    layer_checkbox(browser_page, "Median").uncheck()
    assert eventually(lambda: map_images(browser_page) == [])
    assert browser_page.get_by_text("No layer shown").first.is_visible()
    # Back on, with the mode of the pixel classes and its legend, for the screenshot.
    layer_checkbox(browser_page, "Median").check()
    layer_checkbox(browser_page, "Mode (pixel class)").check()
    assert eventually(lambda: len(map_images(browser_page)) == 2)
    browser_page.get_by_text("Cloud shadows").first.wait_for(timeout=15_000)


def test_the_scatter_shows_its_line_and_equation(browser_page):
    sources = json.loads(browser_page.evaluate(
        """() => JSON.stringify(Bokeh.documents.flatMap(d => [...d.all_models])
             .filter(m => m.type === 'ColumnDataSource' && 'ndvi' in m.data)
             .map(m => m.data.ndvi.length))"""
    ))  # fmt: skip
    assert 2 in sources, f"no fitted line among the scatter's sources {sources}"
    assert sum(n for n in sources if n != 2) >= 3, "too few pairs drawn"
    assert browser_page.get_by_text("LST =").first.is_visible()
    assert browser_page.get_by_text("r² =").first.is_visible()
    assert browser_page.get_by_text("used by the fit").first.is_visible()


def test_pairs_selected_in_the_scatter_are_outlined_on_the_map(browser_page):
    scatter = browser_page.locator(".bk-Canvas").nth(1).bounding_box()
    # A box selection (the scatter's active drag tool) over most of the plot's frame; it must
    # start inside the frame, right of the y axis.
    browser_page.mouse.move(
        scatter["x"] + 0.3 * scatter["width"], scatter["y"] + 0.15 * scatter["height"]
    )
    browser_page.mouse.down()
    browser_page.mouse.move(
        scatter["x"] + 0.95 * scatter["width"], scatter["y"] + 0.55 * scatter["height"], steps=5
    )
    browser_page.mouse.up()
    assert eventually(lambda: highlighted_cells(browser_page) > 0)
    browser_page.screenshot(path=str(DOCS / "dashboard_scatter.png"))


def test_a_click_on_the_map_moves_the_point(browser_page):
    longitude = widget(browser_page, "Longitude", "input")
    latitude = widget(browser_page, "Latitude", "input")
    before = float(longitude.input_value()), float(latitude.input_value())
    box = browser_page.locator(".bk-Canvas").first.bounding_box()
    # East and north of the centre, where the point is: a click, not a drag.
    browser_page.mouse.click(box["x"] + box["width"] * 0.7, box["y"] + box["height"] * 0.3)
    assert eventually(lambda: float(longitude.input_value()) != before[0])
    assert float(longitude.input_value()) > before[0]
    assert float(latitude.input_value()) > before[1]
    assert widget(browser_page, "Point").input_value() == "Custom point"
    wait_until_idle(browser_page)


def inspector_rows(page) -> list[str]:
    """The inspector table's rows, as text (one per image)."""
    return page.locator("table.dataframe tbody tr").all_inner_texts()


def test_the_clicked_pixel_is_inspected_and_the_timeline_marks_its_image(browser_page):
    # The click of the test before moved the point: its series is in the inspector.
    longitude = float(widget(browser_page, "Longitude", "input").input_value())
    browser_page.get_by_text(f"{longitude:.5f}, ").first.wait_for(timeout=30_000)
    browser_page.get_by_text("kept by the cloud mask").first.wait_for(timeout=15_000)
    assert browser_page.get_by_text("Layers at the point").first.is_visible()
    rows = inspector_rows(browser_page)
    assert len(rows) == 6, rows  # the demo's six images
    assert sum("▶" in row for row in rows) == 1 and "▶" in rows[-1]  # the timeline's default
    # The first image of the timeline: the table's mark moves, the image is shown alone.
    timeline = widget(browser_page, "Image (timeline)")
    first = timeline.locator("option").first.inner_text()
    assert "% cloud" in first, first
    before = map_images(browser_page)
    layer_checkbox(browser_page, "Single image (timeline)").check()
    wait_for_images(browser_page, before)
    timeline.select_option(label=first)
    assert eventually(lambda: "▶" in inspector_rows(browser_page)[0])
    browser_page.get_by_text(f"Timeline image: {first[:16]}").first.wait_for(timeout=15_000)
    wait_until_idle(browser_page)
    # Tall enough for the inspector under the NDVI-LST panel (the map keeps its size).
    browser_page.set_viewport_size({"width": VIEWPORT[0], "height": 1900})
    time.sleep(1)  # the page lays itself out at the new height: only the picture waits for it
    browser_page.screenshot(path=str(DOCS / "dashboard_inspector.png"))
    browser_page.set_viewport_size({"width": VIEWPORT[0], "height": VIEWPORT[1]})
    assert browser_page.console_errors == []
    layer_checkbox(browser_page, "Single image (timeline)").uncheck()
    assert eventually(lambda: len(map_images(browser_page)) == len(before))


def test_a_bad_stretch_is_notified_and_the_page_still_responds(browser_page):
    minimum = widget(browser_page, "Min", "input")
    minimum.fill("5000")
    minimum.press("Enter")
    browser_page.get_by_text("must be smaller than max").first.wait_for(timeout=15_000)
    minimum.fill("0")
    minimum.press("Enter")
    before = map_images(browser_page)
    widget(browser_page, "Bands").select_option(label="False colour (B8, B4, B3)")
    wait_for_images(browser_page, before)
    browser_page.get_by_text("Median (B8, B4, B3)").first.wait_for(timeout=15_000)
    assert browser_page.console_errors == []


def test_a_crafted_widget_value_snaps_back_to_the_servers(browser_page):
    # What a hand-made websocket message does: set the Source select's model to a value that is
    # not an option (BokehJS sends it to the server as a user's change would).
    source_select = """() => Bokeh.documents
        .flatMap(d => d.roots().flatMap(r => [r, ...r.references()]))
        .find(m => m.type && m.type.endsWith("Select") && m.title === "Source")"""
    original = browser_page.evaluate(f"() => ({source_select})().value")
    shown = widget(browser_page, "Source").evaluate("(select) => select.value")
    browser_page.evaluate(f"() => {{ ({source_select})().value = '/etc/passwd'; }}")
    assert eventually(
        lambda: browser_page.evaluate(f"() => ({source_select})().value") == original, 15
    ), "the page kept the crafted value"
    assert widget(browser_page, "Source").evaluate("(select) => select.value") == shown


def test_the_thermal_seed_shows_its_sharpened_lst(browser_page):
    widget(browser_page, "Point").select_option(
        label="Thermal sharpening article: Central Valley, 19-21 June 2023"
    )
    layer_checkbox(browser_page, "LST sharpened (10 m)").check()
    layer_checkbox(browser_page, "Median").uncheck()
    layer_checkbox(browser_page, "Mode (pixel class)").uncheck()
    browser_page.get_by_text("LST sharpened (10 m), 2023-06-20").first.wait_for(timeout=120_000)
    assert eventually(lambda: len(map_images(browser_page)) == 1, 60)
    wait_until_idle(browser_page, timeout=120)
    browser_page.get_by_text("1 km cells, 2023-06-20").first.wait_for(timeout=60_000)
    assert browser_page.console_errors == []
    browser_page.screenshot(path=str(DOCS / "dashboard_thermal.png"))


def map_frame(page) -> dict:
    """The map plot's ranges and frame size in pixels, as the browser has them."""
    return json.loads(
        page.evaluate(
            """() => { for (const doc of Bokeh.documents) for (const m of doc._all_models.values())
                 if (m.type === 'Figure' && m.match_aspect && m.inner_width > 0 &&
                     m.x_range.end - m.x_range.start > 1000)
                   return JSON.stringify({x: m.x_range.end - m.x_range.start,
                     y: m.y_range.end - m.y_range.start, width: m.inner_width,
                     height: m.inner_height});
               return 'null'; }"""
        )
    )


def test_a_laptop_sized_window_keeps_square_pixels_and_wraps_the_scatter(browser_page):
    """At 1366 x 768 the map narrows: its ranges follow its shape (no stretched image, the
    extent computed is the one shown) and the NDVI-LST panel moves below it."""
    try:
        browser_page.set_viewport_size({"width": 1366, "height": 768})

        def square() -> bool:
            frame = map_frame(browser_page)
            return (
                frame is not None
                and frame["width"] < VIEWPORT[0] / 2
                and abs(frame["x"] / frame["width"] / (frame["y"] / frame["height"]) - 1) < 0.02
            )

        assert eventually(square, 60), map_frame(browser_page)
        frame = map_frame(browser_page)
        status = browser_page.get_by_text(f"view {frame['width']} × {frame['height']} px")
        status.first.wait_for(timeout=60_000)
        map_box = browser_page.locator(".bk-Canvas").first.bounding_box()
        title_box = browser_page.get_by_text("NDVI – LST (1 km pairs)").first.bounding_box()
        assert title_box["y"] > map_box["y"] + map_box["height"]  # wrapped below the map
        assert browser_page.console_errors == []
    finally:
        browser_page.set_viewport_size({"width": VIEWPORT[0], "height": VIEWPORT[1]})


# --- real catalogs replayed on loopback (tests/stac_replay.py) --------------------------------

#: Places and dates the replay has clear items for (as in tests/test_app.py).
REPLAY_PLACES = {
    "Earth Search": ((-105.1025, 40.1655), ("2023-10-08", "2023-10-09")),
    "Planetary Computer": ((9.048, 47.3955), ("2020-07-05", "2020-07-06")),
}


@pytest.fixture(scope="module")
def replay():
    stac_replay = pytest.importorskip("stac_replay")
    if not stac_replay.available():
        pytest.skip("the recorded STAC responses (../shared/realdata/stac) are absent")
    areas = [(lon - 0.05, lat - 0.04, lon + 0.05, lat + 0.04)
             for (lon, lat), _ in REPLAY_PLACES.values()]  # fmt: skip
    with stac_replay.ReplayServer(areas) as server:
        yield server


@pytest.fixture(scope="module")
def replay_page(replay, browser_page):
    """The app served with its catalog endpoints pointing at the replay (environment only), in
    a second tab of the module's Chromium (Playwright's sync API allows one instance)."""
    env = {
        "COMPOSITE_EXPLORER_EARTH_SEARCH_URL": replay.catalog_url("earth-search"),
        "COMPOSITE_EXPLORER_PLANETARY_COMPUTER_URL": replay.catalog_url("planetary-computer"),
    }
    with served_app(env=env) as app:
        page = browser_page.context.new_page()
        page.set_viewport_size({"width": VIEWPORT[0], "height": VIEWPORT[1]})
        page.errors = []
        page.on("pageerror", lambda error: page.errors.append(str(error)))
        page.goto(app.url)
        wait_for_images(page, previous=None, timeout=120)
        wait_until_idle(page)
        widget(page, "Cloud mask").select_option(label="None")
        wait_until_idle(page)
        yield page
        page.close()


def set_dates(page, start: str, end: str) -> None:
    """Set the Dates range picker's value in its Bokeh model, as a pick in the calendar does."""
    page.evaluate(
        """([start, end]) => { for (const doc of Bokeh.documents) for (const m of doc._all_models
             .values()) if (m.type === 'DateRangePicker') m.value = [start, end]; }""",
        [start, end],
    )


def go_to(page, label: str) -> list:
    """Switch Source to ``label`` at its replayed place and dates; the map's images."""
    (lon, lat), (start, end) = REPLAY_PLACES[label]
    before = map_images(page)
    widget(page, "Source").select_option(label=label)
    set_dates(page, start, end)
    for name, value in (("Longitude", lon), ("Latitude", lat)):
        field = widget(page, name, "input")
        field.fill(str(value))
        field.press("Enter")
    page.get_by_text(f"{label}, view").first.wait_for(timeout=120_000)
    images = wait_for_images(page, before, timeout=120)
    wait_until_idle(page, timeout=120)
    return images


@pytest.mark.parametrize("label", list(REPLAY_PLACES))
def test_the_source_switch_shows_a_replayed_catalog(replay_page, replay, label):
    images = go_to(replay_page, label)
    assert images, "no image on the map"
    assert any(status == 206 for _, path, status in replay.requests if path.startswith("/assets"))
    assert replay_page.errors == []


def test_a_file_404_halfway_is_notified_and_the_median_stays(replay_page, replay):
    go_to(replay_page, "Earth Search")
    with_median = map_images(replay_page)
    assert len(with_median) == 1
    replay.fail("/assets/*", "404-after", after=0)  # every file 404s from now on
    try:
        layer_checkbox(replay_page, "Mode (pixel class)").check()  # needs SCL: not loaded yet
        # A toast in this session (not the server's first: the start-up probe was): the
        # notification area exists in every session.
        replay_page.get_by_text("HTTP 404").first.wait_for(timeout=60_000)
        wait_until_idle(replay_page, timeout=120)
        assert map_images(replay_page) == with_median  # the median is still there, unchanged
        assert replay_page.errors == []
    finally:
        replay.faults.clear()
    # The page still responds: taking the failed layer off leaves the median as it was.
    layer_checkbox(replay_page, "Mode (pixel class)").uncheck()
    wait_until_idle(replay_page, timeout=120)
    assert map_images(replay_page) == with_median


def test_the_planetary_computer_offers_csmask_with_its_parameters(replay_page, replay):
    pytest.importorskip("ukis_csmask", reason="the csmask extra is not installed")
    shown = widget(replay_page, "Source").evaluate("s => s.options[s.selectedIndex].text")
    if shown != "Planetary Computer":  # an earlier test may have left it there
        go_to(replay_page, "Planetary Computer")
    before = map_images(replay_page)
    widget(replay_page, "Cloud mask").select_option(label=CLOUD_MASK_LABELS["csmask"])
    layer_checkbox(replay_page, "Cloud and shadow mask").check()
    wait_for_images(replay_page, before, timeout=180)
    wait_until_idle(replay_page, timeout=180)
    # Its parameters are shown (and the s2cloudless threshold is not).
    replay_page.get_by_text("+ shadow projection (combined)").first.wait_for(timeout=10_000)
    assert replay_page.get_by_text("buffer (m)").first.is_visible()
    assert not replay_page.get_by_text("cld_prb_thresh (%)").first.is_visible()
    searched = [path for _, path, _ in replay.requests if "search" in path]
    assert not any("l1c" in path.lower() for path in searched)  # L2A alone
    assert replay_page.errors == []
    replay_page.screenshot(path=str(DOCS / "dashboard_csmask.png"))
    layer_checkbox(replay_page, "Cloud and shadow mask").uncheck()
    widget(replay_page, "Cloud mask").select_option(label="None")
    wait_until_idle(replay_page, timeout=120)
