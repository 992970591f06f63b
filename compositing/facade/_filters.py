"""Filters on image properties, dates and places, as ``ee.Filter``.

A filter is a test of every image of a collection at once: it reads the collection's
properties (:mod:`compositing.properties`, never its pixels) and keeps the images that pass.
As in Earth Engine, an image without a value for the property (NaN, or a missing property)
passes no comparison.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeAlias

import numpy as np
import pandas as pd
import xarray as xr

from ..geo import LONLAT, lonlat_bounds, transformer
from ..properties import get_property
from ._geometry import Geometry, as_geometry

__all__ = ["DateLike", "Filter", "timestamp"]

DateLike: TypeAlias = "str | datetime | np.datetime64 | pd.Timestamp"
Test: TypeAlias = Callable[[xr.DataArray], np.ndarray]

#: ``filterMetadata``'s operators, as Earth Engine names them.
METADATA_OPERATORS: dict[str, str] = {
    "equals": "eq",
    "not_equals": "neq",
    "less_than": "lt",
    "greater_than": "gt",
    "not_less_than": "gte",
    "not_greater_than": "lte",
}
_COMPARISONS: dict[str, Callable] = {
    "lt": operator.lt,
    "lte": operator.le,
    "gt": operator.gt,
    "gte": operator.ge,
    "eq": operator.eq,
    "neq": operator.ne,
}


@dataclass(frozen=True)
class Filter:
    """A test of a collection's images, as ``ee.Filter``: ``Filter.lt('CLOUDY_PIXEL_PERCENTAGE',
    20)``, ``Filter.date('2021-07-01', '2021-08-01')``, ``Filter.And(a, b)``...

    Parameters
    ----------
    test
        Takes the collection's array ``(time, band, y, x)``, returns one bool per image.
    text
        How the filter is written, for messages (``lt('CLOUDY_PIXEL_PERCENTAGE', 20)``).
    """

    test: Test
    text: str
    #: For a join's condition (``Filter.equals(leftField=..., rightField=...)``): the two
    #: properties that must be equal.
    fields: tuple[str, str] | None = None

    def keep(self, array: xr.DataArray) -> np.ndarray:
        """One bool per image of ``array``: whether it passes."""
        if self.fields is not None:
            raise ValueError(
                f"filter {self.text} compares two collections' properties: it is a join's "
                "condition (Join.saveFirst(...).apply(primary, secondary, condition)); filter "
                "one collection with Filter.eq(name, value)."
            )
        passed = np.asarray(self.test(array), dtype=bool)
        if passed.shape != (array.sizes["time"],):
            raise ValueError(f"filter {self.text} gave {passed.shape} answers for one per image")
        return passed

    # --- comparisons of a property with a value ---------------------------------------------

    @classmethod
    def lt(cls, name: str, value: object) -> Filter:
        """Images whose property ``name`` is less than ``value``."""
        return cls._compare("lt", name, value)

    @classmethod
    def lte(cls, name: str, value: object) -> Filter:
        """Images whose property ``name`` is at most ``value``."""
        return cls._compare("lte", name, value)

    @classmethod
    def gt(cls, name: str, value: object) -> Filter:
        """Images whose property ``name`` is greater than ``value``."""
        return cls._compare("gt", name, value)

    @classmethod
    def gte(cls, name: str, value: object) -> Filter:
        """Images whose property ``name`` is at least ``value``."""
        return cls._compare("gte", name, value)

    @classmethod
    def equals(
        cls,
        leftField: str | None = None,  # noqa: N803 (Earth Engine's names)
        rightValue: object = None,  # noqa: N803
        rightField: str | None = None,  # noqa: N803
        leftValue: object = None,  # noqa: N803
    ) -> Filter:
        """``Filter.equals``: with ``leftField`` and ``rightValue``, the images whose property
        equals the value (as :meth:`eq`); with ``leftField`` and ``rightField``, a join's
        condition (the primary image's property equals the secondary's)."""
        if leftField is not None and rightField is not None:
            return cls(
                lambda array: None,
                f"equals({leftField!r}, {rightField!r})",
                (leftField, rightField),
            )
        if leftField is not None and leftValue is None:
            return cls._compare("eq", leftField, rightValue)
        if rightField is not None and rightValue is None:
            return cls._compare("eq", rightField, leftValue)
        raise ValueError(
            "Filter.equals takes leftField with rightValue (a filter) or with rightField (a "
            "join's condition)."
        )

    @classmethod
    def eq(cls, name: str, value: object) -> Filter:
        """Images whose property ``name`` equals ``value``."""
        return cls._compare("eq", name, value)

    @classmethod
    def neq(cls, name: str, value: object) -> Filter:
        """Images whose property ``name`` is not ``value`` (an image without it passes)."""
        return cls._compare("neq", name, value)

    @classmethod
    def inList(cls, name: str, values: Sequence[object]) -> Filter:  # noqa: N802 (Earth Engine's name)
        """Images whose property ``name`` is one of ``values``."""
        if isinstance(values, str) or not isinstance(values, Sequence | np.ndarray):
            raise TypeError(f"inList takes a list of values, not {values!r}.")
        wanted = list(values)

        def test(array: xr.DataArray) -> np.ndarray:
            present = _values(array, name)
            return np.array([value in wanted for value in present], dtype=bool)

        return cls(test, f"inList({name!r}, {wanted!r})")

    @classmethod
    def metadata(cls, name: str, operator_name: str, value: object) -> Filter:
        """``filterMetadata(name, operator, value)``'s filter: ``equals``, ``not_equals``,
        ``less_than``, ``greater_than``, ``not_less_than``, ``not_greater_than``,
        ``starts_with``, ``ends_with``, ``contains`` (and their ``not_`` forms)."""
        if operator_name in METADATA_OPERATORS:
            return cls._compare(METADATA_OPERATORS[operator_name], name, value)
        negated = operator_name.startswith("not_")
        text_test = operator_name.removeprefix("not_")
        if text_test not in ("starts_with", "ends_with", "contains"):
            known = [*METADATA_OPERATORS, "starts_with", "ends_with", "contains"]
            raise ValueError(
                f"filterMetadata: unknown operator {operator_name!r}; operators: {known} "
                "(and not_starts_with, not_ends_with, not_contains)."
            )
        method = {"starts_with": str.startswith, "ends_with": str.endswith}.get(
            text_test, lambda text, part: part in text
        )

        def test(array: xr.DataArray) -> np.ndarray:
            present = _values(array, name)
            passed = np.array([method(str(v), str(value)) for v in present], dtype=bool)
            return ~passed if negated else passed

        return cls(test, f"filterMetadata({name!r}, {operator_name!r}, {value!r})")

    # --- dates and places -------------------------------------------------------------------

    @classmethod
    def date(cls, start: DateLike, end: DateLike | None = None) -> Filter:
        """Images dated ``start <= time < end`` (the end exclusive; without it, one
        millisecond), as ``ee.Filter.date``."""
        t0 = timestamp(start, "start")
        t1 = t0 + pd.Timedelta(milliseconds=1) if end is None else timestamp(end, "end")

        def test(array: xr.DataArray) -> np.ndarray:
            times = pd.DatetimeIndex(array["time"].values)
            return (times >= t0) & (times < t1)

        return cls(test, f"date({str(start)!r}, {str(end)!r})")

    @classmethod
    def bounds(cls, geometry: Geometry | Sequence[float]) -> Filter:
        """Images whose grid meets ``geometry`` (all of a collection's images share one grid,
        so all pass or none: see ``ImageCollection.filter_bounds``)."""
        geometry = as_geometry(geometry)

        def test(array: xr.DataArray) -> np.ndarray:
            return np.full(array.sizes["time"], intersects(array, geometry))

        return cls(test, f"bounds({geometry.description})")

    # --- combinations ------------------------------------------------------------------------

    @classmethod
    def And(cls, *filters: Filter) -> Filter:  # noqa: N802 (Earth Engine's name)
        """Images that pass every filter."""
        parts = _filters(filters, "And")
        return cls(
            lambda array: np.logical_and.reduce([f.keep(array) for f in parts]),
            "And(" + ", ".join(f.text for f in parts) + ")",
        )

    @classmethod
    def Or(cls, *filters: Filter) -> Filter:  # noqa: N802 (Earth Engine's name)
        """Images that pass at least one filter."""
        parts = _filters(filters, "Or")
        return cls(
            lambda array: np.logical_or.reduce([f.keep(array) for f in parts]),
            "Or(" + ", ".join(f.text for f in parts) + ")",
        )

    def Not(self) -> Filter:  # noqa: N802 (Earth Engine's name)
        """Images that fail this filter."""
        return Filter(lambda array: ~self.keep(array), f"Not({self.text})")

    @classmethod
    def _compare(cls, kind: str, name: str, value: object) -> Filter:
        compare = _COMPARISONS[kind]

        def test(array: xr.DataArray) -> np.ndarray:
            present = _values(array, name)
            if present is None:  # no such property: an image without a value fails
                return np.full(array.sizes["time"], kind == "neq")
            with np.errstate(invalid="ignore"):
                passed = np.array([_compare_one(compare, v, value) for v in present], bool)
            return passed

        return cls(test, f"{kind}({name!r}, {value!r})")


def _compare_one(compare: Callable, present: object, value: object) -> bool:
    """One comparison, False where the image has no value (NaN) or the types do not compare
    (a number against a text), as Earth Engine's filters."""
    if isinstance(present, float) and np.isnan(present):
        return compare is operator.ne
    try:
        return bool(compare(present, value))
    except TypeError:
        return compare is operator.ne


def _values(array: xr.DataArray, name: str) -> list[object] | None:
    """The property's value for every image, as Python values; None if it has none."""
    try:
        values = get_property(array, name)
    except KeyError:
        return None
    return np.asarray(values.values).tolist()


def _filters(filters: tuple, what: str) -> list[Filter]:
    parts = list(filters[0]) if len(filters) == 1 and isinstance(filters[0], list) else filters
    if not parts or not all(isinstance(f, Filter) for f in parts):
        raise TypeError(f"Filter.{what} takes Filters, e.g. Filter.lt(...), not {filters!r}.")
    return list(parts)


def intersects(array: xr.DataArray, geometry: Geometry) -> bool:
    """Whether ``geometry`` meets the grid's extent (lon/lat against the array's CRS)."""
    crs = array.rio.crs
    if crs is None:
        raise ValueError(
            "filter_bounds needs the collection's CRS, and it has none: set it with "
            "`data = data.rio.write_crs('EPSG:32610')` (import rioxarray; use your CRS)."
        )
    west, south, east, north = array.rio.bounds()
    gw, gs, ge, gn = transformer(LONLAT, crs).transform_bounds(*geometry.bounds, densify_pts=21)
    finite = all(map(np.isfinite, (gw, gs, ge, gn)))
    return bool(finite and gw <= east and ge >= west and gs <= north and gn >= south)


def outside_text(array: xr.DataArray, geometry: Geometry) -> str:
    """Why a geometry keeps no image: where the collection is."""
    extent = lonlat_bounds(array.rio.crs, array.rio.bounds(), digits=5)
    return (
        f"{geometry.description} is outside the collection's extent {extent} (west, south, east, "
        "north in lon/lat)"
    )


def timestamp(value: DateLike, name: str) -> pd.Timestamp:
    """A date as a naive UTC timestamp (the time coordinate's own kind)."""
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"filter_date: {name} {value!r} is not a date; use e.g. '2021-07-01' or a datetime."
        ) from error
    # The time coordinate is naive (numpy datetime64), read as UTC.
    return stamp.tz_convert("UTC").tz_localize(None) if stamp.tzinfo else stamp
