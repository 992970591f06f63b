"""The collection contract, checked at the API boundary.

A *collection* is an :class:`xarray.DataArray` with dims ``(time, band, y, x)`` in that order,
a floating-point dtype in which NaN means "masked", a ``band`` coordinate of unique band names
and a ``time`` coordinate sorted in non-decreasing order. The CRS, when there is one, is
readable with ``.rio.crs`` (rioxarray). A composite of a collection is an *image*: the same
without ``time``.

Any dask chunk layout is part of the contract: one image and one band per chunk (stackstac, the
local-file source), every band in one chunk (odc-stac, the demo), any spatial tiling, regular or
not. An engine function that needs a whole dimension in each block (a core dimension) asks for it
with :func:`whole_along` instead of assuming its caller's layout.
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


def check_collection(
    collection: object, *, name: str = "collection", sorted_time: bool = True
) -> xr.DataArray:
    """Check that ``collection`` follows the collection contract and return it unchanged.

    Nothing is computed: only dims, dtype and coordinates are looked at.

    Parameters
    ----------
    collection
        The object to check.
    name
        What to call it in error messages.
    sorted_time
        Whether ``time`` must be sorted (False: the images are in an order of their own, e.g.
        the facade's ``sort``, which ``mosaic`` follows).

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
    if sorted_time and times.size > 1 and np.any(times[1:] < times[:-1]):
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


def check_reflectance_scale(values: np.ndarray, what: str) -> None:
    """Refuse reflectance that is not in Earth Engine's units (reflectance x 10000).

    For block functions of the cloud detectors, which would otherwise take 0-1 reflectance or
    raw DN silently and call everything cloud.

    Parameters
    ----------
    values
        The finite reflectance values of a block.
    what
        Who is checking, for the message (``"cloud_probability"``).
    """
    if values.size and np.nanmedian(values) < 5:
        raise ValueError(
            f"{what} got values that look like reflectance on a 0-1 scale; the collection must "
            "be in Earth Engine units (reflectance x 10000): multiply by 10000"
        )
    if values.size and np.nanmax(values) > 25_000:
        raise ValueError(
            f"{what} got values above 25000, which look like raw L2A DN with the +1000 offset "
            "or another scale: give reflectance x 10000 (harmonized)"
        )


def whole_along(array: xr.DataArray, *dims: str) -> xr.DataArray:
    """``array`` with each of ``dims`` in a single dask chunk, every other dim's chunks kept.

    For the core dimensions of ``xr.apply_ufunc(..., dask="parallelized")`` and of block
    functions that need, say, every band of a pixel together: sources deliver one band (or one
    image) per chunk, which such functions cannot take as it is. Lazy (a rechunk adds tasks,
    computes nothing); numpy-backed arrays and dims already whole are returned unchanged.

    Parameters
    ----------
    array
        Any DataArray, numpy- or dask-backed.
    dims
        The dims to make whole; each must be a dim of ``array``.

    Raises
    ------
    ValueError
        A name in ``dims`` that is not a dim of ``array``.
    """
    unknown = [d for d in dims if d not in array.dims]
    if unknown:
        raise ValueError(f"whole_along: {unknown} are not dims of the array {tuple(array.dims)}")
    if array.chunks is None:
        return array
    split = {d: -1 for d in dims if len(array.chunks[array.get_axis_num(d)]) > 1}
    return array.chunk(split) if split else array


def band_names(array: xr.DataArray) -> list[str]:
    """The band names of a collection or image, as a list of str."""
    return [str(b) for b in array["band"].values]
