"""Land surface temperature from a catalog, on each product's own grid: :func:`load_lst`.

* **Landsat** Collection 2 Level-2 surface temperature (``lwir11``; ``lwir`` for Landsat 4-7):
  stacked with stackstac in the scenes' UTM zone at 30 m, on the scenes' own pixel lattice, and
  converted from DN to kelvin with the collection's fixed scale and offset.
* **Sentinel-3 SLSTR** Level-2 LST: netCDF swaths, not rasters. Each file pair (LST and geodetic
  coordinates) is downloaded when computed and put on a regular lon/lat grid by nearest swath
  pixel (:func:`grid_slstr_lst`, on the cells of :func:`lonlat_grid`).
"""

from __future__ import annotations

import math
import os
import tempfile
import threading
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyproj
import xarray as xr

from ...errors import CatalogUnreachableError
from ...geo import Grid, transformer
from ._catalog import (
    DEFAULT_MAX_CLOUD_COVER,
    DEFAULT_TIMEOUT,
    LANDSAT_COLLECTION,
    SLSTR_LST_COLLECTION,
    check_source,
    find_items,
    item_coords,
    item_times,
)
from ._stack import item_for_stackstac, stack_on_grid

if TYPE_CHECKING:
    import pystac

__all__ = [
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

#: The ``product=`` values of :func:`load_lst`.
LST_PRODUCTS = ("sentinel-3", "landsat")

#: Landsat Collection 2 Level-2 surface temperature: kelvin = DN * scale + offset; DN 0 = no data.
LANDSAT_ST_SCALE = 0.00341802
LANDSAT_ST_OFFSET = 149.0
LANDSAT_ST_ASSETS = ("lwir11", "lwir")  # Landsat 8/9, then Landsat 4-7

SLSTR_LST_ASSET = "lst-in"
SLSTR_GEODETIC_ASSET = "slstr-geodetic-in"

#: Kilometres per degree of latitude (and of longitude at the equator), for swath distances.
_KM_PER_DEGREE = 111.32
#: The SLSTR swaths of several items are gridded in parallel dask tasks; the netCDF/HDF5 C
#: libraries are not thread-safe, and xarray's own locks do not cover the whole open-read-close
#: of one file (a run of the test suite crashed closing one swath while another opened). The
#: files are small, so reading them one at a time costs little; the gridding stays parallel.
_SWATH_READ_LOCK = threading.Lock()


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
        As for :func:`~compositing.sources.stac.load`.
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
    check_source(source)
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


# --------------------------------------------------------------------------------------------
# Landsat
# --------------------------------------------------------------------------------------------


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
    found, where = find_items(
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
    # Every item's thermal asset goes into the stack under one key, whatever the sensor calls it.
    key = LANDSAT_ST_ASSETS[0]
    item_dicts = []
    for item in found:
        origin = next((k for k in LANDSAT_ST_ASSETS if k in item.assets), key)
        item_dicts.append(item_for_stackstac(item, [key], renames={key: origin}))
    grid = _landsat_grid(found, item_dicts, key, area)

    raw = stack_on_grid(item_dicts, [key], grid, chunksize=chunksize).isel(band=0, drop=True)
    kelvin = (raw * np.float32(LANDSAT_ST_SCALE) + np.float32(LANDSAT_ST_OFFSET)).where(raw != 0)
    lst = kelvin.assign_coords(
        time=item_times(found).values.astype("datetime64[ns]"), **item_coords(found)
    ).astype("float32", copy=False)
    lst.name = "lst"
    lst.attrs = {
        "source": source,
        "product": "landsat",
        "catalog_url": where,
        "collection": LANDSAT_COLLECTION,
        "units": "K",
    }
    return lst.transpose("time", "y", "x").rio.write_crs(f"EPSG:{grid.epsg}")


def _landsat_grid(
    found: Sequence[pystac.Item], item_dicts: Sequence[dict], key: str, area: Grid
) -> Grid:
    """The scenes' own pixel lattice (UTM zone, 30 m, origin) over every pixel that touches
    ``area``: the most common zone when the scenes differ, the first scene of it as reference."""
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

    minx, miny, maxx, maxy = transformer(area.crs, epsg).transform_bounds(
        *area.bounds, densify_pts=21
    )
    # Outwards to whole pixels of the lattice (the epsilon keeps an edge on a line where it is).
    left = x0 + math.floor((minx - x0) / resolution + 1e-9) * resolution
    right = x0 + math.ceil((maxx - x0) / resolution - 1e-9) * resolution
    bottom = y0 + math.floor((miny - y0) / resolution + 1e-9) * resolution
    top = y0 + math.ceil((maxy - y0) / resolution - 1e-9) * resolution
    width = max(1, round((right - left) / resolution))
    height = max(1, round((top - bottom) / resolution))
    return Grid(pyproj.CRS.from_epsg(epsg), resolution, left, top, width, height)


# --------------------------------------------------------------------------------------------
# Sentinel-3 SLSTR
# --------------------------------------------------------------------------------------------


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
    lst, lat, lon = _read_swath(lst_path, geodetic_path)
    x, y = lonlat_grid(bounds_lonlat, cell_deg)
    out = _nearest_swath_pixels(lst, lat, lon, x, y, cell_deg, max_distance_km)
    result = xr.DataArray(
        out, dims=("y", "x"), coords={"y": y, "x": x}, name="lst", attrs={"units": "K"}
    )
    return result.rio.write_crs("EPSG:4326")


def _read_swath(
    lst_path: str | os.PathLike, geodetic_path: str | os.PathLike
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """LST (kelvin, NaN where masked), latitude and longitude of every swath pixel."""
    with _SWATH_READ_LOCK:
        return _read_swath_files(lst_path, geodetic_path)


def _read_swath_files(
    lst_path: str | os.PathLike, geodetic_path: str | os.PathLike
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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
    return lst, lat, lon


def _nearest_swath_pixels(
    lst: np.ndarray,
    lat: np.ndarray,
    lon: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    cell_deg: float,
    max_distance_km: float,
) -> np.ndarray:
    """float32 ``(y, x)``: each cell centre's nearest swath pixel's LST within the distance."""
    from scipy.spatial import cKDTree

    lat0 = math.radians(float(np.mean(y)))
    # Only swath pixels near the grid go into the tree (a swath is ~1500 km wide).
    margin = max_distance_km / _KM_PER_DEGREE / max(math.cos(lat0), 0.05) + cell_deg
    near = (
        np.isfinite(lat)
        & np.isfinite(lon)
        & (lon >= x[0] - margin)
        & (lon <= x[-1] + margin)
        & (lat >= y[-1] - margin)
        & (lat <= y[0] + margin)
    )
    out = np.full((y.size, x.size), np.nan, dtype="float32")
    if not near.any():
        return out
    cos_lat0 = math.cos(lat0)
    points = np.column_stack([lon[near] * _KM_PER_DEGREE * cos_lat0, lat[near] * _KM_PER_DEGREE])
    values = lst[near]
    cx, cy = np.meshgrid(x, y)
    centres = np.column_stack([cx.ravel() * _KM_PER_DEGREE * cos_lat0, cy.ravel() * _KM_PER_DEGREE])
    distance, index = cKDTree(points).query(centres, distance_upper_bound=max_distance_km)
    found = np.isfinite(distance)
    flat = out.ravel()
    flat[found] = values[index[found]]
    return flat.reshape(y.size, x.size)


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

    found, where = find_items(
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
        lst_href, geodetic_href = _slstr_hrefs(item)
        task = dask.delayed(_grid_slstr_item, pure=True)(
            lst_href, geodetic_href, bounds, cell_deg, max_distance_km, timeout
        )
        layers.append(da.from_delayed(task, shape=(y.size, x.size), dtype="float32"))
    lst = xr.DataArray(
        da.stack(layers),
        dims=("time", "y", "x"),
        coords={
            "time": item_times(found).values.astype("datetime64[ns]"),
            "y": y,
            "x": x,
            **item_coords(found, cloud_cover=False),
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


def _slstr_hrefs(item: pystac.Item) -> tuple[str, str]:
    """The hrefs of the item's LST and geodetic files; a missing asset is an error."""
    hrefs = []
    for key in (SLSTR_LST_ASSET, SLSTR_GEODETIC_ASSET):
        if key not in item.assets:
            raise ValueError(
                f"STAC item {item.id!r} has no asset {key!r}; assets present: "
                f"{', '.join(sorted(item.assets))}"
            )
        hrefs.append(item.assets[key].get_absolute_href() or item.assets[key].href)
    return hrefs[0], hrefs[1]


def _grid_slstr_item(
    lst_href: str,
    geodetic_href: str,
    bounds: tuple[float, float, float, float],
    cell_deg: float,
    max_distance_km: float,
    timeout: float,
) -> np.ndarray:
    """One item's gridded LST (the dask task): its two files fetched, gridded, then deleted."""
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
