"""``ee.Number``: a number, or inside ``ImageCollection.map`` one number per image.

Earth Engine wraps server-side numbers (``ee.Number(img.get('MEAN_SOLAR_AZIMUTH_ANGLE'))``);
here a property inside ``map`` is already an array along ``time`` (one value per image), so
``Number`` wraps a Python number or that array, and its arithmetic works on either. Image
methods take a Number wherever they take a number.
"""

from __future__ import annotations

import numbers
import operator
from collections.abc import Callable

import numpy as np
import xarray as xr

__all__ = ["Number", "plain_number"]

Value = float | xr.DataArray


class Number:
    """A number (or one per image), as ``ee.Number``.

    Parameters
    ----------
    value
        A Python number, a Number, or a numeric array along ``time`` (a property inside
        ``map``).
    """

    def __init__(self, value: object) -> None:
        value = value.value if isinstance(value, Number) else value
        if isinstance(value, xr.DataArray):
            if not np.issubdtype(value.dtype, np.number):
                raise TypeError(f"Number takes numbers, not an array of {value.dtype}.")
            self.value: Value = value.astype("float64")
        elif isinstance(value, numbers.Real) and not isinstance(value, bool):
            self.value = float(value)
        else:
            raise TypeError(f"Number takes a number (or a property inside map), not {value!r}.")

    def __repr__(self) -> str:
        return f"Number({self.get_info()!r})"

    def get_info(self) -> float | list[float]:
        """The value: a float, or one float per image (``getInfo``)."""
        if isinstance(self.value, xr.DataArray):
            return [float(v) for v in np.atleast_1d(self.value.values)]
        return self.value

    def __float__(self) -> float:
        if isinstance(self.value, xr.DataArray):
            raise TypeError("this Number holds one value per image; take one image first.")
        return self.value

    def add(self, other: object) -> Number:
        return self._apply(operator.add, other)

    def subtract(self, other: object) -> Number:
        return self._apply(operator.sub, other)

    def multiply(self, other: object) -> Number:
        return self._apply(operator.mul, other)

    def divide(self, other: object) -> Number:
        return self._apply(operator.truediv, other)

    def pow(self, other: object) -> Number:
        return self._apply(operator.pow, other)

    def _apply(self, op: Callable, other: object) -> Number:
        return Number(op(self.value, Number(other).value))

    getInfo = get_info  # noqa: N815 (Earth Engine's name)


def plain_number(value: object) -> object:
    """A Number's value (a float or an array along time); anything else as it is."""
    return value.value if isinstance(value, Number) else value
