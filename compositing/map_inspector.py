"""``Map.inspector``: the dashboard's pixel inspector in a notebook.

A click on the map (a HoloViews ``Tap`` stream, live in a notebook's kernel) charts the
collection's series at that pixel (:func:`~compositing.inspection.pixel_series`, drawn by
:func:`~compositing.series_chart.series_chart`) and lists every map layer's value there, as the
Code Editor's Inspector tab does. Only the clicked pixel is computed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import xarray as xr

from .bands import ee_band_name, resolve_band
from .contract import band_names
from .geo import LONLAT, transformer
from .inspection import pixel_index, pixel_series
from .series_chart import series_chart

__all__ = ["inspector_panels", "layer_values"]

CHART_WIDTH = 520


def layer_values(
    images: Sequence[tuple[str, xr.DataArray]], point: tuple[float, float], crs: object
) -> list[tuple[str, str]]:
    """(layer name, its bands' values at ``point``) for each ``(name, (band, y, x) image)``;
    a layer the point is outside of says so. ``point`` is (x, y) in ``crs``."""
    rows = []
    for name, image in images:
        try:
            row, column = pixel_index(image, point, crs=crs)
        except ValueError:
            rows.append((name, "outside the layer"))
            continue
        values = np.asarray(image.isel(y=row, x=column).values, dtype=float)  # one pixel
        text = ", ".join(
            f"{ee_band_name(band)} {'masked' if np.isnan(v) else f'{v:.6g}'}"
            for band, v in zip(band_names(image), np.atleast_1d(values), strict=True)
        )
        rows.append((name, text))
    return rows


def inspector_panels(
    map_overlay,
    images: Sequence[tuple[str, xr.DataArray]],
    collection: xr.DataArray,
    *,
    map_crs: object,
    bands: Sequence[str] | None = None,
    masks: Mapping[str, xr.DataArray] | None = None,
    quality: str | xr.DataArray | None = None,
    point: tuple[float, float] | None = None,
):
    """The map, the chart of the clicked pixel's series and the layers' values there, as a
    one-column ``hv.Layout`` (see :meth:`compositing.facade.Map.inspector` for the parameters;
    ``point`` is (lon, lat), default the collection's centre)."""
    import holoviews as hv

    to_map = transformer(LONLAT, map_crs)
    if point is None:
        centre = float(collection["x"].mean()), float(collection["y"].mean())
        x, y = transformer(collection.rio.crs, map_crs).transform(*centre)
    else:
        x, y = to_map.transform(*point)
    tap = hv.streams.Tap(source=map_overlay, x=x, y=y)
    names = band_names(collection)
    drawn = [resolve_band(b, names, what="inspector bands") for b in (bands or names[:3])]

    def chart(x: float, y: float):
        try:
            series = pixel_series(collection, (x, y), crs=map_crs, masks=masks, quality=quality)
        except ValueError as error:  # a click outside the collection: say so, keep the chart
            return hv.Overlay([hv.Curve([])]).opts(title=f"No series here: {error}")
        lon, lat = transformer(map_crs, LONLAT).transform(x, y)
        return series_chart(
            series.compute(), bands=drawn, labels={b: ee_band_name(b) for b in drawn},
            title=f"Pixel at {lon:.5f}, {lat:.5f}", width=CHART_WIDTH,
        )  # fmt: skip

    def table(x: float, y: float):
        rows = layer_values(images, (x, y), map_crs)
        return hv.Table(rows, ["layer"], ["value at the point"]).opts(width=CHART_WIDTH)

    return (
        map_overlay + hv.DynamicMap(chart, streams=[tap]) + hv.DynamicMap(table, streams=[tap])
    ).cols(1)
