"""The pixel inspector's chart: one pixel's values over time, as ``ui.Chart.image.series`` draws
them, with what a composite made of them.

:func:`series_chart` draws a computed :func:`~compositing.inspection.pixel_series`:

* each band's kept values as a line with dots, in the band's colour (red, green and blue for an
  RGB triplet, the channels they are shown in);
* the images a mask dropped as grey crosses, and their reason in the hover;
* the median (dashed) and the min and max (dotted) of the kept values as lines across the
  images' dates;
* the image ``mosaic`` took (a black triangle) and the one ``quality_mosaic`` took (a black
  diamond) at each band's value;
* a chosen image (e.g. the timeline's) as a vertical line.

The dashboard's inspector and the facade's ``Map.inspector`` draw the same chart. Its elements
are one per kind (the dots of every band in one scatter, every median in one set of segments),
not one per band and kind: a click updates the plot in place (a DynamicMap), and each element
costs the server about 10 ms on every update. For the same bands the chart always has the same
elements (empty, or at NaN, when there is nothing to draw), which a DynamicMap needs to update
in place. HoloViews is imported when a chart is drawn, not with the engine.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import xarray as xr

from .inspection import taken_time

__all__ = ["CHANNEL_COLOURS", "reasons_text", "series_chart", "series_table"]

#: The colours of the bands shown as red, green and blue; more bands get the next colours.
CHANNEL_COLOURS = ("#d62728", "#2ca02c", "#1f77b4", "#9467bd", "#8c564b", "#e377c2")
_MASKED_COLOUR = "#7f7f7f"
_PICK_COLOUR = "#111111"


def reasons_text(series: xr.Dataset) -> list[str]:
    """Per image, why it was dropped: the masks' names joined with " + ", or "" (kept)."""
    dropped = np.asarray(series["dropped"].values, dtype=bool)
    reasons = [str(r) for r in series["reason"].values]
    return [" + ".join(r for r, hit in zip(reasons, row, strict=True) if hit) for row in dropped]


def series_table(series: xr.Dataset, bands: Sequence[str] | None = None) -> pd.DataFrame:
    """One row per image: its date, scene cloud cover (if known), each band's value, and why
    it was dropped ("" if kept; "no data" where the image has no value)."""
    bands = list(bands or series["band"].values)
    table = pd.DataFrame({"date": pd.DatetimeIndex(series["time"].values)})
    if "cloud_cover" in series.coords:
        table["cloud cover (%)"] = np.round(series["cloud_cover"].values.astype(float), 1)
    for band in bands:
        table[band] = series["value"].sel(band=band).values
    reasons = reasons_text(series)
    empty = ~np.isfinite(series["value"].sel(band=bands).values).any(axis=1)
    table["masked by"] = [
        "no data" if missing and not why else why
        for why, missing in zip(reasons, empty, strict=True)
    ]
    return table


def series_chart(
    series: xr.Dataset,
    *,
    bands: Sequence[str] | None = None,
    colours: Sequence[str] = CHANNEL_COLOURS,
    highlight: np.datetime64 | str | None = None,
    labels: Mapping[str, str] | None = None,
    title: str = "",
    width: int | None = 420,
    height: int = 260,
):
    """The chart of a computed :func:`~compositing.inspection.pixel_series` (see the module).

    Parameters
    ----------
    series
        A computed pixel series (``.compute()`` a lazy one first).
    bands
        The bands drawn, in order (default all, at most six); a band named twice is drawn once.
    colours
        One colour per band drawn.
    highlight
        An image's time to mark with a vertical line (e.g. the image shown alone), or None.
    labels
        The legend's name of each band (default the band's own), e.g. Earth Engine's ``B8``.
    title
        The chart's title.
    width, height
        The frame's size in pixels (``width`` None: as wide as its container).
    """
    import holoviews as hv
    import holoviews.plotting.bokeh  # noqa: F401  (its options: the chart is drawn by Bokeh)

    bands = list(dict.fromkeys(bands or [str(b) for b in series["band"].values][:6]))
    missing = [b for b in bands if b not in series["band"].values]
    if missing:
        raise ValueError(f"the series has no band {missing}; it has {list(series['band'].values)}")
    points = _points(series, bands, colours, labels or {})
    kept, dropped = points[points["kept"]], points[~points["kept"] & np.isfinite(points["value"])]
    hover = [("band", "@band"), ("date", "@date{%F %H:%M}"), ("value", "@value"),
             ("masked by", "@{masked by}")]  # fmt: skip
    shown = ["value", "band", "masked by", "colour"]
    elements = [
        hv.Curve(kept[kept["band"] == label], "date", "value", label=label).opts(color=colour)
        for label, colour in zip(
            [(labels or {}).get(band, band) for band in bands], colours, strict=False
        )
    ]
    elements += [
        hv.Scatter(kept, "date", shown).opts(
            color="colour", size=7, show_legend=False, tools=["hover"], hover_tooltips=hover,
            hover_formatters={"@date": "datetime"},
        ),
        hv.Scatter(dropped, "date", shown, label="masked").opts(
            color=_MASKED_COLOUR, marker="x", size=10, line_width=2, tools=["hover"],
            hover_tooltips=hover, hover_formatters={"@date": "datetime"},
        ),
    ]  # fmt: skip
    for column, label, marker in (
        ("mosaic took", "mosaic took", "triangle"),
        ("best pixel took", "best pixel took", "diamond"),
    ):
        elements.append(
            hv.Scatter(points[points[column]], "date", shown, label=label).opts(
                marker=marker, size=14, fill_alpha=0, line_color=_PICK_COLOUR, line_width=2
            )
        )
    levels = _levels(series, bands, colours, points["date"])
    for statistics, dash in ((("median",), "dashed"), (("min", "max"), "dotted")):
        rows = levels[levels["statistic"].isin(statistics)]
        elements.append(
            hv.Segments(rows, ["x0", "y0", "x1", "y1"], ["colour"]).opts(
                color="colour", line_dash=dash, line_width=1, alpha=0.8
            )
        )
    marked = pd.Timestamp(highlight) if highlight is not None else np.nan
    elements.append(hv.VLine(marked).opts(color="#555555", line_dash="dashed"))
    # framewise: in a DynamicMap (a click's new pixel) the axes follow each new series.
    elements = [element.opts(framewise=True) for element in elements]
    return hv.Overlay(elements).opts(
        title=title,
        width=width,
        height=height,
        responsive=width is None,
        xlabel="",
        ylabel="value",
        legend_position="bottom",  # under the frame: inside, it hides the values
        legend_cols=3,
        show_grid=True,
        padding=(0.05, 0.1),  # the first and last images' markers whole
        toolbar=None,
    )


def _points(
    series: xr.Dataset, bands: list[str], colours: Sequence[str], labels: Mapping[str, str]
) -> pd.DataFrame:
    """One row per band drawn and image: date, value, the band's label and colour, why it was
    dropped, whether it is kept and whether the mosaic and the quality mosaic took it."""
    times = pd.DatetimeIndex(series["time"].values)
    reasons = reasons_text(series)
    mosaic_times = dict(zip(series["band"].values, taken_time(series, "mosaic_image"), strict=True))
    quality_time = (
        taken_time(series, "quality_mosaic_image")[0] if "quality_mosaic_image" in series else None
    )
    frames = []
    for band, colour in zip(bands, colours, strict=False):
        frames.append(
            pd.DataFrame({
                "date": times,
                "value": series["value"].sel(band=band).values.astype(float),
                "band": labels.get(band, band),
                "masked by": reasons,
                "colour": colour,
                "kept": np.asarray(series["kept"].sel(band=band).values, dtype=bool),
                "mosaic took": _at(times, mosaic_times.get(band)),
                "best pixel took": _at(times, quality_time),
            })
        )  # fmt: skip
    return pd.concat(frames, ignore_index=True)


def _at(times: pd.DatetimeIndex, when) -> np.ndarray:
    """True at the image ``when`` (None: nowhere)."""
    return np.zeros(len(times), bool) if when is None else np.asarray(times == pd.Timestamp(when))


def _levels(
    series: xr.Dataset, bands: list[str], colours: Sequence[str], dates: pd.Series
) -> pd.DataFrame:
    """The median, min and max of each band drawn as segments across the images' dates (NaN
    when every image is masked: nothing is drawn)."""
    first, last = (dates.min(), dates.max()) if len(dates) else (pd.NaT, pd.NaT)
    rows = []
    for band, colour in zip(bands, colours, strict=False):
        for statistic in ("median", "min", "max"):
            level = float(series["summary"].sel(band=band, statistic=statistic))
            rows.append((statistic, first, level, last, level, colour))
    return pd.DataFrame(rows, columns=["statistic", "x0", "y0", "x1", "y1", "colour"])
