"""Composite Explorer's engine: Earth Engine-style image-collection composites on xarray/dask.

The public API:

* :func:`load` and :func:`load_lst`: collections from the offline demo scene, real STAC catalogs
  or local files, all in one contract (:mod:`compositing.contract`).
* :func:`composite`, :data:`METHODS` and :data:`STATISTICS`: the ten ImageCollection reducers
  on a collection, and std, variance and percentile.
* :func:`pixel_series`: one pixel explained, each image's value, mask and what the composites
  took there (the dashboard's pixel inspector; :mod:`compositing.series_chart` draws it).
* :mod:`compositing.clouds`: s2cloudless probabilities, cloud and shadow masks.
* :func:`sharpen` and :func:`sharpen_files`: land surface temperature from 1 km to 10 m (TsHARP).
* :class:`ImageCollection`, :class:`Image`, :class:`Filter`, :class:`Geometry`,
  :class:`Reducer`, :class:`Map` and :class:`Export`: an Earth Engine-style facade.
* :func:`check_collection`: the collection contract, checked with errors that say what to fix.
* :class:`NoScenesError`, :class:`CatalogUnreachableError`, :class:`CatalogResponseError`: what a
  real catalog search can raise (no matching scene, no network, an error answer).
"""

import rioxarray  # noqa: F401  (registers .rio: every collection's CRS is readable as .rio.crs)

from .contract import check_collection, check_image
from .errors import CatalogResponseError, CatalogUnreachableError, NoScenesError
from .facade import Export, Filter, Geometry, Image, ImageCollection, Map, Reducer
from .inspection import pixel_series
from .reducers import METHODS, STATISTICS, composite
from .sources import load, load_lst
from .thermal import SharpenResult, sharpen, sharpen_files

__all__ = [
    "METHODS",
    "STATISTICS",
    "CatalogResponseError",
    "CatalogUnreachableError",
    "Export",
    "Filter",
    "Geometry",
    "SharpenResult",
    "Image",
    "ImageCollection",
    "Map",
    "NoScenesError",
    "Reducer",
    "check_collection",
    "check_image",
    "composite",
    "load",
    "load_lst",
    "pixel_series",
    "sharpen",
    "sharpen_files",
]
__version__ = "0.1.0"
