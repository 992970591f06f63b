"""The map: one image per layer in Web Mercator, the point and its thermal area, a legend.

The map is GeoViews: the plot is drawn in Web Mercator (``projection=ccrs.GOOGLE_MERCATOR``)
and every element is in Web Mercator metres. The layer images are computed in Web Mercator
already (:mod:`app.view`), so they are drawn as they are: reprojecting images in the browser's
refresh path (``gv.project``) is what the stack notes measured as slow. The point, its thermal
area and the outlined cells say their CRS (``crs=ccrs.GOOGLE_MERCATOR``), and so GeoViews gives
the ranges and clicks the streams report in Web Mercator too. (Elements in longitude and
latitude, ``crs=ccrs.PlateCarree()``, fail to draw with GeoViews 1.15.1 and cartopy 0.26:
``KeyError: 'lon_0'``, fixed in GeoViews after 1.15.1, holoviz/geoviews#884.)

Each layer is a ``hv.DynamicMap`` fed by its own ``hv.streams.Pipe``: the dashboard sends a
coloured image (or None to hide the layer) and only that layer is redrawn. The image travels as
a compressed image URL (:mod:`app.image_url`: near-lossless WebP, ~0.3-0.4 MB for a noisy
1000 x 700 view instead of 2.8 MB of raw RGBA) drawn by Bokeh's ``ImageURL`` glyph, an element
without a CRS that GeoViews draws in the plot's own coordinates. The view is read back with
``RangeXY`` and ``PlotSize`` streams (what to compute), and a click with ``Tap`` (move the
point). The plot is rebuilt only to change the basemap or the set of visible layers, or to jump
to a point outside the view; a new plot size only sets its ranges. Cells chosen in the NDVI-LST
scatter are outlined in magenta.

The basemap (GeoViews' tile sources) is optional and off by default: in ``panel serve``, tiles
that cannot load stop the DynamicMaps from updating (see the stack notes), so the dashboard
checks the connection first (:mod:`app.network`).
"""

from __future__ import annotations

import functools
import logging
import operator
from collections.abc import Sequence

import cartopy.crs as ccrs
import geoviews as gv
import geoviews.plotting.bokeh  # noqa: F401  (GeoViews' plots and its projecting streams)
import holoviews as hv
import numpy as np
import panel as pn
import param

from . import image_url
from .image_url import URLImage
from .legend import legend_html
from .render import LayerImage
from .view import View, initial_view, resized, to_lonlat, to_mercator

log = logging.getLogger("app")
#: The map's projection and the CRS of all its elements: EPSG:3857, as app.view's views.
MERCATOR = ccrs.GOOGLE_MERCATOR
#: The basemaps: GeoViews' tile sources (they need the internet; app.network checks it).
TILES = {"OpenStreetMap": gv.tile_sources.OSM, "Esri imagery": gv.tile_sources.EsriImagery}
DEFAULT_SIZE = (1000, 700)
#: The first view shows the thermal area with this much room around it.
AREA_MARGIN = 1.15
MAP_HEIGHT = 734  # a 700-pixel-high plot frame plus the x axis
#: GeoViews reports the plot's ranges shrunk by 1e-6 m (its projection's tolerance): ranges
#: closer than this to the view's are the same view, not a pan.
RANGE_TOLERANCE_M = 1e-3


class _NoCellsFilter(logging.Filter):
    """Drops GeoViews' warning that "none of the projected paths were contained within the
    bounds" for Web Mercator Rectangles: GeoViews 1.15.1 gives it whenever the outlined cells
    are none (an empty element), and a notebook would show it under the map."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not message.startswith("While projecting a Rectangles element from a Mercator")


logging.getLogger("param.project_geom").addFilter(_NoCellsFilter())


def framed(point: tuple[float, float], area_m: float, width: int, height: int) -> View:
    """A view of the point's thermal area with room around it, on a plot of this size.

    Parameters
    ----------
    point
        (lon, lat) of the point.
    area_m
        Side of the thermal area, metres on the ground.
    width, height
        The plot's size in pixels.
    """
    return initial_view(*point, width, height, span_m=area_m * AREA_MARGIN)


def same_view(a: View, b: View, tolerance_m: float = RANGE_TOLERANCE_M) -> bool:
    """Whether two views show the same ranges (to ``tolerance_m``) at the same size."""
    if (a.width, a.height) != (b.width, b.height):
        return False
    ends = (*a.x_range, *a.y_range), (*b.x_range, *b.y_range)
    return all(abs(p - q) <= tolerance_m for p, q in zip(*ends, strict=True))


class MapView(pn.viewable.Viewer):
    """The map of the layers, the point and the thermal area.

    Parameters
    ----------
    point
        (lon, lat) of the point.
    area_m
        Side of the thermal area around it, metres on the ground.
    layer_keys
        Every layer the map can show, bottom to top.
    layers
        The layers drawn from the start (default none): the first refresh then finds the plot
        built with them, where otherwise it rebuilt it (0.4-0.7 s of the server's event loop in a
        profile, for every session of a class opening together).
    view
        The first view (default: the thermal area framed on a 1000 x 700 pixel plot).
    """

    view = param.ClassSelector(class_=View, doc="What the map shows (ranges and pixels).")
    tapped = param.Tuple(default=None, allow_None=True, length=2, doc="Last click (lon, lat).")
    basemap = param.String(default="None", doc="A key of TILES, or 'None'.")

    def __init__(
        self,
        point: tuple[float, float],
        area_m: float,
        *,
        layer_keys: Sequence[str],
        layers: Sequence[str] = (),
        **params,
    ) -> None:
        if params.get("view") is None:
            params["view"] = framed(point, area_m, *DEFAULT_SIZE)
        super().__init__(**params)
        #: Every layer the map can show, bottom to top (the order they are drawn in).
        self.layer_keys = tuple(layer_keys)
        self.images: dict[str, LayerImage | None] = {key: None for key in self.layer_keys}
        self._pipes = {key: hv.streams.Pipe(data=None) for key in self.layer_keys}
        self._frame = hv.streams.Pipe(data=(point, area_m))
        self._highlight = hv.streams.Pipe(data=[])
        self.legend = pn.pane.HTML(legend_html([]), sizing_mode="stretch_width", margin=(0, 10))
        self.pane = pn.pane.HoloViews(sizing_mode="stretch_both", margin=0, linked_axes=False)
        self._drawn = tuple(key for key in self.layer_keys if key in layers)
        #: Whether the user has panned or zoomed (the plot reported ranges of its own).
        self._moved = False
        self._build()

    # --- what the dashboard calls -----------------------------------------------------------

    def show(self, image: LayerImage) -> None:
        """Draw (or replace) a layer's image."""
        if self.images[image.key] is image:
            # Already drawn (a click or a timeline step refreshes every layer, and most come
            # back from the image cache as they were): resending costs the browser a redraw.
            # A rebuilt plot redraws from the pipe's last data, so nothing is lost.
            return
        self.images[image.key] = image
        # Encoded here once (or found in image_url's cache, e.g. encoded in the refresh's
        # worker thread, or by another session): the pipe carries the URL and the bounds.
        self._pipes[image.key].send((image_url.encode(image.rgba), image.bounds))

    def hide(self, key: str) -> None:
        """Remove a layer from the map (nothing is drawn for it)."""
        if self.images[key] is not None:
            self.images[key] = None
            self._pipes[key].send(None)

    def set_point(self, point: tuple[float, float], area_m: float) -> None:
        """Move the point (lon, lat) and its thermal area (side ``area_m`` metres)."""
        if self._frame.data != (point, area_m):  # a redraw costs a round trip to the browser
            self._frame.send((point, area_m))

    def recentre(self, point: tuple[float, float]) -> None:
        """Jump to a point (lon, lat): a new view around it and its thermal area, same plot
        size."""
        self._moved = False
        self.view = framed(point, self._frame.data[1], self.view.width, self.view.height)
        self._build()

    def set_layers(self, keys: tuple[str, ...]) -> None:
        """Draw these layers (in the map's order). The plot holds a DynamicMap for the visible
        layers only: each one costs the browser time on every update (~15 ms each measured), so
        toggling a layer rebuilds the plot instead, at the same view."""
        drawn = tuple(key for key in self.layer_keys if key in keys)
        if drawn != self._drawn:
            self._drawn = drawn
            self._build()

    def highlight(self, outlines: list[tuple[float, float, float, float]]) -> None:
        """Outline these cells (x0, y0, x1, y1 in EPSG:3857), e.g. pairs chosen in the scatter."""
        self._highlight.send(list(outlines))

    def set_basemap(self, name: str) -> None:
        """Show the basemap ``name`` (a key of :data:`TILES`) under the layers, or none."""
        self.basemap = name
        self._build()

    def set_legends(self, keys: list[str], problems: Sequence[tuple[str, str]] = ()) -> None:
        """Show the legends of these layers (top layer first), and for each (label, why) of
        ``problems`` why a ticked layer is not shown."""
        legends = [self.images[k].legend for k in keys if self.images.get(k) is not None]
        self.legend.object = legend_html(legends, problems)

    # --- GeoViews plumbing ------------------------------------------------------------------

    def _build(self) -> None:
        layers = [
            hv.DynamicMap(functools.partial(self._layer_element, key), streams=[self._pipes[key]])
            for key in self._drawn
        ]
        area = hv.DynamicMap(self._area_element, streams=[self._frame])
        cells = hv.DynamicMap(self._cells_element, streams=[self._highlight])
        point = hv.DynamicMap(self._point_element, streams=[self._frame])
        # Multiplying DynamicMaps gives one DynamicMap of overlays: each layer still redraws
        # alone when its pipe sends.
        overlay = functools.reduce(operator.mul, [*layers, area, cells, point])
        if self.basemap in TILES:
            overlay = TILES[self.basemap] * overlay
        view = self.view
        overlay = overlay.opts(
            projection=MERCATOR,  # GeoViews then puts longitude and latitude on the axes
            xlim=view.x_range,
            ylim=view.y_range,
            responsive=True,
            data_aspect=1,
            xlabel="",
            ylabel="",
            active_tools=["pan", "wheel_zoom"],
            show_legend=False,
        )
        # The streams read the plot's ranges, size in pixels and clicks. Their source must be
        # one element of the overlay (with the overlay itself, HoloViews links none of them).
        # GeoViews gives a stream's coordinates in its source's CRS: Web Mercator metres.
        for stream, subscriber in (
            (hv.streams.RangeXY, self._ranges_changed),
            (hv.streams.PlotSize, self._size_changed),
            (hv.streams.Tap, self._clicked),
        ):
            stream(source=point).add_subscriber(subscriber)
        self.pane.object = overlay

    def _layer_element(
        self, key: str, data: tuple[str, tuple[float, float, float, float]] | None
    ) -> URLImage:
        """A layer's image: (URL, bounds in EPSG:3857), or None for nothing drawn."""
        if data is None:
            (x0, x1), (y0, y1) = self.view.x_range, self.view.y_range
            return URLImage("", bounds=(x0, y0, x1, y1))  # an empty source: no image
        url, bounds = data
        return URLImage(url, bounds=bounds)

    @staticmethod
    def _area_element(data: tuple[tuple[float, float], float]) -> gv.Path:
        """The thermal analysis area: area_m on the ground, 1 / cos(lat) more in Web
        Mercator metres, around the point."""
        (lon, lat), area_m = data
        x, y = to_mercator(lon, lat)
        half = area_m / 2 / np.cos(np.radians(lat))
        x0, y0, x1, y1 = x - half, y - half, x + half, y + half
        ring = [(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]
        return gv.Path([ring], crs=MERCATOR).opts(
            color="#00e5ff", line_width=1.5, line_dash="dashed"
        )

    @staticmethod
    def _cells_element(data: list[tuple[float, float, float, float]]) -> gv.Rectangles:
        return gv.Rectangles(data, crs=MERCATOR).opts(
            fill_alpha=0, line_color="#ff00ff", line_width=2, tools=[]
        )

    @staticmethod
    def _point_element(data: tuple[tuple[float, float], float]) -> gv.Points:
        (lon, lat), _ = data
        return gv.Points([to_mercator(lon, lat)], crs=MERCATOR).opts(
            marker="x", size=18, color="#ff1744", line_width=4, tools=[]
        )

    def _ranges_changed(self, x_range=None, y_range=None) -> None:
        log.debug("ranges %s %s", x_range, y_range)
        # Before the plot is laid out, HoloViews reports the extent of the point: no area.
        if (
            x_range is None
            or y_range is None
            or x_range[0] >= x_range[1]
            or y_range[0] >= y_range[1]
        ):
            return
        view = View(tuple(map(float, x_range)), tuple(map(float, y_range)),
                    self.view.width, self.view.height)  # fmt: skip
        if not same_view(view, self.view):
            self._moved = True
            self.view = view

    def _size_changed(self, width=None, height=None, scale=None) -> None:
        log.debug("plot size %s x %s", width, height)
        if not width or not height:
            return
        width, height = int(width), int(height)
        if (width, height) == (self.view.width, self.view.height):
            return
        # The plot keeps the ranges it was built with whatever its size: on a plot of another
        # shape the image would be stretched and the computed extent would not be the one on
        # screen. Give it ranges of the plot's shape: until the user moves the map, the point's
        # thermal area framed as at the start; after, the same centre and zoom.
        if self._moved:
            self.view = resized(self.view, width, height)
        else:
            self.view = framed(*self._frame.data, width, height)
        self._set_plot_ranges()

    def _set_plot_ranges(self) -> None:
        """Give the drawn plots the view's ranges. Set on the Bokeh ranges themselves, where
        a rebuild of the plot (the ranges are fixed when it is built) cost 0.5-0.9 s of the
        server's event loop per session in a profile of ten pages opening together: every page
        reports its real size once. The view was set first, so the ranges the plot reports
        back are the view's and do not count as a move."""
        # Panel keeps the HoloViews plot of each page the pane is on (no public accessor); one
        # Bokeh figure may be listed under more than one root.
        figures = {id(plot.state): plot.state for plot, _ in self.pane._plots.values()}
        if not figures or any(figure.document is None for figure in figures.values()):
            self._build()  # on no page yet: the next render builds it with the view
            return
        (x0, x1), (y0, y1) = self.view.x_range, self.view.y_range
        for figure in figures.values():

            def set_ranges(figure=figure) -> None:
                figure.x_range.update(start=x0, end=x1)
                figure.y_range.update(start=y0, end=y1)

            # On the next tick: set inside the size stream's callback, the new ranges did not
            # reach the page (and the plot's size stream stopped reporting).
            figure.document.add_next_tick_callback(set_ranges)

    def _clicked(self, x=None, y=None) -> None:
        if x is not None and y is not None:
            self.tapped = to_lonlat(x, y)

    def __panel__(self) -> pn.viewable.Viewable:
        # A fixed height: the plot's size in pixels decides what is computed, so nothing around
        # the map (legend, status) may change it.
        return pn.Column(
            pn.Column(self.pane, height=MAP_HEIGHT, sizing_mode="stretch_width", margin=0),
            self.legend,
            sizing_mode="stretch_width",
        )
