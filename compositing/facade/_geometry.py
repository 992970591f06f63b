"""Geometries in lon/lat (EPSG:4326), as ``ee.Geometry.Point`` and ``ee.Geometry.Rectangle``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ._arrays import is_number

__all__ = ["Geometry", "as_geometry"]


@dataclass(frozen=True)
class Geometry:
    """A lon/lat point or rectangle (EPSG:4326), mirroring ``ee.Geometry.Point``/``Rectangle``.

    Parameters
    ----------
    bounds
        ``(west, south, east, north)`` in degrees; a point has ``west == east``, ``south == north``.
    is_point
        Whether this is a point (only changes how it is described in messages).
    """

    bounds: tuple[float, float, float, float]
    is_point: bool = False

    @classmethod
    def Point(cls, *coords: float | Sequence[float]) -> Geometry:
        """``Geometry.Point(lon, lat)`` or ``Geometry.Point([lon, lat])``, as in Earth Engine."""
        lon, lat = flat_numbers(coords, 2, "Geometry.Point", "(lon, lat)")
        return cls((lon, lat, lon, lat), is_point=True)

    @classmethod
    def Rectangle(cls, *coords: float | Sequence[float]) -> Geometry:
        """``Geometry.Rectangle(west, south, east, north)``, also as one list or two corners."""
        west, south, east, north = flat_numbers(
            coords, 4, "Geometry.Rectangle", "(west, south, east, north)"
        )
        if west > east or south > north:
            raise ValueError(
                f"Geometry.Rectangle{(west, south, east, north)}: expected west <= east and "
                "south <= north (rectangles crossing the antimeridian are not supported)."
            )
        return cls((west, south, east, north))

    def __post_init__(self) -> None:
        west, south, east, north = self.bounds
        # The most common porting slip is (lat, lon) instead of Earth Engine's (lon, lat).
        if not (
            -90 <= south <= 90
            and -90 <= north <= 90
            and -180 <= west <= 180
            and -180 <= east <= 180
        ):
            raise ValueError(
                f"{self.description} is not a lon/lat position in degrees: longitudes lie in "
                "[-180, 180] and latitudes in [-90, 90]. Earth Engine's order is (lon, lat)."
            )

    @property
    def description(self) -> str:
        """How messages name it: ``the point (lon, lat)`` or ``the rectangle (w, s, e, n)``."""
        if self.is_point:
            return f"the point {self.bounds[:2]}"
        return f"the rectangle {self.bounds}"


def flat_numbers(coords: tuple, n: int, what: str, shape: str) -> tuple[float, ...]:
    """Flatten ``(1, 2)``, ``([1, 2],)`` or ``([[1, 2], [3, 4]],)`` to ``n`` floats."""
    flat = list(np.ravel(np.asarray(coords, dtype=object)))
    if len(flat) == 1 and isinstance(flat[0], (list, tuple)):
        flat = list(np.ravel(np.asarray(flat[0], dtype=object)))
    if len(flat) != n or not all(is_number(v) for v in flat):
        raise ValueError(f"{what} takes {n} numbers {shape}, got {coords!r}.")
    return tuple(float(v) for v in flat)


def as_geometry(geometry: object) -> Geometry:
    if isinstance(geometry, Geometry):
        return geometry
    if isinstance(geometry, (list, tuple)) and len(geometry) == 2:
        return Geometry.Point(*geometry)
    if isinstance(geometry, (list, tuple)) and len(geometry) == 4:
        return Geometry.Rectangle(*geometry)
    raise TypeError(
        f"filter_bounds takes a Geometry.Point/Rectangle, a (lon, lat) point or a "
        f"(west, south, east, north) box in degrees, not {geometry!r}."
    )
