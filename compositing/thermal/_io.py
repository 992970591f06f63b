"""From files to a Cloud-Optimized GeoTIFF: :func:`sharpen_files` runs the source article's
whole flow; :func:`compositing.export.write_cog` writes the sharpened map block by block."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from ..export import write_cog
from ..indices import ndvi
from ..sources import load, load_lst
from ._result import SharpenResult
from ._sharpen import sharpen


def sharpen_files(
    lst_path: str | os.PathLike,
    red_path: str | os.PathLike,
    nir_path: str | os.PathLike,
    out_path: str | os.PathLike,
    *,
    boa_offset: str | float | None = "auto",
    lst_scale: float | None = None,
    lst_offset: float | None = None,
    lst_time: str | None = None,
    **sharpen_kwargs: object,
) -> SharpenResult:
    """The source article's flow in one call: LST GeoTIFF + Sentinel-2 B04/B08 files -> a 10 m
    COG.

    Reads the LST with :func:`compositing.load_lst` (any CRS, kept on its own grid), the red
    and near-infrared band files with :func:`compositing.load` (lazily, as float32 with the
    +1000 digital number offset of processing baseline >= 04.00 removed; the source article
    computes NDVI from the raw uint16 digital numbers, so its NDVI is biased by the offset and
    ``nir - red`` wraps around where red exceeds NIR, over water), computes
    ``NDVI = (B08 - B04) / (B08 + B04)`` (:func:`compositing.indices.ndvi`),
    :func:`sharpen` s, and writes the sharpened map as a Cloud-Optimized GeoTIFF (driver
    ``COG``, float32, nodata NaN, the NDVI's CRS and grid; the fit in the tags), chunk by chunk.

    Parameters
    ----------
    lst_path
        The LST GeoTIFF (kelvin after its scale/offset metadata).
    red_path, nir_path
        The B04 and B08 (or B8A) band files, named as in a SAFE granule, e.g.
        ``T10SFG_20230620T183919_B04_10m.jp2`` (see :data:`compositing.sources.files.NAME_PATTERN`).
    out_path
        Where to write the COG (overwritten).
    boa_offset
        Passed to :func:`compositing.load`: ``"auto"`` (from ``MTD_MSIL2A.xml`` beside the
        files, else the ``.SAFE`` name, else the date with a warning), ``1000`` or ``0``.
    lst_scale, lst_offset
        Override the LST file's scale/offset metadata (kelvin = value x scale + offset).
    lst_time
        The LST's acquisition time, if wanted in the output's tags; sharpening does not need
        it, so a file whose name and tags carry no date is read without one.
    sharpen_kwargs
        Passed to :func:`sharpen` (``ndvi_range``, ``lst_range``, ``residual_correction``...).

    Returns
    -------
    SharpenResult
        As :func:`sharpen`; its ``sharpened`` map is the (lazy) array that was written.

    Raises
    ------
    ValueError
        A red/NIR file that is not B04/B08, unreadable files, or any error of :func:`sharpen`.
    """
    from ..sources import files  # in-function: reading files needs rasterio, loaded on use

    red_band = files.parse_band_file_name(red_path).band
    nir_band = files.parse_band_file_name(nir_path).band
    if red_band != "B04":
        raise ValueError(
            f"red_path {os.fspath(red_path)!r} is band {red_band}; pass the B04 file as red_path"
        )
    if nir_band not in ("B08", "B8A"):
        raise ValueError(
            f"nir_path {os.fspath(nir_path)!r} is band {nir_band}; pass the B08 "
            "(or B8A) file as nir_path"
        )
    bands = load([red_path, nir_path], bands=[red_band, nir_band], boa_offset=boa_offset)
    bands = bands.isel(time=0)
    red, nir = bands.sel(band=red_band, drop=True), bands.sel(band=nir_band, drop=True)
    fine_ndvi = ndvi(red, nir).rio.write_crs(bands.rio.crs)

    time = lst_time if lst_time is not None else _lst_time_or_unknown(lst_path)
    lst = load_lst(lst_path, scale=lst_scale, offset=lst_offset, time=time)
    result = sharpen(lst, fine_ndvi, **sharpen_kwargs)  # type: ignore[arg-type]
    tags = {
        "equation": result.equation,
        "slope": repr(result.slope),
        "intercept": repr(result.intercept),
        "r2": repr(result.r2),
        "n_pairs": str(result.n),
        "cv_rmse_K": repr(result.cv_rmse),
        "residual_correction": str(result.residual_correction),
        "ndvi_range": str(result.ndvi_range),
        "lst_range": str(result.lst_range),
        "units": "K",
        "lst_file": os.fspath(lst_path),
        "red_file": os.fspath(red_path),
        "nir_file": os.fspath(nir_path),
    }
    if lst["time"].size and not pd.isna(lst["time"].values[0]):
        tags["lst_time"] = pd.Timestamp(lst["time"].values[0]).isoformat()
    write_cog(result.sharpened, out_path, tags=tags)
    return result


def _lst_time_or_unknown(path: str | os.PathLike) -> str | None:
    """None when the LST file's name or tags give its time (the loader reads it), else
    ``"NaT"``: the loader then keeps an unknown time instead of refusing the file."""
    import rasterio

    from ..sources import files

    with rasterio.open(path) as src:
        tags = src.tags()
    when, _ = files.lst_time(Path(os.fspath(path)), tags)
    return None if when is not None else "NaT"
