"""Earth Engine's ``Map`` for notebooks: ``Map.addLayer`` and ``Map.setCenter``, drawn with
HoloViews and the dashboard's visualisation code (:mod:`compositing.visualisation`).

``Map.addLayer(eeObject, visParams, name, shown, opacity)`` colours an image with its
visualisation parameters (``bands``, ``min``, ``max``, ``gamma``, ``palette``; Earth Engine's
band names or the sensor's) and adds it to the map; clicking a layer's name in the legend hides
or shows it, like the layer list's checkboxes. A collection is drawn as its mosaic, as Earth
Engine draws one. The layers are drawn in the image's own CRS, without a basemap (web tiles
need the internet). HoloViews is imported when a layer is drawn, not with the engine.

::

    from compositing.facade import Map
    m = Map()
    m.setCenter(-122.373, 37.448, 13)
    m.addLayer(median, {"bands": ["B4", "B3", "B2"], "min": 0, "max": 3000}, "Median")
    m  # in a notebook: the map

``Map.inspector(collection, bands)`` is the Code Editor's Inspector and
``ui.Chart.image.series`` in one: the map with a chart and a table under it, and a click on the
map charts the collection's series at that pixel (:mod:`compositing.map_inspector`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import xarray as xr

from . import visualisation as vis
from .bands import resolve_band
from .contract import band_names
from .geo import LONLAT, transformer
from .reducers import composite

__all__ = ["Map", "add_layer", "layer_map"]

#: Earth Engine's web-map zoom: metres per screen pixel at zoom 0 on the equator.
ZOOM_0_METRES = 156_543.03392
FRAME_WIDTH = 520


def add_layer(
    image: object,
    vis_params: Mapping | None = None,
    name: str = "layer",
    shown: bool = True,
    opacity: float = 1.0,
):
    """One map layer (an ``hv.RGB``), as ``Map.addLayer(image, visParams, name, shown,
    opacity)``.

    Parameters
    ----------
    image
        An ``Image`` or ``ImageCollection`` of the facade (a collection is drawn as its
        mosaic), or an ``xarray.DataArray`` ``(band, y, x)``, ``(y, x)`` or a collection
        ``(time, band, y, x)``; NaN is masked (transparent). A lazy image is computed here.
    vis_params
        ``bands`` (three for an RGB, one for a single band; default the first band), ``min``
        and ``max`` (default 0 and 1; one number or one per band), ``gamma`` and ``palette``
        (a list of colours for a single band; one colour paints every unmasked pixel, as Earth
        Engine does for ``mask.selfMask()`` with ``palette: ['orange']``). Not in Earth Engine:
        ``classes``, a ``{value: colour}`` mapping that colours a band of categories exactly.
    name
        The layer's name in the legend.
    shown
        Whether the layer is visible at first (click its name to toggle).
    opacity
        0 (transparent) to 1 (opaque).
    """
    import holoviews as hv

    params = dict(vis_params or {})
    array = _as_image(image)
    present = band_names(array)
    wanted = params.get("bands") or [present[0]]
    bands = [resolve_band(b, present, what="visParams bands") for b in _as_list(wanted)]
    minimum, maximum = params.get("min", 0.0), params.get("max", 1.0)
    gamma = params.get("gamma", 1.0)
    palette = params.get("palette")
    if isinstance(palette, str):
        palette = [palette] if "," not in palette else palette.split(",")
    values = np.asarray(array.sel(band=bands).values, dtype=np.float64)  # computes a lazy image

    if len(bands) == 3:
        rgba = vis.rgb_to_rgba(*values, minimum, maximum, gamma)
    elif len(bands) != 1:
        raise ValueError(f"visParams bands: show one band or three, not {len(bands)}: {bands}")
    elif "classes" in params:
        classes = [vis.SclClass(value, "", colour) for value, colour in params["classes"].items()]
        rgba = vis.classes_to_rgba(values[0], classes)
    elif palette is not None and len(palette) == 1:
        rgba = vis.mask_to_rgba(np.isfinite(values[0]), palette[0], opacity=1.0)
    else:
        low, high, g = (float(_as_list(v)[0]) for v in (minimum, maximum, gamma))
        rgba = vis.palette_to_rgba(values[0], low, high, palette or vis.GREYS, g)
    rgba[..., 3] = np.round(rgba[..., 3] * float(opacity)).astype(np.uint8)
    layer = hv.RGB(rgba, bounds=vis.pixel_bounds(array), label=name)
    # Hide the drawing, not the element: HoloViews leaves hidden elements out of the legend,
    # and a layer must stay in the legend to be switched on.
    return layer if shown else layer.opts(hooks=[_start_hidden])


def layer_map(
    *layers,
    title: str = "",
    crs: object = None,
    width: int = FRAME_WIDTH,
    legend_position: str = "right",
    extent: tuple[float, float, float, float] | None = None,
):
    """The layers overlaid, first at the bottom, with a legend whose clicks hide or show them.

    ``crs`` (e.g. ``collection.rio.crs``) only labels the axes: the layers are drawn in the
    coordinates they come in. ``extent`` (left, bottom, right, top) in those coordinates sets
    the view (``Map.setCenter``).
    """
    import holoviews as hv

    label = f" in {crs}" if crs else ""
    view = {} if extent is None else {"xlim": extent[0::2], "ylim": extent[1::2]}
    return hv.Overlay(list(layers)).opts(
        click_policy="hide",
        legend_position=legend_position,
        data_aspect=1,
        frame_width=width,
        title=title,
        xlabel=f"x (m){label}",
        ylabel="y (m)",
        xformatter="%.0f",
        yformatter="%.0f",
        toolbar="above",
        **view,
    )


@dataclass
class Map:
    """A map of layers, as the Code Editor's ``Map`` (or geemap's ``Map()``): ``addLayer``,
    ``setCenter``, ``centerObject``; shown when it is the last value of a notebook cell, or with
    :meth:`show` (a HoloViews overlay).

    Parameters
    ----------
    title
        The map's title.
    width
        The frame width in screen pixels.
    """

    title: str = ""
    width: int = FRAME_WIDTH
    layers: list = field(default_factory=list)
    #: (name, (band, y, x) image) of each layer, for the inspector's values at a point.
    images: list = field(default_factory=list)
    crs: object = None
    center: tuple[float, float, float | None] | None = None

    def add_layer(
        self,
        eeObject: object,  # noqa: N803 (Earth Engine's name)
        visParams: Mapping | None = None,  # noqa: N803
        name: str | None = None,
        shown: bool = True,
        opacity: float = 1.0,
    ) -> Map:
        """Add a layer (see :func:`add_layer`); unnamed layers are "Layer 1", "Layer 2"..."""
        array = _as_image(eeObject)
        self.crs = self.crs or array.rio.crs
        label = name or f"Layer {len(self.layers) + 1}"
        self.layers.append(add_layer(array, visParams, label, shown, opacity))
        self.images.append((label, array))
        return self

    def inspector(
        self,
        collection: object,
        bands: Sequence[str] | None = None,
        *,
        masks: Mapping[str, xr.DataArray] | None = None,
        quality: str | xr.DataArray | None = None,
        point: tuple[float, float] | None = None,
    ):
        """The map with a pixel inspector under it: a click charts ``collection``'s series at
        the clicked pixel (every image's value, the masked ones and why, what ``mosaic`` and
        ``quality_mosaic`` took, median, min and max as lines) and lists each layer's value
        there, as the Code Editor's Inspector and ``ui.Chart.image.series`` do.

        Parameters
        ----------
        collection
            An ``ImageCollection`` or a collection ``(time, band, y, x)`` DataArray, unmasked.
        bands
            The bands charted (Earth Engine's names or the sensor's; default the first three).
        masks
            ``{reason: (time, y, x) boolean}``, True where the reason drops a pixel (see
            :func:`~compositing.inspection.pixel_series`).
        quality
            The band (or a ``(time, y, x)`` score) ``quality_mosaic`` picks by.
        point
            (lon, lat) inspected first (default the collection's centre).
        """
        from .map_inspector import inspector_panels

        if not self.layers:
            raise ValueError("the map has no layer yet: add one with addLayer(image, visParams)")
        array = collection.to_xarray() if hasattr(collection, "to_xarray") else collection
        return inspector_panels(
            self.show(), self.images, array, map_crs=self.crs, bands=bands, masks=masks,
            quality=quality, point=point,
        )  # fmt: skip

    def set_center(self, lon: float, lat: float, zoom: float | None = None) -> Map:
        """Centre the view on (lon, lat), at Earth Engine's web-map ``zoom`` (0-24: each step
        halves the metres per screen pixel) or, without one, keeping the layers' extent."""
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise ValueError(f"setCenter takes lon, lat in degrees, not ({lon}, {lat}).")
        if zoom is not None and not 0 <= zoom <= 24:
            raise ValueError(f"setCenter: zoom is 0 to 24, not {zoom}.")
        self.center = (float(lon), float(lat), None if zoom is None else float(zoom))
        return self

    def center_object(self, image: object, zoom: float | None = None) -> Map:
        """Centre the view on an image's middle (``centerObject``)."""
        array = _as_image(image)
        x, y = float(array["x"].mean()), float(array["y"].mean())
        lon, lat = transformer(array.rio.crs, LONLAT).transform(x, y)
        return self.set_center(lon, lat, zoom)

    def extent(self) -> tuple[float, float, float, float] | None:
        """The view (left, bottom, right, top) in the layers' CRS that :meth:`set_center`
        asks for, or None (all layers)."""
        if self.center is None or self.crs is None:
            return None
        lon, lat, zoom = self.center
        x, y = transformer(LONLAT, self.crs).transform(lon, lat)
        if zoom is None:
            left, bottom, right, top = (
                np.array([layer.bounds.lbrt() for layer in self.layers])
                if self.layers
                else np.zeros((1, 4))
            ).T
            half = max(np.max(right) - np.min(left), np.max(top) - np.min(bottom)) / 2
        else:
            metres_per_pixel = ZOOM_0_METRES * math.cos(math.radians(lat)) / 2**zoom
            half = metres_per_pixel * self.width / 2
        return (x - half, y - half, x + half, y + half)

    def show(self):
        """The map, as a HoloViews overlay."""
        if not self.layers:
            raise ValueError("the map has no layer yet: add one with addLayer(image, visParams)")
        return layer_map(
            *self.layers, title=self.title, crs=self.crs, width=self.width, extent=self.extent()
        )

    def _repr_mimebundle_(self, include=None, exclude=None):
        return self.show()._repr_mimebundle_(include, exclude)

    addLayer = add_layer  # noqa: N815 (Earth Engine's name)
    setCenter = set_center  # noqa: N815 (Earth Engine's name)
    centerObject = center_object  # noqa: N815 (Earth Engine's name)


def _as_list(value: object) -> list:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",")] if "," in value else [value]
    return list(value) if isinstance(value, list | tuple) else [value]


def _as_image(image: object) -> xr.DataArray:
    """A ``(band, y, x)`` DataArray of what ``addLayer`` takes: a collection becomes its mosaic."""
    if hasattr(image, "mosaic") and hasattr(image, "to_xarray"):  # the facade's ImageCollection
        image = image.mosaic()
    # A facade Image wraps its DataArray as .data (a DataArray's own .data is its values).
    array = image if isinstance(image, xr.DataArray) else getattr(image, "data", image)
    if not isinstance(array, xr.DataArray):
        raise TypeError(
            f"addLayer takes an Image, an ImageCollection or a DataArray, not {type(image)}"
        )
    if "time" in array.dims:  # a stack of images (a collection, or an Image inside map)
        array = composite(array.transpose("time", "band", "y", "x"), "mosaic", order="given")
    if "band" not in array.dims:
        array = array.expand_dims(band=[str(array.name or "value")])
    return array


def _start_hidden(plot, element) -> None:
    renderer = plot.handles["glyph_renderer"]
    renderer.visible = False
    renderer.tags = [*renderer.tags, "hv_legend"]  # HoloViews keeps tagged hidden layers listed
