"""One image, as ``ee.Image``: construction, properties, bands, masks and the band pairing."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import TypeAlias

import numpy as np
import pandas as pd
import xarray as xr

from ..contract import COLLECTION_DIMS, band_names, check_collection, check_image
from ..properties import get_property, property_names, set_property
from ._arrays import (
    canonical,
    check_same_grid,
    describe,
    drop_stray_time,
    flatten_names,
    is_number,
    rename_bands,
    select_bands,
)
from ._expression import evaluate
from ._joined import JoinedImage
from ._number import plain_number
from ._pixel_math import PixelMath
from ._projection import match_grids
from ._spatial_methods import SpatialMethods

__all__ = ["Image", "Operand", "wrap_image"]

Operand: TypeAlias = "Image | float"


class Image(PixelMath, SpatialMethods):
    """One image, like ``ee.Image``: wraps a DataArray with dims ``(band, y, x)``.

    Here: construction, properties, band selection, ``addBands``, ``updateMask``,
    ``expression`` and the band pairing every two-image operation uses. The per-pixel methods
    (``add`` ... ``where`` and Python's operators) are in :class:`PixelMath`, the spatial ones
    (``clip`` ... ``reproject``) in :class:`SpatialMethods`.

    Float values, NaN = masked. Inside :meth:`ImageCollection.map` an Image also wraps a whole
    stack ``(time, band, y, x)``; every method works on dims by name, so it broadcasts over time.

    Parameters
    ----------
    image
        DataArray with dims ``(band, y, x)``, a float dtype and a ``band`` coordinate of unique
        names (see :func:`compositing.contract.check_image`); or, inside ``map``, a stack with
        dims ``(time, band, y, x)`` in any order (put back in this order), to return an array
        computed with xarray as an Image. A number (or list of numbers) gives
        :meth:`constant`, a list of Images :meth:`cat`, an Image itself, as ``ee.Image(...)``
        does; so does a joined property inside ``map`` (``Image(img.get('s2cloudless'))``,
        see :class:`~compositing.facade.Join`).
    """

    def __init__(self, image: xr.DataArray | float | Sequence[float] | Sequence[Image]) -> None:
        self._replay: tuple[Image, Callable[[Image], Image]] | None = None
        if isinstance(image, Image):
            self._array = image._array  # ee.Image(image)
        elif isinstance(image, JoinedImage):
            self._array = check_image(image.array)  # ee.Image(img.get('joined'))
        elif isinstance(image, xr.DataArray) and image.dtype == object:
            self._array = _stack_of_images(image)  # ee.Image(img.get('joined')) inside map
        elif isinstance(image, list | tuple) and image and all(isinstance(i, Image) for i in image):
            self._array = Image.cat(image)._array  # ee.Image([a, b, c])
        elif is_number(image) or (
            isinstance(image, list | tuple) and image and all(map(is_number, image))
        ):
            self._array = Image.constant(image)._array  # ee.Image(5), ee.Image([1, 2])
        elif isinstance(image, xr.DataArray) and set(image.dims) == set(COLLECTION_DIMS):
            stack = canonical(image)
            check_collection(stack, name="image", sorted_time=False)
            self._array = stack
        else:
            self._array = check_image(image)

    @classmethod
    def constant(cls, value: float | Sequence[float]) -> Image:
        """An image of one value everywhere, as ``ee.Image.constant`` (and ``Image(5)``):
        band ``constant``, or ``constant_0``, ``constant_1``... for a list of values. It has no
        grid: combined with another image it takes that image's grid (and dtype)."""
        values = np.atleast_1d(np.asarray(value, dtype="float64"))
        if values.ndim != 1 or not values.size or not np.issubdtype(values.dtype, np.number):
            raise ValueError(f"Image.constant takes a number or a list of numbers, not {value!r}.")
        names = ["constant"] if values.size == 1 else [f"constant_{i}" for i in range(values.size)]
        return wrap_image(xr.DataArray(values, dims=("band",), coords={"band": names}))

    @classmethod
    def cat(cls, *images: Image | Sequence[Image]) -> Image:
        """The bands of every image, in order, as ``ee.Image.cat`` (a band-name clash is an
        error, see :meth:`add_bands`)."""
        flat = (
            list(images[0])
            if len(images) == 1 and isinstance(images[0], list | tuple)
            else list(images)
        )
        if not flat or not all(isinstance(image, Image) for image in flat):
            raise TypeError(f"Image.cat takes Images, not {images!r}.")
        out = flat[0]
        for image in flat[1:]:
            out = out.add_bands(image)
        return out

    @property
    def data(self) -> xr.DataArray:
        """The wrapped xarray.DataArray."""
        return self._array

    def __repr__(self) -> str:
        n_time = self._array.sizes.get("time")
        stacked = "" if n_time is None else f"stack of {n_time} images, "
        return f"<Image {stacked}{describe(self._array)}>"

    def band_names(self) -> list[str]:
        """The band names, as a list of str (``bandNames``)."""
        return band_names(self._array)

    # --- properties (compositing.properties: Earth Engine's names, STAC's as aliases) -------

    def get(self, name: str) -> object:
        """Property ``name`` (``'CLOUDY_PIXEL_PERCENTAGE'``, ``'system:time_start'`` in ms...)
        as a Python value; inside :meth:`ImageCollection.map`, an array along ``time``.

        Raises
        ------
        KeyError
            No such property; the message lists those there are.
        """
        values = get_property(self._array, name)
        return values.values.item() if values.ndim == 0 else values

    def set(self, *args: object) -> Image:
        """This image with properties set: ``set('name', value)`` or ``set({'a': 1, 'b': 2})``,
        as in Earth Engine."""
        array = self._array
        for name, value in _property_pairs(args).items():
            array = set_property(array, name, value)
        return wrap_image(array)

    def date(self) -> pd.Timestamp:
        """The image's date (``system:time_start``), as a UTC ``pandas.Timestamp``."""
        if "time" not in self._array.coords or self._array["time"].ndim:
            raise ValueError(
                "date: this image has no single date (a composite, or a stack inside map); "
                "take one image first, e.g. `collection.first()`."
            )
        return pd.Timestamp(self._array["time"].values).tz_localize("UTC")

    def property_names(self) -> list[str]:
        """The image's properties, under Earth Engine's names where it has one."""
        return property_names(self._array)

    def select(self, *selectors: str | Sequence[str]) -> Image:
        """Bands by name or regular expression (``re.fullmatch``), like ``ee.Image.select``.

        Parameters
        ----------
        *selectors
            Band names or patterns, as arguments or one list. A regular expression keeps the
            image's band order; names give the order asked for. ``select(['B4'], ['red'])``
            selects and renames.
        """
        return wrap_image(select_bands(self._array, selectors))

    def rename(self, *names: str | Sequence[str]) -> Image:
        """New band names, one per band, as arguments or one list."""
        return wrap_image(rename_bands(self._array, flatten_names(names, "rename")))

    def add_bands(
        self, other: Image, names: Sequence[str] | None = None, overwrite: bool = False
    ) -> Image:
        """This image's bands followed by ``other``'s, like ``ee.Image.addBands``.

        Parameters
        ----------
        other
            The image whose bands are added; on another grid of the same CRS (after
            ``reproject``), the coarser of the two is sampled on the finer.
        names
            Which bands of ``other`` to add (default: all).
        overwrite
            Replace bands of the same name (in place, keeping this image's band order).
            Without it a clash is a ValueError: Earth Engine would rename the new band
            ``name_1``, which silently breaks later ``select('name')`` calls in a port.
        """
        if not isinstance(other, Image):
            raise TypeError(f"add_bands takes an Image, not {type(other).__name__}.")
        src = other._array if names is None else select_bands(other._array, (list(names),))
        dst = self._array
        clashes = [b for b in band_names(src) if b in band_names(dst)]
        if clashes and not overwrite:
            raise ValueError(
                f"add_bands: band(s) {clashes} already exist; pass overwrite=True to replace "
                "them or rename the new bands first (`.rename(...)`)."
            )
        dst, src = drop_stray_time(dst, src)
        dst, src = match_grids(dst, src, "add_bands")
        check_same_grid(dst, src, "add_bands")
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
        return wrap_image(out.sel(band=order) if clashes else out)

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

    def expression(self, text: str, images: Mapping[str, Image | float] | None = None) -> Image:
        """Earth Engine's expression language (see :mod:`compositing.facade._expression`):
        ``image.expression("2.5 * (NIR - RED) / (NIR + 6 * RED - 7.5 * BLUE + 1)",
        {'NIR': image.select('B8'), ...})`` or with ``b('B8')`` for this image's bands. Parsed,
        never evaluated as Python.

        Parameters
        ----------
        text
            The expression; ``name = ...`` names the result's band.
        images
            The images (or numbers) the expression names.
        """
        return evaluate(text, self, images or {}, Image.constant)

    def _binary(self, other: Operand, op: Callable, what: str) -> Image:
        """Apply ``op(left, right)`` with Earth Engine's band pairing (the one broadcasting rule
        shared by arithmetic, comparisons and masks): see :meth:`_pair`."""
        left, right, names = self._pair(other, what)
        return self._finish(op(left, right), names)

    def _pair(self, other: Operand, what: str) -> tuple[xr.DataArray, xr.DataArray | float, list]:
        """The two operands of a band-by-band operation, and the result's band names.

        A number (or a :class:`Number`, one per image inside ``map``) applies to every band.
        A one-band image applies to every band of the other;
        equal band counts pair by position. Output bands are named after the image with more
        bands, or after ``self`` when the counts are equal. A constant (no grid) takes the other
        side's dtype, as a Python number would.
        """
        left = self._array
        other = plain_number(other)
        if is_number(other):
            return left, float(other), self.band_names()
        if isinstance(other, xr.DataArray) and set(other.dims) <= {"time"} and "time" in left.dims:
            # One number per image (a property or a Number inside map): it broadcasts over time.
            return left, other.astype(left.dtype), self.band_names()
        if not isinstance(other, Image):
            raise TypeError(f"{what} takes an Image or a number, not {type(other).__name__}.")
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
        if "x" not in right.dims and "x" in left.dims:
            right = right.astype(left.dtype)
        elif "x" not in left.dims and "x" in right.dims:
            left = left.astype(right.dtype)
        left, right = drop_stray_time(left, right)
        left, right = match_grids(left, right, what)
        check_same_grid(left, right, what)
        return left, right, names

    def _finish(self, out: xr.DataArray, names: list[str]) -> Image:
        out = canonical(out).assign_coords(band=names)
        out.attrs = dict(self._array.attrs)
        return wrap_image(out)

    @classmethod
    def _from_array(cls, array: xr.DataArray) -> Image:
        return wrap_image(array)

    def _unary(self, function: Callable[[xr.DataArray], xr.DataArray]) -> Image:
        out = function(self._array)
        out.attrs = dict(self._array.attrs)
        return wrap_image(out)

    bandNames = band_names  # noqa: N815 (Earth Engine's name)
    propertyNames = property_names  # noqa: N815 (Earth Engine's name)
    addBands = add_bands  # noqa: N815 (Earth Engine's name)
    updateMask = update_mask  # noqa: N815 (Earth Engine's name)


def _property_pairs(args: tuple) -> dict[str, object]:
    """``set('name', value)`` or ``set({'name': value, ...})`` as one dict."""
    if len(args) == 1 and isinstance(args[0], dict):
        return dict(args[0])
    if len(args) == 2 and isinstance(args[0], str):
        return {args[0]: args[1]}
    raise TypeError(f"set takes (name, value) or one dict of properties, not {args!r}.")


def _stack_of_images(images: xr.DataArray) -> xr.DataArray:
    """One image per element of an object array along ``time`` (a joined property inside
    ``map``), stacked on that array's times."""
    if images.dims != ("time",):
        raise TypeError(f"Image takes images along time here, not an array with {images.dims}.")
    parts = list(images.values)
    if not parts or not all(isinstance(part, JoinedImage) for part in parts):
        raise ValueError(
            "Image: some images have no joined image (a Join with outer=True); join without "
            "outer to keep only the images that matched."
        )
    own_time = [part.array.drop_vars("time", errors="ignore") for part in parts]
    stack = xr.concat(own_time, dim="time", coords="minimal", compat="override", join="exact")
    stack = stack.assign_coords(time=images["time"].values)
    return canonical(stack)


def wrap_image(array: xr.DataArray) -> Image:
    """An Image of ``array`` without checks: for results of the facade's own methods, and for
    the stacks ``map`` hands to its function."""
    image = Image.__new__(Image)
    image._array = canonical(array)
    image._replay = None
    return image
