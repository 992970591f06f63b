"""``reduceRegion``: a reducer's outputs over the pixels of a region, as numbers."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xarray as xr

from ..contract import band_names
from ._geometry import Geometry, as_geometry, region_window
from ._reducer import Reducer

__all__ = ["reduce_region"]


def reduce_region(
    array: xr.DataArray,
    reducer: Reducer,
    geometry: Geometry | Sequence[float] | None,
    scale: float | None,
    max_pixels: float,
) -> dict[str, float | None]:
    """The reducer's outputs band by band over the pixels whose centre lies in ``geometry``
    (see ``Image.reduce_region``, which documents the parameters). Computes the region's
    pixels only."""
    if not isinstance(reducer, Reducer):
        raise TypeError(f"reduce_region takes a Reducer (e.g. Reducer.mean()), not {reducer!r}.")
    if "time" in array.dims:
        raise ValueError("reduce_region: take one image first (this is a stack of images).")
    array = _at_scale(array, scale)
    if geometry is not None:
        window, inside = region_window(array, as_geometry(geometry), "reduce_region")
        array = array.isel(window).where(inside)
        n_pixels = int(inside.sum())
    else:
        n_pixels = array.sizes["y"] * array.sizes["x"]
    if n_pixels > max_pixels:
        raise ValueError(
            f"reduce_region: the region has {n_pixels} pixels, more than maxPixels="
            f"{max_pixels:g}; pass a larger maxPixels, a coarser scale or a smaller region."
        )
    values = np.asarray(array.values)
    single = len(reducer.output_names()) == 1
    result: dict[str, float | None] = {}
    for index, band in enumerate(band_names(array)):
        for name, value in reducer.apply(values[index]).items():
            result[band if single else f"{band}_{name}"] = value
    return result


def _at_scale(array: xr.DataArray, scale: float | None) -> xr.DataArray:
    """``array`` at ``scale`` metres: as it is, or averaged over whole blocks of pixels."""
    if scale is None:
        return array
    resolution = float(abs(array["x"].values[1] - array["x"].values[0]))
    factor = float(scale) / resolution
    if factor < 1 - 1e-6 or abs(factor - round(factor)) > 1e-6:
        raise ValueError(
            f"reduce_region: scale {scale:g} m is not a whole multiple of the image's "
            f"{resolution:g} m pixels; give one (or load the image at that resolution)."
        )
    if round(factor) == 1:
        return array
    blocks = int(round(factor))
    return array.coarsen(y=blocks, x=blocks, boundary="trim").mean(keep_attrs=True)
