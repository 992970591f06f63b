"""Between a collection's grid and a coarser working grid: block means down, bilinear back.

Cloud detectors run coarser than the collection (s2cloudless at 60-160 m, ukis-csmask at about
30 m): :func:`coarsen_mean` takes the bands down by whole blocks of pixels, and
:func:`interpolate_back` brings a result back onto the collection's own pixels. Both give the
same values for any dask chunking of their input.
"""

from __future__ import annotations

import dask.array as da
import numpy as np
import xarray as xr

__all__ = ["coarsen_mean", "coarsening_factor", "interpolate_back", "pixel_size"]


def pixel_size(collection: xr.DataArray) -> float:
    """The pixel size along x, in the units of the collection's CRS (metres for UTM).

    Raises
    ------
    ValueError
        Fewer than 2 pixels along x.
    """
    x = collection["x"].values
    if x.size < 2:
        raise ValueError("the collection needs at least 2 pixels along x to know its resolution")
    return float(abs(x[1] - x[0]))


def coarsening_factor(own: float, resolution: float) -> int:
    """The whole number of pixels of size ``own`` per block closest to ``resolution`` (on a
    log scale: 20 m pixels for 30 m give 2, i.e. 40 m, not 1), at least 1."""
    ratio = resolution / own
    below = max(1, int(np.floor(ratio)))
    above = below + 1
    return below if abs(np.log(below / ratio)) <= abs(np.log(above / ratio)) else above


def coarsen_mean(bands: xr.DataArray, factor: int) -> xr.DataArray:
    """Block means of ``factor`` x ``factor`` pixels (a partial block at the far edges averages
    the pixels it has; NaN pixels are skipped), float32.

    xarray pads and reshapes the whole array, so the blocks never depend on the dask chunks; the
    sums run in float64 so that the float32 result does not depend on the order of summation,
    which the memory layout of a chunk could change.
    """
    coarse = bands.astype(np.float64).coarsen(y=factor, x=factor, boundary="pad").mean()
    return coarse.astype(np.float32)


def interpolate_back(coarse: xr.DataArray, collection: xr.DataArray) -> xr.DataArray:
    """Bilinear interpolation from a coarsened grid back to the collection's; edges nearest.

    Each fine pixel depends only on its own coordinates and the coarse cells around it, so for
    dask input the output is computed block by block on the collection's own y/x chunks, each
    from the coarse cells that cover it and one more on every side: the same values as one
    block, no chunk larger than the collection's, and a window of the output needs only the
    coarse cells under it (a detector run on a whole tile is computed only where it is looked
    at).

    Parameters
    ----------
    coarse
        ``(time, y, x)`` on the coarse grid (the coarse pixel centres as coordinates, in the
        same order as the collection's).
    collection
        Whose ``y``/``x`` (and spatial chunks) the result takes.
    """
    coarse = coarse.transpose("time", "y", "x")
    y, x = collection["y"].values, collection["x"].values
    coarse_y, coarse_x = coarse["y"].values, coarse["x"].values
    if isinstance(coarse.data, da.Array):
        rows = _pieces(y, collection.chunksizes["y"], coarse_y)
        columns = _pieces(x, collection.chunksizes["x"], coarse_x)
        data = da.block(
            [
                [
                    da.map_blocks(
                        _bilinear_block,
                        coarse.data[:, r_cells, c_cells].rechunk({1: -1, 2: -1}),
                        chunks=(coarse.data.chunks[0], (len(r_fine),), (len(c_fine),)),
                        dtype=np.float32,
                        meta=np.empty((0, 0, 0), np.float32),
                        y=r_fine,
                        x=c_fine,
                        coarse_y=coarse_y[r_cells],
                        coarse_x=coarse_x[c_cells],
                    )
                    for c_fine, c_cells in columns
                ]
                for r_fine, r_cells in rows
            ]
        )
    else:
        data = _bilinear_block(np.asarray(coarse.data), y, x, coarse_y=coarse_y, coarse_x=coarse_x)
    coords = {k: c for k, c in coarse.coords.items() if not {"y", "x"} & set(c.dims)}
    return xr.DataArray(
        data, dims=("time", "y", "x"), coords={**coords, "y": collection["y"], "x": collection["x"]}
    )


def _pieces(
    fine: np.ndarray, chunks: tuple[int, ...], centres: np.ndarray
) -> list[tuple[np.ndarray, slice]]:
    """Per fine chunk: its coordinates, and the slice of coarse cells that bracket them with one
    more on each side (all that bilinear, and nearest at the edges, can reach)."""
    ascending = centres[-1] >= centres[0]
    order = centres if ascending else centres[::-1]
    pieces, start = [], 0
    for size in chunks:
        block = fine[start : start + size]
        start += size
        low = np.searchsorted(order, block.min(), side="right") - 2
        high = np.searchsorted(order, block.max(), side="left") + 2
        low, high = max(low, 0), min(high, len(centres))
        cells = slice(low, high) if ascending else slice(len(centres) - high, len(centres) - low)
        pieces.append((block, cells))
    return pieces


def _bilinear_block(
    coarse: np.ndarray,
    y: np.ndarray,
    x: np.ndarray,
    *,
    coarse_y: np.ndarray,
    coarse_x: np.ndarray,
) -> np.ndarray:
    """Bilinear interpolation of ``coarse`` (time, cy, cx) at the fine ``y`` x ``x`` pixel centres,
    nearest where linear gives NaN (outside the outermost coarse centres, next to NaN cells)."""
    grid = xr.DataArray(coarse, dims=("time", "y", "x"), coords={"y": coarse_y, "x": coarse_x})
    fine = grid.interp(y=y, x=x, method="linear")
    nearest = grid.reindex(y=y, x=x, method="nearest")
    return np.asarray(fine.fillna(nearest).values, dtype=np.float32)
