"""Immutable snapshots of what the user asked for, checked before any work starts.

A job works from a :class:`Settings` taken when it was scheduled, never from the live widgets:
widgets may change while it runs (and then the job is superseded), and frozen dataclasses make
good cache keys.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

from .limits import LOCAL, LimitError, Limits

#: Web Mercator stops here: beyond it a point cannot be shown on the map.
MAX_WEB_MERCATOR_LATITUDE = 85.05


class SettingsError(ValueError):
    """Settings that cannot be computed; the message says what to change."""


@dataclass(frozen=True)
class CloudMask:
    """A cloud-mask method and its parameters: for s2cloudless Earth Engine's tutorial names;
    for csmask the buffer and, with ``combined``, the tutorial's shadow projection."""

    method: str = "cldprb"
    cld_prb_thresh: float = 50.0
    nir_drk_thresh: float = 0.15
    cld_prj_dist: float = 1.0
    buffer: float = 50.0
    combined: bool = False

    def params(self) -> dict[str, float | bool]:
        """Keyword arguments of :func:`compositing.clouds.s2cloudless_layers` or
        :func:`compositing.csmask.csmask_layers` (empty for the other methods)."""
        if self.method == "s2cloudless":
            return {
                "cld_prb_thresh": self.cld_prb_thresh,
                "nir_drk_thresh": self.nir_drk_thresh,
                "cld_prj_dist": self.cld_prj_dist,
                "buffer": self.buffer,
            }
        if self.method == "csmask":
            projection = (
                {"nir_drk_thresh": self.nir_drk_thresh, "cld_prj_dist": self.cld_prj_dist}
                if self.combined
                else {}
            )
            return {"buffer": self.buffer, "combined": self.combined, **projection}
        return {}

    @property
    def key(self) -> tuple:
        """What the mask depends on: each method's own parameters, no others."""
        return (self.method, *self.params().values())


@dataclass(frozen=True)
class Stretch:
    """How reflectance layers are stretched: the Earth Engine example's range per layer, manual
    min/max/gamma, or automatic percentiles of the visible pixels."""

    mode: str = "example"  # "example", "manual" or "auto"
    minimum: float = 0.0
    maximum: float = 4000.0
    gamma: float = 1.0
    percentiles: tuple[float, float] = (2.0, 98.0)

    def check(self) -> None:
        if self.mode not in ("example", "manual", "auto"):
            raise SettingsError(f"unknown stretch mode {self.mode!r}")
        if self.mode == "manual" and not self.minimum < self.maximum:
            raise SettingsError(
                f"Stretch: min ({self.minimum:g}) must be smaller than max ({self.maximum:g})"
            )
        if not self.gamma > 0:
            raise SettingsError(f"Stretch: gamma must be positive, not {self.gamma:g}")
        low, high = self.percentiles
        if self.mode == "auto" and not 0 <= low < high <= 100:
            raise SettingsError(
                f"Stretch: percentiles must be 0 ≤ low < high ≤ 100, not {low}, {high}"
            )


@dataclass(frozen=True)
class Settings:
    """Everything a refresh needs, except the map's view (see :mod:`app.view`)."""

    source: str = "demo"
    point: tuple[float, float] = (-122.373, 37.448)
    dates: tuple[dt.date, dt.date] = (dt.date(2021, 7, 1), dt.date(2021, 8, 1))
    rgb_bands: tuple[str, str, str] = ("B11", "B08", "B03")
    stretch: Stretch = field(default_factory=Stretch)
    cloud_mask: CloudMask = field(default_factory=CloudMask)
    layers: tuple[str, ...] = ("median",)
    image_date: str | None = None
    area_m: float = 10_000.0
    ndvi_range: tuple[float, float] = (0.1, 0.6)
    lst_range: tuple[float, float] = (300.0, 330.0)

    @property
    def date_strings(self) -> tuple[str, str]:
        """The dates as the engine takes them (the end is exclusive, as Earth Engine's)."""
        return self.dates[0].isoformat(), self.dates[1].isoformat()

    def check(self, limits: Limits = LOCAL) -> None:
        """Raise :class:`SettingsError` for settings nothing can be computed from, and
        :class:`~app.limits.LimitError` for settings beyond the ``limits`` (hosted mode's caps).
        """
        lon, lat = self.point
        if not (math.isfinite(lon) and math.isfinite(lat)) or not -180 <= lon <= 180:
            raise SettingsError(f"Point: longitude {lon} is outside -180..180")
        if not -MAX_WEB_MERCATOR_LATITUDE <= lat <= MAX_WEB_MERCATOR_LATITUDE:
            raise SettingsError(
                f"Point: latitude {lat} is outside the map (±{MAX_WEB_MERCATOR_LATITUDE}°)"
            )
        start, end = self.dates
        if start is None or end is None:
            raise SettingsError("Dates: choose a start and an end date")
        if end < start:
            raise SettingsError(f"Dates: the range is inverted ({start} is after {end})")
        if end == start:
            raise SettingsError(
                f"Dates: the range {start} to {end} is empty (the end date is excluded, as in "
                "Earth Engine's filterDate): choose a later end"
            )
        self.stretch.check()
        if not self.area_m > 0:
            raise SettingsError("the thermal area must be larger than 0 km")
        self._check_antimeridian()
        self._check_limits(limits)
        for name, (low, high) in (("NDVI", self.ndvi_range), ("LST", self.lst_range)):
            if low > high:
                raise SettingsError(f"{name} range: low ({low}) is above high ({high})")

    def _check_antimeridian(self) -> None:
        """The sources' boxes run west to east and stop at 180°: a thermal area across it has
        no box (the engine would call it "empty or inverted")."""
        lon, lat = self.point
        half_degrees = self.area_m / 2 / (111_320.0 * math.cos(math.radians(lat)))
        if lon - half_degrees < -180 or lon + half_degrees > 180:
            room_km = (180 - abs(lon)) * 111.32 * math.cos(math.radians(lat))
            raise SettingsError(
                f"Point: the {self.area_m / 1000:g} km thermal area around longitude {lon:g} "
                f"crosses the antimeridian (180°), where the sources' maps end ({room_km:.1f} km "
                "away): move the point farther from 180° or shrink the thermal area"
            )

    def _check_limits(self, limits: Limits) -> None:
        days = (self.dates[1] - self.dates[0]).days
        if limits.max_range_days is not None and days > limits.max_range_days:
            raise LimitError(
                f"Dates: {days} days is more than {limits.cap_text('a date range')} "
                f"({limits.max_range_days} days): narrow the range"
            )
        if limits.max_area_km is not None and self.area_m > limits.max_area_km * 1000:
            raise LimitError(
                f"Thermal area: {self.area_m / 1000:g} km is more than "
                f"{limits.cap_text('the thermal area')} ({limits.max_area_km:g} km): make it "
                "smaller"
            )
        if limits.max_layers is not None and len(self.layers) > limits.max_layers:
            raise LimitError(
                f"Layers: {len(self.layers)} are ticked, more than "
                f"{limits.cap_text('visible layers')} ({limits.max_layers}): untick some"
            )
