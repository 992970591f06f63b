"""SAFE metadata beside band files: the product's ``MTD_MSIL2A.xml``/``MTD_MSIL1C.xml`` (the
processing baseline and its +1000 offset), the granule's ``MTD_TL.xml`` (the mean sun angles),
and the offset to subtract from each image."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from ...bands import REFLECTANCE_BANDS
from ._names import BandFile, normalize_band

#: First acquisitions processed with baseline 04.00 (the +1000 offset).
OFFSET_START = pd.Timestamp("2022-01-25")
#: The offset (in digital numbers) that baseline >= 04.00 adds.
BASELINE_04_OFFSET = 1000.0


@dataclass(frozen=True)
class ProductMetadata:
    """What a product's ``MTD_MSIL*.xml`` says.

    Attributes
    ----------
    path
        The metadata file.
    stamp
        The acquisition datetime ``YYYYMMDDTHHMMSS`` of the product, if it says.
    tile
        Its tile id (``T10SFG``), if its product URI says.
    baseline
        Its processing baseline (``"05.09"``), if it says.
    offsets
        ``BOA_ADD_OFFSET``/``RADIO_ADD_OFFSET`` per band id (``-1000.0`` from baseline 04.00).
    uri
        Its ``PRODUCT_URI`` without ``.SAFE``, if it says.
    spacecraft
        Its ``SPACECRAFT_NAME`` (``Sentinel-2A``), if it says.
    cloud_cover
        Its ``Cloud_Coverage_Assessment`` (percent), if it says.
    """

    path: Path
    stamp: str | None
    tile: str | None
    baseline: str | None
    offsets: dict[str, float]
    uri: str | None = None
    spacecraft: str | None = None
    cloud_cover: float | None = None


@dataclass(frozen=True)
class TileMetadata:
    """What a granule's ``MTD_TL.xml`` says.

    Attributes
    ----------
    path
        The metadata file.
    tile
        Its tile id, if it says.
    day
        Its sensing day ``YYYYMMDD``, if it says.
    zenith, azimuth
        The granule's mean sun angles in degrees, if it has them.
    """

    path: Path
    tile: str | None
    day: str | None
    zenith: float | None
    azimuth: float | None


def _local(tag: str) -> str:
    """An XML tag without its namespace."""
    return tag.rsplit("}", 1)[-1]


# Cached by path and modification time: every image of a SAFE asks for the same file.
@lru_cache(maxsize=64)
def _read_product_metadata(path: str, mtime: float) -> ProductMetadata | None:
    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, OSError):
        return None
    stamp = tile = baseline = uri = spacecraft = None
    cloud_cover = None
    # The band ids of Spectral_Information_List, in case the file has none.
    names = dict(enumerate(REFLECTANCE_BANDS))
    raw_offsets: dict[int, float] = {}
    for element in root.iter():
        tag = _local(element.tag)
        text = (element.text or "").strip()
        if tag == "PRODUCT_URI" and text:
            uri = text.removesuffix(".SAFE")
            found = re.search(r"_(\d{8}T\d{6})_", text)
            stamp = found[1] if found else stamp
            found = re.search(r"_(T\d{2}[A-Z]{3})_", text)
            tile = found[1] if found else tile
        elif tag == "PRODUCT_START_TIME" and text and stamp is None:
            digits = re.sub(r"[-:]", "", text)[:15]
            stamp = digits if re.fullmatch(r"\d{8}T\d{6}", digits) else None
        elif tag == "PROCESSING_BASELINE" and text:
            baseline = text
        elif tag == "SPACECRAFT_NAME" and text:
            spacecraft = text
        elif tag == "Cloud_Coverage_Assessment" and text:
            try:
                cloud_cover = float(text)
            except ValueError:
                cloud_cover = None
        elif tag == "Spectral_Information":
            band_id, physical = element.get("bandId"), element.get("physicalBand")
            if band_id is not None and physical:
                names[int(band_id)] = normalize_band(physical)
        elif tag in ("BOA_ADD_OFFSET", "RADIO_ADD_OFFSET") and element.get("band_id") is not None:
            try:
                raw_offsets[int(element.get("band_id"))] = float(text)
            except ValueError:
                continue
    offsets = {names.get(i, str(i)): value for i, value in raw_offsets.items()}
    return ProductMetadata(Path(path), stamp, tile, baseline, offsets, uri, spacecraft, cloud_cover)


@lru_cache(maxsize=256)
def _read_tile_metadata(path: str, mtime: float) -> TileMetadata | None:
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
    return TileMetadata(Path(path), tile, day, zenith, azimuth)


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


def product_metadata(band_file: BandFile, product: str) -> ProductMetadata | None:
    """The metadata of the product ``band_file`` belongs to (``MTD_MSI<product>.xml`` first), in
    its directory or its parents up to the ``.SAFE``; None if there is none of its acquisition."""
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


def tile_metadata(band_file: BandFile) -> TileMetadata | None:
    """The ``MTD_TL.xml`` with sun angles of ``band_file``'s granule (its tile and day), in its
    directory or its parents up to the ``.SAFE``; None if there is none."""
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


def check_boa_offset(boa_offset: object) -> None:
    """Raise unless ``boa_offset`` is ``"auto"``, None or a finite number >= 0."""
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


def image_offsets(
    band_files: Sequence[BandFile], bands: Sequence[str], product: str, boa_offset: object
) -> tuple[dict[str, float], str]:
    """Digital numbers to subtract per reflectance band for one image, and how they were found.

    Parameters
    ----------
    band_files
        The image's files (the first one's metadata, SAFE name or date decides).
    bands
        The bands loaded (only reflectance bands get an offset).
    product
        ``"L2A"`` or ``"L1C"``: which metadata file is looked for first.
    boa_offset
        The ``load`` option: ``"auto"``, a number, or None (0).

    Returns
    -------
    tuple
        The offsets per band, and ``"option"``, ``"metadata"``, ``"safe-name"`` or ``"date"``.
    """
    reflectance = [b for b in bands if b in REFLECTANCE_BANDS]
    if boa_offset is None:
        return dict.fromkeys(reflectance, 0.0), "option"
    if not isinstance(boa_offset, str):
        return dict.fromkeys(reflectance, float(boa_offset)), "option"
    first = band_files[0]
    meta = product_metadata(first, product)
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
