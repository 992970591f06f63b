"""The map on GeoViews: Web Mercator elements drawn as they are, GeoViews' tile sources."""

from __future__ import annotations

import logging
from urllib.parse import urlparse

import geoviews as gv
import holoviews as hv
import numpy as np
import pytest

from app.image_url import URLImage, decode
from app.map_view import MERCATOR, TILES, MapView, same_view
from app.network import TILE_HOSTS
from app.options import BASEMAPS
from app.render import LayerImage, Legend
from app.view import View, to_lonlat, to_mercator

POINT = (-122.373, 37.448)
AREA_M = 5_000.0


@pytest.fixture
def map_view() -> MapView:
    view = MapView(POINT, AREA_M, layer_keys=["median", "mode"])
    view.set_layers(("median",))
    return view


def an_image(view: View) -> LayerImage:
    (x0, x1), (y0, y1) = view.x_range, view.y_range
    rgba = np.random.default_rng(0).integers(0, 255, (70, 100, 4), dtype=np.uint8)
    return LayerImage("median", rgba, (x0, y0, x1, y1), Legend("Median", "rgb"))


def rendered(map_view: MapView):
    """The Bokeh figure of the map, and its renderers' sources by glyph type."""
    figure = hv.render(map_view.pane.object)
    sources = {type(r.glyph).__name__: r.data_source.data for r in figure.renderers}
    return figure, sources


def test_the_elements_are_geoviews_in_web_mercator(map_view):
    map_view.show(an_image(map_view.view))
    overlay = map_view.pane.object[()]
    elements = list(overlay)
    assert [type(e) for e in elements] == [URLImage, gv.Path, gv.Rectangles, gv.Points]
    # The image is in Web Mercator metres, the plot's own coordinates: GeoViews draws an element
    # without a CRS as it is; the others say they are in Web Mercator.
    assert all(e.crs == MERCATOR for e in elements[1:])
    point = elements[-1]
    assert tuple(point.array()[0]) == pytest.approx(to_mercator(*POINT))


def test_the_images_are_drawn_where_they_are_not_reprojected(map_view):
    image = an_image(map_view.view)
    map_view.show(image)
    figure, sources = rendered(map_view)
    glyph = next(r.glyph for r in figure.renderers if type(r.glyph).__name__ == "ImageURL")
    data = sources["ImageURL"]
    left, bottom, right, top = image.bounds
    assert glyph.anchor == "top_left"
    assert (data["x"][0], data["y"][0]) == (left, top)
    assert (data["w"][0], data["h"][0]) == pytest.approx((right - left, top - bottom))
    assert decode(data["url"][0]).shape == image.rgba.shape  # same pixels, not warped
    assert (figure.x_range.start, figure.x_range.end) == map_view.view.x_range
    # GeoViews labels a Web Mercator plot in longitude and latitude.
    assert {type(axis.formatter).__name__ for axis in figure.xaxis + figure.yaxis} == {
        "MercatorTickFormatter"
    }


def test_highlighted_cells_are_quads_at_their_web_mercator_corners(map_view):
    (x0, _), (y0, _) = map_view.view.x_range, map_view.view.y_range
    cells = [(x0, y0, x0 + 1113.2, y0 + 1113.2)]
    map_view.highlight(cells)
    assert map_view._highlight.data == cells
    _, sources = rendered(map_view)
    quads = sources["Quad"]
    assert (quads["left"][0], quads["bottom"][0]) == pytest.approx((x0, y0))
    assert (quads["right"][0], quads["top"][0]) == pytest.approx(cells[0][2:])


def test_the_basemaps_are_geoviews_tile_sources_checked_at_their_hosts(map_view):
    assert set(TILES) == set(BASEMAPS) - {"None"}
    for name, tiles in TILES.items():
        assert isinstance(tiles, gv.WMTS)
        assert urlparse(tiles.data).hostname == TILE_HOSTS[name]
    assert "TileRenderer" not in rendered(map_view)[1]  # off by default
    map_view.set_basemap("OpenStreetMap")
    figure = hv.render(map_view.pane.object)
    assert type(figure.renderers[0]).__name__ == "TileRenderer"  # under the layers


def test_ranges_within_geoviews_tolerance_are_not_a_pan(map_view):
    view = map_view.view
    (x0, x1), (y0, y1) = view.x_range, view.y_range
    # GeoViews' RangeXY reports the ranges 1e-6 m inside the plot's.
    map_view._ranges_changed(x_range=(x0 + 1e-6, x1 - 1e-6), y_range=(y0 + 1e-6, y1 - 1e-6))
    assert map_view.view == view and not map_view._moved
    map_view._ranges_changed(x_range=(x0 + 500, x1 + 500), y_range=(y0, y1))
    assert map_view.view.x_range == (x0 + 500, x1 + 500) and map_view._moved
    assert same_view(view, view) and not same_view(view, map_view.view)


def test_a_click_in_web_mercator_is_reported_in_lonlat(map_view):
    x, y = to_mercator(POINT[0] + 0.01, POINT[1])
    map_view._clicked(x=x, y=y)
    assert map_view.tapped == pytest.approx(to_lonlat(x, y))
    assert map_view.tapped == pytest.approx((POINT[0] + 0.01, POINT[1]))


def test_no_cells_outlined_draws_without_a_warning(map_view):
    """GeoViews 1.15.1 warns on an empty Rectangles ("none of the projected paths were
    contained"): a notebook would show it under the map each time the outline is cleared."""
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append
    param_logger = logging.getLogger("param")
    param_logger.addHandler(handler)
    try:
        map_view.highlight([])
        hv.render(map_view.pane.object)
    finally:
        param_logger.removeHandler(handler)
    assert not [r for r in records if "projected paths" in r.getMessage()]


def test_a_hidden_layer_draws_an_empty_source(map_view):
    map_view.show(an_image(map_view.view))
    map_view.hide("median")
    assert map_view.images["median"] is None
    _, sources = rendered(map_view)
    assert list(sources["ImageURL"]["url"]) == []


def test_a_layer_update_sends_the_url_and_four_numbers(map_view):
    """The plot's data source of a layer holds a URL and x, y, w, h; a new image of the same
    view changes the URL only (what Bokeh then sends: a string, not an RGBA array)."""
    renderer = hv.renderer("bokeh")
    plot = renderer.get_plot(map_view.pane.object)
    first = an_image(map_view.view)
    map_view.show(first)
    source = next(
        r.data_source for r in plot.state.renderers if type(r.glyph).__name__ == "ImageURL"
    )
    before = dict(source.data)
    assert set(before) == {"url", "x", "y", "w", "h"}
    rgba = first.rgba.copy()
    rgba[..., 0] = 255 - rgba[..., 0]
    map_view.show(LayerImage("median", rgba, first.bounds, first.legend))
    after = dict(source.data)
    assert after["url"] != before["url"]
    assert {k: list(after[k]) for k in "xywh"} == {k: list(before[k]) for k in "xywh"}
    assert all(isinstance(v, (int, float)) for k in "xywh" for v in after[k])
