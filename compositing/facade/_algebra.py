"""Earth Engine's per-pixel math, logic and mask operations, on the arrays an Image wraps.

Each function takes DataArrays (or a number for the second operand) and keeps Earth Engine's
mask rule: a pixel masked (NaN) in an input is masked in the output, unless the operation is
about masks (``unmask``, ``where``). NaN from the math itself (``log(-1)``, ``sqrt(-1)``) is
masked too: a collection has no other way to say "no value".
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import xarray as xr

__all__ = [
    "UNARY",
    "logical",
    "logical_not",
    "power",
    "remainder",
    "round_half_up",
    "self_mask",
    "unmask",
    "where",
]


def _quiet(function: Callable[[xr.DataArray], xr.DataArray]) -> Callable:
    """``function`` without numpy's warnings for values outside its domain (they give NaN:
    masked)."""

    def quiet(array: xr.DataArray) -> xr.DataArray:
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            return function(array)

    return quiet


def round_half_up(array: xr.DataArray) -> xr.DataArray:
    """The nearest integer, halves up (``round(-2.5) = -2``), as Java's and JavaScript's
    ``Math.round`` (numpy rounds halves to even)."""
    return np.floor(array + 0.5)


#: Earth Engine's one-operand math (Image method name -> function).
UNARY: dict[str, Callable[[xr.DataArray], xr.DataArray]] = {
    "abs": np.abs,
    "sqrt": _quiet(np.sqrt),
    "exp": _quiet(np.exp),
    "log": _quiet(lambda a: np.log(a.where(a > 0))),
    "log10": _quiet(lambda a: np.log10(a.where(a > 0))),
    "floor": np.floor,
    "ceil": np.ceil,
    "round": round_half_up,
    "sin": np.sin,
    "cos": np.cos,
    "tan": np.tan,
}


def power(a: xr.DataArray, b: xr.DataArray | float) -> xr.DataArray:
    """``pow``: ``a ** b`` (NaN, so masked, where it is not a real number)."""
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        return a**b


def remainder(a: xr.DataArray, b: xr.DataArray | float) -> xr.DataArray:
    """``mod``: the remainder of ``a / b`` with the sign of ``a`` (JavaScript's ``%``); masked
    where ``b`` is 0."""
    b = b.where(b != 0) if isinstance(b, xr.DataArray) else (b if b != 0 else np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.fmod(a, b)


def logical(op: Callable) -> Callable:
    """Earth Engine's ``And``/``Or``: 1.0 where ``op`` of the two "non-zero" tests holds, else
    0.0; masked where an input is masked."""

    def combine(a: xr.DataArray, b: xr.DataArray | float) -> xr.DataArray:
        if isinstance(b, xr.DataArray):
            valid = a.notnull() & b.notnull()
            dtype = np.result_type(a.dtype, b.dtype)
        else:
            valid, dtype = a.notnull() & (not np.isnan(b)), a.dtype
        return op(a != 0, b != 0).astype(dtype).where(valid)

    return combine


def logical_not(a: xr.DataArray) -> xr.DataArray:
    """``Not``: 1.0 where the value is 0, else 0.0; masked stays masked."""
    return (a == 0).astype(a.dtype).where(a.notnull())


def self_mask(a: xr.DataArray) -> xr.DataArray:
    """``selfMask``: masked where the value is 0 (and where it was masked)."""
    return a.where(a != 0)


def unmask(a: xr.DataArray, value: xr.DataArray | float) -> xr.DataArray:
    """``unmask``: masked pixels take ``value`` (a number, or an image's pixel: still masked
    where that is masked)."""
    return a.where(a.notnull(), value)


def where(a: xr.DataArray, test: xr.DataArray, value: xr.DataArray | float) -> xr.DataArray:
    """``where(test, value)``: ``value`` where ``test`` is non-zero, else the input; where
    ``test`` or ``value`` is masked, the input; a masked input stays masked (Earth Engine's
    rules)."""
    value_valid = value.notnull() if isinstance(value, xr.DataArray) else not np.isnan(value)
    replace = test.notnull() & (test != 0) & value_valid & a.notnull()
    return xr.where(replace, value, a, keep_attrs=True)
