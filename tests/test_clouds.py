"""Cloud probability, masks and Earth Engine's shadow method."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest
from conftest import SHARED, make_collection

import compositing
from compositing import clouds

REAL = SHARED / "realdata" / "eolearn"
MODEL_INDICES = [0, 1, 3, 4, 7, 8, 9, 10, 11, 12]  # of the 13 bands, in s2cloudless's order
BANDS_13 = ["B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B10", "B11",
            "B12"]  # fmt: skip


# --- s2cloudless probability ------------------------------------------------------------------


@pytest.mark.skipif(not REAL.exists(), reason="../shared/realdata/eolearn is not on this machine")
def test_cloud_probability_equals_s2cloudless_on_real_scenes():
    scenes = np.load(REAL / "REFERENCE_SCENES.npy")  # (5, 101, 100, 13) reflectance 0-1
    reference = np.load(REAL / "TestEOPatch" / "data" / "CLP_S2C.npy")[[2, 1, 4, 3, 0], ..., 0]
    collection = make_collection(
        np.moveaxis(scenes, -1, 1).astype("float64") * 10_000, BANDS_13, crs="EPSG:32633"
    ).chunk({"time": 2, "y": 50, "x": 64})
    probability = clouds.cloud_probability(collection)
    assert isinstance(probability.data, da.Array) and probability.dims == ("time", "y", "x")
    got = probability.values / 100
    np.testing.assert_allclose(got, reference, atol=1e-6)
    # Cloudy frames are cloudy, clear ones clear: the wiring (band order, scale) is right.
    assert got[0].mean() > 0.9 and got[2].mean() < 0.1


def test_cloud_probability_at_a_coarser_resolution_comes_back_to_the_grid():
    options = {"point": (-122.373, 37.448), "dates": ("2021-07-01", "2021-07-12"), "size_m": 1200}
    l1c = compositing.load(product="L1C", **options)
    fine = clouds.cloud_probability(l1c)
    coarse = clouds.cloud_probability(l1c, resolution=60)
    assert coarse.shape == fine.shape
    np.testing.assert_array_equal(coarse["x"], l1c["x"])
    fine, coarse = fine.values, coarse.values
    assert np.isfinite(coarse).all()
    # The same clouds, give or take their edges.
    assert ((fine > 50) == (coarse > 50)).mean() > 0.95


def test_cloud_probability_rejects_l2a_and_wrong_units():
    l2a = compositing.load(point=(-122.373, 37.448), dates=("2021-07-01", "2021-07-08"), size_m=200)
    with pytest.raises(ValueError, match="B10.*L1C.*MSK_CLDPRB"):
        clouds.cloud_probability(l2a)
    l1c = compositing.load(
        point=(-122.373, 37.448), dates=("2021-07-01", "2021-07-08"), size_m=200, product="L1C"
    )
    with pytest.raises(ValueError, match="0-1 scale.*multiply by 10000"):
        clouds.cloud_probability(l1c / 10_000).compute()
    with pytest.raises(ValueError, match="finer than"):
        clouds.cloud_probability(l1c, resolution=5)


# --- the shadow method, step by step, on hand-built scenes --------------------------------------


def hand_built_scene(azimuth: float, *, water: bool = False):
    """A 3 km x 3 km scene at 10 m: a 300 m square cloud in the middle, dark ground everywhere
    (B08 = 1000), optionally water (SCL 6) on the western half."""
    size = 300
    b08 = np.full((size, size), 1000.0)
    scl = np.full((size, size), 4.0)
    if water:
        scl[:, : size // 2] = 6.0
    probability = np.zeros((1, size, size))
    probability[0, 135:165, 135:165] = 100.0
    values = np.stack([b08, scl])[None]
    collection = make_collection(values, ["B08", "SCL"])
    collection = collection.assign_coords(solar_azimuth=("time", [azimuth]))
    probability = collection.isel(band=0, drop=True).copy(data=probability)
    return collection, probability


@pytest.mark.parametrize("azimuth", [135.0, 225.0, 90.0, 0.0])
def test_a_square_cloud_casts_its_shadow_away_from_the_sun(azimuth):
    collection, probability = hand_built_scene(azimuth)
    layers = clouds.s2cloudless_layers(collection, probability=probability, buffer=0).compute()
    assert layers["clouds"].values[0, 135:165, 135:165].all()
    shadow = layers["shadows"].values[0]
    rows, cols = np.nonzero(shadow)
    # Centroid offset from the cloud's centre (150, 150), in metres east and north.
    east, north = (cols.mean() - 149.5) * 10, (149.5 - rows.mean()) * 10
    sun = np.array([np.sin(np.radians(azimuth)), np.cos(np.radians(azimuth))])
    along = np.dot([east, north], sun)
    across = sun[0] * north - sun[1] * east
    # Shadows lie down-sun (negative along the sun's direction), up to 1 km + half the cloud.
    assert -700 < along < -300 and abs(across) < 60, (along, across)
    assert np.hypot(east, north) < 1000
    # Nothing up-sun: the pixels 300 m towards the sun from the cloud's edge stay clear.
    probe_row = round(149.5 - 1.0 * (150 + 300) / 10 * sun[1])
    probe_col = round(149.5 + (150 + 300) / 10 * sun[0])
    assert not shadow[probe_row, probe_col]


def test_water_is_never_a_shadow():
    collection, probability = hand_built_scene(90.0, water=True)  # sun in the east: shadow west
    layers = clouds.s2cloudless_layers(collection, probability=probability, buffer=0).compute()
    assert layers["projection"].values[0, 150, 40:135].all()  # the projection reaches the water
    assert not layers["shadows"].values[0][:, :150].any()  # ... but water is no shadow
    assert not layers["dark"].values[0][:, :150].any()


def test_opening_drops_speckle_and_buffer_grows_the_mask_in_metres():
    collection, probability = hand_built_scene(90.0)
    probability = probability.copy(data=probability.values.copy())
    probability.values[0, 10, 10] = 100.0  # a single cloudy pixel: speckle
    collection = collection.copy(data=collection.values.copy())
    collection.values[:, 0] = 5000.0  # nothing is dark: no shadows at all
    for buffer in (0, 50, 100):
        mask = clouds.mask_s2cloudless(collection, probability=probability, buffer=buffer).values[0]
        assert not mask[10, 10]  # the speckle is gone
        # The 300 m square shrinks by 40 m and grows by `buffer`.
        width = mask[150].sum() * 10
        assert width == 300 - 2 * 40 + 2 * buffer, (buffer, width)


# --- masks and composites on the demo scene ----------------------------------------------------


@pytest.fixture(scope="module")
def demo_pair():
    options = {
        "point": (-122.373, 37.448),
        "dates": ("2021-07-01", "2021-08-01"),
        "size_m": 6000,  # large enough that few shadows come from clouds outside the scene
        "resolution": 40,
    }
    return (
        compositing.load(**options),
        compositing.load(product="L1C", **options),
        compositing.sources.demo.truth(**options).compute(),
    )


def test_masks_are_lazy_booleans_that_find_the_demo_clouds(demo_pair):
    l2a, l1c, truth = demo_pair
    cloud, shadow = truth["cloud"].values, truth["shadow"].values
    for method, mask in {
        "cldprb": clouds.mask_from_cldprb(l2a),
        "scl": clouds.mask_from_scl(l2a),
        "s2cloudless": clouds.mask_s2cloudless(l2a, l1c=l1c),
    }.items():
        assert isinstance(mask.data, da.Array) and mask.dtype == bool, method
        assert mask.dims == ("time", "y", "x")
        values = mask.values
        assert values[cloud].mean() > 0.9, method
        if method == "s2cloudless":
            assert values[shadow].mean() > 0.8  # only this method finds most shadows
        if method == "cldprb":
            assert values[shadow].mean() < 0.2  # MSK_CLDPRB knows nothing of shadows


def test_mask_clouds_plugs_into_composite_and_the_facade(demo_pair):
    l2a, l1c, truth = demo_pair
    masked = clouds.mask_clouds(l2a, "s2cloudless", l1c=l1c)
    assert masked.attrs["cloud_mask"] == "s2cloudless"
    median = compositing.composite(masked, "median")
    clear = truth["clear"].median("time")
    error = np.abs(median.sel(band="B08") - clear.sel(band="B08"))
    unmasked = np.abs(compositing.composite(l2a, "median").sel(band="B08") - clear.sel(band="B08"))
    assert float(error.mean()) < float(unmasked.mean())

    mask = clouds.mask_s2cloudless(l2a, l1c=l1c)
    col = compositing.ImageCollection(clouds.with_mask_band(l2a, mask))
    facade_median = col.map(lambda img: img.update_mask(img.select("cloudmask").eq(0))).median()
    np.testing.assert_array_equal(
        facade_median.data.sel(band="B08").values, median.sel(band="B08").values
    )


def test_mask_errors_say_what_to_do(demo_pair):
    l2a, l1c, _ = demo_pair
    with pytest.raises(ValueError, match="pass l1c="):
        clouds.mask_s2cloudless(l2a)
    with pytest.raises(ValueError, match="no scene for the collection's dates"):
        clouds.mask_s2cloudless(l2a, l1c=l1c.isel(time=slice(0, 2)))
    with pytest.raises(ValueError, match="not on the collection's grid"):
        clouds.mask_s2cloudless(l2a, l1c=l1c.isel(x=slice(1, None)))
    with pytest.raises(ValueError, match="valid methods: none, cldprb, scl, s2cloudless"):
        clouds.mask_clouds(l2a, "fmask")
    with pytest.raises(ValueError, match="no MSK_CLDPRB band"):
        clouds.mask_from_cldprb(l1c)
