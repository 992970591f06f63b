"""Earth Engine's ImageCollection reducers on an xarray collection: :func:`composite`.

Semantics follow Earth Engine's documentation, pixel by pixel and band by band:

* NaN is a masked pixel; masked pixels are ignored; a pixel with no valid input is masked in the
  result for every method (``sum``, ``product`` and ``count`` included).
* ``mean`` accumulates in float64; ``sum`` and ``product`` too. Their result is float64.
* ``median`` is exact; an even count gives the mean of the two middle values.
* ``mode`` is the most frequent value; ties give the smallest of the tied values.
* ``count`` is the number of valid inputs (float32, masked where it would be 0).
* ``mosaic``: the last valid image on top, band by band, in the collection's time order.
* ``std`` and ``variance`` (:data:`STATISTICS`, Earth Engine's ``Reducer.stdDev`` /
  ``variance`` in ``reduce``): the population's (divide by the count), float64; one valid
  value gives 0.
* ``percentile`` (with ``percentile=p``, 0-100): exact, linear between the two closest ranks
  (numpy's default method: ``p=50`` is the median, 0 the minimum, 100 the maximum), computed in
  float64 and rounded once to the collection's dtype. Earth Engine computes a percentile of up
  to ``maxRaw`` values directly and of more from a histogram; its direct rule is not
  documented, so this one is the choice.
* ``quality_mosaic``: per pixel, the image whose ``quality_band`` is the highest among valid
  quality values (ties: the earliest image); every band comes from that image as it is, masked
  bands included. Pixels where the quality band is masked in every image are masked.

How the work is split with dask: methods whose result can be merged across time blocks (all but
median, mode and percentile) reduce each time chunk separately and merge the partial results in
a tree, so a collection chunked one image per chunk never holds more than a few images at once.
Median, mode and percentile need a pixel's whole series: the collection is rechunked to the
full time axis with spatial tiles small enough to keep each block under
:data:`BLOCK_BUDGET_BYTES`.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import dask.array as da
import numpy as np
import xarray as xr

from . import kernels
from .bands import resolve_band
from .contract import IMAGE_DIMS, band_names, check_collection

METHODS = (
    "mean",
    "median",
    "min",
    "max",
    "sum",
    "product",
    "mode",
    "count",
    "mosaic",
    "quality_mosaic",
)
#: Reductions Earth Engine offers only through ``ImageCollection.reduce(Reducer...)``; the
#: facade's ``reduce`` uses them.
STATISTICS = ("std", "variance", "percentile")

#: Upper bound on the bytes of one block handed to the median and mode kernels (and to the
#: quality-mosaic selection, which needs every band of a pixel together).
BLOCK_BUDGET_BYTES = 64 * 2**20

# Methods whose per-time-block partial results merge exactly (or, for sums, within rounding).
_STATE_KERNELS: dict[str, Callable] = {
    "mean": kernels.sum_count,
    "sum": kernels.sum_count,
    "product": kernels.product_count,
    "count": kernels.count,
    "min": kernels.nanmin,
    "max": kernels.nanmax,
    "mosaic": kernels.last_valid,
    "std": kernels.count_mean_m2,
    "variance": kernels.count_mean_m2,
}
_EXACT_KERNELS: dict[str, Callable] = {
    "median": kernels.median,
    "mode": kernels.mode,
    "percentile": kernels.percentile,
}


def composite(
    collection: xr.DataArray,
    method: str,
    *,
    quality_band: str | None = None,
    order: str = "time",
    percentile: float | None = None,
) -> xr.DataArray:
    """Reduce a collection over time to one image, as Earth Engine's ImageCollection reducers do.

    Parameters
    ----------
    collection
        DataArray with dims ``(time, band, y, x)``, float, NaN = masked, sorted by time
        (see :mod:`compositing.contract`). numpy- or dask-backed.
    method
        One of :data:`METHODS`: ``mean``, ``median``, ``min``, ``max``, ``sum``, ``product``,
        ``mode``, ``count``, ``mosaic``, ``quality_mosaic``; or of :data:`STATISTICS`:
        ``std``, ``variance``, ``percentile``.
    quality_band
        For ``quality_mosaic`` only: the band whose highest value picks the image per pixel
        (Earth Engine's name, ``B8``, or the sensor's, ``B08``).
    order
        ``"time"``: the collection must be sorted by time (the contract). ``"given"``: the
        images are in an order of their own, which ``mosaic`` (the last on top) and
        ``quality_mosaic``'s ties (the first wins) follow, as Earth Engine's follow a sorted
        collection's (the facade's ``sort``).
    percentile
        For ``percentile`` only: which one, from 0 to 100.

    Returns
    -------
    xarray.DataArray
        Dims ``(band, y, x)`` with the collection's band names, x/y coordinates, CRS and attrs
        (plus ``attrs["composite"] = method``, and ``attrs["percentile"]``). Lazy when the
        input is dask-backed: nothing is computed by this call.

    Raises
    ------
    ValueError
        An unknown method, a missing or misplaced ``quality_band`` or ``percentile``, or a
        collection that breaks the contract.
    """
    if order not in ("time", "given"):
        raise ValueError(f"order is 'time' or 'given', not {order!r}.")
    check_collection(collection, sorted_time=order == "time")
    method = _check_method(method, quality_band)
    quantile = _check_percentile(method, percentile)
    bands = band_names(collection)
    if method == "quality_mosaic":
        quality_band = resolve_band(quality_band, bands, what="quality_band")

    data = collection.data
    if isinstance(data, da.Array):
        result = _composite_dask(
            data, method, bands.index(quality_band) if quality_band else -1, quantile
        )
    else:
        result = _composite_numpy(
            np.asarray(data), method, bands.index(quality_band) if quality_band else -1, quantile
        )

    coords = {name: coord for name, coord in collection.coords.items() if "time" not in coord.dims}
    out = xr.DataArray(result, dims=IMAGE_DIMS, coords=coords, attrs=dict(collection.attrs))
    out.attrs["composite"] = method
    if method == "percentile":
        out.attrs["percentile"] = float(percentile)
    out.name = collection.name
    return out


def _check_method(method: str, quality_band: str | None) -> str:
    if not isinstance(method, str) or method not in METHODS + STATISTICS:
        raise ValueError(
            f"unknown composite method {method!r}; valid methods: {', '.join(METHODS + STATISTICS)}"
        )
    if method == "quality_mosaic" and quality_band is None:
        raise ValueError("quality_mosaic needs quality_band=<name of the band to maximise>")
    if method != "quality_mosaic" and quality_band is not None:
        raise ValueError(
            f"quality_band is only used by method='quality_mosaic', not {method!r}: drop it"
        )
    return method


def _check_percentile(method: str, percentile: float | None) -> float:
    """The quantile (0-1) of ``percentile=`` for that method, else -1."""
    if method != "percentile":
        if percentile is not None:
            raise ValueError(
                f"percentile is only used by method='percentile', not {method!r}: drop it"
            )
        return -1.0
    if percentile is None:
        raise ValueError("method='percentile' needs percentile=<a number from 0 to 100>")
    if isinstance(percentile, bool) or not isinstance(percentile, int | float | np.number):
        raise TypeError(f"percentile is a number from 0 to 100, not {percentile!r}")
    if not 0 <= percentile <= 100:
        raise ValueError(f"percentile is a number from 0 to 100, not {percentile!r}")
    return float(np.true_divide(percentile, 100))


# --- numpy blocks ----------------------------------------------------------------------------
# Each function below takes and returns plain numpy arrays shaped (..., y, x); the dask path maps
# them over blocks, the numpy path calls them once on the whole array.


def _as_pixels(block: np.ndarray) -> np.ndarray:
    """(time, band, y, x) -> contiguous (time, band, y*x) without copying when possible."""
    t, b, y, x = block.shape
    return np.ascontiguousarray(block).reshape(t, b, y * x)


def _state_block(block: np.ndarray, method: str) -> np.ndarray:
    """Partial state of one time block: (state, band, y, x) float64, or (1, band, y, x)."""
    _, b, y, x = block.shape
    state = _STATE_KERNELS[method](_as_pixels(block))
    return state.reshape(-1, b, y, x)


def _merge_states(earlier: np.ndarray, later: np.ndarray, method: str) -> np.ndarray:
    """Merge the states of two consecutive time blocks (``earlier`` comes first in time)."""
    if method in ("mean", "sum"):
        return earlier + later
    if method == "product":
        return np.stack([earlier[0] * later[0], earlier[1] + later[1]])
    if method == "count":
        return earlier + later
    if method == "min":
        # Strictly smaller only, so that ties keep the earliest value as one pass would.
        take_later = (later < earlier) | (np.isnan(earlier) & ~np.isnan(later))
        return np.where(take_later, later, earlier)
    if method == "max":
        take_later = (later > earlier) | (np.isnan(earlier) & ~np.isnan(later))
        return np.where(take_later, later, earlier)
    if method == "mosaic":
        return np.where(np.isnan(later), earlier, later)
    if method in ("std", "variance"):
        return _merge_variance_states(earlier, later)
    raise AssertionError(method)


def _merge_variance_states(earlier: np.ndarray, later: np.ndarray) -> np.ndarray:
    """Two ``(count, mean, M2)`` states merged with Chan et al.'s pairwise update."""
    n_a, mean_a, m2_a = earlier
    n_b, mean_b, m2_b = later
    n = n_a + n_b
    with np.errstate(invalid="ignore", divide="ignore"):
        share_b = np.where(n > 0, n_b / n, 0.0)
    both = (n_a > 0) & (n_b > 0)
    delta = np.where(both, mean_b - mean_a, 0.0)
    mean = np.where(n_a > 0, mean_a + delta * share_b, mean_b)
    return np.stack([n, mean, m2_a + m2_b + delta * delta * n_a * share_b])


def _finish_state(state: np.ndarray, method: str, dtype: np.dtype) -> np.ndarray:
    """Turn a merged state (state, band, y, x) into the composite (band, y, x)."""
    if method in ("min", "max", "mosaic"):
        return state[0].astype(dtype, copy=False)
    if method == "count":
        n = state[0]
        return np.where(n > 0, n, np.nan).astype(np.float32)
    if method in ("std", "variance"):
        n, m2 = state[0], state[2]
        with np.errstate(invalid="ignore", divide="ignore"):
            variance = np.where(n > 0, m2 / n, np.nan)
        return np.sqrt(variance) if method == "std" else variance
    total, n = state[0], state[1]
    with np.errstate(invalid="ignore", divide="ignore"):
        value = total / n if method == "mean" else total
    return np.where(n > 0, value, np.nan)


def _exact_block(block: np.ndarray, method: str, quantile: float) -> np.ndarray:
    """Median, mode or percentile of a block holding the full time axis: (band, y, x)."""
    _, b, y, x = block.shape
    pixels = _as_pixels(block)
    if method == "percentile":
        return kernels.percentile(pixels, quantile).reshape(b, y, x)
    return _EXACT_KERNELS[method](pixels).reshape(b, y, x)


def _quality_select_block(block: np.ndarray, quality_index: int) -> np.ndarray:
    """Quality mosaic of one time block holding every band: (band, y, x)."""
    t, b, y, x = block.shape
    pixels = _as_pixels(block)
    best = kernels.best_index(np.ascontiguousarray(pixels[:, quality_index]))
    return kernels.take_time(pixels, best).reshape(b, y, x)


def _quality_merge(earlier: np.ndarray, later: np.ndarray, quality_index: int) -> np.ndarray:
    """Merge two quality mosaics of consecutive time blocks; ties keep the earlier one."""
    q_earlier, q_later = earlier[quality_index], later[quality_index]
    take_later = (q_later > q_earlier) | (np.isnan(q_earlier) & ~np.isnan(q_later))
    return np.where(take_later[None], later, earlier)


def _composite_numpy(
    data: np.ndarray, method: str, quality_index: int, quantile: float
) -> np.ndarray:
    if method == "mean":
        # The whole series is here: one fused pass, no partial state.
        _, b, y, x = data.shape
        return kernels.mean(_as_pixels(data)).reshape(b, y, x)
    if method in ("std", "variance"):
        _, b, y, x = data.shape
        return kernels.spread(_as_pixels(data), method == "std").reshape(b, y, x)
    if method in _EXACT_KERNELS:
        return _exact_block(data, method, quantile)
    if method == "quality_mosaic":
        return _quality_select_block(data, quality_index)
    return _finish_state(_state_block(data, method), method, data.dtype)


# --- dask graphs -----------------------------------------------------------------------------


def _composite_dask(data: da.Array, method: str, quality_index: int, quantile: float) -> da.Array:
    if method in _EXACT_KERNELS:
        data = data.rechunk(_bounded_chunks(data, whole_axes=(0,)))
        return data.map_blocks(
            _exact_block,
            method,
            quantile,
            drop_axis=0,
            dtype=data.dtype,
            meta=np.empty((0, 0, 0), data.dtype),
        )
    if method == "quality_mosaic":
        # The selection needs every band of a pixel together; time stays split.
        data = data.rechunk(_bounded_chunks(data, whole_axes=(1,)))
        partials = [
            block.map_blocks(
                _quality_select_block,
                quality_index,
                drop_axis=0,
                dtype=data.dtype,
                meta=np.empty((0, 0, 0), data.dtype),
            )
            for block in _time_blocks(data)
        ]
        return _tree(partials, _quality_merge, quality_index)

    n_state = {"mean": 2, "sum": 2, "product": 2, "std": 3, "variance": 3}.get(method, 1)
    wide = ("mean", "sum", "product", "count", "std", "variance")
    state_dtype = np.float64 if method in wide else data.dtype
    partials = [
        block.map_blocks(
            _state_block,
            method,
            chunks=((n_state,), *block.chunks[1:]),
            dtype=state_dtype,
            meta=np.empty((0, 0, 0, 0), state_dtype),
        )
        for block in _time_blocks(data)
    ]
    state = _tree(partials, _merge_states, method)
    out_dtype = {
        "mean": np.float64,
        "sum": np.float64,
        "product": np.float64,
        "count": np.float32,
        "std": np.float64,
        "variance": np.float64,
    }
    dtype = np.dtype(out_dtype.get(method, data.dtype))
    return state.map_blocks(
        _finish_state,
        method,
        data.dtype,
        drop_axis=0,
        dtype=dtype,
        meta=np.empty((0, 0, 0), dtype),
    )


def _time_blocks(data: da.Array) -> list[da.Array]:
    """The collection cut at its time-chunk boundaries (free: no data moves)."""
    bounds = np.cumsum((0, *data.chunks[0]))
    return [data[start:stop] for start, stop in zip(bounds[:-1], bounds[1:], strict=True)]


def _tree(parts: list[da.Array], merge: Callable[..., np.ndarray], *args: object) -> da.Array:
    """Merge time-ordered partial results pairwise with ``merge(earlier, later, *args)`` block by
    block, keeping the time order; a balanced tree keeps the graph shallow."""
    dtype = parts[0].dtype
    meta = np.empty((0,) * parts[0].ndim, dtype)
    while len(parts) > 1:
        merged = [
            da.map_blocks(merge, parts[i], parts[i + 1], *args, dtype=dtype, meta=meta)
            for i in range(0, len(parts) - 1, 2)
        ]
        if len(parts) % 2:
            merged.append(parts[-1])
        parts = merged
    return parts[0]


def _bounded_chunks(data: da.Array, *, whole_axes: tuple[int, ...]) -> dict[int, object]:
    """A rechunk spec that makes ``whole_axes`` one chunk each and shrinks the y/x tiles so that a
    block stays under :data:`BLOCK_BUDGET_BYTES`. Axes already within bounds keep their chunks."""
    time_len, band_len = (data.shape[a] if a in whole_axes else max(data.chunks[a]) for a in (0, 1))
    side = math.sqrt(BLOCK_BUDGET_BYTES / (time_len * band_len * data.dtype.itemsize))
    spec: dict[int, object] = {axis: -1 for axis in whole_axes}
    for axis in (2, 3):
        if max(data.chunks[axis]) > side:
            # A power of two keeps tiles aligned with the usual 512/1024/2048-pixel source chunks.
            spec[axis] = max(64, 2 ** int(math.floor(math.log2(max(side, 1.0)))))
    return spec
