"""How the Earth Engine examples display their layers: visualisation parameters and pure
colouring functions.

Earth Engine's ``Map.addLayer(image, {bands, min, max, gamma, palette})`` turns band values into
screen colours. This module writes those parameters down for every layer of the Earth Engine
examples (``ImageCollection.mosaic`` and ``ImageCollection.qualityMosaic``) and of the cloudless
article (Sentinel-2 cloudless mosaics on the Planetary Computer, after Earth Engine's s2cloudless
tutorial), and does the same colouring on numpy arrays, so that any front end (the dashboard, a
notebook, a PNG export) shows the layers the way they do:

* :func:`stretch`: ``min``/``max``/``gamma`` to 0-1, as Earth Engine does per band;
* :func:`percentile_range`: an automatic ``min``/``max`` from percentiles of the valid pixels;
* :func:`rgb_to_rgba`, :func:`palette_to_rgba`, :func:`classes_to_rgba`, :func:`mask_to_rgba`:
  (H, W, 4) ``uint8`` images in which masked (NaN) pixels are transparent;
* :data:`SCL_CLASSES`: the Sentinel-2 Scene Classification Layer's classes, names and usual colours
  (:data:`SCL_NAMES`: value → name);
* :data:`EXAMPLE_VIS`: the Earth Engine examples' visualisation parameters, by layer.

Everything is numpy in, numpy out: no plotting library is needed here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import xarray as xr

__all__ = [
    "GREYS",
    "SCL_CLASSES",
    "SCL_NAMES",
    "EXAMPLE_VIS",
    "SclClass",
    "VisParams",
    "classes_to_rgba",
    "hex_to_rgb",
    "mask_to_rgba",
    "palette_to_rgba",
    "percentile_range",
    "rgb_to_rgba",
    "stretch",
]


def _check_range(minimum: float, maximum: float, gamma: float) -> None:
    if not (np.isfinite(minimum) and np.isfinite(maximum)) or minimum >= maximum:
        raise ValueError(f"the stretch needs min < max, got min={minimum:g} and max={maximum:g}")
    if not gamma > 0:
        raise ValueError(f"gamma must be positive, not {gamma:g}")


@dataclass(frozen=True)
class VisParams:
    """Earth Engine's visualisation parameters of one layer.

    ``bands`` are the bands shown (three for an RGB layer, one for a palette layer), ``minimum``
    and ``maximum`` the values mapped to black and white (or to the palette's ends), ``gamma`` the
    gamma correction (values above 1 brighten) and ``palette`` the colours of a one-band layer
    (``None``: grey levels, as Earth Engine shows a single band without a palette).
    """

    bands: tuple[str, ...]
    minimum: float
    maximum: float
    gamma: float = 1.0
    palette: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        _check_range(self.minimum, self.maximum, self.gamma)
        if len(self.bands) not in (1, 3):
            raise ValueError(f"a layer shows 1 or 3 bands, not {len(self.bands)}: {self.bands}")


@dataclass(frozen=True)
class SclClass:
    """One class of the Scene Classification Layer: its value, name and display colour."""

    value: int
    name: str
    colour: str


#: Sentinel-2 L2A Scene Classification classes with the colours of ESA's and Sentinel Hub's
#: standard SCL palette.
SCL_CLASSES: tuple[SclClass, ...] = (
    SclClass(0, "No data", "#000000"),
    SclClass(1, "Saturated or defective", "#ff0000"),
    SclClass(2, "Dark area pixels", "#2f2f2f"),
    SclClass(3, "Cloud shadows", "#643200"),
    SclClass(4, "Vegetation", "#00a000"),
    SclClass(5, "Not vegetated", "#ffe65a"),
    SclClass(6, "Water", "#0000ff"),
    SclClass(7, "Unclassified", "#808080"),
    SclClass(8, "Cloud medium probability", "#c0c0c0"),
    SclClass(9, "Cloud high probability", "#ffffff"),
    SclClass(10, "Thin cirrus", "#64c8ff"),
    SclClass(11, "Snow", "#ff96ff"),
)
#: Each SCL class value's name (what the pixel inspector writes).
SCL_NAMES: dict[int, str] = {c.value: c.name for c in SCL_CLASSES}

#: Earth Engine's look for one band without a palette: black to white.
GREYS: tuple[str, ...] = ("#000000", "#ffffff")
#: A perceptually ordered palette for counts (viridis' ends and middle).
COUNT_PALETTE: tuple[str, ...] = ("#440154", "#3b528b", "#21918c", "#5ec962", "#fde725")

#: The Earth Engine examples' visualisation parameters, by layer. The reflectance layers show the
#: ``mosaic`` example's SWIR combination (B11, B8, B3 in Earth Engine's band names) from 0 to 4000;
#: the ``qualityMosaic`` example shows its best- and worst-pixel mosaics in true colour (B4, B3, B2)
#: from 0 to 4500.
EXAMPLE_VIS: dict[str, VisParams] = {
    "rgb": VisParams(("B11", "B08", "B03"), 0, 4000),
    "sum": VisParams(("MSK_CLDPRB",), 0, 500, palette=GREYS),
    "product": VisParams(("MSK_CLDPRB",), 0, 1e10, palette=GREYS),
    "mode": VisParams(("SCL",), 1, 11, palette=tuple(c.colour for c in SCL_CLASSES[1:])),
    "count": VisParams(("count",), 1, 5, palette=COUNT_PALETTE),
    "quality_mosaic": VisParams(("B04", "B03", "B02"), 0, 4500),
}


def pixel_bounds(array: xr.DataArray) -> tuple[float, float, float, float]:
    """(left, bottom, right, top) of a north-up array's outer pixel edges, from its pixel-centre
    ``x``/``y`` coordinates: what an image element (``hv.RGB(bounds=...)``) needs."""
    x, y = array["x"].values, array["y"].values
    dx = abs(float(x[1] - x[0])) if x.size > 1 else 1.0
    dy = abs(float(y[1] - y[0])) if y.size > 1 else dx
    return (
        float(x.min()) - dx / 2,
        float(y.min()) - dy / 2,
        float(x.max()) + dx / 2,
        float(y.max()) + dy / 2,
    )


def stretch(values: np.ndarray, minimum: float, maximum: float, gamma: float = 1.0) -> np.ndarray:
    """Map values to 0-1 as Earth Engine's visualisation does: linear from ``minimum`` (0) to
    ``maximum`` (1), clipped, then ``x ** (1 / gamma)``. NaN stays NaN.

    Raises
    ------
    ValueError
        ``minimum >= maximum`` or a gamma that is not positive.
    """
    _check_range(minimum, maximum, gamma)
    scaled = (np.asarray(values, dtype=np.float64) - minimum) / (maximum - minimum)
    scaled = np.clip(scaled, 0.0, 1.0)
    if gamma != 1.0:
        scaled = scaled ** (1.0 / gamma)
    return scaled


def percentile_range(
    values: np.ndarray, low: float = 2.0, high: float = 98.0
) -> tuple[float, float]:
    """An automatic stretch: the ``low`` and ``high`` percentiles of the valid (non-NaN) values.

    Several bands (an RGB stack) share one range, so that the stretch keeps their balance.

    Raises
    ------
    ValueError
        Percentiles out of order or out of 0-100, or no valid value at all (every pixel masked).
    """
    if not 0.0 <= low < high <= 100.0:
        raise ValueError(f"percentiles must satisfy 0 <= low < high <= 100, got {low} and {high}")
    finite = np.asarray(values, dtype=np.float64)
    finite = finite[np.isfinite(finite)]
    if finite.size == 0:
        raise ValueError("every pixel is masked: there is nothing to stretch")
    lower, upper = (float(v) for v in np.percentile(finite, [low, high]))
    if upper <= lower:
        # A flat image: widen the range a little so that stretch() accepts it.
        upper = lower + max(abs(lower) * 1e-6, 1e-6)
    return lower, upper


def rgb_to_rgba(
    red: np.ndarray,
    green: np.ndarray,
    blue: np.ndarray,
    minimum: float | Sequence[float],
    maximum: float | Sequence[float],
    gamma: float | Sequence[float] = 1.0,
) -> np.ndarray:
    """Three bands to an (H, W, 4) ``uint8`` image; a pixel masked in any band is transparent.
    ``minimum``, ``maximum`` and ``gamma`` are one number for all three bands or one per band,
    as Earth Engine's visualisation parameters."""
    per_band = [
        _three(value, name)
        for value, name in ((minimum, "min"), (maximum, "max"), (gamma, "gamma"))
    ]
    channels = [
        stretch(band, low, high, g)
        for band, low, high, g in zip((red, green, blue), *per_band, strict=True)
    ]
    valid = np.isfinite(channels[0]) & np.isfinite(channels[1]) & np.isfinite(channels[2])
    rgba = np.zeros((*valid.shape, 4), dtype=np.uint8)
    for index, channel in enumerate(channels):
        rgba[..., index] = np.where(valid, np.rint(np.nan_to_num(channel) * 255), 0)
    rgba[..., 3] = np.where(valid, 255, 0)
    return rgba


def _three(value: float | Sequence[float], name: str) -> list[float]:
    values = [float(v) for v in value] if isinstance(value, Sequence) else [float(value)] * 3
    if len(values) != 3:
        raise ValueError(f"{name} takes one number or one per band (3), not {value!r}")
    return values


def palette_to_rgba(
    values: np.ndarray,
    minimum: float,
    maximum: float,
    palette: Sequence[str] = GREYS,
    gamma: float = 1.0,
) -> np.ndarray:
    """One band to an (H, W, 4) ``uint8`` image through a palette, as Earth Engine does: the
    stretched value runs linearly along the palette's colours. NaN is transparent."""
    if len(palette) < 2:
        raise ValueError(f"a palette needs at least two colours, got {list(palette)}")
    position = stretch(values, minimum, maximum, gamma) * (len(palette) - 1)
    valid = np.isfinite(position)
    position = np.nan_to_num(position)
    colours = np.array([hex_to_rgb(c) for c in palette], dtype=np.float64)
    lower = np.clip(np.floor(position).astype(int), 0, len(palette) - 2)
    weight = (position - lower)[..., None]
    rgb = colours[lower] * (1.0 - weight) + colours[lower + 1] * weight
    rgba = np.zeros((*valid.shape, 4), dtype=np.uint8)
    rgba[..., :3] = np.where(valid[..., None], np.rint(rgb), 0)
    rgba[..., 3] = np.where(valid, 255, 0)
    return rgba


def classes_to_rgba(values: np.ndarray, classes: Sequence[SclClass] = SCL_CLASSES) -> np.ndarray:
    """Class numbers (e.g. SCL) to an (H, W, 4) ``uint8`` image, one colour per class.

    NaN and values that are not a listed class are transparent: a mode of class numbers is always
    a class, so anything else is a masked pixel.
    """
    values = np.asarray(values)
    rgba = np.zeros((*values.shape, 4), dtype=np.uint8)
    for item in classes:
        where = values == item.value
        rgba[where, :3] = hex_to_rgb(item.colour)
        rgba[where, 3] = 255
    return rgba


def mask_to_rgba(mask: np.ndarray, colour: str = "orange", opacity: float = 0.5) -> np.ndarray:
    """A boolean mask to an (H, W, 4) ``uint8`` overlay: ``colour`` at ``opacity`` where True,
    transparent elsewhere (the cloudless article shows its cloud and shadow mask in orange at
    50%)."""
    if not 0.0 <= opacity <= 1.0:
        raise ValueError(f"opacity must be between 0 and 1, not {opacity}")
    mask = np.asarray(mask, dtype=bool)
    rgba = np.zeros((*mask.shape, 4), dtype=np.uint8)
    rgba[mask, :3] = hex_to_rgb(colour)
    rgba[mask, 3] = round(255 * opacity)
    return rgba


#: The CSS named colours the Earth Engine examples and the cloudless article use, so that
#: palettes can say ``"orange"`` as Earth Engine does.
_NAMED_COLOURS = {
    "black": "#000000",
    "white": "#ffffff",
    "orange": "#ffa500",
    "red": "#ff0000",
    "green": "#008000",
    "blue": "#0000ff",
    "yellow": "#ffff00",
    "cyan": "#00ffff",
    "magenta": "#ff00ff",
    "grey": "#808080",
    "gray": "#808080",
}


def hex_to_rgb(colour: str) -> tuple[int, int, int]:
    """``"#rrggbb"``, ``"rrggbb"`` (Earth Engine palettes omit the ``#``) or a basic colour name
    to an (r, g, b) tuple of 0-255 integers."""
    text = _NAMED_COLOURS.get(colour.lower(), colour).lstrip("#")
    if len(text) == 3:
        text = "".join(ch * 2 for ch in text)
    problem = f"not a colour: {colour!r} (use '#rrggbb' or a basic colour name)"
    if len(text) != 6:
        raise ValueError(problem)
    try:
        return int(text[0:2], 16), int(text[2:4], 16), int(text[4:6], 16)
    except ValueError:
        raise ValueError(problem) from None
