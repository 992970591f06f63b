"""Real STAC catalogs: Earth Search (Element 84) and Microsoft Planetary Computer.

Searched with pystac-client, loaded lazily with stackstac onto exactly the requested
:class:`~compositing.geo.Grid`, and converted to the collection contract of
:mod:`compositing.contract`:

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
"""

from __future__ import annotations

import copy
import json
import math
import os
import tempfile
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyproj
import xarray as xr

from ..errors import CatalogResponseError, CatalogUnreachableError, NoScenesError
from ..geo import Grid
from ..solar import solar_angles

if TYPE_CHECKING:
    import pystac

#: Public API root of each catalog source (the default of :func:`catalog_url`).
CATALOG_URLS: dict[str, str] = {
    "earth-search": "https://earth-search.aws.element84.com/v1",
    "planetary-computer": "https://planetarycomputer.microsoft.com/api/stac/v1",
}
#: Environment variable that overrides each source's API root (read at call time).
CATALOG_URL_VARIABLES: dict[str, str] = {
    "earth-search": "COMPOSITE_EXPLORER_EARTH_SEARCH_URL",
    "planetary-computer": "COMPOSITE_EXPLORER_PLANETARY_COMPUTER_URL",
}

#: Sentinel-2 collection of each (source, product).
S2_COLLECTIONS: dict[tuple[str, str], str] = {
    ("earth-search", "L2A"): "sentinel-2-l2a",
    ("earth-search", "L1C"): "sentinel-2-l1c",
    ("planetary-computer", "L2A"): "sentinel-2-l2a",
}
LANDSAT_COLLECTION = "landsat-c2-l2"
SLSTR_LST_COLLECTION = "sentinel-3-slstr-lst-l2-netcdf"
LST_PRODUCTS = ("sentinel-3", "landsat")

L2A_REFLECTANCE = (
    "B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B11", "B12",
)  # fmt: skip
L1C_REFLECTANCE = (
    "B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B10", "B11", "B12",
)  # fmt: skip
#: Band IDs of each product (also the default selection, in this order).
PRODUCT_BANDS: dict[str, tuple[str, ...]] = {
    "L2A": (*L2A_REFLECTANCE, "SCL"),
    "L1C": L1C_REFLECTANCE,
}
#: Bands that are not reflectance: no offset, no scaling.
CLASS_BANDS = frozenset({"SCL"})

#: Earth Search v1 asset keys (common names) of each band ID.
EARTH_SEARCH_ASSETS: dict[str, str] = {
    "B01": "coastal",
    "B02": "blue",
    "B03": "green",
    "B04": "red",
    "B05": "rededge1",
    "B06": "rededge2",
    "B07": "rededge3",
    "B08": "nir",
    "B8A": "nir08",
    "B09": "nir09",
    "B10": "cirrus",
    "B11": "swir16",
    "B12": "swir22",
    "SCL": "scl",
}

#: Harmonized reflectance x 10000 = DN + this, for processing baseline >= 04.00 when the item
#: gives no offset of its own (ESA's BOA_ADD_OFFSET / RADIO_ADD_OFFSET, -1000 for every band).
BASELINE_04_OFFSET = -1000.0

#: Landsat Collection 2 Level-2 surface temperature: kelvin = DN * scale + offset; DN 0 = no data.
LANDSAT_ST_SCALE = 0.00341802
LANDSAT_ST_OFFSET = 149.0
LANDSAT_ST_ASSETS = ("lwir11", "lwir")  # Landsat 8/9, then Landsat 4-7

SLSTR_LST_ASSET = "lst-in"
SLSTR_GEODETIC_ASSET = "slstr-geodetic-in"

DEFAULT_MAX_CLOUD_COVER = 80.0
DEFAULT_TIMEOUT = 60.0

__all__ = [
    "CATALOG_URLS",
    "CATALOG_URL_VARIABLES",
    "CatalogResponseError",
    "CatalogUnreachableError",
    "NoScenesError",
    "PRODUCT_BANDS",
    "asset_key",
    "asset_scale_offset",
    "catalog_url",
    "available_bands",
    "grid_slstr_lst",
    "harmonization",
    "load",
    "load_lst",
    "lonlat_grid",
    "search",
]


def catalog_url(source: str, url: str | None = None) -> str:
    """The STAC API root to use for ``source``: ``url`` if given, else the environment variable
    of :data:`CATALOG_URL_VARIABLES` if set, else the public root of :data:`CATALOG_URLS`.

    Parameters
    ----------
    source
        ``"earth-search"`` or ``"planetary-computer"``.
    url
        An explicit API root (wins over the environment).
    """
    if source not in CATALOG_URLS:
        raise ValueError(f"unknown catalog source {source!r}; catalogs: {', '.join(CATALOG_URLS)}")
    if url:
        return url
    configured = os.environ.get(CATALOG_URL_VARIABLES[source], "").strip()
    if configured:
        if not configured.startswith(("http://", "https://")):
            raise ValueError(
                f"{CATALOG_URL_VARIABLES[source]}={configured!r} is not an http(s) URL: set it to "
                f"a STAC API root such as {CATALOG_URLS[source]}, or unset it"
            )
        return configured.rstrip("/")
    return CATALOG_URLS[source]


# --------------------------------------------------------------------------------------------
# Bands
# --------------------------------------------------------------------------------------------


def available_bands(source: str, product: str = "L2A") -> tuple[str, ...]:
    """Band IDs that ``source`` offers for ``product``.

    Parameters
    ----------
    source
        ``"earth-search"`` or ``"planetary-computer"``.
    product
        ``"L2A"`` or ``"L1C"``.
    """
    _collection_for(source, product)
    return PRODUCT_BANDS[product]


def asset_key(source: str, band: str) -> str:
    """The STAC asset key of band ID ``band`` in ``source``'s Sentinel-2 items.

    Parameters
    ----------
    source
        ``"earth-search"`` (common names: ``red``, ``nir08``, ``scl``...) or
        ``"planetary-computer"`` (band IDs: ``B04``, ``B8A``, ``SCL``...).
    band
        A band ID such as ``"B04"``.
    """
    if source == "earth-search":
        return EARTH_SEARCH_ASSETS[band]
    return band


def item_asset_key(item: pystac.Item, source: str, band: str, resolution: float) -> str:
    """The asset of ``item`` that holds band ID ``band``, whatever the catalog's naming.

    The source's own key (:func:`asset_key`) if the item has it, else the band ID itself, else
    the band ID with a resolution suffix (CDSE: ``B04_10m``, ``B05_20m``, ``SCL_60m``), the one
    nearest ``resolution`` (the finer on a tie). With none of these the source's key is returned
    (and loading names the missing asset).

    Parameters
    ----------
    item
        The STAC item.
    source
        ``"earth-search"`` or ``"planetary-computer"``.
    band
        A band ID such as ``"B04"``.
    resolution
        The requested pixel size in metres.
    """
    preferred = asset_key(source, band)
    if preferred in item.assets:
        return preferred
    if band in item.assets:
        return band
    suffixed = []
    for key in item.assets:
        head, _, tail = key.partition("_")
        if head == band and tail.endswith("m") and tail[:-1].isdigit():
            size = float(tail[:-1])
            suffixed.append((abs(size - resolution), size, key))
    return min(suffixed)[2] if suffixed else preferred


def _select_bands(source: str, product: str, bands: Sequence[str] | None) -> list[str]:
    available = available_bands(source, product)
    if bands is None:
        return list(available)
    if isinstance(bands, str):
        bands = [bands]
    selected = [str(b) for b in bands]
    unknown = [b for b in selected if b not in available]
    if unknown:
        raise ValueError(
            f"band(s) {unknown} are not available from {source} {product}; bands available: "
            f"{', '.join(available)}"
        )
    if not selected:
        raise ValueError(f"bands is empty: choose among {', '.join(available)}")
    duplicates = sorted({b for b in selected if selected.count(b) > 1})
    if duplicates:
        raise ValueError(f"bands {duplicates} are requested more than once")
    return selected


def _collection_for(source: str, product: str) -> str:
    if source not in CATALOG_URLS:
        raise ValueError(f"unknown catalog source {source!r}; catalogs: {', '.join(CATALOG_URLS)}")
    if product not in PRODUCT_BANDS:
        raise ValueError(f"product must be one of {tuple(PRODUCT_BANDS)}, not {product!r}")
    if (source, product) not in S2_COLLECTIONS:
        raise ValueError(
            f"{source} has no Sentinel-2 {product} collection: use source='earth-search' for "
            f"{product} (or product='L2A' on {source})"
        )
    return S2_COLLECTIONS[(source, product)]


# --------------------------------------------------------------------------------------------
# Units
# --------------------------------------------------------------------------------------------


def harmonization(
    properties: Mapping[str, Any], band: str, raster_band: Mapping[str, Any] | None = None
) -> tuple[float, float]:
    """``(gain, offset)`` that turn one item's DN into harmonized reflectance x 10000.

    ``value = DN * gain + offset``, as Earth Engine's ``COPERNICUS/S2_SR_HARMONIZED`` (and
    ``S2_HARMONIZED``): scenes of processing baseline 04.00 or later lose their +1000 DN offset so
    that they line up with older scenes. DN 0 (no data) is masked separately.

    Rules, in order:

    1. ``SCL`` (class numbers): ``(1, 0)``.
    2. ``gain`` is ``raster:bands`` ``scale`` x 10000 when the asset gives a scale, else 1.
    3. ``earthsearch:boa_offset_applied`` true: Earth Search already removed the offset from the
       COG (its ``raster:bands`` offset may still say -0.1): offset 0.
    4. ``s2:processing_baseline`` (or ``sentinel:processing_baseline``, or CDSE's
       ``processing:version``) known: >= 04.00 gives
       the ``raster:bands`` offset x 10000 when the asset has a non-zero one, else -1000;
       older baselines give 0.
    5. Otherwise the ``raster:bands`` offset x 10000 (0 when absent).

    Parameters
    ----------
    properties
        The STAC item's properties.
    band
        The band ID (``"B04"``, ``"SCL"``...).
    raster_band
        The asset's first ``raster:bands`` object (``scale``, ``offset``), if any.
    """
    if band in CLASS_BANDS:
        return 1.0, 0.0
    raster_band = raster_band or {}
    scale = raster_band.get("scale")
    gain = round(float(scale) * 10000.0, 9) if scale not in (None, 0) else 1.0
    raster_offset = raster_band.get("offset")
    asset_offset = (
        round(float(raster_offset) * 10000.0, 6) if raster_offset not in (None, 0) else 0.0
    )
    if properties.get("earthsearch:boa_offset_applied") is True:
        return gain, 0.0
    baseline = _baseline(properties)
    if baseline is not None:
        if baseline >= 4.0:
            return gain, asset_offset if asset_offset else BASELINE_04_OFFSET
        return gain, 0.0
    return gain, asset_offset


def _baseline(properties: Mapping[str, Any]) -> float | None:
    # CDSE (STAC 1.1) writes the baseline as processing:version ("05.00").
    for key in ("s2:processing_baseline", "sentinel:processing_baseline", "processing:version"):
        value = properties.get(key)
        if value is None:
            continue
        try:
            return float(str(value))
        except ValueError:
            continue
    return None


def asset_scale_offset(asset: Mapping[str, Any]) -> dict[str, Any]:
    """``{"scale", "offset"}`` of an asset dict (None when not given): ``raster:bands[0]``,
    STAC 1.1 ``bands[0]`` or the asset's own ``raster:scale``/``raster:offset``, whichever
    gives them first.

    Parameters
    ----------
    asset
        The asset as a dict (``item.to_dict()["assets"][key]``).
    """
    found: dict[str, Any] = {"scale": None, "offset": None}
    for key in ("raster:bands", "bands"):
        entries = asset.get(key)
        if isinstance(entries, list) and entries and isinstance(entries[0], Mapping):
            first = entries[0]
            for name in found:
                if found[name] is None:
                    found[name] = first.get(name, first.get(f"raster:{name}"))
    # STAC 1.1 (CDSE) puts them on the asset, next to a ``bands`` list without them.
    for name in found:
        if found[name] is None:
            found[name] = asset.get(f"raster:{name}")
    return found


# --------------------------------------------------------------------------------------------
# Search
# --------------------------------------------------------------------------------------------


def search(
    source: str,
    grid: Grid,
    start: pd.Timestamp,
    end: pd.Timestamp,
    product: str = "L2A",
    max_cloud_cover: float | None = DEFAULT_MAX_CLOUD_COVER,
    url: str | None = None,
    *,
    collection: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> list[pystac.Item]:
    """Search a STAC API for the items over ``grid`` between ``start`` and ``end``.

    Parameters
    ----------
    source
        ``"earth-search"`` or ``"planetary-computer"``.
    grid
        The area: its lon/lat bounds are the search box.
    start, end
        UTC timestamps; ``end`` is exclusive.
    product
        ``"L2A"`` or ``"L1C"``; picks the Sentinel-2 collection unless ``collection`` is given.
    max_cloud_cover
        Keep scenes with ``eo:cloud_cover`` <= this (percent); ``None`` for no limit.
    url
        The API root, instead of the source's public one (e.g. a local test server).
    collection
        Search this collection instead of the product's Sentinel-2 one.
    timeout
        Seconds to wait for each HTTP answer.

    Returns
    -------
    list of pystac.Item
        Sorted by time then id; for Planetary Computer, signed. Items exactly at ``end`` or
        above ``max_cloud_cover`` are dropped again locally.

    Raises
    ------
    NoScenesError
        Nothing found; the message names the catalog, collection, area, dates and cloud limit.
    CatalogUnreachableError
        The catalog could not be reached.
    CatalogResponseError
        The catalog answered with an error.
    """
    from pystac_client import Client
    from pystac_client.exceptions import APIError

    if collection is None:
        collection = _collection_for(source, product)
    url = catalog_url(source, url)  # also refuses an unknown source
    start, end = _utc_naive(start), _utc_naive(end)
    bbox = list(grid.bounds_lonlat())
    query = {"eo:cloud_cover": {"lte": max_cloud_cover}} if max_cloud_cover is not None else None
    datetime = f"{_iso(start)}/{_iso(end - pd.Timedelta(1, 'ms'))}"
    try:
        client = Client.open(url, timeout=timeout)
        found = client.search(
            collections=[collection], bbox=bbox, datetime=datetime, query=query, limit=100
        )
        items = list(found.items())
    except APIError as error:
        raise _catalog_error(error, url) from error
    except _stac_type_errors() as error:
        raise CatalogResponseError(
            f"{url} did not answer as a STAC API ({error}); check url= (the API root, e.g. "
            f"{CATALOG_URLS[source]})"
        ) from error
    # The server filtered by area; dates (end exclusive) and cloud cover are checked again.
    items = _filter_items(items, grid, start, end, max_cloud_cover, spatial=False)
    if not items:
        raise _no_scenes(source, url, collection, grid, start, end, max_cloud_cover)
    if source == "planetary-computer":
        items = _sign(items)
    return items


def _stac_type_errors() -> tuple[type[Exception], ...]:
    import pystac
    from pystac_client.errors import ClientTypeError

    return (pystac.STACTypeError, ClientTypeError, json.JSONDecodeError)


def _catalog_error(error: Exception, url: str) -> Exception:
    import requests

    status = getattr(error, "status_code", None)
    cause = error.__cause__ or error.__context__
    if status is None and isinstance(cause, requests.RequestException):
        return CatalogUnreachableError(
            f"cannot reach the STAC catalog at {url}: {cause.__class__.__name__}: {cause}. "
            "Check the network connection (and any proxy settings), or use source='demo', "
            "which works offline."
        )
    text = str(error).strip().replace("\n", " ")
    if status is not None and 400 <= status < 500:
        advice = "Check url= (the API root) and the query (collection, dates, area)."
    else:
        advice = "The catalog may be down or overloaded: try again later."
    return CatalogResponseError(
        f"the STAC catalog at {url} answered with an error"
        + (f" (HTTP {status})" if status else "")
        + f": {text[:300]}. {advice}"
    )


def _sign(items: list[pystac.Item]) -> list[pystac.Item]:
    import planetary_computer
    import requests

    try:
        return [planetary_computer.sign(item) for item in items]
    except requests.RequestException as error:
        raise CatalogUnreachableError(
            f"cannot get a Planetary Computer access token to sign the asset URLs: {error}. "
            "Check the network connection, or use source='demo', which works offline."
        ) from error


def _no_scenes(
    source: str,
    url: str,
    collection: str,
    grid: Grid,
    start: pd.Timestamp,
    end: pd.Timestamp,
    max_cloud_cover: float | None,
    where: str | None = None,
) -> NoScenesError:
    west, south, east, north = grid.bounds_lonlat()
    cloud = f"eo:cloud_cover <= {max_cloud_cover:g}" if max_cloud_cover is not None else "any cloud"
    higher = ", a higher max_cloud_cover" if max_cloud_cover is not None else ""
    return NoScenesError(
        f"no {collection} scenes in {where or f'{source} ({url})'} over the area "
        f"({west:.4f}, {south:.4f}, {east:.4f}, {north:.4f}) (west, south, east, north in "
        f"degrees) from {start:%Y-%m-%d} to {end:%Y-%m-%d} (end exclusive) with {cloud}. "
        f"Try wider dates{higher}, or another place (the collection may not cover this one)."
    )


def _iso(timestamp: pd.Timestamp) -> str:
    return timestamp.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _utc_naive(timestamp: Any) -> pd.Timestamp:
    timestamp = pd.Timestamp(timestamp)
    return timestamp.tz_convert(None) if timestamp.tzinfo else timestamp


def _item_time(item: pystac.Item) -> pd.Timestamp:
    value = item.datetime
    if value is None:
        value = item.properties.get("start_datetime")
    if value is None:
        raise ValueError(f"STAC item {item.id!r} has no datetime nor start_datetime")
    return _utc_naive(value)


def _filter_items(
    items: Iterable[pystac.Item],
    grid: Grid,
    start: pd.Timestamp,
    end: pd.Timestamp,
    max_cloud_cover: float | None,
    *,
    spatial: bool = True,
) -> list[pystac.Item]:
    """Items with start <= time < end, cloud cover <= the limit and (if ``spatial``) a bbox
    that meets the grid's, sorted by time then id."""
    west, south, east, north = grid.bounds_lonlat()
    kept = []
    for item in items:
        if spatial and item.bbox is not None:
            b = item.bbox
            b_west, b_south, b_east, b_north = (b[0], b[1], b[3], b[4]) if len(b) == 6 else b
            crosses_antimeridian = b_west > b_east  # kept: not worth a geometry test
            disjoint = b_west > east or b_east < west or b_south > north or b_north < south
            if disjoint and not crosses_antimeridian:
                continue
        time = _item_time(item)
        if not start <= time < end:
            continue
        cloud = item.properties.get("eo:cloud_cover")
        if max_cloud_cover is not None and cloud is not None and cloud > max_cloud_cover:
            continue
        kept.append(item)
    return sorted(kept, key=lambda item: (_item_time(item), item.id))


def _local_items(items: Any) -> list[pystac.Item]:
    """pystac Items from Items, dicts, an ItemCollection, or the path of a catalog, collection,
    item or FeatureCollection JSON."""
    import pystac

    if isinstance(items, str | os.PathLike):
        path = Path(items)
        if not path.exists():
            raise ValueError(f"items={str(items)!r}: no such STAC JSON file")
        document = json.loads(path.read_text())
        kind = document.get("type")
        if kind == "FeatureCollection":
            return list(pystac.ItemCollection.from_file(str(path)))
        if kind == "Feature":
            return [pystac.Item.from_file(str(path))]
        catalog = pystac.read_file(str(path))
        if not isinstance(catalog, pystac.Catalog):
            raise ValueError(f"items={str(items)!r} is not a STAC catalog, collection or item")
        return list(catalog.get_items(recursive=True))
    if isinstance(items, pystac.Item):
        return [items]
    result = []
    for item in items:
        if isinstance(item, pystac.Item):
            result.append(item)
        elif isinstance(item, Mapping):
            result.append(pystac.Item.from_dict(dict(item)))
        else:
            raise TypeError(
                f"items= takes pystac Items, item dicts or a STAC JSON path, not "
                f"{type(item).__name__}"
            )
    return result


def _find_items(
    source: str,
    grid: Grid,
    start: pd.Timestamp,
    end: pd.Timestamp,
    *,
    collection: str,
    max_cloud_cover: float | None,
    url: str | None,
    items: Any,
    timeout: float,
) -> tuple[list[pystac.Item], str]:
    """Items from a search or from ``items=``, filtered and sorted; and the catalog URL."""
    start, end = _utc_naive(start), _utc_naive(end)
    if items is None:
        found = search(
            source,
            grid,
            start,
            end,
            max_cloud_cover=max_cloud_cover,
            url=url,
            collection=collection,
            timeout=timeout,
        )
        return found, catalog_url(source, url)
    where = str(items) if isinstance(items, str | os.PathLike) else "the items given"
    found = _filter_items(_local_items(items), grid, start, end, max_cloud_cover)
    if not found:
        raise _no_scenes(source, "", collection, grid, start, end, max_cloud_cover, where=where)
    if source == "planetary-computer":
        found = _sign(found)
    return found, where


# --------------------------------------------------------------------------------------------
# Items as stackstac input
# --------------------------------------------------------------------------------------------


def _item_dict(
    item: pystac.Item, keys: Sequence[str], renames: Mapping[str, str] | None = None
) -> dict:
    """The item as a plain dict for stackstac: absolute hrefs, ``proj:epsg`` from ``proj:code``
    (stackstac 0.5 reads only ``proj:epsg``), renamed assets; a missing asset is an error."""
    renames = renames or {}
    present = sorted(item.assets)
    data = copy.deepcopy(item.to_dict(transform_hrefs=False))  # to_dict shares properties
    assets = {}
    for key in keys:
        origin = renames.get(key, key)
        if origin not in item.assets:
            raise ValueError(
                f"STAC item {item.id!r} has no asset {origin!r}; assets present: "
                f"{', '.join(present)}. Choose other bands, or drop the item."
            )
        asset = dict(data["assets"][origin])
        asset["href"] = item.assets[origin].get_absolute_href() or item.assets[origin].href
        _set_epsg(asset)
        assets[key] = asset
    data["assets"] = assets
    _set_epsg(data["properties"])
    return data


def _set_epsg(fields: dict) -> None:
    if fields.get("proj:epsg") is None:
        code = fields.get("proj:code")
        if isinstance(code, str) and code.upper().startswith("EPSG:"):
            fields["proj:epsg"] = int(code.split(":", 1)[1])


def _gdal_env(item_dicts: Sequence[dict]) -> Any:
    import stackstac

    hrefs = (a["href"] for d in item_dicts for a in d["assets"].values())
    if any(str(h).startswith("s3://") for h in hrefs):
        return stackstac.DEFAULT_GDAL_ENV.updated(always={"AWS_REQUEST_PAYER": "requester"})
    return None


def _stack(
    item_dicts: list[dict],
    keys: list[str],
    *,
    epsg: int,
    resolution: float,
    bounds: tuple[float, float, float, float],
    x: np.ndarray,
    y: np.ndarray,
    chunksize: int | tuple,
) -> xr.DataArray:
    """Raw DN (float32, NaN outside footprints) on exactly the pixel centres ``x``, ``y``."""
    import stackstac

    from .asset_reader import AssetReader

    stack = stackstac.stack(
        item_dicts,
        assets=keys,
        epsg=epsg,
        resolution=resolution,
        bounds=bounds,
        snap_bounds=False,
        xy_coords="center",
        dtype=np.dtype("float32"),
        fill_value=np.float32(np.nan),  # a python float "cannot cast" to float32
        rescale=False,
        sortby_date=False,
        properties=False,
        band_coords=False,
        chunksize=chunksize,
        gdal_env=_gdal_env(item_dicts),
        reader=AssetReader,
    )
    if stack.sizes["x"] != x.size or stack.sizes["y"] != y.size:
        raise RuntimeError(
            f"stackstac made a {stack.sizes['y']} x {stack.sizes['x']} grid where {y.size} x "
            f"{x.size} was asked: please report this"
        )
    tolerance = resolution * 1e-6
    if not (
        np.allclose(stack["x"].values, x, rtol=0, atol=tolerance)
        and np.allclose(stack["y"].values, y, rtol=0, atol=tolerance)
    ):
        raise RuntimeError("stackstac placed the pixels off the requested grid: please report this")
    if [str(b) for b in stack["band"].values] != list(keys):
        raise RuntimeError(f"stackstac returned bands {list(stack['band'].values)}, not {keys}")
    # Same grid within rounding: use the requested coordinates exactly.
    keep = [n for n in stack.coords if n not in ("time", "band", "x", "y")]
    return stack.drop_vars(keep).assign_coords(x=x, y=y)


# --------------------------------------------------------------------------------------------
# Sentinel-2
# --------------------------------------------------------------------------------------------


def load(
    source: str,
    grid: Grid,
    start: pd.Timestamp,
    end: pd.Timestamp,
    *,
    product: str = "L2A",
    bands: Sequence[str] | None = None,
    max_cloud_cover: float | None = DEFAULT_MAX_CLOUD_COVER,
    url: str | None = None,
    items: Any = None,
    chunksize: int | tuple = 1024,
    timeout: float = DEFAULT_TIMEOUT,
) -> xr.DataArray:
    """Sentinel-2 from a STAC catalog as a lazy collection ``(time, band, y, x)`` on ``grid``.

    Parameters
    ----------
    source
        ``"earth-search"`` or ``"planetary-computer"`` (no L1C there).
    grid
        The output grid (CRS with an EPSG code, resolution, bounds): the result's x/y are
        exactly ``grid.x``/``grid.y``.
    start, end
        UTC timestamps; ``end`` is exclusive.
    product
        ``"L2A"`` or ``"L1C"``.
    bands
        Band IDs to keep (default all of :func:`available_bands`), e.g. ``["B04", "B08", "SCL"]``.
    max_cloud_cover
        Keep scenes with ``eo:cloud_cover`` <= this percentage (``None``: no limit).
    url
        The STAC API root instead of the public one (e.g. a local server).
    items
        Already-found items instead of a search: pystac Items, item dicts, or the path of a
        static STAC catalog/collection (or item, or FeatureCollection) JSON. They are filtered
        locally by area (item bbox), dates and cloud cover.
    chunksize
        Spatial chunk size in pixels (one image and one band per chunk).
    timeout
        Seconds to wait for each HTTP answer of the catalog.

    Returns
    -------
    xarray.DataArray
        float32 harmonized reflectance x 10000 (``SCL`` as class numbers), NaN = no data,
        with coordinates ``solar_azimuth``, ``solar_zenith``, ``platform``, ``cloud_cover``,
        ``id`` along ``time``, the CRS written and attrs ``source``, ``product``,
        ``catalog_url``, ``collection``. Dask-backed: nothing is read yet.

    Raises
    ------
    ValueError
        Unknown source, product or band; L1C on Planetary Computer; a grid CRS without EPSG
        code; an item without a requested asset; :class:`NoScenesError` when nothing matches.
    CatalogUnreachableError, CatalogResponseError
        The catalog could not be reached, or answered with an error.
    """
    collection = _collection_for(source, product)
    selected = _select_bands(source, product, bands)
    epsg = _grid_epsg(grid)
    found, where = _find_items(
        source,
        grid,
        start,
        end,
        collection=collection,
        max_cloud_cover=max_cloud_cover,
        url=url,
        items=items,
        timeout=timeout,
    )
    keys = [asset_key(source, band) for band in selected]
    item_dicts = [
        _item_dict(
            item,
            keys,
            renames={
                key: item_asset_key(item, source, band, grid.resolution)
                for band, key in zip(selected, keys, strict=True)
            },
        )
        for item in found
    ]
    raw = _stack(
        item_dicts,
        keys,
        epsg=epsg,
        resolution=grid.resolution,
        bounds=grid.bounds,
        x=grid.x,
        y=grid.y,
        chunksize=chunksize,
    )

    coefficients = np.array(
        [
            [
                harmonization(d["properties"], band, asset_scale_offset(d["assets"][key]))
                for band, key in zip(selected, keys, strict=True)
            ]
            for d in item_dicts
        ],
        dtype="float64",
    ).reshape(len(item_dicts), len(selected), 2)
    gain = xr.DataArray(coefficients[..., 0].astype("float32"), dims=("time", "band"))
    offset = xr.DataArray(coefficients[..., 1].astype("float32"), dims=("time", "band"))
    values = raw if np.all(gain.values == 1) else raw * gain
    values = (values + offset).where(raw != 0)

    times = pd.DatetimeIndex([_item_time(item) for item in found])
    azimuth, zenith = _sun_angles(found, times, grid)
    collection_out = values.assign_coords(
        time=times.values.astype("datetime64[ns]"),
        band=selected,
        solar_azimuth=("time", azimuth),
        solar_zenith=("time", zenith),
        platform=("time", [str(item.properties.get("platform", "")) for item in found]),
        cloud_cover=("time", _cloud_covers(found)),
        id=("time", [item.id for item in found]),
    ).transpose("time", "band", "y", "x")
    collection_out = collection_out.astype("float32", copy=False)
    collection_out.name = "reflectance"
    collection_out.attrs = {
        "source": source,
        "product": product,
        "catalog_url": where,
        "collection": collection,
        "units": "reflectance x 10000 (harmonized: baseline >= 04.00 offset removed)",
    }
    return collection_out.rio.write_crs(grid.crs)


def _grid_epsg(grid: Grid) -> int:
    epsg = grid.epsg
    if epsg is None:
        raise ValueError(
            f"the grid's CRS ({grid.crs.to_string()}) has no EPSG code, which stackstac needs: "
            "use crs='EPSG:xxxx' (the default UTM zone, or EPSG:3857)"
        )
    return int(epsg)


def _cloud_covers(items: Sequence[pystac.Item]) -> np.ndarray:
    return np.array(
        [
            float(c) if (c := item.properties.get("eo:cloud_cover")) is not None else np.nan
            for item in items
        ],
        dtype="float64",
    )


def _sun_angles(
    items: Sequence[pystac.Item], times: pd.DatetimeIndex, grid: Grid
) -> tuple[np.ndarray, np.ndarray]:
    """Per-item solar azimuth and zenith (degrees) from the item metadata (Earth Search
    ``view:sun_*``, Planetary Computer ``s2:mean_solar_*``), else computed at the grid centre."""
    azimuth = np.full(len(items), np.nan)
    zenith = np.full(len(items), np.nan)
    for i, item in enumerate(items):
        p = item.properties
        az = p.get("s2:mean_solar_azimuth", p.get("view:sun_azimuth"))
        if p.get("s2:mean_solar_zenith") is not None:
            zen = p["s2:mean_solar_zenith"]
        elif p.get("view:sun_elevation") is not None:
            zen = 90.0 - float(p["view:sun_elevation"])
        else:
            zen = None
        if az is not None:
            azimuth[i] = float(az)
        if zen is not None:
            zenith[i] = float(zen)
    missing = np.isnan(azimuth) | np.isnan(zenith)
    if missing.any():
        west, south, east, north = grid.bounds_lonlat()
        az, zen = solar_angles(times[missing], (west + east) / 2, (south + north) / 2)
        azimuth[missing] = np.where(np.isnan(azimuth[missing]), az, azimuth[missing])
        zenith[missing] = np.where(np.isnan(zenith[missing]), zen, zenith[missing])
    return azimuth, zenith


# --------------------------------------------------------------------------------------------
# Land surface temperature
# --------------------------------------------------------------------------------------------


def load_lst(
    source: str,
    area: Grid,
    start: pd.Timestamp,
    end: pd.Timestamp,
    *,
    product: str = "sentinel-3",
    max_cloud_cover: float | None = DEFAULT_MAX_CLOUD_COVER,
    url: str | None = None,
    items: Any = None,
    chunksize: int | tuple = 1024,
    cell_deg: float = 0.01,
    max_distance_km: float = 1.5,
    timeout: float = DEFAULT_TIMEOUT,
) -> xr.DataArray:
    """Land surface temperature ``(time, y, x)`` in kelvin on the thermal product's own grid.

    Parameters
    ----------
    source
        ``"planetary-computer"`` (Sentinel-3 or Landsat) or ``"earth-search"`` (Landsat only).
    area
        Which part to return: every LST pixel that touches ``area``'s bounds. The LST keeps
        its own grid and CRS.
    start, end
        UTC timestamps; ``end`` is exclusive.
    product
        ``"sentinel-3"``: SLSTR Level-2 LST (collection ``sentinel-3-slstr-lst-l2-netcdf``),
        swath pixels put on a regular EPSG:4326 grid of ``cell_deg`` by
        :func:`grid_slstr_lst`. ``"landsat"``: Collection 2 Level-2 surface temperature
        (``lwir11``; ``lwir`` for Landsat 4-7), in the scenes' UTM zone (the most common one
        when they differ) at 30 m on the scenes' own pixel lattice.
    max_cloud_cover
        Landsat only: keep scenes with ``eo:cloud_cover`` <= this. Not used for Sentinel-3.
    url, items, timeout
        As for :func:`load`.
    chunksize
        Landsat only: spatial chunk size in pixels.
    cell_deg, max_distance_km
        Sentinel-3 only: see :func:`grid_slstr_lst`.

    Returns
    -------
    xarray.DataArray
        float32 kelvin, NaN = no data; coordinates ``time``, ``y``, ``x``, ``id`` (and
        ``platform``, ``cloud_cover`` for Landsat); CRS written; attrs ``source``, ``product``,
        ``catalog_url``, ``collection``, ``units``. Dask-backed: Sentinel-3 files are
        downloaded and gridded when computed.
    """
    if product not in LST_PRODUCTS:
        raise ValueError(f"LST product must be one of {LST_PRODUCTS}, not {product!r}")
    if source not in CATALOG_URLS:
        raise ValueError(f"unknown catalog source {source!r}; catalogs: {', '.join(CATALOG_URLS)}")
    if product == "sentinel-3":
        if source != "planetary-computer":
            raise ValueError(
                "Sentinel-3 SLSTR LST is only on Planetary Computer: use "
                "source='planetary-computer', or product='landsat' on earth-search"
            )
        return _load_slstr(
            source, area, start, end, url=url, items=items, cell_deg=cell_deg,
            max_distance_km=max_distance_km, timeout=timeout,
        )  # fmt: skip
    return _load_landsat(
        source, area, start, end, max_cloud_cover=max_cloud_cover, url=url, items=items,
        chunksize=chunksize, timeout=timeout,
    )  # fmt: skip


def _load_landsat(
    source: str,
    area: Grid,
    start: pd.Timestamp,
    end: pd.Timestamp,
    *,
    max_cloud_cover: float | None,
    url: str | None,
    items: Any,
    chunksize: int | tuple,
    timeout: float,
) -> xr.DataArray:
    found, where = _find_items(
        source,
        area,
        start,
        end,
        collection=LANDSAT_COLLECTION,
        max_cloud_cover=max_cloud_cover,
        url=url,
        items=items,
        timeout=timeout,
    )
    key = LANDSAT_ST_ASSETS[0]
    item_dicts = []
    for item in found:
        origin = next((k for k in LANDSAT_ST_ASSETS if k in item.assets), key)
        item_dicts.append(_item_dict(item, [key], renames={key: origin}))

    epsgs = [d["assets"][key].get("proj:epsg") or d["properties"].get("proj:epsg")
             for d in item_dicts]  # fmt: skip
    counted = Counter(e for e in epsgs if e is not None)
    if not counted:
        raise ValueError(
            f"the Landsat items ({', '.join(i.id for i in found[:3])}...) give no proj:epsg or "
            "proj:code: cannot tell their UTM zone"
        )
    epsg = int(counted.most_common(1)[0][0])
    reference = item_dicts[epsgs.index(epsg)]
    transform = reference["assets"][key].get(
        "proj:transform", reference["properties"].get("proj:transform")
    )
    resolution = abs(float(transform[0])) if transform else 30.0
    x0, y0 = (float(transform[2]), float(transform[5])) if transform else (0.0, 0.0)

    to_utm = pyproj.Transformer.from_crs(area.crs, pyproj.CRS.from_epsg(epsg), always_xy=True)
    minx, miny, maxx, maxy = to_utm.transform_bounds(*area.bounds, densify_pts=21)
    left = x0 + math.floor((minx - x0) / resolution + 1e-9) * resolution
    right = x0 + math.ceil((maxx - x0) / resolution - 1e-9) * resolution
    bottom = y0 + math.floor((miny - y0) / resolution + 1e-9) * resolution
    top = y0 + math.ceil((maxy - y0) / resolution - 1e-9) * resolution
    width = max(1, round((right - left) / resolution))
    height = max(1, round((top - bottom) / resolution))
    right, bottom = left + width * resolution, top - height * resolution
    x = left + resolution * (np.arange(width) + 0.5)
    y = top - resolution * (np.arange(height) + 0.5)

    raw = _stack(
        item_dicts,
        [key],
        epsg=epsg,
        resolution=resolution,
        bounds=(left, bottom, right, top),
        x=x,
        y=y,
        chunksize=chunksize,
    ).isel(band=0, drop=True)
    kelvin = (raw * np.float32(LANDSAT_ST_SCALE) + np.float32(LANDSAT_ST_OFFSET)).where(raw != 0)
    times = pd.DatetimeIndex([_item_time(item) for item in found])
    lst = kelvin.assign_coords(
        time=times.values.astype("datetime64[ns]"),
        platform=("time", [str(item.properties.get("platform", "")) for item in found]),
        cloud_cover=("time", _cloud_covers(found)),
        id=("time", [item.id for item in found]),
    ).astype("float32", copy=False)
    lst.name = "lst"
    lst.attrs = {
        "source": source,
        "product": "landsat",
        "catalog_url": where,
        "collection": LANDSAT_COLLECTION,
        "units": "K",
    }
    return lst.transpose("time", "y", "x").rio.write_crs(f"EPSG:{epsg}")


def lonlat_grid(
    bounds_lonlat: tuple[float, float, float, float], cell_deg: float = 0.01
) -> tuple[np.ndarray, np.ndarray]:
    """Cell-centre longitudes (west to east) and latitudes (north to south) of the regular
    grid of ``cell_deg`` cells, on the lattice of multiples of ``cell_deg``, that covers
    ``bounds_lonlat`` = (west, south, east, north) with every cell touching it.

    Parameters
    ----------
    bounds_lonlat
        (west, south, east, north) in degrees.
    cell_deg
        Cell size in degrees.
    """
    if not cell_deg or cell_deg <= 0:
        raise ValueError(f"cell_deg must be a positive number of degrees, not {cell_deg!r}")
    west, south, east, north = bounds_lonlat
    i0 = math.floor(west / cell_deg + 1e-9)
    i1 = max(i0 + 1, math.ceil(east / cell_deg - 1e-9))
    j0 = math.floor(south / cell_deg + 1e-9)
    j1 = max(j0 + 1, math.ceil(north / cell_deg - 1e-9))
    x = (i0 + np.arange(i1 - i0) + 0.5) * cell_deg
    y = (j1 - np.arange(j1 - j0) - 0.5) * cell_deg
    return x, y


def grid_slstr_lst(
    lst_path: str | os.PathLike,
    geodetic_path: str | os.PathLike,
    bounds_lonlat: tuple[float, float, float, float],
    cell_deg: float = 0.01,
    *,
    max_distance_km: float = 1.5,
) -> xr.DataArray:
    """Put a Sentinel-3 SLSTR Level-2 LST swath on a regular lon/lat grid.

    Each cell of :func:`lonlat_grid` takes the LST of the swath pixel nearest to its centre
    (distances in a local equirectangular projection), if that pixel is within
    ``max_distance_km``; a nearest pixel that is masked (cloud, fill) leaves the cell masked
    rather than borrowing a farther pixel. Cells off the swath are NaN.

    Parameters
    ----------
    lst_path
        ``LST_in.nc`` (asset ``lst-in``) with variable ``LST`` (rows, columns) in kelvin,
        scaled or not; ``_FillValue`` is masked.
    geodetic_path
        ``geodetic_in.nc`` (asset ``slstr-geodetic-in``) with ``latitude_in`` and
        ``longitude_in`` of the same shape.
    bounds_lonlat
        (west, south, east, north) of the area in degrees.
    cell_deg
        Cell size in degrees (0.01, about 1 km, by default).
    max_distance_km
        How far the nearest swath pixel may be from a cell centre (SLSTR pixels are ~1 km).

    Returns
    -------
    xarray.DataArray
        float32 kelvin, dims ``(y, x)`` (latitude north to south, longitude), CRS EPSG:4326.
    """
    from scipy.spatial import cKDTree

    with xr.open_dataset(lst_path, mask_and_scale=True) as lst_file:
        if "LST" not in lst_file:
            raise ValueError(
                f"{lst_path} has no variable 'LST' (variables: {', '.join(map(str, lst_file))})"
            )
        lst = np.asarray(lst_file["LST"].values, dtype="float64")
    with xr.open_dataset(geodetic_path, mask_and_scale=True) as geo_file:
        missing = [v for v in ("latitude_in", "longitude_in") if v not in geo_file]
        if missing:
            raise ValueError(
                f"{geodetic_path} has no variable(s) {missing} (variables: "
                f"{', '.join(map(str, geo_file))})"
            )
        lat = np.asarray(geo_file["latitude_in"].values, dtype="float64")
        lon = np.asarray(geo_file["longitude_in"].values, dtype="float64")
    if not lst.shape == lat.shape == lon.shape:
        raise ValueError(
            f"LST {lst.shape}, latitude_in {lat.shape} and longitude_in {lon.shape} differ in "
            "shape: give the lst-in and slstr-geodetic-in files of the same product"
        )

    x, y = lonlat_grid(bounds_lonlat, cell_deg)
    lat0 = math.radians(float(np.mean(y)))
    km_per_deg = 111.32
    margin = max_distance_km / km_per_deg / max(math.cos(lat0), 0.05) + cell_deg
    near = (
        np.isfinite(lat)
        & np.isfinite(lon)
        & (lon >= x[0] - margin)
        & (lon <= x[-1] + margin)
        & (lat >= y[-1] - margin)
        & (lat <= y[0] + margin)
    )
    out = np.full((y.size, x.size), np.nan, dtype="float32")
    if near.any():
        points = np.column_stack([lon[near] * km_per_deg * math.cos(lat0), lat[near] * km_per_deg])
        values = lst[near]
        cx, cy = np.meshgrid(x, y)
        centres = np.column_stack(
            [cx.ravel() * km_per_deg * math.cos(lat0), cy.ravel() * km_per_deg]
        )
        distance, index = cKDTree(points).query(centres, distance_upper_bound=max_distance_km)
        found = np.isfinite(distance)
        flat = out.ravel()
        flat[found] = values[index[found]]
        out = flat.reshape(y.size, x.size)
    result = xr.DataArray(
        out, dims=("y", "x"), coords={"y": y, "x": x}, name="lst", attrs={"units": "K"}
    )
    return result.rio.write_crs("EPSG:4326")


def _load_slstr(
    source: str,
    area: Grid,
    start: pd.Timestamp,
    end: pd.Timestamp,
    *,
    url: str | None,
    items: Any,
    cell_deg: float,
    max_distance_km: float,
    timeout: float,
) -> xr.DataArray:
    import dask
    import dask.array as da

    found, where = _find_items(
        source,
        area,
        start,
        end,
        collection=SLSTR_LST_COLLECTION,
        max_cloud_cover=None,
        url=url,
        items=items,
        timeout=timeout,
    )
    bounds = area.bounds_lonlat()
    x, y = lonlat_grid(bounds, cell_deg)
    layers = []
    for item in found:
        hrefs = []
        for key in (SLSTR_LST_ASSET, SLSTR_GEODETIC_ASSET):
            if key not in item.assets:
                raise ValueError(
                    f"STAC item {item.id!r} has no asset {key!r}; assets present: "
                    f"{', '.join(sorted(item.assets))}"
                )
            hrefs.append(item.assets[key].get_absolute_href() or item.assets[key].href)
        task = dask.delayed(_grid_slstr_item, pure=True)(
            hrefs[0], hrefs[1], bounds, cell_deg, max_distance_km, timeout
        )
        layers.append(da.from_delayed(task, shape=(y.size, x.size), dtype="float32"))
    times = pd.DatetimeIndex([_item_time(item) for item in found])
    lst = xr.DataArray(
        da.stack(layers),
        dims=("time", "y", "x"),
        coords={
            "time": times.values.astype("datetime64[ns]"),
            "y": y,
            "x": x,
            "platform": ("time", [str(i.properties.get("platform", "")) for i in found]),
            "id": ("time", [item.id for item in found]),
        },
        name="lst",
        attrs={
            "source": source,
            "product": "sentinel-3",
            "catalog_url": where,
            "collection": SLSTR_LST_COLLECTION,
            "units": "K",
        },
    )
    return lst.rio.write_crs("EPSG:4326")


def _grid_slstr_item(
    lst_href: str,
    geodetic_href: str,
    bounds: tuple[float, float, float, float],
    cell_deg: float,
    max_distance_km: float,
    timeout: float,
) -> np.ndarray:
    with tempfile.TemporaryDirectory(prefix="slstr-") as directory:
        lst_path = _local_copy(lst_href, Path(directory) / "LST_in.nc", timeout)
        geo_path = _local_copy(geodetic_href, Path(directory) / "geodetic_in.nc", timeout)
        gridded = grid_slstr_lst(
            lst_path, geo_path, bounds, cell_deg, max_distance_km=max_distance_km
        )
        return gridded.values


def _local_copy(href: str, destination: Path, timeout: float) -> Path:
    """A local path for ``href``: itself for local files, else a download to ``destination``."""
    if href.startswith("file://"):
        from urllib.parse import unquote, urlparse

        return Path(unquote(urlparse(href).path))
    if not href.startswith(("http://", "https://")):
        return Path(href)
    import requests

    try:
        with requests.get(href, stream=True, timeout=timeout) as response:
            response.raise_for_status()
            with open(destination, "wb") as file:
                for block in response.iter_content(chunk_size=1 << 20):
                    file.write(block)
    except requests.ConnectionError as error:
        raise CatalogUnreachableError(
            f"cannot download {href.split('?')[0]}: {error}. Check the network connection."
        ) from error
    return destination
