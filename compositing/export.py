"""Writing images to Cloud-Optimized GeoTIFFs, block by block: :func:`write_cog`.

A lazy image is computed a few blocks at a time by whatever dask scheduler is active (local
threads, or a ``dask.distributed`` cluster: ``Client(address)`` or the app's
``DASK_SCHEDULER_ADDRESS``), and each block is written into a tiled scratch GeoTIFF from this
process; GDAL's COG driver then copies it into the COG (overviews by averaging, DEFLATE with the
floating-point predictor). The whole image is never in memory, and the file's bytes depend only
on the values: the same for any chunking and any scheduler.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable, Hashable, Sequence
from pathlib import Path

import dask
import dask.array as da
import numpy as np
import xarray as xr

from .geo import Grid, reversed_dims

__all__ = ["write_cog"]

#: GDAL block cache (MB) while a COG is written.
GDAL_CACHE_MB = 256
#: The GeoTIFF's internal tiles (and the COG's).
TILE_PIXELS = 512
#: Tiles computed together (a dask.compute each): bounds the memory at about
#: ``TILES_PER_BATCH x bands x 512 x 512 x 4`` bytes, and keeps the cluster busy.
TILES_PER_BATCH = 8

ProgressReport = Callable[[int, int], None]


def write_cog(
    array: xr.DataArray,
    path: str | os.PathLike,
    *,
    band_names: Sequence[str] | None = None,
    tags: dict[Hashable, str] | None = None,
    progress: bool | ProgressReport = False,
) -> Path:
    """Write a ``(y, x)`` or ``(band, y, x)`` array as a float32 Cloud-Optimized GeoTIFF.

    Nodata is NaN (a masked pixel), each band's description is its name, and the overviews
    are averages. Lazy arrays are computed :data:`TILES_PER_BATCH` tiles of 512 x 512 at a
    time by the active dask scheduler.

    Parameters
    ----------
    array
        Dims ``(y, x)`` or ``(band, y, x)`` on a regular grid, with a CRS (``.rio.crs``).
    path
        The output file (overwritten).
    band_names
        The band descriptions (default: the ``band`` coordinate, or the array's name).
    tags
        Written as dataset tags.
    progress
        True for a text progress bar on stderr, or a function called with (tiles done, tiles).

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    import rasterio
    import rasterio.shutil

    bands = _as_bands(array)
    names = list(band_names) if band_names is not None else [str(b) for b in bands["band"].values]
    if len(names) != bands.sizes["band"]:
        raise ValueError(
            f"write_cog: {len(names)} band_names for {bands.sizes['band']} bands; give one each."
        )
    flipped = reversed_dims(bands.isel(band=0))
    if flipped:  # south-up (or east-to-west) coordinates: flip to the layout GeoTIFFs expect
        bands = bands.isel({dim: slice(None, None, -1) for dim in flipped})
    grid = Grid.from_array(bands.isel(band=0), name="array", task="writing a GeoTIFF")
    report = _text_progress if progress is True else (progress or None)
    path = Path(os.fspath(path))
    scratch = path.with_name(f".{path.name}.{os.getpid()}.tmp.tif")
    profile = {
        "driver": "GTiff",
        "width": grid.width,
        "height": grid.height,
        "count": len(names),
        "dtype": "float32",
        "nodata": float("nan"),
        "crs": bands.rio.crs,
        "transform": grid.transform,
        "tiled": True,
        "blockxsize": TILE_PIXELS,
        "blockysize": TILE_PIXELS,
        "interleave": "band",
        "BIGTIFF": "IF_SAFER",
    }
    # GDAL's block cache defaults to 5 % of the RAM; a small one keeps the peak memory modest.
    with rasterio.Env(GDAL_CACHEMAX=GDAL_CACHE_MB):
        try:
            with rasterio.open(scratch, "w", **profile) as dst:
                _write_tiles(_tiled(bands), dst, report)
                for index, name in enumerate(names, start=1):
                    dst.set_band_description(index, name)
                if tags:
                    dst.update_tags(**{str(k): v for k, v in tags.items()})
            rasterio.shutil.copy(
                scratch,
                path,
                driver="COG",
                COMPRESS="DEFLATE",
                PREDICTOR="YES",
                RESAMPLING="AVERAGE",
                BIGTIFF="IF_SAFER",
            )
        finally:
            scratch.unlink(missing_ok=True)
    return path


def _as_bands(array: xr.DataArray) -> xr.DataArray:
    if not isinstance(array, xr.DataArray):
        raise TypeError(
            f"write_cog takes an xarray.DataArray (an Image's .data), not {type(array).__name__}"
        )
    if "band" not in array.dims:
        array = array.expand_dims(band=[str(array.name or "band_1")])
    extra = [d for d in array.dims if d not in ("band", "y", "x")]
    if extra:
        raise ValueError(
            f"write_cog writes (band, y, x) arrays, not dims {tuple(array.dims)}: reduce or "
            f"select {extra} first (e.g. a composite, or .isel(time=0))."
        )
    return array.transpose("band", "y", "x")


def _tiled(bands: xr.DataArray) -> da.Array:
    """The data as float32 dask tiles aligned with the GeoTIFF's: the values do not depend on
    the input's chunks, and each tile is written once."""
    data = bands.data
    if not isinstance(data, da.Array):
        data = da.from_array(np.asarray(data), chunks=(-1, TILE_PIXELS, TILE_PIXELS))
    return data.astype(np.float32).rechunk((-1, TILE_PIXELS, TILE_PIXELS))


def _write_tiles(data: da.Array, dataset: object, report: ProgressReport | None) -> None:
    from rasterio.windows import Window

    rows, cols = data.chunks[1], data.chunks[2]
    starts_y, starts_x = np.cumsum((0, *rows[:-1])), np.cumsum((0, *cols[:-1]))
    tiles = [(i, j) for i in range(len(rows)) for j in range(len(cols))]
    done = 0
    for first in range(0, len(tiles), TILES_PER_BATCH):
        batch = tiles[first : first + TILES_PER_BATCH]
        blocks = dask.compute(*(data.blocks[0, i, j] for i, j in batch))
        for (i, j), block in zip(batch, blocks, strict=True):
            window = Window(int(starts_x[j]), int(starts_y[i]), cols[j], rows[i])
            dataset.write(np.asarray(block, dtype=np.float32), window=window)
        done += len(batch)
        if report is not None:
            report(done, len(tiles))


def _text_progress(done: int, total: int) -> None:
    width = 30
    filled = math.floor(width * done / total)
    end = "\n" if done == total else "\r"
    sys.stderr.write(f"\rexport [{'#' * filled}{'.' * (width - filled)}] {done}/{total} tiles{end}")
    sys.stderr.flush()
