"""The offline demo scene: contract, determinism, resolution and extent consistency, realism."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest
from conftest import SHARED

import compositing
from compositing.geo import grid_for
from compositing.sources import demo
from compositing.sources import demo_scene as scene

EXAMPLE_POINT = (-122.373, 37.448)
JULY_2021 = ("2021-07-01", "2021-08-01")
REAL = SHARED / "realdata" / "eolearn"


def test_l2a_and_l1c_follow_the_contract_and_are_lazy():
    l2a = compositing.load(point=EXAMPLE_POINT, dates=JULY_2021, size_m=2000)
    l1c = compositing.load(point=EXAMPLE_POINT, dates=JULY_2021, size_m=2000, product="L1C")
    for collection, bands in ((l2a, scene.L2A_BANDS), (l1c, scene.L1C_BANDS)):
        compositing.check_collection(collection)
        assert isinstance(collection.data, da.Array)
        assert tuple(collection["band"].values) == bands
        assert collection.rio.crs.to_epsg() == 32610
        assert collection.attrs["synthetic"] is True and "synthetic" in collection.attrs["title"]
        assert collection.sizes == {"time": 6, "band": len(bands), "y": 200, "x": 200}
        assert set(collection.coords) >= {"solar_azimuth", "solar_zenith"}
    # Sentinel-2's 5-day revisit, around 10:30 local solar time (18:40 UTC in California).
    assert (np.diff(l2a["time"].values) == np.timedelta64(5, "D")).all()
    assert all(str(t)[11:16] == "18:40" for t in l2a["time"].values)


def test_values_are_in_earth_engine_units():
    collection = compositing.load(point=EXAMPLE_POINT, dates=JULY_2021, size_m=1000).compute()
    reflectance = collection.drop_sel(band=["SCL", "MSK_CLDPRB"])
    assert 0 < float(reflectance.median()) < 5000  # reflectance x 10000
    assert float(reflectance.max()) < 12000
    assert set(np.unique(collection.sel(band="SCL"))) <= {2, 3, 4, 5, 6, 8, 9, 10}
    probability = collection.sel(band="MSK_CLDPRB")
    assert float(probability.min()) >= 0 and float(probability.max()) <= 100


def test_deterministic_and_independent_of_the_request_extent():
    small = compositing.load(point=EXAMPLE_POINT, dates=JULY_2021, size_m=500).compute()
    again = compositing.load(point=EXAMPLE_POINT, dates=JULY_2021, size_m=500).compute()
    large = compositing.load(point=EXAMPLE_POINT, dates=JULY_2021, size_m=2000, chunksize=300)
    assert small.identical(again)
    inside = large.sel(x=small["x"], y=small["y"]).compute()
    np.testing.assert_array_equal(inside.values, small.values)


@pytest.mark.parametrize("resolution", [20, 60, 120])
def test_a_coarse_request_averages_the_fine_scene(resolution):
    dates = ("2021-07-01", "2021-07-12")
    fine = compositing.load(point=EXAMPLE_POINT, dates=dates, size_m=3000, resolution=10)
    coarse = compositing.load(point=EXAMPLE_POINT, dates=dates, size_m=2400, resolution=resolution)
    half = resolution / 2
    window = fine.sel(
        x=slice(float(coarse.x[0]) - half, float(coarse.x[-1]) + half),
        y=slice(float(coarse.y[0]) + half, float(coarse.y[-1]) - half),
    )
    factor = resolution // 10
    averaged = window.coarsen(y=factor, x=factor).mean()
    bands = list(scene.L2A_REFLECTANCE)
    got = coarse.sel(band=bands).values
    expected = averaged.sel(band=bands).values
    assert got.shape == expected.shape
    # Pixel by pixel within 1% on average (the README's claim); the scene mean within 0.1%.
    assert np.abs(got - expected).mean() / np.abs(expected).mean() < 0.01
    assert abs(got.mean() - expected.mean()) / expected.mean() < 0.001


def test_any_place_date_and_crs_work():
    south = compositing.load(point=(-47.9, -15.8), dates=("2022-01-01", "2022-01-20"), size_m=500)
    web = compositing.load(point=(10.0, 50.0), dates=("2022-04-01", "2022-04-20"), crs="EPSG:3857")
    assert south.rio.crs.to_epsg() == 32723
    assert web.rio.crs.to_epsg() == 3857
    for collection in (south, web.isel(x=slice(0, 50), y=slice(0, 50))):
        values = collection.sel(band="B04").values
        assert np.isfinite(values).all() and values.mean() > 0


def test_bad_requests_say_what_to_change():
    with pytest.raises(ValueError, match="B10 is in L1C only"):
        compositing.load(point=EXAMPLE_POINT, dates=JULY_2021, bands=["B04", "B10"])
    with pytest.raises(ValueError, match="empty or inverted"):
        compositing.load(point=EXAMPLE_POINT, dates=("2021-08-01", "2021-07-01"))
    with pytest.raises(ValueError, match="swap"):
        compositing.load(point=(37.448, -122.373), dates=JULY_2021)
    with pytest.raises(ValueError, match="coarser resolution"):
        compositing.load(point=EXAMPLE_POINT, dates=JULY_2021, size_m=1_000_000, resolution=10)
    with pytest.raises(ValueError, match="needs dates"):
        compositing.load(point=EXAMPLE_POINT)


# --- realism ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def example_scene_60m():
    """The Earth Engine mosaic example's place and month at 60 m: the L1C collection and its
    truth."""
    options = {"point": EXAMPLE_POINT, "dates": JULY_2021, "size_m": 10_000, "resolution": 60}
    l1c = compositing.load(product="L1C", **options).compute()
    return l1c, demo.truth(**options).compute()


CLOUDY_SEEDS = ("Earth Engine mosaic example", "Earth Engine qualityMosaic example")


@pytest.mark.parametrize("resolution, size_m", [(10, 2000), (60, 10_000)])
@pytest.mark.parametrize("preset", list(demo.PRESETS))
def test_s2cloudless_recognises_the_demo_clouds(preset, resolution, size_m):
    """The README's claim, as run: the s2cloudless package's own model (threshold 0.4) finds the
    demo's clouds with recall >= 0.95 and flags <= 1% of clear land, at 10 m and 60 m, at the
    cloudy examples' places (the thermal article's clear June day has too few clouds for a
    recall)."""
    from s2cloudless import S2PixelCloudDetector

    place = demo.PRESETS[preset]
    options = {**place, "size_m": size_m, "resolution": resolution}
    l1c = compositing.load(product="L1C", **options).compute()
    truth = demo.truth(**options).compute()
    model_bands = ["B01", "B02", "B04", "B05", "B08", "B8A", "B09", "B10", "B11", "B12"]
    reflectance = l1c.sel(band=model_bands).transpose("time", "y", "x", "band").values / 10_000
    probability = S2PixelCloudDetector().get_cloud_probability_maps(reflectance)
    cloud = truth["cloud"].values
    clear_land = ~cloud & ~truth["shadow"].values & (truth["cover"].values != scene.WATER)
    false_alarms = (probability[clear_land] > 0.4).mean()
    assert false_alarms <= 0.01, false_alarms
    if preset.startswith(CLOUDY_SEEDS):
        recall = (probability[cloud] > 0.4).mean()
        assert recall >= 0.95, recall
        if size_m >= 10_000:
            # Clouds cover 5-60% of a typical 10 km scene: the median date sits in that range.
            assert 0.05 <= np.median(cloud.mean(axis=(1, 2))) <= 0.6
    else:
        assert cloud.mean() < 0.01  # the thermal article's day is clear, as the seed needs


def test_field_ndvi_is_plausible_in_july(example_scene_60m):
    _, truth = example_scene_60m
    clear = truth["clear"].isel(time=2)
    ndvi = (clear.sel(band="B08") - clear.sel(band="B04")) / (
        clear.sel(band="B08") + clear.sel(band="B04")
    )
    crops = ndvi.values[truth["cover"].values == scene.CROP]
    assert 0.1 < np.percentile(crops, 5) < 0.3  # harvested cereal and bare fields
    assert 0.75 < np.percentile(crops, 95) < 0.9  # summer crops near their peak
    water = ndvi.values[truth["cover"].values == scene.WATER]
    assert np.median(water) < 0.1


def _shifted(mask: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """``mask`` moved by (rows, cols) pixels, padding with False."""
    out = np.zeros_like(mask)
    height, width = mask.shape
    out[max(rows, 0) : height + min(rows, 0), max(cols, 0) : width + min(cols, 0)] = mask[
        max(-rows, 0) : height + min(-rows, 0), max(-cols, 0) : width + min(-cols, 0)
    ]
    return out


def test_shadows_fall_down_sun_of_their_clouds(example_scene_60m):
    l1c, truth = example_scene_60m
    resolution = 60.0
    checked = 0
    for i in range(l1c.sizes["time"]):
        cloud, shadow = truth["cloud"].values[i], truth["shadow"].values[i]
        if shadow.sum() < 50:
            continue
        azimuth = np.radians(float(l1c["solar_azimuth"][i]))

        # The scene casts each shadow from the cloud up-sun of it, at the cloud's height.
        params = demo.date_parameters(l1c.indexes["time"][i], grid_for(point=EXAMPLE_POINT))
        east, north = params[scene.P_SHADOW_DX], params[scene.P_SHADOW_DY]
        reach = np.hypot(east, north)
        sun = np.array([np.sin(azimuth), np.cos(azimuth)])
        assert np.dot([east, north], sun) / reach > 0.999
        zenith = np.radians(float(l1c["solar_zenith"][i]))
        assert 1000 <= reach / np.tan(zenith) <= 2200  # cumulus heights

        def overlap(sign: int, cloud=cloud, shadow=shadow, east=east, north=north) -> float:
            # Moving each cloud away from the sun (sign=+1) by the reach lands on its shadow.
            rows, cols = round(sign * north / resolution), round(-sign * east / resolution)
            # Only shadows whose cloud is inside the scene can be matched.
            seen = shadow & _shifted(np.ones_like(cloud), rows, cols)
            return (_shifted(cloud, rows, cols) & seen).sum() / max(seen.sum(), 1)

        assert overlap(+1) > 0.95 and overlap(-1) < overlap(+1) - 0.2, (overlap(+1), overlap(-1))

        # Shadows darken NIR much more than blue, as real shadows do.
        clear = truth["clear"].isel(time=i)
        observed = l1c.isel(time=i)
        nir_ratio = (observed.sel(band="B08").values / clear.sel(band="B08").values)[shadow]
        # (L1C blue carries the atmosphere's path radiance, which no shadow removes.)
        blue = observed.sel(band="B02").values - scene.PATH[1]
        blue_ratio = (blue / clear.sel(band="B02").values)[shadow]
        assert 0.08 < np.median(nir_ratio) < 0.2 and 0.3 < np.median(blue_ratio) < 0.5
        checked += 1
    assert checked, "no date with shadows in the seed's month"


def test_lst_follows_ndvi_and_lives_on_its_own_grid():
    lst = compositing.load_lst(point=(-121.01, 37.67), dates=("2023-06-19", "2023-06-22"))
    assert lst.dims == ("time", "y", "x") and lst.rio.crs.to_epsg() == 4326
    assert np.allclose(np.diff(lst["x"].values), 0.01)
    assert lst.attrs["units"] == "K" and lst.attrs["synthetic"] is True
    values = lst.isel(time=0).values
    assert np.isfinite(values).mean() > 0.9  # the seed's clear day stays clear
    assert np.nanmin(values) > 290 and np.nanmax(values) < 325

    truth = demo.truth(point=(-121.01, 37.67), dates=("2023-06-19", "2023-06-22"), resolution=30)
    clear = truth["clear"].isel(time=0)
    ndvi = (clear.sel(band="B08") - clear.sel(band="B04")) / (
        clear.sel(band="B08") + clear.sel(band="B04")
    )
    land = truth["cover"].values != scene.WATER
    r = np.corrcoef(ndvi.values[land], truth["lst"].isel(time=0).values[land])[0, 1]
    # By construction: the demo's LST is made from cover and NDVI (self-consistency, not realism).
    assert r < -0.95, r
    assert 298 < float(truth["lst"].isel(time=0).mean()) < 330


@pytest.mark.skipif(not REAL.exists(), reason="../shared/realdata/eolearn is not on this machine")
def test_forest_spectrum_matches_real_sentinel2_l1c():
    scenes = np.load(REAL / "REFERENCE_SCENES.npy")  # (5, 101, 100, 13), reflectance 0-1
    probability = np.load(REAL / "TestEOPatch" / "data" / "CLP_S2C.npy")
    frames = [2, 1, 4, 3, 0]
    clear = np.stack([probability[frames[k], ..., 0] < 0.1 for k in range(5)])
    real = scenes[clear].mean(axis=0) * 10_000  # the clear-sky mean of the (forested) scene

    options = {"point": (14.55, 45.87), "dates": ("2015-07-01", "2015-09-15"), "resolution": 60}
    l1c = compositing.load(product="L1C", **options).compute()
    truth = demo.truth(**options).compute()
    forest = (
        ~truth["cloud"].values
        & ~truth["shadow"].values
        & (truth["cover"].values == scene.FOREST)[None]
    )
    demo_forest = l1c.transpose("time", "y", "x", "band").values[forest].mean(axis=0)
    np.testing.assert_allclose(demo_forest, real, rtol=0.08)  # the README: within 8%


def test_dates_between_passes_give_an_empty_collection_that_composite_refuses():
    # 2021-07-02 falls between two of the demo's ~5-day passes: no image, and no dask error.
    empty = compositing.load(point=EXAMPLE_POINT, dates=("2021-07-02", "2021-07-03"), size_m=1000)
    assert empty.sizes["time"] == 0 and empty.dims == ("time", "band", "y", "x")
    with pytest.raises(ValueError, match="no images"):
        compositing.composite(empty, "median")


def test_a_one_cell_lst_still_has_bounds():
    # An area inside one 0.01-degree cell: rioxarray cannot infer a resolution from one
    # coordinate, so the loader writes the transform (the dashboard reads these bounds).
    lst = compositing.load_lst(
        point=(-121.015, 37.675), dates=("2023-06-19", "2023-06-22"), size_m=300
    )
    assert lst.sizes["y"] == lst.sizes["x"] == 1
    west, south, east, north = lst.rio.transform_bounds("EPSG:4326")
    np.testing.assert_allclose([west, south, east, north], [-121.02, 37.67, -121.01, 37.68])
