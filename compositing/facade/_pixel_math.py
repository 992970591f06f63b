"""``ee.Image``'s per-pixel methods: arithmetic, comparisons, math, logic and masks, and
Python's operators; a mixin of :class:`~compositing.facade._image.Image`.

Every method is one line over :mod:`compositing.facade._algebra` (or an ``operator``): the
band pairing lives in ``Image._pair`` / ``_binary``, the grid and mask rules there too.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from typing import Self

import numpy as np
import xarray as xr

from ._algebra import UNARY, logical, logical_not, power, remainder, self_mask, unmask, where
from ._arrays import comparison, is_number, safe_divide

__all__ = ["PixelMath"]


class PixelMath:
    """Per-pixel methods of an image. The class using it provides ``_binary(other, op,
    what)``, ``_unary(function)``, ``_pair(other, what)``, ``_finish(array, names)``,
    ``select``, ``rename``, ``update_mask``, ``band_names`` and ``constant``."""

    _binary: Callable
    _unary: Callable
    _pair: Callable
    _finish: Callable

    def add(self, other: Self | float) -> Self:
        """``self + other`` band by band (an Image or a number)."""
        return self._binary(other, operator.add, "add")

    def subtract(self, other: Self | float) -> Self:
        """``self - other`` band by band (an Image or a number)."""
        return self._binary(other, operator.sub, "subtract")

    def multiply(self, other: Self | float) -> Self:
        """``self * other`` band by band (an Image or a number)."""
        return self._binary(other, operator.mul, "multiply")

    def divide(self, other: Self | float) -> Self:
        """``self / other`` band by band; 0 where ``other`` is 0, as in Earth Engine."""
        return self._binary(other, safe_divide, "divide")

    def lt(self, other: Self | float) -> Self:
        """1.0 where ``self < other``, else 0.0; masked where either input is masked."""
        return self._binary(other, comparison(operator.lt), "lt")

    def lte(self, other: Self | float) -> Self:
        """1.0 where ``self <= other``, else 0.0; masked where either input is masked."""
        return self._binary(other, comparison(operator.le), "lte")

    def gt(self, other: Self | float) -> Self:
        """1.0 where ``self > other``, else 0.0; masked where either input is masked."""
        return self._binary(other, comparison(operator.gt), "gt")

    def gte(self, other: Self | float) -> Self:
        """1.0 where ``self >= other``, else 0.0; masked where either input is masked."""
        return self._binary(other, comparison(operator.ge), "gte")

    def eq(self, other: Self | float) -> Self:
        """1.0 where ``self == other``, else 0.0; masked where either input is masked."""
        return self._binary(other, comparison(operator.eq), "eq")

    def neq(self, other: Self | float) -> Self:
        """1.0 where ``self != other``, else 0.0; masked where either input is masked."""
        return self._binary(other, comparison(operator.ne), "neq")

    def normalized_difference(self, band_names: Sequence[str] | None = None) -> Self:
        """``(first - second) / (first + second)`` as one band named ``'nd'``.

        As in Earth Engine: the first two bands by default, a negative input masks the output
        pixel, and a zero denominator gives 0 (as :meth:`divide`).

        Parameters
        ----------
        band_names
            The two bands ``[first, second]``, e.g. ``['B8', 'B4']`` for NDVI.
        """
        names = self.band_names()[:2] if band_names is None else list(band_names)
        if len(names) != 2:
            raise ValueError(
                f"normalized_difference takes two band names [first, second], got {names}."
            )
        first, second = self.select(names[0]), self.select(names[1])
        nd = first.subtract(second).divide(first.add(second))
        non_negative = first.gte(0).multiply(second.gte(0))
        return nd.update_mask(non_negative).rename("nd")

    # --- math, logic and masks (compositing.facade._algebra) ---------------------------------

    def pow(self, other: Self | float) -> Self:
        """``self ** other`` band by band (masked where the result is not a number)."""
        return self._binary(other, power, "pow")

    def mod(self, other: Self | float) -> Self:
        """The remainder of ``self / other``, with the sign of ``self`` (JavaScript's ``%``);
        masked where ``other`` is 0."""
        return self._binary(other, remainder, "mod")

    def min(self, other: Self | float) -> Self:
        """The smaller of ``self`` and ``other``, pixel by pixel (masked where either is)."""
        return self._binary(other, np.minimum, "min")

    def max(self, other: Self | float) -> Self:
        """The larger of ``self`` and ``other``, pixel by pixel (masked where either is)."""
        return self._binary(other, np.maximum, "max")

    def And(self, other: Self | float) -> Self:  # noqa: N802 (Earth Engine's name)
        """1.0 where both ``self`` and ``other`` are non-zero, else 0.0 (masked where either
        is masked)."""
        return self._binary(other, logical(np.logical_and), "And")

    def Or(self, other: Self | float) -> Self:  # noqa: N802 (Earth Engine's name)
        """1.0 where ``self`` or ``other`` is non-zero, else 0.0 (masked where either is)."""
        return self._binary(other, logical(np.logical_or), "Or")

    def Not(self) -> Self:  # noqa: N802 (Earth Engine's name)
        """1.0 where the value is 0, else 0.0 (masked stays masked)."""
        return self._unary(logical_not)

    def abs(self) -> Self:
        """The absolute value."""
        return self._unary(UNARY["abs"])

    def sqrt(self) -> Self:
        """The square root (masked below 0)."""
        return self._unary(UNARY["sqrt"])

    def exp(self) -> Self:
        """e to the power of the value."""
        return self._unary(UNARY["exp"])

    def log(self) -> Self:
        """The natural logarithm (masked at 0 and below)."""
        return self._unary(UNARY["log"])

    def log10(self) -> Self:
        """The base-10 logarithm (masked at 0 and below)."""
        return self._unary(UNARY["log10"])

    def floor(self) -> Self:
        """The largest integer not above the value."""
        return self._unary(UNARY["floor"])

    def ceil(self) -> Self:
        """The smallest integer not below the value."""
        return self._unary(UNARY["ceil"])

    def round(self) -> Self:
        """The nearest integer, halves up (``-2.5`` gives ``-2``), as Java's ``Math.round``."""
        return self._unary(UNARY["round"])

    def sin(self) -> Self:
        """The sine (radians)."""
        return self._unary(UNARY["sin"])

    def cos(self) -> Self:
        """The cosine (radians)."""
        return self._unary(UNARY["cos"])

    def tan(self) -> Self:
        """The tangent (radians)."""
        return self._unary(UNARY["tan"])

    def self_mask(self) -> Self:
        """Masked where the value is 0, as ``selfMask``."""
        return self._unary(self_mask)

    def unmask(self, value: Self | float = 0.0) -> Self:
        """Masked pixels take ``value`` (a number, default 0, or an image's pixels), as
        ``unmask``."""
        return self._binary(value, unmask, "unmask")

    def where(self, test: Self, value: Self | float) -> Self:
        """``value`` where ``test`` is non-zero, else this image, as ``where``: where ``test``
        or ``value`` is masked this image's pixel stays; a masked pixel stays masked.

        Parameters
        ----------
        test
            A one-band image (for every band) or one band per band of this image.
        value
            A number, or an image paired with this one's bands like ``test``.
        """
        if not isinstance(test, PixelMath):
            raise TypeError(f"where takes an Image as its test, not {type(test).__name__}.")
        left, test_array, names = self._pair(test, "where")
        value_array = self._pair(value, "where")[1] if isinstance(value, PixelMath) else value
        if not isinstance(value_array, xr.DataArray) and not is_number(value_array):
            raise TypeError(f"where takes an Image or a number as value, not {value!r}.")
        value_array = value_array if isinstance(value_array, xr.DataArray) else float(value_array)
        return self._finish(where(left, test_array, value_array), names)

    # --- Python's operators: the methods above ----------------------------------------------

    __add__ = __radd__ = add
    __sub__ = subtract
    __mul__ = __rmul__ = multiply
    __truediv__ = divide
    __pow__ = pow
    __mod__ = mod
    __lt__ = lt
    __le__ = lte
    __gt__ = gt
    __ge__ = gte
    __and__ = __rand__ = And
    __or__ = __ror__ = Or
    __invert__ = Not
    __abs__ = abs

    def __rsub__(self, other: float) -> Self:
        return type(self).constant(other).subtract(self)

    def __rtruediv__(self, other: float) -> Self:
        return type(self).constant(other).divide(self)

    def __rpow__(self, other: float) -> Self:
        return type(self).constant(other).pow(self)

    def __rmod__(self, other: float) -> Self:
        return type(self).constant(other).mod(self)

    def __neg__(self) -> Self:
        return self.multiply(-1.0)

    # Equality stays Python's (identity): eq() and neq() compare pixels, as in Earth Engine's
    # Python client.
    __hash__ = object.__hash__

    normalizedDifference = normalized_difference  # noqa: N815 (Earth Engine's name)
    selfMask = self_mask  # noqa: N815 (Earth Engine's name)
