"""From layer values to map images: the ways a layer is coloured, and what the legend shows.

Every image is an (H, W, 4) ``uint8`` RGBA array, north up, with its bounds in EPSG:3857: the map
shows it as an image directly, without reprojection. Masked (NaN) pixels are transparent. Each
layer (:mod:`app.layers`) picks one of the colourings here: three bands stretched
(:func:`rgb_image`), a palette ramp (:func:`ramp_image`), classes (:func:`classes_image`) or one
colour over the masked pixels (:func:`mask_image`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import xarray as xr

from compositing import visualisation as vis

from .settings import Stretch


@dataclass(frozen=True)
class Legend:
    """What the legend shows for a layer.

    ``kind``: ``"rgb"`` (bands and range), ``"ramp"`` (a palette from ``minimum`` to
    ``maximum``), ``"classes"`` (colour and name pairs) or ``"swatch"`` (one colour).
    """

    title: str
    kind: str
    minimum: float = 0.0
    maximum: float = 1.0
    gamma: float = 1.0
    palette: tuple[str, ...] = ()
    units: str = ""
    classes: tuple[tuple[str, str], ...] = ()
    opacity: float = 1.0


@dataclass(frozen=True)
class LayerImage:
    """A coloured layer, ready for the map."""

    key: str
    rgba: np.ndarray = field(repr=False)
    bounds: tuple[float, float, float, float]  # left, bottom, right, top in EPSG:3857
    legend: Legend


def stretch_range(
    values: np.ndarray, stretch: Stretch, example: vis.VisParams
) -> tuple[float, float, float]:
    """(min, max, gamma) of a three-band layer: the user's, the visible pixels' percentiles, or
    the Earth Engine example's range for the layer (``example``)."""
    if stretch.mode == "manual":
        return stretch.minimum, stretch.maximum, stretch.gamma
    if stretch.mode == "auto":
        low, high = vis.percentile_range(values, *stretch.percentiles)
        return low, high, stretch.gamma
    return example.minimum, example.maximum, example.gamma


def rgb_image(
    key: str, values: xr.DataArray, stretch: Stretch, example: vis.VisParams, title: str,
    bands_text: str,
) -> LayerImage:  # fmt: skip
    """Three bands ``(band, y, x)`` as red, green and blue.

    Parameters
    ----------
    key
        The layer's key.
    values
        The three bands, red first, on a Web Mercator grid.
    stretch
        The user's stretch (see :func:`stretch_range`).
    example
        The Earth Engine example's visualisation of the layer (its range and gamma).
    title, bands_text
        The legend's title and its bands, e.g. ``"B11, B8, B3"``.
    """
    minimum, maximum, gamma = stretch_range(values.values, stretch, example)
    bands = [values.isel(band=i).values for i in range(3)]
    rgba = vis.rgb_to_rgba(*bands, minimum, maximum, gamma)
    legend = Legend(title, "rgb", minimum, maximum, gamma, units=bands_text)
    return LayerImage(key, rgba, vis.pixel_bounds(values), legend)


def ramp_image(
    key: str, values: np.ndarray, bounds: tuple[float, float, float, float], minimum: float,
    maximum: float, palette: Sequence[str], title: str, units: str,
) -> LayerImage:  # fmt: skip
    """One band ``(y, x)`` coloured by a palette from ``minimum`` to ``maximum``.

    Parameters
    ----------
    key
        The layer's key.
    values
        The band, north up.
    bounds
        Its (left, bottom, right, top) in EPSG:3857.
    minimum, maximum, palette
        The ramp.
    title, units
        The legend's title and the values' units.
    """
    rgba = vis.palette_to_rgba(values, minimum, maximum, palette)
    legend = Legend(
        title, "ramp", float(minimum), float(maximum), palette=tuple(palette), units=units
    )
    return LayerImage(key, rgba, bounds, legend)


def classes_image(key: str, values: xr.DataArray, title: str) -> LayerImage:
    """SCL classes ``(y, x)``, each in its colour; the legend names the classes present."""
    rgba = vis.classes_to_rgba(values.values)
    present = set(np.unique(values.values[np.isfinite(values.values)]).astype(int))
    classes = tuple((c.colour, c.name) for c in vis.SCL_CLASSES if c.value in present)
    legend = Legend(title, "classes", classes=classes)
    return LayerImage(key, rgba, vis.pixel_bounds(values), legend)


def mask_image(key: str, mask: xr.DataArray, colour: str, opacity: float, title: str) -> LayerImage:
    """A boolean mask ``(y, x)``: ``colour`` at ``opacity`` where True, transparent elsewhere."""
    rgba = vis.mask_to_rgba(mask.values, colour, opacity)
    legend = Legend(title, "swatch", palette=(colour,), opacity=opacity)
    return LayerImage(key, rgba, vis.pixel_bounds(mask), legend)
