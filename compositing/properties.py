"""Image properties: Earth Engine's names for what every source writes along ``time``.

A collection carries each image's properties as coordinates along ``time`` (an image, from
``isel(time=i)``, as scalar coordinates), so that they follow the data through every xarray
operation, lazily. The sources write them under short names; Earth Engine's names, and the STAC
names, are aliases of those:

=========================== ================= ===========================================
Earth Engine                coordinate        STAC aliases
=========================== ================= ===========================================
``system:time_start``       ``time``          ``datetime`` (milliseconds since 1970, UTC)
``system:index``            ``id``            ``id``
``CLOUDY_PIXEL_PERCENTAGE`` ``cloud_cover``   ``eo:cloud_cover``
``MEAN_SOLAR_AZIMUTH_ANGLE`` ``solar_azimuth`` ``s2:mean_solar_azimuth``, ``view:sun_azimuth``
``MEAN_SOLAR_ZENITH_ANGLE`` ``solar_zenith``  ``s2:mean_solar_zenith``
``MGRS_TILE``               ``mgrs_tile``     ``s2:mgrs_tile``
``SPACECRAFT_NAME``         ``platform``      ``platform``
=========================== ================= ===========================================

Any other name is a coordinate of that very name (what ``set`` writes).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import xarray as xr

__all__ = [
    "EARTH_ENGINE_PROPERTIES",
    "TIME_START",
    "get_property",
    "property_coordinate",
    "property_names",
    "set_property",
    "spacecraft_name",
]

TIME_START = "system:time_start"
#: Earth Engine's property -> the coordinate the sources write it in.
EARTH_ENGINE_PROPERTIES: dict[str, str] = {
    TIME_START: "time",
    "system:index": "id",
    "CLOUDY_PIXEL_PERCENTAGE": "cloud_cover",
    "MEAN_SOLAR_AZIMUTH_ANGLE": "solar_azimuth",
    "MEAN_SOLAR_ZENITH_ANGLE": "solar_zenith",
    "MGRS_TILE": "mgrs_tile",
    "SPACECRAFT_NAME": "platform",
}
#: STAC's names of the same properties.
STAC_ALIASES: dict[str, str] = {
    "datetime": TIME_START,
    "eo:cloud_cover": "CLOUDY_PIXEL_PERCENTAGE",
    "s2:mean_solar_azimuth": "MEAN_SOLAR_AZIMUTH_ANGLE",
    "view:sun_azimuth": "MEAN_SOLAR_AZIMUTH_ANGLE",
    "s2:mean_solar_zenith": "MEAN_SOLAR_ZENITH_ANGLE",
    "s2:mgrs_tile": "MGRS_TILE",
}
_BY_COORDINATE = {coordinate: name for name, coordinate in EARTH_ENGINE_PROPERTIES.items()}
#: Coordinates that are the grid, not properties of an image.
_NOT_PROPERTIES = frozenset({"band", "x", "y", "spatial_ref"})


def property_coordinate(name: str) -> str:
    """The coordinate that holds property ``name`` (Earth Engine's, STAC's or the coordinate's
    own name)."""
    if not isinstance(name, str) or not name:
        raise TypeError(f"a property name is a non-empty str, not {name!r}")
    name = STAC_ALIASES.get(name, name)
    return EARTH_ENGINE_PROPERTIES.get(name, name)


def property_names(array: xr.DataArray) -> list[str]:
    """The properties of an image (scalar coordinates) or of each image of a collection
    (coordinates along ``time``), under Earth Engine's names where it has one."""
    along = () if "time" not in array.dims else ("time",)
    names = []
    for coordinate, values in array.coords.items():
        if coordinate in _NOT_PROPERTIES or values.dims != along:
            continue
        names.append(_BY_COORDINATE.get(str(coordinate), str(coordinate)))
    return names


def get_property(array: xr.DataArray, name: str) -> xr.DataArray:
    """Property ``name`` of an image (a 0-d array) or of every image of a collection (along
    ``time``); ``system:time_start`` in milliseconds since 1970 (UTC), ``SPACECRAFT_NAME`` as
    Earth Engine writes it (``Sentinel-2A``).

    Raises
    ------
    KeyError
        No such property; the message lists those there are.
    """
    coordinate = property_coordinate(name)
    if coordinate not in array.coords or coordinate in _NOT_PROPERTIES:
        raise KeyError(
            f"there is no property {name!r}; properties present: {property_names(array)}. "
            "Add one with `.set(name, value)`."
        )
    values = array.coords[coordinate].variable
    if coordinate == "time":
        milliseconds = pd.DatetimeIndex(np.atleast_1d(values.values)).asi8 // 1_000_000
        values = xr.Variable(values.dims, milliseconds.reshape(values.shape))
    elif coordinate == "platform":
        spacecraft = [spacecraft_name(str(v)) for v in np.atleast_1d(values.values)]
        values = xr.Variable(values.dims, np.asarray(spacecraft).reshape(values.shape))
    along = {"time": array["time"]} if "time" in values.dims else {}
    return xr.DataArray(values, coords=along, name=name)


def set_property(array: xr.DataArray, name: str, value: object) -> xr.DataArray:
    """``array`` with property ``name`` set to ``value``: one value for every image, or one per
    image of a collection (a sequence as long as ``time``).

    Raises
    ------
    ValueError
        A property of the grid or of the time itself (``system:time_start``), or as many values
        as not images.
    """
    coordinate = property_coordinate(name)
    if coordinate in _NOT_PROPERTIES or coordinate == "time":
        raise ValueError(
            f"set: {name!r} is not a property that can be set (it is the grid or the dates); "
            "use another name."
        )
    if "time" in array.dims:
        values = np.asarray(value)
        if values.ndim == 0:
            values = np.repeat(values, array.sizes["time"])
        if values.shape != (array.sizes["time"],):
            raise ValueError(
                f"set {name!r}: give one value, or one per image ({array.sizes['time']}), "
                f"not {values.shape[0] if values.ndim else 1}."
            )
        return array.assign_coords({coordinate: ("time", values)})
    return array.assign_coords({coordinate: value})


def spacecraft_name(platform: str) -> str:
    """Earth Engine's ``SPACECRAFT_NAME`` for a STAC ``platform`` (``sentinel-2a`` ->
    ``Sentinel-2A``); any other name as it is."""
    found = re.fullmatch(r"sentinel-(\d)([a-d])", platform.strip(), flags=re.IGNORECASE)
    return f"Sentinel-{found[1]}{found[2].upper()}" if found else platform
