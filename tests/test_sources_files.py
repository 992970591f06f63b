"""Tests of the local-file source: Sentinel-2 band files and LST GeoTIFFs written on the fly."""

from __future__ import annotations

import warnings
from pathlib import Path

import dask
import dask.array as da
import file_fixtures as ff
import numpy as np
import pandas as pd
import pytest
import rioxarray  # noqa: F401  (registers the .rio accessor)

import compositing.sources as sources
from compositing import check_collection
from compositing.facade import Filter, ImageCollection
from compositing.solar import solar_angles
from compositing.sources import files, grid_for

EXT = "jp2" if ff.jp2_writable() else "tif"
BANDS = ["B04", "B08", "B11", "SCL"]


def expected(band: str, resolution: float = 10, *, offset: float = 0, seed: int = 0) -> np.ndarray:
    """What the loader should return for a band written at its own resolution, on that grid."""
    values = ff.band_values(band, resolution, seed=seed).astype("float32")
    values[values == 0] = np.nan
    return values if band == "SCL" else values - np.float32(offset)


def upsample(values: np.ndarray, factor: int) -> np.ndarray:
    return np.repeat(np.repeat(values, factor, axis=0), factor, axis=1)


def load_quietly(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return files.load(*args, **kwargs)


@pytest.fixture
def scene(tmp_path: Path) -> Path:
    """Two acquisitions of one tile: 2023 (offset) and 2021 (no offset)."""
    ff.write_band_files(tmp_path, bands=BANDS, ext=EXT)
    ff.write_band_files(tmp_path, bands=BANDS, ext=EXT, datetime=ff.DATETIME_OLD, seed=7)
    return tmp_path


# --------------------------------------------------------------------------------------------
# Names


@pytest.mark.parametrize(
    ("name", "band", "resolution"),
    [
        ("T10SFG_20230620T183919_B04_10m.jp2", "B04", 10),
        ("T10SFG_20230620T183919_B8A_20m.jp2", "B8A", 20),
        ("T10SFG_20230620T183919_SCL_20m.tif", "SCL", 20),
        ("T10SFG_20230620T183919_B01_60m.TIF", "B01", 60),
        ("T10SFG_20230620T183919_B04.jp2", "B04", None),
        ("T10SFG_20230620T183919_B12.tiff", "B12", None),
    ],
)
def test_parse_band_file_name(name: str, band: str, resolution: int | None) -> None:
    parsed = files.parse_band_file_name(Path("/data") / name)
    assert parsed.tile == "T10SFG"
    assert parsed.time == pd.Timestamp("2023-06-20T18:39:19")
    assert parsed.band == band
    assert parsed.resolution == resolution
    assert parsed.stamp == "20230620T183919"


@pytest.mark.parametrize(
    "name",
    [
        "Sentinel-3_L2_LST_reproj.tif",
        "T10SFG_20230620_B04_10m.jp2",
        "T10SFG_20230620T183919_B13_10m.jp2",
        "T10SFG_20230620T183919_B04_30m.jp2",
        "T10SFG_20230620T183919_B04_10m.png",
    ],
)
def test_unparseable_name_says_the_pattern(name: str) -> None:
    with pytest.raises(ValueError, match=r"T<tile>_<YYYYMMDDTHHMMSS>_<band>") as info:
        files.parse_band_file_name(name)
    assert name in str(info.value)


def test_bad_datetime_in_name() -> None:
    with pytest.raises(ValueError, match="acquisition datetime"):
        files.parse_band_file_name("T10SFG_20231340T183919_B04_10m.jp2")


# --------------------------------------------------------------------------------------------
# Sentinel-2 band files


def test_directory_loads_as_a_lazy_contract_collection(scene: Path) -> None:
    with pytest.warns(UserWarning, match=r"inferred from the date.*boa_offset=0"):
        collection = files.load(scene, None, None, None)
    check_collection(collection)
    assert isinstance(collection.data, da.Array)
    assert collection.dtype == np.float32
    assert list(collection["band"].values) == BANDS
    assert list(collection["time"].values) == list(
        pd.to_datetime(["2021-07-05T18:49:19", "2023-06-20T18:39:19"])
    )
    assert list(collection["tile"].values) == ["T10SFG", "T10SFG"]
    assert collection.sizes["y"] == collection.sizes["x"] == 64
    assert collection.rio.crs.to_epsg() == 32610
    left, top = ff.ORIGIN
    np.testing.assert_array_equal(collection["x"], left + 10 * (np.arange(64) + 0.5))
    np.testing.assert_array_equal(collection["y"], top - 10 * (np.arange(64) + 0.5))
    assert collection.attrs["source"] == "files"
    assert collection.attrs["product"] == "L2A"
    assert collection.attrs["boa_offset_removed"] == 1000
    assert len(collection.attrs["files"]) == 8
    assert all(isinstance(f, str) for f in collection.attrs["files"])
    np.testing.assert_array_equal(collection["boa_offset_removed"], [0, 1000])


def test_values_offset_removed_after_baseline_04_and_not_before(scene: Path) -> None:
    collection = load_quietly(scene, None, None, None).compute()
    old, new = collection.isel(time=0), collection.isel(time=1)
    for band in ("B04", "B08"):
        np.testing.assert_array_equal(old.sel(band=band), expected(band, seed=7))
        np.testing.assert_array_equal(new.sel(band=band), expected(band, offset=1000))
    # 0 is nodata -> NaN; SCL keeps its class numbers and no offset.
    assert np.isnan(new.sel(band="B04").values[:2, :2]).all()
    np.testing.assert_array_equal(new.sel(band="SCL"), upsample(expected("SCL", 20), 2))


def test_20m_bands_resampled_onto_the_10m_grid(scene: Path) -> None:
    collection = load_quietly(scene, None, None, None, bands=["B04", "B11", "SCL"])
    image = collection.isel(time=1).compute()
    # SCL: nearest neighbour, each 20 m class copied to its four 10 m pixels.
    np.testing.assert_array_equal(image.sel(band="SCL"), upsample(expected("SCL", 20), 2))
    # B11: bilinear, exact for a plane away from the edges and the nodata corner.
    centres = (np.arange(64) + 0.5) * 10
    plane = ff.plane("B11", centres[None, :], centres[:, None]) - 1000
    np.testing.assert_allclose(image.sel(band="B11").values[4:-2, 4:-2], plane[4:-2, 4:-2])


def test_grid_given_gives_its_exact_coordinates_and_averages(scene: Path) -> None:
    grid = grid_for(point=ff.POINT, size_m=320, resolution=20)
    collection = load_quietly(scene, grid, None, None).compute()
    check_collection(collection)
    assert collection.sizes["y"] == grid.height and collection.sizes["x"] == grid.width
    np.testing.assert_array_equal(collection["x"], grid.x)
    np.testing.assert_array_equal(collection["y"], grid.y)
    assert collection.rio.crs.to_epsg() == grid.epsg
    # The grid lies inside the files; its pixels are 20 m cells of their lattice.
    left, top = ff.ORIGIN
    col0, row0 = int((grid.left - left) / 20), int((top - grid.top) / 20)
    rows, cols = slice(row0, row0 + grid.height), slice(col0, col0 + grid.width)
    new = collection.isel(time=1)
    # B04 10 m -> 20 m: the average of the four pixels, i.e. the plane at the 20 m centres.
    b04 = expected("B04", 10, offset=1000)
    averaged = b04.reshape(32, 2, 32, 2).mean(axis=(1, 3))
    np.testing.assert_array_equal(new.sel(band="B04"), averaged[rows, cols])
    # B11 and SCL are already 20 m on the same lattice: copied.
    np.testing.assert_array_equal(new.sel(band="B11"), expected("B11", 20, offset=1000)[rows, cols])
    np.testing.assert_array_equal(new.sel(band="SCL"), expected("SCL", 20)[rows, cols])


def test_grid_larger_than_the_files_is_nan_outside(scene: Path) -> None:
    grid = grid_for(point=ff.POINT, size_m=2000, resolution=10)
    collection = load_quietly(scene, grid, None, None, bands=["B04"]).compute()
    assert collection.sizes["x"] == 200
    values = collection.isel(time=1, band=0).values
    inside = (collection["x"] > ff.ORIGIN[0]) & (collection["x"] < ff.ORIGIN[0] + ff.SIZE_M)
    assert np.isnan(values[:, ~inside.values]).all()
    assert np.isfinite(values[:, inside.values]).any()


def test_metadata_offset_is_read_instead_of_inferred(tmp_path: Path) -> None:
    ff.write_band_files(tmp_path, bands=["B04", "SCL"], ext=EXT)
    ff.write_mtd_msil2a(tmp_path, offset=-900)  # an unusual value proves it was read
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        collection = files.load(tmp_path, None, None, None).compute()
    np.testing.assert_array_equal(
        collection.isel(time=0).sel(band="B04"), expected("B04", offset=900)
    )
    np.testing.assert_array_equal(
        collection.isel(time=0).sel(band="SCL"), upsample(expected("SCL", 20), 2)
    )
    assert collection.attrs["boa_offset_removed"] == 900


def test_metadata_without_offsets_means_no_offset(tmp_path: Path) -> None:
    ff.write_band_files(tmp_path, bands=["B04"], ext=EXT)
    ff.write_mtd_msil2a(tmp_path, baseline="03.01", offset=None)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        collection = files.load(tmp_path, None, None, None).compute()
    np.testing.assert_array_equal(collection.isel(time=0, band=0), expected("B04"))


def test_metadata_of_another_product_is_ignored(tmp_path: Path) -> None:
    ff.write_band_files(tmp_path, bands=["B04"], ext=EXT)
    ff.write_mtd_msil2a(tmp_path, datetime="20230625T183921", offset=-500)
    with pytest.warns(UserWarning, match="inferred from the date"):
        collection = files.load(tmp_path, None, None, None)
    assert collection.attrs["boa_offset_removed"] == 1000


def test_safe_layout_reads_metadata_and_sun_angles(tmp_path: Path) -> None:
    safe = tmp_path / "S2B_MSIL2A_20230620T183919_N0509_R070_T10SFG_20230620T224951.SAFE"
    granule = safe / "GRANULE" / "L2A_T10SFG_A032784_20230620T184523"
    ff.write_band_files(granule / "IMG_DATA" / "R10m", bands=["B04", "B08"], ext=EXT)
    ff.write_band_files(
        granule / "IMG_DATA" / "R20m", bands=["B04", "B11", "SCL"], ext=EXT, resolutions={"B04": 20}
    )
    ff.write_band_files(granule / "IMG_DATA" / "R60m", bands=["B01"], ext=EXT)
    (granule / "QI_DATA").mkdir()
    (granule / "QI_DATA" / "MSK_CLDPRB_20m.jp2").write_bytes(b"")
    ff.write_mtd_msil2a(safe)
    ff.write_mtd_tl(granule, zenith=21.5, azimuth=131.25)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        collection = files.load(safe, None, None, None)
    assert list(collection["band"].values) == ["B01", "B04", "B08", "B11", "SCL"]
    # B04 exists at 10 and 20 m: the 10 m file is used.
    assert any("R10m" in f and "_B04_" in f for f in collection.attrs["files"])
    assert not any("R20m" in f and "_B04_" in f for f in collection.attrs["files"])
    np.testing.assert_array_equal(
        collection.isel(time=0).sel(band="B04"), expected("B04", offset=1000)
    )
    assert collection["solar_zenith"].values.tolist() == [21.5]
    assert collection["solar_azimuth"].values.tolist() == [131.25]
    # Earth Engine's properties, from the product's metadata.
    image = ImageCollection(collection).first()
    assert image.get("CLOUDY_PIXEL_PERCENTAGE") == 12.5
    assert image.get("SPACECRAFT_NAME") == "Sentinel-2B"
    assert image.get("MGRS_TILE") == "10SFG"
    # The metadata's PRODUCT_URI (the fixture writes its own processing time).
    assert image.get("system:index").startswith("S2B_MSIL2A_20230620T183919_N0509_R070_T10SFG_")
    assert image.get("MEAN_SOLAR_ZENITH_ANGLE") == 21.5


def test_files_without_metadata_name_their_images_and_have_no_cloud_cover(scene: Path) -> None:
    collection = ImageCollection(files.load(scene, None, None, None))
    assert collection.aggregate_array("MGRS_TILE") == ["10SFG"] * collection.size()
    assert all(i.endswith("_T10SFG") for i in collection.aggregate_array("system:index"))
    assert np.isnan(collection.aggregate_array("CLOUDY_PIXEL_PERCENTAGE")).all()
    # An image without a value passes no comparison, as in Earth Engine.
    assert collection.filter(Filter.lt("CLOUDY_PIXEL_PERCENTAGE", 100)).size() == 0


def test_safe_name_baseline_is_used_without_metadata(tmp_path: Path) -> None:
    safe = tmp_path / "S2A_MSIL2A_20230620T183919_N0400_R070_T10SFG_20230620T224951.SAFE"
    ff.write_band_files(safe / "GRANULE" / "g" / "IMG_DATA" / "R10m", bands=["B04"], ext=EXT)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        collection = files.load(safe, None, None, None)
    assert collection.attrs["boa_offset_removed"] == 1000


def test_sun_angles_computed_without_metadata(scene: Path) -> None:
    collection = load_quietly(scene, None, None, None)
    azimuth, zenith = solar_angles(pd.DatetimeIndex(collection["time"].values), *ff.POINT)
    np.testing.assert_allclose(collection["solar_azimuth"], azimuth, atol=0.05)
    np.testing.assert_allclose(collection["solar_zenith"], zenith, atol=0.05)


@pytest.mark.parametrize(("option", "removed"), [(0, 0), (None, 0), (1000, 1000)])
def test_boa_offset_option(scene: Path, option: float | None, removed: float) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        collection = files.load(scene, None, None, None, boa_offset=option, bands=["B04", "SCL"])
    image = collection.isel(time=1).compute()
    np.testing.assert_array_equal(image.sel(band="B04"), expected("B04", offset=removed))
    np.testing.assert_array_equal(image.sel(band="SCL"), upsample(expected("SCL", 20), 2))


@pytest.mark.parametrize("option", [-1000, "yes", True, float("nan")])
def test_bad_boa_offset(scene: Path, option: object) -> None:
    with pytest.raises(ValueError, match="boa_offset"):
        files.load(scene, None, None, None, boa_offset=option)


def test_negative_reflectance_after_offset_is_kept(tmp_path: Path) -> None:
    ff.write_band_files(tmp_path, bands=["B04"], ext=EXT, seed=-1700)  # DN 100..484, water-like
    collection = load_quietly(tmp_path, None, None, None).compute()
    values = collection.isel(time=0, band=0).values
    np.testing.assert_array_equal(values, expected("B04", offset=1000, seed=-1700))
    assert np.nanmax(values) < 0


def test_bands_selects_in_order_and_accepts_short_ids(scene: Path) -> None:
    collection = load_quietly(scene, None, None, None, bands=["scl", "B8", "b04"])
    assert list(collection["band"].values) == ["SCL", "B08", "B04"]


def test_missing_band_names_it_and_the_bands_found(scene: Path) -> None:
    with pytest.raises(ValueError, match=r"'B02'.*found \['B04', 'B08', 'B11', 'SCL'\]"):
        files.load(scene, None, None, None, bands=["B04", "B02"])
    with pytest.raises(ValueError, match="TCI"):
        files.load(scene, None, None, None, bands=["TCI"])


def test_dates_filter_with_exclusive_end(scene: Path) -> None:
    collection = load_quietly(
        scene, None, pd.Timestamp("2021-01-01"), pd.Timestamp("2023-06-20T18:39:19")
    )
    assert collection.sizes["time"] == 1
    assert collection["time"].values[0] == np.datetime64("2021-07-05T18:49:19")
    with pytest.raises(ValueError, match=r"2021-07-05T18:49:19.*2023-06-20T18:39:19.*dates="):
        files.load(scene, None, pd.Timestamp("2024-01-01"), pd.Timestamp("2024-02-01"))


def test_bands_missing_from_some_dates_are_left_out_with_a_warning(tmp_path: Path) -> None:
    ff.write_band_files(tmp_path, bands=["B04", "B08", "B11"], ext=EXT)
    ff.write_band_files(tmp_path, bands=["B04", "B08"], ext=EXT, datetime=ff.DATETIME_OLD)
    with pytest.warns(UserWarning, match=r"\['B11'\] are missing from some"):
        collection = files.load(tmp_path, None, None, None, boa_offset=0)
    assert list(collection["band"].values) == ["B04", "B08"]


def test_l1c_names_and_tif_and_tci_ignored(tmp_path: Path) -> None:
    ff.write_band_files(tmp_path, bands=["B04", "B08"], ext="tif", suffix=False)
    ff.write_band_files(
        tmp_path, bands=["B02"], ext="tif", suffix=False, datetime="20230620T183919"
    )
    (tmp_path / "T10SFG_20230620T183919_TCI.tif").write_bytes(b"not read")
    (tmp_path / "notes.tif").write_bytes(b"not a band file")
    collection = files.load(tmp_path, None, None, None, product="L1C", boa_offset=0)
    check_collection(collection)
    assert list(collection["band"].values) == ["B02", "B04", "B08"]
    assert collection.attrs["product"] == "L1C"


def test_l1c_metadata_radio_offset(tmp_path: Path) -> None:
    ff.write_band_files(tmp_path, bands=["B04"], ext="tif", suffix=False)
    ff.write_mtd_msil2a(tmp_path, product="L1C")
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        collection = files.load(tmp_path, None, None, None, product="L1C")
    np.testing.assert_array_equal(collection.isel(time=0, band=0), expected("B04", offset=1000))


def test_list_of_paths_and_glob(scene: Path) -> None:
    paths = sorted(scene.glob(f"*20230620T183919_B0[48]_10m.{EXT}"))
    from_list = load_quietly([str(p) for p in paths], None, None, None)
    from_glob = load_quietly(str(scene / f"*20230620T183919_B0?_10m.{EXT}"), None, None, None)
    for collection in (from_list, from_glob):
        assert list(collection["band"].values) == ["B04", "B08"]
        assert collection.sizes["time"] == 1


def test_explicit_non_band_file_is_an_error(scene: Path, tmp_path: Path) -> None:
    lst = ff.write_lst_geotiff(tmp_path)
    b04 = next(scene.glob(f"*20230620T183919_B04_10m.{EXT}"))
    with pytest.raises(ValueError, match=r"Sentinel-3_L2_LST_reproj\.tif.*load_lst"):
        files.load([b04, lst], None, None, None)


def test_missing_file_and_empty_directory(tmp_path: Path) -> None:
    missing = tmp_path / "T10SFG_20230620T183919_B04_10m.jp2"
    with pytest.raises(FileNotFoundError, match="T10SFG_20230620T183919_B04_10m.jp2"):
        files.load(missing, None, None, None)
    with pytest.raises(FileNotFoundError, match=r"earth_search.*'earth-search'"):
        files.load("earth_search", None, None, None)
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "readme.txt").write_text("nothing")
    with pytest.raises(FileNotFoundError, match=r"empty.*T<tile>_<YYYYMMDDTHHMMSS>_<band>"):
        files.load(empty, None, None, None)
    with pytest.raises(FileNotFoundError, match=r"no files match the pattern .*\*\.jp2"):
        files.load(str(empty / "*.jp2"), None, None, None)


def test_mixed_tiles_need_an_area(tmp_path: Path) -> None:
    ff.write_band_files(tmp_path, bands=["B04"], ext=EXT)
    ff.write_band_files(
        tmp_path, bands=["B04"], ext=EXT, tile="T10SFH", origin=(675_180.0, 4_172_000.0)
    )
    with pytest.raises(ValueError, match=r"2 tiles \(T10SFG, T10SFH\).*point=.*bbox="):
        files.load(tmp_path, None, None, None)


def test_tiles_of_one_acquisition_separate_or_mosaicked(tmp_path: Path) -> None:
    # T10SFH is the same square 320 m further north: they overlap on T10SFG's northern half.
    ff.write_band_files(tmp_path, bands=["B04"], ext=EXT)
    north = (ff.ORIGIN[0], ff.ORIGIN[1] + 320)
    ff.write_band_files(tmp_path, bands=["B04"], ext=EXT, tile="T10SFH", origin=north, seed=5)
    left, bottom = ff.ORIGIN[0], ff.ORIGIN[1] - ff.SIZE_M
    grid = sources.Grid(
        grid_for(point=ff.POINT).crs, 10.0, left, north[1], 64, int((north[1] - bottom) / 10)
    )
    separate = files.load(tmp_path, grid, None, None, boa_offset=0)
    check_collection(separate)
    assert separate["tile"].values.tolist() == ["T10SFG", "T10SFH"]
    assert separate["time"].values[0] == separate["time"].values[1]
    assert np.isnan(separate.isel(time=0, band=0).values[:32]).all()  # outside T10SFG
    collection = files.load(tmp_path, grid, None, None, boa_offset=0, tiles="mosaic").compute()
    check_collection(collection)
    assert collection.sizes["time"] == 1
    assert collection["tile"].values.tolist() == ["T10SFG+T10SFH"]
    values = collection.isel(time=0, band=0).values
    # The first tile (name order) wins where both have data; the other fills the rest,
    # including the first tile's nodata corner.
    sfg, sfh = expected("B04"), expected("B04", seed=5)
    np.testing.assert_array_equal(values[34:], sfg[2:])
    np.testing.assert_array_equal(values[32:34, 2:], sfg[:2, 2:])
    np.testing.assert_array_equal(values[32:34, :2], sfh[32:34, :2])
    np.testing.assert_array_equal(values[:32], sfh[:32])
    with pytest.raises(ValueError, match="tiles must be"):
        files.load(tmp_path, grid, None, None, tiles="merge")


def test_unknown_option_is_refused(scene: Path) -> None:
    with pytest.raises(TypeError, match=r"max_cloud_cover.*boa_offset"):
        files.load(scene, None, None, None, max_cloud_cover=30)


def test_two_grids_of_one_file_do_not_share_dask_keys(scene: Path) -> None:
    coarse = grid_for(point=ff.POINT, size_m=320, resolution=20)
    fine = grid_for(point=ff.POINT, size_m=320, resolution=10)
    a = load_quietly(scene, coarse, None, None, bands=["B04"], chunks=8)
    b = load_quietly(scene, fine, None, None, bands=["B04"], chunks=8)

    def names(array: object) -> set[str]:
        return {k[0] for k in dict(array.data.__dask_graph__()) if str(k[0]).startswith("files-")}

    assert names(a) and names(b) and not names(a) & names(b)
    # Computed together, each keeps its own values.
    together_a, together_b = dask.compute(a, b)
    np.testing.assert_array_equal(together_a.values, a.values)
    np.testing.assert_array_equal(together_b.values, b.values)


def test_through_the_dispatch(scene: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        collection = sources.load(
            str(scene),
            point=ff.POINT,
            size_m=320,
            resolution=20,
            dates=("2023-06-01", "2023-07-01"),
        )
    check_collection(collection)
    assert collection.sizes["time"] == 1
    np.testing.assert_array_equal(
        collection["x"], grid_for(point=ff.POINT, size_m=320, resolution=20).x
    )


# --------------------------------------------------------------------------------------------
# LST GeoTIFFs


def lst_expected(raw: np.ndarray | None = None) -> np.ndarray:
    raw = ff.lst_raw_values() if raw is None else raw
    kelvin = (raw.astype("float64") * ff.LST_SCALE + ff.LST_OFFSET).astype("float32")
    kelvin[raw == ff.LST_NODATA] = np.nan
    return kelvin


def test_lst_whole_file_in_kelvin_on_its_own_grid(tmp_path: Path) -> None:
    path = ff.write_lst_geotiff(tmp_path)
    lst = files.load_lst(path, None, None, None, time="2023-06-20T18:30")
    assert lst.dims == ("time", "y", "x")
    assert lst.dtype == np.float32
    assert isinstance(lst.data, da.Array)
    assert lst.rio.crs.to_epsg() == 4326
    assert lst["time"].values.tolist() == [pd.Timestamp("2023-06-20T18:30").value]
    np.testing.assert_array_equal(lst.isel(time=0).values, lst_expected())
    assert np.isnan(lst.isel(time=0).values[-1]).all()  # nodata row
    np.testing.assert_allclose(lst["x"], ff.LST_WEST + 0.01 * (np.arange(20) + 0.5))
    np.testing.assert_allclose(lst["y"], ff.LST_NORTH - 0.01 * (np.arange(20) + 0.5))
    assert lst.attrs["units"] == "K" and lst.attrs["source"] == "files"
    assert lst.attrs["scale"] == pytest.approx(0.02) and lst.attrs["offset"] == 290
    assert lst.attrs["files"] == [str(path)]


@pytest.mark.parametrize(
    ("size_m", "rows", "cols"), [(500, [7], [9]), (1500, [6, 7, 8], [8, 9, 10])]
)
def test_lst_cropped_to_the_pixels_touching_the_area(
    tmp_path: Path, size_m: float, rows: list[int], cols: list[int]
) -> None:
    path = ff.write_lst_geotiff(tmp_path, "S3A_SL_2_LST____20230620T183000_20230620T183300.tif")
    # (-121.005, 37.675) is the centre of the pixel at row 7, column 9.
    area = grid_for(point=(-121.005, 37.675), size_m=size_m)
    lst = files.load_lst(path, area, None, None)
    assert lst.rio.crs.to_epsg() == 4326  # not reprojected
    assert lst["time"].values[0] == np.datetime64("2023-06-20T18:30:00")
    np.testing.assert_array_equal(lst.isel(time=0).values, lst_expected()[np.ix_(rows, cols)])
    np.testing.assert_allclose(lst["x"], ff.LST_WEST + 0.01 * (np.array(cols) + 0.5))
    np.testing.assert_allclose(lst["y"], ff.LST_NORTH - 0.01 * (np.array(rows) + 0.5))


def test_lst_through_the_dispatch(tmp_path: Path) -> None:
    path = ff.write_lst_geotiff(tmp_path, "LST_20230620.tif")
    lst = sources.load_lst(str(path), point=(-121.005, 37.675), size_m=500)
    assert lst.shape == (1, 1, 1)
    assert lst["time"].values[0] == np.datetime64("2023-06-20")


def test_lst_in_a_projected_crs(tmp_path: Path) -> None:
    raw = ff.lst_raw_values((10, 10))
    path = ff.write_lst_geotiff(
        tmp_path, "lst_20230620.tif", values=raw, west=670_000, north=4_176_000, resolution=1000,
        crs="EPSG:32610",
    )  # fmt: skip
    lst = files.load_lst(path, grid_for(point=ff.POINT, size_m=640), None, None)
    assert lst.rio.crs.to_epsg() == 32610
    # The 640 m square around x 675 506, y 4 171 065 spans y 4 170 745 .. 4 171 385 (rows 4
    # and 5, split at y 4 171 000) and x 675 186 .. 675 826 (column 5).
    np.testing.assert_array_equal(lst.isel(time=0).values, lst_expected(raw)[4:6, 5:6])


def test_lst_scale_and_offset_options_override(tmp_path: Path) -> None:
    raw = np.full((4, 4), 3000, dtype="int16")
    path = ff.write_lst_geotiff(tmp_path, "lst_20230620.tif", values=raw, scale=None, offset=None)
    with pytest.raises(ValueError, match=r"does not look like kelvin.*raw digital numbers"):
        files.load_lst(path, None, None, None)
    lst = files.load_lst(path, None, None, None, scale=0.1, offset=0)
    np.testing.assert_allclose(lst.values, 300.0)


def test_lst_in_celsius_is_refused(tmp_path: Path) -> None:
    celsius = np.full((4, 4), 31.5, dtype="float32")
    path = ff.write_lst_geotiff(
        tmp_path, "lst_20230620.tif", values=celsius, scale=None, offset=None, nodata=None
    )
    with pytest.raises(ValueError, match=r"Celsius.*offset=273.15"):
        files.load_lst(path, None, None, None)
    lst = files.load_lst(path, None, None, None, offset=273.15)
    np.testing.assert_allclose(lst.values, 304.65, rtol=1e-6)


def test_lst_time_from_tag_with_a_warning(tmp_path: Path) -> None:
    path = ff.write_lst_geotiff(tmp_path, tags={"TIFFTAG_DATETIME": "2023:06:20 18:31:00"})
    with pytest.warns(UserWarning, match="TIFFTAG_DATETIME"):
        lst = files.load_lst(path, None, None, None)
    assert lst["time"].values[0] == np.datetime64("2023-06-20T18:31:00")


def test_lst_without_a_time_asks_for_one(tmp_path: Path) -> None:
    path = ff.write_lst_geotiff(tmp_path)
    with pytest.raises(ValueError, match=r"Sentinel-3_L2_LST_reproj\.tif.*time="):
        files.load_lst(path, None, None, None)


def test_lst_no_overlap_names_both_bounds(tmp_path: Path) -> None:
    path = ff.write_lst_geotiff(tmp_path, "lst_20230620.tif")
    far = grid_for(point=(-100.0, 40.0), size_m=1000)
    with pytest.raises(
        ValueError, match=r"lon/lat bounds \(-121\.1, 37\.55, -120\.9, 37\.75\).*-100"
    ):
        files.load_lst(path, far, None, None)


def test_lst_dates_filter_and_several_files(tmp_path: Path) -> None:
    a = ff.write_lst_geotiff(tmp_path, "lst_20230621.tif")
    b = ff.write_lst_geotiff(tmp_path, "lst_20230620.tif", values=ff.lst_raw_values() + 50)
    both = files.load_lst(tmp_path, None, None, None)
    assert both.sizes["time"] == 2
    assert (
        both["time"].values.tolist() == pd.to_datetime(["2023-06-20", "2023-06-21"]).asi8.tolist()
    )
    np.testing.assert_array_equal(both.isel(time=1).values, lst_expected())
    one = files.load_lst([a, b], None, pd.Timestamp("2023-06-21"), pd.Timestamp("2023-06-22"))
    assert one.sizes["time"] == 1
    with pytest.raises(ValueError, match=r"2023-06-25.*found"):
        files.load_lst(a, None, pd.Timestamp("2023-06-25"), pd.Timestamp("2023-06-26"))
    ff.write_lst_geotiff(tmp_path, "lst_20230622.tif", west=-121.0)
    with pytest.raises(ValueError, match="different grids"):
        files.load_lst(tmp_path, None, None, None)


def test_lst_errors_for_missing_and_empty(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nope.tif"):
        files.load_lst(tmp_path / "nope.tif", None, None, None)
    ff.write_band_files(tmp_path, bands=["B04"], ext="tif")
    with pytest.raises(FileNotFoundError, match="other than Sentinel-2 band files"):
        files.load_lst(tmp_path, None, None, None)
