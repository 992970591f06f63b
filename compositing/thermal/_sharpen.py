"""Sharpening: :func:`sharpen` fits the TsHARP model on the coarse pairs and applies it to every
fine pixel, block by block (lazily for a dask NDVI)."""

from __future__ import annotations

import math

import dask
import dask.array as da
import numpy as np
import pandas as pd
import xarray as xr

from ..geo import Grid, reversed_dims
from ._fit import (
    DEFAULT_LST_RANGE,
    DEFAULT_NDVI_RANGE,
    MIN_PAIRS,
    Model,
    cv_rmse,
    equation_text,
    fit,
    pairs_table,
    r_squared,
    too_few_pairs,
)
from ._footprints import cell_index, expected_fine_pixels, footprint_sums, overlap, strips
from ._inputs import as_image, check_range, dask_data
from ._result import SharpenResult


def _sharpen_block(
    block: np.ndarray,
    *,
    x: np.ndarray,
    y: np.ndarray,
    fine: Grid,
    coarse: Grid,
    model: Model,
    water_ndvi: float | None,
    residual: np.ndarray | None,
    out_dtype: np.dtype,
    block_info: dict | None = None,
) -> np.ndarray:
    """The model (+ the residual of each pixel's coarse cell) for one block of NDVI."""
    (r0, r1), (c0, c1) = block_info[0]["array-location"]
    out = np.empty(block.shape, dtype=out_dtype)
    for strip in strips(r1 - r0, c1 - c0):
        values = np.asarray(block[strip], dtype=np.float64)
        model_values = model.slope * values + model.intercept
        if water_ndvi is not None:
            model_values = np.where(values < water_ndvi, model.water, model_values)
        if residual is not None:
            cells = cell_index(x[c0:c1], y[r0:r1][strip], fine, coarse)
            # ``residual`` has one extra 0 at the end: index -1 (outside the coarse grid) reads it.
            model_values += residual[cells]
        out[strip] = model_values
    return out


def sharpen(
    lst: xr.DataArray,
    ndvi: xr.DataArray,
    *,
    ndvi_range: tuple[float, float] | None = DEFAULT_NDVI_RANGE,
    lst_range: tuple[float, float] | None = DEFAULT_LST_RANGE,
    residual_correction: bool = True,
    min_coverage: float = 0.5,
    water_ndvi: float | None = 0.0,
    cv_folds: int = 5,
) -> SharpenResult:
    """Sharpen a coarse land surface temperature with a fine vegetation index (TsHARP).

    The fine NDVI is averaged over each coarse LST pixel's footprint *on the LST's own grid and
    CRS* (no resampling of the LST; see :mod:`compositing.thermal`), a line ``LST = slope * NDVI +
    intercept`` is fitted by least squares to the coarse pairs that pass the filters, and the
    line is applied to every fine pixel; with ``residual_correction`` each coarse cell's
    residual is added back so that the result averages to the input LST over every cell.

    Laziness: computing the coarse pairs is unavoidable (the fit needs them), so ``sharpen``
    reads the NDVI once, chunk by chunk, to accumulate per-cell sums and counts (small: three
    numbers per coarse cell), and computes the LST cells that overlap the NDVI. The fine
    ``sharpened`` map itself stays lazy when ``ndvi`` is a dask array: it is computed chunk by
    chunk, reading the NDVI a second time (persist ``ndvi`` first if it is expensive to produce
    and fits in memory). With numpy inputs everything is computed here.

    Parameters
    ----------
    lst
        Coarse land surface temperature in kelvin, dims ``(y, x)`` (a length-1 ``time`` dim is
        squeezed away), on a regular grid in any CRS readable with ``.rio.crs`` (e.g. the demo's
        or a Sentinel-3 LST in EPSG:4326). NaN = no data.
    ndvi
        The fine-scale index, dims ``(y, x)`` (length-1 extra dims are squeezed away), on a
        regular grid in any CRS readable with ``.rio.crs``; NaN = masked (clouds). Any index
        that explains LST linearly can be used (NDVI, a fractional vegetation cover, an
        emissivity proxy...); ``ndvi_range`` and ``water_ndvi`` then refer to its values.
    ndvi_range
        Only pairs whose mean NDVI lies in ``[low, high]`` are fitted (the source article's
        0.1..0.6 keeps water, clouds and dense canopy out of the line); None turns the filter off.
    lst_range
        Only pairs whose LST lies in ``[low, high]`` kelvin are fitted; None turns it off.
    residual_correction
        Add each coarse cell's residual back to its fine pixels (conserves the coarse LST).
    min_coverage
        Smallest share of a coarse cell's area that valid fine pixels must cover for the cell
        to be fitted and to get a residual.
    water_ndvi
        A threshold (default ``0.0``): fine pixels with NDVI below it are water, a class of its own
        with one fitted temperature (``water_lst``) instead of the line extrapolated to negative
        NDVI, which makes water tens of kelvin too hot; the line is fitted to the cells' land pixels
        (``samples.ndvi`` is then their mean) jointly with the water temperature, from each cell's
        water fraction. When the used pairs hold less than :data:`MIN_WATER_CELLS` cells' worth of
        water the water temperature cannot be estimated: it is NaN and water pixels are left NaN.
        ``None``: the source article's method, one line for every pixel.
    cv_folds
        Folds of the coarse-scale cross-validation reported as ``cv_rmse``.

    Returns
    -------
    SharpenResult
        The sharpened map, the fit, the pairs and diagnostics; ``print(result)`` summarises.

    Raises
    ------
    TypeError
        An input is not a DataArray.
    ValueError
        Wrong dims or several times, no CRS, an irregular grid, grids that do not overlap
        (the message gives both extents in lon/lat), bad ranges, or too few pairs after the
        filters (the message says how many each filter removed).
    """
    lst = as_image(lst, "lst")
    ndvi = as_image(ndvi, "ndvi")
    if not np.issubdtype(ndvi.dtype, np.floating):
        raise ValueError(
            f"ndvi has dtype {ndvi.dtype}: it must be floating point with NaN = masked (an "
            "integer index is probably scaled, e.g. x 10000: divide it and mask nodata first)"
        )
    ndvi_range = check_range(ndvi_range, "ndvi_range")
    lst_range = check_range(lst_range, "lst_range")
    if not 0 <= min_coverage <= 1:
        raise ValueError(f"min_coverage must be a share between 0 and 1, not {min_coverage!r}")
    if water_ndvi is not None and not math.isfinite(water_ndvi):
        raise ValueError(f"water_ndvi must be a finite NDVI threshold or None, not {water_ndvi!r}")
    if not isinstance(cv_folds, (int, np.integer)) or cv_folds < 2:
        raise ValueError(f"cv_folds must be an integer >= 2, not {cv_folds!r}")

    fine = Grid.from_array(ndvi, name="ndvi", task="sharpening")
    full = Grid.from_array(lst, name="lst", task="sharpening")
    # The engine works on north-up grids: an LST whose rows run south to north (or columns east
    # to west) is flipped here, and its outputs (residual, samples) are put back in its order.
    # The NDVI needs no flip: its pixels are walked with their own coordinates.
    flipped = reversed_dims(lst)
    if flipped:
        lst = lst.isel({dim: slice(None, None, -1) for dim in flipped})
    rows, cols = overlap(full, fine)
    # Only the LST cells that overlap the NDVI are read, and only they are indexed.
    coarse_da = lst.isel(y=rows, x=cols)
    coarse = full.crop(rows, cols)
    data = dask_data(ndvi)
    x, y = np.asarray(ndvi["x"].values, np.float64), np.asarray(ndvi["y"].values, np.float64)

    footprint = footprint_sums(data, x, y, fine, coarse, water_ndvi)
    totals, lst_cells = dask.compute(footprint, coarse_da.data)
    land_sum, n_land, n_water = totals
    lst_flat = np.asarray(lst_cells, dtype=np.float64).ravel()
    coverage = np.minimum(1.0, (n_land + n_water) / expected_fine_pixels(coarse, fine))

    samples, counts_after = pairs_table(
        land_sum,
        n_land,
        n_water,
        lst_flat,
        coverage,
        coarse,
        ndvi_range,
        lst_range,
        min_coverage,
    )
    if flipped:
        samples = _in_array_order(samples, coarse, flipped)
    if counts_after[-1][1] < MIN_PAIRS:
        raise too_few_pairs(counts_after)
    used_rows, used_cols = _mirrored(
        samples["row"].to_numpy()[samples["used"]],
        samples["col"].to_numpy()[samples["used"]],
        coarse,
        flipped,
    )
    used = np.ravel_multi_index((used_rows, used_cols), (coarse.height, coarse.width))
    pairs = (land_sum[used], n_land[used], n_water[used], lst_flat[used])
    model = fit(*pairs, water_class=water_ndvi is not None)

    residual = lst_flat - model.cell_means(land_sum, n_land, n_water)
    residual[~(coverage >= min_coverage)] = np.nan
    residual_da = _coarse_array(coarse_da, residual.reshape(coarse.height, coarse.width))
    if flipped:
        residual_da = residual_da.isel({dim: slice(None, None, -1) for dim in flipped})

    table = None
    if residual_correction:
        # One extra 0 at the end: fine pixels outside the coarse grid (index -1) read it.
        table = np.append(np.nan_to_num(residual, nan=0.0), 0.0)
    out_dtype = np.result_type(ndvi.dtype, np.float32)
    blocks = da.map_blocks(
        _sharpen_block,
        data,
        dtype=out_dtype,
        meta=np.empty((0, 0), out_dtype),
        x=x,
        y=y,
        fine=fine,
        coarse=coarse,
        model=model,
        water_ndvi=water_ndvi,
        residual=table,
        out_dtype=out_dtype,
    )
    if not isinstance(ndvi.data, da.Array):
        blocks = blocks.compute()

    r2 = r_squared(pairs[3], model.cell_means(*pairs[:3]))
    equation = equation_text(model.slope, model.intercept)
    water_lst = None if water_ndvi is None else model.water
    sharpened = ndvi.copy(data=blocks).rename("lst")
    sharpened.attrs = {
        "units": "K",
        "long_name": "land surface temperature, sharpened",
        "equation": equation,
        "slope": model.slope,
        "intercept": model.intercept,
        "r2": r2,
        "n_pairs": len(used),
        "residual_correction": int(residual_correction),
    }
    if water_lst is not None:
        sharpened.attrs.update(water_ndvi=water_ndvi, water_lst=water_lst)
    sharpened = sharpened.rio.write_crs(ndvi.rio.crs)
    return SharpenResult(
        sharpened=sharpened,
        slope=model.slope,
        intercept=model.intercept,
        r2=r2,
        n=len(used),
        samples=samples,
        residual=residual_da,
        cv_rmse=cv_rmse(*pairs, water_class=water_ndvi is not None, folds=cv_folds),
        equation=equation,
        ndvi_range=ndvi_range,
        lst_range=lst_range,
        min_coverage=float(min_coverage),
        residual_correction=bool(residual_correction),
        cv_folds=int(cv_folds),
        water_ndvi=water_ndvi,
        water_lst=water_lst,
        filter_counts=counts_after,
    )


def _mirrored(
    rows: np.ndarray, cols: np.ndarray, grid: Grid, dims: tuple[str, ...]
) -> tuple[np.ndarray, np.ndarray]:
    """Cell indices mirrored along ``dims`` (the flipped dims of a south-up LST): from the
    north-up grid's order to the array's, and back (the map is its own inverse)."""
    if "y" in dims:
        rows = grid.height - 1 - rows
    if "x" in dims:
        cols = grid.width - 1 - cols
    return rows, cols


def _in_array_order(samples: pd.DataFrame, grid: Grid, dims: tuple[str, ...]) -> pd.DataFrame:
    """The samples of a flipped LST with ``row``/``col`` counted, and rows sorted, in the order
    of the LST as given (as its ``residual`` is)."""
    rows, cols = _mirrored(samples["row"].to_numpy(), samples["col"].to_numpy(), grid, dims)
    samples = samples.assign(row=rows, col=cols)
    return samples.sort_values(["row", "col"], kind="stable").reset_index(drop=True)


def _coarse_array(template: xr.DataArray, values: np.ndarray) -> xr.DataArray:
    """``values`` on the (cropped) coarse grid of ``template``, with its CRS."""
    coords = {"y": template["y"].values, "x": template["x"].values}
    array = xr.DataArray(
        values,
        dims=("y", "x"),
        coords=coords,
        name="residual",
        attrs={"units": "K", "long_name": "LST - fit(mean NDVI)"},
    )
    return array.rio.write_crs(template.rio.crs)
