"""An Earth Engine-style facade, to port ``ee.ImageCollection``/``ee.Image`` code line by line.

::

    from compositing.facade import Geometry, ImageCollection

    col = (
        ImageCollection(data)  # an xarray collection, see compositing.contract
        .filterDate('2021-07-01', '2021-08-01')
        .filterBounds(Geometry.Point(-122.373, 37.448))
        .select('B.*|MSK_CLDPRB|SCL')
    )
    not_cloud = col.map(lambda img: img.updateMask(img.select('MSK_CLDPRB').lte(10)))
    count = not_cloud.count().data  # an xarray.DataArray (band, y, x)

Every method has a snake_case name and a camelCase alias (``filter_date`` / ``filterDate``).
Nothing computes: a dask-backed collection stays dask-backed through every method, reducers
included. The reducers are :func:`compositing.reducers.composite`.

Where this differs from Earth Engine, on purpose:

* All images of a collection share one grid, so ``filter_bounds`` keeps all images or none.
* ``map`` calls the function once on the whole stack of images (see :meth:`ImageCollection.map`).
* ``add_bands`` refuses a band-name clash instead of renaming the new band ``name_1``.
"""

from __future__ import annotations

import math
import numbers
import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeAlias

import numpy as np
import pandas as pd
import xarray as xr

from .contract import band_names, check_collection, check_image
from .geo import LONLAT, lonlat_bounds, transformer
from .reducers import composite

__all__ = ["Geometry", "Image", "ImageCollection"]

_DIMS = ("time", "band", "y", "x")

Operand: TypeAlias = "Image | float"
DateLike: TypeAlias = "str | datetime | np.datetime64 | pd.Timestamp"


# --- geometry ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Geometry:
    """A lon/lat point or rectangle (EPSG:4326), mirroring ``ee.Geometry.Point``/``Rectangle``.

    Parameters
    ----------
    bounds
        ``(west, south, east, north)`` in degrees; a point has ``west == east``, ``south == north``.
    is_point
        Whether this is a point (only changes how it is described in messages).
    """

    bounds: tuple[float, float, float, float]
    is_point: bool = False

    @classmethod
    def Point(cls, *coords: float | Sequence[float]) -> Geometry:
        """``Geometry.Point(lon, lat)`` or ``Geometry.Point([lon, lat])``, as in Earth Engine."""
        lon, lat = _flat_numbers(coords, 2, "Geometry.Point", "(lon, lat)")
        return cls((lon, lat, lon, lat), is_point=True)

    @classmethod
    def Rectangle(cls, *coords: float | Sequence[float]) -> Geometry:
        """``Geometry.Rectangle(west, south, east, north)``, also as one list or two corners."""
        west, south, east, north = _flat_numbers(
            coords, 4, "Geometry.Rectangle", "(west, south, east, north)"
        )
        if west > east or south > north:
            raise ValueError(
                f"Geometry.Rectangle{(west, south, east, north)}: expected west <= east and "
                "south <= north (rectangles crossing the antimeridian are not supported)."
            )
        return cls((west, south, east, north))

    def __post_init__(self) -> None:
        west, south, east, north = self.bounds
        # The most common porting slip is (lat, lon) instead of Earth Engine's (lon, lat).
        if not (
            -90 <= south <= 90
            and -90 <= north <= 90
            and -180 <= west <= 180
            and -180 <= east <= 180
        ):
            raise ValueError(
                f"{self._label()} is not a lon/lat position in degrees: longitudes lie in "
                "[-180, 180] and latitudes in [-90, 90]. Earth Engine's order is (lon, lat)."
            )

    def _label(self) -> str:
        if self.is_point:
            return f"the point {self.bounds[:2]}"
        return f"the rectangle {self.bounds}"


def _flat_numbers(coords: tuple, n: int, what: str, shape: str) -> tuple[float, ...]:
    """Flatten ``(1, 2)``, ``([1, 2],)`` or ``([[1, 2], [3, 4]],)`` to ``n`` floats."""
    flat = list(np.ravel(np.asarray(coords, dtype=object)))
    if len(flat) == 1 and isinstance(flat[0], (list, tuple)):
        flat = list(np.ravel(np.asarray(flat[0], dtype=object)))
    if len(flat) != n or not all(_is_number(v) for v in flat):
        raise ValueError(f"{what} takes {n} numbers {shape}, got {coords!r}.")
    return tuple(float(v) for v in flat)


def _as_geometry(geometry: object) -> Geometry:
    if isinstance(geometry, Geometry):
        return geometry
    if isinstance(geometry, (list, tuple)) and len(geometry) == 2:
        return Geometry.Point(*geometry)
    if isinstance(geometry, (list, tuple)) and len(geometry) == 4:
        return Geometry.Rectangle(*geometry)
    raise TypeError(
        f"filter_bounds takes a Geometry.Point/Rectangle, a (lon, lat) point or a "
        f"(west, south, east, north) box in degrees, not {geometry!r}."
    )


# --- helpers shared by Image and ImageCollection ---------------------------------------------


def _is_number(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _canonical(array: xr.DataArray) -> xr.DataArray:
    """Put the dims back in ``(time,) band, y, x`` order; broadcasting can shuffle them."""
    return array.transpose(*(d for d in _DIMS if d in array.dims))


def _flatten_names(args: tuple, what: str) -> list[str]:
    """Accept ``f('a', 'b')`` and ``f(['a', 'b'])`` alike, as the Earth Engine client does."""
    names: list[str] = []
    for arg in args:
        items = list(arg) if isinstance(arg, (list, tuple)) else [arg]
        for item in items:
            if not isinstance(item, str):
                raise TypeError(f"{what} takes band names (str), got {item!r}.")
            names.append(item)
    return names


def _select(array: xr.DataArray, args: tuple) -> xr.DataArray:
    """Earth Engine's ``select``: names or ``re.fullmatch`` patterns, optionally new names.

    Each selector picks its matching bands in the array's band order, selectors in the order
    given; so ``'B.*'`` keeps the collection's order and ``('B8', 'B4')`` the order asked for.
    ``select(['B4', 'B8'], ['red', 'nir'])`` also renames, as in Earth Engine.
    """
    new_names = None
    if len(args) == 2 and all(isinstance(a, (list, tuple)) for a in args):
        args, new_names = (args[0],), _flatten_names((args[1],), "select")
    selectors = _flatten_names(args, "select")
    if not selectors:
        raise ValueError("select needs at least one band name or regular expression.")
    present = band_names(array)
    chosen: list[int] = []
    for selector in selectors:
        if selector in present:  # exact names first: a name need not be a valid regex
            matches = [present.index(selector)]
        else:
            try:
                pattern = re.compile(selector)
            except re.error:
                pattern = None
            matches = [i for i, b in enumerate(present) if pattern and pattern.fullmatch(b)]
        if not matches:
            raise ValueError(
                f"select: {selector!r} matches no band (names and regular expressions must "
                f"match a whole band name); bands present: {present}."
            )
        chosen += [i for i in matches if i not in chosen]
    out = array.isel(band=chosen)
    return out if new_names is None else _rename(out, new_names)


def _rename(array: xr.DataArray, names: list[str]) -> xr.DataArray:
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


def _drop_stray_time(a: xr.DataArray, b: xr.DataArray) -> tuple[xr.DataArray, xr.DataArray]:
    """Drop a scalar ``time`` coordinate (from ``first()``) when the other side is stacked over
    time: xarray cannot combine a scalar coordinate with a dimension of the same name."""
    if "time" in b.dims and "time" in a.coords and "time" not in a.dims:
        a = a.drop_vars("time")
    if "time" in a.dims and "time" in b.coords and "time" not in b.dims:
        b = b.drop_vars("time")
    return a, b


def _check_same_grid(a: xr.DataArray, b: xr.DataArray, what: str) -> None:
    # xarray would silently keep only the overlap of two grids; Earth Engine would reproject.
    # Neither is what a port expects, so different grids are an error.
    try:
        xr.align(a, b, join="exact", exclude=["band"])
    except ValueError as error:
        raise ValueError(
            f"{what}: the two images are not on the same grid (x/y/time coordinates differ). "
            "Put them on one grid first, e.g. `b.rio.reproject_match(a)`."
        ) from error


def _safe_divide(a: xr.DataArray, b: xr.DataArray | float) -> xr.DataArray:
    """``a / b`` with 0 where ``b == 0``, as Earth Engine's ``divide``; masks still propagate."""
    if not isinstance(b, xr.DataArray):
        return a * 0 if b == 0 else a / b
    nonzero = b != 0
    # Dividing by NaN instead of 0 avoids numpy's divide-by-zero warnings.
    return (a / b.where(nonzero)).where(nonzero, a * 0)


def _comparison(op: Callable) -> Callable:
    """Turn a boolean comparison into Earth Engine's: 1.0/0.0, masked where an input is."""

    def compare(a: xr.DataArray, b: xr.DataArray | float) -> xr.DataArray:
        if isinstance(b, xr.DataArray):
            valid, dtype = a.notnull() & b.notnull(), np.result_type(a.dtype, b.dtype)
        else:
            valid, dtype = a.notnull() & (not math.isnan(b)), a.dtype
        return op(a, b).astype(dtype).where(valid)

    return compare


def _describe(array: xr.DataArray) -> str:
    size = f"{array.sizes['y']}x{array.sizes['x']}"
    dates = ""
    if "time" in array.coords and array["time"].size:
        times = pd.DatetimeIndex(np.atleast_1d(array["time"].values))
        first, last = f"{times[0]:%Y-%m-%d}", f"{times[-1]:%Y-%m-%d}"
        dates = f", date {first}" if first == last else f", dates {first}..{last}"
    return f"bands {band_names(array)}, size {size} (y x){dates}"


# --- Image -------------------------------------------------------------------------------------


class Image:
    """One image, like ``ee.Image``: wraps a DataArray with dims ``(band, y, x)``.

    Float values, NaN = masked. Inside :meth:`ImageCollection.map` an Image also wraps a whole
    stack ``(time, band, y, x)``; every method works on dims by name, so it broadcasts over time.

    Parameters
    ----------
    image
        DataArray with dims ``(band, y, x)``, a float dtype and a ``band`` coordinate of unique
        names (see :func:`compositing.contract.check_image`).
    """

    def __init__(self, image: xr.DataArray) -> None:
        self._array = check_image(image)

    @classmethod
    def _wrap(cls, array: xr.DataArray) -> Image:
        """Wrap without checks: for results of our own methods and for stacks in ``map``."""
        image = cls.__new__(cls)
        image._array = _canonical(array)
        return image

    @property
    def data(self) -> xr.DataArray:
        """The wrapped xarray.DataArray."""
        return self._array

    def __repr__(self) -> str:
        n_time = self._array.sizes.get("time")
        stacked = "" if n_time is None else f"stack of {n_time} images, "
        return f"<Image {stacked}{_describe(self._array)}>"

    def band_names(self) -> list[str]:
        """The band names, as a list of str (``bandNames``)."""
        return band_names(self._array)

    def select(self, *selectors: str | Sequence[str]) -> Image:
        """Bands by name or regular expression (``re.fullmatch``), like ``ee.Image.select``.

        Parameters
        ----------
        *selectors
            Band names or patterns, as arguments or one list. A regular expression keeps the
            image's band order; names give the order asked for. ``select(['B4'], ['red'])``
            selects and renames.
        """
        return Image._wrap(_select(self._array, selectors))

    def rename(self, *names: str | Sequence[str]) -> Image:
        """New band names, one per band, as arguments or one list."""
        return Image._wrap(_rename(self._array, _flatten_names(names, "rename")))

    def add_bands(
        self, other: Image, names: Sequence[str] | None = None, overwrite: bool = False
    ) -> Image:
        """This image's bands followed by ``other``'s, like ``ee.Image.addBands``.

        Parameters
        ----------
        other
            The image whose bands are added; on the same grid.
        names
            Which bands of ``other`` to add (default: all).
        overwrite
            Replace bands of the same name (in place, keeping this image's band order).
            Without it a clash is a ValueError: Earth Engine would rename the new band
            ``name_1``, which silently breaks later ``select('name')`` calls in a port.
        """
        if not isinstance(other, Image):
            raise TypeError(f"add_bands takes an Image, not {type(other).__name__}.")
        src = other._array if names is None else _select(other._array, (list(names),))
        dst = self._array
        clashes = [b for b in band_names(src) if b in band_names(dst)]
        if clashes and not overwrite:
            raise ValueError(
                f"add_bands: band(s) {clashes} already exist; pass overwrite=True to replace "
                "them or rename the new bands first (`.rename(...)`)."
            )
        dst, src = _drop_stray_time(dst, src)
        _check_same_grid(dst, src, "add_bands")
        dst, src = xr.broadcast(dst, src, exclude=["band"])  # a constant image joins a stack
        # Per-band metadata (e.g. stackstac's 'common_name') can only be concatenated if both
        # sides have it; keep what is shared.
        per_band = {n for a in (dst, src) for n, c in a.coords.items() if c.dims == ("band",)}
        partial = [n for n in per_band if n not in dst.coords or n not in src.coords]
        dst, src = (a.drop_vars(partial, errors="ignore") for a in (dst, src))
        order = band_names(dst) + [b for b in band_names(src) if b not in clashes]
        out = xr.concat(
            [dst.drop_sel(band=clashes), src],
            dim="band",
            coords="minimal",
            compat="override",
            join="exact",
            combine_attrs="override",
        )
        # Overwritten bands keep their place in this image's band order.
        return Image._wrap(out.sel(band=order) if clashes else out)

    def update_mask(self, mask: Operand) -> Image:
        """Mask pixels where ``mask`` is 0 or masked, like ``ee.Image.updateMask``.

        Parameters
        ----------
        mask
            An Image with one band (applied to every band) or as many bands as this image
            (paired by position), or a number (0 masks everything).
        """
        if isinstance(mask, Image) and mask._array.sizes["band"] not in (
            1,
            self._array.sizes["band"],
        ):
            raise ValueError(
                f"update_mask: the mask has bands {mask.band_names()} but the image has "
                f"{self.band_names()}; give a one-band mask or one mask band per image band."
            )

        def apply(a: xr.DataArray, m: xr.DataArray | float) -> xr.DataArray:
            if not isinstance(m, xr.DataArray):
                return a if m != 0 and not math.isnan(m) else a.where(False)
            return a.where((m != 0) & m.notnull())

        return self._binary(mask, apply, "update_mask")

    def add(self, other: Operand) -> Image:
        """``self + other`` band by band (an Image or a number)."""
        return self._binary(other, operator.add, "add")

    def subtract(self, other: Operand) -> Image:
        """``self - other`` band by band (an Image or a number)."""
        return self._binary(other, operator.sub, "subtract")

    def multiply(self, other: Operand) -> Image:
        """``self * other`` band by band (an Image or a number)."""
        return self._binary(other, operator.mul, "multiply")

    def divide(self, other: Operand) -> Image:
        """``self / other`` band by band; 0 where ``other`` is 0, as in Earth Engine."""
        return self._binary(other, _safe_divide, "divide")

    def lt(self, other: Operand) -> Image:
        """1.0 where ``self < other``, else 0.0; masked where either input is masked."""
        return self._binary(other, _comparison(operator.lt), "lt")

    def lte(self, other: Operand) -> Image:
        """1.0 where ``self <= other``, else 0.0; masked where either input is masked."""
        return self._binary(other, _comparison(operator.le), "lte")

    def gt(self, other: Operand) -> Image:
        """1.0 where ``self > other``, else 0.0; masked where either input is masked."""
        return self._binary(other, _comparison(operator.gt), "gt")

    def gte(self, other: Operand) -> Image:
        """1.0 where ``self >= other``, else 0.0; masked where either input is masked."""
        return self._binary(other, _comparison(operator.ge), "gte")

    def eq(self, other: Operand) -> Image:
        """1.0 where ``self == other``, else 0.0; masked where either input is masked."""
        return self._binary(other, _comparison(operator.eq), "eq")

    def neq(self, other: Operand) -> Image:
        """1.0 where ``self != other``, else 0.0; masked where either input is masked."""
        return self._binary(other, _comparison(operator.ne), "neq")

    def normalized_difference(self, band_names: Sequence[str] | None = None) -> Image:
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

    def _binary(self, other: Operand, op: Callable, what: str) -> Image:
        """Apply ``op(left, right)`` with Earth Engine's band pairing (the one broadcasting rule
        shared by arithmetic, comparisons and masks).

        A number applies to every band. A one-band image applies to every band of the other;
        equal band counts pair by position. Output bands are named after the image with more
        bands, or after ``self`` when the counts are equal. Attrs come from ``self``.
        """
        left = self._array
        if _is_number(other):
            out, names = op(left, float(other)), self.band_names()
        elif isinstance(other, Image):
            right = other._array
            n_left, n_right = left.sizes["band"], right.sizes["band"]
            if n_left != n_right and 1 not in (n_left, n_right):
                raise ValueError(
                    f"{what}: cannot pair bands {band_names(left)} with {band_names(right)}; "
                    "use images with the same number of bands or one band (`.select(...)`)."
                )
            names = band_names(left if n_left >= n_right else right)
            # Squeeze a one-band side so that xarray broadcasts it; otherwise relabel the right
            # bands so xarray pairs by position instead of aligning (and dropping) by name.
            if n_right == 1 and n_left > 1:
                right = right.isel(band=0, drop=True)
            elif n_left == 1 and n_right > 1:
                left = left.isel(band=0, drop=True)
            else:
                right = right.drop_vars(
                    [n for n, c in right.coords.items() if "band" in c.dims and n != "band"]
                ).assign_coords(band=left["band"].values)
            left, right = _drop_stray_time(left, right)
            _check_same_grid(left, right, what)
            out = op(left, right)
        else:
            raise TypeError(f"{what} takes an Image or a number, not {type(other).__name__}.")
        out = _canonical(out).assign_coords(band=names)
        out.attrs = dict(self._array.attrs)
        return Image._wrap(out)

    bandNames = band_names  # noqa: N815 (Earth Engine's name)
    addBands = add_bands  # noqa: N815 (Earth Engine's name)
    updateMask = update_mask  # noqa: N815 (Earth Engine's name)
    normalizedDifference = normalized_difference  # noqa: N815 (Earth Engine's name)


# --- ImageCollection ---------------------------------------------------------------------------


class ImageCollection:
    """A collection of images on one grid, like ``ee.ImageCollection``.

    Parameters
    ----------
    collection
        DataArray with dims ``(time, band, y, x)``, float (NaN = masked), sorted by time; see
        :func:`compositing.contract.check_collection`. numpy- or dask-backed.
    """

    def __init__(self, collection: xr.DataArray) -> None:
        self._array = check_collection(collection)
        self._empty_reason: str | None = None

    @classmethod
    def _derive(cls, array: xr.DataArray, empty_reason: str | None = None) -> ImageCollection:
        """A collection from our own methods. It may be empty (time length 0), which the
        contract forbids: ``empty_reason`` then says why, and reducers raise it."""
        collection = cls.__new__(cls)
        collection._array = array
        collection._empty_reason = empty_reason if array.sizes["time"] == 0 else None
        return collection

    @property
    def data(self) -> xr.DataArray:
        """The wrapped DataArray ``(time, band, y, x)``; time has length 0 after a filter that
        removed every image."""
        return self._array

    def to_xarray(self) -> xr.DataArray:
        """The wrapped DataArray (same as :attr:`data`)."""
        return self._array

    def __repr__(self) -> str:
        return f"<ImageCollection of {self.size()} images, {_describe(self._array)}>"

    def size(self) -> int:
        """The number of images."""
        return int(self._array.sizes["time"])

    def first(self) -> Image:
        """The first image in time order (its date stays as a scalar ``time`` coordinate)."""
        self._check_not_empty("first")
        return Image._wrap(self._array.isel(time=0))

    def select(self, *selectors: str | Sequence[str]) -> ImageCollection:
        """Bands by name or regular expression, as :meth:`Image.select`."""
        return ImageCollection._derive(_select(self._array, selectors), self._empty_reason)

    def filter_date(self, start: DateLike, end: DateLike | None = None) -> ImageCollection:
        """Images with ``start <= time < end`` (the end is exclusive, as in Earth Engine).

        Parameters
        ----------
        start, end
            Dates as strings (``'2021-07-01'``) or datetimes; timezone-aware ones are compared
            in UTC. Without ``end``, a one-millisecond window, as in Earth Engine.
        """
        t0 = _timestamp(start, "start")
        t1 = t0 + pd.Timedelta(milliseconds=1) if end is None else _timestamp(end, "end")
        times = pd.DatetimeIndex(self._array["time"].values)
        keep = np.flatnonzero((times >= t0) & (times < t1))
        reason = self._empty_reason or (
            f"no images left after filter_date({str(start)!r}, {str(end)!r}): the collection's "
            f"images are dated {_span(times)}."
        )
        return ImageCollection._derive(self._array.isel(time=keep), reason)

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
        geometry = _as_geometry(geometry)
        crs = self._array.rio.crs
        if crs is None:
            raise ValueError(
                "filter_bounds needs the collection's CRS, and it has none: set it with "
                "`data = data.rio.write_crs('EPSG:32610')` (import rioxarray; use your CRS)."
            )
        west, south, east, north = self._array.rio.bounds()
        to_grid = transformer(LONLAT, crs)
        gw, gs, ge, gn = to_grid.transform_bounds(*geometry.bounds, densify_pts=21)
        finite = all(map(math.isfinite, (gw, gs, ge, gn)))
        if finite and gw <= east and ge >= west and gs <= north and gn >= south:
            return self
        extent = lonlat_bounds(crs, (west, south, east, north), digits=5)
        reason = self._empty_reason or (
            f"no images left after filter_bounds: {geometry._label()} is outside the "
            f"collection's extent {extent} (west, south, east, north in lon/lat)."
        )
        return ImageCollection._derive(self._array.isel(time=slice(0, 0)), reason)

    def map(self, fn: Callable[[Image], Image]) -> ImageCollection:
        """Apply ``fn`` to every image, like ``ee.ImageCollection.map``.

        Vectorised: ``fn`` is called **once**, with an Image wrapping the whole stack
        ``(time, band, y, x)``; Image methods work on dims by name, so they apply to every image
        at once. So ``fn`` must use Image methods only (no per-image Python branching on values,
        which Earth Engine does not allow either). A result without a time axis (a constant
        image) is repeated for every image.

        Parameters
        ----------
        fn
            Takes an Image and returns an Image.
        """
        result = fn(Image._wrap(self._array))
        if not isinstance(result, Image):
            raise TypeError(
                f"the function given to map must return an Image, not {type(result).__name__}; "
                "wrap arrays with Image(...) and return the Image from every branch."
            )
        out = result._array
        if "time" not in out.dims:
            out = _drop_stray_time(out, self._array)[0].expand_dims(time=self._array["time"])
        out = _canonical(out)
        if out.sizes["time"]:
            check_collection(out, name="the result of map")
        return ImageCollection._derive(out, self._empty_reason)

    # Reducers: each is compositing.reducers.composite with the method of the same name.

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
        """The last valid image on top, band by band, in time order."""
        return self._reduce("mosaic")

    def quality_mosaic(self, quality_band: str) -> Image:
        """Per pixel, every band of the image whose ``quality_band`` is highest (earliest on
        ties), like ``ee.ImageCollection.qualityMosaic``.

        Parameters
        ----------
        quality_band
            The name of the band to maximise.
        """
        return self._reduce("quality_mosaic", quality_band)

    def _reduce(self, method: str, quality_band: str | None = None) -> Image:
        self._check_not_empty(method)
        return Image._wrap(composite(self._array, method, quality_band=quality_band))

    def _check_not_empty(self, what: str) -> None:
        if self._empty_reason is not None:
            raise ValueError(f"{what}: {self._empty_reason}")

    filterDate = filter_date  # noqa: N815 (Earth Engine's name)
    filterBounds = filter_bounds  # noqa: N815 (Earth Engine's name)
    qualityMosaic = quality_mosaic  # noqa: N815 (Earth Engine's name)


def _timestamp(value: DateLike, name: str) -> pd.Timestamp:
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"filter_date: {name} {value!r} is not a date; use e.g. '2021-07-01' or a datetime."
        ) from error
    # The time coordinate is naive (numpy datetime64), read as UTC.
    return stamp.tz_convert("UTC").tz_localize(None) if stamp.tzinfo else stamp


def _span(times: pd.DatetimeIndex) -> str:
    return f"{times[0]:%Y-%m-%d} to {times[-1]:%Y-%m-%d}" if len(times) else "(none)"
