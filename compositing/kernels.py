"""Numba kernels for the per-pixel reductions over time.

Every kernel works on a C-contiguous block shaped ``(time, band, pixel)`` (a ``(time, band, y, x)``
block reshaped without copying) and treats NaN as "masked". They release the GIL (``nogil``) so
that dask's threaded scheduler runs blocks in parallel; they are single-threaded themselves
because dask already spreads blocks over the cores.

The *partial* kernels (sum/count, product, min, max, mosaic, quality selection) produce a state
that can be combined across time blocks, so collections split in time never need all of their
images in memory at once. The *exact* kernels (median, mode) need the whole time series of a
pixel and run on blocks that hold the full time axis.
"""

from __future__ import annotations

import numba
import numpy as np

_jit = numba.njit(cache=True, nogil=True)

#: Pixels per tile in the partial kernels.
TILE = 2048
#: Up to this many valid values, the median is found by counting ranks (branch-free, fast for
#: short series); beyond it, by Wirth's selection (linear time).
RANK_MEDIAN_MAX = 32


# The partial kernels walk the pixels in tiles so that their accumulators stay in cache while
# time streams by, and work on 1-d views of each tile so that numba vectorises the inner loops.


@_jit
def sum_count(block):
    """Per (band, pixel): float64 sum of the valid values and their count, ``(2, band, pixel)``."""
    n_time, n_band, n_pix = block.shape
    out = np.zeros((2, n_band, n_pix), dtype=np.float64)
    for p0 in range(0, n_pix, TILE):
        p1 = min(p0 + TILE, n_pix)
        for t in range(n_time):
            for b in range(n_band):
                values = block[t, b, p0:p1]
                total = out[0, b, p0:p1]
                n = out[1, b, p0:p1]
                for i in range(p1 - p0):
                    v = values[i]
                    valid = v == v
                    total[i] += v if valid else 0.0
                    n[i] += 1.0 if valid else 0.0
    return out


@_jit
def mean(block):
    """Per (band, pixel): the float64 mean of the valid values, NaN where none.

    The whole time axis in one pass, for blocks that hold it (no partial state to merge)."""
    n_time, n_band, n_pix = block.shape
    out = np.empty((n_band, n_pix), dtype=np.float64)
    total = np.empty(TILE, dtype=np.float64)
    n = np.empty(TILE, dtype=np.float64)
    for p0 in range(0, n_pix, TILE):
        p1 = min(p0 + TILE, n_pix)
        width = p1 - p0
        for b in range(n_band):
            total[:width] = 0.0
            n[:width] = 0.0
            for t in range(n_time):
                values = block[t, b, p0:p1]
                for i in range(width):
                    v = values[i]
                    valid = v == v
                    total[i] += v if valid else 0.0
                    n[i] += 1.0 if valid else 0.0
            result = out[b, p0:p1]
            for i in range(width):
                result[i] = total[i] / n[i] if n[i] > 0.0 else np.nan
    return out


@_jit
def product_count(block):
    """Per (band, pixel): float64 product of valid values and their count, ``(2, band, pixel)``."""
    n_time, n_band, n_pix = block.shape
    out = np.empty((2, n_band, n_pix), dtype=np.float64)
    out[0] = 1.0
    out[1] = 0.0
    for p0 in range(0, n_pix, TILE):
        p1 = min(p0 + TILE, n_pix)
        for t in range(n_time):
            for b in range(n_band):
                values = block[t, b, p0:p1]
                total = out[0, b, p0:p1]
                n = out[1, b, p0:p1]
                for i in range(p1 - p0):
                    v = values[i]
                    valid = v == v
                    total[i] *= v if valid else 1.0
                    n[i] += 1.0 if valid else 0.0
    return out


@_jit
def count(block):
    """Per (band, pixel): the number of valid values, as float64 ``(band, pixel)``."""
    n_time, n_band, n_pix = block.shape
    out = np.zeros((n_band, n_pix), dtype=np.float64)
    for p0 in range(0, n_pix, TILE):
        p1 = min(p0 + TILE, n_pix)
        for t in range(n_time):
            for b in range(n_band):
                values = block[t, b, p0:p1]
                n = out[b, p0:p1]
                for i in range(p1 - p0):
                    v = values[i]
                    n[i] += 1.0 if v == v else 0.0
    return out


@_jit
def _extreme(block, largest):
    """Per (band, pixel): the smallest (or ``largest``) valid value, NaN where none; ties keep
    the earliest value, so merging time blocks in order gives the same bits."""
    n_time, n_band, n_pix = block.shape
    out = np.full((n_band, n_pix), np.nan, dtype=block.dtype)
    for p0 in range(0, n_pix, TILE):
        p1 = min(p0 + TILE, n_pix)
        for t in range(n_time):
            for b in range(n_band):
                values = block[t, b, p0:p1]
                best = out[b, p0:p1]
                for i in range(p1 - p0):
                    v = values[i]
                    o = best[i]
                    better = v > o if largest else v < o
                    best[i] = v if (better or (o != o and v == v)) else o
    return out


@_jit
def nanmin(block):
    """Per (band, pixel): the smallest valid value, NaN where none; ties keep the earliest."""
    return _extreme(block, False)


@_jit
def nanmax(block):
    """Per (band, pixel): the largest valid value, NaN where none; ties keep the earliest."""
    return _extreme(block, True)


@_jit
def last_valid(block):
    """Per (band, pixel): the last valid value in time order (Earth Engine's ``mosaic``)."""
    n_time, n_band, n_pix = block.shape
    out = np.full((n_band, n_pix), np.nan, dtype=block.dtype)
    for p0 in range(0, n_pix, TILE):
        p1 = min(p0 + TILE, n_pix)
        for t in range(n_time):
            for b in range(n_band):
                values = block[t, b, p0:p1]
                top = out[b, p0:p1]
                for i in range(p1 - p0):
                    v = values[i]
                    top[i] = v if v == v else top[i]
    return out


@_jit
def best_index(quality):
    """Per pixel of a ``(time, pixel)`` quality block: the time index of the highest valid quality.

    Ties go to the earliest image; ``-1`` where every quality value is masked.
    """
    n_time, n_pix = quality.shape
    best = np.full(n_pix, -1, dtype=np.int64)
    best_q = np.empty(n_pix, dtype=quality.dtype)
    for t in range(n_time):
        for p in range(n_pix):
            q = quality[t, p]
            if q == q and (best[p] < 0 or q > best_q[p]):
                best[p] = t
                best_q[p] = q
    return best


@_jit
def take_time(block, index):
    """Per (band, pixel): ``block[index[pixel], band, pixel]``, NaN where ``index`` is -1."""
    n_time, n_band, n_pix = block.shape
    out = np.empty((n_band, n_pix), dtype=block.dtype)
    for b in range(n_band):
        for p in range(n_pix):
            t = index[p]
            out[b, p] = block[t, b, p] if t >= 0 else np.nan
    return out


@_jit
def _gather_valid(block, b, p, buf):
    n = 0
    for t in range(block.shape[0]):
        v = block[t, b, p]
        if v == v:
            buf[n] = v
            n += 1
    return n


@_jit
def _select(buf, n, k):
    """Rearrange ``buf[:n]`` so that ``buf[k]`` is its k-th smallest, smaller ones before it,
    larger ones after (Wirth's selection, average O(n))."""
    lo = 0
    hi = n - 1
    while lo < hi:
        pivot = buf[k]
        i = lo
        j = hi
        while True:
            while buf[i] < pivot:
                i += 1
            while pivot < buf[j]:
                j -= 1
            if i <= j:
                tmp = buf[i]
                buf[i] = buf[j]
                buf[j] = tmp
                i += 1
                j -= 1
            if i > j:
                break
        if j < k:
            lo = i
        if k < i:
            hi = j
    return buf[k]


@_jit
def _middle_by_rank(buf, n):
    """The (lower, upper) middle values of ``buf[:n]``: each value's rank is counted directly
    (ties ranked by position), O(n^2) but without unpredictable branches."""
    k = n // 2
    lower = buf[0]
    upper = buf[0]
    for i in range(n):
        v = buf[i]
        rank = 0
        for j in range(n):
            w = buf[j]
            rank += (w < v) | ((w == v) & (j < i))
        if rank == k:
            upper = v
        if rank == k - 1:
            lower = v
    return lower, upper


@_jit
def _middle_by_selection(buf, n):
    """The (lower, upper) middle values of ``buf[:n]`` by selection; reorders ``buf``."""
    k = n // 2
    upper = _select(buf, n, k)
    lower = upper
    if k > 0:
        lower = buf[0]
        for i in range(1, k):
            if buf[i] > lower:
                lower = buf[i]
    return lower, upper


@_jit
def median(block):
    """Per (band, pixel): the exact median of the valid values; an even count gives the mean of
    the two middle values (as numpy and Earth Engine's median pyramiding do). NaN where none."""
    n_time, n_band, n_pix = block.shape
    out = np.empty((n_band, n_pix), dtype=block.dtype)
    buf = np.empty(n_time, dtype=block.dtype)
    for b in range(n_band):
        for p in range(n_pix):
            n = _gather_valid(block, b, p, buf)
            if n == 0:
                out[b, p] = np.nan
                continue
            if n <= RANK_MEDIAN_MAX:
                lower, upper = _middle_by_rank(buf, n)
            else:
                lower, upper = _middle_by_selection(buf, n)
            if n % 2 == 1:
                out[b, p] = upper
            else:
                # The midpoint in float64, rounded once to the output dtype.
                out[b, p] = (np.float64(lower) + np.float64(upper)) / 2.0
    return out


@_jit
def _insertion_sort(buf, n):
    for i in range(1, n):
        v = buf[i]
        j = i - 1
        while j >= 0 and buf[j] > v:
            buf[j + 1] = buf[j]
            j -= 1
        buf[j + 1] = v


@_jit
def _sorted_valid(block, b, p, buf):
    """The valid values of (band ``b``, pixel ``p``) in ascending order, in ``buf`` (an
    insertion sort for short series) or a new array."""
    n = _gather_valid(block, b, p, buf)
    if n <= 64:
        _insertion_sort(buf, n)
        return buf[:n]
    return np.sort(buf[:n])


@_jit
def mode(block):
    """Per (band, pixel): the most frequent valid value; ties give the smallest (Earth Engine's
    rule). NaN where none."""
    n_time, n_band, n_pix = block.shape
    out = np.empty((n_band, n_pix), dtype=block.dtype)
    buf = np.empty(n_time, dtype=block.dtype)
    for b in range(n_band):
        for p in range(n_pix):
            values = _sorted_valid(block, b, p, buf)
            n = values.size
            if n == 0:
                out[b, p] = np.nan
                continue
            best = values[0]
            best_run = 0
            run = 0
            for i in range(n):
                if i > 0 and values[i] == values[i - 1]:
                    run += 1
                else:
                    run = 1
                # Strictly longer runs only: ascending order makes the smallest tied value win.
                if run > best_run:
                    best_run = run
                    best = values[i]
            out[b, p] = best
    return out


@_jit
def percentile(block, q):
    """Per (band, pixel): the ``q``-quantile (0-1) of the valid values, linear between the two
    closest ranks, with numpy's arithmetic (``np.percentile``'s default method: the same
    float64 result bit for bit), rounded once to the block's dtype. NaN where none is valid."""
    n_time, n_band, n_pix = block.shape
    out = np.empty((n_band, n_pix), dtype=block.dtype)
    buf = np.empty(n_time, dtype=np.float64)
    for b in range(n_band):
        for p in range(n_pix):
            values = _sorted_valid(block, b, p, buf)
            n = values.size
            if n == 0:
                out[b, p] = np.nan
                continue
            rank = (n - 1) * q
            if rank >= n - 1:
                out[b, p] = values[n - 1]
                continue
            lower = int(np.floor(rank))
            gamma = rank - lower
            low, high = values[lower], values[lower + 1]
            step = high - low
            # numpy's _lerp: from the nearer end, so that gamma = 1 gives ``high`` exactly.
            out[b, p] = high - step * (1.0 - gamma) if gamma >= 0.5 else low + step * gamma
    return out


@_jit
def count_mean_m2(block):
    """Per (band, pixel): the count of valid values, their mean and the sum of squared
    deviations from it (two passes over each tile, float64), ``(3, band, pixel)``: a variance's
    state that merges across time blocks (Chan et al.'s pairwise update, in
    :mod:`compositing.reducers`)."""
    n_time, n_band, n_pix = block.shape
    out = np.zeros((3, n_band, n_pix), dtype=np.float64)
    for p0 in range(0, n_pix, TILE):
        p1 = min(p0 + TILE, n_pix)
        width = p1 - p0
        for b in range(n_band):
            n = out[0, b, p0:p1]
            mean = out[1, b, p0:p1]
            m2 = out[2, b, p0:p1]
            for t in range(n_time):
                values = block[t, b, p0:p1]
                for i in range(width):
                    v = values[i]
                    valid = v == v
                    mean[i] += v if valid else 0.0
                    n[i] += 1.0 if valid else 0.0
            for i in range(width):
                mean[i] = mean[i] / n[i] if n[i] > 0.0 else 0.0
            for t in range(n_time):
                values = block[t, b, p0:p1]
                for i in range(width):
                    v = values[i]
                    d = v - mean[i]
                    m2[i] += d * d if v == v else 0.0
    return out


@_jit
def spread(block, root):
    """Per (band, pixel): the population variance of the valid values (its square root when
    ``root``), float64, NaN where none; :func:`count_mean_m2`'s arithmetic, finished in place,
    for blocks that hold the whole time axis."""
    n_time, n_band, n_pix = block.shape
    out = np.empty((n_band, n_pix), dtype=np.float64)
    state = count_mean_m2(block)
    for b in range(n_band):
        for i in range(n_pix):
            n = state[0, b, i]
            if n > 0.0:
                variance = state[2, b, i] / n
                out[b, i] = np.sqrt(variance) if root else variance
            else:
                out[b, i] = np.nan
    return out
