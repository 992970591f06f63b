"""Local files as collections: Sentinel-2 band files and land-surface-temperature GeoTIFFs.

:func:`load` reads Sentinel-2 band files named as in a SAFE granule
(``T10SFG_20230620T183919_B04_10m.jp2``, the L1C style ``T10SFG_20230620T183919_B04.jp2``, or the
same names as ``.tif``) into the collection contract of :mod:`compositing.contract`, the same
contract the catalog and demo sources return: ``(time, band, y, x)`` float32 reflectance x 10000,
NaN = masked, with per-image ``solar_azimuth``/``solar_zenith`` coordinates. Reading is lazy
(dask): band files at 10, 20 and 60 m are put on one grid by GDAL warped VRTs, read chunk by chunk
on compute.

:func:`load_lst` reads an LST GeoTIFF (e.g. a Sentinel-3 SLSTR LST exported to GeoTIFF) into
``(time, y, x)`` float32 kelvin on the file's own grid, cropped to the pixels that touch an area.

Decisions:

* **One image per acquisition and tile.** Band files are grouped by acquisition datetime (the
  datatake sensing time in the names) and tile. Tiles of one datatake share that datetime; by
  default they stay separate images with the same time, sorted by tile (``tiles="separate"``,
  as Earth Engine keeps granules and as :mod:`compositing.sources.stac` does, so that every
  source gives the same collection), each NaN outside its tile. ``tiles="mosaic"`` makes one
  image per datetime instead (the first tile in name order wins where both have data, the
  others fill its gaps; the ``tile`` coordinate lists them joined by ``+``). Without an area,
  files of several tiles are an error: there is no single grid to put them on.
* **The +1000 offset is removed.** From processing baseline 04.00 (products from 2022-01-25, and
  archive products reprocessed with baseline >= 04.00) L2A and L1C digital numbers carry +1000
  (``BOA_ADD_OFFSET``/``RADIO_ADD_OFFSET`` = -1000 in the product metadata). With
  ``boa_offset="auto"`` the offset is read from ``MTD_MSIL2A.xml``/``MTD_MSIL1C.xml`` when one is
  found next to the files (or in their parents up to the ``.SAFE``), else from the baseline in
  the ``.SAFE`` folder name (``_N0509_``), else inferred from the acquisition date with a
  warning. It is subtracted from every reflectance band (never from SCL, AOT or WVP); values
  are kept as they come out, including the slightly negative reflectances that water and
  shadows get (they are valid data, not nodata). Digital number 0 is nodata (NaN) in every band.
* **Band names** are the ids of the file names: ``B01`` ... ``B12``, ``B8A``, ``SCL`` (and
  ``AOT``/``WVP`` when asked for; ``TCI``, an 8-bit RGB preview, is never loaded). ``bands=``
  also accepts ``"B4"``/``"b04"`` for ``"B04"``.
"""

from __future__ import annotations

import glob
import os
import re
import warnings
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import pyproj
import rasterio
import rasterio.warp
import xarray as xr
from affine import Affine
from rasterio.enums import Resampling

from ..geo import Grid
from ..solar import solar_angles

__all__ = [
    "BAND_IDS",
    "NAME_PATTERN",
    "OFFSET_START",
    "BandFile",
    "load",
    "load_lst",
    "parse_band_file_name",
]

PathLike = str | os.PathLike
Source = PathLike | Sequence[PathLike]

#: Band ids in output order (when ``bands`` is not given).
REFLECTANCE_BANDS = (
    "B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B10", "B11", "B12",
)  # fmt: skip
CLASS_BANDS = ("SCL",)
#: Loaded only when asked for with ``bands=`` (not reflectance: AOT and WVP are scaled by 1000).
AUXILIARY_BANDS = ("AOT", "WVP")
IGNORED_BANDS = ("TCI",)
BAND_IDS = (*REFLECTANCE_BANDS, *CLASS_BANDS, *AUXILIARY_BANDS)

#: First acquisitions processed with baseline 04.00 (the +1000 offset).
OFFSET_START = pd.Timestamp("2022-01-25")
#: The offset (in digital numbers) that baseline >= 04.00 adds.
BASELINE_04_OFFSET = 1000.0

NAME_PATTERN = (
    "T<tile>_<YYYYMMDDTHHMMSS>_<band>[_<10|20|60>m].<jp2|tif> "
    "(e.g. T10SFG_20230620T183919_B04_10m.jp2 or T10SFG_20230620T183919_B04.jp2)"
)
_NAME_RE = re.compile(
    r"^(?P<tile>T\d{2}[A-Z]{3})_(?P<datetime>\d{8}T\d{6})_"
    r"(?P<band>B0[1-9]|B1[0-2]|B8A|SCL|AOT|WVP|TCI)(?:_(?P<res>10|20|60)m)?"
    r"\.(?P<ext>jp2|tiff?)$",
    re.IGNORECASE,
)
_BAND_SUFFIXES = (".jp2", ".tif", ".tiff")
_LST_SUFFIXES = (".tif", ".tiff")
_OPTIONS = ("boa_offset", "tiles", "chunks")
_LST_OPTIONS = ("scale", "offset", "time", "band", "chunks")
#: Kelvin sanity range for LST, and the share of valid pixels that must fall in it.
KELVIN_RANGE = (150.0, 400.0)


# --------------------------------------------------------------------------------------------
# Names and paths


@dataclass(frozen=True)
class BandFile:
    """A Sentinel-2 band file and what its name says.

    Attributes
    ----------
    path
        The file.
    tile
        The MGRS tile id with its ``T``, e.g. ``"T10SFG"``.
    time
        The acquisition (datatake sensing) datetime, UTC-naive.
    band
        The band id, e.g. ``"B04"``, ``"B8A"``, ``"SCL"``.
    resolution
        The resolution in the name (10, 20, 60) or None (L1C-style names).
    """

    path: Path
    tile: str
    time: pd.Timestamp
    band: str
    resolution: int | None

    @property
    def stamp(self) -> str:
        """The datetime as in the names, ``YYYYMMDDTHHMMSS``."""
        return self.time.strftime("%Y%m%dT%H%M%S")


def parse_band_file_name(path: PathLike) -> BandFile:
    """Parse a SAFE-style band file name: tile, acquisition datetime, band and resolution.

    Parameters
    ----------
    path
        The file (only its name is looked at), e.g. ``T10SFG_20230620T183919_B04_10m.jp2``.

    Raises
    ------
    ValueError
        The name does not follow :data:`NAME_PATTERN`, or its datetime is not a date.
    """
    path = Path(os.fspath(path))
    match = _NAME_RE.match(path.name)
    if match is None:
        raise ValueError(
            f"cannot read {str(path)!r} as a Sentinel-2 band file: the name must be "
            f"{NAME_PATTERN}. For a land-surface-temperature GeoTIFF use load_lst."
        )
    try:
        time = pd.Timestamp(pd.to_datetime(match["datetime"], format="%Y%m%dT%H%M%S"))
    except ValueError:
        raise ValueError(
            f"{str(path)!r} has {match['datetime']!r} where the acquisition datetime "
            "YYYYMMDDTHHMMSS should be"
        ) from None
    resolution = int(match["res"]) if match["res"] else None
    return BandFile(path, match["tile"].upper(), time, match["band"].upper(), resolution)


def _is_band_file_name(name: str) -> bool:
    return _NAME_RE.match(name) is not None


def _resolve(
    source: Source, suffixes: tuple[str, ...], accept: Callable[[str], bool], what: str
) -> list[tuple[Path, bool]]:
    """The files of ``source`` as ``(path, explicit)``: explicit paths are kept whatever their
    name; files found in a directory (recursively) or by a glob pattern are kept when
    ``accept(name)``."""
    if isinstance(source, (str, os.PathLike)):
        items: list[object] = [source]
    elif isinstance(source, Iterable):
        items = list(source)
        if not items:
            raise ValueError("source is an empty list of paths")
    else:
        raise TypeError(
            f"source must be a path, a list of paths, a directory or a glob pattern, "
            f"not {type(source).__name__}"
        )
    found: list[tuple[Path, bool]] = []
    for item in items:
        if not isinstance(item, (str, os.PathLike)):
            raise TypeError(f"source paths must be str or os.PathLike, not {type(item).__name__}")
        text = os.path.expanduser(os.fspath(item))
        path = Path(text)
        if any(char in text for char in "*?["):
            matches = sorted(Path(m) for m in glob.glob(text, recursive=True))
            files = [m for m in matches if m.is_file()]
            if not files:
                raise FileNotFoundError(f"no files match the pattern {text!r}")
            kept = [m for m in files if accept(m.name)]
            if not kept:
                names = ", ".join(m.name for m in files[:5])
                raise FileNotFoundError(
                    f"none of the {len(files)} files matching {text!r} is {what} "
                    f"(found {names}{', ...' if len(files) > 5 else ''})"
                )
            found += [(m, False) for m in kept]
        elif path.is_dir():
            files = sorted(
                p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in suffixes
            )
            kept = [p for p in files if accept(p.name)]
            if not kept:
                seen = ""
                if files:
                    kinds = "/".join(suffixes)
                    seen = f"; it has {len(files)} other {kinds} files such as {files[0].name}"
                raise FileNotFoundError(
                    f"no files in the directory {str(path)!r} (or its subdirectories) are "
                    f"{what}{seen}"
                )
            found += [(p, False) for p in kept]
        elif path.is_file():
            found.append((path, True))
        else:
            hint = ""
            if os.sep not in text and "." not in text:
                from . import SOURCES

                hint = f" (the named sources are {', '.join(map(repr, SOURCES))})"
            raise FileNotFoundError(f"no such file or directory: {text!r}{hint}")
    unique: dict[Path, tuple[Path, bool]] = {}
    for path, explicit in found:
        key = path.resolve()
        if key not in unique or explicit:
            unique[key] = (path, explicit)
    return list(unique.values())


def _normalize_times(
    start: pd.Timestamp | None, end: pd.Timestamp | None
) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    def naive(t: pd.Timestamp | None) -> pd.Timestamp | None:
        if t is None:
            return None
        t = pd.Timestamp(t)
        return t.tz_convert(None) if t.tzinfo else t

    return naive(start), naive(end)


def _in_range(time: pd.Timestamp, start: pd.Timestamp | None, end: pd.Timestamp | None) -> bool:
    return (start is None or time >= start) and (end is None or time < end)


def _range_text(start: pd.Timestamp | None, end: pd.Timestamp | None) -> str:
    left = start.isoformat() if start is not None else "the beginning"
    right = end.isoformat() if end is not None else "the end"
    return f"{left} .. {right} (end exclusive)"


def _normalize_band(name: str) -> str:
    text = str(name).strip().upper()
    match = re.fullmatch(r"B0?(\d{1,2})", text)
    if match and 1 <= int(match[1]) <= 12:
        return f"B{int(match[1]):02d}"
    if text in ("B8A", "B08A"):
        return "B8A"
    return text


# --------------------------------------------------------------------------------------------
# Raster headers and grids


@dataclass(frozen=True)
class _Raster:
    path: Path
    crs: rasterio.crs.CRS | None
    transform: Affine
    width: int
    height: int
    count: int
    nodata: float | None

    @property
    def resolution(self) -> float:
        return abs(self.transform.a)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        t = self.transform
        xs = (t.c, t.c + t.a * self.width)
        ys = (t.f, t.f + t.e * self.height)
        return min(xs), min(ys), max(xs), max(ys)


def _read_header(path: Path) -> _Raster:
    try:
        with rasterio.open(path) as src:
            return _Raster(
                path, src.crs, src.transform, src.width, src.height, src.count, src.nodata
            )
    except rasterio.errors.RasterioIOError as error:
        raise ValueError(f"cannot read {str(path)!r} as a raster: {error}") from None


def _check_north_up(raster: _Raster) -> None:
    t = raster.transform
    if t.b != 0 or t.d != 0 or t.a <= 0 or t.e >= 0:
        raise ValueError(
            f"{str(raster.path)!r} is not a north-up raster (its transform is {tuple(t)[:6]}): "
            "warp it to a north-up grid first (gdalwarp)"
        )
    if raster.crs is None:
        raise ValueError(f"{str(raster.path)!r} has no CRS: it cannot be placed on a map")


def _to_pyproj(crs: rasterio.crs.CRS) -> pyproj.CRS:
    epsg = crs.to_epsg()
    return pyproj.CRS.from_epsg(epsg) if epsg else pyproj.CRS.from_wkt(crs.to_wkt())


def _same_crs(crs: rasterio.crs.CRS, other: pyproj.CRS) -> bool:
    return _to_pyproj(crs).equals(other, ignore_axis_order=True)


def _own_grid(rasters: Sequence[_Raster]) -> Grid:
    """The grid of the finest files: their resolution, CRS and (union of) extents."""
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
    return Grid(_to_pyproj(finest.crs), float(resolution), left, top, width, height)


def _grid_matches(raster: _Raster, grid: Grid) -> bool:
    return (
        raster.width == grid.width
        and raster.height == grid.height
        and raster.transform.almost_equals(grid.transform, precision=1e-6 * grid.resolution)
        and _same_crs(raster.crs, grid.crs)
    )


def _resolution_in(raster: _Raster, crs: pyproj.CRS) -> float:
    """The file's pixel size expressed in ``crs`` units."""
    if _same_crs(raster.crs, crs):
        return raster.resolution
    transform, _, _ = rasterio.warp.calculate_default_transform(
        raster.crs, rasterio.crs.CRS.from_wkt(crs.to_wkt()), raster.width, raster.height,
        *raster.bounds,
    )  # fmt: skip
    return abs(transform.a)


def _resampling(band: str, raster: _Raster, grid: Grid) -> Resampling:
    """Nearest for classes; average going coarser; bilinear going finer or across grids;
    nearest for the same pixel size on a pixel-aligned lattice (an exact copy)."""
    if band in CLASS_BANDS:
        return Resampling.nearest
    ratio = grid.resolution / _resolution_in(raster, grid.crs)
    if ratio > 1 + 1e-6:
        return Resampling.average
    if ratio < 1 - 1e-6:
        return Resampling.bilinear
    if _same_crs(raster.crs, grid.crs):
        shift_x = (grid.left - raster.transform.c) / grid.resolution
        shift_y = (raster.transform.f - grid.top) / grid.resolution
        if abs(shift_x - round(shift_x)) < 1e-6 and abs(shift_y - round(shift_y)) < 1e-6:
            return Resampling.nearest
    return Resampling.bilinear


def _open_on_grid(raster: _Raster, band: str, grid: Grid, chunks: int) -> xr.DataArray:
    """One band file as a lazy float32 ``(y, x)`` array on ``grid``; 0 and nodata -> NaN."""
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


# --------------------------------------------------------------------------------------------
# SAFE metadata: the offset and the sun angles


@dataclass(frozen=True)
class _ProductMetadata:
    path: Path
    stamp: str | None
    tile: str | None
    baseline: str | None
    offsets: dict[str, float]


@dataclass(frozen=True)
class _TileMetadata:
    path: Path
    tile: str | None
    day: str | None
    zenith: float | None
    azimuth: float | None


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


@lru_cache(maxsize=64)
def _read_product_metadata(path: str, mtime: float) -> _ProductMetadata | None:
    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, OSError):
        return None
    stamp = tile = baseline = None
    # The band ids of Spectral_Information_List, in case the file has none.
    names = dict(enumerate(REFLECTANCE_BANDS))
    raw_offsets: dict[int, float] = {}
    for element in root.iter():
        tag = _local(element.tag)
        text = (element.text or "").strip()
        if tag == "PRODUCT_URI" and text:
            found = re.search(r"_(\d{8}T\d{6})_", text)
            stamp = found[1] if found else stamp
            found = re.search(r"_(T\d{2}[A-Z]{3})_", text)
            tile = found[1] if found else tile
        elif tag == "PRODUCT_START_TIME" and text and stamp is None:
            digits = re.sub(r"[-:]", "", text)[:15]
            stamp = digits if re.fullmatch(r"\d{8}T\d{6}", digits) else None
        elif tag == "PROCESSING_BASELINE" and text:
            baseline = text
        elif tag == "Spectral_Information":
            band_id, physical = element.get("bandId"), element.get("physicalBand")
            if band_id is not None and physical:
                names[int(band_id)] = _normalize_band(physical)
        elif tag in ("BOA_ADD_OFFSET", "RADIO_ADD_OFFSET") and element.get("band_id") is not None:
            try:
                raw_offsets[int(element.get("band_id"))] = float(text)
            except ValueError:
                continue
    offsets = {names.get(i, str(i)): value for i, value in raw_offsets.items()}
    return _ProductMetadata(Path(path), stamp, tile, baseline, offsets)


@lru_cache(maxsize=256)
def _read_tile_metadata(path: str, mtime: float) -> _TileMetadata | None:
    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, OSError):
        return None
    tile = day = None
    zenith = azimuth = None
    for element in root.iter():
        tag = _local(element.tag)
        text = (element.text or "").strip()
        if tag == "TILE_ID" and text:
            found = re.search(r"_(T\d{2}[A-Z]{3})_", text)
            tile = found[1] if found else None
        elif tag == "SENSING_TIME" and text:
            day = text[:10].replace("-", "")
        elif tag == "Mean_Sun_Angle":
            for child in element:
                try:
                    if _local(child.tag) == "ZENITH_ANGLE":
                        zenith = float((child.text or "").strip())
                    elif _local(child.tag) == "AZIMUTH_ANGLE":
                        azimuth = float((child.text or "").strip())
                except ValueError:
                    continue
    return _TileMetadata(Path(path), tile, day, zenith, azimuth)


def _search_dirs(path: Path) -> list[Path]:
    """The file's directory, then its parents up to the enclosing ``.SAFE`` if there is one."""
    parents = [path.parent, *path.parent.parents][:8]
    for i, directory in enumerate(parents):
        if directory.name.upper().endswith(".SAFE"):
            return parents[: i + 1]
    return parents[:1]


def _safe_baseline(path: Path) -> str | None:
    """The processing baseline in the name of the enclosing ``.SAFE`` folder (``_N0509_``)."""
    for directory in _search_dirs(path):
        found = re.search(r"_N(\d{2})(\d{2})_", directory.name)
        if directory.name.upper().endswith(".SAFE") and found:
            return f"{found[1]}.{found[2]}"
    return None


def _product_metadata(band_file: BandFile, product: str) -> _ProductMetadata | None:
    names = (f"MTD_MSI{product}.xml", "MTD_MSIL2A.xml", "MTD_MSIL1C.xml")
    for directory in _search_dirs(band_file.path):
        for name in dict.fromkeys(names):
            candidate = directory / name
            if not candidate.is_file():
                continue
            meta = _read_product_metadata(str(candidate), candidate.stat().st_mtime)
            if meta is None:
                continue
            if meta.stamp not in (None, band_file.stamp) or meta.tile not in (None, band_file.tile):
                continue  # metadata of another product
            return meta
    return None


def _tile_metadata(band_file: BandFile) -> _TileMetadata | None:
    for directory in _search_dirs(band_file.path):
        candidate = directory / "MTD_TL.xml"
        if not candidate.is_file():
            continue
        meta = _read_tile_metadata(str(candidate), candidate.stat().st_mtime)
        if meta is None or meta.zenith is None or meta.azimuth is None:
            continue
        if meta.tile not in (None, band_file.tile):
            continue
        if meta.day not in (None, band_file.time.strftime("%Y%m%d")):
            continue
        return meta
    return None


def _check_boa_offset(boa_offset: object) -> None:
    if boa_offset is None or (isinstance(boa_offset, str) and boa_offset == "auto"):
        return
    if isinstance(boa_offset, bool) or not isinstance(boa_offset, (int, float, np.number)):
        raise ValueError(
            f"boa_offset must be 'auto', a number of digital numbers to subtract (1000 for "
            f"processing baseline >= 04.00, 0 for none) or None, not {boa_offset!r}"
        )
    if not np.isfinite(boa_offset) or boa_offset < 0:
        raise ValueError(
            f"boa_offset={boa_offset!r}: give the offset the data carry, as a positive number "
            "to subtract (BOA_ADD_OFFSET = -1000 in the metadata means boa_offset=1000)"
        )


def _image_offsets(
    band_files: Sequence[BandFile], bands: Sequence[str], product: str, boa_offset: object
) -> tuple[dict[str, float], str]:
    """Digital numbers to subtract per band for one image, and how they were found
    (``"option"``, ``"metadata"``, ``"safe-name"``, ``"date"``)."""
    reflectance = [b for b in bands if b in REFLECTANCE_BANDS]
    if boa_offset is None:
        return dict.fromkeys(reflectance, 0.0), "option"
    if not isinstance(boa_offset, str):
        return dict.fromkeys(reflectance, float(boa_offset)), "option"
    first = band_files[0]
    meta = _product_metadata(first, product)
    if meta is not None:
        common = set(meta.offsets.values())
        fallback = -common.pop() if len(common) == 1 else 0.0
        offsets = {b: -meta.offsets.get(b, -fallback) for b in reflectance}
        return offsets, "metadata"
    baseline = _safe_baseline(first.path)
    if baseline is not None:
        value = BASELINE_04_OFFSET if baseline >= "04.00" else 0.0
        return dict.fromkeys(reflectance, value), "safe-name"
    value = BASELINE_04_OFFSET if first.time >= OFFSET_START else 0.0
    return dict.fromkeys(reflectance, value), "date"


# --------------------------------------------------------------------------------------------
# Sentinel-2 band files


def load(
    source: Source,
    grid: Grid | None,
    start: pd.Timestamp | None = None,
    end: pd.Timestamp | None = None,
    *,
    product: str = "L2A",
    bands: Sequence[str] | None = None,
    boa_offset: str | float | None = "auto",
    tiles: str = "separate",
    chunks: int = 2048,
    **options: object,
) -> xr.DataArray:
    """Load Sentinel-2 band files as a collection ``(time, band, y, x)``.

    Parameters
    ----------
    source
        A band file, a list of them, a directory (searched recursively, e.g. a ``.SAFE``; files
        not named like band files are skipped) or a glob pattern. Names follow
        :data:`NAME_PATTERN`.
    grid
        The output grid; None: the files' own grid (the finest resolution among them, covering
        all of them), which needs all files to be of one tile.
    start, end
        Keep acquisitions with ``start <= time < end`` (None: no bound).
    product
        ``"L2A"`` or ``"L1C"``: which metadata file the offset is read from.
    bands
        Band ids to load, in this order (default: every reflectance band and SCL found in every
        image). ``AOT`` and ``WVP`` are loaded only when asked for.
    boa_offset
        ``"auto"`` (metadata, else the ``.SAFE`` name's baseline, else the date with a warning),
        a number of digital numbers to subtract from the reflectance bands (``1000`` for
        baseline >= 04.00, ``0`` to keep the values as stored), or None (same as 0).
    tiles
        ``"separate"`` (one image per acquisition and tile, sorted by time then tile) or
        ``"mosaic"`` (the tiles of one acquisition become one image).
    chunks
        Dask chunk side in pixels.

    Returns
    -------
    xarray.DataArray
        float32 reflectance x 10000 (SCL as class numbers), NaN = nodata; coordinates ``time``,
        ``band``, ``y``/``x`` (pixel centres), per image ``tile``, ``solar_azimuth``,
        ``solar_zenith`` and ``boa_offset_removed``; the CRS via ``.rio.crs``; attrs ``source``,
        ``product``, ``files`` and ``boa_offset_removed`` (the largest offset removed).

    Raises
    ------
    FileNotFoundError
        A missing file, or a directory or pattern with no band files.
    ValueError
        A name that is not a band file's, no acquisition in the dates, a missing band, several
        tiles (or CRSs) with no ``grid``, or a bad option.
    """
    import rioxarray  # noqa: F401  (registers the .rio accessor)

    if options:
        raise TypeError(
            f"unexpected options for local files: {sorted(options)}; they accept "
            f"{', '.join(_OPTIONS)}"
        )
    if tiles not in ("mosaic", "separate"):
        raise ValueError(f"tiles must be 'mosaic' or 'separate', not {tiles!r}")
    if not isinstance(chunks, (int, np.integer)) or chunks < 1:
        raise ValueError(f"chunks must be a positive number of pixels, not {chunks!r}")
    _check_boa_offset(boa_offset)
    start, end = _normalize_times(start, end)
    requested = None if bands is None else [_normalize_band(b) for b in bands]
    if requested is not None:
        if not requested:
            raise ValueError("bands is empty: give at least one band id, e.g. ['B04', 'B08']")
        duplicates = sorted({b for b in requested if requested.count(b) > 1})
        if duplicates:
            raise ValueError(f"bands lists {duplicates} more than once")
        if "TCI" in requested:
            raise ValueError(
                "TCI is an 8-bit RGB preview, not a band: ask for bands=['B04', 'B03', 'B02']"
            )

    paths = _resolve(source, _BAND_SUFFIXES, _is_band_file_name, f"named like {NAME_PATTERN}")
    for path, _ in paths:
        if path.suffix.lower() == ".json":
            raise ValueError(
                f"{str(path)!r}: STAC catalogs are not read by the local-file loader; "
                "pass the band files (or their directory)"
            )
    band_files = [parse_band_file_name(path) for path, _ in paths]
    band_files = [f for f in band_files if f.band not in IGNORED_BANDS]
    if not band_files:
        raise FileNotFoundError(f"{source!r} holds only TCI previews, no band files")

    in_range = [f for f in band_files if _in_range(f.time, start, end)]
    if not in_range:
        found = sorted({f.time.isoformat() for f in band_files})
        raise ValueError(
            f"none of the acquisitions of the files ({', '.join(found)}) is in "
            f"{_range_text(start, end)}: change dates="
        )

    # Group by acquisition (and tile); per band the finest resolution file.
    groups: dict[tuple[pd.Timestamp, str], dict[str, list[BandFile]]] = {}
    for f in in_range:
        groups.setdefault((f.time, f.tile), {}).setdefault(f.band, []).append(f)
    keys = sorted(groups)
    found_bands = {key: set(groups[key]) for key in keys}

    def describe(key: tuple[pd.Timestamp, str]) -> str:
        return f"{key[1]} {key[0].isoformat()}"

    if requested is not None:
        for key in keys:
            missing = [b for b in requested if b not in found_bands[key]]
            if missing:
                have = [b for b in BAND_IDS if b in found_bands[key]]
                raise ValueError(
                    f"band {missing[0]!r} is not among the files of {describe(key)} "
                    f"(found {have}); band files are named like {NAME_PATTERN}"
                )
        selected = requested
    else:
        defaults = (*REFLECTANCE_BANDS, *CLASS_BANDS)
        everywhere = set.intersection(*found_bands.values())
        anywhere = set.union(*found_bands.values())
        selected = [b for b in defaults if b in everywhere]
        partial = [b for b in defaults if b in anywhere and b not in everywhere]
        if not selected:
            raise ValueError(
                "no band is present in every acquisition: "
                + "; ".join(f"{describe(k)} has {sorted(found_bands[k])}" for k in keys)
                + ". Load the acquisitions separately, or pass bands="
            )
        if partial:
            warnings.warn(
                f"bands {partial} are missing from some acquisitions and were left out so that "
                f"every image has every band (kept: {selected}); load those acquisitions "
                "separately to get them",
                UserWarning,
                stacklevel=2,
            )

    chosen: dict[tuple[pd.Timestamp, str], dict[str, _Raster]] = {}
    for key in keys:
        chosen[key] = {}
        for band in selected:
            rasters = [_read_header(f.path) for f in groups[key][band]]
            for raster in rasters:
                _check_north_up(raster)
            finest = min(r.resolution for r in rasters)
            best = [r for r in rasters if abs(r.resolution - finest) < 1e-9 * finest]
            if len(best) > 1:
                raise ValueError(
                    f"several files for band {band} of {describe(key)} at {finest:g}: "
                    f"{', '.join(str(r.path) for r in best)}; keep one"
                )
            chosen[key][band] = best[0]

    if grid is None:
        tile_ids = sorted({key[1] for key in keys})
        if len(tile_ids) > 1:
            raise ValueError(
                f"the files cover {len(tile_ids)} tiles ({', '.join(tile_ids)}) and no area was "
                "given: give one (point=(lon, lat) with size_m, or bbox=(west, south, east, "
                "north)) so the tiles can be put on one grid"
            )
        grid = _own_grid([r for per_band in chosen.values() for r in per_band.values()])

    # Offsets per image.
    offsets: dict[tuple[pd.Timestamp, str], dict[str, float]] = {}
    inferred: list[str] = []
    for key in keys:
        files_of_image = [f for band in selected for f in groups[key][band]]
        offsets[key], how = _image_offsets(files_of_image, selected, product, boa_offset)
        if how == "date" and any(offsets[key].values()):
            inferred.append(describe(key))
    if inferred:
        warnings.warn(
            f"no {product} metadata (MTD_MSI{product}.xml) was found next to the files of "
            f"{', '.join(inferred)}: the +1000 offset of processing baseline >= 04.00 "
            f"(acquisitions from {OFFSET_START.date()}) was inferred from the date and "
            "subtracted. Put the product's metadata file beside the band files, or pass "
            "boa_offset=0 if these values carry no offset (boa_offset=1000 to confirm it).",
            UserWarning,
            stacklevel=2,
        )

    # Images, then the collection.
    images: list[xr.DataArray] = []
    image_keys: list[list[tuple[pd.Timestamp, str]]] = []
    by_time: dict[pd.Timestamp, list[tuple[pd.Timestamp, str]]] = {}
    for key in keys:
        by_time.setdefault(key[0], []).append(key)
    for time in sorted(by_time):
        members = by_time[time]
        layers = [_image(chosen[k], selected, offsets[k], grid, chunks) for k in members]
        if tiles == "mosaic":
            combined = layers[0]
            for layer in layers[1:]:
                combined = combined.fillna(layer)
            images.append(combined)
            image_keys.append(members)
        else:
            images.extend(layers)
            image_keys.extend([k] for k in members)

    times = pd.DatetimeIndex([members[0][0] for members in image_keys])
    azimuth, zenith = _sun_angles(image_keys, groups, selected, times, grid)
    removed = [
        max((offsets[k].get(b, 0.0) for k in members for b in selected), default=0.0)
        for members in image_keys
    ]
    collection = xr.concat(images, dim="time", join="exact", coords="minimal", compat="override")
    collection = collection.assign_coords(
        time=times.values,
        band=list(selected),
        x=grid.x,
        y=grid.y,
        tile=("time", ["+".join(k[1] for k in members) for members in image_keys]),
        solar_azimuth=("time", np.asarray(azimuth, dtype="float64")),
        solar_zenith=("time", np.asarray(zenith, dtype="float64")),
        boa_offset_removed=("time", np.asarray(removed, dtype="float64")),
    ).transpose("time", "band", "y", "x")
    collection.name = "reflectance"
    used = [str(chosen[k][b].path) for members in image_keys for k in members for b in selected]
    collection.attrs = {
        "source": "files",
        "product": product,
        "files": used,
        "boa_offset_removed": float(max(removed)),
        "units": "reflectance x 10000 (SCL: class)",
    }
    epsg = grid.crs.to_epsg()
    collection = collection.rio.write_crs(f"EPSG:{epsg}" if epsg else grid.crs.to_wkt())
    return collection.rio.write_transform(grid.transform)


def _image(
    rasters: dict[str, _Raster],
    bands: Sequence[str],
    offsets: dict[str, float],
    grid: Grid,
    chunks: int,
) -> xr.DataArray:
    """One acquisition of one tile: ``(band, y, x)`` on ``grid``, offset removed."""
    layers = []
    for band in bands:
        layer = _open_on_grid(rasters[band], band, grid, chunks)
        offset = offsets.get(band, 0.0)
        if offset:
            layer = layer - np.float32(offset)
        layers.append(layer)
    return xr.concat(layers, dim=pd.Index(list(bands), name="band"), coords="minimal")


def _sun_angles(
    image_keys: Sequence[Sequence[tuple[pd.Timestamp, str]]],
    groups: dict[tuple[pd.Timestamp, str], dict[str, list[BandFile]]],
    bands: Sequence[str],
    times: pd.DatetimeIndex,
    grid: Grid,
) -> tuple[np.ndarray, np.ndarray]:
    """Mean sun angles per image from the granules' ``MTD_TL.xml``, else computed at the grid
    centre."""
    centre_x = grid.left + grid.width * grid.resolution / 2
    centre_y = grid.top - grid.height * grid.resolution / 2
    to_lonlat = pyproj.Transformer.from_crs(grid.crs, "EPSG:4326", always_xy=True)
    lon, lat = to_lonlat.transform(centre_x, centre_y)
    azimuth, zenith = solar_angles(times, lon, lat)
    azimuth, zenith = np.array(azimuth, dtype="float64"), np.array(zenith, dtype="float64")
    for i, members in enumerate(image_keys):
        for key in members:
            meta = None
            for band in bands:
                meta = _tile_metadata(groups[key][band][0])
                if meta is not None:
                    break
            if meta is not None:
                azimuth[i], zenith[i] = meta.azimuth, meta.zenith
                break
    return azimuth, zenith


# --------------------------------------------------------------------------------------------
# Land surface temperature


def lst_time(path: Path, tags: dict[str, str]) -> tuple[pd.Timestamp | None, str]:
    """The acquisition time from the name, else from the tags; and where it came from."""
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


def _crop_window(raster: _Raster, area: Grid) -> tuple[slice, slice] | None:
    """Rows and columns of the pixels that overlap ``area``, or None."""
    to_file = pyproj.Transformer.from_crs(area.crs, _to_pyproj(raster.crs), always_xy=True)
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


def _lonlat_bounds(raster: _Raster) -> tuple[float, float, float, float]:
    to_lonlat = pyproj.Transformer.from_crs(_to_pyproj(raster.crs), "EPSG:4326", always_xy=True)
    return tuple(round(v, 4) for v in to_lonlat.transform_bounds(*raster.bounds, densify_pts=21))


def _check_kelvin(lst: xr.DataArray, path: Path) -> None:
    """Raise if most valid values are outside :data:`KELVIN_RANGE` (reads a sample)."""
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
    import rioxarray
    from dask.base import tokenize

    if options:
        raise TypeError(
            f"unexpected options for an LST file: {sorted(options)}; it accepts "
            f"{', '.join(_LST_OPTIONS)}"
        )
    if not isinstance(band, (int, np.integer)) or band < 1:
        raise ValueError(f"band must be a 1-based band number, not {band!r}")
    start, end = _normalize_times(start, end)
    paths = _resolve(
        source,
        _LST_SUFFIXES,
        lambda name: name.lower().endswith(_LST_SUFFIXES) and not _is_band_file_name(name),
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
        with rasterio.open(path) as src:
            raster = _Raster(
                path, src.crs, src.transform, src.width, src.height, src.count, src.nodata
            )
            scales, offsets, tags = src.scales, src.offsets, src.tags()
            nodata = src.nodatavals[band - 1] if band <= src.count else None
        _check_north_up(raster)
        if band > raster.count:
            raise ValueError(f"{str(path)!r} has {raster.count} band(s), not band={band}")

        if time is not None:
            when = pd.Timestamp(time)
            when = when.tz_convert(None) if when.tzinfo else when
        else:
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
                    stacklevel=2,
                )
        if not _in_range(when, start, end):
            skipped.append(f"{path.name} ({when.isoformat()})")
            continue

        window: tuple[slice, slice] | None = (slice(None), slice(None))
        if area is not None:
            window = _crop_window(raster, area)
            if window is None:
                raise ValueError(
                    f"the LST file {str(path)!r} (lon/lat bounds {_lonlat_bounds(raster)}) does "
                    f"not overlap the area (lon/lat bounds "
                    f"{tuple(round(v, 4) for v in area.bounds_lonlat())}): choose another area "
                    "or file"
                )
        rows, cols = window
        factor = float(scale) if scale is not None else float(scales[band - 1] or 1.0)
        shift = float(offset) if offset is not None else float(offsets[band - 1] or 0.0)

        array = rioxarray.open_rasterio(path, lock=False, cache=False)
        array = array.isel(band=band - 1, drop=True).drop_vars("spatial_ref", errors="ignore")
        array = array.isel(y=rows, x=cols)
        token = tokenize(str(path), os.path.getmtime(path), band, repr(window), chunks)
        array = array.chunk({"y": chunks, "x": chunks}, name_prefix="files-lst-", token=token)
        array.attrs, array.encoding = {}, {}
        raw = array.astype("float64")
        valid = np.isfinite(raw)
        if nodata is not None and np.isfinite(nodata):
            valid = valid & (raw != nodata)
        kelvin = (raw * factor + shift).where(valid).astype("float32")
        t = raster.transform
        kelvin = kelvin.assign_coords(
            x=t.c + t.a * (np.arange(raster.width)[cols] + 0.5),
            y=t.f + t.e * (np.arange(raster.height)[rows] + 0.5),
        )
        _check_kelvin(kelvin, path)
        epsg = raster.crs.to_epsg()
        layers.append(
            _LstLayer(when, kelvin, path, f"EPSG:{epsg}" if epsg else raster.crs.to_wkt(),
                      factor, shift)
        )  # fmt: skip

    if not layers:
        raise ValueError(
            f"none of the LST files is in {_range_text(start, end)}: found {', '.join(skipped)}"
        )
    layers.sort(key=lambda layer: layer.time)
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


@dataclass(frozen=True)
class _LstLayer:
    time: pd.Timestamp
    data: xr.DataArray
    path: Path
    crs: str
    scale: float
    offset: float
