"""Layer values on their own grids, resampled onto the view's Web Mercator pixels (Datashader).

Thermal layers live on grids of their own (the LST on 0.01-degree cells, the NDVI and sharpened
LST on a 10 m grid around the point); the map shows every image on the view's pixels.
"""

from __future__ import annotations

import datashader as ds
import numpy as np
import xarray as xr

from compositing.geo import LONLAT, Grid, same_crs

from .view import WEB_MERCATOR, to_mercator


def regrid(values: xr.DataArray, grid: Grid) -> np.ndarray:
    """``values`` (y, x) with a CRS, on the pixels of an EPSG:3857 ``grid``: (H, W), north up,
    NaN outside the data.

    Datashader does the work: ``Canvas.raster`` for a regular Web Mercator array (nearest when
    zoomed in, mean when zoomed out), ``Canvas.quadmesh`` for lon/lat cells, whose Web Mercator
    rows are not evenly spaced. Other CRSs are reprojected to Web Mercator first.

    Parameters
    ----------
    values
        A (y, x) array whose CRS ``values.rio.crs`` gives.
    grid
        The view's grid (EPSG:3857).
    """
    left, bottom, right, top = grid.bounds
    canvas = ds.Canvas(
        plot_width=grid.width,
        plot_height=grid.height,
        x_range=(left, right),
        y_range=(bottom, top),
    )
    values = values.astype(np.float64).rename("values")
    crs = values.rio.crs
    if same_crs(crs, LONLAT):
        x, _ = to_mercator(values["x"].values, np.zeros(values.sizes["x"]))
        _, y = to_mercator(np.zeros(values.sizes["y"]), values["y"].values)
        in_mercator = values.assign_coords(x=x, y=y)
        out = canvas.quadmesh(in_mercator, x="x", y="y", agg=ds.mean("values"))
    else:
        if not same_crs(crs, WEB_MERCATOR):
            values = values.rio.reproject(WEB_MERCATOR)
        out = canvas.raster(values, interpolate="nearest", agg="mean")
    out = out.transpose("y", "x")
    if out["y"].values[0] < out["y"].values[-1]:
        out = out.isel(y=slice(None, None, -1))
    return np.asarray(out.values, dtype=np.float64)
