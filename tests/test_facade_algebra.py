"""The facade's image algebra (issue 13, part 4): math, logic, masks, constants, Python's
operators and the expression language, against numpy on a collection with masked pixels."""

from __future__ import annotations

import numpy as np
import pytest
from test_facade import BANDS, make_collection

from compositing.facade import Geometry, Image, ImageCollection


@pytest.fixture
def image() -> Image:
    return ImageCollection(make_collection()).first()


def band(image: Image, name: str) -> np.ndarray:
    return image.data.sel(band=name).values.astype("float64")


def test_unary_math_matches_numpy_and_masks_outside_the_domain(image):
    shifted = image.subtract(2000)  # negative values too
    values = shifted.data.values.astype("float64")
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        expected = {
            "abs": np.abs(values),
            "sqrt": np.sqrt(values),
            "log": np.log(np.where(values > 0, values, np.nan)),
            "log10": np.log10(np.where(values > 0, values, np.nan)),
            "exp": np.exp(values / 1000),
            "floor": np.floor(values / 7),
            "ceil": np.ceil(values / 7),
            "round": np.floor(values / 2 + 0.5),  # halves up: -2.5 -> -2
            "sin": np.sin(values),
        }
    inputs = {"exp": shifted.divide(1000), "floor": shifted.divide(7), "ceil": shifted.divide(7),
              "round": shifted.divide(2)}  # fmt: skip
    for name, want in expected.items():
        got = getattr(inputs.get(name, shifted), name)().data.values
        np.testing.assert_allclose(got, want, rtol=1e-6, err_msg=name)
    assert np.isnan(shifted.sqrt().data.values[values < 0]).all()  # masked, not a number


def test_binary_math_and_min_max_pair_bands_as_earth_engine(image):
    b4, b8 = image.select("B4"), image.select("B8")
    x, y = band(image, "B4"), band(image, "B8")
    np.testing.assert_allclose(b4.pow(2).data.values[0], x**2, rtol=1e-6)
    np.testing.assert_allclose(b8.min(b4).data.values[0], np.minimum(y, x))
    np.testing.assert_allclose(b8.max(b4).data.values[0], np.maximum(y, x))
    with np.errstate(invalid="ignore"):
        np.testing.assert_allclose(b8.mod(b4).data.values[0], np.fmod(y, x), rtol=1e-6)
    # One band against every band: named after the image with more bands.
    assert image.max(b4).bandNames() == BANDS


def test_logic_gives_ones_and_zeros_and_keeps_masks(image):
    bright, red = image.select("B8").gt(2000), image.select("B4").lt(1000)
    y, x = band(image, "B8"), band(image, "B4")
    valid = ~np.isnan(x) & ~np.isnan(y)
    expected_and = np.where(valid, ((y > 2000) & (x < 1000)).astype(float), np.nan)
    expected_or = np.where(valid, ((y > 2000) | (x < 1000)).astype(float), np.nan)
    np.testing.assert_array_equal(bright.And(red).data.values[0], expected_and)
    np.testing.assert_array_equal(bright.Or(red).data.values[0], expected_or)
    np.testing.assert_array_equal((bright & red).data.values[0], expected_and)
    not_bright = np.where(np.isnan(y), np.nan, (y <= 2000).astype(float))
    np.testing.assert_array_equal(bright.Not().data.values[0], not_bright)
    np.testing.assert_array_equal((~bright).data.values[0], not_bright)


def test_masks_self_mask_unmask_and_where(image):
    b4 = image.select("B4")
    x = band(image, "B4")
    cloud = image.select("MSK_CLDPRB")
    q = band(image, "MSK_CLDPRB")
    np.testing.assert_array_equal(cloud.selfMask().data.values[0], np.where(q == 0, np.nan, q))
    np.testing.assert_array_equal(b4.unmask().data.values[0], np.nan_to_num(x, nan=0))
    np.testing.assert_array_equal(b4.unmask(-1).data.values[0], np.nan_to_num(x, nan=-1))
    # where: value where the test is non-zero; the input where test or value is masked.
    replaced = b4.where(cloud.gt(10), 0).data.values[0]
    expected = np.where(~np.isnan(q) & (q > 10) & ~np.isnan(x), 0, x)
    np.testing.assert_array_equal(replaced, expected)
    other = image.select("B8")
    y = band(image, "B8")
    expected = np.where(~np.isnan(q) & (q > 10) & ~np.isnan(y) & ~np.isnan(x), y, x)
    np.testing.assert_array_equal(b4.where(cloud.gt(10), other).data.values[0], expected)


def test_constants_cat_and_python_operators(image):
    b4, b8 = image.select("B4"), image.select("B8")
    x, y = band(image, "B4"), band(image, "B8")
    assert Image.constant(5).bandNames() == ["constant"]
    assert Image(5).bandNames() == ["constant"]
    assert Image.constant([1, 2]).bandNames() == ["constant_0", "constant_1"]
    np.testing.assert_allclose((b8 - b4).data.values[0], y - x)
    np.testing.assert_allclose((10000 - b4).data.values[0], 10000 - x)
    np.testing.assert_allclose((2 * b8 / 4).data.values[0], 2 * y / 4, rtol=1e-6)
    np.testing.assert_allclose((b8**0.5).data.values[0], np.sqrt(y), rtol=1e-6)
    np.testing.assert_allclose((-b8).data.values[0], -y)
    np.testing.assert_allclose(abs(b4 - 2000).data.values[0], np.abs(x - 2000))
    np.testing.assert_array_equal(
        (b8 > 2000).data.values[0], image.select("B8").gt(2000).data.values[0]
    )
    # A constant keeps the other side's dtype, as a Python number does.
    assert (b4 + Image.constant(1)).data.dtype == b4.data.dtype
    both = Image.cat(b4, b8, Image.constant(1).rename("one"))
    assert both.bandNames() == ["B4", "B8", "one"]
    np.testing.assert_array_equal(both.data.values[2], np.ones_like(x))
    # Equality stays Python's: eq() compares pixels.
    assert (b4 == b4) is True and b4 != b8


EVI = "2.5 * ((NIR - RED) / (NIR + 6 * RED - 7.5 * BLUE + 1))"


def test_expression_evi_with_a_map_of_images_matches_numpy(image):
    reflectance = image.divide(10000)
    evi = reflectance.expression(
        EVI,
        {
            "NIR": reflectance.select("B8"),
            "RED": reflectance.select("B4"),
            "BLUE": reflectance.select("B2"),
        },
    )
    nir, red, blue = (band(image, b) / 10000 for b in ("B8", "B4", "B2"))
    denominator = nir + 6 * red - 7.5 * blue + 1
    with np.errstate(invalid="ignore", divide="ignore"):
        expected = np.where(denominator == 0, 0, 2.5 * (nir - red) / denominator)
    np.testing.assert_allclose(evi.data.values[0], expected, rtol=1e-5, atol=1e-7)


def test_expression_grammar_b_bands_functions_logic_ternary_and_names(image):
    x, y = band(image, "B4"), band(image, "B8")
    ndvi = image.expression("ndvi = (b('B8') - b('B4')) / (b('B8') + b('B4'))")
    assert ndvi.bandNames() == ["ndvi"]
    with np.errstate(invalid="ignore", divide="ignore"):
        np.testing.assert_allclose(ndvi.data.values[0], (y - x) / (y + x), rtol=1e-6)
    by_index = image.expression("b(4) - b(3)")  # B8 - B4 by position
    np.testing.assert_allclose(by_index.data.values[0], y - x)
    clipped = image.expression("b('B8') > 2000 && !(b('B4') > 1000) ? 1 : b('B4') / 1000")
    valid = ~np.isnan(x) & ~np.isnan(y)
    test = valid & (y > 2000) & ~(x > 1000)
    np.testing.assert_allclose(clipped.data.values[0], np.where(test, 1.0, x / 1000), rtol=1e-6)
    powered = image.expression("2 ** 3 ** 2 + sqrt(abs(b('B4') - 2000)) + max(b('B8'), 3000)")
    expected = 2.0**9 + np.sqrt(np.abs(x - 2000)) + np.maximum(y, 3000)
    np.testing.assert_allclose(powered.data.values[0], expected, rtol=1e-6)
    assert image.expression("-2 + 3 * 4").data.values.tolist() == [10.0]
    bands = image.expression("img.B8 + img[3]", {"img": image})  # B8 + B4
    np.testing.assert_allclose(bands.data.values[0], y + x)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("b('B8') +", "unexpected the end"),
        ("NIR * 2", "unknown name 'NIR'"),
        ("__import__('os')", "unknown name '__import__'"),
        ("b('B8'); 1", "cannot read"),
        ("sqrt(1, 2)", r"sqrt\(\) takes 1"),
        ("b(42)", "band index 42"),
        ("x = b('B8', 'B4')", "names one band"),
        ("(1 + 2", r"expected '\)'"),
    ],
)
def test_expression_errors_name_the_problem_and_nothing_is_evaluated(image, text, message):
    with pytest.raises(ValueError, match=message):
        image.expression(text)


def test_algebra_inside_map_applies_to_every_image():
    data = make_collection()
    out = ImageCollection(data).map(lambda i: (i.select("B8") - i.select("B4")).rename("d")).data
    expected = data.sel(band="B8").values - data.sel(band="B4").values
    np.testing.assert_array_equal(out.values[:, 0], expected)


# --- geometries and clip --------------------------------------------------------------------


def _centres(image: Image) -> tuple[np.ndarray, np.ndarray]:
    return np.meshgrid(image.data["x"].values, image.data["y"].values)


def test_clip_to_a_polygon_keeps_the_pixels_whose_centre_is_inside(image):
    from matplotlib.path import Path as PolygonPath
    from pyproj import Transformer

    ring = [[-122.3735, 37.4478], [-122.3722, 37.4479], [-122.3726, 37.4488]]
    clipped = image.clip(Geometry.Polygon([ring]))
    # numpy: matplotlib's point-in-polygon on the corners projected (edges short: straight).
    to_utm = Transformer.from_crs("EPSG:4326", "EPSG:32610", always_xy=True)
    corners = np.array([to_utm.transform(lon, lat) for lon, lat in ring])
    xs, ys = _centres(image)
    inside = PolygonPath(corners).contains_points(np.c_[xs.ravel(), ys.ravel()]).reshape(xs.shape)
    assert 0 < inside.sum() < inside.size  # the polygon cuts the image
    expected = np.where(inside, image.data.values, np.nan)
    np.testing.assert_array_equal(clipped.data.values, expected)
    assert Geometry.Polygon(ring) == Geometry.Polygon([ring])  # both of Earth Engine's forms


def test_a_buffered_point_clips_a_disc_of_that_radius(image):
    from pyproj import Transformer

    lon, lat = -122.373, 37.448
    clipped = image.clip(Geometry.Point(lon, lat).buffer(50)).data.values
    cx, cy = Transformer.from_crs("EPSG:4326", "EPSG:32610", always_xy=True).transform(lon, lat)
    xs, ys = _centres(image)
    distance = np.hypot(xs - cx, ys - cy)
    valid = ~np.isnan(image.data.values[BANDS.index("B4")])
    kept = ~np.isnan(clipped[BANDS.index("B4")])
    assert kept[valid & (distance < 49)].all() and not kept[valid & (distance > 51)].any()
    assert (valid & (distance < 49)).any() and (valid & (distance > 51)).any()


def test_geometry_errors_say_what_to_give():
    with pytest.raises(ValueError, match="at least three"):
        Geometry.Polygon([[-122.4, 37.4], [-122.3, 37.4]])
    with pytest.raises(ValueError, match="holes"):
        Geometry.Polygon([[[0, 0], [1, 0], [1, 1]], [[0.2, 0.2], [0.3, 0.2], [0.3, 0.3]]])
    with pytest.raises(ValueError, match="covers no pixel.*buffer"):
        ImageCollection(make_collection()).first().clip(Geometry.Point(-122.373, 37.448))
