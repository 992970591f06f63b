"""Which catalog, which collection, which items: the STAC search and everything around it.

* the API root of each catalog source, from ``url=``, the environment or the public default
  (:func:`catalog_url`);
* the collection of each product (:data:`S2_COLLECTIONS`, :data:`LANDSAT_COLLECTION`,
  :data:`SLSTR_LST_COLLECTION`);
* the search with pystac-client (:func:`search`), its failures turned into the engine's
  :mod:`compositing.errors` types, and Planetary Computer's URL signing;
* items given instead of a search (``items=``: pystac Items, dicts, a local static catalog),
  filtered by area, dates and cloud cover like a search's (:func:`find_items`);
* the items of one Sentinel-2 tile, or the items named by id (:func:`find_tile_items`);
* what every loader reads from an item: its time, cloud cover, platform and id.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ...bands import PRODUCT_BANDS
from ...errors import CatalogResponseError, CatalogUnreachableError, NoScenesError
from ...geo import Grid, lonlat_bounds
from ...mgrs import mgrs_tile_square, parse_mgrs_tile

if TYPE_CHECKING:
    import pystac

__all__ = [
    "CATALOG_URLS",
    "CATALOG_URL_VARIABLES",
    "DEFAULT_MAX_CLOUD_COVER",
    "DEFAULT_TIMEOUT",
    "LANDSAT_COLLECTION",
    "S2_COLLECTIONS",
    "SLSTR_LST_COLLECTION",
    "catalog_url",
    "check_source",
    "find_items",
    "find_tile_items",
    "item_cloud_covers",
    "item_coords",
    "item_mgrs_tile",
    "item_times",
    "s2_collection",
    "search",
]

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
#: Landsat Collection 2 Level-2 (both catalogs use this name).
LANDSAT_COLLECTION = "landsat-c2-l2"
#: Sentinel-3 SLSTR Level-2 land surface temperature (Planetary Computer only).
SLSTR_LST_COLLECTION = "sentinel-3-slstr-lst-l2-netcdf"

DEFAULT_MAX_CLOUD_COVER = 80.0
DEFAULT_TIMEOUT = 60.0


def check_source(source: str) -> None:
    """Refuse a source that is not one of :data:`CATALOG_URLS`, naming those that are."""
    if source not in CATALOG_URLS:
        raise ValueError(f"unknown catalog source {source!r}; catalogs: {', '.join(CATALOG_URLS)}")


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
    check_source(source)
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


def s2_collection(source: str, product: str) -> str:
    """The Sentinel-2 collection of ``product`` (``"L2A"``, ``"L1C"``) in ``source``; a
    ``ValueError`` that says what to choose instead when there is none.

    Parameters
    ----------
    source
        ``"earth-search"`` or ``"planetary-computer"``.
    product
        ``"L2A"`` or ``"L1C"``.
    """
    check_source(source)
    if product not in PRODUCT_BANDS:
        raise ValueError(f"product must be one of {tuple(PRODUCT_BANDS)}, not {product!r}")
    if (source, product) not in S2_COLLECTIONS:
        raise ValueError(
            f"{source} has no Sentinel-2 {product} collection: use source='earth-search' for "
            f"{product} (or product='L2A' on {source})"
        )
    return S2_COLLECTIONS[(source, product)]


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
    if collection is None:
        collection = s2_collection(source, product)
    url = catalog_url(source, url)  # also refuses an unknown source
    start, end = _utc_naive(start), _utc_naive(end)
    items = _query_catalog(
        source,
        url,
        timeout,
        collections=[collection],
        bbox=list(grid.bounds_lonlat()),
        datetime=_interval(start, end),
        query=_cloud_query(max_cloud_cover),
    )
    # The server filtered by area; dates (end exclusive) and cloud cover are checked again.
    items = _filter_items(items, grid, start, end, max_cloud_cover, spatial=False)
    if not items:
        raise _no_scenes(source, url, collection, grid, start, end, max_cloud_cover)
    if source == "planetary-computer":
        items = _sign(items)
    return items


def find_items(
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
    """Items from a search or from ``items=``, filtered and sorted; and where they came from
    (the catalog URL, or what ``items=`` was).

    Parameters
    ----------
    source
        ``"earth-search"`` or ``"planetary-computer"``.
    grid
        The area.
    start, end
        UTC timestamps; ``end`` is exclusive.
    collection
        The collection to search (and to name in a :class:`NoScenesError`).
    max_cloud_cover
        Keep items with ``eo:cloud_cover`` <= this (``None``: no limit).
    url
        The API root instead of the source's (:func:`catalog_url`).
    items
        ``None`` to search; else pystac Items, item dicts, an ItemCollection, or the path of a
        static catalog, collection, item or FeatureCollection JSON.
    timeout
        Seconds to wait for each HTTP answer.
    """
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


def find_tile_items(
    source: str,
    start: pd.Timestamp | None,
    end: pd.Timestamp | None,
    *,
    tile: str | None = None,
    ids: str | Sequence[str] | None = None,
    collection: str,
    max_cloud_cover: float | None,
    url: str | None,
    items: Any,
    timeout: float,
) -> tuple[list[pystac.Item], str]:
    """The items of one Sentinel-2 tile, or the items named by id, filtered and sorted; and
    where they came from (the catalog URL, or what ``items=`` was).

    A tile is searched by the lon/lat box of its MGRS square (every item of the tile meets it),
    then only the items of that tile are kept (:func:`item_mgrs_tile`): the neighbours that
    overlap the box are dropped. Ids are searched with the API's ``ids`` parameter; dates and
    cloud cover are applied locally, so that an id the catalog does not have is told apart from
    one that the dates leave out.

    Parameters
    ----------
    source
        ``"earth-search"`` or ``"planetary-computer"``.
    start, end
        UTC timestamps, ``end`` exclusive; needed with ``tile``, optional with ``ids``.
    tile
        An MGRS tile (``"32TMT"`` or ``"T32TMT"``), or
    ids
        STAC item ids (one, or several of one tile).
    collection
        The collection to search.
    max_cloud_cover
        Keep items with ``eo:cloud_cover`` <= this (``None``: no limit).
    url
        The API root instead of the source's (:func:`catalog_url`).
    items
        ``None`` to search; else items as for :func:`find_items`, filtered by tile or id here.
    timeout
        Seconds to wait for each HTTP answer.

    Raises
    ------
    ValueError
        Neither or both of ``tile`` and ``ids``; a malformed tile; empty ids; ``tile`` without
        dates.
    NoScenesError
        No item of the tile in the dates; an id the catalog does not have; ids all outside the
        dates or the cloud limit. The message names the tile or the ids.
    CatalogUnreachableError, CatalogResponseError
        The catalog could not be reached, or answered with an error.
    """
    if (tile is None) == (ids is None):
        raise ValueError("give either tile= (an MGRS tile such as '32TMT') or ids= (item ids)")
    if (start is None) != (end is None):
        raise ValueError("give both start and end, or neither")
    if tile is not None:
        tile = parse_mgrs_tile(tile)
        if start is None:
            raise ValueError(f"tile={tile!r} needs dates=('YYYY-MM-DD', 'YYYY-MM-DD')")
        asked = f"tile {tile}"
    else:
        ids = _check_ids(ids)
        asked = f"item{'s' if len(ids) > 1 else ''} {', '.join(ids)}"
    if start is not None:
        start, end = _utc_naive(start), _utc_naive(end)
    if items is None:
        url = catalog_url(source, url)
        where = url
        label = f"{source} ({url})"
        if tile is not None:
            found = _query_catalog(
                source,
                url,
                timeout,
                collections=[collection],
                bbox=list(_tile_box(tile)),
                datetime=_interval(start, end),
                query=_cloud_query(max_cloud_cover),
            )
        else:
            found = _query_catalog(source, url, timeout, collections=[collection], ids=ids)
    else:
        where = str(items) if isinstance(items, str | os.PathLike) else "the items given"
        label = where
        found = _local_items(items)
        if ids is not None:
            found = [item for item in found if item.id in ids]
    if ids is not None:
        present = {item.id for item in found}
        missing = [i for i in ids if i not in present]
        if missing:
            raise NoScenesError(
                f"{label} has no {collection} item{'s' if len(missing) > 1 else ''} "
                f"{', '.join(missing)}: check the id{'s' if len(missing) > 1 else ''} (and "
                "the source and product: each catalog names its items its own way)"
            )
        others: list[str] = []
    else:
        others = sorted({_tile_of(item) for item in found} - {tile, ""})
        found = [item for item in found if _tile_of(item) == tile]
    found = _filter_items(found, None, start, end, max_cloud_cover, spatial=False)
    if not found:
        raise _no_tile_scenes(label, collection, asked, start, end, max_cloud_cover, others)
    if source == "planetary-computer":
        found = _sign(found)
    return found, where


def _check_ids(ids: Any) -> list[str]:
    """``ids`` as a list of distinct non-empty strings, in the order given."""
    if isinstance(ids, str):
        ids = [ids]
    try:
        listed = list(ids)
    except TypeError:
        raise TypeError(f"ids= takes an item id or a list of them, not {ids!r}") from None
    if not listed or not all(isinstance(i, str) and i.strip() for i in listed):
        raise ValueError(
            f"ids= takes STAC item ids (non-empty strings) such as "
            f"'S2B_MSIL2A_20181214T133219_R081_T22KFV_20201008T105004', not {ids!r}"
        )
    return list(dict.fromkeys(i.strip() for i in listed))


def _tile_box(tile: str) -> tuple[float, float, float, float]:
    """(west, south, east, north) in degrees of the tile's MGRS square: every item of the
    tile meets it (a Sentinel-2 tile is the square and 9.8 km more to the east and south)."""
    crs, bounds = mgrs_tile_square(tile)
    return lonlat_bounds(crs, bounds)


def _tile_of(item: pystac.Item) -> str:
    """The item's MGRS tile (:func:`item_mgrs_tile`), else the ``T32TMT`` in its id, else ``""``."""
    tile = item_mgrs_tile(item)
    if tile:
        return tile
    for part in item.id.split("_"):
        try:
            return parse_mgrs_tile(part)
        except ValueError:
            continue
    return ""


def _no_tile_scenes(
    label: str,
    collection: str,
    asked: str,
    start: pd.Timestamp | None,
    end: pd.Timestamp | None,
    max_cloud_cover: float | None,
    others: Sequence[str],
) -> NoScenesError:
    cloud = f"eo:cloud_cover <= {max_cloud_cover:g}" if max_cloud_cover is not None else "any cloud"
    higher = ", a higher max_cloud_cover" if max_cloud_cover is not None else ""
    when = f" from {start:%Y-%m-%d} to {end:%Y-%m-%d} (end exclusive)" if start is not None else ""
    seen = f" (the search found only tiles {', '.join(others)} there)" if others else ""
    return NoScenesError(
        f"no {collection} scenes of {asked} in {label}{when} with {cloud}{seen}. Try wider "
        f"dates{higher}, or check the tile or ids (the collection may not cover this place)."
    )


def _query_catalog(source: str, url: str, timeout: float, **parameters: Any) -> list[pystac.Item]:
    """Every item a STAC API search with ``parameters`` returns (all pages), its failures
    turned into the engine's errors."""
    from pystac_client import Client
    from pystac_client.exceptions import APIError

    parameters = {k: v for k, v in parameters.items() if v is not None}
    try:
        client = Client.open(url, timeout=timeout)
        return list(client.search(limit=100, **parameters).items())
    except APIError as error:
        raise _catalog_error(error, url) from error
    except _stac_type_errors() as error:
        raise CatalogResponseError(
            f"{url} did not answer as a STAC API ({error}); check url= (the API root, e.g. "
            f"{CATALOG_URLS[source]})"
        ) from error


def _interval(start: pd.Timestamp | None, end: pd.Timestamp | None) -> str | None:
    """The STAC ``datetime`` of [start, end) (``None`` without dates)."""
    if start is None or end is None:
        return None
    return f"{_iso(start)}/{_iso(end - pd.Timedelta(1, 'ms'))}"


def _cloud_query(max_cloud_cover: float | None) -> dict | None:
    if max_cloud_cover is None:
        return None
    return {"eo:cloud_cover": {"lte": max_cloud_cover}}


def _stac_type_errors() -> tuple[type[Exception], ...]:
    import pystac
    from pystac_client.errors import ClientTypeError

    return (pystac.STACTypeError, ClientTypeError, json.JSONDecodeError)


def _catalog_error(error: Exception, url: str) -> Exception:
    """The engine's error for a pystac-client ``APIError``: unreachable, or an error answer."""
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
    """Planetary Computer's items with signed asset URLs (its token service needs the network)."""
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


# --------------------------------------------------------------------------------------------
# Items given instead of a search
# --------------------------------------------------------------------------------------------


def _filter_items(
    items: Iterable[pystac.Item],
    grid: Grid | None,
    start: pd.Timestamp | None,
    end: pd.Timestamp | None,
    max_cloud_cover: float | None,
    *,
    spatial: bool = True,
) -> list[pystac.Item]:
    """Items with start <= time < end (any time without dates), cloud cover <= the limit and
    (if ``spatial``) a bbox that meets the grid's, sorted by time then id."""
    spatial = spatial and grid is not None
    west, south, east, north = grid.bounds_lonlat() if spatial else (0.0, 0.0, 0.0, 0.0)
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
        if start is not None and end is not None and not start <= time < end:
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


# --------------------------------------------------------------------------------------------
# What every loader reads from its items
# --------------------------------------------------------------------------------------------


def item_times(items: Sequence[pystac.Item]) -> pd.DatetimeIndex:
    """The items' UTC times (``datetime``, else ``start_datetime``), timezone-naive."""
    return pd.DatetimeIndex([_item_time(item) for item in items])


def item_cloud_covers(items: Sequence[pystac.Item]) -> np.ndarray:
    """The items' ``eo:cloud_cover`` (percent), NaN where an item gives none."""
    return np.array(
        [
            float(c) if (c := item.properties.get("eo:cloud_cover")) is not None else np.nan
            for item in items
        ],
        dtype="float64",
    )


def item_coords(
    items: Sequence[pystac.Item], *, cloud_cover: bool = True
) -> dict[str, tuple[str, Any]]:
    """Per-image coordinates along ``time``: ``platform``, ``cloud_cover`` (if asked), ``id``
    and ``mgrs_tile`` (if the items name their tile): Earth Engine's ``SPACECRAFT_NAME``,
    ``CLOUDY_PIXEL_PERCENTAGE``, ``system:index`` and ``MGRS_TILE`` (compositing.properties).

    Parameters
    ----------
    items
        The items, one per image, in the collection's order.
    cloud_cover
        Whether to include ``cloud_cover`` (products without ``eo:cloud_cover`` leave it out).
    """
    coords: dict[str, tuple[str, Any]] = {
        "platform": ("time", [str(item.properties.get("platform", "")) for item in items])
    }
    if cloud_cover:
        coords["cloud_cover"] = ("time", item_cloud_covers(items))
    coords["id"] = ("time", [item.id for item in items])
    tiles = [item_mgrs_tile(item) for item in items]
    if any(tiles):
        coords["mgrs_tile"] = ("time", tiles)
    return coords


def item_mgrs_tile(item: pystac.Item) -> str:
    """The item's MGRS tile (``10SEG``) as each catalog writes it (the Planetary Computer's
    ``s2:mgrs_tile``, Earth Search's ``mgrs:*``, the ``grid:code`` extension), else ``""``."""
    properties = item.properties
    if properties.get("s2:mgrs_tile"):
        return str(properties["s2:mgrs_tile"]).removeprefix("T")
    zone, band, square = (
        properties.get(f"mgrs:{k}") for k in ("utm_zone", "latitude_band", "grid_square")
    )
    if zone is not None and band and square:
        return f"{int(zone):02d}{band}{square}"
    code = str(properties.get("grid:code", ""))
    return code.removeprefix("MGRS-") if code.startswith("MGRS-") else ""


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
