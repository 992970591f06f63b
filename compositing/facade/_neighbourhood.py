"""Neighbourhood operations of ``ee.Image``: ``focalMin`` / ``focalMax`` / ``focalMean`` and
``directionalDistanceTransform``.

Both look at pixels around each pixel, so a dask array is processed with ``map_overlap`` (a
margin of neighbours around every chunk): the result is the same for any chunking. Pixels
beyond the image's edge count as masked, so a chunk's edge and the image's edge never differ.

Mask rules (Earth Engine documents none for these; the choice follows ``reduceNeighborhood``'s
default ``skipMasked``): a focal result is masked where the centre pixel is, and masked
neighbours are left out of the reduction. The distance transform treats a masked pixel as zero
(nothing to find there).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import dask.array as da
import numpy as np
import xarray as xr
from scipy import ndimage

__all__ = ["KERNEL_TYPES", "directional_distance", "focal", "kernel", "pixel_size"]

#: The kernel shapes of ``focalMin``'s ``kernelType`` implemented here (Earth Engine also has
#: 'cross', 'plus' and 'octagon').
KERNEL_TYPES = ("circle", "square", "diamond")
FOCAL_REDUCERS = ("min", "max", "mean")


def pixel_size(array: xr.DataArray) -> float:
    """The pixel size along x, in the CRS's units (metres for the collections here)."""
    x = array["x"].values
    if x.size < 2:
        raise ValueError("the image needs at least 2 pixels along x to know its pixel size")
    return float(abs(x[1] - x[0]))


def kernel(
    radius: float, kernel_type: str = "circle", units: str = "pixels", *, pixel: float = 1.0
) -> np.ndarray:
    """A boolean footprint, as ``ee.Kernel.circle`` / ``square`` / ``diamond``.

    Parameters
    ----------
    radius
        The kernel's radius; offsets up to it are in (``circle``: ``dx² + dy² <= r²``;
        ``square``: ``max(|dx|, |dy|) <= r``; ``diamond``: ``|dx| + |dy| <= r``).
    kernel_type
        One of :data:`KERNEL_TYPES`.
    units
        ``'pixels'`` or ``'meters'`` (then divided by ``pixel``).
    pixel
        The pixel size in metres, for ``units='meters'``.
    """
    if kernel_type not in KERNEL_TYPES:
        raise ValueError(
            f"kernelType {kernel_type!r} is not available here; use one of {list(KERNEL_TYPES)}."
        )
    if units not in ("pixels", "meters"):
        raise ValueError(f"units must be 'pixels' or 'meters', not {units!r}.")
    if not radius >= 0:
        raise ValueError(f"the kernel radius must be a number >= 0, not {radius!r}.")
    r = radius / pixel if units == "meters" else float(radius)
    reach = math.floor(r + 1e-9)
    dy, dx = np.mgrid[-reach : reach + 1, -reach : reach + 1]
    if kernel_type == "circle":
        return dx * dx + dy * dy <= r * r + 1e-9
    if kernel_type == "diamond":
        return np.abs(dx) + np.abs(dy) <= r + 1e-9
    return np.ones(dx.shape, dtype=bool)


def focal(array: xr.DataArray, reducer: str, footprint: np.ndarray, iterations: int = 1):
    """``reducer`` (``'min'``, ``'max'`` or ``'mean'``) over ``footprint`` around each pixel,
    ``iterations`` times; lazy for dask input, attrs kept.

    Parameters
    ----------
    array
        Any DataArray with dims ``y`` and ``x`` last; NaN = masked.
    reducer
        One of :data:`FOCAL_REDUCERS`.
    footprint
        A 2-D boolean kernel (:func:`kernel`).
    iterations
        How many times to apply it (Earth Engine's ``iterations``).
    """
    if reducer not in FOCAL_REDUCERS:
        raise ValueError(f"the focal reducer must be one of {FOCAL_REDUCERS}, not {reducer!r}.")
    if not (isinstance(iterations, int) and iterations >= 1):
        raise ValueError(f"iterations must be a whole number >= 1, not {iterations!r}.")
    depth = footprint.shape[0] // 2
    out = array
    for _ in range(iterations):
        out = _map_with_margin(
            out, lambda block: _focal_block(block, reducer, footprint), depth, out.dtype
        )
    return out


def directional_distance(array: xr.DataArray, angle: float, max_distance: int) -> xr.DataArray:
    """For each zero pixel, the distance in pixels (steps along the ray) to the nearest
    non-zero pixel in direction ``angle``, as ``directionalDistanceTransform``; 0 on non-zero
    pixels, masked where none lies within ``max_distance``.

    Parameters
    ----------
    array
        A one-band image (or a stack of them) with dims ``y`` and ``x`` last.
    angle
        Degrees counter-clockwise from east (the tutorial passes ``90 - MEAN_SOLAR_AZIMUTH``:
        towards the sun, so from a shadow the search finds its cloud).
    max_distance
        The longest search, in pixels.
    """
    if not (isinstance(max_distance, int | np.integer) or float(max_distance).is_integer()):
        raise ValueError(f"maxDistance is a whole number of pixels, not {max_distance!r}.")
    max_distance = int(max_distance)
    if max_distance < 0:
        raise ValueError(f"maxDistance must be >= 0, not {max_distance}.")
    east, north = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    # Rows run south, so north is a negative row step; round half away from zero.
    steps = [(k, -_round(k * north), _round(k * east)) for k in range(1, max_distance + 1)]
    return _map_with_margin(
        array, lambda block: _distance_block(block, steps), max_distance, array.dtype
    )


def _round(value: float) -> int:
    return int(math.copysign(math.floor(abs(value) + 0.5), value))


def _map_with_margin(
    array: xr.DataArray, block: Callable[[np.ndarray], np.ndarray], depth: int, dtype
) -> xr.DataArray:
    """``block`` applied with ``depth`` neighbours around every chunk along y and x (NaN
    beyond the image): the same values for a dask array of any chunking as for numpy."""
    y_axis, x_axis = array.get_axis_num("y"), array.get_axis_num("x")
    data = array.data
    if isinstance(data, da.Array):
        result = da.map_overlap(
            block,
            data,
            depth={y_axis: depth, x_axis: depth},
            boundary=np.nan,
            dtype=dtype,
            meta=np.array((), dtype=dtype),
        )
    else:
        pad = [(0, 0)] * data.ndim
        pad[y_axis] = pad[x_axis] = (depth, depth)
        padded = block(np.pad(np.asarray(data, dtype=dtype), pad, constant_values=np.nan))
        window = [slice(None)] * data.ndim
        window[y_axis] = window[x_axis] = slice(depth, -depth if depth else None)
        result = padded[tuple(window)]
    out = array.copy(data=result)
    out.attrs = dict(array.attrs)
    return out


def _focal_block(block: np.ndarray, reducer: str, footprint: np.ndarray) -> np.ndarray:
    valid = ~np.isnan(block)
    shape = (1,) * (block.ndim - 2) + footprint.shape
    if reducer == "mean":
        weights = footprint.reshape(shape).astype("float64")
        sums = ndimage.correlate(
            np.where(valid, block, 0.0).astype("float64"), weights, mode="constant", cval=0.0
        )
        counts = ndimage.correlate(valid.astype("float64"), weights, mode="constant", cval=0.0)
        out = sums / np.where(counts > 0, counts, 1.0)
    else:
        fill = np.inf if reducer == "min" else -np.inf
        filter_ = ndimage.minimum_filter if reducer == "min" else ndimage.maximum_filter
        out = filter_(
            np.where(valid, block, fill),
            footprint=footprint.reshape(shape),
            mode="constant",
            cval=fill,
        )
    return np.where(valid, out, np.nan).astype(block.dtype)


def _distance_block(block: np.ndarray, steps: list[tuple[int, int, int]]) -> np.ndarray:
    source = np.nan_to_num(block, nan=0.0) != 0
    distance = np.where(source, 0.0, np.nan)
    for k, rows, cols in steps:
        found = _look(source, rows, cols)
        distance = np.where(np.isnan(distance) & found, float(k), distance)
    return distance.astype(block.dtype)


def _look(mask: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """``out[..., r, c] = mask[..., r + rows, c + cols]`` (False beyond the block)."""
    out = np.zeros_like(mask)
    height, width = mask.shape[-2:]
    if abs(rows) >= height or abs(cols) >= width:
        return out
    out[..., max(-rows, 0) : height - max(rows, 0), max(-cols, 0) : width - max(cols, 0)] = mask[
        ..., max(rows, 0) : height + min(rows, 0), max(cols, 0) : width + min(cols, 0)
    ]
    return out
