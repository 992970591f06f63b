"""``ee.Image``'s spatial methods: ``clip``, ``reduceRegion``, the focal operations,
``directionalDistanceTransform``, ``projection`` and ``reproject``; a mixin of
:class:`~compositing.facade._image.Image`.

The work is done in :mod:`~compositing.facade._geometry`, :mod:`~compositing.facade._regions`,
:mod:`~compositing.facade._neighbourhood` and :mod:`~compositing.facade._projection`; here each
method checks its arguments and keeps what ``reproject`` needs to run an operation again on a
new grid (``_replay``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Self

import xarray as xr

from ._geometry import Geometry, as_geometry, covered_pixels
from ._neighbourhood import directional_distance, focal, kernel, pixel_size
from ._number import Number, plain_number
from ._projection import Projection, on_grid, projection_of
from ._reducer import Reducer
from ._regions import reduce_region

__all__ = ["SpatialMethods"]


class SpatialMethods:
    """Spatial methods of an image. The class using it provides ``_array``, ``_unary``,
    ``_from_array`` and ``band_names``, and sets ``_replay`` (None by default)."""

    _array: xr.DataArray
    _replay: tuple[SpatialMethods, Callable[[SpatialMethods], SpatialMethods]] | None
    _unary: Callable
    _from_array: Callable

    def clip(self, geometry: Geometry | Sequence[float]) -> Self:
        """Masked outside ``geometry``, as ``clip``: a pixel stays when its centre lies in it
        (or on its edge). The grid stays as it is (Earth Engine also drops the pixels outside
        from the footprint; here they are masked, as every image of a collection shares one
        grid).

        Parameters
        ----------
        geometry
            ``Geometry.Rectangle``, ``Geometry.Polygon`` (a point's ``buffer`` too), or a
            ``(west, south, east, north)`` box in degrees.
        """
        covered = covered_pixels(self._array, as_geometry(geometry))
        out = self._array.where(covered)
        out.attrs = dict(self._array.attrs)
        return self._from_array(out)

    def reduce_region(
        self,
        reducer: Reducer,
        geometry: Geometry | Sequence[float] | None = None,
        scale: float | None = None,
        maxPixels: float = 1e7,  # noqa: N803 (Earth Engine's name)
    ) -> dict[str, float | None]:
        """The reducer's outputs over the pixels whose centre lies in ``geometry``, band by band,
        as ``reduceRegion``: keys are band names (``'B4'``) for a one-output reducer, else
        ``'B4_p25'``... Masked pixels are left out; a band with none valid gives None.

        Computes (the region's pixels only, not the whole image).

        Parameters
        ----------
        reducer
            A :class:`Reducer` (``Reducer.mean()``, ``Reducer.percentile([25, 75])``...).
        geometry
            The region (default: the whole image).
        scale
            The pixel size in metres to reduce at: the image's own (default), or a whole
            multiple of it, the image then averaged to that size first (Earth Engine's mean
            pyramid).
        maxPixels
            The most pixels the region may hold, as in Earth Engine (an error says so).
        """
        return reduce_region(self._array, reducer, geometry, scale, maxPixels)

    # --- neighbourhoods and grids (_neighbourhood, _projection) -----------------------------

    def focal_min(
        self,
        radius: float = 1.5,
        kernelType: str = "circle",  # noqa: N803
        units: str = "pixels",
        iterations: int = 1,
    ) -> Self:
        """The minimum over a kernel around each pixel, as ``focalMin`` (an erosion of a 0/1
        mask). Masked neighbours are left out; masked pixels stay masked.

        Parameters
        ----------
        radius
            The kernel's radius, in ``units``.
        kernelType
            ``'circle'``, ``'square'`` or ``'diamond'``.
        units
            ``'pixels'`` (of this image's grid, or of the grid of a later ``reproject``) or
            ``'meters'``.
        iterations
            How many times the kernel is applied.
        """
        return self._focal("min", radius, kernelType, units, iterations)

    def focal_max(
        self,
        radius: float = 1.5,
        kernelType: str = "circle",  # noqa: N803
        units: str = "pixels",
        iterations: int = 1,
    ) -> Self:
        """The maximum over a kernel around each pixel, as ``focalMax`` (a dilation of a 0/1
        mask); parameters as :meth:`focal_min`."""
        return self._focal("max", radius, kernelType, units, iterations)

    def focal_mean(
        self,
        radius: float = 1.5,
        kernelType: str = "circle",  # noqa: N803
        units: str = "pixels",
        iterations: int = 1,
    ) -> Self:
        """The mean over a kernel around each pixel (valid neighbours only), as
        ``focalMean``; parameters as :meth:`focal_min`."""
        return self._focal("mean", radius, kernelType, units, iterations)

    def directional_distance_transform(
        self,
        angle: float | xr.DataArray | Number,
        maxDistance: int,  # noqa: N803 (Earth Engine's name)
        labelBand: str | None = None,  # noqa: N803 (Earth Engine's name)
    ) -> Self:
        """For each zero pixel, the distance in pixels to the nearest non-zero pixel in
        direction ``angle``, as ``directionalDistanceTransform``: band ``distance``, 0 on
        non-zero pixels, masked where none lies within ``maxDistance``.

        Parameters
        ----------
        angle
            Degrees counter-clockwise from east; inside :meth:`ImageCollection.map` it may be
            a property along time (``90 - img.get('MEAN_SOLAR_AZIMUTH_ANGLE')``).
        maxDistance
            The longest search, in pixels of this grid (or of a later ``reproject``'s).
        labelBand
            Not available here (a ValueError says so).
        """
        if labelBand is not None:
            raise ValueError(
                "directional_distance_transform: labelBand is not available here; select the "
                "band to search first (`.select(name)`)."
            )
        if self._array.sizes["band"] != 1:
            raise ValueError(
                f"directional_distance_transform takes a one-band image, not "
                f"{self.band_names()}; select one band first (`.select(name)`)."
            )
        array = self._array
        angle = plain_number(angle)
        if isinstance(angle, xr.DataArray) and angle.ndim:
            if "time" not in array.dims or angle.dims != ("time",):
                raise ValueError(
                    "directional_distance_transform: an angle per image needs a "
                    "stack of images (inside map) and an angle along time."
                )
            parts = [
                directional_distance(array.isel(time=[i]), float(a), maxDistance)
                for i, a in enumerate(angle.values)
            ]
            out = xr.concat(parts, dim="time", combine_attrs="override")
        else:
            out = directional_distance(array, float(angle), maxDistance)
        result = self._from_array(out.assign_coords(band=["distance"]))
        result._replay = (
            self,
            lambda image: image.directional_distance_transform(angle, maxDistance),
        )
        return result

    def projection(self) -> Projection:
        """The image's CRS and pixel size, as ``projection()`` (for ``reproject``)."""
        return projection_of(self._array)

    def reproject(self, crs: Projection | str, scale: float | None = None) -> Self:
        """This image on the grid of ``scale`` metres, as ``reproject(crs, scale)``: sampled
        by nearest neighbour (Earth Engine's default), the grid aligned on the CRS's origin.

        Right after ``focal_*`` or ``directional_distance_transform`` (also chained, as the
        s2cloudless tutorial writes ``focalMin(2).focalMax(5).reproject(...)``), the operation
        is run again on the new grid, its pixels counted there, as Earth Engine computes it in
        the projection asked for. Combined with an image on the collection's grid, the coarser
        of the two is sampled on the finer.

        Parameters
        ----------
        crs
            ``image.projection()`` or a CRS as text; the image's own CRS (another one is a
            ValueError: load the collection in that CRS).
        scale
            The pixel size in metres (default: the projection's).
        """
        if self._replay is not None:
            source, operation = self._replay
            return operation(source.reproject(crs, scale))
        out = on_grid(self._array, crs, scale)
        out.attrs = dict(self._array.attrs)
        return self._from_array(out)

    def mask(self) -> Self:
        """1 where a pixel is valid, 0 where masked, band by band, as ``mask()``."""
        return self._unary(lambda a: a.notnull().astype(a.dtype))

    def _focal(
        self, reducer: str, radius: float, kernel_type: str, units: str, iterations: int
    ) -> Self:
        footprint = kernel(radius, kernel_type, units, pixel=pixel_size(self._array))
        out = self._unary(lambda a: focal(a, reducer, footprint, iterations))
        out._replay = (
            self,
            lambda image: image._focal(reducer, radius, kernel_type, units, iterations),
        )
        return out

    reduceRegion = reduce_region  # noqa: N815 (Earth Engine's name)
    focalMin = focal_min  # noqa: N815 (Earth Engine's name)
    focalMax = focal_max  # noqa: N815 (Earth Engine's name)
    focalMean = focal_mean  # noqa: N815 (Earth Engine's name)
    directionalDistanceTransform = directional_distance_transform  # noqa: N815
