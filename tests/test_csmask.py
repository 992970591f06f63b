"""ukis-csmask's clouds and shadows: real-patch accuracy, errors, modes, laziness."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest
import xarray as xr
from conftest import make_collection

import compositing

# ukis-csmask's own labelled patch (../shared/realdata/ukis_csmask), as the benchmark reads it.
from benchmarks.bench_csmask import BAND_ORDER  # ukis-csmask's band names
from benchmarks.bench_csmask import CLOUD as PATCH_CLOUD
from benchmarks.bench_csmask import PATCH as CSMASK_PATCH
from benchmarks.bench_csmask import SHADOW as PATCH_SHADOW
from benchmarks.bench_csmask import patch as csmask_patch
from compositing import clouds, csmask

pytest.importorskip("ukis_csmask", reason="the csmask extra is not installed")

needs_patch = pytest.mark.skipif(
    not CSMASK_PATCH.exists(), reason="../shared/realdata/ukis_csmask is not on this machine"
)
DEMO = {"point": (-122.373, 37.448), "dates": ("2021-07-01", "2021-07-12"), "size_m": 1500}


def f1(predicted: np.ndarray, truth: np.ndarray) -> float:
    hits = float((predicted & truth).sum())
    return 2 * hits / max(float(predicted.sum() + truth.sum()), 1.0)


@pytest.fixture(scope="module")
def patch():
    return csmask_patch()


@pytest.fixture(scope="module")
def patch_layers(patch):
    collection, _ = patch
    return csmask.csmask_layers(collection.chunk({"y": 200, "x": 300}), buffer=0).compute()


# --- accuracy on the real patch -----------------------------------------------------------------


@needs_patch
def test_real_patch_clouds_and_shadows_near_the_baselines_and_ukis_own(patch, patch_layers):
    collection, label = patch
    cloud_truth, shadow_truth = label == PATCH_CLOUD, label == PATCH_SHADOW
    got_cloud = f1(patch_layers["clouds"].values[0], cloud_truth)
    got_shadow = f1(patch_layers["shadows"].values[0], shadow_truth)
    # The README's thresholds (an easy scene): blue > 0.2; NIR < 0.25 outside those clouds.
    blue, nir = collection.sel(band="B02").values[0], collection.sel(band="B08").values[0]
    base_cloud = f1(blue > 2000, cloud_truth)
    base_shadow = f1((nir < 2500) & ~(blue > 2000), shadow_truth)
    assert 0.85 < base_cloud < 0.95 and 0.83 < base_shadow < 0.93  # the data are what they were
    # The network is within a few points of the thresholds on its own test file.
    assert got_cloud > base_cloud - 0.08 and got_shadow > base_shadow - 0.08
    assert got_cloud > 0.8 and got_shadow > 0.78


@needs_patch
def test_real_patch_agrees_with_ukis_csmask_itself(patch, patch_layers):
    from ukis_csmask.mask import CSmask

    collection, _ = patch
    image = collection.values[0].transpose(1, 2, 0) / 10_000
    theirs = CSmask(img=image.astype(np.float32), band_order=BAND_ORDER, product_level="l1c")
    classes = theirs.csm[..., 0]  # 0 clear, 1 cloud, 2 shadow; the same argmax as ours
    ours = np.where(
        patch_layers["clouds"].values[0], 1, np.where(patch_layers["shadows"].values[0], 2, 0)
    )
    # The same network; ukis tiles from the corner with its own padding and blending.
    assert (ours == classes).mean() > 0.97


@needs_patch
def test_the_mask_does_not_depend_on_the_chunks_or_the_tile_edges(patch):
    collection, _ = patch
    whole = csmask.csmask_probability(collection)
    # Chunk edges inside the network's tiles and inside their overlaps.
    split = csmask.csmask_probability(collection.chunk({"y": 97, "x": 230}))
    xr.testing.assert_identical(whole, split.compute())


@needs_patch
def test_four_band_model_without_swir(patch):
    collection, label = patch
    rgbn = collection.sel(band=list(csmask.CSMASK_BANDS_4))
    probability = csmask.csmask_probability(rgbn)
    assert probability.attrs["model"] == "ukis-csmask L1C 4-band"
    four = csmask.csmask_layers(rgbn, probability=probability, buffer=0)
    assert f1(four["clouds"].values[0], label == PATCH_CLOUD) > 0.7


# --- on the collection's grid -------------------------------------------------------------------


def test_l2a_demo_is_lazy_on_the_collection_grid_and_at_30_m():
    l2a = compositing.load(**DEMO, resolution=10)
    probability = csmask.csmask_probability(l2a)
    assert isinstance(probability["cloud_probability"].data, da.Array)
    assert probability.attrs == {"model": "ukis-csmask L2A 6-band", "working_resolution": 30.0}
    assert probability["cloud_probability"].dims == ("time", "y", "x")
    np.testing.assert_array_equal(probability["x"], l2a["x"])
    np.testing.assert_array_equal(probability["time"], l2a["time"])
    values = probability.compute()
    for name in ("cloud_probability", "shadow_probability"):
        finite = values[name].values[np.isfinite(values[name].values)]
        assert finite.size and finite.min() >= 0 and finite.max() <= 100


def test_numpy_in_gives_numpy_out():
    l2a = compositing.load(**DEMO, resolution=20).compute()
    probability = csmask.csmask_probability(l2a)
    assert isinstance(probability["cloud_probability"].data, np.ndarray)
    # 2 x 2 blocks of 20 m: the block size nearest 30 m on a log scale.
    assert probability.attrs["working_resolution"] == 40.0


def test_the_default_resolution_is_30_m_or_the_collections_own_if_coarser():
    coarse = compositing.load(**DEMO, resolution=60)
    assert csmask.csmask_probability(coarse).attrs["working_resolution"] == 60.0


def test_masked_pixels_stay_masked_and_the_mask_drops_them():
    l2a = compositing.load(**DEMO, resolution=20)
    holes = l2a.where(l2a["x"] > l2a["x"][30])
    layers = csmask.csmask_layers(holes, buffer=0).compute()
    assert np.isnan(layers["cloud_probability"].values[:, :, :30]).all()
    assert layers["mask"].values[:, :, :30].all()


def test_combined_adds_the_projected_shadows_where_sun_angles_are_known():
    l2a = compositing.load(**DEMO, resolution=20)
    alone = csmask.csmask_layers(l2a, buffer=0).compute()
    joined = csmask.csmask_layers(l2a, buffer=0, combined=True).compute()
    assert {"projection", "dark"} <= set(joined.data_vars)
    np.testing.assert_array_equal(joined["clouds"], alone["clouds"])
    # Every network shadow stays a shadow; projected dark pixels are added.
    assert not (alone["shadows"].values & ~joined["shadows"].values).any()
    added = joined["shadows"].values & ~alone["shadows"].values
    np.testing.assert_array_equal(
        added, (joined["projection"] & joined["dark"]).values & ~alone["shadows"].values
    )


def test_combined_without_sun_angles_warns_and_uses_the_networks_shadows(patch):
    collection, _ = patch  # no CRS, no solar_azimuth: nothing to project with
    with pytest.warns(UserWarning, match="no shadow projection"):
        layers = csmask.csmask_layers(collection, combined=True, buffer=0)
    assert "projection" not in layers


def test_buffer_grows_the_mask_by_metres():
    l2a = compositing.load(**DEMO, resolution=20)
    probability = csmask.csmask_probability(l2a).compute()
    tight = csmask.csmask_layers(l2a, probability=probability, buffer=0)["mask"].values
    wide = csmask.csmask_layers(l2a, probability=probability, buffer=100)["mask"].values
    assert not (tight & ~wide).any()
    if tight.any() and not tight.all():
        assert wide.sum() > tight.sum()


def test_mask_clouds_offers_csmask_and_masks_the_collection():
    l2a = compositing.load(**DEMO, resolution=20)
    masked = clouds.mask_clouds(l2a, "csmask", buffer=0)
    mask = csmask.mask_csmask(l2a, buffer=0)
    assert "csmask" in clouds.MASK_METHODS
    assert set(csmask.CSMASK_BANDS) <= set(clouds.MASK_BANDS["csmask"])
    assert isinstance(masked.data, da.Array)
    np.testing.assert_array_equal(
        np.isnan(masked.sel(band="B04").values), mask.values | np.isnan(l2a.sel(band="B04").values)
    )


# --- errors that say what to do -----------------------------------------------------------------


def _ones(bands, **attrs):
    values = np.full((1, len(bands), 64, 64), 1500.0, np.float32)
    collection = make_collection(values, list(bands))
    collection.attrs.update(attrs)
    return collection


def test_errors_name_the_problem_and_the_fix():
    with pytest.raises(ValueError, match=r"lacks \['B08'\].*bands="):
        csmask.csmask_probability(_ones(["B02", "B03", "B04"], product="L2A"))
    with pytest.raises(ValueError, match="no network for product 'L3'"):
        csmask.csmask_probability(_ones(csmask.CSMASK_BANDS, product="L3"))
    with pytest.raises(ValueError, match="product='L2A' or product='L1C'"):
        csmask.csmask_probability(_ones(csmask.CSMASK_BANDS))
    with pytest.raises(ValueError, match="finer than the collection's 10 m"):
        csmask.csmask_probability(_ones(csmask.CSMASK_BANDS, product="L2A"), resolution=5)
    with pytest.raises(ValueError, match="threads"):
        csmask.csmask_probability(_ones(csmask.CSMASK_BANDS, product="L2A"), threads=0)


def test_reflectance_in_0_1_is_refused_at_compute_time_with_the_fix():
    scaled = _ones(csmask.CSMASK_BANDS, product="L2A") / 10_000
    scaled.attrs["product"] = "L2A"
    lazy = csmask.csmask_probability(scaled.chunk())  # lazy: nothing read yet
    with pytest.raises(ValueError, match="10000"):
        lazy.compute()


def test_the_product_comes_from_attrs_or_the_bands():
    l1c = compositing.load(**DEMO, resolution=20, product="L1C")
    assert csmask.csmask_probability(l1c).attrs["model"].startswith("ukis-csmask L1C")
    no_attrs = compositing.load(**DEMO, resolution=20)
    no_attrs.attrs.pop("product", None)
    assert csmask.csmask_probability(no_attrs).attrs["model"].startswith("ukis-csmask L2A")
