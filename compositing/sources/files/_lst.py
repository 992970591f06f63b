"""Land-surface-temperature GeoTIFFs: :func:`load_lst` reads them as kelvin on their own grid,
:func:`lst_time` tells when one was acquired, and a check refuses values that are not kelvin."""

from __future__ import annotations

import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import rasterio
import xarray as xr

from ...geo import Grid
from ._names import (
    Source,
    in_range,
    is_band_file_name,
    normalize_times,
    range_text,
    resolve_paths,
)
from ._rasters import RasterHeader, check_north_up, crop_window, crs_text

#: Kelvin sanity range for LST, and the share of valid pixels that must fall in it.
KELVIN_RANGE = (150.0, 400.0)

_LST_SUFFIXES = (".tif", ".tiff")
_LST_OPTIONS = ("scale", "offset", "time", "band", "chunks")


@dataclass(frozen=True)
class _LstFile:
    """What the header of an LST GeoTIFF says about the LST band."""

    raster: RasterHeader
    scale: float | None
    offset: float | None
    tags: dict[str, str]
    nodata: float | None


@dataclass(frozen=True)
class _LstLayer:
    """One file's kelvin, lazily, with what the stacked result needs of it."""

    time: pd.Timestamp
    data: xr.DataArray
    path: Path
    crs: str
    scale: float
    offset: float


def lst_time(path: Path, tags: dict[str, str]) -> tuple[pd.Timestamp | None, str]:
    """The acquisition time of an LST file, and where it came from.

    Parameters
    ----------
    path
        The file: a ``YYYYMMDDTHHMMSS`` or ``YYYYMMDD`` (or ``YYYY-MM-DD``) in its name is used
        first.
    tags
        The file's GDAL tags: a ``*start_time``, ``*time_coverage_start`` or
        ``*acquisition_time`` tag, else ``TIFFTAG_DATETIME``.

    Returns
    -------
    tuple
        The time (UTC-naive; None if nothing says) and ``"name"``, ``"tag"``,
        ``"TIFFTAG_DATETIME"`` or ``""``.
    """
    name = path.name
    found = re.search(r"(?<!\d)(\d{8})T(\d{6})(?!\d)", name)
    candidates = [f"{found[1]}T{found[2]}"] if found else []
    candidates += [
        "".join(m.groups()) for m in re.finditer(r"(?<!\d)(\d{4})-?(\d{2})-?(\d{2})(?!\d)", name)
    ]
    for text in candidates:
        try:
            fmt = "%Y%m%dT%H%M%S" if "T" in text else "%Y%m%d"
            time = pd.Timestamp(pd.to_datetime(text, format=fmt))
        except ValueError:
            continue
        if 1950 <= time.year <= 2100:
            return time, "name"
    for key, value in tags.items():
        lowered = key.lower()
        if lowered.endswith(("start_time", "time_coverage_start", "acquisition_time")):
            try:
                time = pd.Timestamp(value)
            except ValueError:
                continue
            return (time.tz_convert(None) if time.tzinfo else time), "tag"
    if "TIFFTAG_DATETIME" in tags:
        try:
            stamp = pd.to_datetime(tags["TIFFTAG_DATETIME"], format="%Y:%m:%d %H:%M:%S")
        except ValueError:
            return None, ""
        return pd.Timestamp(stamp), "TIFFTAG_DATETIME"
    return None, ""


def load_lst(
    source: Source,
    area: Grid | None,
    start: pd.Timestamp | None = None,
    end: pd.Timestamp | None = None,
    *,
    scale: float | None = None,
    offset: float | None = None,
    time: str | pd.Timestamp | None = None,
    band: int = 1,
    chunks: int = 1024,
    **options: object,
) -> xr.DataArray:
    """Load a land-surface-temperature GeoTIFF as ``(time, y, x)`` float32 kelvin.

    The file keeps its own grid and CRS (no reprojection); only the pixels that overlap
    ``area`` are kept.

    Parameters
    ----------
    source
        An LST GeoTIFF in any CRS, or several on one grid (a list, a directory or a pattern;
        Sentinel-2 band files found in a directory are skipped).
    area
        The area of interest (a :class:`Grid`; its bounds are transformed into the file's CRS),
        or None for the whole file.
    start, end
        Keep files with ``start <= time < end`` (None: no bound).
    scale, offset
        kelvin = stored value x scale + offset; default the file's own band metadata (GDAL
        scale/offset, as Sentinel-3 exports carry), else 1 and 0.
    time
        The acquisition time, when the name has no date (``..._20230620T183000_...`` or
        ``_20230620``); it takes precedence over the name and the tags. Last resort: the
        ``TIFFTAG_DATETIME`` tag (with a warning: it is often the time the file was written).
    band
        Which band of the file holds LST (1-based).
    chunks
        Dask chunk side in pixels.

    Returns
    -------
    xarray.DataArray
        float32 kelvin, NaN = nodata; coordinates ``time``, ``y``/``x`` (pixel centres); the
        file's CRS via ``.rio.crs``; attrs ``source``, ``units``, ``files``, ``scale``,
        ``offset``.

    Raises
    ------
    FileNotFoundError
        A missing file, or no GeoTIFF in the directory or pattern.
    ValueError
        No overlap with ``area``; no acquisition time; values that are not kelvin; files on
        different grids; no file in the dates.
    """
    if options:
        raise TypeError(
            f"unexpected options for an LST file: {sorted(options)}; it accepts "
            f"{', '.join(_LST_OPTIONS)}"
        )
    if not isinstance(band, (int, np.integer)) or band < 1:
        raise ValueError(f"band must be a 1-based band number, not {band!r}")
    start, end = normalize_times(start, end)
    paths = resolve_paths(
        source,
        _LST_SUFFIXES,
        lambda name: name.lower().endswith(_LST_SUFFIXES) and not is_band_file_name(name),
        "a GeoTIFF (.tif) other than Sentinel-2 band files",
    )
    if time is not None and len(paths) > 1:
        raise ValueError(
            f"time= gives one acquisition time but {len(paths)} files were found: load them one "
            "at a time"
        )

    layers: list[_LstLayer] = []
    skipped: list[str] = []
    for path, _ in paths:
        lst_file = _read_lst_header(path, band)
        # Called from here, so that its warning's stacklevel=3 points at load_lst's caller.
        when = _acquisition_time(path, lst_file.tags, time)
        if not in_range(when, start, end):
            skipped.append(f"{path.name} ({when.isoformat()})")
            continue
        window = _window(lst_file.raster, area)
        factor = float(scale) if scale is not None else float(lst_file.scale or 1.0)
        shift = float(offset) if offset is not None else float(lst_file.offset or 0.0)
        kelvin = _read_kelvin(lst_file, window, band, factor, shift, chunks)
        _check_kelvin(kelvin, path)
        raster = lst_file.raster
        layers.append(_LstLayer(when, kelvin, path, crs_text(raster.crs), factor, shift))

    if not layers:
        raise ValueError(
            f"none of the LST files is in {range_text(start, end)}: found {', '.join(skipped)}"
        )
    return _stack(layers)


def _read_lst_header(path: Path, band: int) -> _LstFile:
    """The header of an LST file and its ``band``'s scale, offset and nodata.

    Raises
    ------
    ValueError
        Not a north-up raster with a CRS, or no such band.
    """
    with rasterio.open(path) as src:
        raster = RasterHeader.of(path, src)
        scales, offsets, tags = src.scales, src.offsets, src.tags()
        nodata = src.nodatavals[band - 1] if band <= src.count else None
    check_north_up(raster)
    if band > raster.count:
        raise ValueError(f"{str(path)!r} has {raster.count} band(s), not band={band}")
    return _LstFile(raster, scales[band - 1], offsets[band - 1], tags, nodata)


def _acquisition_time(
    path: Path, tags: dict[str, str], time: str | pd.Timestamp | None
) -> pd.Timestamp:
    """``time`` if given, else :func:`lst_time`'s (warning when only ``TIFFTAG_DATETIME`` says).

    Raises
    ------
    ValueError
        Nothing says when the file was acquired.
    """
    if time is not None:
        when = pd.Timestamp(time)
        return when.tz_convert(None) if when.tzinfo else when
    when, origin = lst_time(path, tags)
    if when is None:
        raise ValueError(
            f"cannot tell when {str(path)!r} was acquired: its name has no date "
            "(such as _20230620T183000_ or _20230620) and its tags none: pass "
            "time='2023-06-20T18:30'"
        )
    if origin == "TIFFTAG_DATETIME":
        warnings.warn(
            f"the acquisition time of {str(path)!r} was taken from its TIFFTAG_DATETIME "
            f"tag ({when.isoformat()}), which is often the time the file was written: "
            "pass time= if it is not the acquisition time",
            UserWarning,
            stacklevel=3,
        )
    return when


def _window(raster: RasterHeader, area: Grid | None) -> tuple[slice, slice]:
    """The rows and columns of the file that touch ``area`` (all of them when None).

    Raises
    ------
    ValueError
        The file does not overlap ``area``.
    """
    if area is None:
        return slice(None), slice(None)
    window = crop_window(raster, area)
    if window is None:
        raise ValueError(
            f"the LST file {str(raster.path)!r} (lon/lat bounds {raster.bounds_lonlat()}) does "
            f"not overlap the area (lon/lat bounds "
            f"{tuple(round(v, 4) for v in area.bounds_lonlat())}): choose another area "
            "or file"
        )
    return window


def _read_kelvin(
    lst_file: _LstFile,
    window: tuple[slice, slice],
    band: int,
    scale: float,
    offset: float,
    chunks: int,
) -> xr.DataArray:
    """The file's ``band`` in ``window`` as lazy float32 kelvin ``(y, x)``, NaN = nodata:
    kelvin = stored value x ``scale`` + ``offset``."""
    import rioxarray
    from dask.base import tokenize

    raster, path = lst_file.raster, lst_file.raster.path
    rows, cols = window
    array = rioxarray.open_rasterio(path, lock=False, cache=False)
    array = array.isel(band=band - 1, drop=True).drop_vars("spatial_ref", errors="ignore")
    array = array.isel(y=rows, x=cols)
    token = tokenize(str(path), os.path.getmtime(path), band, repr(window), chunks)
    array = array.chunk({"y": chunks, "x": chunks}, name_prefix="files-lst-", token=token)
    array.attrs, array.encoding = {}, {}
    raw = array.astype("float64")
    valid = np.isfinite(raw)
    nodata = lst_file.nodata
    if nodata is not None and np.isfinite(nodata):
        valid = valid & (raw != nodata)
    kelvin = (raw * scale + offset).where(valid).astype("float32")
    t = raster.transform
    return kelvin.assign_coords(
        x=t.c + t.a * (np.arange(raster.width)[cols] + 0.5),
        y=t.f + t.e * (np.arange(raster.height)[rows] + 0.5),
    )


def _check_kelvin(lst: xr.DataArray, path: Path) -> None:
    """Raise if most valid values are outside :data:`KELVIN_RANGE` (reads a sample); warn if
    there is no valid value. Called by :func:`load_lst` (stacklevel=3 points at its caller)."""
    step = max(1, int(np.ceil(np.sqrt(lst.size / 250_000))))
    sample = np.asarray(lst.isel(y=slice(None, None, step), x=slice(None, None, step)).values)
    values = sample[np.isfinite(sample)]
    if values.size == 0:
        warnings.warn(
            f"every LST pixel of {str(path)!r} in the area is nodata", UserWarning, stacklevel=3
        )
        return
    low, high = KELVIN_RANGE
    inside = np.mean((values >= low) & (values <= high))
    if inside >= 0.5:
        return
    median = float(np.median(values))
    if -90 <= median <= 70:
        guess = "degrees Celsius: pass offset=273.15 (and scale=1)"
    elif median > 1000 or float(np.max(values)) > 1000:
        guess = (
            "raw digital numbers: the file carries no scale/offset metadata, pass scale= and "
            "offset= (e.g. scale=0.02, offset=290)"
        )
    else:
        guess = "a wrong unit or scaling: pass scale= and offset= so that the values are kelvin"
    raise ValueError(
        f"the LST of {str(path)!r} does not look like kelvin: {1 - inside:.0%} of the valid "
        f"values are outside {low:g}..{high:g} K (median {median:g}). They look like {guess}."
    )


def _stack(layers: list[_LstLayer]) -> xr.DataArray:
    """The files' kelvin as one ``(time, y, x)`` array, sorted by time; they must share a grid."""
    layers = sorted(layers, key=lambda layer: layer.time)
    first = layers[0]
    for layer in layers[1:]:
        same = (
            layer.crs == first.crs
            and layer.data.shape == first.data.shape
            and np.allclose(layer.data["x"], first.data["x"])
            and np.allclose(layer.data["y"], first.data["y"])
        )
        if not same:
            raise ValueError(
                f"the LST files {str(first.path)!r} and {str(layer.path)!r} are on different "
                "grids: load them one at a time"
            )
    stacked = xr.concat(
        [layer.data for layer in layers],
        dim=pd.Index(pd.DatetimeIndex([layer.time for layer in layers]), name="time"),
        join="override",
    ).transpose("time", "y", "x")
    stacked.name = "lst"
    stacked.attrs = {
        "source": "files",
        "units": "K",
        "long_name": "land surface temperature",
        "files": [str(layer.path) for layer in layers],
        "scale": first.scale,
        "offset": first.offset,
    }
    return stacked.rio.write_crs(first.crs)
