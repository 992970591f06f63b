"""Sentinel-2 band file names, and the paths a source names: what a name says, which files a
directory or a pattern holds, and which acquisitions fall in the dates."""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ...bands import CLASS_BANDS, REFLECTANCE_BANDS
from ..source_names import SOURCES

PathLike = str | os.PathLike
#: What the loaders accept: a path (file, directory or glob pattern) or a list of them.
Source = PathLike | Sequence[PathLike]

#: Loaded only when asked for with ``bands=`` (not reflectance: AOT and WVP are scaled by 1000).
AUXILIARY_BANDS = ("AOT", "WVP")
#: Named like band files but never loaded: TCI is an 8-bit RGB preview.
IGNORED_BANDS = ("TCI",)
#: Band ids in output order (when ``bands`` is not given).
BAND_IDS = (*REFLECTANCE_BANDS, *CLASS_BANDS, *AUXILIARY_BANDS)
#: Suffixes of the files a directory is searched for.
BAND_SUFFIXES = (".jp2", ".tif", ".tiff")

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


def is_band_file_name(name: str) -> bool:
    """Whether a file name follows :data:`NAME_PATTERN`."""
    return _NAME_RE.match(name) is not None


def normalize_band(name: str) -> str:
    """The band id of a name as users and metadata write it: ``"B4"``/``"b04"`` -> ``"B04"``,
    ``"B08A"`` -> ``"B8A"``; other names upper-cased."""
    text = str(name).strip().upper()
    match = re.fullmatch(r"B0?(\d{1,2})", text)
    if match and 1 <= int(match[1]) <= 12:
        return f"B{int(match[1]):02d}"
    if text in ("B8A", "B08A"):
        return "B8A"
    return text


def resolve_paths(
    source: Source, suffixes: tuple[str, ...], accept: Callable[[str], bool], what: str
) -> list[tuple[Path, bool]]:
    """The files of ``source`` as ``(path, explicit)``, each once.

    Parameters
    ----------
    source
        A path, a list of paths, a directory (searched recursively) or a glob pattern.
    suffixes
        The suffixes of the files looked at in a directory.
    accept
        Whether a file found in a directory or by a pattern is kept, from its name. Explicit
        paths are kept whatever their name (the loader then says what is wrong with it).
    what
        What the kept files are, for the error when none is (e.g. ``"named like ..."``).

    Raises
    ------
    TypeError
        ``source`` is neither a path nor a list of paths.
    ValueError
        An empty list.
    FileNotFoundError
        A missing path; a directory or pattern with no file that is ``what``.
    """
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
            found += [(m, False) for m in _pattern_files(text, accept, what)]
        elif path.is_dir():
            found += [(p, False) for p in _directory_files(path, suffixes, accept, what)]
        elif path.is_file():
            found.append((path, True))
        else:
            raise FileNotFoundError(f"no such file or directory: {text!r}{_source_hint(text)}")
    # One entry per file; a file named explicitly keeps that.
    unique: dict[Path, tuple[Path, bool]] = {}
    for path, explicit in found:
        key = path.resolve()
        if key not in unique or explicit:
            unique[key] = (path, explicit)
    return list(unique.values())


def _pattern_files(pattern: str, accept: Callable[[str], bool], what: str) -> list[Path]:
    matches = sorted(Path(m) for m in glob.glob(pattern, recursive=True))
    files = [m for m in matches if m.is_file()]
    if not files:
        raise FileNotFoundError(f"no files match the pattern {pattern!r}")
    kept = [m for m in files if accept(m.name)]
    if not kept:
        names = ", ".join(m.name for m in files[:5])
        raise FileNotFoundError(
            f"none of the {len(files)} files matching {pattern!r} is {what} "
            f"(found {names}{', ...' if len(files) > 5 else ''})"
        )
    return kept


def _directory_files(
    directory: Path, suffixes: tuple[str, ...], accept: Callable[[str], bool], what: str
) -> list[Path]:
    files = sorted(p for p in directory.rglob("*") if p.is_file() and p.suffix.lower() in suffixes)
    kept = [p for p in files if accept(p.name)]
    if not kept:
        seen = ""
        if files:
            kinds = "/".join(suffixes)
            seen = f"; it has {len(files)} other {kinds} files such as {files[0].name}"
        raise FileNotFoundError(
            f"no files in the directory {str(directory)!r} (or its subdirectories) are {what}{seen}"
        )
    return kept


def _source_hint(text: str) -> str:
    """A missing path with no separator and no extension may be a misspelt source name."""
    if os.sep in text or "." in text:
        return ""
    return f" (the named sources are {', '.join(map(repr, SOURCES))})"


def normalize_times(
    start: pd.Timestamp | None, end: pd.Timestamp | None
) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    """``start`` and ``end`` as UTC-naive timestamps (None stays None)."""

    def naive(t: pd.Timestamp | None) -> pd.Timestamp | None:
        if t is None:
            return None
        t = pd.Timestamp(t)
        return t.tz_convert(None) if t.tzinfo else t

    return naive(start), naive(end)


def in_range(time: pd.Timestamp, start: pd.Timestamp | None, end: pd.Timestamp | None) -> bool:
    """Whether ``start <= time < end`` (None: no bound)."""
    return (start is None or time >= start) and (end is None or time < end)


def range_text(start: pd.Timestamp | None, end: pd.Timestamp | None) -> str:
    """The date range for messages."""
    left = start.isoformat() if start is not None else "the beginning"
    right = end.isoformat() if end is not None else "the end"
    return f"{left} .. {right} (end exclusive)"
