"""Reducers, as ``ee.Reducer``: what ``Image.reduceRegion`` computes over a region's pixels
and ``ImageCollection.reduce`` over each pixel's images.

Each reducer names its outputs as Earth Engine does (``mean``, ``p25``, ``min``/``max``...).
``reduceRegion`` keys them by band (``B4`` for a one-output reducer, ``B4_p25`` otherwise);
``reduce`` names its bands ``B4_mean``, ``B4_p25``... band by band (``B4_p25``, ``B4_p75``,
``B8_p25``...). Masked values are left out, as in Earth Engine; nothing valid gives None
(a region) or a masked pixel (a collection).

Over a collection every output is :func:`compositing.reducers.composite` (exact, any chunking,
memory bounded: see there); ``sampleStdDev``/``sampleVariance`` are its population variance
times n / (n - 1), masked where fewer than two values are valid.

Percentiles are exact: linear between the two closest ranks (numpy's default), so ``p50`` is
the median, ``p0`` the minimum and ``p100`` the maximum. Earth Engine documents only that small
inputs are "computed directly" (larger ones come from a histogram, approximately); the rule
for the direct case is this one's choice, written here. ``stdDev`` and ``variance`` are the
population's (divide by n), as Earth Engine's; ``sampleStdDev``/``sampleVariance`` divide by
n - 1.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np
import xarray as xr

from ..contract import band_names
from ..reducers import composite

__all__ = ["Reducer", "ReducerOutput"]


def _mode(values: np.ndarray) -> float:
    """The most frequent value; ties give the smallest (as the collection's ``mode``)."""
    unique, counts = np.unique(values, return_counts=True)
    return float(unique[np.argmax(counts)])


_SINGLE: dict[str, Callable[[np.ndarray], float]] = {
    "mean": lambda v: float(np.mean(v, dtype=np.float64)),
    "median": lambda v: float(np.median(v)),
    "min": lambda v: float(np.min(v)),
    "max": lambda v: float(np.max(v)),
    "sum": lambda v: float(np.sum(v, dtype=np.float64)),
    "product": lambda v: float(np.prod(v, dtype=np.float64)),
    "count": lambda v: float(v.size),
    "mode": _mode,
    "stdDev": lambda v: float(np.std(v, dtype=np.float64)),
    "variance": lambda v: float(np.var(v, dtype=np.float64)),
    "sampleStdDev": lambda v: float(np.std(v, dtype=np.float64, ddof=1)) if v.size > 1 else None,
    "sampleVariance": lambda v: float(np.var(v, dtype=np.float64, ddof=1)) if v.size > 1 else None,
}


#: Earth Engine's statistic -> the collection composite that computes it.
_OVER_TIME = {"stdDev": "std", "sampleStdDev": "variance", "sampleVariance": "variance"}


@dataclass(frozen=True)
class ReducerOutput:
    """One output of a reducer.

    Parameters
    ----------
    name
        Its name (``mean``, ``p25``, or an ``outputNames`` / ``outputPrefix`` one).
    statistic
        What it computes: a key of ``_SINGLE`` (``mean`` ... ``sampleVariance``) or
        ``percentile``.
    percentile
        For ``percentile``: which one (0-100).
    """

    name: str
    statistic: str
    percentile: float | None = None

    def of_values(self, valid: np.ndarray) -> float | None:
        """The output for some valid (float64, not NaN) values."""
        if self.statistic == "percentile":
            return float(np.percentile(valid, self.percentile))
        return _SINGLE[self.statistic](valid)

    def over_time(self, collection: xr.DataArray) -> xr.DataArray:
        """Per pixel and band, the output over the collection's valid values (lazy)."""
        if self.statistic == "percentile":
            return composite(collection, "percentile", percentile=self.percentile, order="given")
        method = _OVER_TIME.get(self.statistic, self.statistic)
        reduced = composite(collection, method, order="given")
        if self.statistic in ("sampleStdDev", "sampleVariance"):
            n = composite(collection, "count", order="given")
            reduced = (reduced * n / (n - 1)).where(n > 1)
            reduced = np.sqrt(reduced) if self.statistic == "sampleStdDev" else reduced
        return reduced


@dataclass(frozen=True)
class Reducer:
    """A reduction of many values to named outputs, as ``ee.Reducer``.

    Parameters
    ----------
    outputs
        The outputs, in order.
    """

    outputs: tuple[ReducerOutput, ...]

    def output_names(self) -> list[str]:
        """The names of the outputs (``['p25', 'p75']``...)."""
        return [output.name for output in self.outputs]

    def apply(self, values: np.ndarray) -> dict[str, float | None]:
        """The outputs for ``values`` (NaN = masked, left out); None where nothing is valid
        (``count`` gives 0)."""
        valid = np.asarray(values, dtype=np.float64).ravel()
        valid = valid[~np.isnan(valid)]
        return {
            output.name: (0.0 if output.statistic == "count" else None)
            if not valid.size
            else output.of_values(valid)
            for output in self.outputs
        }

    def over_time(self, collection: xr.DataArray) -> xr.DataArray:
        """The outputs per pixel over a collection's images, as ``ImageCollection.reduce``:
        bands ``B4_mean``... band by band, lazy."""
        parts = [output.over_time(collection) for output in self.outputs]
        dtype = np.result_type(*parts)
        bands = band_names(collection)
        # Band by band: B4's outputs, then B8's...
        pieces = [
            part.isel(band=[index]).astype(dtype).assign_coords(band=[f"{band}_{output.name}"])
            for index, band in enumerate(bands)
            for output, part in zip(self.outputs, parts, strict=True)
        ]
        out = xr.concat(pieces, dim="band", coords="minimal", compat="override", join="exact")
        out.attrs = dict(collection.attrs)
        out.attrs["reducer"] = ", ".join(self.output_names())
        return out

    def combine(
        self, other: Reducer, outputPrefix: str = "", sharedInputs: bool = False
    ) -> Reducer:  # noqa: N803, E501 (Earth Engine's names)
        """This reducer's outputs, then ``other``'s (with ``outputPrefix``), as
        ``Reducer.combine`` (the inputs are always shared: every reducer sees every band)."""
        if not isinstance(other, Reducer):
            raise TypeError(f"combine takes a Reducer, not {type(other).__name__}.")
        prefixed = tuple(replace(o, name=outputPrefix + o.name) for o in other.outputs)
        names = self.output_names() + [o.name for o in prefixed]
        if len(set(names)) != len(names):
            raise ValueError(f"combine: output names {names} repeat; give an outputPrefix.")
        return Reducer(self.outputs + prefixed)

    @classmethod
    def _single(cls, name: str) -> Reducer:
        return cls((ReducerOutput(name, name),))

    @classmethod
    def mean(cls) -> Reducer:
        return cls._single("mean")

    @classmethod
    def median(cls) -> Reducer:
        return cls._single("median")

    @classmethod
    def min(cls) -> Reducer:
        return cls._single("min")

    @classmethod
    def max(cls) -> Reducer:
        return cls._single("max")

    @classmethod
    def sum(cls) -> Reducer:
        return cls._single("sum")

    @classmethod
    def product(cls) -> Reducer:
        return cls._single("product")

    @classmethod
    def count(cls) -> Reducer:
        return cls._single("count")

    @classmethod
    def mode(cls) -> Reducer:
        return cls._single("mode")

    @classmethod
    def stdDev(cls) -> Reducer:  # noqa: N802 (Earth Engine's name)
        return cls._single("stdDev")

    @classmethod
    def variance(cls) -> Reducer:
        return cls._single("variance")

    @classmethod
    def sampleStdDev(cls) -> Reducer:  # noqa: N802 (Earth Engine's name)
        return cls._single("sampleStdDev")

    @classmethod
    def sampleVariance(cls) -> Reducer:  # noqa: N802 (Earth Engine's name)
        return cls._single("sampleVariance")

    @classmethod
    def minMax(cls) -> Reducer:  # noqa: N802 (Earth Engine's name)
        return cls((ReducerOutput("min", "min"), ReducerOutput("max", "max")))

    @classmethod
    def percentile(
        cls,
        percentiles: Sequence[float],
        outputNames: Sequence[str] | None = None,  # noqa: N803
    ) -> Reducer:
        """Exact percentiles (see the module), named ``p25``... or ``outputNames``."""
        wanted = [float(p) for p in percentiles]
        if not wanted or not all(0 <= p <= 100 for p in wanted):
            raise ValueError(f"percentile takes percentiles from 0 to 100, not {percentiles!r}.")
        names = list(outputNames) if outputNames is not None else [f"p{p:g}" for p in wanted]
        if len(names) != len(wanted):
            raise ValueError(f"percentile: {len(names)} outputNames for {len(wanted)} percentiles.")
        return cls(
            tuple(
                ReducerOutput(name, "percentile", p) for name, p in zip(names, wanted, strict=True)
            )
        )
