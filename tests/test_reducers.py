"""composite(): every method against a brute-force per-pixel reference, across chunkings, lazily."""

from __future__ import annotations

import json
import math
from collections import Counter

import dask
import dask.array as da
import numpy as np
import pytest
from conftest import SHARED, lazy_zeros_collection, make_collection, random_masked
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compositing import METHODS, STATISTICS, composite
from compositing.reducers import BLOCK_BUDGET_BYTES

EXACT_ACROSS_CHUNKS = (
    "median", "min", "max", "mode", "count", "mosaic", "quality_mosaic", "percentile"
)  # fmt: skip
FLOAT_SUMS = ("mean", "sum", "product", "std", "variance")
#: Every method composite takes: Earth Engine's ten and the statistics of ``reduce``.
ALL_METHODS = METHODS + STATISTICS
#: The percentile the generic tests ask for (between ranks: interpolation is exercised).
PERCENTILE = 30.0


# --- the brute-force reference: one pixel at a time, plain Python ------------------------------


def reference_pixel(series: list[float], method: str) -> float:
    """Earth Engine's semantics for one band of one pixel, written as plainly as possible."""
    valid = [v for v in series if not math.isnan(v)]
    if not valid:
        return math.nan
    if method == "mean":
        return sum(valid) / len(valid)
    if method == "median":
        ordered = sorted(valid)
        middle = len(ordered) // 2
        if len(ordered) % 2:
            return ordered[middle]
        return (ordered[middle - 1] + ordered[middle]) / 2
    if method == "min":
        return min(valid)
    if method == "max":
        return max(valid)
    if method == "sum":
        return sum(valid)
    if method == "product":
        return math.prod(valid)
    if method == "mode":
        counts = Counter(valid)
        top = max(counts.values())
        return min(v for v, c in counts.items() if c == top)
    if method == "count":
        return float(len(valid))
    if method == "mosaic":
        return valid[-1]
    if method in ("std", "variance"):
        mean = sum(valid) / len(valid)
        variance = sum((v - mean) ** 2 for v in valid) / len(valid)
        return math.sqrt(variance) if method == "std" else variance
    if method == "percentile":
        return float(np.percentile(valid, PERCENTILE))  # numpy's linear rule, the documented one
    raise AssertionError(method)


def reference(values: np.ndarray, method: str, quality_index: int | None = None) -> np.ndarray:
    n_time, n_band, n_y, n_x = values.shape
    out = np.full((n_band, n_y, n_x), np.nan)
    for y in range(n_y):
        for x in range(n_x):
            if method == "quality_mosaic":
                quality = values[:, quality_index, y, x]
                best = None
                for t in range(n_time):
                    if not math.isnan(quality[t]) and (best is None or quality[t] > quality[best]):
                        best = t
                if best is not None:
                    out[:, y, x] = values[best, :, y, x]
                continue
            for b in range(n_band):
                out[b, y, x] = reference_pixel([float(v) for v in values[:, b, y, x]], method)
    return out


def run(values: np.ndarray, method: str, *, chunks=None, bands=None):
    collection = make_collection(values, bands)
    if chunks is not None:
        collection = collection.chunk(chunks)
    return composite(collection, method, **_extra(method, collection["band"].values[-1]))


def _extra(method: str, last_band: str) -> dict[str, object]:
    """The arguments a method needs besides the collection."""
    if method == "quality_mosaic":
        return {"quality_band": last_band}
    return {"percentile": PERCENTILE} if method == "percentile" else {}


def assert_matches_reference(result, values, method):
    expected = reference(values, method, quality_index=values.shape[1] - 1)
    got = result.values.astype(np.float64)
    if method in FLOAT_SUMS:
        np.testing.assert_allclose(got, expected, rtol=1e-12, equal_nan=True)
    else:
        # Exact methods: the reference rounded once to the result's dtype must match bit for bit.
        np.testing.assert_array_equal(got, expected.astype(result.dtype), strict=False)


# --- correctness ------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ALL_METHODS)
@pytest.mark.parametrize("n_time", [1, 4, 7])
def test_matches_reference_on_random_masked_data(method, n_time, rng):
    # Integer levels make ties (mode), equal values (min/max) and even counts (median) common.
    values = random_masked(rng, (n_time, 3, 9, 11), levels=6, masked_fraction=0.35)
    values[:, :, 0, 0] = np.nan  # a pixel with no valid input in any band
    values[:, 1, 0, 1] = np.nan  # a pixel masked in one band only
    assert_matches_reference(run(values, method), values, method)
    assert_matches_reference(run(values, method, chunks={"time": 2, "y": 4}), values, method)


@pytest.mark.parametrize("method", ALL_METHODS)
def test_continuous_values_and_float64(method, rng):
    values = random_masked(rng, (6, 2, 5, 5), dtype="float64")
    assert_matches_reference(run(values, method), values, method)


def test_no_valid_input_is_masked_for_every_method(rng):
    values = random_masked(rng, (5, 2, 4, 4), levels=4)
    values[:, :, 2, 3] = np.nan
    for method in ALL_METHODS:
        result = run(values, method)
        assert np.isnan(result.values[:, 2, 3]).all(), method
        # sum/product/count must not turn "nothing" into 0 or 1 (numpy's nansum/nanprod do).
        assert not np.isnan(result.values[:, 0, 0]).any() or np.isnan(values[:, :, 0, 0]).all()


def test_median_of_even_count_is_mean_of_middle_values():
    values = np.array([1, 9, 3, 4], dtype="float32").reshape(4, 1, 1, 1)
    assert run(values, "median").item() == 3.5


def test_mode_ties_give_the_smallest_value():
    values = np.array([5, 2, 5, 2, 7, np.nan], dtype="float32").reshape(6, 1, 1, 1)
    assert run(values, "mode").item() == 2.0


def test_count_is_masked_not_zero_and_counts_per_band():
    values = np.array([[1, np.nan], [np.nan, np.nan], [2, np.nan]], dtype="float32")
    result = run(values.reshape(3, 2, 1, 1), "count")
    assert result.sel(band="B1").item() == 2.0
    assert np.isnan(result.sel(band="B2").item())


def test_mosaic_puts_the_last_valid_image_on_top_band_by_band():
    values = np.array([[1.0, 10.0], [2.0, np.nan], [np.nan, np.nan]], dtype="float32").reshape(
        3, 2, 1, 1
    )
    result = run(values, "mosaic")
    assert result.values.ravel().tolist() == [2.0, 10.0]


def test_quality_mosaic_takes_all_bands_from_the_best_image_and_earliest_on_ties():
    # band order: B1, B2, quality
    values = np.array(
        [
            [1.0, 10.0, 5.0],
            [2.0, np.nan, 7.0],  # best quality; its masked B2 stays masked ("as they are")
            [3.0, 30.0, 7.0],  # tie with the previous one: the earlier image wins
            [4.0, 40.0, np.nan],  # masked quality never wins
        ],
        dtype="float32",
    ).reshape(4, 3, 1, 1)
    result = run(values, "quality_mosaic")
    np.testing.assert_array_equal(result.values.ravel(), [2.0, np.nan, 7.0])


def test_quality_mosaic_masks_pixels_whose_quality_is_always_masked():
    values = np.array([[1.0, np.nan], [2.0, np.nan]], dtype="float32").reshape(2, 2, 1, 1)
    assert np.isnan(run(values, "quality_mosaic").values).all()


def test_mean_accumulates_in_float64():
    # In float32, 1e8 + 1 + 1 + ... loses every 1; in float64 it does not.
    values = np.array([1e8] + [1.0] * 9, dtype="float32").reshape(10, 1, 1, 1)
    assert run(values, "mean").item() == pytest.approx((1e8 + 9) / 10, rel=1e-12)


def _openeo_cases():
    path = SHARED / "reference" / "openeo_cases.json"
    if not path.exists():
        return []
    cases = []
    for case in json.loads(path.read_text()):
        data, args = case["arguments"].get("data"), case["arguments"]
        mapped = {"last": "mosaic"}.get(case["process"], case["process"])
        # NaN-as-value and infinity cases do not apply (NaN is our mask); openEO-only options skip.
        numeric = all(v is None or (isinstance(v, (int, float)) and math.isfinite(v)) for v in data)
        if (
            mapped in METHODS
            and data
            and numeric
            and set(args) == {"data"}
            and (case["returns"] is None or math.isfinite(case["returns"]))
        ):
            cases.append(pytest.param(mapped, data, case["returns"], id=f"{mapped}-{data}"))
    return cases


@pytest.mark.skipif(not _openeo_cases(), reason="../shared/reference/openeo_cases.json not found")
@pytest.mark.parametrize(("method", "data", "expected"), _openeo_cases())
def test_openeo_reference_cases(method, data, expected):
    values = np.array([np.nan if v is None else v for v in data], dtype="float64")
    result = run(values.reshape(-1, 1, 1, 1), method).item()
    if expected is None:
        assert math.isnan(result)
    else:
        assert result == pytest.approx(expected, rel=1e-12)


# --- chunk-proof ------------------------------------------------------------------------------


def chunkings(n: int):
    """Random ways to cut an axis of length n into chunks."""
    return st.lists(st.integers(1, n), min_size=1, max_size=n).map(lambda sizes: _cut(sizes, n))


def _cut(sizes: list[int], n: int) -> tuple[int, ...]:
    out, left = [], n
    for size in sizes:
        if left == 0:
            break
        out.append(min(size, left))
        left -= out[-1]
    if left:
        out.append(left)
    return tuple(out)


SHAPE = (7, 3, 6, 5)
DATA = random_masked(np.random.default_rng(7), SHAPE, levels=5, masked_fraction=0.4)
DATA[:, :, 1, 1] = np.nan


@pytest.mark.parametrize("method", ALL_METHODS)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(chunks=st.tuples(*(chunkings(n) for n in SHAPE)))
def test_same_result_for_any_chunking(method, chunks):
    expected = run(DATA, method)
    with dask.config.set(scheduler="synchronous"):
        got = run(
            DATA, method, chunks=dict(zip(("time", "band", "y", "x"), chunks, strict=True))
        ).values
    if method in EXACT_ACROSS_CHUNKS:
        np.testing.assert_array_equal(got, expected.values)
        assert got.dtype == expected.dtype
    else:
        np.testing.assert_allclose(got, expected.values, rtol=1e-12, equal_nan=True)


# --- lazy, bounded, distributed ---------------------------------------------------------------


def _explode(block):
    raise RuntimeError("composite() computed data at call time")


@pytest.mark.parametrize("method", ALL_METHODS)
def test_lazy_dask_in_dask_out(method):
    values = da.zeros((4, 2, 8, 8), chunks=(1, 1, 4, 4), dtype="float32")
    untouchable = values.map_blocks(_explode, dtype="float32")
    collection = make_collection(np.zeros((4, 2, 8, 8), "float32")).copy(data=untouchable)
    result = composite(collection, method, **_extra(method, "B2"))
    assert isinstance(result.data, da.Array)
    with pytest.raises(RuntimeError, match="computed data"):
        result.compute()


@pytest.mark.parametrize("method", ["median", "mode", "percentile"])
def test_whole_series_blocks_stay_under_the_memory_budget(method):
    # 30 images of 4096 x 4096, one image and one band per 2048-pixel chunk: 2 GB virtual.
    collection = lazy_zeros_collection((30, 2, 4096, 4096), (1, 1, 2048, 2048))
    result = composite(collection, method, **_extra(method, "B2"))
    _, tile_y, tile_x = (max(c) for c in result.data.chunks)
    assert 30 * 1 * tile_y * tile_x * 4 <= BLOCK_BUDGET_BYTES
    # The tiles split the source chunks evenly, so no source chunk is cut into ragged pieces.
    assert 2048 % tile_y == 0 and 2048 % tile_x == 0


def test_runs_unchanged_on_a_distributed_cluster(rng):
    distributed = pytest.importorskip("distributed")
    values = random_masked(rng, (6, 2, 16, 16), levels=5)
    collection = make_collection(values).chunk({"time": 2, "band": 1, "y": 8, "x": 8})
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster),
    ):
        for method in ("median", "mode", "mean", "quality_mosaic", "percentile", "std"):
            got = composite(collection, method, **_extra(method, "B2")).compute()
            assert_matches_reference(got, values, method)


# --- metadata ---------------------------------------------------------------------------------


def test_keeps_band_names_coordinates_crs_and_attrs(rng):
    values = random_masked(rng, (3, 2, 4, 5))
    collection = make_collection(values, ["B04", "MSK_CLDPRB"])
    collection = collection.assign_coords(sun_azimuth=("time", [140.0, 141.0, 142.0]))
    result = composite(collection, "median")
    assert result.dims == ("band", "y", "x")
    assert list(result["band"].values) == ["B04", "MSK_CLDPRB"]
    np.testing.assert_array_equal(result["x"], collection["x"])
    np.testing.assert_array_equal(result["y"], collection["y"])
    assert result.rio.crs == collection.rio.crs
    assert result.attrs["source"] == "test" and result.attrs["composite"] == "median"
    assert "sun_azimuth" not in result.coords  # per-image coordinates do not survive a reduction


# --- errors -----------------------------------------------------------------------------------


def test_unknown_method_lists_the_valid_ones(rng):
    collection = make_collection(random_masked(rng, (2, 1, 2, 2)))
    with pytest.raises(ValueError, match="valid methods: mean, median.*quality_mosaic"):
        composite(collection, "average")


def test_missing_quality_band_names_it_and_the_bands_present(rng):
    collection = make_collection(random_masked(rng, (2, 2, 2, 2)), ["B4", "MSK_CLDPRB"])
    with pytest.raises(ValueError, match=r"'quality'.*\['B4', 'MSK_CLDPRB'\]"):
        composite(collection, "quality_mosaic", quality_band="quality")
    with pytest.raises(ValueError, match="needs quality_band"):
        composite(collection, "quality_mosaic")
    with pytest.raises(ValueError, match="only used by method='quality_mosaic'"):
        composite(collection, "median", quality_band="B4")


def test_wrong_dims_dtype_and_order_state_the_contract(rng):
    collection = make_collection(random_masked(rng, (2, 1, 2, 2)))
    with pytest.raises(ValueError, match=r"dims \('band', 'time', 'y', 'x'\).*transpose"):
        composite(collection.transpose("band", "time", "y", "x"), "mean")
    with pytest.raises(ValueError, match="single image"):
        composite(collection.isel(time=0), "mean")
    with pytest.raises(ValueError, match="dtype int16.*astype"):
        composite(collection.fillna(0).astype("int16"), "mean")
    with pytest.raises(ValueError, match="not sorted.*sortby"):
        composite(collection.isel(time=[1, 0]), "mosaic")
    with pytest.raises(TypeError, match="must be an xarray.DataArray"):
        composite(collection.values, "mean")
    with pytest.raises(TypeError, match="Dataset"):
        composite(collection.to_dataset(name="v"), "mean")
    with pytest.raises(ValueError, match="duplicate band names"):
        composite(make_collection(random_masked(rng, (2, 2, 2, 2)), ["B4", "B4"]), "mean")


# --- the statistics of reduce: percentile, std, variance ----------------------------------------


@pytest.mark.parametrize("percentile", [0, 12.5, 25, 50, 75, 99.9, 100])
def test_percentile_is_numpys_linear_rule_bit_for_bit(percentile, rng):
    values = random_masked(rng, (11, 2, 7, 6), levels=9, masked_fraction=0.3)
    values[:, :, 0, 0] = np.nan  # nothing valid: masked
    got = composite(make_collection(values), "percentile", percentile=percentile)
    with pytest.warns(RuntimeWarning, match="All-NaN"):
        want = np.nanpercentile(values.astype("float64"), percentile, axis=0)
    np.testing.assert_array_equal(got.values, want.astype("float32"))
    assert got.attrs["percentile"] == percentile


def test_percentile_50_is_the_median_and_0_100_the_extremes(rng):
    values = random_masked(rng, (8, 2, 5, 5), levels=7)
    collection = make_collection(values)
    for percentile, method in ((50, "median"), (0, "min"), (100, "max")):
        got = composite(collection, "percentile", percentile=percentile).values
        np.testing.assert_array_equal(got, composite(collection, method).values)


def test_one_valid_value_has_no_spread():
    values = np.array([np.nan, 7.0, np.nan], dtype="float32").reshape(3, 1, 1, 1)
    assert run(values, "std").item() == 0.0 and run(values, "variance").item() == 0.0


def test_percentile_argument_errors_say_what_to_pass(rng):
    collection = make_collection(random_masked(rng, (2, 1, 2, 2)))
    with pytest.raises(ValueError, match=r"needs percentile=<a number from 0 to 100>"):
        composite(collection, "percentile")
    with pytest.raises(ValueError, match="a number from 0 to 100, not 101"):
        composite(collection, "percentile", percentile=101)
    with pytest.raises(ValueError, match="only used by method='percentile'"):
        composite(collection, "median", percentile=25)
