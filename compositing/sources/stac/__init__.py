"""Real STAC catalogs: Earth Search (Element 84) and Microsoft Planetary Computer.

Searched with pystac-client, loaded lazily with stackstac onto exactly the requested
:class:`~compositing.geo.Grid` (or, for a whole tile or items given by id, onto the tile's own
grid), and converted to the collection contract of :mod:`compositing.contract`:

* dims ``(time, band, y, x)``, float32, NaN = masked (DN 0 is no data);
* band IDs ``B01`` ... ``B12``, ``B8A`` (``B10`` for L1C) and ``SCL`` (L2A scene classes, kept as
  class numbers), whatever the catalog calls its assets;
* reflectance x 10000, *harmonized* as Earth Engine's ``*_HARMONIZED`` collections: the +1000 DN
  offset of processing baseline 04.00 and later is removed (see :func:`harmonization`);
* per-image coordinates ``solar_azimuth``, ``solar_zenith`` (degrees), ``platform``,
  ``cloud_cover`` and ``id`` along ``time``; the CRS is written with rioxarray.

**One image per STAC item**, as in Earth Engine (one image per granule): scenes of adjacent tiles
on the same day stay separate images, sorted by time (then by item id), each NaN outside its
footprint. Reduce them with :func:`compositing.composite` (e.g. ``"mosaic"``) if one image per day
is wanted; ``stackstac.mosaic`` is not used because its result can depend on chunking.

Nothing is read at load time other than the STAC search: pixels are read when computed. A file
that fails then (HTTP 404, a dropped connection) raises :class:`CatalogResponseError` or
:class:`CatalogUnreachableError` naming the item, asset and URL, not a raw GDAL error.

**Endpoints.** Each catalog's API root is read at call time from an environment variable, so a
served dashboard can be pointed at a mirror (or a local replay) without code changes:

* ``COMPOSITE_EXPLORER_EARTH_SEARCH_URL`` (default ``https://earth-search.aws.element84.com/v1``);
* ``COMPOSITE_EXPLORER_PLANETARY_COMPUTER_URL`` (default
  ``https://planetarycomputer.microsoft.com/api/stac/v1``).

An explicit ``url=`` argument wins over both (:func:`catalog_url`).

**Asset names.** Bands are found by the source's naming (Earth Search common names ``red``,
Planetary Computer band IDs ``B04``) and, failing that, by the other conventions catalogs use:
the band ID, or the band ID with a resolution suffix as the Copernicus Data Space (CDSE) writes
(``B04_10m``, ``B05_20m``, ``SCL_20m``; the one nearest the requested resolution is read). Items
from CDSE load through ``items=`` (STAC 1.1: ``proj:code``, ``bands``, ``raster:scale`` /
``raster:offset``, the baseline in ``processing:version``).

Known catalog quirks (documented by the catalogs' users and maintainers, not testable offline):

* Earth Search ``sentinel-2-l2a`` rewrote many baseline >= 04.00 COGs with the offset already
  removed and says so with the item property ``earthsearch:boa_offset_applied``; its
  ``raster:bands`` offset can still read -0.1 on those. The flag is taken as the truth (as its
  maintainers advise, Element84/earth-search#9); a few items are known to be mis-flagged.
* Earth Search ``sentinel-2-l1c`` and ``landsat-c2-l2`` assets live in requester-pays S3 buckets:
  reading them needs AWS credentials (``AWS_REQUEST_PAYER=requester`` is set for ``s3://``
  hrefs). Planetary Computer's Landsat needs no credentials.

**Layout** (one job per module; the names below are re-exported here):

* ``_catalog``: API roots and their environment variables, collections, the search and its
  errors, ``items=`` (local static catalogs), the items of a tile or of ids, item times and
  metadata;
* ``_tiles``: the grid of a ``tile=`` or ``ids=`` load, the items' own (their tile's UTM square);
* ``_stack``: items onto the exact grid with stackstac (raw DN);
* ``_asset_reader``: stackstac's reader, its read failures turned into the catalog errors;
* ``_sentinel2``: asset naming per catalog, harmonization, and :func:`load`;
* ``_thermal``: Landsat and Sentinel-3 SLSTR land surface temperature, and :func:`load_lst`.
"""

from ...bands import PRODUCT_BANDS
from ...errors import CatalogResponseError, CatalogUnreachableError, NoScenesError
from ._catalog import (
    CATALOG_URL_VARIABLES,
    CATALOG_URLS,
    DEFAULT_MAX_CLOUD_COVER,
    DEFAULT_TIMEOUT,
    LANDSAT_COLLECTION,
    S2_COLLECTIONS,
    SLSTR_LST_COLLECTION,
    catalog_url,
    search,
)
from ._sentinel2 import (
    BASELINE_04_OFFSET,
    EARTH_SEARCH_ASSETS,
    asset_key,
    asset_scale_offset,
    available_bands,
    harmonization,
    item_asset_key,
    load,
)
from ._thermal import (
    LANDSAT_ST_ASSETS,
    LANDSAT_ST_OFFSET,
    LANDSAT_ST_SCALE,
    LST_PRODUCTS,
    SLSTR_GEODETIC_ASSET,
    SLSTR_LST_ASSET,
    grid_slstr_lst,
    load_lst,
    lonlat_grid,
)

__all__ = [
    # Catalogs and collections
    "CATALOG_URLS",
    "CATALOG_URL_VARIABLES",
    "DEFAULT_MAX_CLOUD_COVER",
    "DEFAULT_TIMEOUT",
    "LANDSAT_COLLECTION",
    "S2_COLLECTIONS",
    "SLSTR_LST_COLLECTION",
    "catalog_url",
    "search",
    # Errors (from compositing.errors)
    "CatalogResponseError",
    "CatalogUnreachableError",
    "NoScenesError",
    # Sentinel-2
    "BASELINE_04_OFFSET",
    "EARTH_SEARCH_ASSETS",
    "PRODUCT_BANDS",
    "asset_key",
    "asset_scale_offset",
    "available_bands",
    "harmonization",
    "item_asset_key",
    "load",
    # Land surface temperature
    "LANDSAT_ST_ASSETS",
    "LANDSAT_ST_OFFSET",
    "LANDSAT_ST_SCALE",
    "LST_PRODUCTS",
    "SLSTR_GEODETIC_ASSET",
    "SLSTR_LST_ASSET",
    "grid_slstr_lst",
    "load_lst",
    "lonlat_grid",
]
