"""Tests of thermal sharpening (:mod:`compositing.thermal`): the fit, footprints across CRSs,
conservation, filters, laziness at scale, errors, the demo scene's accuracy and the files flow."""

from __future__ import annotations

import threading
from pathlib import Path

import dask.array as da
import file_fixtures as ff
import numpy as np
import pyproj
import pytest
import rasterio
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr

import compositing
from compositing.sources import demo
from compositing.thermal import SharpenResult, sharpen, sharpen_files

SLOPE, INTERCEPT = -21.85, 314.9
UTM = "EPSG:32610"
#: Top-left corner of the UTM test grids (near the article's point in the Central Valley).
ORIGIN = (672_000.0, 4_175_000.0)


# --------------------------------------------------------------------------------------------
# Builders


def raster(
    values: np.ndarray | da.Array,
    x0: float,
    y0: float,
    res: float,
    crs: str | None,
    name: str = "ndvi",
) -> xr.DataArray:
    """A north-up ``(y, x)`` DataArray whose top-left corner is ``(x0, y0)``."""
    n_y, n_x = values.shape
    array = xr.DataArray(
        values,
        dims=("y", "x"),
        coords={"y": y0 - res * (np.arange(n_y) + 0.5), "x": x0 + res * (np.arange(n_x) + 0.5)},
        name=name,
    )
    return array.rio.write_crs(crs) if crs else array


def ndvi_field(x: np.ndarray, y: np.ndarray, seed: int = 0) -> np.ndarray:
    """A smooth NDVI landscape (0.1..0.6) with pixel noise, from pixel-centre coordinates."""
    rng = np.random.default_rng(seed)
    smooth = 0.35 + 0.2 * np.sin(x[None, :] / 700.0) * np.cos(y[:, None] / 900.0)
    return smooth + 0.05 * (rng.random((y.size, x.size)) - 0.5)


def utm_ndvi(n: int, res: float, *, seed: int = 0, dtype: str = "float64") -> xr.DataArray:
    x = ORIGIN[0] + res * (np.arange(n) + 0.5)
    y = ORIGIN[1] - res * (np.arange(n) + 0.5)
    return raster(ndvi_field(x, y, seed).astype(dtype), *ORIGIN, res, UTM)


def lonlat_cells(ndvi: xr.DataArray, west: float, north: float, cell: float):
    """Our own footprint truth: the (row, col) of the 4326 cell each fine pixel centre is in."""
    to_lonlat = pyproj.Transformer.from_crs(UTM, "EPSG:4326", always_xy=True)
    xs, ys = np.meshgrid(ndvi["x"].values, ndvi["y"].values)
    lon, lat = to_lonlat.transform(xs, ys)
    return np.floor((north - lat) / cell).astype(int), np.floor((lon - west) / cell).astype(int)


def lonlat_lst(ndvi: xr.DataArray, cell: float = 0.01, *, noise: float = 0.0, seed: int = 1):
    """An LST in EPSG:4326 over a UTM NDVI, exactly SLOPE * (cell mean NDVI) + INTERCEPT (+
    per-cell noise); returns it with the cell means and the (row, col) of every fine pixel."""
    to_lonlat = pyproj.Transformer.from_crs(UTM, "EPSG:4326", always_xy=True)
    west, south, east, north = to_lonlat.transform_bounds(*ndvi.rio.bounds())
    west, north = np.floor(west / cell) * cell - cell, np.ceil(north / cell) * cell + cell
    n_x = int(np.ceil((east - west) / cell)) + 1
    n_y = int(np.ceil((north - south) / cell)) + 1
    rows, cols = lonlat_cells(ndvi, west, north, cell)
    flat = (rows * n_x + cols).ravel()
    values = np.asarray(ndvi.values, dtype=np.float64).ravel()
    counts = np.bincount(flat, minlength=n_y * n_x)
    with np.errstate(invalid="ignore"):
        means = np.bincount(flat, values, minlength=n_y * n_x) / counts
    lst = SLOPE * means + INTERCEPT
    lst += noise * (np.random.default_rng(seed).random(lst.size) - 0.5)
    lst_da = raster(lst.reshape(n_y, n_x), west, north, cell, "EPSG:4326", name="lst")
    return lst_da, means.reshape(n_y, n_x), rows, cols


def cell_means_of(values: np.ndarray, rows: np.ndarray, cols: np.ndarray, shape) -> np.ndarray:
    flat = (rows * shape[1] + cols).ravel()
    counts = np.bincount(flat, minlength=shape[0] * shape[1])
    with np.errstate(invalid="ignore"):
        sums = np.bincount(flat, np.asarray(values, np.float64).ravel(), minlength=counts.size)
        return (sums / counts).reshape(shape)


# --------------------------------------------------------------------------------------------
# The fit


def test_exact_recovery_on_a_noise_free_linear_case() -> None:
    # 10 m NDVI, 100 m LST on the same UTM lattice: every cell holds 10 x 10 fine pixels.
    ndvi = utm_ndvi(200, 10.0)
    means = ndvi.values.reshape(20, 10, 20, 10).mean(axis=(1, 3))
    lst = raster(SLOPE * means + INTERCEPT, *ORIGIN, 100.0, UTM, name="lst")

    result = sharpen(lst, ndvi)

    assert isinstance(result, SharpenResult)
    assert result.slope == pytest.approx(SLOPE, abs=1e-6)
    assert result.intercept == pytest.approx(INTERCEPT, abs=1e-6)
    assert result.r2 == pytest.approx(1.0, abs=1e-9)
    assert result.cv_rmse == pytest.approx(0.0, abs=1e-6)
    assert result.n == 400 and result.samples["used"].all()
    assert result.equation == "y = -21.85x + 314.90"
    np.testing.assert_allclose(result.residual.values, 0.0, atol=1e-9)
    np.testing.assert_allclose(result.sharpened.values, SLOPE * ndvi.values + INTERCEPT, atol=1e-9)
    np.testing.assert_allclose(result.samples["ndvi"], means.ravel(), atol=1e-12)
    np.testing.assert_allclose(result.samples["coverage"], 1.0)
    assert result.sharpened.rio.crs == ndvi.rio.crs
    assert result.sharpened.attrs["units"] == "K"


def test_lst_in_4326_over_utm_ndvi_recovers_the_fit_and_footprints() -> None:
    ndvi = utm_ndvi(300, 20.0)  # 6 km at 20 m; the LST cells (0.01 deg) are ~880 x 1110 m
    lst, means, _, _ = lonlat_lst(ndvi)

    result = sharpen(lst, ndvi)

    assert result.slope == pytest.approx(SLOPE, abs=1e-6)
    assert result.intercept == pytest.approx(INTERCEPT, abs=1e-6)
    samples = result.samples
    assert {"ndvi", "lst", "used", "x", "y", "coverage"} <= set(samples.columns)
    # The footprint means are ours, cell by cell (the residual grid is the cropped LST grid).
    row0 = int(np.argmin(np.abs(lst["y"].values - result.residual["y"].values[0])))
    col0 = int(np.argmin(np.abs(lst["x"].values - result.residual["x"].values[0])))
    ours = means[samples["row"] + row0, samples["col"] + col0]
    np.testing.assert_allclose(samples["ndvi"], ours, atol=1e-12)
    np.testing.assert_allclose(samples["x"], lst["x"].values[samples["col"] + col0])
    # Inner cells are fully covered; edge cells partly, and those below half are not used.
    assert samples["coverage"].max() == pytest.approx(1.0, abs=0.02)
    assert (samples.loc[samples["coverage"] < 0.5, "excluded"] == "coverage").all()
    assert result.n == int((samples["coverage"] >= 0.5).sum()) >= 20


def test_residual_correction_conserves_the_coarse_lst() -> None:
    ndvi = utm_ndvi(300, 20.0, dtype="float32")
    lst, _, rows, cols = lonlat_lst(ndvi, noise=3.0)  # not linear: residuals of +-1.5 K
    # One cell above lst_range: excluded from the fit, but still conserved.
    lst.values[4, 4] = 331.0

    result = sharpen(lst, ndvi)

    assert result.sharpened.dtype == np.float32
    means = cell_means_of(result.sharpened.values, rows, cols, lst.shape)
    full = result.samples[result.samples["coverage"] >= 0.999]
    row0 = int(np.argmin(np.abs(lst["y"].values - result.residual["y"].values[0])))
    col0 = int(np.argmin(np.abs(lst["x"].values - result.residual["x"].values[0])))
    r, c = full["row"].to_numpy() + row0, full["col"].to_numpy() + col0
    assert len(full) >= 12 and (r == 4).any()
    np.testing.assert_allclose(means[r, c], lst.values[r, c], atol=1e-4)
    assert "lst_range" in set(result.samples["excluded"])
    # Cross-validated RMSE: out-of-fold errors at 1 km, at least the in-sample RMSE of the
    # pairs (the +-1.5 K per-cell noise, standard deviation 0.87 K) and not much more.
    used = result.samples[result.samples["used"]]
    fitted = result.slope * used["ndvi"] + result.intercept
    in_sample = float(np.sqrt(np.mean((used["lst"] - fitted) ** 2)))
    assert 0.5 < in_sample <= result.cv_rmse < 1.3 * in_sample

    plain = sharpen(lst, ndvi, residual_correction=False)
    assert plain.slope == result.slope
    np.testing.assert_allclose(
        plain.sharpened.values,
        result.slope * ndvi.values.astype(float) + result.intercept,
        rtol=1e-6,
    )
    assert (
        np.abs(
            cell_means_of(plain.sharpened.values, rows, cols, lst.shape)[r, c] - lst.values[r, c]
        ).max()
        > 0.5
    )


def test_dask_input_gives_a_lazy_map_equal_to_numpy() -> None:
    ndvi = utm_ndvi(300, 20.0)
    lst, _, _, _ = lonlat_lst(ndvi, noise=2.0)
    eager = sharpen(lst, ndvi)
    lazy = sharpen(lst.chunk(4), ndvi.chunk(64))
    assert isinstance(lazy.sharpened.data, da.Array)
    assert lazy.sharpened.data.chunks == ndvi.chunk(64).data.chunks
    assert lazy.slope == pytest.approx(eager.slope, abs=1e-9)
    np.testing.assert_allclose(lazy.sharpened.values, eager.sharpened.values, atol=1e-9)


def test_large_lazy_dask_ndvi_is_sharpened_chunk_by_chunk() -> None:
    # 4000 x 4000 at 10 m in 1000 x 1000 chunks, generated when computed; 1 km LST in the same
    # CRS (40 x 40 cells). Each chunk is generated once by sharpen (the coarse means) and once
    # when the map is computed: nothing else is computed at call time.
    chunk, res = 1000, 10.0
    generated: list[tuple[int, int]] = []
    lock = threading.Lock()

    def block(block_info=None) -> np.ndarray:
        (r0, r1), (c0, c1) = block_info[None]["array-location"]
        with lock:
            generated.append((r0, c0))
        x = ORIGIN[0] + res * (np.arange(c0, c1) + 0.5)
        y = ORIGIN[1] - res * (np.arange(r0, r1) + 0.5)
        return ndvi_field(x, y, seed=r0 * 7 + c0).astype(np.float32)

    data = da.map_blocks(
        block,
        chunks=((chunk,) * 4, (chunk,) * 4),
        dtype=np.float32,
        meta=np.empty((0, 0), np.float32),
    )
    ndvi = raster(data, *ORIGIN, res, UTM)
    means = ndvi.values.reshape(40, 100, 40, 100).astype(np.float64).mean(axis=(1, 3))
    generated.clear()
    noise = np.random.default_rng(3).normal(0, 0.5, means.shape)
    lst = raster(SLOPE * means + INTERCEPT + noise, *ORIGIN, 1000.0, UTM, name="lst")

    result = sharpen(lst, ndvi)

    assert len(generated) == 16  # the coarse pass only
    sharpened = result.sharpened
    assert isinstance(sharpened.data, da.Array)
    assert sharpened.data.chunks == data.chunks
    fit = np.polyfit(means.ravel(), lst.values.ravel(), 1)
    assert result.slope == pytest.approx(fit[0], abs=1e-6)
    assert result.intercept == pytest.approx(fit[1], abs=1e-6)
    coarse = sharpened.astype("float64").coarsen(y=100, x=100).mean().values  # chunk by chunk
    assert len(generated) == 32
    np.testing.assert_allclose(coarse, lst.values, atol=1e-4)


def test_south_up_grids_give_the_same_answer() -> None:
    ndvi = utm_ndvi(300, 20.0)
    lst, _, _, _ = lonlat_lst(ndvi, noise=2.0)
    north_up = sharpen(lst, ndvi)
    south_up = sharpen(lst.isel(y=slice(None, None, -1)), ndvi.isel(y=slice(None, None, -1)))
    assert south_up.slope == pytest.approx(north_up.slope, abs=1e-9)
    np.testing.assert_allclose(
        south_up.sharpened.values[::-1], north_up.sharpened.values, atol=1e-9
    )


def test_time_dim_of_length_one_is_squeezed() -> None:
    ndvi = utm_ndvi(100, 10.0)
    means = ndvi.values.reshape(10, 10, 10, 10).mean(axis=(1, 3))
    lst = raster(SLOPE * means + INTERCEPT, *ORIGIN, 100.0, UTM, name="lst")
    result = sharpen(lst.expand_dims(time=[np.datetime64("2023-06-20")]), ndvi.expand_dims(band=1))
    assert result.slope == pytest.approx(SLOPE, abs=1e-6)
    assert result.sharpened.dims == ("y", "x")


def test_water_class_recovers_land_line_and_water_temperature() -> None:
    ndvi = utm_ndvi(200, 10.0)
    values = ndvi.values.copy()
    # Water in growing shares of the cells of the top rows (NDVI -0.4).
    for i in range(20):
        values[(i % 5) * 10 : (i % 5) * 10 + 1 + i // 3, (i // 5) * 10 : (i // 5) * 10 + 10] = -0.4
    ndvi = ndvi.copy(data=values)
    water = values < 0
    truth = np.where(water, 296.0, SLOPE * values + INTERCEPT)
    lst_values = truth.reshape(20, 10, 20, 10).mean(axis=(1, 3))
    lst = raster(lst_values, *ORIGIN, 100.0, UTM, name="lst")

    result = sharpen(lst, ndvi, water_ndvi=0.0, ndvi_range=None, lst_range=None)

    assert result.slope == pytest.approx(SLOPE, abs=1e-6)
    assert result.intercept == pytest.approx(INTERCEPT, abs=1e-6)
    assert result.water_lst == pytest.approx(296.0, abs=1e-6)
    np.testing.assert_allclose(result.sharpened.values, truth, atol=1e-6)
    assert result.samples["water_fraction"].max() > 0.5
    assert "NDVI < 0: 296.00 K" in result.summary()
    # The article's single line makes the same water tens of kelvin too hot.
    article_line = sharpen(
        lst, ndvi, ndvi_range=None, lst_range=None, residual_correction=False, water_ndvi=None
    )
    assert np.mean(article_line.sharpened.values[water] - 296.0) > 10


def test_water_class_without_enough_water_leaves_water_nan() -> None:
    ndvi = utm_ndvi(200, 10.0)
    values = ndvi.values.copy()
    values[0, :3] = -0.4  # three stray water pixels
    ndvi = ndvi.copy(data=values)
    lst = raster(
        SLOPE * values.reshape(20, 10, 20, 10).mean(axis=(1, 3)) + INTERCEPT,
        *ORIGIN,
        100.0,
        UTM,
        name="lst",
    )
    result = sharpen(lst, ndvi, water_ndvi=0.0)
    assert np.isnan(result.water_lst)
    assert np.isnan(result.sharpened.values[0, :3]).all()
    assert np.isfinite(result.sharpened.values[1:]).all()
    assert "not estimable" in str(result)


# --------------------------------------------------------------------------------------------
# Filters and the samples table


def blocky_case(cell_ndvi: np.ndarray, cell_lst: np.ndarray) -> tuple[xr.DataArray, xr.DataArray]:
    """NDVI constant over each 10 x 10 block of 10 m pixels; LST per 100 m cell as given."""
    ndvi_values = np.repeat(np.repeat(cell_ndvi, 10, axis=0), 10, axis=1)
    return (
        raster(cell_lst, *ORIGIN, 100.0, UTM, name="lst"),
        raster(ndvi_values, *ORIGIN, 10.0, UTM),
    )


def test_filters_and_the_used_column() -> None:
    cell_ndvi = np.linspace(0.15, 0.55, 20).reshape(4, 5)
    cell_lst = SLOPE * cell_ndvi + INTERCEPT
    cell_ndvi[0, 0], cell_lst[0, 0] = 0.05, 330.5  # outside ndvi_range (and lst_range)
    cell_ndvi[1, 1] = 0.8  # outside ndvi_range only
    cell_lst[2, 2] = 299.0  # outside lst_range only
    cell_ndvi[3, 3] = np.nan  # no NDVI: not a pair at all
    cell_lst[3, 4] = np.nan  # no LST (a cloud in the thermal product)
    lst, ndvi = blocky_case(cell_ndvi, cell_lst)

    result = sharpen(lst, ndvi)

    samples = result.samples.set_index(["row", "col"])
    assert len(samples) == 19
    assert result.n == 15 and samples["used"].sum() == 15
    assert samples.loc[(0, 0), "excluded"] == "ndvi_range"  # the first filter that removed it
    assert samples.loc[(1, 1), "excluded"] == "ndvi_range"
    assert samples.loc[(2, 2), "excluded"] == "lst_range"
    assert samples.loc[(3, 4), "excluded"] == "lst NaN"
    assert samples["used"].dtype == bool
    assert result.slope == pytest.approx(SLOPE, abs=1e-6)
    assert [count for _, count in result.filter_counts] == [19, 18, 18, 16, 15]
    assert np.isnan(result.residual.values[3, 4])
    # No residual for the cell without LST: its pixels get the line alone.
    np.testing.assert_allclose(
        result.sharpened.values[30:, 40:], SLOPE * cell_ndvi[3, 4] + INTERCEPT, atol=1e-9
    )
    text = result.summary()
    assert "y = -21.85x + 314.90" in text and "n = 15" in text
    assert "(removed 2)" in text and "(removed 1)" in text
    assert "ndvi_range=0.1..0.6" in text and "lst_range=300..330 K" in text
    assert str(result) == text and "SharpenResult" in repr(result)
    # Conservation holds for the filtered cells too (their residual is still added).
    sharp = result.sharpened.values.reshape(4, 10, 5, 10).mean(axis=(1, 3))
    np.testing.assert_allclose(
        sharp[[0, 1, 2], [0, 1, 2]], cell_lst[[0, 1, 2], [0, 1, 2]], atol=1e-9
    )

    only_lst = sharpen(lst, ndvi, ndvi_range=None)
    assert only_lst.n == 16 and only_lst.samples.set_index(["row", "col"]).loc[(1, 1), "used"]
    everything = sharpen(lst, ndvi, ndvi_range=None, lst_range=None)
    assert everything.n == 18
    assert list(everything.samples.loc[~everything.samples["used"], "excluded"]) == ["lst NaN"]
    assert everything.slope != pytest.approx(SLOPE, abs=0.1)  # the outliers pull the line
    assert "None (off)" in everything.summary()


# --------------------------------------------------------------------------------------------
# Errors


def test_grids_that_do_not_overlap_name_both_extents() -> None:
    ndvi = utm_ndvi(50, 10.0)
    lst = raster(np.full((5, 5), 310.0), 10.0, 50.0, 0.01, "EPSG:4326", name="lst")
    with pytest.raises(ValueError, match="do not overlap") as error:
        sharpen(lst, ndvi)
    message = str(error.value)
    assert "LST grid (lon/lat bounds (10.0, 49.95, 10.05, 50.0))" in message
    assert "NDVI grid (lon/lat bounds (-121." in message


def test_too_few_pairs_says_what_each_filter_removed() -> None:
    cell_ndvi = np.linspace(0.15, 0.55, 20).reshape(4, 5)
    lst, ndvi = blocky_case(cell_ndvi, SLOPE * cell_ndvi + INTERCEPT)
    with pytest.raises(ValueError, match="too few pairs") as error:
        sharpen(lst, ndvi, ndvi_range=(0.52, 0.6))
    message = str(error.value)
    assert "2 remained" in message
    assert "20 coarse pixels with NDVI" in message
    assert "2 with NDVI in ndvi_range 0.52..0.6 (removed 18)" in message
    assert "Widen ndvi_range/lst_range or pass None" in message


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda a: a.expand_dims(time=2), "2 entries along 'time'"),
        (lambda a: a.rename(y="lat", x="lon"), r"rename\(lat='y', lon='x'\)"),
        (lambda a: a.isel(y=0), r"must have dims \('y', 'x'\)"),
        (lambda a: a.drop_vars("spatial_ref"), r"lst has no CRS: set it with lst\.rio\.write_crs"),
        (lambda a: a.drop_vars("x"), "no 1-D 'x' coordinate"),
        (lambda a: a.assign_coords(x=a["x"].values + np.arange(10) ** 2), "not evenly spaced"),
    ],
)
def test_bad_lst_is_a_clear_error(make, match: str) -> None:
    ndvi = utm_ndvi(100, 10.0)
    lst = raster(np.full((10, 10), 310.0), *ORIGIN, 100.0, UTM, name="lst")
    with pytest.raises(ValueError, match=match):
        sharpen(make(lst), ndvi)


def test_other_bad_inputs() -> None:
    ndvi = utm_ndvi(100, 10.0)
    lst = raster(np.full((10, 10), 310.0), *ORIGIN, 100.0, UTM, name="lst")
    bare = ndvi.drop_vars("spatial_ref")
    with pytest.raises(ValueError, match=r"ndvi has no CRS: set it with ndvi\.rio\.write_crs"):
        sharpen(lst, bare)
    with pytest.raises(TypeError, match="DataArray"):
        sharpen(lst.values, ndvi)
    with pytest.raises(ValueError, match="floating point"):
        sharpen(lst, (ndvi * 10000).astype("int16"))
    with pytest.raises(ValueError, match="ndvi_range"):
        sharpen(lst, ndvi, ndvi_range=(0.6, 0.1))
    with pytest.raises(ValueError, match="same mean NDVI"):
        sharpen(lst, ndvi * 0 + 0.3)


# --------------------------------------------------------------------------------------------
# The demo scene


def test_demo_scene_sharpened_rmse_is_below_half_of_bilinear() -> None:
    point, dates, size, res = (-121.01, 37.67), ("2023-06-19", "2023-06-22"), 8000, 20
    image = compositing.load(
        point=point, dates=dates, size_m=size, resolution=res, bands=["B04", "B08", "SCL"]
    ).isel(time=0)
    red, nir = image.sel(band="B04"), image.sel(band="B08")
    cloudy = image.sel(band="SCL").isin([3, 8, 9, 10])
    ndvi = ((nir - red) / (nir + red)).where(~cloudy).rio.write_crs(image.rio.crs)
    lst = compositing.load_lst(point=point, dates=dates, size_m=size).isel(time=0)
    truth = demo.truth(point=point, dates=dates, size_m=size, resolution=res)["lst"]
    truth = truth.isel(time=0).values

    result = sharpen(lst, ndvi, water_ndvi=0.0)

    to_lst = pyproj.Transformer.from_crs(ndvi.rio.crs, lst.rio.crs, always_xy=True)
    lon, lat = to_lst.transform(*np.meshgrid(ndvi["x"].values, ndvi["y"].values))
    points = {"x": xr.DataArray(lon, dims=("y", "x")), "y": xr.DataArray(lat, dims=("y", "x"))}
    bilinear = lst.interp(points, kwargs={"fill_value": None}).values
    sharpened = result.sharpened.values
    valid = np.isfinite(sharpened) & np.isfinite(bilinear)
    assert valid.mean() > 0.95

    def rmse(values: np.ndarray) -> float:
        return float(np.sqrt(np.mean((values[valid] - truth[valid]) ** 2)))

    assert rmse(sharpened) < 0.5 * rmse(bilinear), (rmse(sharpened), rmse(bilinear))
    assert result.slope < 0 and result.r2 > 0.8


# --------------------------------------------------------------------------------------------
# Files to a Cloud-Optimized GeoTIFF


def test_sharpen_files_writes_a_cog(tmp_path: Path) -> None:
    # 6 km of B04/B08 at 20 m in UTM (with the +1000 offset and its metadata); the LST
    # fixture: 0.01 degree cells in EPSG:4326, scaled int16, no date in its name.
    bands = ff.write_band_files(
        tmp_path, bands=("B04", "B08"), ext="tif", size_m=6000, resolutions={"B04": 20, "B08": 20}
    )
    ff.write_mtd_msil2a(tmp_path)
    lst_path = ff.write_lst_geotiff(tmp_path)
    out = tmp_path / "sharpened.tif"

    result = sharpen_files(lst_path, bands["B04"], bands["B08"], out, lst_range=None)

    # NDVI from offset-free reflectance: (B08 - B04) / (B08 + B04), both minus 1000.
    red = ff.band_values("B04", 20, size_m=6000).astype(float) - 1000
    nir = ff.band_values("B08", 20, size_m=6000).astype(float) - 1000
    with np.errstate(invalid="ignore", divide="ignore"):
        ndvi = (nir - red) / (nir + red)
    ndvi[0, 0] = np.nan  # nodata in the files
    with rasterio.open(out) as src:
        assert src.driver == "GTiff"
        assert src.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"
        assert src.crs.to_epsg() == 32610
        assert src.dtypes == ("float32",)
        assert np.isnan(src.nodata)
        assert src.shape == (300, 300)
        assert src.transform.c == ff.ORIGIN[0] and src.transform.f == ff.ORIGIN[1]
        assert src.tags()["equation"] == result.equation
        written = src.read(1)
    np.testing.assert_allclose(written, result.sharpened.values, rtol=1e-6, equal_nan=True)
    assert np.isnan(written[0, 0]) and np.isfinite(written[1:, 1:]).all()
    plain = result.slope * ndvi + result.intercept
    corrected = written - plain.astype(np.float32)
    assert np.nanmax(np.abs(corrected)) < 30  # the residuals: bounded, piecewise constant
    assert result.n >= 20


def test_sharpen_files_refuses_swapped_bands(tmp_path: Path) -> None:
    bands = ff.write_band_files(tmp_path, bands=("B04", "B08"), ext="tif")
    lst_path = ff.write_lst_geotiff(tmp_path)
    with pytest.raises(ValueError, match="red_path .* is band B08; pass the B04 file"):
        sharpen_files(lst_path, bands["B08"], bands["B04"], tmp_path / "out.tif")
