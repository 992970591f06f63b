"""Grids and coordinate transforms: where pixels are, in one home for the whole engine.

Every source answers a request (a point and a size, or a lon/lat box; a resolution; a CRS) on the
same :class:`Grid`, so collections from different sources line up pixel for pixel. Grids are
snapped to multiples of the resolution in their CRS, so a pixel's position, and therefore its
value, does not depend on the size of the request.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pyproj
from affine import Affine

if TYPE_CHECKING:
    import xarray as xr

__all__ = [
    "LONLAT",
    "MAX_PIXELS",
    "CrsLike",
    "Grid",
    "grid_for",
    "lonlat_bounds",
    "reversed_dims",
    "same_crs",
    "transformer",
    "utm_crs",
]

#: Anything pyproj reads as a CRS: a ``pyproj.CRS``, ``"EPSG:32633"``, an EPSG code, WKT.
CrsLike = pyproj.CRS | str | int
LONLAT = "EPSG:4326"

#: Largest image a request may describe (pixels per band and date). Beyond it the error asks for a
#: coarser resolution or a smaller area rather than letting a lazy array explode on compute.
MAX_PIXELS = 40_000 * 40_000


@dataclass(frozen=True)
class Grid:
    """A north-up raster grid: CRS, pixel size, top-left corner and shape.

    Pixels are square unless ``resolution_y`` is given (a grid read from an array with
    :meth:`from_array`, e.g. a lon/lat LST, may have pixels a little taller than wide).
    """

    crs: pyproj.CRS
    #: Pixel width in the CRS's units (and height, unless ``resolution_y``).
    resolution: float
    #: Outer edge of the first column (west).
    left: float
    #: Outer edge of the first row (north).
    top: float
    width: int
    height: int
    #: Pixel height when it differs from ``resolution``; None: square pixels.
    resolution_y: float | None = None

    @classmethod
    def from_array(cls, array: xr.DataArray, *, name: str = "array", task: str = "this") -> Grid:
        """The north-up grid of the pixels of a regular ``(y, x)`` array with a CRS.

        The pixel size is read from the pixel-centre coordinates (or, for a single row or
        column, from ``array.rio.resolution()``). An array whose rows run south to north or whose
        columns run east to west has the same grid, in reverse order along those dims (see
        :func:`reversed_dims`).

        Parameters
        ----------
        array
            Dims ``y`` and ``x`` with 1-D coordinates, and a CRS readable as ``.rio.crs``.
        name, task
            Name the array and what needs the grid, in the error message.

        Raises
        ------
        ValueError
            A coordinate that is not evenly spaced (the message asks for a resampling), or no CRS.
        """
        if array.rio.crs is None:
            raise ValueError(f"{name} has no CRS: set it with {name}.rio.write_crs('EPSG:...')")
        first_x, step_x = _axis(array, "x", name, task)
        first_y, step_y = _axis(array, "y", name, task)
        width, height = array.sizes["x"], array.sizes["y"]
        # Outer edges of the first column and row; the grid's corner is the other end of an axis
        # that runs against it (x descending, or y ascending: rows south to north).
        edge_x, edge_y = first_x - step_x / 2, first_y - step_y / 2
        left = edge_x if step_x > 0 else edge_x + step_x * width
        top = edge_y if step_y < 0 else edge_y + step_y * height
        pixel_width, pixel_height = abs(step_x), abs(step_y)
        return cls(
            pyproj.CRS.from_user_input(array.rio.crs),
            pixel_width,
            left,
            top,
            width,
            height,
            None if pixel_height == pixel_width else pixel_height,
        )

    @property
    def pixel_height(self) -> float:
        """Pixel height in the CRS's units (``resolution`` for square pixels)."""
        return self.resolution if self.resolution_y is None else self.resolution_y

    @property
    def size(self) -> int:
        """Number of pixels."""
        return self.width * self.height

    @property
    def transform(self) -> Affine:
        return Affine(self.resolution, 0.0, self.left, 0.0, -self.pixel_height, self.top)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(left, bottom, right, top) in the grid's CRS."""
        return (
            self.left,
            self.top - self.height * self.pixel_height,
            self.left + self.width * self.resolution,
            self.top,
        )

    @property
    def x(self) -> np.ndarray:
        """Pixel-centre x coordinates, west to east."""
        return self.left + self.resolution * (np.arange(self.width) + 0.5)

    @property
    def y(self) -> np.ndarray:
        """Pixel-centre y coordinates, north to south."""
        return self.top - self.pixel_height * (np.arange(self.height) + 0.5)

    @property
    def epsg(self) -> int | None:
        return self.crs.to_epsg()

    def crop(self, rows: slice, cols: slice) -> Grid:
        """The grid of the pixels ``[rows, cols]`` (slices with a start and a stop, counted from
        the top-left pixel)."""
        return Grid(
            self.crs,
            self.resolution,
            self.left + self.resolution * cols.start,
            self.top - self.pixel_height * rows.start,
            cols.stop - cols.start,
            rows.stop - rows.start,
            self.resolution_y,
        )

    def bounds_lonlat(self) -> tuple[float, float, float, float]:
        """(west, south, east, north) in degrees."""
        return transformer(self.crs, LONLAT).transform_bounds(*self.bounds)


def reversed_dims(array: xr.DataArray) -> tuple[str, ...]:
    """The dims along which a regular ``(y, x)`` array runs against its north-up :class:`Grid`:
    ``"y"`` when its rows run south to north (y ascends), ``"x"`` when its columns run east to
    west. ``array.isel({dim: slice(None, None, -1) for dim in reversed_dims(array)})`` then
    matches ``Grid.from_array(array)`` pixel for pixel."""
    dims = []
    if _axis(array, "y", "array", "this")[1] > 0:
        dims.append("y")
    if _axis(array, "x", "array", "this")[1] < 0:
        dims.append("x")
    return tuple(dims)


def _axis(array: xr.DataArray, dim: str, name: str, task: str) -> tuple[float, float]:
    """(first pixel-centre coordinate, signed step) of the ``dim`` axis of a regular array."""
    coords = np.asarray(array[dim].values, dtype=np.float64)
    if coords.size >= 2:
        step = (coords[-1] - coords[0]) / (coords.size - 1)
        if step == 0 or np.max(np.abs(np.diff(coords) - step)) > 1e-3 * abs(step):
            raise ValueError(
                f"{name}'s {dim} coordinate is not evenly spaced: {task} needs a regular "
                f"raster grid. Resample {name} onto one first (e.g. .rio.reproject)."
            )
    else:
        step = float(array.rio.resolution()[0 if dim == "x" else 1])
    return float(coords[0]), float(step)


def transformer(source: CrsLike, target: CrsLike) -> pyproj.Transformer:
    """The (x, y)-ordered transformer from ``source`` to ``target``, made once per pair.

    Building a transformer costs milliseconds; dask blocks and map refreshes ask for the same pair
    many times, so it is cached (pyproj transformers are safe to share between threads).
    """
    return _transformer(_wkt(source), _wkt(target))


def lonlat_bounds(
    crs: CrsLike, bounds: tuple[float, float, float, float], *, digits: int | None = None
) -> tuple[float, float, float, float]:
    """(west, south, east, north) in degrees of ``bounds`` (left, bottom, right, top) in ``crs``,
    with densified edges (a projected box's edges are curves in lon/lat); ``digits`` rounds
    them, for messages."""
    box = transformer(crs, LONLAT).transform_bounds(*bounds, densify_pts=21)
    return tuple(box if digits is None else (round(v, digits) for v in box))


def same_crs(crs: CrsLike, other: CrsLike) -> bool:
    """Whether two CRSs are the same (axis order aside)."""
    return pyproj.CRS.from_user_input(crs).equals(
        pyproj.CRS.from_user_input(other), ignore_axis_order=True
    )


def _wkt(crs: CrsLike) -> str:
    return pyproj.CRS.from_user_input(crs).to_wkt()


@functools.lru_cache(maxsize=64)
def _transformer(source_wkt: str, target_wkt: str) -> pyproj.Transformer:
    return pyproj.Transformer.from_crs(source_wkt, target_wkt, always_xy=True)


def utm_crs(lon: float, lat: float) -> pyproj.CRS:
    """The WGS 84 / UTM zone CRS that contains (lon, lat)."""
    _check_lonlat(lon, lat)
    zone = min(int((lon + 180.0) // 6.0) + 1, 60)
    return pyproj.CRS.from_epsg((32600 if lat >= 0 else 32700) + zone)


def grid_for(
    *,
    point: tuple[float, float] | None = None,
    size_m: float = 10_000,
    bbox: tuple[float, float, float, float] | None = None,
    resolution: float = 10,
    crs: str | int | pyproj.CRS | None = None,
) -> Grid:
    """The grid of a request.

    Parameters
    ----------
    point
        (lon, lat) of the centre; the area is a square of ``size_m`` on a side around it.
    size_m
        Side of the square in the grid CRS's units (metres for UTM and EPSG:3857).
    bbox
        (west, south, east, north) in lon/lat, instead of ``point`` and ``size_m``.
    resolution
        Pixel size in the grid CRS's units.
    crs
        Output CRS; default the UTM zone of the point (or of the box's centre).

    Raises
    ------
    ValueError
        Neither or both of ``point`` and ``bbox``; coordinates out of range; a non-positive size or
        resolution; more than :data:`MAX_PIXELS` pixels per image.
    """
    if (point is None) == (bbox is None):
        raise ValueError(
            "give either point=(lon, lat) with size_m, or bbox=(west, south, east, north)"
        )
    if not resolution or resolution <= 0:
        raise ValueError(f"resolution must be a positive number of metres, not {resolution!r}")
    if bbox is not None:
        west, south, east, north = bbox
        _check_lonlat(west, south)
        _check_lonlat(east, north)
        if west >= east or south >= north:
            raise ValueError(
                f"bbox {bbox} is empty or inverted: give (west, south, east, north) with "
                "west < east and south < north, in degrees"
            )
        centre = ((west + east) / 2, (south + north) / 2)
    else:
        centre = tuple(point)
        _check_lonlat(*centre)
        if not size_m or size_m <= 0:
            raise ValueError(f"size_m must be a positive number of metres, not {size_m!r}")

    target = pyproj.CRS.from_user_input(crs) if crs is not None else utm_crs(*centre)
    to_target = transformer(LONLAT, target)
    if bbox is not None:
        left, bottom, right, top = to_target.transform_bounds(*bbox)
    else:
        cx, cy = to_target.transform(*centre)
        half = size_m / 2
        left, bottom, right, top = cx - half, cy - half, cx + half, cy + half
    if not all(map(math.isfinite, (left, bottom, right, top))):
        raise ValueError(f"the area around {centre} cannot be expressed in {target.to_string()}")

    # Snap to a lattice of whole pixels anchored at the CRS origin: a box grows outwards to whole
    # pixels; a point's square keeps exactly ceil(size_m / resolution) pixels on a side.
    if bbox is not None:
        left = math.floor(left / resolution) * resolution
        top = math.ceil(top / resolution) * resolution
        width = max(1, math.ceil((right - left) / resolution))
        height = max(1, math.ceil((top - bottom) / resolution))
    else:
        width = height = max(1, math.ceil(size_m / resolution))
        left = round(left / resolution) * resolution
        top = round(top / resolution) * resolution
    if width * height > MAX_PIXELS:
        raise ValueError(
            f"the request is {width} x {height} pixels per image, more than this tool will plan "
            f"({MAX_PIXELS:,} pixels): use a coarser resolution (now {resolution}) or a smaller "
            "area (size_m or bbox)"
        )
    return Grid(target, float(resolution), float(left), float(top), int(width), int(height))


def _check_lonlat(lon: float, lat: float) -> None:
    if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
        hint = " (did you swap them? the order is lon, lat)" if -90 <= lon <= 90 else ""
        raise ValueError(f"({lon}, {lat}) is not a lon/lat point in degrees{hint}")
