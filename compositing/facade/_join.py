"""``ee.Join``: ``Join.saveFirst(matchKey).apply(primary, secondary, condition)``, as the
s2cloudless tutorial joins each surface-reflectance image with its cloud-probability image.

The match is saved as a property of each primary image, as in Earth Engine: a coordinate along
``time`` whose values are the matched images (:class:`JoinedImage`, lazy), so it follows
the images through every filter, sort and ``map``. ``ee.Image(img.get(matchKey))`` turns it back
into an image (inside ``map``, one per image of the stack).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from ..properties import get_property
from ._collection import ImageCollection
from ._filters import Filter
from ._joined import JoinedImage

__all__ = ["Join"]


@dataclass(frozen=True)
class _SaveFirst:
    """A ``saveFirst`` join: see :meth:`Join.saveFirst`."""

    match_key: str
    outer: bool

    def apply(
        self, primary: ImageCollection, secondary: ImageCollection, condition: Filter
    ) -> ImageCollection:
        """The primary images, each with property ``match_key`` = the first secondary image
        (in the secondary's order) that meets ``condition``; without ``outer``, the primary
        images that match none are dropped, as in Earth Engine.

        Parameters
        ----------
        primary, secondary
            The collections (on the same grid: the match is added to primary images).
        condition
            ``Filter.equals(leftField=..., rightField=...)``: a primary property equal to a
            secondary one (``'system:index'`` for the tutorial).
        """
        for name, value in (("primary", primary), ("secondary", secondary)):
            if not isinstance(value, ImageCollection):
                raise TypeError(f"Join.apply: {name} is an ImageCollection, not {value!r}.")
        if not isinstance(condition, Filter) or condition.fields is None:
            raise ValueError(
                "Join.apply: the condition compares a primary property with a secondary one: "
                "Filter.equals(leftField='system:index', rightField='system:index')."
            )
        left_field, right_field = condition.fields
        left = _keys(primary.data, left_field)
        right = _keys(secondary.data, right_field)
        first_match: dict[object, int] = {}
        for position, key in enumerate(right):
            first_match.setdefault(key, position)
        found = [first_match.get(key) for key in left]
        keep = [i for i, match in enumerate(found) if match is not None or self.outer]
        matches = np.empty(len(keep), dtype=object)
        for slot, i in enumerate(keep):
            match = None if found[i] is None else secondary.data.isel(time=found[i])
            matches[slot] = None if match is None else JoinedImage(match)
        joined = primary.data.isel(time=keep).assign_coords(
            {self.match_key: xr.Variable(("time",), matches)}
        )
        return ImageCollection._derive(joined, "the join matched no image" if not keep else None)


def _keys(array: xr.DataArray, name: str) -> list[object]:
    values = get_property(array, name).values
    return [v.item() if hasattr(v, "item") else v for v in np.atleast_1d(values)]


class Join:
    """Joins of two collections, as ``ee.Join`` (``saveFirst`` only)."""

    @staticmethod
    def save_first(
        matchKey: str,  # noqa: N803 (Earth Engine's name)
        ordering: str | None = None,
        ascending: bool = True,
        measureKey: str | None = None,  # noqa: N803
        outer: bool = False,
    ) -> _SaveFirst:
        """A join that saves each primary image's first match as property ``matchKey``.

        Parameters
        ----------
        matchKey
            The property to save the match in.
        ordering, ascending, measureKey
            Not available here (the secondary's own order decides the first match; sort it
            first): a ValueError says so.
        outer
            Keep primary images without a match (their property is None).
        """
        if ordering is not None or measureKey is not None:
            raise ValueError(
                "Join.saveFirst: ordering and measureKey are not available here; sort the "
                "secondary collection first (`.sort(property, ascending)`)."
            )
        if not isinstance(matchKey, str) or not matchKey:
            raise ValueError(f"Join.saveFirst takes a property name to save in, not {matchKey!r}")
        return _SaveFirst(matchKey, bool(outer))

    saveFirst = save_first  # noqa: N815 (Earth Engine's name)
