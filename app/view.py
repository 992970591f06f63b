"""From the map's view to the grid to compute: Earth Engine's "compute what is on screen".

The map is in Web Mercator (EPSG:3857) so that a tile basemap lines up. Each refresh asks the
engine for exactly the view's extent at the view's resolution (metres of EPSG:3857 per screen
pixel), so zooming in recomputes finer. Two limits keep a refresh affordable:

* never finer than Sentinel-2's 10 m on the ground (zooming further only enlarges pixels);
* a cost budget: the demo scene supersamples coarse pixels (k x k samples per pixel, more when
  zoomed out), so a zoomed-out view is computed at a coarser resolution than the screen's
  until it costs no more than a full-resolution view of the same size in pixels (just above a
  sampling step, the step's own, slightly finer resolution is cheaper and is used); real catalogs
  read full-resolution data whatever the zoom, so their views are limited in area instead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from compositing.geo import LONLAT, Grid, grid_for, transformer
from compositing.sources import demo

from .limits import LOCAL, LimitError, Limits

WEB_MERCATOR = "EPSG:3857"
#: Sentinel-2's finest bands, in metres on the ground.
NATIVE_RESOLUTION_M = 10.0
#: Largest view side (ground metres) computed from a real catalog: beyond it the request would
#: read full-resolution images over a large area (stackstac does not read overviews).
MAX_CATALOG_VIEW_M = 40_000.0
#: Largest view side (ground metres) computed from the demo scene.
MAX_DEMO_VIEW_M = 200_000.0
#: A view is computed on at most this many pixels along each side, whatever the screen says.
MAX_PIXELS_PER_SIDE = 2_500

#: Web Mercator's x at longitude 180°: a view beyond it wraps around the globe.
_ANTIMERIDIAN_X = 20_037_508.342789244
_TO_LONLAT = transformer(WEB_MERCATOR, LONLAT)
_TO_MERCATOR = transformer(LONLAT, WEB_MERCATOR)


class ViewError(ValueError):
    """A view that cannot be computed (too large, or degenerate); the message says what to do."""


@dataclass(frozen=True)
class View:
    """What the map shows: x and y ranges in EPSG:3857 metres and the plot's size in pixels."""

    x_range: tuple[float, float]
    y_range: tuple[float, float]
    width: int
    height: int

    @property
    def centre_lonlat(self) -> tuple[float, float]:
        return to_lonlat(sum(self.x_range) / 2, sum(self.y_range) / 2)

    def contains(self, lon: float, lat: float) -> bool:
        x, y = to_mercator(lon, lat)
        return self.x_range[0] <= x <= self.x_range[1] and self.y_range[0] <= y <= self.y_range[1]


@dataclass(frozen=True)
class ViewPlan:
    """The request for one view: a lon/lat box and a resolution in EPSG:3857 metres."""

    bbox: tuple[float, float, float, float]
    resolution: float

    @property
    def grid(self) -> Grid:
        """The grid the engine will put the pixels on (the box snapped outwards to pixels)."""
        return grid_for(bbox=self.bbox, resolution=self.resolution, crs=WEB_MERCATOR)


def to_lonlat(x, y):
    """EPSG:3857 metres to (lon, lat) degrees; scalars or arrays."""
    lon, lat = _TO_LONLAT.transform(x, y)
    return (float(lon), float(lat)) if np.ndim(lon) == 0 else (lon, lat)


def to_mercator(lon, lat):
    """(lon, lat) degrees to EPSG:3857 metres; scalars or arrays."""
    x, y = _TO_MERCATOR.transform(lon, lat)
    return (float(x), float(y)) if np.ndim(x) == 0 else (x, y)


def mercator_scale(lat: float) -> float:
    """EPSG:3857 metres per ground metre at a latitude (1 / cos(lat))."""
    return 1.0 / math.cos(math.radians(lat))


def native_resolution(lat: float) -> float:
    """Sentinel-2's 10 m in EPSG:3857 metres at a latitude, rounded to the centimetre."""
    return round(NATIVE_RESOLUTION_M * mercator_scale(lat), 2)


def initial_view(
    lon: float, lat: float, width: int = 1000, height: int = 700, span_m: float = 0.0
) -> View:
    """A view centred on a point, showing at least ``span_m`` metres (on the ground) each way,
    and never finer than Sentinel-2's 10 m per pixel."""
    x, y = to_mercator(lon, lat)
    resolution = max(native_resolution(lat), span_m * mercator_scale(lat) / min(width, height))
    half_w, half_h = width * resolution / 2, height * resolution / 2
    return View((x - half_w, x + half_w), (y - half_h, y + half_h), width, height)


def resized(view: View, width: int, height: int) -> View:
    """The view on a plot of a new size: same centre and resolution (metres per pixel), as a web
    map does when its window is resized; the extent grows or shrinks with the plot."""
    resolution = max(
        (view.x_range[1] - view.x_range[0]) / view.width,
        (view.y_range[1] - view.y_range[0]) / view.height,
    )
    x, y = sum(view.x_range) / 2, sum(view.y_range) / 2
    half_w, half_h = width * resolution / 2, height * resolution / 2
    return View((x - half_w, x + half_w), (y - half_h, y + half_h), width, height)


def demo_samples_per_pixel(ground_resolution: float) -> int:
    """How many sub-samples (per side) the demo scene averages per pixel at a ground resolution:
    its cost per pixel grows as the square, which is what the cost budget of :func:`plan_view`
    accounts for."""
    return demo.samples_per_pixel(ground_resolution)


def plan_view(view: View, source: str, limits: Limits = LOCAL) -> ViewPlan:
    """The box and resolution to compute for a view of ``source``.

    Parameters
    ----------
    view
        The map's view.
    source
        The engine's source name.
    limits
        The server's caps (hosted mode: a smaller area and fewer pixels per side).

    Raises
    ------
    ViewError
        A view with no area, one across the antimeridian, or one too large for the source.
    LimitError
        A view larger than the server's cap (zoom in).
    """
    (x0, x1), (y0, y1) = view.x_range, view.y_range
    if not (x1 > x0 and y1 > y0 and view.width > 0 and view.height > 0):
        raise ViewError("the map's view has no area")
    _, lat = view.centre_lonlat
    scale = mercator_scale(lat)
    side_m = max(x1 - x0, y1 - y0) / scale
    limit = MAX_DEMO_VIEW_M if source == "demo" else MAX_CATALOG_VIEW_M
    cap_m = None if limits.max_area_km is None else limits.max_area_km * 1000
    if cap_m is not None and cap_m < limit and side_m > cap_m:
        raise LimitError(
            f"the view is {side_m / 1000:.0f} km wide, more than {limits.cap_text('the view')} "
            f"({limits.max_area_km:g} km): zoom in"
        )
    if side_m > limit:
        raise ViewError(
            f"the view is {side_m / 1000:.0f} km wide; layers are computed up to "
            f"{limit / 1000:.0f} km for this source: zoom in"
        )
    if x0 < -_ANTIMERIDIAN_X or x1 > _ANTIMERIDIAN_X:
        raise ViewError(
            "the view crosses the antimeridian (180°), where the sources' maps end: pan the map "
            "until it is on one side"
        )
    pixels_per_side = min(MAX_PIXELS_PER_SIDE, limits.max_pixels_per_side)
    resolution = max((x1 - x0) / view.width, (y1 - y0) / view.height, native_resolution(lat))
    resolution = max(resolution, max(x1 - x0, y1 - y0) / pixels_per_side)
    if source == "demo":
        resolution = _within_demo_budget(resolution, x1 - x0, y1 - y0, scale)
    west, south = to_lonlat(x0, y0)
    east, north = to_lonlat(x1, y1)
    # Rounding makes a repeated view (same ranges) an exact cache hit; 1e-6 degree is ~0.1 m.
    bbox = (round(west, 6), round(south, 6), round(east, 6), round(north, 6))
    return ViewPlan(bbox, round(resolution, 2))


#: A resolution a little finer than the screen's is taken if it costs at most this much more
#: than the budget and needs fewer samples per pixel (e.g. 25 m instead of 26 m).
_SNAP_TOLERANCE = 1.25


def _within_demo_budget(resolution: float, width_m: float, height_m: float, scale: float) -> float:
    """The resolution to compute a demo view at: its cost (pixels x samples) at most that of the
    same view at ``resolution`` with one sample per pixel.

    Just above a step of the demo's sampling (say 26 m on the ground, 9 samples per pixel), the
    step itself (25 m, one sample) is a little finer and much cheaper: it is taken when its cost
    is within the tolerance. Otherwise the resolution is coarsened until the cost fits."""
    budget = (width_m / resolution) * (height_m / resolution)

    def cost(candidate: float) -> float:
        k = demo_samples_per_pixel(candidate / scale)
        return (width_m / candidate) * (height_m / candidate) * k * k

    if cost(resolution) <= budget * 1.0001:
        return resolution
    for coarsest_m in demo.sampling_step_limits():
        snapped = coarsest_m * scale * 0.99  # safely inside the step, whatever the rounding
        if snapped < resolution and cost(snapped) <= budget * _SNAP_TOLERANCE:
            return snapped
    candidate = resolution
    while cost(candidate) > budget * 1.0001:
        candidate *= 1.05
    return candidate
