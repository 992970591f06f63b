"""Sentinel-2's bands: one table for the whole engine (sources, clouds, facade, app).

Band IDs are the sensor's (``B01`` ... ``B12``, ``B8A``); :func:`ee_band_name` writes a band the
way Earth Engine's examples label it (``B8``).
"""

from __future__ import annotations

__all__ = [
    "CLASS_BANDS",
    "L1C_REFLECTANCE",
    "L2A_REFLECTANCE",
    "PRODUCT_BANDS",
    "REFLECTANCE_BANDS",
    "ee_band_name",
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
