"""The NDVI-LST panel: the 1 km pairs, the fitted line, its equation, and the fit's filters.

Pairs used by the fit and pairs removed (by the NDVI and LST ranges, or because clouds or the
area's edge left too little of the cell) are told apart by colour, with a legend. The two ranges
are edited here; the dashboard refits as soon as they change. Pairs selected here (box, lasso or
click) are published as their cells' outlines in Web Mercator, for the map to highlight.
"""

from __future__ import annotations

import holoviews as hv
import numpy as np
import pandas as pd
import panel as pn
import param
import xarray as xr

from compositing.geo import transformer
from compositing.thermal import DEFAULT_LST_RANGE, DEFAULT_NDVI_RANGE, SharpenResult

from .view import WEB_MERCATOR

USED, FILTERED, PARTIAL = "used by the fit", "removed by the ranges", "removed: partial cell"
COLOURS = {USED: "#1565c0", FILTERED: "#ef6c00", PARTIAL: "#9e9e9e"}
FIT_COLOUR = "#c62828"
PLOT_HEIGHT = 440


def equation_text(fit: SharpenResult) -> str:
    """``LST = -22.96 × NDVI + 318.21 K``."""
    sign = "−" if fit.intercept < 0 else "+"
    return f"LST = {fit.slope:.2f} × NDVI {sign} {abs(fit.intercept):.2f} K".replace("-", "−")


def pair_groups(samples: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The pairs by what happened to them (rows with no LST cannot be drawn and are left out)."""
    drawable = samples[np.isfinite(samples["lst"]) & np.isfinite(samples["ndvi"])]
    by_range = drawable["excluded"].isin(["ndvi_range", "lst_range"])
    return {
        USED: drawable[drawable["used"]],
        FILTERED: drawable[~drawable["used"] & by_range],
        PARTIAL: drawable[~drawable["used"] & ~by_range],
    }


def cell_outlines(
    pairs: pd.DataFrame, lst_grid: xr.DataArray
) -> list[tuple[float, float, float, float]]:
    """(x0, y0, x1, y1) in EPSG:3857 of the LST cells of ``pairs`` (their ``x``/``y`` centres are
    in the LST's CRS, whose grid and CRS ``lst_grid`` gives)."""
    dx = abs(float(lst_grid["x"][1] - lst_grid["x"][0])) if lst_grid.sizes["x"] > 1 else 0.01
    dy = abs(float(lst_grid["y"][1] - lst_grid["y"][0])) if lst_grid.sizes["y"] > 1 else dx
    to_map = transformer(lst_grid.rio.crs, WEB_MERCATOR)
    outlines = []
    for x, y in zip(pairs["x"], pairs["y"], strict=True):
        bounds = to_map.transform_bounds(x - dx / 2, y - dy / 2, x + dx / 2, y + dy / 2)
        outlines.append(tuple(float(v) for v in bounds))
    return outlines


class ThermalScatter(pn.viewable.Viewer):
    """Scatter of the 1 km NDVI-LST pairs with the fitted line and the filter ranges.

    The plot is built once: the pairs, the line and the ranges' box are DynamicMaps fed by
    pipes, and a new fit only sends them its data. Rebuilding the HoloViews plot for every fit
    cost 0.45-0.7 s of the server's event loop per session in a profile of ten pages opening
    together (every page draws its first fit). The equation is in the summary below the plot.
    """

    ndvi_range = param.Range(default=DEFAULT_NDVI_RANGE, bounds=(-0.2, 1.0))
    lst_range = param.Range(default=DEFAULT_LST_RANGE, bounds=(250.0, 350.0))
    summary = param.String(default="Computing the thermal fit…")
    selected_cells = param.List(
        default=[], doc="Outlines (x0, y0, x1, y1) in EPSG:3857 of the selected pairs' cells."
    )

    def __init__(self, **params) -> None:
        super().__init__(**params)
        self.fit: SharpenResult | None = None
        #: The pairs drawn, in the order of the plot's points (what a selection indexes).
        self._drawn = _no_pairs()
        self._pairs = hv.streams.Pipe(data=self._drawn)
        self._line = hv.streams.Pipe(data=(np.array([]), np.array([])))
        (n0, n1), (t0, t1) = DEFAULT_NDVI_RANGE, DEFAULT_LST_RANGE
        self._box = hv.streams.Pipe(data=(n0, t0, n1, t1))
        pairs = hv.DynamicMap(_pairs_element, streams=[self._pairs])
        self.selection = hv.streams.Selection1D(source=pairs)
        self.selection.add_subscriber(self._select)
        line = hv.DynamicMap(_line_element, streams=[self._line])
        box = hv.DynamicMap(_box_element, streams=[self._box])
        overlay = (box * pairs * line).opts(
            hv.opts.Overlay(
                title="1 km pairs and the fitted line",
                legend_position="bottom",
                legend_cols=2,
                responsive=True,
                height=PLOT_HEIGHT,
                xlabel="NDVI (mean of the 10 m pixels)",
                ylabel="LST (K)",
                fontsize={"title": 11},
                active_tools=["box_select", "wheel_zoom"],
            ),  # fmt: skip
            # The axes follow each fit's pairs (and its line and ranges).
            hv.opts.Points(framewise=True),
            hv.opts.Curve(framewise=True),
            hv.opts.Bounds(framewise=True),
        )
        self.plot = pn.pane.HoloViews(overlay, sizing_mode="stretch_width", height=PLOT_HEIGHT)
        self.summary_pane = pn.pane.Markdown(self.param.summary, sizing_mode="stretch_width")

    def show(self, fit: SharpenResult, when: pd.Timestamp) -> None:
        """Draw a fit: its pairs, its line across the NDVI range, its filters."""
        if fit is self.fit:
            return  # redrawing the same data would cost the browser a re-render
        self.fit = fit
        self.selected_cells = []
        groups = {
            f"{name} ({len(rows)})": rows
            for name, rows in pair_groups(fit.samples).items()
            if len(rows)
        }
        self._drawn = pd.concat(
            [rows.assign(pair=label) for label, rows in groups.items()], ignore_index=True
        )
        ndvi = fit.samples["ndvi"][np.isfinite(fit.samples["ndvi"])]
        x = np.array([min(ndvi.min(), fit.ndvi_range[0]), max(ndvi.max(), fit.ndvi_range[1])])
        (n0, n1), (t0, t1) = fit.ndvi_range, fit.lst_range
        self._pairs.send(self._drawn)
        self._line.send((x, fit.slope * x + fit.intercept))
        self._box.send((n0, t0, n1, t1))
        day = pd.Timestamp(when).strftime("%Y-%m-%d")
        self.summary = (
            f"**{equation_text(fit)}**  \nr² = {fit.r2:.3f}, n = {fit.n} pairs "
            f"(1 km cells, {day}); cross-validated RMSE {fit.cv_rmse:.2f} K"
        )

    def _select(self, index: list[int]) -> None:
        """Publish the outlines of the selected pairs' cells (in the map's coordinates)."""
        if self.fit is None or not index:
            self.selected_cells = []
            return
        self.selected_cells = cell_outlines(self._drawn.iloc[list(index)], self.fit.residual)

    def show_error(self, message: str) -> None:
        self.fit = None
        self.selected_cells = []
        self._drawn = _no_pairs()
        self._pairs.send(self._drawn)
        self._line.send((np.array([]), np.array([])))
        self.summary = self.error_summary(message)

    @staticmethod
    def error_summary(message: str) -> str:
        """What the panel says instead of a fit when ``message`` went wrong."""
        return f"No fit: {message}"

    def __panel__(self) -> pn.viewable.Viewable:
        return pn.Column(
            pn.pane.Markdown("### NDVI – LST (1 km pairs)", margin=(0, 10)),
            self.plot,
            self.summary_pane,
            pn.widgets.RangeSlider.from_param(
                self.param.ndvi_range, name="NDVI range of the fit", step=0.01, throttled=True
            ),
            pn.widgets.RangeSlider.from_param(
                self.param.lst_range, name="LST range of the fit (K)", step=0.5, throttled=True
            ),
            sizing_mode="stretch_width",
        )


def _no_pairs() -> pd.DataFrame:
    """What the plot draws without a fit: one pair of each kind with no values, so nothing
    shows but the plot has the legend of the pairs' colours (Bokeh makes a legend for the
    colours of the first pairs drawn, and none if there are none)."""
    kinds = list(COLOURS)
    return pd.DataFrame({"ndvi": np.nan, "lst": np.nan, "pair": kinds})


def _pairs_element(data: pd.DataFrame) -> hv.Points:
    """Every pair, coloured by what happened to it (its label, with the group's count, starts
    with the group's name): one element, so one selection stream."""
    cmap = {label: COLOURS[label.rsplit(" (", 1)[0]] for label in data["pair"].unique()}
    return hv.Points(data, ["ndvi", "lst"], ["pair"]).opts(
        color="pair",
        cmap=cmap or ["#1565c0"],
        size=7,
        line_color="white",
        line_width=0.5,
        tools=["box_select", "lasso_select", "tap"],
        active_tools=["box_select"],
        nonselection_alpha=0.35,
        selected=[],  # a new fit's points are new: no old selection on them
        show_legend=True,
    )


def _line_element(data: tuple[np.ndarray, np.ndarray]) -> hv.Curve:
    return hv.Curve(data, "ndvi", "lst", label="fit").opts(color=FIT_COLOUR, line_width=2.5)


def _box_element(data: tuple[float, float, float, float]) -> hv.Bounds:
    """The fit's NDVI and LST ranges."""
    return hv.Bounds(data, kdims=["ndvi", "lst"]).opts(color="#555555", line_dash="dotted")
