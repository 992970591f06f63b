"""Helpers on the arrays an Image or an ImageCollection wraps: band selection, renaming, grid
checks and Earth Engine's arithmetic rules."""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Callable

import numpy as np
import pandas as pd
import xarray as xr

from ..bands import resolve_band
from ..contract import COLLECTION_DIMS, band_names


def is_number(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def canonical(array: xr.DataArray) -> xr.DataArray:
    """Put the dims back in ``(time,) band, y, x`` order; broadcasting can shuffle them."""
    return array.transpose(*(d for d in COLLECTION_DIMS if d in array.dims))


def flatten_names(args: tuple, what: str) -> list[str]:
    """Accept ``f('a', 'b')`` and ``f(['a', 'b'])`` alike, as the Earth Engine client does."""
    names: list[str] = []
    for arg in args:
        items = list(arg) if isinstance(arg, (list, tuple)) else [arg]
        for item in items:
            if not isinstance(item, str):
                raise TypeError(f"{what} takes band names (str), got {item!r}.")
            names.append(item)
    return names


def select_bands(array: xr.DataArray, args: tuple) -> xr.DataArray:
    """Earth Engine's ``select``: names, ``re.fullmatch`` patterns or band indices (``0`` is
    the first band), optionally new names.

    Each selector picks its matching bands in the array's band order, selectors in the order
    given; so ``'B.*'`` keeps the collection's order and ``('B8', 'B4')`` the order asked for.
    ``select(['B4', 'B8'], ['red', 'nir'])`` also renames, as in Earth Engine.
    """
    new_names = None
    if len(args) == 2 and all(isinstance(a, (list, tuple)) for a in args):
        args, new_names = (args[0],), flatten_names((args[1],), "select")
    present = band_names(array)
    selectors = flatten_names(_indices_as_names(args, present), "select")
    if not selectors:
        raise ValueError("select needs at least one band name or regular expression.")
    chosen: list[int] = []
    for selector in selectors:
        matches = _matching_bands(selector, present)
        if not matches:
            # Not a pattern of any band: the error of a name (bands present, the nearest one).
            resolve_band(selector, present, what="select")
        chosen += [i for i in matches if i not in chosen]
    out = array.isel(band=chosen)
    return out if new_names is None else rename_bands(out, new_names)


def _indices_as_names(args: tuple, present: list[str]) -> tuple:
    """``select(0)``, ``select([0, 2])``: band indices replaced by those bands' names."""

    def name(item: object) -> object:
        if isinstance(item, numbers.Integral) and not isinstance(item, bool):
            if not -len(present) <= int(item) < len(present):
                raise IndexError(
                    f"select: band index {item} is out of range for the {len(present)} "
                    f"band(s) {present}."
                )
            return present[int(item)]
        return item

    return tuple(
        [name(i) for i in arg] if isinstance(arg, (list, tuple)) else name(arg) for arg in args
    )


def _matching_bands(selector: str, present: list[str]) -> list[int]:
    """The bands a selector picks: the band of that name (either spelling, ``B8`` or ``B08``),
    else those a regular expression matches whole (``B.*``)."""
    try:
        return [present.index(resolve_band(selector, present))]
    except ValueError:
        pass  # not a name: a pattern
    try:
        pattern = re.compile(selector)
    except re.error:
        return []
    return [i for i, band in enumerate(present) if pattern.fullmatch(band)]


def rename_bands(array: xr.DataArray, names: list[str]) -> xr.DataArray:
    present = band_names(array)
    if len(names) != len(present):
        raise ValueError(
            f"rename got {len(names)} name(s) {names} for {len(present)} band(s) {present}: "
            "give one new name per band."
        )
    if len(set(names)) != len(names):
        raise ValueError(f"rename: band names must be unique, got {names}.")
    # Per-band metadata (e.g. stackstac's 'common_name') would describe the old bands.
    stale = [n for n, c in array.coords.items() if c.dims == ("band",) and n != "band"]
    return array.drop_vars(stale).assign_coords(band=names)


def drop_stray_time(a: xr.DataArray, b: xr.DataArray) -> tuple[xr.DataArray, xr.DataArray]:
    """Drop a scalar ``time`` coordinate (from ``first()``) when the other side is stacked over
    time: xarray cannot combine a scalar coordinate with a dimension of the same name."""
    if "time" in b.dims and "time" in a.coords and "time" not in a.dims:
        a = a.drop_vars("time")
    if "time" in a.dims and "time" in b.coords and "time" not in b.dims:
        b = b.drop_vars("time")
    return a, b


def check_same_grid(a: xr.DataArray, b: xr.DataArray, what: str) -> None:
    # xarray would silently keep only the overlap of two grids; Earth Engine would reproject.
    # Neither is what a port expects, so different grids are an error.
    try:
        xr.align(a, b, join="exact", exclude=["band"])
    except ValueError as error:
        raise ValueError(
            f"{what}: the two images are not on the same grid (x/y/time coordinates differ). "
            "Put them on one grid first, e.g. `b.rio.reproject_match(a)`."
        ) from error


def safe_divide(a: xr.DataArray, b: xr.DataArray | float) -> xr.DataArray:
    """``a / b`` with 0 where ``b == 0``, as Earth Engine's ``divide``; masks still propagate."""
    if not isinstance(b, xr.DataArray):
        return a * 0 if b == 0 else a / b
    nonzero = b != 0
    # Dividing by NaN instead of 0 avoids numpy's divide-by-zero warnings.
    return (a / b.where(nonzero)).where(nonzero, a * 0)


def comparison(op: Callable) -> Callable:
    """Turn a boolean comparison into Earth Engine's: 1.0/0.0, masked where an input is."""

    def compare(a: xr.DataArray, b: xr.DataArray | float) -> xr.DataArray:
        if isinstance(b, xr.DataArray):
            valid, dtype = a.notnull() & b.notnull(), np.result_type(a.dtype, b.dtype)
        else:
            valid, dtype = a.notnull() & (not math.isnan(b)), a.dtype
        return op(a, b).astype(dtype).where(valid)

    return compare


def describe(array: xr.DataArray) -> str:
    if "y" not in array.dims:
        return f"bands {band_names(array)}, a constant (no grid)"
    size = f"{array.sizes['y']}x{array.sizes['x']}"
    dates = ""
    if "time" in array.coords and array["time"].size:
        times = pd.DatetimeIndex(np.atleast_1d(array["time"].values))
        first, last = f"{times[0]:%Y-%m-%d}", f"{times[-1]:%Y-%m-%d}"
        dates = f", date {first}" if first == last else f", dates {first}..{last}"
    return f"bands {band_names(array)}, size {size} (y x){dates}"
