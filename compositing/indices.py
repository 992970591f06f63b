"""Spectral indices computed from reflectance bands: one formula each, used everywhere."""

from __future__ import annotations

import xarray as xr

__all__ = ["ndvi"]


def ndvi(red: xr.DataArray, nir: xr.DataArray) -> xr.DataArray:
    """NDVI = (NIR - red) / (NIR + red), NaN where the sum is 0 (or either band is masked).

    Parameters
    ----------
    red, nir
        Red (Sentinel-2 ``B04``) and near-infrared (``B08``) reflectance in any common units
        (the ratio does not depend on the scale); float arrays, so that ``nir - red`` cannot
        wrap around as unsigned integers would.
    """
    total = nir + red
    return ((nir - red) / total.where(total != 0)).rename("ndvi")
