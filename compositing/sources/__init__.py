"""Where collections come from: one entry point, :func:`load` (and :func:`load_lst` for thermal).

Sources:

* ``"demo"`` (the default): a procedural, synthetic Sentinel-2 scene that needs no network
  (:mod:`compositing.sources.demo`).
* ``"earth-search"`` and ``"planetary-computer"``: real STAC catalogs, searched with pystac-client
  and loaded with stackstac (:mod:`compositing.sources.stac`). They need the network. Their API
  roots can be set with ``COMPOSITE_EXPLORER_EARTH_SEARCH_URL`` and
  ``COMPOSITE_EXPLORER_PLANETARY_COMPUTER_URL`` (read at each call), e.g. to a mirror.
* a path, or a list of paths, to local files: Sentinel-2 band files such as
  ``T10SFG_20230620T183919_B04_10m.jp2``, or an LST GeoTIFF (:mod:`compositing.sources.files`).
  A local static STAC catalog goes through the catalog source with its asset naming:
  ``load("earth-search", ..., items="path/to/catalog.json")``.

The catalogs also load a whole Sentinel-2 tile, or items by id, on the tile's own grid:
``load("planetary-computer", tile="22KFV", dates=(...), resolution=20)``,
``load("planetary-computer", ids=["S2B_MSIL2A_..._T22KFV_..."], resolution=20)``.

Every source returns the collection contract of :mod:`compositing.contract` (reflectance x 10000,
NaN = masked, ``solar_azimuth``/``solar_zenith`` per image as coordinates), so everything
downstream is source-agnostic. Nothing reaches the internet unless a catalog is asked for.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import xarray as xr

from ..geo import Grid, grid_for
from .dates import parse_dates
from .source_names import CATALOG_SOURCES, PRODUCTS, SOURCES

__all__ = ["CATALOG_SOURCES", "PRODUCTS", "SOURCES", "Grid", "grid_for", "load", "load_lst"]


def load(
    source: str | os.PathLike | Sequence[str | os.PathLike] = "demo",
    *,
    point: tuple[float, float] | None = None,
    dates: tuple[str, str] | None = None,
    size_m: float = 10_000,
    bbox: tuple[float, float, float, float] | None = None,
    resolution: float = 10,
    crs: str | int | None = None,
    product: str = "L2A",
    bands: Sequence[str] | None = None,
    tile: str | None = None,
    ids: str | Sequence[str] | None = None,
    **options,
) -> xr.DataArray:
    """Load a Sentinel-2 collection ``(time, band, y, x)`` from any source.

    Parameters
    ----------
    source
        ``"demo"``, ``"earth-search"``, ``"planetary-computer"``, or local file path(s).
    point, size_m
        (lon, lat) of the centre and the side of the square area in metres.
    bbox
        (west, south, east, north) in lon/lat, instead of ``point`` and ``size_m``.
    dates
        (start, end) as ``YYYY-MM-DD``; the end is exclusive, as in Earth Engine's filterDate.
        Optional for local files, and with ``ids``.
    resolution
        Pixel size in metres (in the units of ``crs``).
    crs
        Output CRS; default the local UTM zone. Use ``"EPSG:3857"`` for web maps. Not with
        ``tile`` or ``ids``: their grid is the tile's, in its own UTM CRS.
    tile
        A whole Sentinel-2 tile, instead of ``point``/``bbox`` (catalog sources only): an MGRS
        tile such as ``"22KFV"`` (or ``"T22KFV"``). The catalog is searched over the tile and
        only that tile's items are kept (not its overlapping neighbours); the grid is the tile's
        own 109.8 km square in its UTM CRS, taken from the items (``proj:transform`` and
        ``proj:shape``, or ``proj:bbox``; ``proj:epsg`` or ``proj:code``), ``resolution`` pixels
        from its corner: 5490 x 5490 at 20 m, exactly on the tile's 20 m pixels. Needs ``dates``.
    ids
        STAC item ids (one or a list), instead of ``point``/``bbox`` (catalog sources only):
        those items, all of one tile and CRS, on their tile's grid as for ``tile``. ``dates``
        is optional (the ids say the dates; if given, it filters them), and no cloud limit
        applies unless ``max_cloud_cover`` is given. An id the catalog does not have is a
        :class:`~compositing.NoScenesError`.
    product
        ``"L2A"`` (surface reflectance with SCL; the demo also has MSK_CLDPRB, which neither
        real catalog serves) or
        ``"L1C"`` (top-of-atmosphere, 13 bands with B10).
    bands
        Band names to keep (default: all the product has).
    options
        Passed to the source, e.g. ``max_cloud_cover=30`` for catalogs.

    Raises
    ------
    ValueError
        Bad arguments, with the fix in the message: e.g. ``tile`` or ``ids`` with ``point``,
        ``bbox`` or ``crs``, for the demo or local files, a malformed tile, ids of several
        tiles. :class:`~compositing.NoScenesError` (a ``ValueError``) when nothing matches.
    CatalogUnreachableError, CatalogResponseError
        A catalog could not be reached, or answered with an error.
    """
    if product not in PRODUCTS:
        raise ValueError(f"product must be one of {PRODUCTS}, not {product!r}")
    if tile is not None or ids is not None:
        return _load_tile(source, tile, ids, point, bbox, dates, resolution, crs, product, bands,
                          options)  # fmt: skip
    if isinstance(source, str) and source in SOURCES:
        if dates is None:
            raise ValueError(f"source {source!r} needs dates=('YYYY-MM-DD', 'YYYY-MM-DD')")
        start, end = parse_dates(dates)
        grid = grid_for(point=point, size_m=size_m, bbox=bbox, resolution=resolution, crs=crs)
        if source == "demo":
            from . import demo

            return demo.load(grid, start, end, product=product, bands=bands, **options)
        from . import stac

        return stac.load(source, grid, start, end, product=product, bands=bands, **options)

    from . import files

    grid = None
    if point is not None or bbox is not None:
        grid = grid_for(point=point, size_m=size_m, bbox=bbox, resolution=resolution, crs=crs)
    start, end = parse_dates(dates) if dates is not None else (None, None)
    return files.load(source, grid, start, end, product=product, bands=bands, **options)


def _load_tile(
    source: str | os.PathLike | Sequence[str | os.PathLike],
    tile: str | None,
    ids: str | Sequence[str] | None,
    point: tuple[float, float] | None,
    bbox: tuple[float, float, float, float] | None,
    dates: tuple[str, str] | None,
    resolution: float,
    crs: str | int | None,
    product: str,
    bands: Sequence[str] | None,
    options: dict,
) -> xr.DataArray:
    """:func:`load` with ``tile`` or ``ids``: every argument checked, then the catalog's."""
    given = "tile=" if tile is not None else "ids="
    if tile is not None and ids is not None:
        raise ValueError("give tile= or ids=, not both (the ids already say their tile)")
    if not (isinstance(source, str) and source in CATALOG_SOURCES):
        raise ValueError(
            f"{given} searches a STAC catalog: use source='earth-search' or "
            f"'planetary-computer', not {source!r}. For the demo give point= or bbox=; local "
            "files are loaded whole (or cut with point= or bbox=)."
        )
    if point is not None or bbox is not None:
        raise ValueError(
            f"{given} replaces point= and bbox= (the tile is the area): give {given} or "
            "point=/bbox=, not both"
        )
    if crs is not None:
        raise ValueError(
            f"crs= cannot be given with {given}: the grid is the tile's own, in the tile's UTM "
            "CRS (from the items). Drop crs=, or load an area in another CRS with bbox= and crs="
        )
    if tile is not None and dates is None:
        raise ValueError(f"tile= needs dates=('YYYY-MM-DD', 'YYYY-MM-DD') (source {source!r})")
    start, end = parse_dates(dates) if dates is not None else (None, None)
    if ids is not None:
        options.setdefault("max_cloud_cover", None)  # the items asked for, whatever their cloud
    from . import stac

    return stac.load(source, None, start, end, tile=tile, ids=ids, resolution=resolution,
                     product=product, bands=bands, **options)  # fmt: skip


def load_lst(
    source: str | os.PathLike = "demo",
    *,
    point: tuple[float, float] | None = None,
    dates: tuple[str, str] | None = None,
    size_m: float = 10_000,
    bbox: tuple[float, float, float, float] | None = None,
    **options,
) -> xr.DataArray:
    """Load land surface temperature ``(time, y, x)`` in kelvin on the thermal product's own grid.

    Parameters
    ----------
    source
        ``"demo"`` (a Sentinel-3-like ~1 km LST in EPSG:4326), ``"planetary-computer"``
        (Sentinel-3 SLSTR LST, or Landsat Collection 2 surface temperature with
        ``product="landsat"``), ``"earth-search"`` (Landsat), or the path of an LST GeoTIFF.
    point, size_m, bbox, dates
        The area and dates, as for :func:`load`. The LST keeps its own grid: the area only says
        which part of it to return (every LST pixel that touches the area).
    """
    if isinstance(source, str) and source in SOURCES:
        if dates is None:
            raise ValueError(f"source {source!r} needs dates=('YYYY-MM-DD', 'YYYY-MM-DD')")
        start, end = parse_dates(dates)
        area = grid_for(point=point, size_m=size_m, bbox=bbox, resolution=10)
        if source == "demo":
            from . import demo

            return demo.load_lst(area, start, end, **options)
        from . import stac

        return stac.load_lst(source, area, start, end, **options)

    from . import files

    area = None
    if point is not None or bbox is not None:
        area = grid_for(point=point, size_m=size_m, bbox=bbox, resolution=10)
    start, end = parse_dates(dates) if dates is not None else (None, None)
    return files.load_lst(source, area, start, end, **options)
