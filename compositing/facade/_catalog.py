"""Earth Engine's collection ids, as ``ee.ImageCollection('COPERNICUS/S2_SR')`` names them.

Earth Engine's collections are global; here a collection is loaded for an area and dates
(:func:`compositing.sources.load`), so ``ImageCollection(id)`` waits for ``filterBounds`` and
``filterDate`` and loads on the first other call. A :class:`CatalogRequest` holds what is
known so far.

* ``COPERNICUS/S2_SR`` and ``COPERNICUS/S2_SR_HARMONIZED``: L2A (reflectance x 10000, SCL...).
* ``COPERNICUS/S2`` and ``COPERNICUS/S2_HARMONIZED``: L1C.
* ``COPERNICUS/S2_CLOUD_PROBABILITY``: band ``probability``, s2cloudless run on the L1C
  (:func:`compositing.clouds.cloud_probability`), with the L1C images' properties
  (``system:index`` included, as Earth Engine's, for the tutorial's join).

The values are the source's: the demo and the catalogs deliver harmonized reflectance (the
processing-baseline offset removed), so ``S2_SR`` and ``S2_SR_HARMONIZED`` load the same data.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import xarray as xr

from .. import clouds
from ..sources import load
from ._geometry import Geometry, as_geometry

__all__ = ["CATALOG_IDS", "CatalogRequest"]

#: Earth Engine's id -> the product loaded (``probability``: s2cloudless on the L1C).
CATALOG_IDS = {
    "COPERNICUS/S2_SR": "L2A",
    "COPERNICUS/S2_SR_HARMONIZED": "L2A",
    "COPERNICUS/S2": "L1C",
    "COPERNICUS/S2_HARMONIZED": "L1C",
    "COPERNICUS/S2_CLOUD_PROBABILITY": "probability",
}
#: The side of the square loaded around a ``Geometry.Point`` (load's default), metres.
POINT_AREA_M = 10_000.0


@dataclass(frozen=True)
class CatalogRequest:
    """An Earth Engine collection id with the area and dates given so far.

    Parameters
    ----------
    collection_id
        One of :data:`CATALOG_IDS`.
    source
        Where to load from: ``"demo"`` (default), ``"earth-search"``, ``"planetary-computer"``.
    resolution
        The pixel size in metres.
    geometry, dates
        Set by ``filterBounds`` and ``filterDate``.
    """

    collection_id: str
    source: str = "demo"
    resolution: float = 10.0
    geometry: Geometry | None = None
    dates: tuple[str, str] | None = None

    def __post_init__(self) -> None:
        if self.collection_id not in CATALOG_IDS:
            raise ValueError(
                f"ImageCollection({self.collection_id!r}): not a collection id known here; "
                f"use one of {sorted(CATALOG_IDS)}, or wrap a loaded collection: "
                "ImageCollection(compositing.load(...))."
            )

    def with_bounds(self, geometry: Geometry | object) -> CatalogRequest:
        return replace(self, geometry=as_geometry(geometry))

    def with_dates(self, start: str, end: str) -> CatalogRequest:
        return replace(self, dates=(str(start), str(end)))

    def load(self) -> xr.DataArray:
        """The collection over the request's area and dates (lazy)."""
        if self.geometry is None or self.dates is None:
            raise ValueError(
                f"ImageCollection({self.collection_id!r}) is loaded for an area and dates: call "
                "filterBounds(geometry) and filterDate(start, end) first."
            )
        west, south, east, north = self.geometry.bounds
        area = (
            {"point": (west, south), "size_m": POINT_AREA_M}
            if self.geometry.is_point
            else {"bbox": (west, south, east, north)}
        )
        product = CATALOG_IDS[self.collection_id]
        common = {"dates": self.dates, "resolution": self.resolution, **area}
        if product != "probability":
            return load(self.source, product=product, **common)
        l1c = load(self.source, product="L1C", bands=clouds.S2CLOUDLESS_BANDS, **common)
        probability = clouds.cloud_probability(l1c)
        return probability.expand_dims(band=["probability"]).transpose("time", "band", "y", "x")
