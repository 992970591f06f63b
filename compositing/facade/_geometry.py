"""Geometries in lon/lat (EPSG:4326), as ``ee.Geometry.Point``, ``Rectangle`` and ``Polygon``,
with ``buffer`` in metres, and which pixels of a grid a geometry covers (for ``clip``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import dask.array as da
import numpy as np
import shapely
import xarray as xr

from ..geo import LONLAT, transformer, utm_crs
from ._arrays import is_number

__all__ = ["Geometry", "as_geometry", "covered_pixels", "region_window"]

#: Points added along each edge before a polygon is projected (its edges are straight in
#: lon/lat, curved in a UTM grid).
EDGE_POINTS = 16


@dataclass(frozen=True)
class Geometry:
    """A lon/lat point or rectangle (EPSG:4326), mirroring ``ee.Geometry.Point``/``Rectangle``.

    Parameters
    ----------
    bounds
        ``(west, south, east, north)`` in degrees; a point has ``west == east``, ``south == north``.
    is_point
        Whether this is a point (only changes how it is described in messages).
    ring
        A polygon's outer ring, ``((lon, lat), ...)`` (None for a point or a rectangle).
    """

    bounds: tuple[float, float, float, float]
    is_point: bool = False
    ring: tuple[tuple[float, float], ...] | None = None

    @classmethod
    def Polygon(cls, coords: Sequence) -> Geometry:  # noqa: N802 (Earth Engine's name)
        """``Geometry.Polygon([[[lon, lat], ...]])`` (a list of rings: only the outer one),
        ``Polygon([[lon, lat], ...])`` or ``Polygon([lon, lat, lon, lat, ...])``, as in Earth
        Engine. The ring closes itself."""
        points = np.asarray(coords, dtype=float)
        if points.ndim == 3:
            if points.shape[0] != 1:
                raise ValueError(
                    "Geometry.Polygon: holes (more than one ring) are not supported; give the "
                    "outer ring only."
                )
            points = points[0]
        elif points.ndim == 1 and points.size % 2 == 0:
            points = points.reshape(-1, 2)
        if points.ndim != 2 or points.shape[1] != 2 or len(points) < 3:
            raise ValueError(
                "Geometry.Polygon takes at least three (lon, lat) corners, e.g. "
                f"[[[-122.4, 37.4], [-122.3, 37.4], [-122.3, 37.5]]], not {coords!r}."
            )
        ring = tuple((float(lon), float(lat)) for lon, lat in points)
        if not shapely.Polygon(ring).is_valid:
            raise ValueError("Geometry.Polygon: the ring crosses itself; order its corners.")
        west, south = points.min(axis=0)
        east, north = points.max(axis=0)
        return cls((float(west), float(south), float(east), float(north)), ring=ring)

    def buffer(self, distance: float) -> Geometry:
        """This geometry grown by ``distance`` metres (shrunk if negative), as
        ``Geometry.buffer``: computed in the UTM zone of its centre, so a point becomes a disc
        of that radius on the ground."""
        if not is_number(distance):
            raise TypeError(f"buffer takes a distance in metres, not {distance!r}.")
        lon, lat = (self.bounds[0] + self.bounds[2]) / 2, (self.bounds[1] + self.bounds[3]) / 2
        utm = utm_crs(lon, lat)
        shape = shapely.transform(
            self.shape(), transformer(LONLAT, utm).transform, interleaved=False
        )
        grown = shape.buffer(float(distance), quad_segs=16)
        if grown.is_empty:
            raise ValueError(f"buffer({distance}): nothing is left of {self.description}.")
        back = shapely.transform(grown, transformer(utm, LONLAT).transform, interleaved=False)
        return Geometry.Polygon(list(back.exterior.coords)[:-1])

    def shape(self) -> shapely.Geometry:
        """The geometry as a shapely one, in lon/lat."""
        if self.ring is not None:
            return shapely.Polygon(self.ring)
        if self.is_point:
            return shapely.Point(self.bounds[:2])
        return shapely.box(*self.bounds)

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
        if self.ring is not None:
            return f"the polygon of {len(self.ring)} corners in {self.bounds}"
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


def covered_pixels(array: xr.DataArray, geometry: Geometry) -> xr.DataArray:
    """True for the pixels of ``array``'s grid whose centre lies in ``geometry`` (on its edge
    counts as in), as a ``(y, x)`` array chunked as ``array``'s ``y`` and ``x``: lazy, one
    block per spatial chunk.

    Raises
    ------
    ValueError
        The array has no CRS, or the geometry is a point (which covers no pixel's centre).
    """
    if geometry.is_point:
        raise ValueError(
            "clip: a point covers no pixel; give an area, e.g. Geometry.Point(...).buffer(100)."
        )
    crs = array.rio.crs
    if crs is None:
        raise ValueError(
            "clip needs the image's CRS, and it has none: set it with "
            "`data = data.rio.write_crs('EPSG:32610')` (import rioxarray; use your CRS)."
        )
    shape = shapely.segmentize(geometry.shape(), _edge_step(geometry))
    on_grid = shapely.transform(shape, transformer(LONLAT, crs).transform, interleaved=False)
    shapely.prepare(on_grid)
    x, y = array["x"].values, array["y"].values

    def block(y_part: np.ndarray, x_part: np.ndarray) -> np.ndarray:
        xs, ys = np.meshgrid(x_part, y_part)
        return shapely.intersects_xy(on_grid, xs, ys)

    if array.chunks is None:
        covered = block(y, x)
    else:
        y_chunks = array.chunks[array.get_axis_num("y")]
        x_chunks = array.chunks[array.get_axis_num("x")]
        covered = da.blockwise(
            block, "yx",
            da.from_array(y, chunks=(y_chunks,)), "y",
            da.from_array(x, chunks=(x_chunks,)), "x",
            dtype=bool,
        )  # fmt: skip
    return xr.DataArray(covered, dims=("y", "x"), coords={"y": y, "x": x})


def region_window(
    array: xr.DataArray, geometry: Geometry, what: str
) -> tuple[dict[str, slice], np.ndarray]:
    """The smallest ``{"y": slice, "x": slice}`` window holding every pixel whose centre lies
    in ``geometry``, and which pixels of that window do (a bool ``(y, x)`` array). Computes
    the coverage (geometry only, no pixel values).

    Raises
    ------
    ValueError
        The geometry covers no pixel centre (``what`` names the caller).
    """
    covered = np.asarray(covered_pixels(array, geometry).values)
    rows, cols = np.flatnonzero(covered.any(axis=1)), np.flatnonzero(covered.any(axis=0))
    if not rows.size:
        raise ValueError(
            f"{what}: {geometry.description} covers no pixel centre of the image; give a "
            "larger region inside it, or a finer scale."
        )
    window = {"y": slice(rows[0], rows[-1] + 1), "x": slice(cols[0], cols[-1] + 1)}
    return window, covered[window["y"], window["x"]]


def _edge_step(geometry: Geometry) -> float:
    west, south, east, north = geometry.bounds
    return max(east - west, north - south, 1e-9) / EDGE_POINTS
