"""The pixel inspector panel: the point's time series, what the composites took there, and the
value of every layer on the map.

A click on the map moves the point; the refresh then computes the point's series
(:mod:`app.inspection`) and hands it here. The chart is the engine's
:func:`compositing.series_chart.series_chart` (the notebooks' ``Map.inspector`` draws the same),
with the timeline's image marked; choosing another image on the timeline only redraws the chart
(:meth:`PixelInspector.highlight`), nothing is computed.
"""

from __future__ import annotations

import functools
import html
from collections.abc import Hashable

import holoviews as hv
import numpy as np
import pandas as pd
import panel as pn
import param
import xarray as xr

from compositing.bands import ee_band_name
from compositing.inspection import taken_time
from compositing.series_chart import series_chart, series_table

from .layers import minute_text

CHART_HEIGHT = 320
_HINT = "Click the map to inspect a pixel: its images over time and every layer's value there."


class PixelInspector(pn.viewable.Viewer):
    """The series of the point's pixel, with the composites' picks, and the layers' values.

    Parameters
    ----------
    width
        The panel's width in pixels.
    """

    summary = param.String(default=_HINT, doc="What the chart shows, in words.")
    point = param.Tuple(default=None, allow_None=True, length=2, doc="(lon, lat) inspected.")

    def __init__(self, *, width: int = 420, **params) -> None:
        super().__init__(**params)
        self.width = width
        #: The last series shown (computed), the bands drawn and the timeline's image.
        self.series: xr.Dataset | None = None
        self._bands: tuple[str, ...] = ()
        self._highlight: str | None = None
        #: What the series shown was computed from (see :meth:`show`); None: no series.
        self.shown_key: Hashable = None
        #: The chart's data stream and the bands it draws (see :meth:`_draw`).
        self._chart_data: hv.streams.Pipe | None = None
        self._chart_bands: tuple[str, ...] = ()
        self.chart = pn.pane.HoloViews(None, height=CHART_HEIGHT, width=width, margin=0)
        self.table = pn.pane.DataFrame(
            None, index=False, width=width, sizing_mode="fixed", max_rows=60,
            float_format=lambda value: f"{value:.6g}",
            styles={"font-size": "11px"}, margin=(0, 0),
        )  # fmt: skip
        self.layer_values = pn.pane.HTML("", width=width, margin=(8, 0, 4, 0))

    # --- what the refresh calls -------------------------------------------------------------

    def show(
        self, series: xr.Dataset, bands: tuple[str, ...], point: tuple[float, float],
        highlight: str | None, *, key: Hashable = None,
    ) -> None:  # fmt: skip
        """Show a computed series (:func:`app.inspection.inspect_pixel`) of ``bands`` at
        ``point``, the timeline's image ``highlight`` (ISO time) marked. ``key`` names what
        the series was computed from: kept as :attr:`shown_key`, so that a refresh that
        would compute the same series only moves the highlight."""
        self.series, self._bands, self._highlight = series, tuple(bands), highlight
        self.point = tuple(point)
        self.shown_key = key
        self._draw()

    def show_problem(self, text: str, point: tuple[float, float]) -> None:
        """Say why the point has no series (e.g. outside the view); the chart is cleared."""
        self.series = None
        self.shown_key = None
        self.point = tuple(point)
        self.chart.object = None
        self._chart_data = None
        self.table.object = None
        self.summary = f"**{_where(point)}**: no series here, {text}"

    def show_layer_values(self, rows: list[tuple[str, str]]) -> None:
        """List each shown layer's value at the point: (label, value in words)."""
        if not rows:
            self.layer_values.object = ""
            return
        cells = "".join(
            f"<tr><td>{html.escape(label)}</td><td><b>{html.escape(value)}</b></td></tr>"
            for label, value in rows
        )
        self.layer_values.object = (
            "<table style='font-size:12px;border-collapse:collapse'>"
            f"<caption style='text-align:left'>Layers at the point</caption>{cells}</table>"
        )

    def highlight(self, time: str | None) -> None:
        """Mark the timeline's image (ISO time) on the chart, without computing anything."""
        if time == self._highlight:
            return
        self._highlight = time
        if self.series is not None:
            self._draw()

    # --- drawing ----------------------------------------------------------------------------

    def _draw(self) -> None:
        series, bands = self.series, list(dict.fromkeys(self._bands))
        highlight = self._highlight if self._is_image(self._highlight) else None
        drawn = (series, highlight, f"Pixel at {_where(self.point)}")
        if self._chart_data is not None and tuple(bands) == self._chart_bands:
            # Same bands, same chart parts: the plot updates in place, and the browser gets
            # new data instead of a new figure (which costs it about a second to build).
            self._chart_data.send(drawn)
        else:
            self._chart_bands = tuple(bands)
            self._chart_data = hv.streams.Pipe(data=drawn)
            self.chart.object = hv.DynamicMap(
                functools.partial(self._chart, bands), streams=[self._chart_data]
            )
        table = series_table(series, bands)
        table.insert(0, "", np.where(self._is_row(table["date"], highlight), "▶", ""))
        table["date"] = table["date"].dt.strftime("%Y-%m-%d %H:%M")
        table = table.rename(columns={b: ee_band_name(b) for b in bands})
        self.table.object = table
        self.summary = f"**{_where(self.point)}**: {_summary(series, bands, highlight)}"

    def _chart(self, bands: list[str], data: tuple) -> hv.Overlay:
        series, highlight, title = data
        return series_chart(
            series, bands=bands, highlight=highlight, width=self.width, height=CHART_HEIGHT,
            labels={band: ee_band_name(band) for band in bands}, title=title,
        )  # fmt: skip

    def _is_image(self, time: str | None) -> bool:
        return time is not None and np.datetime64(time) in self.series["time"].values

    @staticmethod
    def _is_row(dates: pd.Series, highlight: str | None) -> np.ndarray:
        if highlight is None:
            return np.zeros(len(dates), bool)
        return (dates == pd.Timestamp(highlight)).to_numpy()

    def __panel__(self) -> pn.viewable.Viewable:
        return pn.Column(
            pn.pane.Markdown("**Pixel inspector**", margin=(10, 0, 0, 0)),
            pn.pane.Markdown(self.param.summary, styles={"font-size": "12px"}, margin=(0, 0)),
            self.chart,
            self.layer_values,
            self.table,
            width=self.width,
        )


def _where(point: tuple[float, float] | None) -> str:
    return "—" if point is None else f"{point[0]:.5f}, {point[1]:.5f}"


def _summary(series: xr.Dataset, bands: list[str], highlight: str | None) -> str:
    """The chart in words: how many images the composites read, and which ones the mosaics
    took."""
    total = series.sizes["time"]
    kept = int(series["kept"].sel(band=bands).all("band").sum())
    parts = [f"{kept} of {total} images kept by the cloud mask (crosses: dropped, with why)."]
    taken = {t for t in taken_time(series.sel(band=bands), "mosaic_image") if t is not None}
    if taken:
        days = ", ".join(minute_text(t) for t in sorted(taken))
        parts.append(f"Mosaic (▲) took {days}: the last image kept.")
    else:
        parts.append("Mosaic: no image kept here.")
    if "quality_mosaic_image" in series:
        (best,) = taken_time(series, "quality_mosaic_image")
        if best is not None:
            parts.append(f"Best-pixel mosaic (◆) took {minute_text(best)}: the lowest MSK_CLDPRB.")
    parts.append("Lines: median (dashed), min and max (dotted) of the kept values.")
    if highlight is not None:
        parts.append(f"Timeline image: {minute_text(highlight)} (▶ in the table).")
    return " ".join(parts)
