"""A whole Sentinel-2 tile, or the items named by id: the grid is the items' own.

A ``tile=`` or ``ids=`` load is not an area in lon/lat but what the catalog delivers: the tile's
109.8 km square in its own UTM CRS. :func:`items_grid` reads that square from the items
(``proj:transform`` and ``proj:shape``, or ``proj:bbox``; the EPSG from ``proj:epsg`` or
``proj:code``) and lays the requested resolution on it from its top-left corner, so that a 20 m
load is exactly the tile's 20 m pixels. (The search for the items is ``_catalog``'s
:func:`~._catalog.find_tile_items`.)
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pyproj

from ...geo import MAX_PIXELS, Grid
from ._catalog import item_mgrs_tile

if TYPE_CHECKING:
    import pystac

__all__ = ["check_resolution", "item_footprint", "items_grid"]


def item_footprint(
    item: pystac.Item, assets: Sequence[str] = ()
) -> tuple[int, tuple[float, float, float, float]]:
    """(EPSG, (left, bottom, right, top)) of the item's raster in its own CRS.

    Read from the given ``assets`` (their union when they differ), else from the item's
    properties, else from any asset that has them: ``proj:bbox``, or ``proj:transform`` with
    ``proj:shape``; the EPSG from ``proj:epsg`` or ``proj:code`` (of the asset, else the item).

    Raises
    ------
    ValueError
        The item says neither, or its raster is not north-up.
    """
    properties = item.properties
    chosen = [item.assets[k].extra_fields for k in assets if k in item.assets]
    found = [f for f in chosen if _bounds(f, item.id) is not None]
    if not found:
        found = [properties] if _bounds(properties, item.id) is not None else []
    if not found:
        found = [a.extra_fields for a in item.assets.values()]
        found = [f for f in found if _bounds(f, item.id) is not None][:1]
    epsgs = {_epsg(f) or _epsg(properties) for f in found}
    if not found or None in epsgs:
        raise ValueError(
            f"STAC item {item.id!r} does not say where its pixels are (proj:transform with "
            "proj:shape, or proj:bbox, and proj:epsg or proj:code): its tile's grid cannot be "
            "taken from it. Load it with bbox= (or point=) instead."
        )
    if len(epsgs) > 1:
        raise ValueError(f"STAC item {item.id!r} has assets in several CRSs: EPSG {sorted(epsgs)}")
    boxes = [_bounds(f, item.id) for f in found]
    left, bottom = min(b[0] for b in boxes), min(b[1] for b in boxes)
    right, top = max(b[2] for b in boxes), max(b[3] for b in boxes)
    return epsgs.pop(), (left, bottom, right, top)


def items_grid(
    items: Sequence[pystac.Item],
    resolution: float,
    assets: Sequence[Sequence[str]] | None = None,
    *,
    asked: str,
) -> Grid:
    """The grid of a tile or id load: the items' footprint (:func:`item_footprint`) in their
    CRS, ``resolution`` pixels laid from its top-left corner (``ceil(side / resolution)`` of
    them: 5490 at 20 m on a 109.8 km tile).

    Parameters
    ----------
    items
        The items found, all of one tile.
    resolution
        Pixel size in metres.
    assets
        Per item, the asset keys that will be read (their footprint is the grid's).
    asked
        What was asked (``"tile='32TMT'"``, ``"ids=[...]"``), for the messages.

    Raises
    ------
    ValueError
        A non-positive resolution; items of several tiles or CRSs; an item without its grid;
        a grid larger than :data:`~compositing.geo.MAX_PIXELS`.
    """
    resolution = check_resolution(resolution)
    tiles = sorted({t for t in (item_mgrs_tile(item) for item in items) if t})
    if len(tiles) > 1:
        raise ValueError(
            f"{asked}: the items are of {len(tiles)} tiles ({', '.join(tiles)}), but all must be "
            "of the same tile (a tile or id load is on that tile's grid): load each tile on its "
            "own, or the area they cover with bbox="
        )
    footprints = [
        item_footprint(item, assets[i] if assets is not None else ())
        for i, item in enumerate(items)
    ]
    epsgs = sorted({epsg for epsg, _ in footprints})
    if len(epsgs) > 1:
        raise ValueError(
            f"{asked}: the items are in {len(epsgs)} CRSs (EPSG {', '.join(map(str, epsgs))}), "
            "but all must be of the same tile and CRS (a tile or id load is on that tile's "
            "grid): load each tile on its own, or the area they cover with bbox="
        )
    left = min(b[0] for _, b in footprints)
    bottom = min(b[1] for _, b in footprints)
    right = max(b[2] for _, b in footprints)
    top = max(b[3] for _, b in footprints)
    # A whole number of pixels from the corner; rounding noise does not add a column.
    width = max(1, math.ceil((right - left) / resolution - 1e-6))
    height = max(1, math.ceil((top - bottom) / resolution - 1e-6))
    if width * height > MAX_PIXELS:
        raise ValueError(
            f"{asked} at {resolution} m is {width} x {height} pixels per image, more than this "
            f"tool will plan ({MAX_PIXELS:,} pixels): use a coarser resolution"
        )
    crs = pyproj.CRS.from_epsg(epsgs[0])
    return Grid(crs, float(resolution), float(left), float(top), int(width), int(height))


def check_resolution(resolution: Any) -> float:
    """``resolution`` as a float; a ``ValueError`` unless it is a positive number."""
    valid = isinstance(resolution, numbers.Real) and not isinstance(resolution, bool)
    if not valid or not math.isfinite(resolution) or resolution <= 0:
        raise ValueError(f"resolution must be a positive number of metres, not {resolution!r}")
    return float(resolution)


def _epsg(fields: Mapping[str, Any]) -> int | None:
    if fields.get("proj:epsg") is not None:
        return int(fields["proj:epsg"])
    code = fields.get("proj:code")
    if isinstance(code, str) and code.upper().startswith("EPSG:"):
        return int(code.split(":", 1)[1])
    return None


def _bounds(fields: Mapping[str, Any], item_id: str) -> tuple[float, float, float, float] | None:
    """(left, bottom, right, top) from ``proj:transform`` and ``proj:shape``, else ``proj:bbox``."""
    transform, shape = fields.get("proj:transform"), fields.get("proj:shape")
    if transform is not None and shape is not None and len(transform) >= 6 and len(shape) == 2:
        a, b, c, d, e, f = (float(v) for v in transform[:6])
        if b != 0 or d != 0 or a <= 0 or e >= 0:
            raise ValueError(
                f"STAC item {item_id!r} has a rotated or flipped raster (proj:transform "
                f"{list(transform)[:6]}): a tile load needs a north-up grid; use bbox= instead"
            )
        height, width = int(shape[0]), int(shape[1])
        return c, f + e * height, c + a * width, f
    box = fields.get("proj:bbox")
    if box is not None and len(box) in (4, 6):
        b = [float(v) for v in box]
        return (b[0], b[1], b[3], b[4]) if len(b) == 6 else (b[0], b[1], b[2], b[3])
    return None
