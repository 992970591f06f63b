"""STAC items onto exactly the requested grid, with stackstac: raw DN, nothing converted.

Both the Sentinel-2 and the Landsat loaders go through here: each item becomes the plain dict
stackstac reads (:func:`item_for_stackstac`), and :func:`stack_on_grid` stacks them lazily on a
:class:`~compositing.geo.Grid`, checks that stackstac put the pixels where they were asked, and
reads through :class:`~._asset_reader.AssetReader` so that a failing read names its asset.
Units (scale, offset, no data) are the loaders' business.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from ...geo import Grid

if TYPE_CHECKING:
    import pystac

__all__ = ["grid_epsg", "item_for_stackstac", "stack_on_grid"]


def item_for_stackstac(
    item: pystac.Item, keys: Sequence[str], renames: Mapping[str, str] | None = None
) -> dict:
    """The item as a plain dict for stackstac: absolute hrefs, ``proj:epsg`` from ``proj:code``
    (stackstac 0.5 reads only ``proj:epsg``), renamed assets; a missing asset is an error.

    Parameters
    ----------
    item
        The STAC item (left unchanged).
    keys
        The asset keys the dict has, in this order.
    renames
        ``{key: the item's own asset key}`` where they differ (e.g. ``red`` from CDSE's
        ``B04_10m``).
    """
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


def grid_epsg(grid: Grid) -> int:
    """The EPSG code of ``grid``'s CRS, which stackstac needs; a ``ValueError`` if it has none."""
    epsg = grid.epsg
    if epsg is None:
        raise ValueError(
            f"the grid's CRS ({grid.crs.to_string()}) has no EPSG code, which stackstac needs: "
            "use crs='EPSG:xxxx' (the default UTM zone, or EPSG:3857)"
        )
    return int(epsg)


def stack_on_grid(
    item_dicts: list[dict], keys: list[str], grid: Grid, *, chunksize: int | tuple
) -> xr.DataArray:
    """Raw DN ``(time, band, y, x)`` (float32, NaN outside footprints) on exactly ``grid``'s
    pixel centres, one image per item, bands named by ``keys``. Lazy: nothing is read.

    Parameters
    ----------
    item_dicts
        Items as :func:`item_for_stackstac` makes them.
    keys
        The asset keys to stack (every item dict has them).
    grid
        The output grid; its CRS needs an EPSG code.
    chunksize
        Spatial chunk size in pixels (one image and one band per chunk).
    """
    import stackstac

    from ._asset_reader import AssetReader

    x, y = grid.x, grid.y
    stack = stackstac.stack(
        item_dicts,
        assets=keys,
        epsg=grid_epsg(grid),
        resolution=grid.resolution,
        bounds=grid.bounds,
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
    _check_placement(stack, keys, x, y, grid.resolution)
    # Same grid within rounding: use the requested coordinates exactly.
    keep = [n for n in stack.coords if n not in ("time", "band", "x", "y")]
    return stack.drop_vars(keep).assign_coords(x=x, y=y)


def _check_placement(
    stack: xr.DataArray, keys: list[str], x: np.ndarray, y: np.ndarray, resolution: float
) -> None:
    """stackstac computes its own grid from the bounds: make sure it is the one asked for."""
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


def _set_epsg(fields: dict) -> None:
    if fields.get("proj:epsg") is None:
        code = fields.get("proj:code")
        if isinstance(code, str) and code.upper().startswith("EPSG:"):
            fields["proj:epsg"] = int(code.split(":", 1)[1])


def _gdal_env(item_dicts: Sequence[dict]) -> Any:
    """stackstac's GDAL environment, asking requester-pays S3 buckets to bill the reader."""
    import stackstac

    hrefs = (a["href"] for d in item_dicts for a in d["assets"].values())
    if any(str(h).startswith("s3://") for h in hrefs):
        return stackstac.DEFAULT_GDAL_ENV.updated(always={"AWS_REQUEST_PAYER": "requester"})
    return None
