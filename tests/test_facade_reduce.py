"""``ImageCollection.reduce(Reducer...)`` (issue 13, part 5): Earth Engine's band names, the
composite's masks, exactness and memory bound, against numpy on a masked collection."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest
from conftest import lazy_zeros_collection, make_collection, random_masked

from compositing.facade import ImageCollection, Reducer
from compositing.reducers import BLOCK_BUDGET_BYTES


@pytest.fixture(scope="module")
def values() -> np.ndarray:
    values = random_masked(np.random.default_rng(13), (9, 2, 8, 7), levels=12)
    values[:, :, 0, 0] = np.nan  # nothing valid
    values[1:, 0, 0, 1] = np.nan  # one valid value in B4
    values[0, 0, 0, 1] = 5.0
    return values


@pytest.fixture(scope="module")
def collection(values) -> ImageCollection:
    return ImageCollection(make_collection(values, ["B4", "B8"]))


def _valid_stats(values: np.ndarray, statistic) -> np.ndarray:
    """``statistic`` of each pixel's valid values, NaN where none (one pixel at a time)."""
    out = np.full(values.shape[1:], np.nan)
    for index in np.ndindex(values.shape[1:]):
        series = values[(slice(None), *index)].astype("float64")
        valid = series[~np.isnan(series)]
        if valid.size:
            out[index] = statistic(valid)
    return out


def test_percentiles_are_named_band_by_band_and_match_numpy(collection, values):
    reduced = collection.reduce(Reducer.percentile([25, 75]))
    assert reduced.band_names() == ["B4_p25", "B4_p75", "B8_p25", "B8_p75"]
    for band in range(2):
        for position, p in enumerate((25, 75)):
            want = _valid_stats(values[:, band], lambda v, p=p: np.percentile(v, p))
            got = reduced.data.values[2 * band + position]
            np.testing.assert_array_equal(got, want.astype("float32"))


def test_the_first_quartile_composite_of_eo_browsers_script(collection, values):
    """``collection.reduce(ee.Reducer.percentile([25]))``: the "first quartile" mosaic."""
    quartile = collection.reduce(Reducer.percentile([25], ["q1"]))
    assert quartile.band_names() == ["B4_q1", "B8_q1"]
    want = np.stack([_valid_stats(values[:, b], lambda v: np.percentile(v, 25)) for b in (0, 1)])
    np.testing.assert_array_equal(quartile.data.values, want.astype("float32"))


def test_combined_reducers_mean_and_spread(collection, values):
    reducer = Reducer.mean().combine(Reducer.stdDev(), sharedInputs=True)
    reducer = reducer.combine(Reducer.sampleStdDev()).combine(Reducer.variance())
    reduced = collection.reduce(reducer)
    outputs = ["mean", "stdDev", "sampleStdDev", "variance"]
    assert reduced.band_names() == [f"{b}_{o}" for b in ("B4", "B8") for o in outputs]
    checks = {
        "mean": np.mean,
        "stdDev": np.std,
        "sampleStdDev": lambda v: np.std(v, ddof=1) if v.size > 1 else np.nan,
        "variance": np.var,
    }
    for band_index, band in enumerate(("B4", "B8")):
        for name, statistic in checks.items():
            got = reduced.data.sel(band=f"{band}_{name}").values
            want = _valid_stats(values[:, band_index], statistic)
            np.testing.assert_allclose(got, want, rtol=1e-12, err_msg=f"{band}_{name}")
    # One valid value: no spread, and no sample spread at all.
    assert reduced.data.sel(band="B4_stdDev").values[0, 1] == 0.0
    assert np.isnan(reduced.data.sel(band="B4_sampleStdDev").values[0, 1])


def test_the_composite_reducers_through_reduce_equal_the_methods(collection):
    for name in ("mean", "median", "min", "max", "sum", "product", "mode", "count"):
        reduced = collection.reduce(getattr(Reducer, name)())
        assert reduced.band_names() == [f"B4_{name}", f"B8_{name}"]
        np.testing.assert_array_equal(reduced.data.values, getattr(collection, name)().data.values)
    min_max = collection.reduce(Reducer.minMax())
    assert min_max.band_names() == ["B4_min", "B4_max", "B8_min", "B8_max"]


def test_a_percentile_of_a_large_lazy_collection_stays_in_bounded_blocks():
    """30 images of 4096 x 4096 (2 GB): whole-series blocks under the composite's budget."""
    lazy = lazy_zeros_collection((30, 2, 4096, 4096), (1, 1, 2048, 2048))
    reduced = ImageCollection(lazy).reduce(Reducer.percentile([25]))
    assert isinstance(reduced.data.data, da.Array)
    _, tile_y, tile_x = (max(c) for c in reduced.data.data.chunks)
    assert 30 * tile_y * tile_x * 4 <= BLOCK_BUDGET_BYTES


def test_reduce_refuses_what_is_not_a_reducer(collection):
    with pytest.raises(TypeError, match=r"reduce takes a Reducer \(e.g. Reducer.median\(\)\)"):
        collection.reduce("median")
