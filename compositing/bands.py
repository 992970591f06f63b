"""Sentinel-2's bands: one table for the whole engine (sources, clouds, facade, app).

Band IDs are the sensor's (``B01`` ... ``B12``, ``B8A``); :func:`ee_band_name` writes a band the
way Earth Engine's examples label it (``B8``), and :func:`resolve_band` finds the band a user
named either way (``B8`` is ``B08``), with an error that lists the bands present and the nearest
name when there is none.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence

__all__ = [
    "CLASS_BANDS",
    "L1C_REFLECTANCE",
    "L2A_REFLECTANCE",
    "PRODUCT_BANDS",
    "REFLECTANCE_BANDS",
    "ee_band_name",
    "resolve_band",
    "sensor_band_name",
]

#: Every reflectance band, in the sensor's order (B10, cirrus, only in L1C).
REFLECTANCE_BANDS = (
    "B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B10", "B11", "B12",
)  # fmt: skip
#: L1C (top of atmosphere) has all thirteen; L2A (surface reflectance) drops B10.
L1C_REFLECTANCE = REFLECTANCE_BANDS
L2A_REFLECTANCE = tuple(band for band in REFLECTANCE_BANDS if band != "B10")
#: Bands that are classes, not reflectance: no offset, no scaling, no interpolation.
CLASS_BANDS = ("SCL",)
#: Band IDs of each product a catalog serves (also the default selection, in this order).
PRODUCT_BANDS: dict[str, tuple[str, ...]] = {
    "L2A": (*L2A_REFLECTANCE, *CLASS_BANDS),
    "L1C": L1C_REFLECTANCE,
}


def ee_band_name(band: str) -> str:
    """Earth Engine's spelling of a band (``B08`` -> ``B8``), as its examples label layers."""
    if band.startswith("B0") and len(band) == 3:
        return "B" + band[2]
    return band


def sensor_band_name(band: str) -> str:
    """The sensor's spelling of a band Earth Engine names without the zero (``B8`` -> ``B08``);
    every other name as it is (``B8A``, ``B11``, ``QA60``, ``SCL``)."""
    return f"B0{band[1]}" if re.fullmatch(r"B[1-9]", band) else band


def resolve_band(name: str, present: Sequence[str], *, what: str = "band") -> str:
    """The band of ``present`` that ``name`` means: the same name, or the same band in the
    other spelling (Earth Engine's ``B8`` for the sensor's ``B08``, and back).

    Parameters
    ----------
    name
        The band a user named.
    present
        The bands of the image or collection.
    what
        What the name is for, in the error (e.g. ``"select"``, ``"quality_band"``).

    Raises
    ------
    ValueError
        No band of ``present`` is ``name``; the message lists the bands present and the nearest
        name.
    """
    if name in present:
        return name
    wanted = sensor_band_name(name)
    for band in present:
        if sensor_band_name(band) == wanted:
            return band
    nearest = difflib.get_close_matches(name, list(present), n=1, cutoff=0.5)
    hint = f" Did you mean {nearest[0]!r}?" if nearest else ""
    raise ValueError(f"{what}: there is no band {name!r}; bands present: {list(present)}.{hint}")
