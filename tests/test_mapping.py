"""``Map.addLayer`` / ``Map.setCenter`` in the package (issue 13, part 6), drawn with HoloViews
and the dashboard's visualisation code."""

from __future__ import annotations

import math

import holoviews as hv
import numpy as np
import pytest
from conftest import make_collection, random_masked

from compositing import visualisation as vis
from compositing.facade import ImageCollection, Map
from compositing.geo import LONLAT, transformer
from compositing.inspection import pixel_series
from compositing.mapping import add_layer

hv.extension("bokeh", logo=False)


@pytest.fixture(scope="module")
def collection() -> ImageCollection:
    values = random_masked(np.random.default_rng(5), (4, 3, 20, 30), levels=30) * 100
    return ImageCollection(make_collection(values, ["B02", "B04", "B08"]))


def test_a_collection_is_drawn_as_its_mosaic_with_earth_engine_band_names(collection):
    layer = add_layer(collection, {"bands": ["B8", "B4", "B2"], "min": 0, "max": 3000}, "c")
    mosaic = collection.mosaic().data
    want = vis.rgb_to_rgba(*mosaic.sel(band=["B08", "B04", "B02"]).values, 0, 3000)
    np.testing.assert_array_equal(layer.data, want)  # the RGBA array, top row first
    assert layer.label == "c"


def test_min_and_max_per_band_stretch_each_band(collection):
    image = collection.first()
    layer = add_layer(image, {"bands": "B8,B4,B2", "min": [0, 100, 200], "max": [3000, 2000, 1000]})
    values = image.data.sel(band=["B08", "B04", "B02"]).values
    rgba = np.asarray(layer.data)
    for channel, (low, high) in enumerate([(0, 3000), (100, 2000), (200, 1000)]):
        stretched = vis.stretch(values[channel], low, high)
        valid = rgba[..., 3] > 0
        np.testing.assert_array_equal(
            rgba[..., channel][valid], np.rint(stretched * 255)[valid].astype(np.uint8)
        )


def test_map_names_layers_and_centres_on_a_point_at_a_zoom(collection):
    m = Map(title="test")
    m.addLayer(
        collection.median(), {"bands": ["B4"], "min": 0, "max": 3000, "palette": ["black", "green"]}
    )
    m.addLayer(collection.first(), {}, "first", shown=False, opacity=0.5)
    assert [layer.label for layer in m.layers] == ["Layer 1", "first"]
    lon, lat = transformer(collection.first().data.rio.crs, LONLAT).transform(
        555_100.0, 4_143_900.0
    )
    m.setCenter(lon, lat, 14)
    left, bottom, right, top = m.extent()
    half = 156_543.03392 * math.cos(math.radians(lat)) / 2**14 * m.width / 2
    assert (right - left) / 2 == pytest.approx(half)
    assert ((left + right) / 2, (bottom + top) / 2) == pytest.approx((555_100.0, 4_143_900.0))
    figure = hv.render(m.show())
    assert (figure.x_range.start, figure.x_range.end) == pytest.approx((left, right))
    assert m._repr_mimebundle_() is not None


def test_center_object_and_the_whole_extent_without_a_zoom(collection):
    m = Map().addLayer(collection.first(), {"bands": ["B4"]})
    m.centerObject(collection.first())
    left, bottom, right, top = m.extent()
    x = collection.first().data["x"].values
    assert (left + right) / 2 == pytest.approx(x.mean(), abs=1e-3)
    assert right - left == pytest.approx(x.max() - x.min() + 10)


def test_map_misuse_says_what_to_do(collection):
    with pytest.raises(ValueError, match="no layer yet: add one with addLayer"):
        Map().show()
    with pytest.raises(ValueError, match="zoom is 0 to 24"):
        Map().setCenter(0, 0, 30)
    with pytest.raises(ValueError, match="show one band or three"):
        add_layer(collection.first(), {"bands": ["B2", "B4"]})
    with pytest.raises(ValueError, match="no band 'B99'"):
        add_layer(collection.first(), {"bands": ["B99"]})
    with pytest.raises(TypeError, match="addLayer takes an Image"):
        add_layer([1, 2, 3])


def test_the_inspector_charts_the_clicked_pixel_and_lists_the_layers_values(collection):
    data = collection.data
    m = Map().addLayer(collection.median(), {"bands": ["B8", "B4", "B2"], "max": 3000}, "Median")
    masks = {"cloud": data.sel(band="B02", drop=True) > 2500}
    panels = m.inspector(collection, ["B8", "B4"], masks=masks, quality="B08")
    _, chart_map, table_map = panels
    (tap,) = chart_map.streams
    assert tap.source is panels[0]  # the clicks are the map's
    # A click on a pixel's centre charts that pixel, as pixel_series gives it.
    row, column = 7, 12
    x, y = float(data["x"][column]), float(data["y"][row])
    tap.event(x=x, y=y)
    chart = chart_map[()]
    series = pixel_series(data, index=(row, column), masks=masks, quality="B08").compute()
    kept_b8 = int(series["kept"].sel(band="B08").sum())
    curves = [e for e in chart if isinstance(e, hv.Curve) and e.label == "B8"]
    assert len(curves) == 1 and len(curves[0]) == kept_b8
    assert "Pixel at" in chart.opts.get().kwargs["title"]
    median = collection.median().data.isel(y=row, x=column)
    (row_values,) = table_map[()].columns()["value at the point"]
    assert row_values.startswith(f"B2 {float(median.sel(band='B02')):.6g}")
    # Outside the collection: the chart says so instead of failing.
    tap.event(x=x + 1e6, y=y)
    assert "No series here: the point" in chart_map[()].opts.get().kwargs["title"]
    assert table_map[()].columns()["value at the point"][0] == "outside the layer"
    hv.render(panels, backend="bokeh")


def test_the_inspector_needs_a_layer_to_click_on(collection):
    with pytest.raises(ValueError, match="no layer yet: add one with addLayer"):
        Map().inspector(collection)
