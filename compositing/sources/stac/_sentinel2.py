"""Sentinel-2 from a catalog: which asset holds each band, what its DN mean, and :func:`load`.

* **Asset names** differ by catalog: Earth Search uses common names (``red``), Planetary
  Computer band IDs (``B04``), CDSE band IDs with a resolution suffix (``B04_10m``)
  (:func:`asset_key`, :func:`item_asset_key`).
* **Units**: DN become reflectance x 10000 harmonized as Earth Engine's ``*_HARMONIZED``
  collections, from whatever the item says about its scale, offset and processing baseline
  (:func:`harmonization`, :func:`asset_scale_offset`).
* :func:`load` searches (or takes ``items=``), stacks the raw DN onto the grid, converts them,
  and adds the per-image coordinates of the collection contract. Given a whole tile or item ids
  instead of a grid, it loads onto the items' own grid (:mod:`._tiles`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import xarray as xr

from ...bands import CLASS_BANDS, PRODUCT_BANDS
from ...geo import Grid
from ...solar import sun_angles
from ._catalog import (
    DEFAULT_MAX_CLOUD_COVER,
    DEFAULT_TIMEOUT,
    find_items,
    find_tile_items,
    item_coords,
    item_times,
    s2_collection,
)
from ._stack import grid_epsg, item_for_stackstac, stack_on_grid
from ._tiles import check_resolution, items_grid

if TYPE_CHECKING:
    import pystac

__all__ = [
    "BASELINE_04_OFFSET",
    "EARTH_SEARCH_ASSETS",
    "asset_key",
    "asset_scale_offset",
    "available_bands",
    "harmonization",
    "item_asset_key",
    "load",
]

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


# --------------------------------------------------------------------------------------------
# Bands and their assets
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
    s2_collection(source, product)  # refuses what the source does not serve
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
    """The band IDs to load: all the product has by default; unknown or repeated ones refused."""
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


def _harmonize(
    raw: xr.DataArray, item_dicts: Sequence[dict], bands: Sequence[str], keys: Sequence[str]
) -> xr.DataArray:
    """Raw DN ``(time, band, y, x)`` as harmonized reflectance x 10000, DN 0 masked: each
    image and band with its own :func:`harmonization`."""
    coefficients = np.array(
        [
            [
                harmonization(d["properties"], band, asset_scale_offset(d["assets"][key]))
                for band, key in zip(bands, keys, strict=True)
            ]
            for d in item_dicts
        ],
        dtype="float64",
    ).reshape(len(item_dicts), len(bands), 2)
    gain = xr.DataArray(coefficients[..., 0].astype("float32"), dims=("time", "band"))
    offset = xr.DataArray(coefficients[..., 1].astype("float32"), dims=("time", "band"))
    values = raw if np.all(gain.values == 1) else raw * gain
    return (values + offset).where(raw != 0)


# --------------------------------------------------------------------------------------------
# Sun angles
# --------------------------------------------------------------------------------------------


def _metadata_sun_angles(items: Sequence[pystac.Item]) -> tuple[np.ndarray, np.ndarray]:
    """Per-item solar azimuth and zenith (degrees) as the metadata gives them (Planetary
    Computer ``s2:mean_solar_*``, Earth Search ``view:sun_*``), NaN where it does not."""
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
    return azimuth, zenith


def _sun_angles(
    items: Sequence[pystac.Item], times: pd.DatetimeIndex, grid: Grid
) -> tuple[np.ndarray, np.ndarray]:
    """Per-item solar azimuth and zenith: the metadata's, else computed at the grid's centre."""
    azimuth, zenith = _metadata_sun_angles(items)
    # The middle of the grid's lon/lat bounds, not its projected centre transformed to lon/lat:
    # they differ by up to a few thousandths of a degree, and the angles stay as they were.
    west, south, east, north = grid.bounds_lonlat()
    lon, lat = (west + east) / 2, (south + north) / 2
    return sun_angles(times, lon, lat, azimuth=azimuth, zenith=zenith)


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------


def load(
    source: str,
    grid: Grid | None = None,
    start: pd.Timestamp | None = None,
    end: pd.Timestamp | None = None,
    *,
    tile: str | None = None,
    ids: str | Sequence[str] | None = None,
    resolution: float | None = None,
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
        exactly ``grid.x``/``grid.y``. ``None`` with ``tile`` or ``ids``.
    start, end
        UTC timestamps; ``end`` is exclusive. Optional with ``ids``.
    tile
        A whole Sentinel-2 tile instead of a grid: an MGRS tile such as ``"32TMT"`` (or
        ``"T32TMT"``). The items of that tile (not its neighbours) are loaded onto the tile's own
        grid: its 109.8 km square in its UTM CRS, read from the items' ``proj:transform`` /
        ``proj:shape`` (or ``proj:bbox``) and ``proj:epsg`` (or ``proj:code``), ``resolution``
        pixels from its top-left corner (5490 x 5490 at 20 m, exactly the tile's 20 m pixels).
    ids
        STAC item ids instead of a grid (searched with the API's ``ids``), all of one tile and
        CRS; loaded onto their grid as for ``tile``. Dates and cloud cover, when given, filter
        them.
    resolution
        Pixel size in metres of a ``tile`` or ``ids`` load (default 10); a grid has its own.
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
        locally by area (item bbox), dates and cloud cover (or by tile or id, with ``tile`` or
        ``ids``).
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
        code; an item without a requested asset; neither or several of ``grid``, ``tile``,
        ``ids``; a malformed tile; ids of several tiles or CRSs; :class:`NoScenesError` when
        nothing matches (naming the tile or the ids).
    CatalogUnreachableError, CatalogResponseError
        The catalog could not be reached, or answered with an error.
    """
    # Every argument is checked before the catalog is asked anything.
    collection = s2_collection(source, product)
    selected = _select_bands(source, product, bands)
    keys = [asset_key(source, band) for band in selected]
    if tile is None and ids is None:
        if grid is None:
            raise ValueError("give a grid, or tile= (an MGRS tile) or ids= (STAC item ids)")
        if resolution is not None:
            raise ValueError("resolution= is for tile= and ids= loads: the grid has its own")
        if start is None or end is None:
            raise ValueError("a grid load needs start and end")
        grid_epsg(grid)
        found, where = find_items(
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
    else:
        if grid is not None:
            raise ValueError(
                "give a grid or tile=/ids=, not both: a tile or id load is on the items' grid"
            )
        resolution = check_resolution(10.0 if resolution is None else resolution)
        found, where = find_tile_items(
            source,
            start,
            end,
            tile=tile,
            ids=ids,
            collection=collection,
            max_cloud_cover=max_cloud_cover,
            url=url,
            items=items,
            timeout=timeout,
        )
        # The footprint of the assets that will be read is the grid.
        assets = [[item_asset_key(item, source, b, resolution) for b in selected] for item in found]
        asked = f"tile={tile!r}" if tile is not None else f"ids={ids!r}"
        grid = items_grid(found, resolution, assets, asked=asked)
    # The stack names each band's asset by the source's key; each item may call it otherwise.
    item_dicts = [
        item_for_stackstac(
            item,
            keys,
            renames={
                key: item_asset_key(item, source, band, grid.resolution)
                for band, key in zip(selected, keys, strict=True)
            },
        )
        for item in found
    ]
    raw = stack_on_grid(item_dicts, keys, grid, chunksize=chunksize)
    values = _harmonize(raw, item_dicts, selected, keys)

    times = item_times(found)
    azimuth, zenith = _sun_angles(found, times, grid)
    reflectance = values.assign_coords(
        time=times.values.astype("datetime64[ns]"),
        band=selected,
        solar_azimuth=("time", azimuth),
        solar_zenith=("time", zenith),
        **item_coords(found),
    ).transpose("time", "band", "y", "x")
    reflectance = reflectance.astype("float32", copy=False)
    reflectance.name = "reflectance"
    reflectance.attrs = {
        "source": source,
        "product": product,
        "catalog_url": where,
        "collection": collection,
        "units": "reflectance x 10000 (harmonized: baseline >= 04.00 offset removed)",
    }
    return reflectance.rio.write_crs(grid.crs)
