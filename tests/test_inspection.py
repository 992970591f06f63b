"""One pixel explained (compositing.inspection) and its chart (compositing.series_chart).

The series must say exactly what the composite layers hold at the pixel: its summaries are
checked against :func:`compositing.composite` of the whole masked collection, its picks against
``mosaic`` and ``quality_mosaic``. Any chunking gives the same series (tests/test_layouts.py,
case ``pixel_series``).
"""

from __future__ import annotations

import holoviews as hv
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from conftest import make_collection, random_masked
from pyproj import Transformer

import compositing
from compositing.inspection import SUMMARIES, pixel_index, pixel_series, taken_time
from compositing.series_chart import reasons_text, series_chart, series_table

BANDS = ["B02", "B04", "B08", "QA"]


@pytest.fixture
def collection(rng) -> xr.DataArray:
    # Integer levels: ties in the median and in the quality score happen.
    return make_collection(random_masked(rng, (7, 4, 9, 11), levels=12) + 1.0, BANDS)


def masks_of(collection: xr.DataArray) -> dict[str, xr.DataArray]:
    qa = collection.sel(band="QA", drop=True)
    return {"cloud": qa > 9, "shadow": qa < 3}


def masked(collection: xr.DataArray, masks: dict[str, xr.DataArray]) -> xr.DataArray:
    drop = xr.concat(list(masks.values()), "reason").any("reason")
    return collection.where(~drop)


def test_the_summaries_are_the_composites_of_the_masked_collection_at_the_pixel(collection):
    masks = masks_of(collection)
    composites_read = masked(collection, masks)
    for row, column in [(0, 0), (4, 7), (8, 10)]:
        series = pixel_series(collection, index=(row, column), masks=masks)
        for method in SUMMARIES:
            expected = compositing.composite(composites_read, method).isel(y=row, x=column)
            np.testing.assert_allclose(
                series["summary"].sel(statistic=method).values, expected.values, rtol=1e-6,
                err_msg=f"{method} at {row, column}",
            )  # fmt: skip


def test_the_picks_are_the_images_mosaic_and_quality_mosaic_took(collection):
    masks = masks_of(collection)
    mosaic = compositing.composite(masked(collection, masks), "mosaic")
    best = compositing.composite(collection, "quality_mosaic", quality_band="QA")
    checked = 0
    for row in range(collection.sizes["y"]):
        for column in range(collection.sizes["x"]):
            series = pixel_series(collection, index=(row, column), masks=masks, quality="QA")
            for band, taken in zip(BANDS, taken_time(series, "mosaic_image"), strict=True):
                expected = float(mosaic.sel(band=band).isel(y=row, x=column))
                if taken is None:
                    assert np.isnan(expected)
                else:  # the last kept image is the one whose value the mosaic shows
                    assert series["value"].sel(time=taken, band=band) == expected
                    later = series["kept"].sel(band=band).sel(time=slice(taken, None))
                    assert int(later.sum()) == 1
                    checked += 1
            (picked,) = taken_time(series, "quality_mosaic_image")
            expected = best.isel(y=row, x=column)
            if picked is None:
                assert np.isnan(expected.values).all()
            else:
                np.testing.assert_array_equal(
                    series["value"].sel(time=picked).values, expected.values
                )
    assert checked > 100


def test_each_image_says_which_mask_dropped_it():
    values = np.array([[5.0, 1.0], [6.0, 40.0], [np.nan, 2.0], [7.0, 2.0]])  # (time, band)
    collection = make_collection(values[:, :, None, None], ["B04", "QA"])
    qa = collection.sel(band="QA", drop=True)
    masks = {"cloud": qa > 30, "shadow": qa == 2}
    series = pixel_series(collection, index=(0, 0), masks=masks)
    assert reasons_text(series) == ["", "cloud", "shadow", "shadow"]
    assert series["kept"].sel(band="B04").values.tolist() == [True, False, False, False]
    table = series_table(series, ["B04"])
    assert table["masked by"].tolist() == ["", "cloud", "shadow", "shadow"]
    np.testing.assert_array_equal(table["B04"], [5.0, 6.0, np.nan, 7.0])
    # An image without data and without a mask says so.
    series = pixel_series(collection, index=(0, 0))
    assert series_table(series, ["B04"])["masked by"].tolist() == ["", "", "no data", ""]
    assert series.sizes["reason"] == 0
    assert float(series["summary"].sel(statistic="median", band="B04")) == 6.0


def test_a_point_finds_its_pixel_and_a_point_outside_says_where_the_pixels_are(collection):
    to_lonlat = Transformer.from_crs("EPSG:32610", "EPSG:4326", always_xy=True)
    for row, column in [(0, 0), (3, 5), (8, 10)]:
        centre = to_lonlat.transform(float(collection["x"][column]), float(collection["y"][row]))
        assert pixel_index(collection, centre) == (row, column)
        series = pixel_series(collection, centre)
        assert (series.attrs["row"], series.attrs["column"]) == (row, column)
        np.testing.assert_array_equal(
            series["value"].values, collection.isel(y=row, x=column).values
        )
    # The same pixel on a grid stored south to north.
    flipped = collection.isel(y=slice(None, None, -1))
    centre = to_lonlat.transform(float(collection["x"][5]), float(collection["y"][3]))
    assert pixel_index(flipped, centre) == (collection.sizes["y"] - 1 - 3, 5)
    with pytest.raises(ValueError, match="outside the collection's pixels .* choose a point"):
        pixel_series(collection, (0.0, 0.0))


def test_misuse_is_refused_with_what_to_do(collection):
    with pytest.raises(TypeError, match="a point or an index"):
        pixel_series(collection)
    with pytest.raises(TypeError, match="a point or an index"):
        pixel_series(collection, (-122.4, 37.4), index=(0, 0))
    with pytest.raises(IndexError, match="outside the collection's 9 x 11 pixels"):
        pixel_series(collection, index=(9, 0))
    with pytest.raises(ValueError, match="quality band 'CLOUD' is not in the collection"):
        pixel_series(collection, index=(0, 0), quality="CLOUD")
    small_mask = collection.sel(band="QA", drop=True).isel(x=slice(0, 5)) > 3
    with pytest.raises(ValueError, match="the mask 'cloud' has 5 pixels along x.*grid"):
        pixel_series(collection, index=(0, 0), masks={"cloud": small_mask})


def test_a_lazy_collection_gives_a_lazy_series_with_the_same_values(collection):
    masks = masks_of(collection)
    expected = pixel_series(collection, index=(4, 7), masks=masks, quality="QA")
    lazy = collection.chunk({"time": 1, "band": 1, "y": 4, "x": 4})
    lazy_masks = {reason: mask.chunk({"time": 2}) for reason, mask in masks_of(lazy).items()}
    series = pixel_series(lazy, index=(4, 7), masks=lazy_masks, quality="QA")
    assert all(series[name].chunks is not None for name in ("value", "summary", "mosaic_image"))
    xr.testing.assert_allclose(series.compute(), expected)


def chart_part(chart: hv.Overlay, kind: type, label: str = "") -> pd.DataFrame:
    (element,) = [e for e in chart if isinstance(e, kind) and e.label == label]
    return element.dframe()


def test_the_chart_draws_kept_values_masked_crosses_picks_and_lines(collection):
    masks = masks_of(collection)
    series = pixel_series(collection, index=(4, 7), masks=masks, quality="QA").compute()
    when = series["time"].values[2]
    chart = series_chart(series, bands=["B04", "B08"], highlight=when, labels={"B08": "B8"})
    dots = chart_part(chart, hv.Scatter)
    for band, label in (("B04", "B04"), ("B08", "B8")):
        kept = series["kept"].sel(band=band).values
        curve = chart_part(chart, hv.Curve, label)
        assert len(curve) == kept.sum() == (dots["band"] == label).sum()
        values = series["value"].sel(band=band).values[kept]
        np.testing.assert_array_equal(curve["value"], values)
    crosses = chart_part(chart, hv.Scatter, "masked")
    dropped_with_values = sum(
        int((~series["kept"].sel(band=b) & np.isfinite(series["value"].sel(band=b))).sum())
        for b in ("B04", "B08")
    )
    assert len(crosses) == dropped_with_values
    taken = chart_part(chart, hv.Scatter, "mosaic took")
    assert len(taken) == sum(
        t is not None for t in taken_time(series.sel(band=["B04", "B08"]), "mosaic_image")
    )
    (line,) = [e for e in chart if isinstance(e, hv.VLine)]
    assert pd.Timestamp(line.data) == pd.Timestamp(when)
    segments = pd.concat([e.dframe() for e in chart if isinstance(e, hv.Segments)])
    levels = series["summary"].sel(band=["B04", "B08"], statistic=["median", "min", "max"]).values
    assert sorted(segments["y0"].dropna()) == sorted(levels[np.isfinite(levels)])
    hv.render(chart, backend="bokeh")  # it draws
    with pytest.raises(ValueError, match=r"no band \['B11'\]"):
        series_chart(series, bands=["B11"])


def test_the_chart_keeps_its_parts_so_a_new_pixel_updates_the_plot_in_place(collection):
    # A pixel with every image masked, no pick and no highlight has the same parts as a full
    # one: a DynamicMap of the chart then updates the same Bokeh figure, axes following.
    everything = {"cloud": xr.ones_like(collection.sel(band="QA", drop=True), dtype=bool)}
    full = pixel_series(collection, index=(4, 7), quality="QA").compute()
    empty = pixel_series(collection, index=(4, 7), masks=everything, quality="QA").compute()
    assert not empty["kept"].any()

    def parts(chart: hv.Overlay) -> list:
        return [(type(e).__name__, e.label) for e in chart]

    when = full["time"].values[1]
    assert parts(series_chart(empty, bands=["B04"])) == parts(
        series_chart(full, bands=["B04"], highlight=when)
    )
    pipe = hv.streams.Pipe(data=full)
    chart = hv.DynamicMap(lambda data: series_chart(data, bands=["B04"]), streams=[pipe])
    plot = hv.renderer("bokeh").get_plot(chart)
    figure, top = plot.state, plot.state.y_range.end
    pipe.send(full.assign(value=full["value"] * 100))
    assert plot.state is figure and figure.y_range.end > 50 * top
