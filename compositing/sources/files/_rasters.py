"""Rasters on disk: their headers, their grids, a band file opened lazily on an output grid, and
the window of a file that covers an area."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyproj
import rasterio
import rasterio.warp
import xarray as xr
from affine import Affine
from rasterio.enums import Resampling

from ...bands import CLASS_BANDS
from ...geo import Grid, lonlat_bounds, same_crs, transformer


@dataclass(frozen=True)
class RasterHeader:
    """What a raster file's header says: where its pixels are and what nodata is.

    Attributes
    ----------
    path
        The file.
    crs
        Its CRS (None: the file has none).
    transform
        Pixel to CRS coordinates of the pixels' corners.
    width, height
        Its shape in pixels.
    count
        Its number of bands.
    nodata
        Its nodata value (None: none declared).
    """

    path: Path
    crs: rasterio.crs.CRS | None
    transform: Affine
    width: int
    height: int
    count: int
    nodata: float | None

    @classmethod
    def of(cls, path: Path, dataset: rasterio.io.DatasetReader) -> RasterHeader:
        """The header of ``dataset``, an open rasterio dataset of ``path``."""
        return cls(
            path,
            dataset.crs,
            dataset.transform,
            dataset.width,
            dataset.height,
            dataset.count,
            dataset.nodata,
        )

    @property
    def resolution(self) -> float:
        return abs(self.transform.a)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(left, bottom, right, top) in the file's CRS."""
        t = self.transform
        xs = (t.c, t.c + t.a * self.width)
        ys = (t.f, t.f + t.e * self.height)
        return min(xs), min(ys), max(xs), max(ys)

    def bounds_lonlat(self) -> tuple[float, float, float, float]:
        """(west, south, east, north) in degrees, rounded for messages."""
        return lonlat_bounds(to_pyproj(self.crs), self.bounds, digits=4)


def read_header(path: Path) -> RasterHeader:
    """The header of a raster file.

    Raises
    ------
    ValueError
        GDAL cannot read the file.
    """
    try:
        with rasterio.open(path) as src:
            return RasterHeader.of(path, src)
    except rasterio.errors.RasterioIOError as error:
        raise ValueError(f"cannot read {str(path)!r} as a raster: {error}") from None


def check_north_up(raster: RasterHeader) -> None:
    """Raise unless the file is a north-up raster with a CRS (the only kind placed on a grid)."""
    t = raster.transform
    if t.b != 0 or t.d != 0 or t.a <= 0 or t.e >= 0:
        raise ValueError(
            f"{str(raster.path)!r} is not a north-up raster (its transform is {tuple(t)[:6]}): "
            "warp it to a north-up grid first (gdalwarp)"
        )
    if raster.crs is None:
        raise ValueError(f"{str(raster.path)!r} has no CRS: it cannot be placed on a map")


def to_pyproj(crs: rasterio.crs.CRS) -> pyproj.CRS:
    """A rasterio CRS as pyproj's, by its EPSG code when it has one (the exact definition)."""
    epsg = crs.to_epsg()
    return pyproj.CRS.from_epsg(epsg) if epsg else pyproj.CRS.from_wkt(crs.to_wkt())


def crs_text(crs: rasterio.crs.CRS) -> str:
    """The CRS as ``.rio.write_crs`` takes it: ``"EPSG:<code>"`` when it has one, else WKT."""
    epsg = crs.to_epsg()
    return f"EPSG:{epsg}" if epsg else crs.to_wkt()


def own_grid(rasters: Sequence[RasterHeader]) -> Grid:
    """The grid of the finest files: their resolution, CRS and (union of) extents.

    Raises
    ------
    ValueError
        The files are in different CRSs (only an area can put them on one grid).
    """
    crss = {r.crs.to_wkt() for r in rasters}
    if len(crss) > 1:
        raise ValueError(
            "the band files are in different CRSs: give an area (point=(lon, lat) with size_m, or "
            "bbox=(west, south, east, north)) so they can be put on one grid"
        )
    finest = min(rasters, key=lambda r: r.resolution)
    resolution = finest.resolution
    # The extent of the finest files: coarser bands whose side is not a whole number of their
    # pixels (60 m over a 640 m crop) must not grow the grid.
    fine = [r for r in rasters if r.resolution <= resolution * (1 + 1e-9)]
    left = min(r.bounds[0] for r in fine)
    bottom = min(r.bounds[1] for r in fine)
    right = max(r.bounds[2] for r in fine)
    top = max(r.bounds[3] for r in fine)
    width = int(np.ceil((right - left) / resolution - 1e-6))
    height = int(np.ceil((top - bottom) / resolution - 1e-6))
    return Grid(to_pyproj(finest.crs), float(resolution), left, top, width, height)


def _grid_matches(raster: RasterHeader, grid: Grid) -> bool:
    return (
        raster.width == grid.width
        and raster.height == grid.height
        and raster.transform.almost_equals(grid.transform, precision=1e-6 * grid.resolution)
        and same_crs(to_pyproj(raster.crs), grid.crs)
    )


def _resolution_in(raster: RasterHeader, crs: pyproj.CRS) -> float:
    """The file's pixel size expressed in ``crs`` units."""
    if same_crs(to_pyproj(raster.crs), crs):
        return raster.resolution
    transform, _, _ = rasterio.warp.calculate_default_transform(
        raster.crs, rasterio.crs.CRS.from_wkt(crs.to_wkt()), raster.width, raster.height,
        *raster.bounds,
    )  # fmt: skip
    return abs(transform.a)


def _resampling(band: str, raster: RasterHeader, grid: Grid) -> Resampling:
    """Nearest for classes; average going coarser; bilinear going finer or across grids;
    nearest for the same pixel size on a pixel-aligned lattice (an exact copy)."""
    if band in CLASS_BANDS:
        return Resampling.nearest
    ratio = grid.resolution / _resolution_in(raster, grid.crs)
    if ratio > 1 + 1e-6:
        return Resampling.average
    if ratio < 1 - 1e-6:
        return Resampling.bilinear
    if same_crs(to_pyproj(raster.crs), grid.crs):
        shift_x = (grid.left - raster.transform.c) / grid.resolution
        shift_y = (raster.transform.f - grid.top) / grid.resolution
        if abs(shift_x - round(shift_x)) < 1e-6 and abs(shift_y - round(shift_y)) < 1e-6:
            return Resampling.nearest
    return Resampling.bilinear


def open_on_grid(raster: RasterHeader, band: str, grid: Grid, chunks: int) -> xr.DataArray:
    """One band file as a lazy float32 ``(y, x)`` array on ``grid``; 0 and nodata -> NaN.

    Parameters
    ----------
    raster
        The band file's header.
    band
        Its band id (classes are resampled with nearest; it also names the dask keys).
    grid
        The output grid: the file itself when it is on it, else a GDAL warped VRT.
    chunks
        Dask chunk side in pixels.

    Raises
    ------
    ValueError
        The file has more than one band.
    """
    import rioxarray
    from dask.base import tokenize
    from rasterio.vrt import WarpedVRT

    if raster.count != 1:
        raise ValueError(
            f"{str(raster.path)!r} has {raster.count} bands; a Sentinel-2 band file has one"
        )
    src_nodata = raster.nodata if raster.nodata is not None else 0
    if _grid_matches(raster, grid):
        array = rioxarray.open_rasterio(raster.path, lock=False, cache=False)
        warp = "native"
    else:
        resampling = _resampling(band, raster, grid)
        with (
            rasterio.open(raster.path) as src,
            WarpedVRT(
                src,
                crs=rasterio.crs.CRS.from_wkt(grid.crs.to_wkt()),
                transform=grid.transform,
                width=grid.width,
                height=grid.height,
                resampling=resampling,
                src_nodata=src_nodata,
                nodata=0,
                dtype="float32",
            ) as vrt,
        ):
            array = rioxarray.open_rasterio(vrt, lock=False, cache=False)
        warp = (grid, resampling.name, src_nodata)
    # rioxarray names dask arrays by file name only, not by the warp: tokenize the warp too, so
    # two grids of one file never share dask keys.
    token = tokenize(str(raster.path), os.path.getmtime(raster.path), repr(warp), chunks)
    array = array.isel(band=0, drop=True).drop_vars("spatial_ref", errors="ignore")
    array = array.chunk({"y": chunks, "x": chunks}, name_prefix=f"files-{band}-", token=token)
    array.attrs, array.encoding = {}, {}
    array = array.astype("float32")
    valid = array != 0
    if raster.nodata is not None and raster.nodata != 0 and np.isfinite(raster.nodata):
        valid = valid & (array != np.float32(raster.nodata))
    return array.where(valid).assign_coords(x=grid.x, y=grid.y)


def crop_window(raster: RasterHeader, area: Grid) -> tuple[slice, slice] | None:
    """Rows and columns of the file's pixels that overlap ``area``, or None when none does."""
    to_file = transformer(area.crs, to_pyproj(raster.crs))
    left, bottom, right, top = to_file.transform_bounds(*area.bounds, densify_pts=21)
    t = raster.transform
    eps = 1e-6
    col0 = max(0, int(np.floor((left - t.c) / t.a + eps)))
    col1 = min(raster.width, int(np.ceil((right - t.c) / t.a - eps)))
    row0 = max(0, int(np.floor((t.f - top) / -t.e + eps)))
    row1 = min(raster.height, int(np.ceil((t.f - bottom) / -t.e - eps)))
    if col0 >= col1 or row0 >= row1:
        return None
    return slice(row0, row1), slice(col0, col1)
