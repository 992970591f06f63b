"""A collection of images on one grid, as ``ee.ImageCollection``: filters, order, ``map`` and
the reducers.

**Order.** A collection keeps an order of its own: a source's collection comes sorted by time
(the contract), and ``sort``, ``limit`` and ``merge`` reorder it, as in Earth Engine. ``mosaic``
(the last image on top), ``quality_mosaic``'s ties (the first image wins), ``first`` and
``to_list`` follow that order; so ``sort('CLOUDY_PIXEL_PERCENTAGE', False).mosaic()`` puts the
least cloudy image on top. :attr:`ImageCollection.data` is the stack in that order (its ``time``
coordinate is then not sorted).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
import xarray as xr

from ..contract import band_names, check_collection
from ..properties import get_property, property_names
from ..reducers import composite
from ._arrays import canonical, describe, drop_stray_time, select_bands
from ._catalog import CatalogRequest
from ._filters import DateLike, Filter, intersects, outside_text
from ._geometry import Geometry, as_geometry
from ._image import Image, wrap_image
from ._reducer import Reducer

__all__ = ["ImageCollection"]


class ImageCollection:
    """A collection of images on one grid, like ``ee.ImageCollection``.

    Parameters
    ----------
    collection
        DataArray with dims ``(time, band, y, x)``, float (NaN = masked), sorted by time; see
        :func:`compositing.contract.check_collection`. numpy- or dask-backed. Each image's
        properties are its coordinates along ``time`` (see :mod:`compositing.properties`).
        Or Earth Engine's id (``'COPERNICUS/S2_SR'``, see :mod:`compositing.facade._catalog`),
        loaded from ``source`` at ``resolution`` once ``filterBounds`` and ``filterDate`` have
        given the area and dates; or another ImageCollection.
    source
        For an id: ``"demo"`` (default, offline), ``"earth-search"`` or
        ``"planetary-computer"``.
    resolution
        For an id: the pixel size in metres.
    """

    def __init__(
        self,
        collection: xr.DataArray | str | ImageCollection,
        *,
        source: str = "demo",
        resolution: float = 10.0,
    ) -> None:
        self._empty_reason: str | None = None
        self._request: CatalogRequest | None = None
        self._data: xr.DataArray | None = None
        if isinstance(collection, ImageCollection):  # ee.ImageCollection(join.apply(...))
            self._data, self._request = collection._data, collection._request
            self._empty_reason = collection._empty_reason
        elif isinstance(collection, str):
            # ImageCollection('COPERNICUS/S2_SR'): loaded once filterBounds and filterDate
            # have given the area and dates (see compositing.facade._catalog).
            self._request = CatalogRequest(collection, source, resolution)
        else:
            self._data = check_collection(collection)

    @classmethod
    def _derive(cls, array: xr.DataArray, empty_reason: str | None = None) -> ImageCollection:
        """A collection from our own methods. It may be empty (time length 0), which the
        contract forbids: ``empty_reason`` then says why, and reducers raise it."""
        collection = cls.__new__(cls)
        collection._data, collection._request = array, None
        collection._empty_reason = empty_reason if array.sizes["time"] == 0 else None
        return collection

    @property
    def _array(self) -> xr.DataArray:
        if self._data is None:
            self._data = check_collection(self._request.load())
        return self._data

    def _waiting(self, request: CatalogRequest) -> ImageCollection:
        """A collection id still waiting for its area or dates."""
        collection = ImageCollection.__new__(ImageCollection)
        collection._data, collection._request, collection._empty_reason = None, request, None
        return collection

    @property
    def data(self) -> xr.DataArray:
        """The wrapped DataArray ``(time, band, y, x)``, in the collection's order; time has
        length 0 after a filter that removed every image."""
        return self._array

    def to_xarray(self) -> xr.DataArray:
        """The wrapped DataArray (same as :attr:`data`)."""
        return self._array

    def __repr__(self) -> str:
        if self._data is None:
            return (
                f"<ImageCollection {self._request.collection_id!r}, loaded once filterBounds "
                "and filterDate give its area and dates>"
            )
        return f"<ImageCollection of {self.size()} images, {describe(self._array)}>"

    # --- size, order and images ------------------------------------------------------------

    def size(self) -> int:
        """The number of images."""
        return int(self._array.sizes["time"])

    def first(self) -> Image:
        """The first image in the collection's order (its properties, date included, stay as
        scalar coordinates)."""
        self._check_not_empty("first")
        return wrap_image(self._array.isel(time=0))

    def sort(self, name: str, ascending: bool = True) -> ImageCollection:
        """The images ordered by property ``name`` (stable: equal values keep their order;
        images without a value last), as ``ee.ImageCollection.sort``.

        Parameters
        ----------
        name
            A property (``'CLOUDY_PIXEL_PERCENTAGE'``, ``'system:time_start'``...).
        ascending
            Smallest first (default) or largest first.
        """
        if not self.size():
            return self
        values = np.asarray(get_property(self._array, name).values)
        return self._reordered(_sort_order(values, ascending))

    def limit(self, n: int, name: str | None = None, ascending: bool = True) -> ImageCollection:
        """The first ``n`` images, after sorting by ``name`` if given, as
        ``ee.ImageCollection.limit``."""
        if not isinstance(n, int | np.integer) or n < 0:
            raise ValueError(f"limit takes a number of images n >= 0, not {n!r}.")
        ordered = self if name is None else self.sort(name, ascending)
        reason = self._empty_reason or "limit(0) keeps no image."
        return ImageCollection._derive(ordered._array.isel(time=slice(0, int(n))), reason)

    def to_list(self, count: int, offset: int = 0) -> list[Image]:
        """Up to ``count`` images from position ``offset``, as Images (``toList``)."""
        stop = min(self.size(), offset + count)
        return [wrap_image(self._array.isel(time=i)) for i in range(offset, stop)]

    def to_bands(self) -> Image:
        """One image of every band of every image, named ``{system:index}_{band}`` (the
        image's position where it has no ``system:index``), as ``toBands``."""
        self._check_not_empty("to_bands")
        try:
            ids = [str(v) for v in get_property(self._array, "system:index").values]
        except KeyError:
            ids = [str(i) for i in range(self.size())]
        names = [f"{image}_{band}" for image in ids for band in band_names(self._array)]
        if len(set(names)) != len(names):
            ids = [str(i) for i in range(self.size())]
            names = [f"{image}_{band}" for image in ids for band in band_names(self._array)]
        along_time = [n for n, c in self._array.coords.items() if "time" in c.dims]
        stacked = self._array.drop_vars(along_time).stack(merged=("time", "band"))
        stacked = stacked.drop_vars(["merged", "band", "time"], errors="ignore")
        out = stacked.rename(merged="band").assign_coords(band=names)
        return wrap_image(out.transpose("band", "y", "x"))

    def merge(self, other: ImageCollection) -> ImageCollection:
        """This collection's images, then ``other``'s, as ``ee.ImageCollection.merge``.

        Both must be on one grid with the same bands (``select`` them first); properties that
        only one side has are dropped.
        """
        if not isinstance(other, ImageCollection):
            raise TypeError(f"merge takes an ImageCollection, not {type(other).__name__}.")
        mine, theirs = self._array, other.data
        if band_names(mine) != band_names(theirs):
            raise ValueError(
                f"merge: the collections have bands {band_names(mine)} and "
                f"{band_names(theirs)}; select the same bands in both first."
            )
        try:
            xr.align(mine, theirs, join="exact", exclude=["time", "band"])
        except ValueError as error:
            raise ValueError(
                "merge: the two collections are not on the same grid (x/y coordinates differ); "
                "load them on one grid (the same bbox, resolution and CRS)."
            ) from error
        shared = set(_along_time(mine)) & set(_along_time(theirs))
        mine, theirs = (
            a.drop_vars([n for n in _along_time(a) if n not in shared]) for a in (mine, theirs)
        )
        merged = xr.concat([mine, theirs], dim="time", coords="minimal", compat="override")
        return ImageCollection._derive(merged, self._empty_reason and other._empty_reason)

    def aggregate_array(self, name: str) -> list[object]:
        """Property ``name`` of every image, in the collection's order (``aggregate_array``)."""
        return np.asarray(get_property(self._array, name).values).tolist()

    def property_names(self) -> list[str]:
        """The properties every image has, under Earth Engine's names where it has one."""
        return property_names(self._array)

    # --- filters -----------------------------------------------------------------------------

    def filter(self, test: Filter) -> ImageCollection:
        """The images that pass ``test`` (a :class:`Filter`), in the collection's order."""
        return self._filtered(test, f"filter({test.text})" if isinstance(test, Filter) else "")

    def _filtered(self, test: Filter, called: str) -> ImageCollection:
        if not isinstance(test, Filter):
            raise TypeError(
                f"filter takes a Filter (e.g. Filter.lt('CLOUDY_PIXEL_PERCENTAGE', 20)), not "
                f"{type(test).__name__}."
            )
        keep = np.flatnonzero(test.keep(self._array)) if self.size() else np.array([], int)
        reason = self._empty_reason or (f"no images left after {called}: {self._what_there_is()}")
        return ImageCollection._derive(self._array.isel(time=keep), reason)

    def filter_metadata(self, name: str, operator: str, value: object) -> ImageCollection:
        """``filterMetadata(name, operator, value)``, e.g. ``('CLOUDY_PIXEL_PERCENTAGE',
        'less_than', 20)``; see :meth:`Filter.metadata`."""
        called = f"filter_metadata({name!r}, {operator!r}, {value!r})"
        return self._filtered(Filter.metadata(name, operator, value), called)

    def filter_date(self, start: DateLike, end: DateLike | None = None) -> ImageCollection:
        """Images with ``start <= time < end`` (the end is exclusive, as in Earth Engine).

        Parameters
        ----------
        start, end
            Dates as strings (``'2021-07-01'``) or datetimes; timezone-aware ones are compared
            in UTC. Without ``end``, a one-millisecond window, as in Earth Engine.
        """
        if self._data is None and end is not None:  # a collection id: these are its dates
            return self._waiting(self._request.with_dates(start, end))
        called = f"filter_date({str(start)!r}, {str(end)!r})"
        return self._filtered(Filter.date(start, end), called)

    def filter_bounds(self, geometry: Geometry | Sequence[float]) -> ImageCollection:
        """Keep the images if ``geometry`` intersects the collection's extent, else none.

        All images of a collection share one grid, so this is a test of the grid's extent only:
        it never reads pixels (it stays lazy) and keeps images whose pixels at the geometry are
        masked. Earth Engine would test each image's footprint instead.

        Parameters
        ----------
        geometry
            ``Geometry.Point(lon, lat)``, ``Geometry.Rectangle(w, s, e, n)``, a ``(lon, lat)``
            tuple or a ``(west, south, east, north)`` tuple, in degrees (EPSG:4326).
        """
        geometry = as_geometry(geometry)
        if self._data is None:  # a collection id: this is its area
            return self._waiting(self._request.with_bounds(geometry))
        if not self.size() or intersects(self._array, geometry):
            return self
        reason = self._empty_reason or (
            f"no images left after filter_bounds: {outside_text(self._array, geometry)}."
        )
        return ImageCollection._derive(self._array.isel(time=slice(0, 0)), reason)

    def select(self, *selectors: str | Sequence[str]) -> ImageCollection:
        """Bands by name or regular expression, as :meth:`Image.select`."""
        return ImageCollection._derive(select_bands(self._array, selectors), self._empty_reason)

    def map(self, fn: Callable[[Image], Image]) -> ImageCollection:
        """Apply ``fn`` to every image, like ``ee.ImageCollection.map``.

        Vectorised: ``fn`` is called **once**, with an Image wrapping the whole stack
        ``(time, band, y, x)``; Image methods work on dims by name, so they apply to every image
        at once. So ``fn`` must use Image methods only (no per-image Python branching on values,
        which Earth Engine does not allow either). A result without a time axis (a constant
        image) is repeated for every image. ``Image(array)`` wraps a stack computed with xarray.

        Parameters
        ----------
        fn
            Takes an Image and returns an Image.
        """
        result = fn(wrap_image(self._array))
        if not isinstance(result, Image):
            raise TypeError(
                f"the function given to map must return an Image, not {type(result).__name__}; "
                "wrap arrays with Image(...) and return the Image from every branch."
            )
        out = result.data
        if "time" not in out.dims:
            out = drop_stray_time(out, self._array)[0].expand_dims(time=self._array["time"])
        out = canonical(out)
        if out.sizes["time"]:
            check_collection(out, name="the result of map", sorted_time=False)
        return ImageCollection._derive(out, self._empty_reason)

    # --- reducers: compositing.reducers.composite, in the collection's order -----------------

    def mean(self) -> Image:
        """Per-pixel mean of the valid values (float64)."""
        return self._reduce("mean")

    def median(self) -> Image:
        """Per-pixel exact median of the valid values."""
        return self._reduce("median")

    def min(self) -> Image:
        """Per-pixel minimum of the valid values."""
        return self._reduce("min")

    def max(self) -> Image:
        """Per-pixel maximum of the valid values."""
        return self._reduce("max")

    def sum(self) -> Image:
        """Per-pixel sum of the valid values (float64)."""
        return self._reduce("sum")

    def product(self) -> Image:
        """Per-pixel product of the valid values (float64)."""
        return self._reduce("product")

    def mode(self) -> Image:
        """Per-pixel most frequent valid value; ties give the smallest value."""
        return self._reduce("mode")

    def count(self) -> Image:
        """Per-pixel number of valid values (float32), masked where there is none."""
        return self._reduce("count")

    def mosaic(self) -> Image:
        """The last valid image on top, band by band, in the collection's order."""
        return self._reduce("mosaic")

    def quality_mosaic(self, quality_band: str) -> Image:
        """Per pixel, every band of the image whose ``quality_band`` is highest (the first in
        the collection's order on ties), like ``ee.ImageCollection.qualityMosaic``.

        Parameters
        ----------
        quality_band
            The name of the band to maximise (``B8`` or ``B08`` alike).
        """
        return self._reduce("quality_mosaic", quality_band)

    def reduce(self, reducer: Reducer) -> Image:
        """Every output of ``reducer`` per pixel over the images, as ``reduce(ee.Reducer...)``:
        bands named ``B4_mean``, ``B4_p25``... band by band (``Reducer.percentile([25, 75])``
        gives ``B4_p25, B4_p75, B8_p25``...). Exact, the same for any chunking and memory
        bounded, as :func:`compositing.reducers.composite` (percentiles linear between the
        closest ranks; ``stdDev`` the population's).

        Parameters
        ----------
        reducer
            A :class:`Reducer`: ``Reducer.percentile([25])``, ``Reducer.mean().combine(
            Reducer.stdDev(), sharedInputs=True)``...
        """
        if not isinstance(reducer, Reducer):
            raise TypeError(f"reduce takes a Reducer (e.g. Reducer.median()), not {reducer!r}.")
        self._check_not_empty("reduce")
        return wrap_image(reducer.over_time(self._array))

    def _reduce(self, method: str, quality_band: str | None = None) -> Image:
        self._check_not_empty(method)
        reduced = composite(self._array, method, quality_band=quality_band, order="given")
        return wrap_image(reduced)

    def _reordered(self, order: np.ndarray) -> ImageCollection:
        return ImageCollection._derive(self._array.isel(time=order), self._empty_reason)

    def _check_not_empty(self, what: str) -> None:
        if self._empty_reason is not None:
            raise ValueError(f"{what}: {self._empty_reason}")

    def _what_there_is(self) -> str:
        """What the images were, for the message of a filter that kept none."""
        times = pd.DatetimeIndex(self._array["time"].values)
        span = f"{times.min():%Y-%m-%d} to {times.max():%Y-%m-%d}" if len(times) else "(none)"
        return f"the collection's {self.size()} images are dated {span}"

    filterDate = filter_date  # noqa: N815 (Earth Engine's name)
    filterBounds = filter_bounds  # noqa: N815 (Earth Engine's name)
    filterMetadata = filter_metadata  # noqa: N815 (Earth Engine's name)
    qualityMosaic = quality_mosaic  # noqa: N815 (Earth Engine's name)
    toList = to_list  # noqa: N815 (Earth Engine's name)
    toBands = to_bands  # noqa: N815 (Earth Engine's name)
    propertyNames = property_names  # noqa: N815 (Earth Engine's name)


def _along_time(array: xr.DataArray) -> list[str]:
    """The coordinates along ``time`` but ``time`` itself: the images' properties."""
    return [str(n) for n, c in array.coords.items() if c.dims == ("time",) and n != "time"]


def _sort_order(values: np.ndarray, ascending: bool) -> np.ndarray:
    """Positions that sort ``values`` stably (equal values keep their order), those without a
    value (NaN, None) last."""
    missing = np.array([v is None or (isinstance(v, float) and np.isnan(v)) for v in values])
    present = np.flatnonzero(~missing)
    _, codes = np.unique(values[present], return_inverse=True)  # equal values, equal codes
    ranked = present[np.lexsort((present, codes if ascending else -codes))]
    return np.concatenate([ranked, np.flatnonzero(missing)]).astype(int)
