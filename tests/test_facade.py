"""Tests of the Earth Engine-style facade, against brute-force numpy on synthetic collections."""

from __future__ import annotations

import datetime as dt

import dask
import dask.array as da
import numpy as np
import pandas as pd
import pytest
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr
from pyproj import Transformer

from compositing.facade import Geometry, Image, ImageCollection

LON, LAT = -122.373, 37.448
BANDS = ["AOT", "B2", "B3", "B4", "B8", "B11", "MSK_CLDPRB", "SCL", "WVP"]
EXAMPLE_BANDS = ["B2", "B3", "B4", "B8", "B11", "MSK_CLDPRB", "SCL"]
DATES = pd.to_datetime(
    [
        "2021-06-26",
        "2021-07-01",
        "2021-07-06",
        "2021-07-11",
        "2021-07-16",
        "2021-07-21",
        "2021-07-26",
        "2021-07-31",
        "2021-08-01",
        "2021-08-06",
    ]
)
METHODS = ["mean", "median", "min", "max", "sum", "product", "mode", "count", "mosaic"]


def make_collection(
    n_y: int = 6, n_x: int = 7, *, seed: int = 0, chunked: bool = False, res: float = 20.0
) -> xr.DataArray:
    """A Sentinel-2-like collection around (LON, LAT) in UTM zone 10N, NaN = masked.

    Integer-valued floats keep medians and modes exact; cloud probabilities (0..15) and scene
    classes (4 values) repeat often, so ties in mode and quality_mosaic really happen.
    """
    rng = np.random.default_rng(seed)
    shape = (len(DATES), len(BANDS), n_y, n_x)
    data = rng.integers(0, 4000, size=shape).astype("float32")
    data[:, BANDS.index("MSK_CLDPRB")] = rng.integers(0, 16, size=(len(DATES), n_y, n_x))
    data[:, BANDS.index("SCL")] = rng.choice([4.0, 5.0, 8.0, 9.0], size=(len(DATES), n_y, n_x))
    data[rng.random(shape) < 0.2] = np.nan
    data[:, :, 0, 0] = np.nan  # a pixel with no valid input at all
    data[:, BANDS.index("MSK_CLDPRB"), 1, 1] = 15.0  # always cloudy: count is masked there

    cx, cy = Transformer.from_crs("EPSG:4326", "EPSG:32610", always_xy=True).transform(LON, LAT)
    x = cx + (np.arange(n_x) - (n_x - 1) / 2) * res
    y = cy - (np.arange(n_y) - (n_y - 1) / 2) * res
    array = xr.DataArray(
        data,
        dims=("time", "band", "y", "x"),
        coords={"time": DATES, "band": BANDS, "y": y, "x": x},
        attrs={"source": "synthetic"},
    ).rio.write_crs("EPSG:32610")
    return array.chunk({"time": 1, "band": -1}) if chunked else array


def brute(method: str, cube: np.ndarray) -> np.ndarray:
    """Pixel-by-pixel reference for a (time, band, y, x) cube, written without the engine."""
    _, n_band, n_y, n_x = cube.shape
    out = np.full((n_band, n_y, n_x), np.nan)
    for b, i, j in np.ndindex(n_band, n_y, n_x):
        valid = cube[:, b, i, j].astype(np.float64)
        valid = valid[~np.isnan(valid)]
        if valid.size == 0:
            continue  # no valid input: masked for every method
        if method == "mode":
            values, counts = np.unique(valid, return_counts=True)  # sorted: smallest tie wins
            out[b, i, j] = values[counts == counts.max()].min()
        elif method == "count":
            out[b, i, j] = valid.size
        elif method == "mosaic":
            out[b, i, j] = valid[-1]
        else:
            out[b, i, j] = getattr(np, {"product": "prod"}.get(method, method))(valid)
    return out


def brute_quality(cube: np.ndarray, quality: int) -> np.ndarray:
    """Per pixel, all bands of the earliest image with the highest valid quality value."""
    _, n_band, n_y, n_x = cube.shape
    out = np.full((n_band, n_y, n_x), np.nan)
    for i, j in np.ndindex(n_y, n_x):
        q = cube[:, quality, i, j]
        candidates = np.flatnonzero(~np.isnan(q))
        if candidates.size:
            best = candidates[np.argmax(q[candidates])]  # argmax returns the first maximum
            out[:, i, j] = cube[best, :, i, j]
    return out


def july_cube(data: xr.DataArray) -> np.ndarray:
    """The Earth Engine example's filterDate + select, done by hand in numpy."""
    times = pd.DatetimeIndex(data["time"].values)
    keep = (times >= "2021-07-01") & (times < "2021-08-01")
    return data.values[keep][:, [BANDS.index(b) for b in EXAMPLE_BANDS]]


def image_of(values: np.ndarray, bands: list[str]) -> Image:
    """A small numpy image with a CRS, for band-math tests."""
    n_y, n_x = values.shape[1:]
    array = xr.DataArray(
        values.astype("float32"),
        dims=("band", "y", "x"),
        coords={"band": bands, "y": np.arange(n_y, 0, -1.0), "x": np.arange(n_x, dtype=float)},
        attrs={"units": "reflectance"},
    ).rio.write_crs("EPSG:32610")
    return Image(array)


def assert_same(image: Image, expected: np.ndarray, **tolerance: float) -> None:
    np.testing.assert_allclose(np.asarray(image.data.values, np.float64), expected, **tolerance)


def _forbid_compute(*args: object, **kwargs: object) -> None:
    raise AssertionError("the facade computed something; it must stay lazy")


# --- the two Earth Engine examples ---------------------------------------------------------------


@pytest.mark.parametrize("chunked", [False, True], ids=["numpy", "dask"])
def test_mosaic_seed_example(chunked: bool) -> None:
    data = make_collection(chunked=chunked)

    # Ported from the ee.ImageCollection.mosaic example, line for line.
    col = (
        ImageCollection(data)
        .filterDate("2021-07-01", "2021-08-01")
        .filterBounds(Geometry.Point(-122.373, 37.448))
        .select("B.*|MSK_CLDPRB|SCL")
    )
    mean = col.mean()
    median = col.median()
    min_ = col.min()
    max_ = col.max()
    sum_ = col.sum()
    product = col.product()
    mode = col.mode()
    not_cloud_col = col.map(lambda img: img.updateMask(img.select("MSK_CLDPRB").lte(10)))
    count = not_cloud_col.count()
    mosaic = not_cloud_col.mosaic()

    cube = july_cube(make_collection())
    cloud = cube[:, [EXAMPLE_BANDS.index("MSK_CLDPRB")]]
    not_cloud = np.where(cloud <= 10, cube, np.nan)  # NaN <= 10 is False: masked stays masked

    assert col.size() == 7
    assert col.first().bandNames() == EXAMPLE_BANDS
    got = {
        "mean": mean,
        "median": median,
        "min": min_,
        "max": max_,
        "sum": sum_,
        "product": product,
        "mode": mode,
    }
    for method, image in got.items():
        assert image.band_names() == EXAMPLE_BANDS
        assert_same(image, brute(method, cube), rtol=1e-12)
    assert_same(count, brute("count", not_cloud))
    assert_same(mosaic, brute("mosaic", not_cloud))
    assert count.data.dtype == np.float32 and np.isnan(count.data.values[:, 1, 1]).all()
    assert np.isnan(mean.data.values[:, 0, 0]).all()  # no valid input: masked, even for count
    assert mosaic.data.rio.crs == "EPSG:32610"
    assert mosaic.data.attrs["source"] == "synthetic"


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("chunked", [False, True], ids=["numpy", "dask"])
def test_every_reducer_on_the_masked_collection(method: str, chunked: bool) -> None:
    col = ImageCollection(make_collection(seed=1, chunked=chunked)).select("B.*|MSK_CLDPRB|SCL")
    not_cloud_col = col.map(lambda img: img.update_mask(img.select("MSK_CLDPRB").lte(10)))

    cube = make_collection(seed=1).values[:, [BANDS.index(b) for b in EXAMPLE_BANDS]]
    cloud = cube[:, [EXAMPLE_BANDS.index("MSK_CLDPRB")]]
    expected = brute(method, np.where(cloud <= 10, cube, np.nan))
    assert_same(getattr(not_cloud_col, method)(), expected, rtol=1e-12)


@pytest.mark.parametrize("chunked", [False, True], ids=["numpy", "dask"])
def test_quality_mosaic_seed_example(chunked: bool) -> None:
    col = ImageCollection(make_collection(seed=2, chunked=chunked)).filterBounds(
        Geometry.Point(-122.373, 37.448)
    )

    # Ported from the ee.ImageCollection.qualityMosaic example.
    def invertCloudProbabilityBand(img: Image) -> Image:
        cld_prob = img.select("MSK_CLDPRB")
        cld_prob_inv = cld_prob.multiply(-1).rename("quality")
        return img.addBands(cld_prob_inv)

    col = col.map(invertCloudProbabilityBand)
    best = col.qualityMosaic("quality")
    worst = col.qualityMosaic("MSK_CLDPRB")

    raw = make_collection(seed=2).values
    cube = np.concatenate([raw, -raw[:, [BANDS.index("MSK_CLDPRB")]]], axis=1)
    assert best.band_names() == [*BANDS, "quality"]
    np.testing.assert_array_equal(best.data.values, brute_quality(cube, len(BANDS)))
    np.testing.assert_array_equal(worst.data.values, brute_quality(cube, BANDS.index("MSK_CLDPRB")))
    assert best.data.rio.crs == "EPSG:32610"


# --- select ------------------------------------------------------------------------------------


def test_select_regex_keeps_band_order_and_names_keep_given_order() -> None:
    col = ImageCollection(make_collection())
    assert col.select("B.*|MSK_CLDPRB|SCL").first().band_names() == EXAMPLE_BANDS
    assert col.select("SCL|B2").first().band_names() == ["B2", "SCL"]
    assert col.select("B8", "B4").first().band_names() == ["B8", "B4"]
    assert col.select(["B8", "B4"]).first().band_names() == ["B8", "B4"]
    assert col.select("SCL", "B.").first().band_names() == ["SCL", "B2", "B3", "B4", "B8"]

    img = col.first()
    np.testing.assert_array_equal(
        img.select("B8", "B4").data.values, img.data.sel(band=["B8", "B4"]).values
    )
    renamed = img.select(["B4", "B8"], ["red", "nir"])
    assert renamed.band_names() == ["red", "nir"]
    np.testing.assert_array_equal(renamed.data.values, img.data.sel(band=["B4", "B8"]).values)


def test_select_unmatched_selector_names_it_and_lists_bands() -> None:
    col = ImageCollection(make_collection())
    with pytest.raises(ValueError, match=r"no band 'B12'.*'AOT', 'B2'.*Did you mean"):
        col.select("B2", "B12")
    with pytest.raises(ValueError, match="no band 'B'"):
        col.first().select("B")  # fullmatch: 'B' is not a prefix search
    with pytest.raises(TypeError, match="band names"):
        col.select(2.5)
    assert col.select(1).first().band_names() == [col.first().band_names()[1]]  # an index


# --- filters -----------------------------------------------------------------------------------


def test_filter_date_end_is_exclusive() -> None:
    col = ImageCollection(make_collection())
    july = col.filter_date("2021-07-01", "2021-08-01")
    times = pd.DatetimeIndex(july.data["time"].values)
    assert list(times) == list(DATES[1:8])
    assert col.filterDate(dt.datetime(2021, 7, 31), dt.datetime(2021, 8, 1)).size() == 1
    assert col.filter_date("2021-08-01").size() == 1  # no end: a one-millisecond window


def test_filter_date_with_nothing_left_raises_on_reduce() -> None:
    empty = ImageCollection(make_collection()).filter_date("2022-01-01", "2022-02-01")
    assert empty.size() == 0
    with pytest.raises(ValueError, match=r"filter_date.*2021-06-26 to 2021-08-06"):
        empty.median()
    with pytest.raises(ValueError, match="no images left"):
        empty.select("B2").map(lambda img: img.multiply(2)).mean()


def test_filter_bounds_inside_and_overlapping_keep_everything() -> None:
    col = ImageCollection(make_collection())
    assert col.filter_bounds(Geometry.Point(LON, LAT)).size() == len(DATES)
    assert col.filterBounds((LON, LAT)).size() == len(DATES)
    box = Geometry.Rectangle([LON - 1, LAT - 1, LON + 1, LAT + 1])  # contains the whole grid
    assert col.filter_bounds(box).size() == len(DATES)
    assert col.filter_bounds((LON - 1, LAT - 1, LON, LAT)).size() == len(DATES)  # a corner


def test_filter_bounds_outside_gives_an_empty_collection_that_explains_itself() -> None:
    col = ImageCollection(make_collection()).filter_bounds(Geometry.Point(-103.19, 40.14))
    assert col.size() == 0
    with pytest.raises(ValueError, match=r"point \(-103.19, 40.14\) is outside.*\(-122.37"):
        col.mean()
    with pytest.raises(ValueError, match="outside"):
        col.first()
    with pytest.raises(ValueError, match="outside"):
        col.quality_mosaic("SCL")


def test_filter_bounds_without_crs_or_with_swapped_coordinates() -> None:
    data = make_collection().drop_vars("spatial_ref")
    data.encoding.pop("grid_mapping", None)
    assert data.rio.crs is None
    with pytest.raises(ValueError, match=r"needs the collection.s CRS.*rio\.write_crs"):
        ImageCollection(data).filter_bounds((LON, LAT))
    with pytest.raises(ValueError, match=r"\(lon, lat\)"):
        Geometry.Point(LAT, LON)
    with pytest.raises(ValueError, match="west <= east"):
        Geometry.Rectangle(LON, LAT, LON - 1, LAT + 1)
    with pytest.raises(TypeError, match="Geometry.Point"):
        ImageCollection(make_collection()).filter_bounds("San Francisco")


# --- band math ---------------------------------------------------------------------------------


@pytest.fixture
def img() -> Image:
    values = np.array(
        [
            [[1, 2, np.nan], [4, 0, 6]],  # a
            [[2, 0, 3], [np.nan, 5, -1]],  # b
            [[0, 1, 1], [2, 2, 2]],  # c
        ]
    )
    return image_of(values, ["a", "b", "c"])


def test_band_math_broadcasting_pairs_and_names(img: Image) -> None:
    v = img.data.values
    one = img.select("c")
    n_vs_1 = img.select("a", "b").multiply(one)
    assert n_vs_1.band_names() == ["a", "b"]
    assert_same(n_vs_1, v[:2] * v[2])
    one_vs_n = one.subtract(img.select("a", "b"))  # names from the longer input, as in EE
    assert one_vs_n.band_names() == ["a", "b"]
    assert_same(one_vs_n, v[2] - v[:2])
    pairs = img.select("a", "b").add(img.select("b", "c"))  # by position, left's names
    assert pairs.band_names() == ["a", "b"]
    assert_same(pairs, v[:2] + v[1:])
    assert_same(img.add(1.5), v + 1.5)
    assert img.multiply(2).data.dtype == np.float32
    with pytest.raises(ValueError, match=r"cannot pair bands \['a', 'b'\] with \['a', 'b', 'c'\]"):
        img.select("a", "b").add(img)
    with pytest.raises(TypeError, match="Image or a number"):
        img.add("1")


def test_divide_by_zero_gives_zero_and_masks_propagate(img: Image) -> None:
    v = img.data.values
    out = img.select("a").divide(img.select("b")).data.values[0]
    expected = np.array([[0.5, 0.0, np.nan], [np.nan, 0.0, -6.0]])  # 2/0 -> 0, as in EE
    np.testing.assert_array_equal(out, expected)
    np.testing.assert_array_equal(img.divide(0).data.values, v * 0)


@pytest.mark.parametrize(
    "name, op",
    [
        ("lt", np.less),
        ("lte", np.less_equal),
        ("gt", np.greater),
        ("gte", np.greater_equal),
        ("eq", np.equal),
        ("neq", np.not_equal),
    ],
)
def test_comparisons_are_float_and_masked_where_an_input_is(img: Image, name: str, op) -> None:
    v = img.data.values
    with np.errstate(invalid="ignore"):
        expected = np.where(np.isnan(v[0]) | np.isnan(v[1]), np.nan, op(v[0], v[1]))
        expected_scalar = np.where(np.isnan(v), np.nan, op(v, 2.0))
    image = getattr(img.select("a"), name)(img.select("b"))
    assert image.band_names() == ["a"] and image.data.dtype == np.float32
    np.testing.assert_array_equal(image.data.values[0], expected)
    np.testing.assert_array_equal(getattr(img, name)(2).data.values, expected_scalar)


def test_normalized_difference(img: Image) -> None:
    v = img.data.values
    nd = img.normalizedDifference(["a", "b"])
    assert nd.band_names() == ["nd"]
    with np.errstate(invalid="ignore", divide="ignore"):
        expected = (v[0] - v[1]) / (v[0] + v[1])
    expected[1, 2] = np.nan  # b = -1 < 0: masked, as in EE
    expected[0, 1] = 1.0  # (2 - 0) / (2 + 0)
    expected[1, 1] = -1.0  # (0 - 5) / (0 + 5)
    np.testing.assert_allclose(nd.data.values[0], expected)
    np.testing.assert_array_equal(img.normalized_difference().data.values, nd.data.values)
    with pytest.raises(ValueError, match="two band names"):
        img.normalized_difference(["a"])


def test_add_bands_and_rename(img: Image) -> None:
    v = img.data.values
    with pytest.raises(ValueError, match=r"\['b'\] already exist.*overwrite=True"):
        img.addBands(img.select("b"))
    doubled = img.add_bands(img.select("b").multiply(2), overwrite=True)
    assert doubled.band_names() == ["a", "b", "c"]
    np.testing.assert_array_equal(doubled.data.values[1], v[1] * 2)
    picked = img.select("a").add_bands(img.rename("x", "y", "z"), names=["z", "x"])
    assert picked.band_names() == ["a", "z", "x"]
    np.testing.assert_array_equal(picked.data.values, v[[0, 2, 0]])
    assert picked.data.rio.crs == "EPSG:32610" and picked.data.attrs["units"] == "reflectance"
    assert img.rename(["x", "y", "z"]).band_names() == ["x", "y", "z"]
    with pytest.raises(ValueError, match=r"2 name\(s\).*3 band\(s\)"):
        img.rename("x", "y")
    with pytest.raises(ValueError, match="unique"):
        img.rename("x", "x", "y")


def test_update_mask(img: Image) -> None:
    v = img.data.values
    masked = img.updateMask(img.select("c"))  # one band: applies to every band
    np.testing.assert_array_equal(masked.data.values, np.where(v[2] == 0, np.nan, v))
    by_position = img.select("a", "b").update_mask(img.select("b", "c"))
    keep = (v[1:] != 0) & ~np.isnan(v[1:])
    np.testing.assert_array_equal(by_position.data.values, np.where(keep, v[:2], np.nan))
    assert np.isnan(img.update_mask(0).data.values).all()
    np.testing.assert_array_equal(img.update_mask(1).data.values, v)
    with pytest.raises(ValueError, match="one-band mask"):
        img.update_mask(img.select("a", "b"))
    assert masked.data.rio.crs == "EPSG:32610" and masked.data.attrs["units"] == "reflectance"


# --- map, laziness, repr -----------------------------------------------------------------------


def test_map_is_called_once_and_must_return_an_image() -> None:
    col = ImageCollection(make_collection())
    calls = []

    def double(image: Image) -> Image:
        calls.append(image)
        return image.multiply(2)

    doubled = col.map(double)
    assert len(calls) == 1 and calls[0].data.dims == ("time", "band", "y", "x")
    np.testing.assert_array_equal(doubled.data.values, col.data.values * 2)
    with pytest.raises(TypeError, match="must return an Image, not DataArray"):
        col.map(lambda image: image.data)

    # A constant image added inside map joins every image of the stack.
    constant = col.first().select("B2").rename("const")
    with_constant = col.map(lambda image: image.add_bands(constant))
    assert with_constant.size() == len(DATES)
    np.testing.assert_array_equal(
        with_constant.data.sel(band="const").values,
        np.broadcast_to(col.data.values[0, 1], (len(DATES), 6, 7)),
    )


def test_everything_stays_lazy() -> None:
    data = make_collection(chunked=True)
    with dask.config.set(scheduler=_forbid_compute):
        col = (
            ImageCollection(data)
            .filter_date("2021-07-01", "2021-08-01")
            .filter_bounds(Geometry.Point(LON, LAT))
            .select("B.*|MSK_CLDPRB|SCL")
        )
        masked = col.map(
            lambda img: img.update_mask(img.select("MSK_CLDPRB").lte(10)).add_bands(
                img.normalized_difference(["B8", "B4"])
            )
        )
        assert isinstance(masked.data.data, da.Array)
        assert isinstance(masked.select("B2").data.data, da.Array)
        for method in METHODS:
            assert isinstance(getattr(masked, method)().data.data, da.Array), method
        assert isinstance(masked.quality_mosaic("nd").data.data, da.Array)
        assert isinstance(masked.first().select("B2").gt(1).data.data, da.Array)
        repr(masked)


def test_reprs_are_short() -> None:
    col = ImageCollection(make_collection()).select("B2", "B3")
    assert repr(col) == (
        "<ImageCollection of 10 images, bands ['B2', 'B3'], size 6x7 (y x), "
        "dates 2021-06-26..2021-08-06>"
    )
    assert repr(col.first()) == "<Image bands ['B2', 'B3'], size 6x7 (y x), date 2021-06-26>"
    assert repr(col.mean()).startswith("<Image bands ['B2', 'B3'], size 6x7 (y x)")


def test_constructors_check_the_contract() -> None:
    with pytest.raises(ValueError, match="dims"):
        ImageCollection(make_collection().isel(time=0))
    with pytest.raises(ValueError, match="dims"):
        Image(make_collection().isel(band=0))


def test_an_image_wraps_a_stack_computed_with_xarray_inside_map() -> None:
    """The way back from xarray to an Image inside ``map``: a stack in any dim order."""
    data = make_collection()

    def scaled(image: Image) -> Image:
        return Image((image.data * 2).transpose("band", "time", "y", "x"))

    out = ImageCollection(data).map(scaled).data
    assert out.dims == ("time", "band", "y", "x")
    np.testing.assert_array_equal(out.values, data.values * 2)
