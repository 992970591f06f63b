"""The facade's image properties, filters and order (issue 13, parts 1-3), checked against
numpy on a collection with known properties, on the demo (its cloud cover from its own
classification) and on real catalog answers (the replayed STAC items)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from test_facade import BANDS, make_collection

import compositing as cx
from compositing.facade import Filter, Geometry, Image, ImageCollection
from compositing.geo import LONLAT, transformer
from compositing.mgrs import mgrs_square_bounds, mgrs_tile
from compositing.properties import spacecraft_name

#: Per image of make_collection: cloud cover (ties at 5 and a missing value), tile, platform.
CLOUD = [30.0, 5.0, 80.0, np.nan, 5.0, 12.0, 55.0, 5.0, 1.0, 40.0]
TILES = ["10SEG", "10SEG", "10SEH", "10SEG", "10SEH", "10SEG", "10SEG", "10SEH", "10SEG", "10SEG"]
PLATFORMS = ["sentinel-2a", "sentinel-2b"] * 5


def with_properties(array: xr.DataArray) -> xr.DataArray:
    n = array.sizes["time"]
    return array.assign_coords(
        cloud_cover=("time", CLOUD[:n]),
        mgrs_tile=("time", TILES[:n]),
        platform=("time", PLATFORMS[:n]),
        id=("time", [f"img{i}" for i in range(n)]),
    )


@pytest.fixture
def collection() -> ImageCollection:
    return ImageCollection(with_properties(make_collection()))


# --- properties -----------------------------------------------------------------------------------


def test_image_properties_by_earth_engine_and_stac_names(collection):
    image = collection.first()
    assert image.get("CLOUDY_PIXEL_PERCENTAGE") == 30.0
    assert image.get("eo:cloud_cover") == 30.0  # STAC's name
    assert image.get("MGRS_TILE") == "10SEG"
    assert image.get("SPACECRAFT_NAME") == "Sentinel-2A"
    assert image.get("system:index") == "img0"
    start = pd.Timestamp(collection.data["time"].values[0]).tz_localize("UTC")
    assert image.get("system:time_start") == start.value // 1_000_000
    assert image.date() == start
    assert {"CLOUDY_PIXEL_PERCENTAGE", "MGRS_TILE", "system:index", "system:time_start"} <= set(
        image.propertyNames()
    )
    with pytest.raises(KeyError, match="no property 'NOPE'.*CLOUDY_PIXEL_PERCENTAGE"):
        image.get("NOPE")


def test_set_adds_properties_that_filters_and_sort_read(collection):
    ranked = collection.map(lambda image: image.set("rank", np.arange(10)[::-1] * 1.0))
    assert ranked.aggregate_array("rank") == list(np.arange(10)[::-1] * 1.0)
    assert ranked.sort("rank").aggregate_array("system:index")[0] == "img9"
    image = collection.first().set({"a": 1, "b": "x"})
    assert (image.get("a"), image.get("b")) == (1, "x")
    with pytest.raises(ValueError, match="cannot be set|not a property"):
        image.set("system:time_start", 0)


def test_aggregate_array_and_size_follow_the_order(collection):
    assert collection.size() == 10
    assert collection.aggregate_array("MGRS_TILE") == TILES
    np.testing.assert_array_equal(collection.aggregate_array("CLOUDY_PIXEL_PERCENTAGE"), CLOUD)


# --- filters --------------------------------------------------------------------------------------


COVER = np.array(CLOUD)


@pytest.mark.parametrize(
    ("test", "expected"),
    [
        (Filter.lt("CLOUDY_PIXEL_PERCENTAGE", 30), COVER < 30),
        (Filter.lte("CLOUDY_PIXEL_PERCENTAGE", 30), COVER <= 30),
        (Filter.gt("CLOUDY_PIXEL_PERCENTAGE", 30), COVER > 30),
        (Filter.gte("CLOUDY_PIXEL_PERCENTAGE", 30), COVER >= 30),
        (Filter.eq("CLOUDY_PIXEL_PERCENTAGE", 5), COVER == 5),
        # Earth Engine: an image without the value is "not equal".
        (Filter.neq("CLOUDY_PIXEL_PERCENTAGE", 5), ~(COVER == 5)),
        (Filter.eq("MGRS_TILE", "10SEH"), np.array(TILES) == "10SEH"),
        (Filter.inList("MGRS_TILE", ["10SEH"]), np.array(TILES) == "10SEH"),
        (Filter.eq("SPACECRAFT_NAME", "Sentinel-2B"), np.array(PLATFORMS) == "sentinel-2b"),
        (
            Filter.And(Filter.lt("eo:cloud_cover", 50), Filter.eq("MGRS_TILE", "10SEG")),
            (COVER < 50) & (np.array(TILES) == "10SEG"),
        ),
        (
            Filter.Or(Filter.lt("CLOUDY_PIXEL_PERCENTAGE", 5), Filter.gt("eo:cloud_cover", 50)),
            (COVER < 5) | (COVER > 50),
        ),
        (Filter.lt("CLOUDY_PIXEL_PERCENTAGE", 30).Not(), ~(COVER < 30)),
        (Filter.date("2021-07-01", "2021-07-16"), np.isin(np.arange(10), [1, 2, 3])),
        (Filter.bounds(Geometry.Point(-122.373, 37.448)), np.ones(10, bool)),
        (Filter.bounds(Geometry.Point(10.0, 45.0)), np.zeros(10, bool)),
    ],
    ids=lambda value: value.text if isinstance(value, Filter) else "",
)
def test_filters_keep_what_numpy_keeps(collection, test, expected):
    kept = collection.filter(test)
    assert kept.aggregate_array("system:index") == [f"img{i}" for i in np.flatnonzero(expected)]


def test_filter_metadata_is_the_same_filter(collection):
    for operator, value, expected in [
        ("less_than", 30, COVER < 30),
        ("not_greater_than", 30, COVER <= 30),
        ("equals", 5, COVER == 5),
        ("not_equals", 5, ~(COVER == 5)),
    ]:
        kept = collection.filterMetadata("CLOUDY_PIXEL_PERCENTAGE", operator, value)
        assert kept.size() == expected.sum(), operator
    assert collection.filterMetadata("system:index", "starts_with", "img1").size() == 1
    with pytest.raises(ValueError, match="unknown operator 'below'.*less_than"):
        collection.filterMetadata("CLOUDY_PIXEL_PERCENTAGE", "below", 30)


def test_a_filter_that_keeps_nothing_says_why_when_reduced(collection):
    empty = collection.filter(Filter.lt("CLOUDY_PIXEL_PERCENTAGE", 0))
    assert empty.size() == 0
    with pytest.raises(ValueError, match=r"filter\(lt\('CLOUDY_PIXEL_PERCENTAGE', 0\)\)"):
        empty.median()


def test_filters_read_properties_only_and_stay_lazy():
    chunked = ImageCollection(with_properties(make_collection(chunked=True)))
    with _no_compute():
        kept = chunked.filter(Filter.lt("CLOUDY_PIXEL_PERCENTAGE", 50)).sort("eo:cloud_cover")
        mosaic = kept.mosaic()
    assert mosaic.data.chunks is not None


# --- order ----------------------------------------------------------------------------------------


def test_sort_orders_stably_with_missing_values_last(collection):
    ascending = collection.sort("CLOUDY_PIXEL_PERCENTAGE").aggregate_array("system:index")
    assert ascending == ["img8", "img1", "img4", "img7", "img5", "img0", "img9", "img6", "img2",
                         "img3"]  # fmt: skip
    descending = collection.sort("CLOUDY_PIXEL_PERCENTAGE", False).aggregate_array("system:index")
    assert descending == ["img2", "img6", "img9", "img0", "img5", "img1", "img4", "img7", "img8",
                          "img3"]  # fmt: skip


def test_least_cloudy_on_top_mosaic_is_numpy_last_valid_in_sorted_order(collection):
    """Earth Engine's idiom: ``sort('CLOUDY_PIXEL_PERCENTAGE', False).mosaic()``."""
    sorted_collection = collection.sort("CLOUDY_PIXEL_PERCENTAGE", False)
    mosaic = sorted_collection.mosaic().data.values
    order = [int(i[3:]) for i in sorted_collection.aggregate_array("system:index")]
    stack = collection.data.values[order]  # the images in the sorted order
    expected = np.full(stack.shape[1:], np.nan, dtype=stack.dtype)
    for image in stack:  # later images on top, where valid
        expected = np.where(np.isnan(image), expected, image)
    np.testing.assert_array_equal(mosaic, expected)
    # Time order gives another mosaic: the order really is followed.
    assert not np.array_equal(collection.mosaic().data.values, mosaic, equal_nan=True)


def test_quality_mosaic_ties_go_to_the_first_in_the_collections_order(collection):
    reversed_order = collection.sort("system:time_start", False)
    quality = reversed_order.qualityMosaic("MSK_CLDPRB").data.values
    stack = collection.data.values[::-1]
    q = stack[:, BANDS.index("MSK_CLDPRB")]
    best = np.nanargmax(np.where(np.isnan(q), -np.inf, q), axis=0)  # the first of the highest
    expected = np.take_along_axis(stack, best[None, None], axis=0)[0]
    expected[:, np.isnan(q).all(axis=0)] = np.nan
    np.testing.assert_array_equal(quality, expected)


def test_first_limit_to_list_merge_and_to_bands(collection):
    assert collection.sort("CLOUDY_PIXEL_PERCENTAGE").first().get("system:index") == "img8"
    limited = collection.limit(3, "CLOUDY_PIXEL_PERCENTAGE", False)
    assert limited.aggregate_array("system:index") == ["img2", "img6", "img9"]
    assert [i.get("system:index") for i in collection.toList(2, 3)] == ["img3", "img4"]
    first, rest = collection.limit(2), collection.filter(Filter.gt("eo:cloud_cover", 50))
    merged = first.merge(rest)
    assert merged.aggregate_array("system:index") == ["img0", "img1", "img2", "img6"]
    np.testing.assert_array_equal(merged.data.values, collection.data.values[[0, 1, 2, 6]])
    bands = collection.limit(2).select("B4", "B8").toBands()
    assert bands.bandNames() == ["img0_B4", "img0_B8", "img1_B4", "img1_B8"]
    np.testing.assert_array_equal(
        bands.data.values, collection.data.sel(band=["B4", "B8"]).values[:2].reshape(4, 6, 7)
    )
    with pytest.raises(ValueError, match="select the same bands"):
        collection.merge(collection.select("B4"))


# --- band names -----------------------------------------------------------------------------------


def test_earth_engine_and_sensor_band_names_are_one_band():
    sensor = make_collection().assign_coords(
        band=["AOT", "B02", "B03", "B04", "B08", "B11", "MSK_CLDPRB", "SCL", "WVP"]
    )
    collection = ImageCollection(sensor)
    image = collection.first()
    assert image.select("B8", "B4").bandNames() == ["B08", "B04"]
    ndvi = image.normalizedDifference(["B8", "B4"]).data.values
    nir, red = (sensor.isel(time=0).sel(band=b).values.astype(float) for b in ("B08", "B04"))
    with np.errstate(invalid="ignore", divide="ignore"):
        expected = np.where(nir + red == 0, 0, (nir - red) / (nir + red))
    np.testing.assert_allclose(ndvi[0], expected.astype("float32"), rtol=1e-6)
    assert collection.qualityMosaic("B8").data.equals(collection.qualityMosaic("B08").data)
    with pytest.raises(ValueError, match=r"no band 'B13'.*bands present.*Did you mean 'B\d+'"):
        image.select("B13")
    with pytest.raises(ValueError, match=r"quality_band: there is no band 'NDVI'"):
        collection.qualityMosaic("NDVI")


# --- every source fills the properties ------------------------------------------------------------


def test_the_demo_fills_earth_engines_properties_and_its_cloud_cover_from_its_masks():
    point = (-122.373, 37.448)
    demo = ImageCollection(cx.load("demo", point=point, dates=("2021-07-01", "2021-08-01")))
    assert demo.aggregate_array("MGRS_TILE") == ["10SEG"] * demo.size()
    assert all(i.endswith("_T10SEG") for i in demo.aggregate_array("system:index"))
    assert set(demo.aggregate_array("SPACECRAFT_NAME")) == {"Sentinel-2A", "Sentinel-2B"}
    cover = np.array(demo.aggregate_array("CLOUDY_PIXEL_PERCENTAGE"))
    # The same tile's cloud classes, from the demo's own SCL over the whole 100 km square at
    # 2 km, pixel centres on the property's own samples (each pixel's class is its central
    # sample's; Sen2Cor's towns mistaken for cloud are the only difference, hence the tolerance).
    crs, (left, bottom, right, top) = mgrs_square_bounds(*point)
    tile = cx.load(
        "demo",
        bbox=_lonlat_box(crs, (left, bottom, right, top)),
        crs=crs.to_epsg(),
        resolution=2000,
        dates=("2021-07-01", "2021-08-01"),
        bands=["SCL"],
    )
    scl = tile.sel(band="SCL").values
    inside = _inside(tile, (left, bottom, right, top))
    from_masks = 100 * np.isin(scl[:, inside], (8, 9, 10)).mean(axis=1)
    np.testing.assert_allclose(cover, from_masks, atol=2.0)
    assert cover.std() > 1  # not one value for every pass


def _lonlat_box(crs, bounds) -> tuple[float, float, float, float]:
    return transformer(crs, LONLAT).transform_bounds(*bounds)


def _inside(array: xr.DataArray, bounds) -> np.ndarray:
    left, bottom, right, top = bounds
    x, y = np.meshgrid(array["x"].values, array["y"].values)
    return (x > left) & (x < right) & (y > bottom) & (y < top)


def test_spacecraft_names_as_earth_engine_writes_them():
    assert spacecraft_name("sentinel-2a") == "Sentinel-2A"
    assert spacecraft_name("Sentinel-2B") == "Sentinel-2B"
    assert spacecraft_name("landsat-8") == "landsat-8"


def test_mgrs_tiles_of_real_catalog_items(stac_items):
    """Each real item's tile, from its bbox centre lettered in the item's own zone (tiles reach
    past their zone's edges, so the zone comes from the item)."""
    for item in stac_items:
        properties = item["properties"]
        tile = (properties.get("s2:mgrs_tile") or properties["grid:code"]).removeprefix("MGRS-")
        west, south, east, north = item["bbox"]
        assert mgrs_tile((west + east) / 2, (south + north) / 2, int(tile[:2])) == tile


@pytest.fixture(scope="module")
def stac_items() -> list[dict]:
    folder = Path(__file__).resolve().parents[2] / "shared" / "realdata" / "stac"
    items = [json.loads(p.read_text()) for p in sorted(folder.glob("*sentinel-2*.item.json"))]
    if not items:
        pytest.skip(f"no real STAC items in {folder} (../shared/realdata is not beside the repo)")
    return items


def _no_compute():
    import dask

    def refuse(dsk, keys, **kwargs):
        raise AssertionError("computed")

    return dask.config.set(scheduler=refuse)


def test_an_image_from_xarray_inside_map_keeps_properties(collection):
    out = collection.map(lambda image: Image(image.data * 2))
    assert out.aggregate_array("MGRS_TILE") == TILES


def test_greenest_pixel_composite_ports_literally(collection):
    """Earth Engine's greenest-pixel script, ``ee.`` dropped and Python syntax:

    ``addNDVI = function(image) {return image.addBands(image.normalizedDifference(['B8',
    'B4']).rename('NDVI'))}; greenest = collection.map(addNDVI).qualityMosaic('NDVI')``.
    """

    def add_ndvi(image):
        ndvi = image.normalizedDifference(["B8", "B4"]).rename("NDVI")
        return image.addBands(ndvi)

    with_ndvi = collection.map(add_ndvi)
    greenest = with_ndvi.qualityMosaic("NDVI")
    assert greenest.bandNames() == [*BANDS, "NDVI"]
    # numpy: NDVI per image (masked where an input is negative or masked), the first image of
    # the highest NDVI, every band from it.
    stack = collection.data.values.astype("float64")
    nir, red = stack[:, BANDS.index("B8")], stack[:, BANDS.index("B4")]
    with np.errstate(invalid="ignore", divide="ignore"):
        ndvi = np.where((nir >= 0) & (red >= 0), (nir - red) / (nir + red), np.nan)
        ndvi = np.where(nir + red == 0, 0.0, ndvi)
    best = np.nanargmax(np.where(np.isnan(ndvi), -np.inf, ndvi), axis=0)
    want = np.take_along_axis(stack, best[None, None], axis=0)[0]
    want[:, np.isnan(ndvi).all(axis=0)] = np.nan
    got = greenest.data.values
    np.testing.assert_array_equal(got[: len(BANDS)], want.astype(got.dtype))
    np.testing.assert_allclose(
        got[-1], np.take_along_axis(ndvi, best[None], axis=0)[0], rtol=1e-6, equal_nan=True
    )
