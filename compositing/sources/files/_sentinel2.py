"""Sentinel-2 band files as a collection: :func:`load`, in the steps it takes (find the files,
group them into images, choose the bands and files, the grid, the offsets, then the images and
the collection)."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
import xarray as xr

from ...bands import CLASS_BANDS, REFLECTANCE_BANDS
from ...geo import LONLAT, Grid, transformer
from ...solar import sun_angles
from ._names import (
    BAND_IDS,
    BAND_SUFFIXES,
    IGNORED_BANDS,
    NAME_PATTERN,
    BandFile,
    Source,
    in_range,
    is_band_file_name,
    normalize_band,
    normalize_times,
    parse_band_file_name,
    range_text,
    resolve_paths,
)
from ._rasters import RasterHeader, check_north_up, open_on_grid, own_grid, read_header
from ._safe import (
    OFFSET_START,
    check_boa_offset,
    image_offsets,
    product_metadata,
    tile_metadata,
)

#: One image of one tile: (acquisition datetime, tile id).
ImageKey = tuple[pd.Timestamp, str]
#: The band files of each image, per band (a band may come at several resolutions).
BandGroups = dict[ImageKey, dict[str, list[BandFile]]]
#: The file chosen for each band of each image.
ChosenFiles = dict[ImageKey, dict[str, RasterHeader]]

_OPTIONS = ("boa_offset", "tiles", "chunks")


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

    _check_options(options, tiles, chunks, boa_offset)
    start, end = normalize_times(start, end)
    requested = _requested_bands(bands)
    groups = _group_images(_find_band_files(source), start, end)
    # The helpers that warn are called from here: their stacklevel=3 points at load's caller.
    selected = _select_bands(groups, requested)
    chosen = _choose_files(groups, selected)
    if grid is None:
        grid = _files_grid(chosen)
    offsets = _offsets(groups, selected, product, boa_offset)
    images, image_keys = _images(chosen, selected, offsets, grid, tiles, chunks)
    return _collection(images, image_keys, groups, chosen, selected, offsets, grid, product)


# --------------------------------------------------------------------------------------------
# Options and band names


def _check_options(
    options: dict[str, object], tiles: str, chunks: object, boa_offset: object
) -> None:
    """Raise on an unknown option or a bad value of ``tiles``, ``chunks`` or ``boa_offset``."""
    if options:
        raise TypeError(
            f"unexpected options for local files: {sorted(options)}; they accept "
            f"{', '.join(_OPTIONS)}"
        )
    if tiles not in ("mosaic", "separate"):
        raise ValueError(f"tiles must be 'mosaic' or 'separate', not {tiles!r}")
    if not isinstance(chunks, (int, np.integer)) or chunks < 1:
        raise ValueError(f"chunks must be a positive number of pixels, not {chunks!r}")
    check_boa_offset(boa_offset)


def _requested_bands(bands: Sequence[str] | None) -> list[str] | None:
    """The band ids asked for, normalized (``"B4"`` -> ``"B04"``), or None for the default."""
    if bands is None:
        return None
    requested = [normalize_band(b) for b in bands]
    if not requested:
        raise ValueError("bands is empty: give at least one band id, e.g. ['B04', 'B08']")
    duplicates = sorted({b for b in requested if requested.count(b) > 1})
    if duplicates:
        raise ValueError(f"bands lists {duplicates} more than once")
    if "TCI" in requested:
        raise ValueError(
            "TCI is an 8-bit RGB preview, not a band: ask for bands=['B04', 'B03', 'B02']"
        )
    return requested


# --------------------------------------------------------------------------------------------
# Files, images and bands


def _find_band_files(source: Source) -> list[BandFile]:
    """The band files of ``source`` (TCI previews left out)."""
    paths = resolve_paths(source, BAND_SUFFIXES, is_band_file_name, f"named like {NAME_PATTERN}")
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
    return band_files


def _group_images(
    band_files: Sequence[BandFile], start: pd.Timestamp | None, end: pd.Timestamp | None
) -> BandGroups:
    """The files in the dates, grouped by image (acquisition and tile) and band, sorted."""
    kept = [f for f in band_files if in_range(f.time, start, end)]
    if not kept:
        found = sorted({f.time.isoformat() for f in band_files})
        raise ValueError(
            f"none of the acquisitions of the files ({', '.join(found)}) is in "
            f"{range_text(start, end)}: change dates="
        )
    groups: BandGroups = {}
    for f in kept:
        groups.setdefault((f.time, f.tile), {}).setdefault(f.band, []).append(f)
    return {key: groups[key] for key in sorted(groups)}


def _describe(key: ImageKey) -> str:
    return f"{key[1]} {key[0].isoformat()}"


def _select_bands(groups: BandGroups, requested: list[str] | None) -> list[str]:
    """The bands to load: the requested ones (each image must have them), else the reflectance
    bands and SCL that every image has (with a warning naming those some images lack)."""
    found_bands = {key: set(per_band) for key, per_band in groups.items()}
    if requested is not None:
        for key, present in found_bands.items():
            missing = [b for b in requested if b not in present]
            if missing:
                have = [b for b in BAND_IDS if b in present]
                raise ValueError(
                    f"band {missing[0]!r} is not among the files of {_describe(key)} "
                    f"(found {have}); band files are named like {NAME_PATTERN}"
                )
        return requested
    defaults = (*REFLECTANCE_BANDS, *CLASS_BANDS)
    everywhere = set.intersection(*found_bands.values())
    anywhere = set.union(*found_bands.values())
    selected = [b for b in defaults if b in everywhere]
    partial = [b for b in defaults if b in anywhere and b not in everywhere]
    if not selected:
        raise ValueError(
            "no band is present in every acquisition: "
            + "; ".join(f"{_describe(k)} has {sorted(v)}" for k, v in found_bands.items())
            + ". Load the acquisitions separately, or pass bands="
        )
    if partial:
        warnings.warn(
            f"bands {partial} are missing from some acquisitions and were left out so that "
            f"every image has every band (kept: {selected}); load those acquisitions "
            "separately to get them",
            UserWarning,
            stacklevel=3,
        )
    return selected


def _choose_files(groups: BandGroups, bands: Sequence[str]) -> ChosenFiles:
    """Per image and band, the header of the finest-resolution file (one, or an error)."""
    chosen: ChosenFiles = {}
    for key, per_band in groups.items():
        chosen[key] = {}
        for band in bands:
            rasters = [read_header(f.path) for f in per_band[band]]
            for raster in rasters:
                check_north_up(raster)
            finest = min(r.resolution for r in rasters)
            best = [r for r in rasters if abs(r.resolution - finest) < 1e-9 * finest]
            if len(best) > 1:
                raise ValueError(
                    f"several files for band {band} of {_describe(key)} at {finest:g}: "
                    f"{', '.join(str(r.path) for r in best)}; keep one"
                )
            chosen[key][band] = best[0]
    return chosen


def _files_grid(chosen: ChosenFiles) -> Grid:
    """The files' own grid, when no area was given: they must be of one tile."""
    tile_ids = sorted({key[1] for key in chosen})
    if len(tile_ids) > 1:
        raise ValueError(
            f"the files cover {len(tile_ids)} tiles ({', '.join(tile_ids)}) and no area was "
            "given: give one (point=(lon, lat) with size_m, or bbox=(west, south, east, "
            "north)) so the tiles can be put on one grid"
        )
    return own_grid([r for per_band in chosen.values() for r in per_band.values()])


def _offsets(
    groups: BandGroups, bands: Sequence[str], product: str, boa_offset: object
) -> dict[ImageKey, dict[str, float]]:
    """The offset to subtract per image and band; a warning names the images whose offset
    was inferred from the date alone."""
    offsets: dict[ImageKey, dict[str, float]] = {}
    inferred: list[str] = []
    for key, per_band in groups.items():
        files_of_image = [f for band in bands for f in per_band[band]]
        offsets[key], how = image_offsets(files_of_image, bands, product, boa_offset)
        if how == "date" and any(offsets[key].values()):
            inferred.append(_describe(key))
    if inferred:
        warnings.warn(
            f"no {product} metadata (MTD_MSI{product}.xml) was found next to the files of "
            f"{', '.join(inferred)}: the +1000 offset of processing baseline >= 04.00 "
            f"(acquisitions from {OFFSET_START.date()}) was inferred from the date and "
            "subtracted. Put the product's metadata file beside the band files, or pass "
            "boa_offset=0 if these values carry no offset (boa_offset=1000 to confirm it).",
            UserWarning,
            stacklevel=3,
        )
    return offsets


# --------------------------------------------------------------------------------------------
# Images and the collection


def _images(
    chosen: ChosenFiles,
    bands: Sequence[str],
    offsets: dict[ImageKey, dict[str, float]],
    grid: Grid,
    tiles: str,
    chunks: int,
) -> tuple[list[xr.DataArray], list[list[ImageKey]]]:
    """The output images, sorted by time (then tile), and the image keys each one is made of:
    one per image, or with ``tiles="mosaic"`` the tiles of one acquisition filling each other's
    gaps in name order."""
    images: list[xr.DataArray] = []
    image_keys: list[list[ImageKey]] = []
    by_time: dict[pd.Timestamp, list[ImageKey]] = {}
    for key in chosen:
        by_time.setdefault(key[0], []).append(key)
    for time in sorted(by_time):
        members = by_time[time]
        layers = [_image(chosen[k], bands, offsets[k], grid, chunks) for k in members]
        if tiles == "mosaic":
            combined = layers[0]
            for layer in layers[1:]:
                combined = combined.fillna(layer)
            images.append(combined)
            image_keys.append(members)
        else:
            images.extend(layers)
            image_keys.extend([k] for k in members)
    return images, image_keys


def _image(
    rasters: dict[str, RasterHeader],
    bands: Sequence[str],
    offsets: dict[str, float],
    grid: Grid,
    chunks: int,
) -> xr.DataArray:
    """One acquisition of one tile: ``(band, y, x)`` on ``grid``, offset removed."""
    layers = []
    for band in bands:
        layer = open_on_grid(rasters[band], band, grid, chunks)
        offset = offsets.get(band, 0.0)
        if offset:
            layer = layer - np.float32(offset)
        layers.append(layer)
    return xr.concat(layers, dim=pd.Index(list(bands), name="band"), coords="minimal")


def _collection(
    images: list[xr.DataArray],
    image_keys: list[list[ImageKey]],
    groups: BandGroups,
    chosen: ChosenFiles,
    bands: Sequence[str],
    offsets: dict[ImageKey, dict[str, float]],
    grid: Grid,
    product: str,
) -> xr.DataArray:
    """The images as the collection contract: coordinates per image, attrs, CRS and transform."""
    times = pd.DatetimeIndex([members[0][0] for members in image_keys])
    azimuth, zenith = _sun_angles(image_keys, groups, bands, times, grid)
    properties = _image_properties(image_keys, groups, bands, product)
    removed = [
        max((offsets[k].get(b, 0.0) for k in members for b in bands), default=0.0)
        for members in image_keys
    ]
    collection = xr.concat(images, dim="time", join="exact", coords="minimal", compat="override")
    collection = collection.assign_coords(
        time=times.values,
        band=list(bands),
        x=grid.x,
        y=grid.y,
        tile=("time", ["+".join(k[1] for k in members) for members in image_keys]),
        solar_azimuth=("time", np.asarray(azimuth, dtype="float64")),
        solar_zenith=("time", np.asarray(zenith, dtype="float64")),
        boa_offset_removed=("time", np.asarray(removed, dtype="float64")),
        **properties,
    ).transpose("time", "band", "y", "x")
    collection.name = "reflectance"
    used = [str(chosen[k][b].path) for members in image_keys for k in members for b in bands]
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


def _image_properties(
    image_keys: Sequence[Sequence[ImageKey]],
    groups: BandGroups,
    bands: Sequence[str],
    product: str,
) -> dict[str, tuple[str, list]]:
    """Each image's properties (compositing.properties) from its product's ``MTD_MSI*.xml``
    (a mosaic's first tile that has one): ``id`` (the product URI, else the acquisition and
    tiles), ``platform``, ``cloud_cover`` (NaN without metadata) and ``mgrs_tile``."""
    ids, platforms, covers, tiles = [], [], [], []
    for members in image_keys:
        meta = next(
            (
                found
                for key in members
                for band in bands
                if (found := product_metadata(groups[key][band][0], product)) is not None
            ),
            None,
        )
        names = [tile.removeprefix("T") for _, tile in members]
        fallback = f"{members[0][0]:%Y%m%dT%H%M%S}_" + "+".join(f"T{n}" for n in names)
        ids.append(meta.uri if meta is not None and meta.uri else fallback)
        platforms.append(meta.spacecraft if meta is not None and meta.spacecraft else "")
        covers.append(
            meta.cloud_cover if meta is not None and meta.cloud_cover is not None else np.nan
        )
        tiles.append("+".join(names))
    return {
        "id": ("time", ids),
        "platform": ("time", platforms),
        "cloud_cover": ("time", covers),
        "mgrs_tile": ("time", tiles),
    }


def _sun_angles(
    image_keys: Sequence[Sequence[ImageKey]],
    groups: BandGroups,
    bands: Sequence[str],
    times: pd.DatetimeIndex,
    grid: Grid,
) -> tuple[np.ndarray, np.ndarray]:
    """Mean sun angles per image from the granules' ``MTD_TL.xml`` (a mosaic's first tile that
    has one), else computed at the grid centre."""
    azimuth = np.full(len(image_keys), np.nan)
    zenith = np.full(len(image_keys), np.nan)
    for i, members in enumerate(image_keys):
        meta = next(
            (
                found
                for key in members
                for band in bands
                if (found := tile_metadata(groups[key][band][0])) is not None
            ),
            None,
        )
        if meta is not None:
            azimuth[i], zenith[i] = meta.azimuth, meta.zenith
    # The centre from the corner and the shape, as this loader always computed it (the sum of
    # Grid.bounds can differ in the last bit, and so the angles).
    centre_x = grid.left + grid.width * grid.resolution / 2
    centre_y = grid.top - grid.height * grid.resolution / 2
    lon, lat = transformer(grid.crs, LONLAT).transform(centre_x, centre_y)
    return sun_angles(times, lon, lat, azimuth=azimuth, zenith=zenith)
