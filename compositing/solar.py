"""The sun's position for a time and place (NOAA's solar-position equations, ~0.1 degree).

Used when a collection carries no sun angles of its own (scene metadata), and by the demo scene.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["solar_angles", "sun_angles"]


def solar_angles(
    times: pd.DatetimeIndex | np.ndarray, lon: float, lat: float
) -> tuple[np.ndarray, np.ndarray]:
    """Solar azimuth (degrees clockwise from north) and zenith (degrees) at UTC ``times``.

    Parameters
    ----------
    times
        UTC times (datetime64 or a DatetimeIndex).
    lon, lat
        The place, in degrees.
    """
    times = pd.DatetimeIndex(times)
    day_of_year = times.dayofyear.to_numpy()
    hours = (times.hour + times.minute / 60 + times.second / 3600).to_numpy()
    gamma = 2 * np.pi / 365 * (day_of_year - 1 + (hours - 12) / 24)
    equation_of_time = 229.18 * (
        0.000075
        + 0.001868 * np.cos(gamma)
        - 0.032077 * np.sin(gamma)
        - 0.014615 * np.cos(2 * gamma)
        - 0.040849 * np.sin(2 * gamma)
    )
    declination = (
        0.006918
        - 0.399912 * np.cos(gamma)
        + 0.070257 * np.sin(gamma)
        - 0.006758 * np.cos(2 * gamma)
        + 0.000907 * np.sin(2 * gamma)
        - 0.002697 * np.cos(3 * gamma)
        + 0.00148 * np.sin(3 * gamma)
    )
    true_solar_minutes = hours * 60 + equation_of_time + 4 * lon
    hour_angle = np.radians(true_solar_minutes / 4 - 180)
    phi = np.radians(lat)
    cos_zenith = np.sin(phi) * np.sin(declination) + np.cos(phi) * np.cos(declination) * np.cos(
        hour_angle
    )
    zenith = np.arccos(np.clip(cos_zenith, -1, 1))
    # Azimuth clockwise from north, from the east and north components of the sun's direction.
    east = -np.cos(declination) * np.sin(hour_angle)
    north = np.cos(phi) * np.sin(declination) - np.sin(phi) * np.cos(declination) * np.cos(
        hour_angle
    )
    azimuth = np.degrees(np.arctan2(east, north)) % 360
    return azimuth, np.degrees(zenith)


def sun_angles(
    times: pd.DatetimeIndex | np.ndarray,
    lon: float,
    lat: float,
    *,
    azimuth: np.ndarray | None = None,
    zenith: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-image solar azimuth and zenith (degrees): the scene metadata's where it has them,
    else :func:`solar_angles` at (lon, lat), the collection's centre.

    Parameters
    ----------
    times
        UTC times of the images.
    lon, lat
        Where to compute the angles the metadata lacks, in degrees.
    azimuth, zenith
        The metadata's angles per image, NaN where unknown (None: all unknown).
    """
    count = len(times)
    azimuth = np.full(count, np.nan) if azimuth is None else np.array(azimuth, dtype="float64")
    zenith = np.full(count, np.nan) if zenith is None else np.array(zenith, dtype="float64")
    missing = np.isnan(azimuth) | np.isnan(zenith)
    if missing.any():
        computed_azimuth, computed_zenith = solar_angles(pd.DatetimeIndex(times)[missing], lon, lat)
        azimuth[missing] = np.where(np.isnan(azimuth[missing]), computed_azimuth, azimuth[missing])
        zenith[missing] = np.where(np.isnan(zenith[missing]), computed_zenith, zenith[missing])
    return azimuth, zenith
