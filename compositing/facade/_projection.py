"""Pixel grids of the facade: ``ee.Projection``, ``reproject`` and how two grids combine.

Earth Engine computes lazily in the projection a result is asked for, resampling every input
by nearest neighbour. The facade computes on the collection's grid instead; ``reproject`` puts
an image on a coarser (or finer) grid of the same CRS, and an operation between images on two
grids samples the coarser one on the finer one, by nearest neighbour as Earth Engine does. A
reprojected operation whose result depends on the pixel size (``focalMax`` in pixels,
``directionalDistanceTransform``) is run again on the new grid (see ``Image.reproject``).

Grids at ``scale`` metres are aligned on the CRS's origin (pixel edges at whole multiples of
``scale``), as Earth Engine aligns them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import xarray as xr
from pyproj import CRS

from ._neighbourhood import pixel_size

__all__ = ["Projection", "match_grids", "on_grid", "regrid", "same_grid"]


@dataclass(frozen=True)
class Projection:
    """A CRS and a pixel size, as ``ee.Projection`` (what ``image.projection()`` returns).

    Parameters
    ----------
    crs_text
        The CRS, as ``EPSG:32610`` or WKT.
    scale
        The pixel size in metres.
    """

    crs_text: str
    scale: float

    def crs(self) -> str:
        """The CRS, as text (``EPSG:32610`` where it has an EPSG code)."""
        return self.crs_text

    def nominal_scale(self) -> float:
        """The pixel size in metres (``nominalScale``)."""
        return self.scale

    nominalScale = nominal_scale  # noqa: N815 (Earth Engine's name)


def projection_of(array: xr.DataArray) -> Projection:
    """The :class:`Projection` of an image or stack (its CRS is needed: ``.rio.write_crs``)."""
    crs = array.rio.crs
    if crs is None:
        raise ValueError(
            "projection: the image has no CRS; write one with `.rio.write_crs('EPSG:...')`."
        )
    epsg = crs.to_epsg()
    return Projection(f"EPSG:{epsg}" if epsg else crs.to_wkt(), pixel_size(array))


def on_grid(array: xr.DataArray, crs: Projection | str, scale: float | None) -> xr.DataArray:
    """``array`` sampled (nearest neighbour) on the grid of ``scale`` metres in ``crs`` that
    covers it, as ``reproject(crs, scale)``; lazy.

    Parameters
    ----------
    array
        An image or stack with a CRS, dims ``y`` and ``x``.
    crs
        A :class:`Projection` (its scale is the default) or a CRS as text; it must be the
        image's own CRS.
    scale
        The new pixel size in metres.
    """
    own = projection_of(array)
    target = crs if isinstance(crs, Projection) else Projection(str(crs), own.scale)
    if not CRS.from_user_input(target.crs_text).equals(CRS.from_user_input(own.crs_text)):
        raise ValueError(
            f"reproject: only to the image's own CRS ({own.crs_text}) here, not "
            f"{target.crs_text}; load the collection in that CRS instead (load(..., crs=...))."
        )
    scale = target.scale if scale is None else float(scale)
    if not scale > 0:
        raise ValueError(f"reproject: the scale must be a number of metres > 0, not {scale!r}.")
    half = own.scale / 2
    xs, ys = array["x"].values, array["y"].values
    west, east = xs.min() - half, xs.max() + half
    south, north = ys.min() - half, ys.max() + half
    x = _centres(math.floor(west / scale + 1e-9), math.ceil(east / scale - 1e-9), scale)
    y = _centres(math.floor(south / scale + 1e-9), math.ceil(north / scale - 1e-9), scale)[::-1]
    return regrid(array, x, y)


def regrid(array: xr.DataArray, x: np.ndarray, y: np.ndarray) -> xr.DataArray:
    """``array`` sampled at pixel centres ``x`` and ``y`` (same CRS) by nearest neighbour:
    each new pixel takes the old pixel that contains its centre; masked outside the old grid."""
    if np.array_equal(x, array["x"].values) and np.array_equal(y, array["y"].values):
        return array
    columns, x_inside = _containing(array["x"].values, x)
    rows, y_inside = _containing(array["y"].values, y)
    out = array.isel(x=xr.DataArray(columns, dims="x"), y=xr.DataArray(rows, dims="y"))
    out = out.assign_coords(x=x, y=y)
    inside = xr.DataArray(y_inside, dims="y", coords={"y": y}) & xr.DataArray(
        x_inside, dims="x", coords={"x": x}
    )
    if not inside.all():
        out = out.where(inside)
    out.attrs = dict(array.attrs)
    return out.transpose(*array.dims)


def same_grid(a: xr.DataArray, b: xr.DataArray) -> bool:
    """Whether two arrays have the same x and y coordinates."""
    return all(
        (dim in a.dims) == (dim in b.dims)
        and (dim not in a.dims or np.array_equal(a[dim].values, b[dim].values))
        for dim in ("x", "y")
    )


def match_grids(a: xr.DataArray, b: xr.DataArray, what: str) -> tuple[xr.DataArray, xr.DataArray]:
    """Two images of the same CRS on one grid: the coarser sampled on the finer (on ``a``'s
    for equal pixel sizes). Arrays without a grid (constants) are returned as they are."""
    if "x" not in a.dims or "x" not in b.dims or same_grid(a, b):
        return a, b
    crs_a, crs_b = a.rio.crs, b.rio.crs
    if (crs_a is None) != (crs_b is None) or (crs_a is not None and crs_a != crs_b):
        raise ValueError(
            f"{what}: the two images are in different CRSs ({crs_a} and {crs_b}); put them "
            "in one first (load both in the same crs)."
        )
    if pixel_size(b) < pixel_size(a) - 1e-9:
        return regrid(a, b["x"].values, b["y"].values), b
    return a, regrid(b, a["x"].values, a["y"].values)


def _centres(first_edge: int, last_edge: int, scale: float) -> np.ndarray:
    return (np.arange(first_edge, last_edge) + 0.5) * scale


def _containing(centres: np.ndarray, at: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each position in ``at``, the index of the pixel of ``centres`` (evenly spaced, up
    or down) that contains it, clipped, and whether it lies inside the pixels at all."""
    step = centres[1] - centres[0] if centres.size > 1 else 1.0
    index = np.floor((at - (centres[0] - step / 2)) / step + 1e-9).astype(int)
    inside = (index >= 0) & (index < centres.size)
    return np.clip(index, 0, centres.size - 1), inside
