"""The real-data accuracy benchmarks: their conversions, masks and scores, and the claims their
tables make (Landsat-8 thermal, Sentinel-2 L1C clouds)."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks import bench_clouds_real as clouds_real
from benchmarks import bench_thermal_real as thermal_real

needs_landsat = pytest.mark.skipif(
    not thermal_real.available(),
    reason=f"{thermal_real.REAL} (real Landsat-8 subset) is not on this machine",
)
needs_eolearn = pytest.mark.skipif(
    not clouds_real.available(),
    reason=f"{clouds_real.REAL} (real Sentinel-2 L1C + s2cloudless references) is not here",
)


# --- thermal: conversions, mask, scoring (no data needed) -------------------------------------


def test_brightness_temperature_follows_the_planck_inversion_and_masks_fill():
    # Radiance 10 W m-2 sr-1 um-1 is DN (10 - 0.1) / 3.342e-4; K2 / ln(K1 / 10 + 1) = 302.8 K.
    dn = np.array([0, round((10 - 0.1) / 3.342e-4)], dtype=np.uint16)
    kelvin = thermal_real.brightness_temperature(dn)
    assert np.isnan(kelvin[0])
    assert kelvin[1] == pytest.approx(302.8, abs=0.1)
    # Warmer scenes give more radiance: monotonic over the whole uint16 range in use.
    assert np.all(np.diff(thermal_real.brightness_temperature(np.arange(1, 65535, 97))) > 0)


def test_qa_cloud_mask_decodes_the_pre_collection_bits():
    low, medium, high = 1 << 14, 2 << 14, 3 << 14  # cloud confidence, bits 14-15
    cirrus_low, cirrus_high = 1 << 12, 3 << 12  # cirrus confidence, bits 12-13
    bqa = np.array(
        [[low | cirrus_low, medium | cirrus_low, high | cirrus_low, low | cirrus_high, 1]],
        dtype=np.uint16,
    )
    with_cirrus = thermal_real.qa_cloud_mask(bqa, buffer_pixels=0)
    assert with_cirrus.tolist() == [[False, True, True, True, True]]
    without = thermal_real.qa_cloud_mask(bqa, cirrus=False, buffer_pixels=0)
    assert without.tolist() == [[False, True, True, False, True]]


def test_qa_cloud_mask_buffer_dilates_by_that_many_pixels():
    bqa = np.full((1, 11), 1 << 14, dtype=np.uint16)  # all low confidence
    bqa[0, 5] = 3 << 14
    mask = thermal_real.qa_cloud_mask(bqa, buffer_pixels=2)
    assert np.flatnonzero(mask[0]).tolist() == [3, 4, 5, 6, 7]


def test_block_mean_masks_blocks_with_too_few_valid_pixels():
    values = np.arange(16, dtype=np.float64).reshape(4, 4)
    values[0, 0] = np.nan
    means = thermal_real.block_mean(values, 2, min_valid=0.75)
    assert means[0, 0] == pytest.approx((1 + 4 + 5) / 3)
    assert np.isnan(thermal_real.block_mean(values, 2)[0, 0])  # default: all must be valid
    assert means[1, 1] == pytest.approx((10 + 11 + 14 + 15) / 4)
    with pytest.raises(ValueError, match="not a multiple of the block 3: crop"):
        thermal_real.block_mean(values, 3)


def test_score_of_a_perfect_prediction_is_zero_and_an_offset_is_its_bias():
    rng = np.random.default_rng(0)
    truth = 290 + rng.normal(size=(20, 20))
    where = np.ones(truth.shape, bool)
    where[0] = False
    assert thermal_real.score(truth, truth, where) == {"rmse": 0.0, "bias": 0.0, "n": 380}
    shifted = thermal_real.score(truth + 1.5, truth, where)
    assert shifted["rmse"] == pytest.approx(1.5) and shifted["bias"] == pytest.approx(1.5)


# --- thermal: the real scene and the table's claims -------------------------------------------


@pytest.fixture(scope="module")
def landsat():
    return thermal_real.load_scene()


@pytest.fixture(scope="module")
def thermal_report():
    return thermal_real.run(step=lambda _label: None)


@needs_landsat
def test_real_brightness_temperatures_are_plausible_kelvin(landsat):
    t = landsat.temperature
    assert np.isfinite(t).all()
    # A humid subtropical land scene with cold cloud tops: 240-320 K, the clear median near 290 K.
    assert np.min(t) > 240 and np.max(t) < 320
    clear = ~thermal_real.qa_cloud_mask(landsat.bqa)
    assert 280 < np.median(t[clear]) < 300


@needs_landsat
def test_bqa_mask_masks_the_cold_clouds(landsat):
    t, bqa = landsat.temperature, landsat.bqa.astype(np.uint16)
    mask = thermal_real.qa_cloud_mask(bqa)
    cloud = ((bqa >> 14) & 3) >= 2
    cirrus_only = (((bqa >> 12) & 3) == 3) & ~cloud
    assert mask[cloud].all() and mask[cirrus_only].all()
    # Masked clouds are colder than what is kept, by several kelvin, and so is the coldest tail.
    assert np.mean(t[cloud]) < np.mean(t[~mask]) - 5
    assert np.mean(t[cirrus_only]) < np.mean(t[~mask]) - 5
    coldest = t < np.percentile(t, 5)
    assert mask[coldest].mean() > 0.95


@needs_landsat
def test_thermal_table_rows_are_scored_on_the_same_pixels_and_say_what_failed(thermal_report):
    rows = {row["method"]: row for row in thermal_report["rows"]}
    assert set(rows) == {*thermal_real.VARIANTS, thermal_real.NEAREST, thermal_real.BILINEAR}
    scored = [row for row in rows.values() if row["rmse"] is not None]
    assert {row["n"] for row in scored} == {thermal_report["scored"]} and thermal_report["scored"]
    assert all(row["rmse"] > 0 for row in scored)
    # The article's LST range (300..330 K) is above this scene: the table says it fails, and why.
    article = rows[thermal_real.ARTICLE_RANGES]
    assert article["rmse"] is None and "lst_range 300..330" in article["note"]
    assert thermal_report["clear_temperature_percentiles_k"][1] < 300


@needs_landsat
def test_thermal_verdict_matches_the_numbers(thermal_report):
    rows = {row["method"]: row for row in thermal_report["rows"]}
    default = rows[next(iter(thermal_real.VARIANTS))]
    bilinear = rows[thermal_real.BILINEAR]
    text = thermal_real.verdict(thermal_report)
    assert ("**worse**" in text.split(". ")[0]) == (default["rmse"] >= bilinear["rmse"])
    assert f"{default['rmse']:.2f} vs {bilinear['rmse']:.2f} K" in text


# --- clouds -----------------------------------------------------------------------------------


def test_mask_agreement_and_false_alarms_on_known_masks():
    reference = np.zeros((2, 4, 4), bool)
    reference[0, :2] = True
    same = clouds_real.mask_agreement(reference, reference)
    assert same["iou"] == same["f1"] == same["agreement"] == 1.0
    disjoint = clouds_real.mask_agreement(~reference & (np.arange(4) < 2), reference)
    assert disjoint["iou"] == 0.0 and disjoint["f1"] == 0.0
    clear = ~reference
    clear[1] = False  # frame 1 has no clear pixel
    ours = np.zeros_like(reference)
    ours[0, 2, 0] = True  # one false alarm among frame 0's 8 clear pixels
    alarms = clouds_real.false_alarms(ours, clear)
    assert alarms["rate"] == pytest.approx(1 / 8) and alarms["flagged"] == 1
    assert alarms["per_frame"][1] == {"clear": 0, "rate": None}


@pytest.fixture(scope="module")
def clouds_report():
    return clouds_real.run()


@needs_eolearn
def test_cloud_probability_agrees_with_the_references_as_the_table_claims(clouds_report):
    package = clouds_report["probability"]["CLP_S2C (s2cloudless package)"]
    service = clouds_report["probability"]["CLP (Sentinel Hub service)"]
    # The table shows these to 4 decimals: the package's own output, to float rounding.
    assert package["max_abs_diff"] < 1e-5 and package["correlation"] > 0.9999
    # The service runs the model at its own resolution: close, not identical.
    assert service["mean_abs_diff"] < 0.03 and service["correlation"] > 0.99
    assert service["max_abs_diff"] > 0.1


@needs_eolearn
def test_masks_agree_with_clm_s2c_and_raise_no_false_alarm_on_clear_pixels(clouds_report):
    masks, alarms = clouds_report["masks"], clouds_report["false_alarms"]
    # The package's mask on our probability, at the reference's parameters, is the reference.
    assert masks["package_mask"]["agreement"] == 1.0
    assert masks["clouds_50"]["iou"] > 0.95 and masks["tutorial_mask"]["iou"] > 0.95
    for name in clouds_real.MASKS:
        assert alarms[name]["clear"] > 10_000  # the clear frames are there to be scored
        assert alarms[name]["rate"] < 0.01
