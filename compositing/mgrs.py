"""The Military Grid Reference System's 100 km squares: the tiles Sentinel-2 is delivered in
(``10SEG``), as Earth Engine's ``MGRS_TILE`` names them.

The usual lettering of WGS 84 (the "AA" scheme): the UTM zone, the latitude band (8 degrees,
``C`` to ``X``), then a column letter (the easting's 100 km, in one of three alphabets by zone)
and a row letter (the northing's 100 km, shifted by five letters in even zones). Norway's and
Svalbard's zone exceptions are left out: Sentinel-2's tiling follows the plain UTM zones.
"""

from __future__ import annotations

import re

import pyproj

from .geo import LONLAT, transformer, utm_crs

__all__ = ["SQUARE_M", "mgrs_square_bounds", "mgrs_tile", "mgrs_tile_square", "parse_mgrs_tile"]

SQUARE_M = 100_000
_BANDS = "CDEFGHJKLMNPQRSTUVWX"
_COLUMNS = ("ABCDEFGH", "JKLMNPQR", "STUVWXYZ")
_ROWS = "ABCDEFGHJKLMNPQRSTUV"


def _zone_crs(lon: float, lat: float, zone: int | None = None) -> tuple[int, pyproj.CRS]:
    if zone is None:
        return utm_crs(lon, lat).to_epsg() % 100, utm_crs(lon, lat)
    if not 1 <= zone <= 60:
        raise ValueError(f"UTM zones are 1 to 60, not {zone}.")
    return zone, pyproj.CRS.from_epsg((32600 if lat >= 0 else 32700) + zone)


def mgrs_tile(lon: float, lat: float, zone: int | None = None) -> str:
    """The 100 km square that holds (lon, lat) (degrees), e.g. ``10SEG`` for San Francisco.

    Parameters
    ----------
    lon, lat
        The place, in degrees.
    zone
        The UTM zone to letter it in (default: the zone of ``lon``). Sentinel-2's tiles reach
        past their zone's edges: a place near an edge lies in a tile of either zone.

    Raises
    ------
    ValueError
        A latitude outside MGRS's UTM part (80 S to 84 N).
    """
    if not -80 <= lat <= 84:
        raise ValueError(f"MGRS squares cover latitudes 80 S to 84 N, not {lat}.")
    zone, crs = _zone_crs(lon, lat, zone)
    easting, northing = transformer(LONLAT, crs).transform(lon, lat)
    band = _BANDS[min(int((lat + 80) // 8), len(_BANDS) - 1)]
    column = _COLUMNS[(zone - 1) % 3][int(easting // SQUARE_M) - 1]
    row = _ROWS[(int(northing // SQUARE_M) + (5 if zone % 2 == 0 else 0)) % len(_ROWS)]
    return f"{zone:02d}{band}{column}{row}"


def mgrs_square_bounds(
    lon: float, lat: float
) -> tuple[pyproj.CRS, tuple[float, float, float, float]]:
    """The UTM CRS and (left, bottom, right, top) in metres of the square holding (lon, lat)."""
    _, crs = _zone_crs(lon, lat)
    easting, northing = transformer(LONLAT, crs).transform(lon, lat)
    left, bottom = easting // SQUARE_M * SQUARE_M, northing // SQUARE_M * SQUARE_M
    return crs, (left, bottom, left + SQUARE_M, bottom + SQUARE_M)


#: A tile name: UTM zone, latitude band, column and row letters (``32TMT``; Sentinel-2 file and
#: granule names add a leading ``T``: ``T32TMT``).
_TILE = re.compile(r"^T?(\d{1,2})([C-HJ-NP-X])([A-HJ-NP-Z])([A-HJ-NP-V])$")


def parse_mgrs_tile(tile: str) -> str:
    """The tile name ``tile`` checked and written as :func:`mgrs_tile` writes it (``32TMT``):
    upper case, a two-digit zone, Sentinel-2's leading ``T`` (``T32TMT``) removed.

    Raises
    ------
    ValueError
        Not a tile name: a zone outside 1 to 60, a letter MGRS does not use there, or a square
        that does not meet its latitude band.
    """
    mgrs_tile_square(tile)
    zone, band, column, row = _tile_parts(tile)
    return f"{zone:02d}{band}{column}{row}"


def mgrs_tile_square(tile: str) -> tuple[pyproj.CRS, tuple[float, float, float, float]]:
    """The UTM CRS and (left, bottom, right, top) in metres of the 100 km square named ``tile``
    (``32TMT`` or ``T32TMT``): the inverse of :func:`mgrs_tile`. A Sentinel-2 tile is this square
    and 9.8 km more to the east and south (109.8 km a side, from 40 m west and north of the
    square's corner).

    The row letters repeat every 2000 km of northing: the latitude band picks the square
    among them.

    Raises
    ------
    ValueError
        Not a tile name (see :func:`parse_mgrs_tile`).
    """
    zone, band, column, row = _tile_parts(tile)
    north = band >= "N"
    crs = pyproj.CRS.from_epsg((32600 if north else 32700) + zone)
    columns = _COLUMNS[(zone - 1) % 3]
    if column not in columns:
        raise ValueError(
            f"{tile!r} is not an MGRS tile: the column letters of UTM zone {zone} are "
            f"{', '.join(columns)}, not {column}"
        )
    left = (columns.index(column) + 1) * SQUARE_M
    # The band's northings, over the zone and a little past it (Sentinel-2's tiles overlap).
    south_lat = -80.0 + 8.0 * _BANDS.index(band)
    north_lat = 84.0 if band == "X" else south_lat + 8.0
    meridian = -183.0 + 6.0 * zone
    to_utm = transformer(LONLAT, crs)
    northings = [
        to_utm.transform(meridian + dlon, lat)[1]
        for lat in (south_lat, north_lat)
        for dlon in (-4.0, 0.0, 4.0)
    ]
    low, high = min(northings), max(northings)
    first = (_ROWS.index(row) - (5 if zone % 2 == 0 else 0)) % len(_ROWS)
    centre = (low + high) / 2
    cycle = len(_ROWS) * SQUARE_M
    index = first + len(_ROWS) * round((centre - (first + 0.5) * SQUARE_M) / cycle)
    bottom = index * SQUARE_M
    if bottom >= high or bottom + SQUARE_M <= low:
        raise ValueError(
            f"{tile!r} is not an MGRS tile: no square of row {row} in latitude band {band} "
            f"({south_lat:g} to {north_lat:g} degrees) of UTM zone {zone}"
        )
    return crs, (float(left), float(bottom), float(left + SQUARE_M), float(bottom + SQUARE_M))


def _tile_parts(tile: str) -> tuple[int, str, str, str]:
    """(zone, band, column, row) of a tile name whose letters are MGRS letters."""
    found = _TILE.match(tile.strip().upper()) if isinstance(tile, str) else None
    if found is None or not 1 <= int(found[1]) <= 60:
        raise ValueError(
            f"tile={tile!r} is not an MGRS tile name: give the UTM zone (1 to 60), the latitude "
            "band (C to X) and the two letters of the 100 km square, e.g. '22KFV' or 'T22KFV'"
        )
    return int(found[1]), found[2], found[3], found[4]
