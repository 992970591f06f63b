"""From layer values to map images: colours (the seeds' visualisation) and Web Mercator pixels.

Every image is an (H, W, 4) ``uint8`` RGBA array, north up, with its bounds in EPSG:3857: the map
shows it as an ``hv.RGB`` directly, without reprojection. Masked (NaN) pixels are transparent.
Thermal layers live on their own grids (the LST on 0.01-degree cells, the NDVI and sharpened LST
on a 10 m grid around the point); Datashader regrids them onto the view's pixels.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import datashader as ds
import numpy as np
import pyproj
import xarray as xr

from compositing import visualisation as vis
from compositing.sources import Grid

from .options import LAYERS_BY_KEY, ee_band_name, layer_title
from .settings import Settings
from .view import WEB_MERCATOR, to_mercator

NDVI_RANGE = (-0.2, 0.9)
NDVI_PALETTE = ("#8c510a", "#d8b365", "#f6e8c3", "#c7e9c0", "#41ab5d", "#00441b")
LST_PALETTE = ("#000004", "#420a68", "#932667", "#dd513a", "#fca50a", "#fcffa4")
MASK_COLOUR, MASK_OPACITY = "#ffa500", 0.5  # orange at 50%, as the cloudless seed shows it


@dataclass(frozen=True)
class Legend:
    """What the legend shows for a layer.

    ``kind``: ``"rgb"`` (bands and range), ``"ramp"`` (a palette from ``minimum`` to
    ``maximum``), ``"classes"`` (colour and name pairs) or ``"swatch"`` (one colour).
    """

    title: str
    kind: str
    minimum: float = 0.0
    maximum: float = 1.0
    gamma: float = 1.0
    palette: tuple[str, ...] = ()
    units: str = ""
    classes: tuple[tuple[str, str], ...] = ()
    opacity: float = 1.0


@dataclass(frozen=True)
class LayerImage:
    """A coloured layer, ready for the map."""

    key: str
    rgba: np.ndarray = field(repr=False)
    bounds: tuple[float, float, float, float]  # left, bottom, right, top in EPSG:3857
    legend: Legend


def colour_layer(key: str, values: xr.DataArray, settings: Settings) -> LayerImage:
    """Colour a non-thermal layer's values (see :meth:`app.pipeline.Pipeline.layer_values`)."""
    spec = LAYERS_BY_KEY[key]
    title = layer_title(spec, settings.rgb_bands)
    if spec.kind == "rgb":
        minimum, maximum, gamma = _rgb_range(values, settings, spec.method)
        bands = [values.isel(band=i).values for i in range(3)]
        rgba = vis.rgb_to_rgba(*bands, minimum, maximum, gamma)
        bands_text = ", ".join(ee_band_name(b) for b in settings.rgb_bands)
        legend = Legend(title, "rgb", minimum, maximum, gamma, units=bands_text)
    elif spec.kind == "classes":
        rgba = vis.classes_to_rgba(values.values)
        present = set(np.unique(values.values[np.isfinite(values.values)]).astype(int))
        classes = tuple((c.colour, c.name) for c in vis.SCL_CLASSES if c.value in present)
        legend = Legend(title, "classes", classes=classes)
    elif spec.kind == "band":
        params = vis.EXAMPLE_VIS[key]
        rgba = vis.palette_to_rgba(values.values, params.minimum, params.maximum, params.palette)
        units = "observations" if key == "count" else "MSK_CLDPRB (%)"
        legend = Legend(title, "ramp", params.minimum, params.maximum, palette=params.palette,
                        units=units)  # fmt: skip
    elif spec.kind == "mask":
        rgba = vis.mask_to_rgba(values.values, MASK_COLOUR, MASK_OPACITY)
        date = str(np.datetime_as_string(values["time"].values, unit="m")).replace("T", " ")
        method = settings.cloud_mask.method
        legend = Legend(f"{title} ({method}, {date})", "swatch",
                        palette=(MASK_COLOUR,), opacity=MASK_OPACITY)  # fmt: skip
    else:
        raise ValueError(f"{key} is a thermal layer: use colour_thermal_layer")
    return LayerImage(key, rgba, vis.pixel_bounds(values), legend)


def colour_thermal_layer(
    key: str, values: np.ndarray, grid: Grid, lst_limits: tuple[float, float], title: str
) -> LayerImage:
    """Colour a thermal layer already regridded onto the view (see :func:`regrid`)."""
    if key == "ndvi":
        minimum, maximum, palette, units = *NDVI_RANGE, NDVI_PALETTE, "NDVI"
    else:
        minimum, maximum = np.floor(lst_limits[0]), np.ceil(lst_limits[1])
        if maximum <= minimum:
            maximum = minimum + 1
        palette, units = LST_PALETTE, "K"
    rgba = vis.palette_to_rgba(values, minimum, maximum, palette)
    legend = Legend(title, "ramp", float(minimum), float(maximum), palette=palette, units=units)
    return LayerImage(key, rgba, grid.bounds, legend)


def _rgb_range(
    values: xr.DataArray, settings: Settings, method: str | None
) -> tuple[float, float, float]:
    stretch = settings.stretch
    if stretch.mode == "manual":
        return stretch.minimum, stretch.maximum, stretch.gamma
    if stretch.mode == "auto":
        low, high = vis.percentile_range(values.values, *stretch.percentiles)
        return low, high, stretch.gamma
    seed = vis.EXAMPLE_VIS["quality_mosaic" if method == "quality_mosaic" else "rgb"]
    return seed.minimum, seed.maximum, seed.gamma


def regrid(values: xr.DataArray, grid: Grid) -> np.ndarray:
    """``values`` (y, x) with a CRS, on the pixels of an EPSG:3857 ``grid``: (H, W), north up,
    NaN outside the data.

    Datashader does the work: ``Canvas.raster`` for a regular Web Mercator array (nearest when
    zoomed in, mean when zoomed out), ``Canvas.quadmesh`` for lon/lat cells, whose Web Mercator
    rows are not evenly spaced. Other CRSs are reprojected to Web Mercator first.
    """
    left, bottom, right, top = grid.bounds
    canvas = ds.Canvas(
        plot_width=grid.width,
        plot_height=grid.height,
        x_range=(left, right),
        y_range=(bottom, top),
    )
    values = values.astype(np.float64).rename("values")
    crs = pyproj.CRS.from_user_input(values.rio.crs)
    if crs.equals(pyproj.CRS.from_epsg(4326)):
        x, _ = to_mercator(values["x"].values, np.zeros(values.sizes["x"]))
        _, y = to_mercator(np.zeros(values.sizes["y"]), values["y"].values)
        in_mercator = values.assign_coords(x=x, y=y)
        out = canvas.quadmesh(in_mercator, x="x", y="y", agg=ds.mean("values"))
    else:
        if not crs.equals(pyproj.CRS.from_user_input(WEB_MERCATOR)):
            values = values.rio.reproject(WEB_MERCATOR)
        out = canvas.raster(values, interpolate="nearest", agg="mean")
    out = out.transpose("y", "x")
    if out["y"].values[0] < out["y"].values[-1]:
        out = out.isel(y=slice(None, None, -1))
    return np.asarray(out.values, dtype=np.float64)
