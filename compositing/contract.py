"""The collection contract, checked at the API boundary.

A *collection* is an :class:`xarray.DataArray` with dims ``(time, band, y, x)`` in that order,
a floating-point dtype in which NaN means "masked", a ``band`` coordinate of unique band names
and a ``time`` coordinate sorted in non-decreasing order. The CRS, when there is one, is
readable with ``.rio.crs`` (rioxarray). A composite of a collection is an *image*: the same
without ``time``.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

COLLECTION_DIMS = ("time", "band", "y", "x")
IMAGE_DIMS = ("band", "y", "x")

_CONTRACT = (
    "a collection is an xarray.DataArray with dims ('time', 'band', 'y', 'x') in that order, "
    "a float dtype (NaN = masked), a 'band' coordinate of unique names and a 'time' coordinate "
    "sorted ascending"
)


def check_collection(collection: object, *, name: str = "collection") -> xr.DataArray:
    """Check that ``collection`` follows the collection contract and return it unchanged.

    Nothing is computed: only dims, dtype and coordinates are looked at.

    Parameters
    ----------
    collection
        The object to check.
    name
        What to call it in error messages.

    Raises
    ------
    TypeError
        If it is not an ``xarray.DataArray``.
    ValueError
        If the dims, dtype or coordinates break the contract; the message says how to fix it.
    """
    if not isinstance(collection, xr.DataArray):
        hint = ""
        if isinstance(collection, xr.Dataset):
            hint = " Got a Dataset: use `ds.to_array('band').transpose('time', 'band', 'y', 'x')`."
        raise TypeError(
            f"{name} must be an xarray.DataArray, not {type(collection).__name__}: "
            f"{_CONTRACT}.{hint}"
        )
    if tuple(collection.dims) != COLLECTION_DIMS:
        fix = ""
        if set(collection.dims) == set(COLLECTION_DIMS):
            fix = " Reorder with `.transpose('time', 'band', 'y', 'x')`."
        elif set(collection.dims) == set(IMAGE_DIMS):
            fix = " It looks like a single image: add a time axis with `.expand_dims(time=[t])`."
        raise ValueError(f"{name} has dims {tuple(collection.dims)}: {_CONTRACT}.{fix}")
    _check_float(collection, name)
    _check_bands(collection, name)
    if "time" not in collection.coords:
        raise ValueError(
            f"{name} has no 'time' coordinate: {_CONTRACT}. Assign one with "
            "`.assign_coords(time=pd.to_datetime([...]))`."
        )
    times = collection["time"].values
    if times.size > 1 and np.any(times[1:] < times[:-1]):
        raise ValueError(
            f"{name}'s time coordinate is not sorted: {_CONTRACT}. Sort it with `.sortby('time')` "
            "(mosaic and quality_mosaic depend on the order)."
        )
    if collection.sizes["time"] == 0:
        raise ValueError(f"{name} has no images (time has length 0): filter less strictly.")
    return collection


def check_image(image: object, *, name: str = "image") -> xr.DataArray:
    """Check that ``image`` is a DataArray with dims ``(band, y, x)``, float, with band names."""
    if not isinstance(image, xr.DataArray):
        raise TypeError(f"{name} must be an xarray.DataArray with dims {IMAGE_DIMS}.")
    if tuple(image.dims) != IMAGE_DIMS:
        raise ValueError(
            f"{name} has dims {tuple(image.dims)}; an image has dims {IMAGE_DIMS} in that order."
        )
    _check_float(image, name)
    _check_bands(image, name)
    return image


def _check_float(array: xr.DataArray, name: str) -> None:
    if not np.issubdtype(array.dtype, np.floating):
        raise ValueError(
            f"{name} has dtype {array.dtype}: {_CONTRACT}. Convert with `.astype('float32')` and "
            "set masked pixels (e.g. nodata 0) to NaN with `.where(data != nodata)`."
        )


def _check_bands(array: xr.DataArray, name: str) -> None:
    if "band" not in array.coords:
        raise ValueError(
            f"{name} has no 'band' coordinate: {_CONTRACT}. Name the bands with "
            "`.assign_coords(band=['B02', 'B03', ...])`."
        )
    bands = [str(b) for b in array["band"].values]
    duplicates = sorted({b for b in bands if bands.count(b) > 1})
    if duplicates:
        raise ValueError(
            f"{name} has duplicate band names {duplicates}: band names must be unique."
        )


def band_names(array: xr.DataArray) -> list[str]:
    """The band names of a collection or image, as a list of str."""
    return [str(b) for b in array["band"].values]
