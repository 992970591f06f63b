"""One pixel, explained: every image's value there, why it was masked, what the composites took.

Earth Engine's Code Editor answers a click with its Inspector (each layer's value at the point)
and ``ui.Chart.image.series`` (a collection's values over time). :func:`pixel_series` gives
both questions' data for one pixel of a collection, and what a student needs to see why the
median and the mosaic differ there:

* ``value`` ``(time, band)``: every image's value (NaN: no data in the image itself);
* ``dropped`` ``(time, reason)``: which of the given masks dropped each image (e.g. ``cloud``,
  ``shadow``, an SCL class), one column per mask, in the order given;
* ``kept`` ``(time, band)``: the values the composites read (finite and dropped by no mask);
* ``summary`` ``(statistic, band)``: the ``median``, ``min``, ``max`` and ``mean``
  (:data:`SUMMARIES`) by :func:`~compositing.composite` of the kept values, so exactly what the
  composite layers hold at that pixel;
* ``mosaic_image`` ``(band,)``: the index along ``time`` of the image ``mosaic`` took (the last
  kept one, per band as Earth Engine's masks are), NaN where none;
* ``quality_mosaic_image`` ``()``: with ``quality``, the index of the image ``quality_mosaic``
  took (the highest quality; ties: the earliest). It reads the collection as given, not the
  masks: a quality mosaic picks by its own score (mask the collection first to make it skip
  the masked images).

The pixel is cut out first, so a click on a lazy collection reads one pixel's chunks, and the
result is the same whatever the chunking.
"""

from __future__ import annotations

from collections.abc import Mapping

import dask.array as da
import numpy as np
import pandas as pd
import xarray as xr

from .contract import check_collection
from .geo import LONLAT, Grid, transformer
from .reducers import composite

__all__ = ["SUMMARIES", "pixel_index", "pixel_series", "taken_time"]

#: The composites summarised over the series, drawn as lines over it.
SUMMARIES = ("median", "min", "max", "mean")
_IMAGE_BAND, _QUALITY_BAND = "image", "quality"


def pixel_index(collection: xr.DataArray, point: tuple[float, float], *, crs=LONLAT):
    """The (row, column) of the collection's pixel that contains ``point``.

    Parameters
    ----------
    collection
        A collection (or image) with ``y``, ``x`` and a CRS.
    point
        (x, y) in ``crs``; by default (lon, lat) in degrees.
    crs
        The CRS of ``point``.

    Raises
    ------
    ValueError
        The point is outside the collection's pixels (the message gives their bounds).
    """
    grid = Grid.from_array(collection, name="collection", task="a pixel's series")
    x, y = transformer(crs, grid.crs).transform(*point)
    column = int(np.floor((x - grid.left) / grid.resolution))
    row = int(np.floor((grid.top - y) / grid.pixel_height))
    if not (0 <= row < grid.height and 0 <= column < grid.width) or not np.isfinite(x + y):
        left, bottom, right, top = grid.bounds
        raise ValueError(
            f"the point {tuple(point)} is outside the collection's pixels ({left:.0f}, "
            f"{bottom:.0f}) to ({right:.0f}, {top:.0f}) in {grid.crs.to_string()}: choose a "
            "point inside them, or load an area around it"
        )
    # Coordinates that run against the grid (south to north, east to west) count from its end.
    if collection["y"].values[0] < collection["y"].values[-1]:
        row = grid.height - 1 - row
    if collection["x"].values[0] > collection["x"].values[-1]:
        column = grid.width - 1 - column
    return row, column


def pixel_series(
    collection: xr.DataArray,
    point: tuple[float, float] | None = None,
    *,
    crs=LONLAT,
    index: tuple[int, int] | None = None,
    masks: Mapping[str, xr.DataArray] | None = None,
    quality: str | xr.DataArray | None = None,
) -> xr.Dataset:
    """Every image's value at one pixel, why it was masked, and what the composites took.

    Parameters
    ----------
    collection
        The collection (unmasked: the masks say what is dropped; NaN is "no data").
    point
        (x, y) in ``crs``; by default (lon, lat) in degrees.
    crs
        The CRS of ``point``.
    index
        The pixel's (row, column) instead of a point, e.g. found once with :func:`pixel_index`
        (a 1 x 1 collection has no grid to find a point in).
    masks
        ``{reason: mask}``: boolean ``(time, y, x)`` arrays on the collection's grid, True where
        the reason drops a pixel (e.g. ``{"cloud": ..., "shadow": ...}``). A pixel is kept when
        no mask drops it.
    quality
        For ``quality_mosaic_image``: a band of the collection, or a ``(time, y, x)`` score on
        its grid, whose highest value picks the image.

    Returns
    -------
    xarray.Dataset
        The variables of the module's list, with the collection's per-image coordinates (date,
        ``cloud_cover``, ``id``...), the pixel centre's ``x`` and ``y``, and ``attrs`` ``row``,
        ``column`` and ``crs``. Lazy for a lazy collection.

    Raises
    ------
    IndexError
        The index is outside the collection.
    ValueError
        The point is outside the collection, a mask or the quality is not on its grid, or the
        quality band does not exist.
    """
    check_collection(collection)
    if (point is None) == (index is None):
        raise TypeError("pixel_series takes a point or an index=(row, column), one of them")
    row, column = pixel_index(collection, point, crs=crs) if index is None else index
    if not (0 <= row < collection.sizes["y"] and 0 <= column < collection.sizes["x"]):
        raise IndexError(
            f"pixel (row {row}, column {column}) is outside the collection's "
            f"{collection.sizes['y']} x {collection.sizes['x']} pixels"
        )
    at = {"y": [row], "x": [column]}  # lists: the pixel stays a 1 x 1 collection
    value = collection.isel(at)
    value = _one_block(value)  # a few numbers: one block
    dropped = _dropped(collection, masks or {}, at, value)
    kept = np.isfinite(value) & ~dropped.any("reason")
    masked = value.where(kept)
    series = xr.Dataset({"value": value, "dropped": dropped, "kept": kept})
    series["summary"] = xr.concat(
        [composite(masked, method).astype(value.dtype) for method in SUMMARIES],
        dim=pd.Index(list(SUMMARIES), name="statistic"),
    ).drop_attrs()
    index = xr.ones_like(value) * xr.DataArray(
        np.arange(value.sizes["time"], dtype=value.dtype), dims="time"
    )
    series["mosaic_image"] = composite(index.where(kept), "mosaic")
    if quality is not None:
        score = _quality(collection, quality, at, value)
        stacked = xr.concat(
            [
                index.isel(band=[0]).assign_coords(band=[_IMAGE_BAND]),
                score.expand_dims(band=[_QUALITY_BAND]).transpose(*value.dims),
            ],
            dim="band",
            coords="minimal",
            compat="override",
        )
        picked = composite(stacked, "quality_mosaic", quality_band=_QUALITY_BAND)
        series["quality_mosaic_image"] = picked.sel(band=_IMAGE_BAND, drop=True)
    series = series.isel(y=0, x=0)
    series.attrs = {"row": row, "column": column, "crs": str(collection.rio.crs)}
    return series


def taken_time(series: xr.Dataset, name: str) -> list[np.datetime64 | None]:
    """The dates of the images that ``mosaic_image`` or ``quality_mosaic_image`` point at (one
    per band, or one), None where no image was taken; ``series`` computed."""
    indices = np.atleast_1d(series[name].values)
    times = series["time"].values
    return [None if not np.isfinite(i) else times[int(i)] for i in indices]


def _on_grid(array: xr.DataArray, collection: xr.DataArray, what: str) -> None:
    for dim in ("y", "x"):
        if array.sizes.get(dim) != collection.sizes[dim]:
            raise ValueError(
                f"{what} has {array.sizes.get(dim)} pixels along {dim}, the collection "
                f"{collection.sizes[dim]}: compute it on the collection's grid"
            )


def _dropped(
    collection: xr.DataArray, masks: Mapping[str, xr.DataArray], at: dict, value: xr.DataArray
) -> xr.DataArray:
    columns = []
    for reason, mask in masks.items():
        _on_grid(mask, collection, f"the mask {reason!r}")
        column = mask.isel(at).astype(bool).reset_coords(drop=True)
        columns.append(column.transpose("time", "y", "x").expand_dims(reason=[reason], axis=1))
    if not columns:  # no mask: an empty reason axis (nothing dropped)
        shape = (value.sizes["time"], 0, 1, 1)
        data = np.zeros(shape, bool) if value.chunks is None else da.zeros(shape, dtype=bool)
        return xr.DataArray(
            data,
            dims=("time", "reason", "y", "x"),
            coords={"time": value["time"], "reason": np.array([], dtype=str),
                    "y": value["y"], "x": value["x"]},
        )  # fmt: skip
    dropped = xr.concat(columns, dim="reason")
    dropped = dropped.assign_coords(y=value["y"].values, x=value["x"].values)
    return _one_block(dropped)


def _quality(
    collection: xr.DataArray, quality: str | xr.DataArray, at: dict, value: xr.DataArray
) -> xr.DataArray:
    if isinstance(quality, str):
        if quality not in collection["band"].values:
            raise ValueError(
                f"quality band {quality!r} is not in the collection "
                f"{list(collection['band'].values)}: name one of them, or pass a score array"
            )
        return value.sel(band=quality, drop=True)
    _on_grid(quality, collection, "quality")
    score = quality.isel(at).transpose("time", "y", "x").astype(value.dtype)
    score = score.reset_coords(drop=True).assign_coords(
        time=value["time"].values, y=value["y"].values, x=value["x"].values
    )
    return _one_block(score)


def _one_block(array: xr.DataArray) -> xr.DataArray:
    """A lazy array's data in one block (its coordinates left as they are)."""
    return array if array.chunks is None else array.copy(data=array.data.rechunk(-1))
