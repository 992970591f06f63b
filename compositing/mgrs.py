"""The Military Grid Reference System's 100 km squares: the tiles Sentinel-2 is delivered in
(``10SEG``), as Earth Engine's ``MGRS_TILE`` names them.

The usual lettering of WGS 84 (the "AA" scheme): the UTM zone, the latitude band (8 degrees,
``C`` to ``X``), then a column letter (the easting's 100 km, in one of three alphabets by zone)
and a row letter (the northing's 100 km, shifted by five letters in even zones). Norway's and
Svalbard's zone exceptions are left out: Sentinel-2's tiling follows the plain UTM zones.
"""

from __future__ import annotations

import pyproj

from .geo import LONLAT, transformer, utm_crs

__all__ = ["SQUARE_M", "mgrs_square_bounds", "mgrs_tile"]

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
