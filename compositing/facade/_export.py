"""``Export.image``: an image to a Cloud-Optimized GeoTIFF, as Earth Engine's ``Export.image``
writes one to Drive or Cloud Storage (here: a local path), computed tile by tile."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from ..export import ProgressReport, write_cog
from ._geometry import Geometry, as_geometry, region_window
from ._image import Image
from ._projection import Projection

__all__ = ["Export"]


class _ImageExport:
    """``Export.image(...)``: callable, as ``ee.batch.Export.image`` (no ``toDrive`` here)."""

    def __call__(
        self,
        image: Image,
        path: str | os.PathLike,
        scale: float | None = None,
        region: Geometry | Sequence[float] | None = None,
        crs: Projection | str | None = None,
        maxPixels: float = 1e8,  # noqa: N803 (Earth Engine's name)
        progress: bool | ProgressReport = True,
    ) -> Path:
        """Write ``image`` to ``path`` as a float32 COG: band names as band descriptions,
        nodata NaN (masked pixels), average overviews; the same bytes for any chunking and any
        dask scheduler (a ``dask.distributed`` client in use computes the tiles).

        Parameters
        ----------
        image
            The image to write (a composite, ``collection.first()``...).
        path
            The ``.tif`` to write (overwritten).
        scale
            The pixel size in metres (default the image's); a different one goes through
            :meth:`Image.reproject` (nearest neighbour, as Earth Engine's default).
        region
            The area to write: the pixels whose centre lies in it, the file cropped to them
            (default: the whole image).
        crs
            The image's own CRS (another one is refused: load the collection in it).
        maxPixels
            The most pixels the file may hold, as in Earth Engine (an error says so).
        progress
            A text progress bar on stderr (default), False, or a function of (done, total).
        """
        if not isinstance(image, Image):
            raise TypeError(f"Export.image takes an Image, not {type(image).__name__}.")
        if "time" in image.data.dims:
            raise ValueError(
                "Export.image: this is a stack of images; reduce it first (e.g. .median())."
            )
        if scale is not None or crs is not None:
            image = image.reproject(crs if crs is not None else image.projection(), scale)
        array = image.data
        if region is not None:
            window, inside = region_window(array, as_geometry(region), "Export.image")
            array = array.isel(window)
            if not inside.all():
                array = array.where(inside)
        n_pixels = array.sizes["y"] * array.sizes["x"]
        if n_pixels > maxPixels:
            raise ValueError(
                f"Export.image: {n_pixels} pixels, more than maxPixels={maxPixels:g}; pass a "
                "larger maxPixels, a coarser scale or a smaller region."
            )
        tags = {k: str(v) for k, v in image.data.attrs.items() if isinstance(v, str | int | float)}
        return write_cog(array, path, band_names=image.band_names(), tags=tags, progress=progress)


class Export:
    """Exports, as Earth Engine's ``Export``: ``Export.image(image, path, scale, region, crs)``
    writes a Cloud-Optimized GeoTIFF."""

    image = _ImageExport()
