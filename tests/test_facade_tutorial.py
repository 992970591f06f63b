"""Earth Engine's s2cloudless tutorial ("Sentinel-2 Cloud Masking with s2cloudless"), ported
literally (issue 13, part 7): its functions as it writes them, ``ee`` being
``compositing.facade``, checked against an independent numpy computation of the same steps.

What changed, mechanically: ``import compositing.facade as ee`` instead of ``import ee``; the
dates, to a day the demo scene has an image (2020-06-05); the area, the tutorial's point
buffered by 1.5 km (a 3 km square is loaded around it; the tutorial maps the whole tile).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import ndimage

import compositing as cx
import compositing.facade as ee
from compositing import clouds

AOI = ee.Geometry.Point(-122.269, 45.701).buffer(1500)
START_DATE = "2020-06-05"
END_DATE = "2020-06-06"
CLOUD_FILTER = 60
CLD_PRB_THRESH = 50
NIR_DRK_THRESH = 0.15
CLD_PRJ_DIST = 1
BUFFER = 50


# --- the tutorial, as it writes it ----------------------------------------------------------
# fmt: off


def get_s2_sr_cld_col(aoi, start_date, end_date):
    # Import and filter S2 SR.
    s2_sr_col = (ee.ImageCollection('COPERNICUS/S2_SR')
        .filterBounds(aoi)
        .filterDate(start_date, end_date)
        .filter(ee.Filter.lte('CLOUDY_PIXEL_PERCENTAGE', CLOUD_FILTER)))

    # Import and filter s2cloudless.
    s2_cloudless_col = (ee.ImageCollection('COPERNICUS/S2_CLOUD_PROBABILITY')
        .filterBounds(aoi)
        .filterDate(start_date, end_date))

    # Join the filtered s2cloudless collection to the SR collection by the 'system:index' property.
    return ee.ImageCollection(ee.Join.saveFirst('s2cloudless').apply(**{
        'primary': s2_sr_col,
        'secondary': s2_cloudless_col,
        'condition': ee.Filter.equals(**{
            'leftField': 'system:index',
            'rightField': 'system:index'
        })
    }))


def add_cloud_bands(img):
    # Get s2cloudless image, subset the probability band.
    cld_prb = ee.Image(img.get('s2cloudless')).select('probability')

    # Condition s2cloudless by the probability threshold value.
    is_cloud = cld_prb.gt(CLD_PRB_THRESH).rename('clouds')

    # Add the cloud probability layer and cloud mask as image bands.
    return img.addBands(ee.Image([cld_prb, is_cloud]))


def add_shadow_bands(img):
    # Identify water pixels from the SCL band.
    not_water = img.select('SCL').neq(6)

    # Identify dark NIR pixels that are not water (potential cloud shadow pixels).
    SR_BAND_SCALE = 1e4  # noqa: N806 (the tutorial's name)
    dark_pixels = img.select('B8').lt(NIR_DRK_THRESH*SR_BAND_SCALE).multiply(not_water).rename('dark_pixels')  # noqa: E501

    # Determine the direction to project cloud shadow from clouds (assumes UTM projection).
    shadow_azimuth = ee.Number(90).subtract(ee.Number(img.get('MEAN_SOLAR_AZIMUTH_ANGLE')));  # noqa: E703

    # Project shadows from clouds for the distance specified by the CLD_PRJ_DIST input.
    cld_proj = (img.select('clouds').directionalDistanceTransform(shadow_azimuth, CLD_PRJ_DIST*10)
        .reproject(**{'crs': img.select(0).projection(), 'scale': 100})
        .select('distance')
        .mask()
        .rename('cloud_transform'))

    # Identify the intersection of dark pixels with cloud shadow projection.
    shadows = cld_proj.multiply(dark_pixels).rename('shadows')

    # Add dark pixels, cloud projection, and identified shadows as image bands.
    return img.addBands(ee.Image([dark_pixels, cld_proj, shadows]))


def add_cld_shdw_mask(img):
    # Add cloud component bands.
    img_cloud = add_cloud_bands(img)

    # Add cloud shadow component bands.
    img_cloud_shadow = add_shadow_bands(img_cloud)

    # Combine cloud and shadow mask, set cloud and shadow as value 1, else 0.
    is_cld_shdw = img_cloud_shadow.select('clouds').add(img_cloud_shadow.select('shadows')).gt(0)

    # Remove small cloud-shadow patches and dilate remaining pixels by BUFFER input.
    # 20 m scale is for speed, and assumes clouds don't require 10 m precision.
    is_cld_shdw = (is_cld_shdw.focalMin(2).focalMax(BUFFER*2/20)
        .reproject(**{'crs': img.select([0]).projection(), 'scale': 20})
        .rename('cloudmask'))

    # Add the final cloud-shadow mask to the image.
    return img_cloud_shadow.addBands(is_cld_shdw)


def apply_cld_shdw_mask(img):
    # Subset the cloudmask band and invert it so clouds/shadow are 0, else 1.
    not_cld_shdw = img.select('cloudmask').Not()

    # Subset reflectance bands and update their masks, return the result.
    return img.select('B.*').updateMask(not_cld_shdw)


# fmt: on
# --- an independent numpy computation of the same steps -------------------------------------


def _containing(centres: np.ndarray, at: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index of the pixel (centres evenly spaced) whose extent holds each position."""
    step = centres[1] - centres[0]
    index = np.floor((at - (centres[0] - step / 2)) / step + 1e-9).astype(int)
    return np.clip(index, 0, len(centres) - 1), (index >= 0) & (index < len(centres))


def _sample(values: np.ndarray, x: np.ndarray, y: np.ndarray, new_x, new_y) -> np.ndarray:
    cols, x_in = _containing(x, new_x)
    rows, y_in = _containing(y, new_y)
    out = values[np.ix_(rows, cols)].astype("float64")
    out[~(y_in[:, None] & x_in[None, :])] = np.nan
    return out


def _grid(x: np.ndarray, y: np.ndarray, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Pixel centres at ``scale`` on edges that are multiples of it, covering x and y."""
    half = abs(x[1] - x[0]) / 2
    xs = (
        np.arange(math.floor((x.min() - half) / scale), math.ceil((x.max() + half) / scale)) + 0.5
    ) * scale
    ys = (
        np.arange(math.floor((y.min() - half) / scale), math.ceil((y.max() + half) / scale)) + 0.5
    ) * scale
    return xs, ys[::-1]


def _walk(source: np.ndarray, angle: float, steps: int) -> np.ndarray:
    """1 where a non-zero pixel lies within ``steps`` along the ray towards ``angle``."""
    found = np.nan_to_num(source) != 0
    east, north = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    out = found.copy()
    height, width = found.shape
    for k in range(1, steps + 1):
        dr = -int(math.copysign(math.floor(abs(k * north) + 0.5), k * north))
        dc = int(math.copysign(math.floor(abs(k * east) + 0.5), k * east))
        for r in range(height):
            for c in range(width):
                rr, cc = r + dr, c + dc
                if 0 <= rr < height and 0 <= cc < width and found[rr, cc]:
                    out[r, c] = True
    return out.astype("float64")


def _focal(values: np.ndarray, radius: float, how) -> np.ndarray:
    reach = int(radius)
    dy, dx = np.mgrid[-reach : reach + 1, -reach : reach + 1]
    disk = dx * dx + dy * dy <= radius * radius
    fill = np.inf if how is np.minimum else -np.inf
    filtered = (ndimage.minimum_filter if how is np.minimum else ndimage.maximum_filter)(
        np.where(np.isnan(values), fill, values), footprint=disk, mode="constant", cval=fill
    )
    return np.where(np.isnan(values), np.nan, filtered)


def _numpy_median(l2a, probability) -> np.ndarray:
    x, y = l2a["x"].values, l2a["y"].values
    kept = []
    for t in range(l2a.sizes["time"]):
        image = l2a.isel(time=t)
        prob = probability.isel(time=t).values.astype("float64")
        is_cloud = np.where(np.isnan(prob), np.nan, (prob > CLD_PRB_THRESH).astype(float))
        scl = image.sel(band="SCL").values
        nir = image.sel(band="B08").values
        not_water = np.where(np.isnan(scl), np.nan, (scl != 6).astype(float))
        dark = np.where(np.isnan(nir), np.nan, (nir < NIR_DRK_THRESH * 1e4).astype(float))
        dark = dark * not_water
        angle = 90 - float(image["solar_azimuth"])
        x100, y100 = _grid(x, y, 100)
        projected = _walk(_sample(is_cloud, x, y, x100, y100), angle, CLD_PRJ_DIST * 10)
        transform = np.where(projected > 0, 1.0, 0.0)  # the distance's mask: 1 where found
        cld_proj = _sample(transform, x100, y100, x, y)
        shadows = cld_proj * dark
        total = is_cloud + shadows
        is_cld_shdw = np.where(np.isnan(total), np.nan, (total > 0).astype(float))
        x20, y20 = _grid(x, y, 20)
        at_20 = _sample(is_cld_shdw, x, y, x20, y20)
        mask_20 = _focal(_focal(at_20, 2, np.minimum), BUFFER * 2 / 20, np.maximum)
        cloudmask = _sample(mask_20, x20, y20, x, y)
        keep = ~np.isnan(cloudmask) & (cloudmask == 0)
        bands = image.sel(band=[b for b in image["band"].values if b.startswith("B")])
        kept.append(np.where(keep, bands.values, np.nan))
    with np.errstate(invalid="ignore"), pytest.warns(RuntimeWarning, match="All-NaN"):
        return np.nanmedian(np.stack(kept), axis=0)


def test_the_tutorial_ports_literally_and_matches_numpy():
    s2_sr_cld_col = get_s2_sr_cld_col(AOI, START_DATE, END_DATE)
    s2_sr_median = s2_sr_cld_col.map(add_cld_shdw_mask).map(apply_cld_shdw_mask).median()
    assert s2_sr_median.bandNames()[:3] == ["B01", "B02", "B03"] and "SCL" not in (
        s2_sr_median.bandNames()
    )
    # The same data, loaded directly, and the same steps in numpy.
    area = {"bbox": AOI.bounds, "dates": (START_DATE, END_DATE)}
    l2a = cx.load("demo", **area)
    l2a = l2a.isel(time=np.flatnonzero(l2a["cloud_cover"].values <= CLOUD_FILTER))
    l1c = cx.load("demo", product="L1C", bands=clouds.S2CLOUDLESS_BANDS, **area)
    probability = clouds.cloud_probability(l1c).sel(time=l2a["time"].values)
    want = _numpy_median(l2a, probability)
    got = s2_sr_median.data.values
    assert got.shape == want.shape
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_array_equal(got, want.astype(got.dtype))
    masked = np.isnan(got[1]).mean()
    assert 0.005 < masked < 0.9  # clouds or shadows were found, and not everywhere


# --- the pieces the port needs: ids, Join, Filter.equals, Number ----------------------------


def test_a_collection_id_loads_once_it_has_an_area_and_dates():
    pending = ee.ImageCollection("COPERNICUS/S2_SR_HARMONIZED")
    assert "loaded once filterBounds and filterDate" in repr(pending)
    with pytest.raises(ValueError, match=r"call filterBounds\(geometry\) and filterDate"):
        pending.filterBounds(AOI).median()
    loaded = pending.filterBounds(AOI).filterDate(START_DATE, "2020-06-11")
    direct = cx.load("demo", bbox=AOI.bounds, dates=(START_DATE, "2020-06-11"))
    assert loaded.size() == direct.sizes["time"] == 2
    np.testing.assert_array_equal(loaded.first().data.values, direct.isel(time=0).values)
    with pytest.raises(ValueError, match="not a collection id known here; use one of"):
        ee.ImageCollection("LANDSAT/LC08/C02/T1_L2")


def test_save_first_keeps_each_primary_with_its_first_match():
    primary = ee.ImageCollection(cx.load("demo", bbox=AOI.bounds, dates=(START_DATE, "2020-06-16"),
                                         bands=["B04"]))  # fmt: skip
    secondary = primary.filter(ee.Filter.neq("system:index", primary.aggregate_array(
        "system:index")[1])).select("B04")  # fmt: skip
    condition = ee.Filter.equals(leftField="system:index", rightField="system:index")
    inner = ee.Join.saveFirst("match").apply(primary, secondary, condition)
    assert inner.size() == primary.size() - 1  # the unmatched primary image is dropped
    first = inner.first()
    np.testing.assert_array_equal(ee.Image(first.get("match")).data.values, first.data.values)
    outer = ee.Join.saveFirst("match", outer=True).apply(primary, secondary, condition)
    assert outer.size() == primary.size()
    with pytest.raises(ValueError, match="some images have no joined image"):
        outer.map(lambda img: ee.Image(img.get("match")))
    with pytest.raises(ValueError, match="it is a join's condition"):
        primary.filter(condition)
    with pytest.raises(ValueError, match="compares a primary property with a secondary one"):
        ee.Join.saveFirst("match").apply(primary, secondary, ee.Filter.eq("MGRS_TILE", "10TER"))
    assert primary.filter(ee.Filter.equals("MGRS_TILE", "nowhere")).size() == 0


def test_numbers_hold_one_value_or_one_per_image():
    assert ee.Number(90).subtract(30).multiply(2).getInfo() == 120.0
    stack = ee.ImageCollection(cx.load("demo", bbox=AOI.bounds, dates=(START_DATE, "2020-06-16"),
                                       bands=["B04"]))  # fmt: skip
    angles = stack.map(
        lambda img: img.multiply(0).add(ee.Number(90).subtract(img.get("MEAN_SOLAR_AZIMUTH_ANGLE")))
    )
    per_image = [float(a) for a in 90 - stack.data["solar_azimuth"].values]
    np.testing.assert_allclose(angles.data.values[:, 0, 0, 0], per_image, rtol=1e-6)
    with pytest.raises(TypeError, match="Number takes a number"):
        ee.Number("ninety")
