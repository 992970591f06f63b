"""Footprints: which coarse LST cell each fine pixel belongs to, on the LST's own grid and CRS.

Nothing is resampled: every fine pixel centre is transformed into the coarse grid's CRS and
assigned to the cell it falls in (:func:`cell_index`); the fine values are then summed per cell
with ``np.bincount`` (:func:`footprint_sums`), block by block. :func:`expected_fine_pixels` says
how many fine pixels a cell's area holds, for its coverage.
"""

from __future__ import annotations

import math

import dask.array as da
import numpy as np
import pyproj

from ..geo import Grid, lonlat_bounds, same_crs, transformer

#: Pixels per strip inside a block: the coordinate transform holds several float64 arrays of a
#: strip, so strips bound that memory whatever the chunk size (a 2048 x 2048 chunk is 16 strips).
_STRIP_PIXELS = 1 << 18
#: Points per cell edge when a coarse cell's outline is transformed into the fine CRS.
_DENSIFY = 4


def _transformer_between(source: Grid, target: Grid) -> pyproj.Transformer | None:
    """The transformer from one grid's CRS to the other's, or None when they are the same CRS
    (the callers then skip the transform, and same-CRS cells need no 2-D coordinates)."""
    if same_crs(source.crs, target.crs):
        return None
    return transformer(source.crs, target.crs)


def overlap(coarse: Grid, fine: Grid) -> tuple[slice, slice]:
    """Rows and columns of the coarse cells that the fine grid's extent touches.

    Parameters
    ----------
    coarse, fine
        The LST's grid and the NDVI's.

    Raises
    ------
    ValueError
        There are none (the message names both extents in lon/lat).
    """
    to_coarse = _transformer_between(fine, coarse)
    bounds = fine.bounds
    if to_coarse is not None:
        bounds = to_coarse.transform_bounds(*bounds, densify_pts=21)
    left, bottom, right, top = bounds
    cols = sorted(
        ((left - coarse.left) / coarse.resolution, (right - coarse.left) / coarse.resolution)
    )
    rows = sorted(
        ((coarse.top - bottom) / coarse.pixel_height, (coarse.top - top) / coarse.pixel_height)
    )
    eps = 1e-9
    col0, col1 = max(0, math.floor(cols[0] + eps)), min(coarse.width, math.ceil(cols[1] - eps))
    row0, row1 = max(0, math.floor(rows[0] + eps)), min(coarse.height, math.ceil(rows[1] - eps))
    if not all(map(math.isfinite, bounds)) or col0 >= col1 or row0 >= row1:
        raise ValueError(
            f"the LST grid (lon/lat bounds {lonlat_bounds(coarse.crs, coarse.bounds, digits=4)})"
            " and the NDVI grid (lon/lat bounds "
            f"{lonlat_bounds(fine.crs, fine.bounds, digits=4)}) do not overlap: give an LST "
            "that covers the NDVI's area (or the NDVI of the LST's area)"
        )
    return slice(row0, row1), slice(col0, col1)


def cell_index(xs: np.ndarray, ys: np.ndarray, fine: Grid, coarse: Grid) -> np.ndarray:
    """Flat index (``row * width + col``) of the coarse cell each fine pixel centre falls in, for
    the pixels of a block with centre coordinates ``xs`` (columns) and ``ys`` (rows) in the fine
    grid's CRS; -1 outside the coarse grid. Both passes (footprint means and residual lookup)
    call this same function on the same blocks, so they agree on every pixel and conservation
    is exact."""
    to_coarse = _transformer_between(fine, coarse)
    if to_coarse is None:
        # Same CRS: rows depend on y only and columns on x only; no 2-D transform needed.
        col = np.floor((xs - coarse.left) / coarse.resolution)[None, :]
        row = np.floor((coarse.top - ys) / coarse.pixel_height)[:, None]
        col, row = np.broadcast_arrays(col, row)
    else:
        grid_x, grid_y = np.meshgrid(xs, ys)
        cx, cy = to_coarse.transform(grid_x, grid_y)
        col = np.floor((cx - coarse.left) / coarse.resolution)
        row = np.floor((coarse.top - cy) / coarse.pixel_height)
    inside = (col >= 0) & (col < coarse.width) & (row >= 0) & (row < coarse.height)
    flat = np.where(inside, row * coarse.width + col, -1)
    return flat.astype(np.int64)


def strips(n_rows: int, n_cols: int) -> list[slice]:
    """Row slices of a block, each of about :data:`_STRIP_PIXELS` pixels."""
    step = max(1, _STRIP_PIXELS // max(1, n_cols))
    return [slice(r, min(r + step, n_rows)) for r in range(0, n_rows, step)]


def expected_fine_pixels(coarse: Grid, fine: Grid) -> np.ndarray:
    """How many fine pixels fit in each coarse cell (flat, in the coarse grid's order): the
    cell's area in the fine CRS (its outline densified with :data:`_DENSIFY` points per edge)
    over the fine pixel area."""
    m = _DENSIFY
    u = coarse.left + coarse.resolution * np.arange(coarse.width * m + 1) / m
    v = coarse.top - coarse.pixel_height * np.arange(coarse.height * m + 1) / m
    px, py = np.meshgrid(u, v)
    to_fine = _transformer_between(coarse, fine)
    if to_fine is not None:
        px, py = to_fine.transform(px, py)
    # Area of each small quadrilateral: half the cross product of its diagonals. Summed over the
    # m x m quads of a cell, this is the area of the cell's densified outline.
    d1x, d1y = px[1:, 1:] - px[:-1, :-1], py[1:, 1:] - py[:-1, :-1]
    d2x, d2y = px[1:, :-1] - px[:-1, 1:], py[1:, :-1] - py[:-1, 1:]
    quads = 0.5 * np.abs(d1x * d2y - d1y * d2x)
    areas = quads.reshape(coarse.height, m, coarse.width, m).sum(axis=(1, 3))
    return (areas / (fine.resolution * fine.pixel_height)).ravel()


def _footprint_block(
    block: np.ndarray,
    *,
    x: np.ndarray,
    y: np.ndarray,
    fine: Grid,
    coarse: Grid,
    water_ndvi: float | None,
    block_info: dict | None = None,
) -> np.ndarray:
    """Per-cell sums for one block, ``(1, 1, 3, cells)``: the NDVI summed over land pixels,
    the number of land pixels and the number of water pixels (all valid pixels are land when
    ``water_ndvi`` is None)."""
    (r0, r1), (c0, c1) = block_info[0]["array-location"]
    n = coarse.size
    out = np.zeros((3, n))
    for strip in strips(r1 - r0, c1 - c0):
        cells = cell_index(x[c0:c1], y[r0:r1][strip], fine, coarse)
        values = np.asarray(block[strip], dtype=np.float64)
        valid = (cells >= 0) & np.isfinite(values)
        water = np.zeros_like(valid) if water_ndvi is None else valid & (values < water_ndvi)
        land = valid & ~water
        out[0] += np.bincount(cells[land], weights=values[land], minlength=n)
        out[1] += np.bincount(cells[land], minlength=n)
        out[2] += np.bincount(cells[water], minlength=n)
    return out[None, None]


def footprint_sums(
    data: da.Array,
    x: np.ndarray,
    y: np.ndarray,
    fine: Grid,
    coarse: Grid,
    water_ndvi: float | None,
) -> da.Array:
    """Lazy ``(3, cells)`` sums of the fine values over each coarse cell's footprint: the NDVI
    summed over land pixels, the land pixels and the water pixels. One bincount per chunk, then
    summed (sums and counts are additive), so no chunk is held longer than its own bincount.

    Parameters
    ----------
    data
        The fine values (NDVI), ``(y, x)`` in dask chunks; NaN = masked.
    x, y
        Its pixel-centre coordinates, in the fine grid's CRS.
    fine, coarse
        The NDVI's grid and the (cropped) LST grid.
    water_ndvi
        Values below it count as water; None: every valid pixel is land.
    """
    n_by, n_bx = len(data.chunks[0]), len(data.chunks[1])
    partial = da.map_blocks(
        _footprint_block,
        data,
        new_axis=[2, 3],
        chunks=((1,) * n_by, (1,) * n_bx, (3,), (coarse.size,)),
        dtype=np.float64,
        meta=np.empty((0, 0, 0, 0), np.float64),
        x=x,
        y=y,
        fine=fine,
        coarse=coarse,
        water_ndvi=water_ndvi,
    )
    return partial.sum(axis=(0, 1))
