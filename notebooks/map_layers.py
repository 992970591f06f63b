"""Earth Engine's ``Map.addLayer`` for the teaching notebooks, with HoloViews.

In Earth Engine, ``Map.addLayer(image, visParams, name, shown, opacity)`` colours an image with
its visualisation parameters (``bands``, ``min``, ``max``, ``gamma``, ``palette``) and adds it to
a map whose layer list switches each layer on and off. Here the same takes two steps:

* :func:`add_layer` colours the image with :mod:`compositing.visualisation` (Earth Engine's
  stretch, band by band; masked pixels are transparent) and returns an ``hv.RGB`` element in the
  image's own CRS (no basemap: web tiles need the internet);
* :func:`layer_map` overlays the layers; **clicking a layer's name in the legend hides or shows
  it**, like the checkboxes of Earth Engine's layer list. Layers added with ``shown=False`` start
  hidden, as in Earth Engine.

:func:`class_legend` draws a colour key for categorical layers (scene classes, dates), which an
RGB image cannot carry itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import holoviews as hv
import numpy as np
import panel as pn
import xarray as xr

from compositing import visualisation as vis

__all__ = ["add_layer", "class_legend", "layer_map", "scl_legend"]


def add_layer(
    image: object,
    vis_params: Mapping | None = None,
    name: str = "layer",
    shown: bool = True,
    opacity: float = 1.0,
) -> hv.RGB:
    """One map layer, like Earth Engine's ``Map.addLayer(image, visParams, name, shown, opacity)``.

    Parameters
    ----------
    image
        A ``compositing.Image`` or an ``xarray.DataArray`` with dims ``(band, y, x)`` or
        ``(y, x)``; NaN is masked (transparent).
    vis_params
        Earth Engine's visualisation parameters: ``bands`` (three for an RGB, one for a single
        band; default the image's first band), ``min`` and ``max`` (default 0 and 1), ``gamma``
        and ``palette`` (a list of colours for a single band; one colour paints every unmasked
        pixel, as Earth Engine does for ``mask.selfMask()`` with ``palette: ['orange']``).
        Not in Earth Engine: ``classes``, a ``{value: colour}`` mapping that colours a band of
        categories exactly (other values are transparent); Earth Engine would ``remap`` the
        values to 0..n-1 and use an n-colour palette.
    name
        The layer's name in the legend.
    shown
        Whether the layer is visible at first (click its name to toggle).
    opacity
        0 (transparent) to 1 (opaque).
    """
    params = dict(vis_params or {})
    array = _as_dataarray(image)
    bands = list(params.get("bands") or [str(array["band"].values[0])])
    minimum, maximum = float(params.get("min", 0.0)), float(params.get("max", 1.0))
    gamma = float(params.get("gamma", 1.0))
    palette = params.get("palette")
    if isinstance(palette, str):
        palette = [palette]
    values = np.asarray(array.sel(band=bands).values, dtype=np.float64)  # computes a lazy image

    if len(bands) == 3:
        rgba = vis.rgb_to_rgba(*values, minimum, maximum, gamma)
    elif len(bands) != 1:
        raise ValueError(f"show one band or three, not {len(bands)}: {bands}")
    elif "classes" in params:
        classes = [vis.SclClass(value, "", colour) for value, colour in params["classes"].items()]
        rgba = vis.classes_to_rgba(values[0], classes)
    elif palette is not None and len(palette) == 1:
        rgba = vis.mask_to_rgba(np.isfinite(values[0]), palette[0], opacity=1.0)
    else:
        rgba = vis.palette_to_rgba(values[0], minimum, maximum, palette or vis.GREYS, gamma)
    rgba[..., 3] = np.round(rgba[..., 3] * opacity).astype(np.uint8)
    layer = hv.RGB(rgba, bounds=vis.pixel_bounds(array), label=name)
    # Hide the drawing, not the element: HoloViews leaves hidden elements out of the legend,
    # and a layer must stay in the legend to be switched on.
    return layer if shown else layer.opts(hooks=[_start_hidden])


def layer_map(
    *layers: hv.RGB,
    title: str = "",
    crs: object = None,
    width: int = 520,
    legend_position: str = "right",
) -> hv.Overlay:
    """Overlay the layers, first at the bottom, with a legend whose clicks hide or show them.

    ``crs`` (e.g. ``collection.rio.crs``) only labels the axes: the layers are drawn in the
    coordinates they come in (metres of the collection's UTM zone for the demo).
    """
    crs = f" in {crs}" if crs else ""
    return hv.Overlay(list(layers)).opts(
        click_policy="hide",
        legend_position=legend_position,
        data_aspect=1,
        frame_width=width,
        title=title,
        xlabel=f"x (m){crs}",
        ylabel="y (m)",
        xformatter="%.0f",
        yformatter="%.0f",
        toolbar="above",
    )


def class_legend(entries: Iterable[tuple[str, str]], title: str = "") -> pn.pane.HTML:
    """A colour key: one ``(colour, text)`` row per class, e.g. ``("#00a000", "4 Vegetation")``."""
    rows = "".join(
        f'<div style="display:flex;align-items:center;gap:6px;margin:1px 0">'
        f'<span style="display:inline-block;width:14px;height:14px;background:{colour};'
        f'border:1px solid #888"></span><span>{text}</span></div>'
        for colour, text in entries
    )
    heading = f"<b>{title}</b>" if title else ""
    return pn.pane.HTML(f'<div style="font-size:12px">{heading}{rows}</div>', width=240)


def scl_legend(values: Sequence[int] | None = None) -> pn.pane.HTML:
    """The Scene Classification Layer's classes (those in ``values``, default 1-11)."""
    wanted = set(range(1, 12) if values is None else (int(v) for v in values))
    entries = [(c.colour, f"{c.value} {c.name}") for c in vis.SCL_CLASSES if c.value in wanted]
    return class_legend(entries, "SCL classes")


def _start_hidden(plot, element) -> None:
    renderer = plot.handles["glyph_renderer"]
    renderer.visible = False
    renderer.tags = [*renderer.tags, "hv_legend"]  # HoloViews keeps tagged hidden layers listed


def _as_dataarray(image: object) -> xr.DataArray:
    # A compositing.Image wraps its DataArray as .data (a DataArray's own .data is its values).
    array = image if isinstance(image, xr.DataArray) else getattr(image, "data", image)
    if not isinstance(array, xr.DataArray):
        raise TypeError(f"add_layer takes a compositing.Image or a DataArray, not {type(image)}")
    if "band" not in array.dims:
        name = str(array.name or "value")
        array = array.expand_dims(band=[name])
    return array
