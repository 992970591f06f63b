"""The inputs of thermal sharpening, checked at the boundary: ``(y, x)`` images with a CRS and
pixel-centre coordinates, ``(low, high)`` ranges, and arrays walked in dask blocks."""

from __future__ import annotations

import dask.array as da
import numpy as np
import rioxarray  # noqa: F401  (registers .rio: both inputs' CRSs are read with .rio.crs)
import xarray as xr

#: Chunk side used to walk numpy-backed inputs block by block (bounds the memory of the
#: coordinate transforms, which hold several float64 copies of a block).
NUMPY_BLOCK = 1024


def as_image(array: object, name: str) -> xr.DataArray:
    """Check ``array`` and return it as ``(y, x)``: length-1 extra dims (e.g. ``time``) are
    squeezed away; anything else is an error that says what to do.

    Parameters
    ----------
    array
        The input to check.
    name
        Its name in the messages (``"lst"``, ``"ndvi"``...).
    """
    if not isinstance(array, xr.DataArray):
        raise TypeError(
            f"{name} must be an xarray.DataArray with dims ('y', 'x'), not {type(array).__name__}"
        )
    for lat, lon in (("lat", "lon"), ("latitude", "longitude")):
        if {lat, lon} <= set(array.dims):
            raise ValueError(
                f"{name} has dims {tuple(array.dims)}; it must have dims ('y', 'x'). Rename "
                f"them: {name}.rename({lat}='y', {lon}='x')"
            )
    extra = [d for d in array.dims if d not in ("y", "x")]
    longer = {d: array.sizes[d] for d in extra if array.sizes[d] != 1}
    if longer:
        dim, size = next(iter(longer.items()))
        raise ValueError(
            f"{name} has {size} entries along {dim!r} (dims {tuple(array.dims)}): sharpen one "
            f"image at a time, e.g. {name}.isel({dim}=0) or {name}.sel({dim}=..., "
            "method='nearest')"
        )
    array = array.squeeze(extra, drop=False) if extra else array
    if set(array.dims) != {"y", "x"}:
        raise ValueError(
            f"{name} has dims {tuple(array.dims)}; it must have dims ('y', 'x') (plus, "
            "optionally, a length-1 'time')"
        )
    if tuple(array.dims) != ("y", "x"):
        array = array.transpose("y", "x")
    for dim in ("y", "x"):
        if dim not in array.coords or array[dim].ndim != 1:
            raise ValueError(
                f"{name} has no 1-D {dim!r} coordinate: sharpening needs pixel-centre "
                f"coordinates. Assign them, e.g. {name}.assign_coords({dim}=...)"
            )
    if array.rio.crs is None:
        raise ValueError(
            f"{name} has no CRS: set it with {name}.rio.write_crs('EPSG:...') (e.g. "
            "'EPSG:4326' for a Sentinel-3 LST in lon/lat, the UTM zone for Sentinel-2)"
        )
    if array.sizes["y"] == 0 or array.sizes["x"] == 0:
        raise ValueError(f"{name} is empty (shape {array.shape})")
    return array


def check_range(value: object, name: str) -> tuple[float, float] | None:
    """``value`` as a ``(low, high)`` pair of floats, or None (a filter turned off).

    Parameters
    ----------
    value
        The range given by the caller.
    name
        Its parameter name, for the message.
    """
    if value is None:
        return None
    try:
        low, high = (float(v) for v in value)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be (low, high) or None, not {value!r}") from None
    if not low <= high:
        raise ValueError(f"{name}={value!r}: low must not exceed high (or pass None)")
    return low, high


def range_text(value: tuple[float, float] | None, unit: str = "") -> str:
    """A range as text for summaries and messages, e.g. ``"0.1..0.6"`` or ``"None (off)"``."""
    return "None (off)" if value is None else f"{value[0]:g}..{value[1]:g}{unit}"


def dask_data(array: xr.DataArray) -> da.Array:
    """The array's data as a dask array: its own chunks, or :data:`NUMPY_BLOCK` blocks for
    numpy (so that per-block work, such as coordinate transforms, stays small)."""
    if isinstance(array.data, da.Array):
        return array.data
    return da.from_array(np.asarray(array.data), chunks=(NUMPY_BLOCK, NUMPY_BLOCK))
