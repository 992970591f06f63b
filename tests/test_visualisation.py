"""The Earth Engine examples' visualisation parameters and the colouring functions of
compositing.visualisation."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from compositing import visualisation as vis


def test_example_vis_params_are_the_earth_engine_examples():
    assert (vis.EXAMPLE_VIS["rgb"].minimum, vis.EXAMPLE_VIS["rgb"].maximum) == (0, 4000)
    assert vis.EXAMPLE_VIS["rgb"].bands == ("B11", "B08", "B03")
    assert (vis.EXAMPLE_VIS["sum"].minimum, vis.EXAMPLE_VIS["sum"].maximum) == (0, 500)
    assert (vis.EXAMPLE_VIS["product"].minimum, vis.EXAMPLE_VIS["product"].maximum) == (0, 1e10)
    assert (vis.EXAMPLE_VIS["mode"].minimum, vis.EXAMPLE_VIS["mode"].maximum) == (1, 11)
    assert vis.EXAMPLE_VIS["mode"].bands == ("SCL",)
    assert (vis.EXAMPLE_VIS["count"].minimum, vis.EXAMPLE_VIS["count"].maximum) == (1, 5)
    quality = vis.EXAMPLE_VIS["quality_mosaic"]
    assert (quality.minimum, quality.maximum) == (0, 4500)
    assert quality.bands == ("B04", "B03", "B02")


def test_scl_classes_follow_the_standard_palette():
    assert [c.value for c in vis.SCL_CLASSES] == list(range(12))
    by_value = {c.value: c for c in vis.SCL_CLASSES}
    assert by_value[4].name == "Vegetation" and by_value[4].colour == "#00a000"
    assert by_value[6].name == "Water" and by_value[6].colour == "#0000ff"
    assert by_value[3].name == "Cloud shadows"
    assert by_value[9].name == "Cloud high probability" and by_value[9].colour == "#ffffff"
    assert by_value[10].name == "Thin cirrus"
    assert by_value[11].name == "Snow"
    # The mode layer's palette runs over classes 1..11, one colour each.
    assert vis.EXAMPLE_VIS["mode"].palette == tuple(c.colour for c in vis.SCL_CLASSES[1:])


def test_stretch_is_linear_clipped_and_keeps_nan():
    values = np.array([-100.0, 0.0, 1000.0, 4000.0, 5000.0, np.nan])
    out = vis.stretch(values, 0, 4000)
    np.testing.assert_allclose(out[:5], [0.0, 0.0, 0.25, 1.0, 1.0])
    assert np.isnan(out[5])


def test_gamma_above_one_brightens_as_in_earth_engine():
    out = vis.stretch(np.array([1000.0]), 0, 4000, gamma=2.0)
    np.testing.assert_allclose(out, [0.25**0.5])


@pytest.mark.parametrize(("minimum", "maximum", "gamma"), [(10, 10, 1), (20, 10, 1), (0, 1, 0)])
def test_stretch_rejects_empty_ranges_and_bad_gamma(minimum, maximum, gamma):
    with pytest.raises(ValueError, match="min < max|gamma"):
        vis.stretch(np.zeros(3), minimum, maximum, gamma)


def test_rgb_to_rgba_makes_masked_pixels_transparent():
    red = np.array([[0.0, 4000.0], [2000.0, np.nan]])
    green = np.array([[0.0, 4000.0], [2000.0, 100.0]])
    blue = np.array([[0.0, 4000.0], [np.nan, 100.0]])
    rgba = vis.rgb_to_rgba(red, green, blue, 0, 4000)
    assert rgba.dtype == np.uint8 and rgba.shape == (2, 2, 4)
    assert rgba[0, 0].tolist() == [0, 0, 0, 255]
    assert rgba[0, 1].tolist() == [255, 255, 255, 255]
    assert rgba[1, 0, 3] == 0 and rgba[1, 1, 3] == 0


def test_percentile_range_ignores_nan_and_refuses_all_masked():
    values = np.concatenate([np.arange(101, dtype=float), [np.nan] * 50])
    assert vis.percentile_range(values, 2, 98) == pytest.approx((2.0, 98.0))
    with pytest.raises(ValueError, match="every pixel is masked"):
        vis.percentile_range(np.full(5, np.nan))
    low, high = vis.percentile_range(np.full(5, 7.0))
    assert low == 7.0 and high > low


def test_palette_to_rgba_runs_along_the_palette():
    values = np.array([1.0, 3.0, 5.0, np.nan])
    rgba = vis.palette_to_rgba(values, 1, 5, ("#000000", "#ff0000", "#ffffff"))
    assert rgba[0].tolist() == [0, 0, 0, 255]
    assert rgba[1].tolist() == [255, 0, 0, 255]
    assert rgba[2].tolist() == [255, 255, 255, 255]
    assert rgba[3, 3] == 0


def test_classes_to_rgba_colours_each_class_and_hides_the_rest():
    values = np.array([4.0, 6.0, 9.0, np.nan, 42.0])
    rgba = vis.classes_to_rgba(values)
    assert rgba[0].tolist() == [0, 160, 0, 255]
    assert rgba[1].tolist() == [0, 0, 255, 255]
    assert rgba[2].tolist() == [255, 255, 255, 255]
    assert rgba[3, 3] == 0 and rgba[4, 3] == 0


def test_mask_overlay_is_orange_at_half_opacity():
    rgba = vis.mask_to_rgba(np.array([True, False]))
    assert rgba[0].tolist() == [255, 165, 0, 128]
    assert rgba[1, 3] == 0


@pytest.mark.parametrize(
    ("colour", "expected"),
    [("#00a000", (0, 160, 0)), ("ffe65a", (255, 230, 90)), ("orange", (255, 165, 0)),
     ("#fff", (255, 255, 255))],
)  # fmt: skip
def test_hex_to_rgb(colour, expected):
    assert vis.hex_to_rgb(colour) == expected


def test_hex_to_rgb_rejects_garbage():
    with pytest.raises(ValueError, match="not a colour"):
        vis.hex_to_rgb("#12345")
    with pytest.raises(ValueError, match="not a colour"):
        vis.hex_to_rgb("zzzzzz")


def test_vis_params_validate():
    with pytest.raises(ValueError, match="min < max"):
        vis.VisParams(("B04",), 10, 10)
    with pytest.raises(ValueError, match="1 or 3 bands"):
        vis.VisParams(("B04", "B03"), 0, 1)


def test_pixel_bounds_are_the_outer_edges_of_the_pixels():
    array = xr.DataArray(
        np.zeros((2, 3)), dims=("y", "x"), coords={"y": [15.0, 5.0], "x": [100.0, 120.0, 140.0]}
    )
    assert vis.pixel_bounds(array) == (90.0, 0.0, 150.0, 20.0)
