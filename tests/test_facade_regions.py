"""``reduceRegion`` and the Reducers (issue 13, parts 4-5 for regions), against numpy over the
pixels whose centre lies in the region."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.path import Path as PolygonPath
from pyproj import Transformer
from test_facade import make_collection

from compositing import Geometry, ImageCollection, Reducer

RING = [[-122.3738, 37.4475], [-122.3718, 37.4476], [-122.3722, 37.4490], [-122.3736, 37.4487]]


@pytest.fixture
def image():
    return ImageCollection(make_collection(40, 40, res=10.0)).first()


def inside(image) -> np.ndarray:
    to_utm = Transformer.from_crs("EPSG:4326", "EPSG:32610", always_xy=True)
    corners = np.array([to_utm.transform(lon, lat) for lon, lat in RING])
    xs, ys = np.meshgrid(image.data["x"].values, image.data["y"].values)
    return PolygonPath(corners).contains_points(np.c_[xs.ravel(), ys.ravel()]).reshape(xs.shape)


def region_values(image, band: str) -> np.ndarray:
    values = image.data.sel(band=band).values[inside(image)].astype("float64")
    return values[~np.isnan(values)]


def test_mean_ndvi_over_a_polygon_as_the_everyday_script_writes_it(image):
    ndvi = image.normalizedDifference(["B8", "B4"]).rename("NDVI")
    result = ndvi.reduceRegion(reducer=Reducer.mean(), geometry=Geometry.Polygon([RING]), scale=10)
    assert list(result) == ["NDVI"]
    np.testing.assert_allclose(result["NDVI"], region_values(ndvi, "NDVI").mean(), rtol=1e-12)
    assert 10 < inside(image).sum() < 40 * 40


def test_percentiles_stddev_minmax_and_combined_reducers_name_outputs_per_band(image):
    region = Geometry.Polygon([RING])
    b4 = region_values(image, "B4")
    result = image.select("B4", "B8").reduceRegion(Reducer.percentile([0, 25, 50, 100]), region)
    assert list(result) == ["B4_p0", "B4_p25", "B4_p50", "B4_p100", "B8_p0", "B8_p25", "B8_p50",
                            "B8_p100"]  # fmt: skip
    np.testing.assert_allclose(
        [result[f"B4_p{p}"] for p in (0, 25, 50, 100)], np.percentile(b4, [0, 25, 50, 100])
    )
    assert result["B4_p50"] == np.median(b4) and result["B4_p0"] == b4.min()
    both = Reducer.mean().combine(Reducer.stdDev(), sharedInputs=True)
    stats = image.select("B4").reduceRegion(both, region)
    np.testing.assert_allclose([stats["B4_mean"], stats["B4_stdDev"]], [b4.mean(), b4.std()])
    sample = image.select("B4").reduceRegion(Reducer.sampleStdDev(), region)["B4"]
    np.testing.assert_allclose(sample, b4.std(ddof=1))
    extremes = image.select("B4").reduceRegion(Reducer.minMax(), region)
    assert (extremes["B4_min"], extremes["B4_max"]) == (b4.min(), b4.max())
    assert image.select("B4").reduceRegion(Reducer.count(), region)["B4"] == b4.size


def test_the_whole_image_at_a_coarser_scale_averages_blocks_first(image):
    at_20 = image.select("B4").reduceRegion(Reducer.mean(), scale=20)["B4"]
    values = image.data.sel(band="B4").values.astype("float64").reshape(20, 2, 20, 2)
    with np.errstate(invalid="ignore"):
        blocks = np.nanmean(values, axis=(1, 3))  # a block of all-masked pixels stays masked
    np.testing.assert_allclose(at_20, np.nanmean(blocks), rtol=1e-6)
    with pytest.raises(ValueError, match="whole multiple"):
        image.reduceRegion(Reducer.mean(), scale=15)


def test_masked_regions_limits_and_errors(image):
    masked = image.select("B4").updateMask(0)
    assert masked.reduceRegion(Reducer.mean(), Geometry.Polygon([RING])) == {"B4": None}
    assert masked.reduceRegion(Reducer.count(), Geometry.Polygon([RING])) == {"B4": 0.0}
    with pytest.raises(ValueError, match="more than maxPixels=10"):
        image.reduceRegion(Reducer.mean(), Geometry.Polygon([RING]), maxPixels=10)
    with pytest.raises(ValueError, match="covers no pixel centre"):
        image.reduceRegion(Reducer.mean(), Geometry.Rectangle(10, 45, 10.001, 45.001))
    with pytest.raises(ValueError, match="percentiles from 0 to 100"):
        Reducer.percentile([101])
    with pytest.raises(TypeError, match="takes a Reducer"):
        image.reduceRegion("mean")


def test_reduce_region_reads_only_the_region_of_a_lazy_image():
    chunked = ImageCollection(make_collection(40, 40, res=10.0, chunked=True)).first()
    plain = ImageCollection(make_collection(40, 40, res=10.0)).first()
    region = Geometry.Polygon([RING])
    assert chunked.reduceRegion(Reducer.median(), region) == plain.reduceRegion(
        Reducer.median(), region
    )
