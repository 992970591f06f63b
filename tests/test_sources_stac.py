"""compositing.sources.stac, offline: a static catalog of small COGs, a STAC API on loopback,
SLSTR-like netCDF files and Landsat-like COGs. Nothing reaches beyond 127.0.0.1."""

from __future__ import annotations

import datetime as dt
import socket
import sys
from pathlib import Path

import dask.array as da
import numpy as np
import pandas as pd
import pyproj
import pystac
import pytest

import compositing
from compositing.geo import Grid
from compositing.solar import solar_angles
from compositing.sources import grid_for, stac
from compositing.sources import load as load_any
from compositing.sources import load_lst as load_lst_any
from compositing.sources.stac._stack import item_for_stackstac  # internal, tested directly

sys.path.insert(0, str(Path(__file__).parent))

from stac_fixtures import (  # noqa: E402
    EPSG,
    LANDSAT_NODATA,
    LANDSAT_ORIGIN,
    NODATA_PIXELS,
    ORIGIN,
    RES,
    SCENES,
    closed_port_url,
    expected_reflectance,
    forbid_network,
    landsat_dn,
    make_items,
    make_landsat_items,
    planetary_computer_style,
    scl_classes,
    serve_stac_api,
    slstr_item,
    write_slstr_lst,
    write_static_catalog,
)

POINT = (-122.373, 37.448)
DATES = ("2021-01-01", "2024-01-01")
BANDS = ["B04", "B08", "SCL"]
#: Scenes in time order, as the loader must return them.
ORDERED = sorted(SCENES, key=lambda s: s.datetime)


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    forbid_network(monkeypatch)


@pytest.fixture(scope="module")
def catalog_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_static_catalog(tmp_path_factory.mktemp("stac"))


@pytest.fixture(scope="module")
def items(tmp_path_factory: pytest.TempPathFactory) -> list:
    return make_items(tmp_path_factory.mktemp("stac-items") / "data")


def _cog_window(grid: Grid, res: float = RES) -> tuple[slice, slice]:
    """Rows and columns of the test COGs under ``grid`` (which must lie inside them)."""
    row0 = round((ORIGIN[1] - grid.top) / res)
    col0 = round((grid.left - ORIGIN[0]) / res)
    return slice(row0, row0 + grid.height), slice(col0, col0 + grid.width)


# --------------------------------------------------------------------------------------------
# Static catalog
# --------------------------------------------------------------------------------------------


def test_static_catalog_follows_contract_on_exact_grid(catalog_path: Path) -> None:
    grid = grid_for(point=POINT, size_m=300, crs=f"EPSG:{EPSG}")
    collection = load_any(
        "earth-search", point=POINT, size_m=300, crs=f"EPSG:{EPSG}", dates=DATES,
        items=catalog_path, max_cloud_cover=100, bands=BANDS,
    )  # fmt: skip

    compositing.check_collection(collection)
    assert isinstance(collection.data, da.Array)  # lazy
    assert collection.dtype == np.float32
    assert collection.dims == ("time", "band", "y", "x")
    assert list(collection["band"].values) == BANDS
    # The grid is exactly the requested one: same pixel centres, same transform.
    np.testing.assert_array_equal(collection["x"].values, grid.x)
    np.testing.assert_array_equal(collection["y"].values, grid.y)
    assert collection.rio.crs.to_epsg() == EPSG
    assert tuple(collection.rio.transform())[:6] == tuple(grid.transform)[:6]
    expected_times = [pd.Timestamp(s.datetime).tz_convert(None) for s in ORDERED]
    assert list(pd.DatetimeIndex(collection["time"].values)) == expected_times
    assert collection.attrs["source"] == "earth-search"
    assert collection.attrs["product"] == "L2A"
    assert collection.attrs["collection"] == "sentinel-2-l2a"
    assert collection.attrs["catalog_url"] == str(catalog_path)
    assert list(collection["platform"].values) == [s.platform for s in ORDERED]
    np.testing.assert_array_equal(collection["cloud_cover"].values,
                                  [s.cloud_cover for s in ORDERED])  # fmt: skip
    assert list(collection["id"].values) == [s.id for s in ORDERED]
    assert set(collection.coords) == {
        "time", "band", "x", "y", "spatial_ref", "solar_azimuth", "solar_zenith", "platform",
        "cloud_cover", "id",
    }  # fmt: skip

    values = collection.values
    rows, cols = _cog_window(grid)
    for t, scene in enumerate(ORDERED):
        for b in range(2):
            # Pixel for pixel the COG's DN, harmonized: -1000 only where the COG still has it.
            expected = expected_reflectance(scene, b)[rows, cols]
            np.testing.assert_array_equal(values[t, b], expected.astype("float32"))
        # SCL: 20 m classes put on the 10 m grid by nearest neighbour, kept as class numbers.
        scl = scl_classes(scene.index).repeat(2, 0).repeat(2, 1)[rows, cols]
        np.testing.assert_array_equal(values[t, 2], scl.astype("float32"))


def test_static_catalog_nodata_and_sun_angles(catalog_path: Path) -> None:
    # A grid over the whole COG and 20 m more on the west and north: NaN off the footprint.
    grid = Grid(pyproj.CRS.from_epsg(EPSG), RES, ORIGIN[0] - 20, ORIGIN[1] + 20, 66, 66)
    start, end = pd.Timestamp(DATES[0]), pd.Timestamp(DATES[1])
    collection = stac.load(
        "earth-search", grid, start, end, bands=BANDS, items=catalog_path, max_cloud_cover=None
    )
    values = collection.values
    assert np.isnan(values[:, :, :2, :]).all() and np.isnan(values[:, :, :, :2]).all()
    inner = values[:, :, 2:, 2:]
    for r, c in NODATA_PIXELS:  # DN 0 is no data in reflectance bands
        assert np.isnan(inner[:, :2, r, c]).all()
    # SCL 0 (its first 20 m row, i.e. the first two 10 m rows) is no data too.
    assert np.isnan(inner[:, 2, :2, :]).all()
    assert not np.isnan(inner[:, 2, 2:, :]).any()
    assert set(np.unique(inner[:, 2, 2:, :])) <= set(range(1, 12))

    for t, scene in enumerate(ORDERED):
        azimuth = float(collection["solar_azimuth"][t])
        zenith = float(collection["solar_zenith"][t])
        if scene.sun_azimuth is not None:
            assert azimuth == scene.sun_azimuth
            assert zenith == pytest.approx(90.0 - scene.sun_elevation)
        else:  # computed at the grid centre when the item has no sun angles
            west, south, east, north = grid.bounds_lonlat()
            az, zen = solar_angles(
                pd.DatetimeIndex([pd.Timestamp(scene.datetime).tz_convert(None)]),
                (west + east) / 2, (south + north) / 2,
            )  # fmt: skip
            assert azimuth == pytest.approx(az[0]) and zenith == pytest.approx(zen[0])
            assert 0 < zenith < 40 and 90 < azimuth < 270  # June, mid-day, California


def test_default_cloud_limit_and_exclusive_end(catalog_path: Path) -> None:
    default = load_any("earth-search", point=POINT, size_m=100, dates=DATES,
                       items=catalog_path, bands=["B04"])  # fmt: skip
    assert list(default["id"].values) == [s.id for s in ORDERED if s.cloud_cover <= 80]
    # end is exclusive: the 2023-06-06 scene is not in [2023-06-01, 2023-06-06).
    june = load_any("earth-search", point=POINT, size_m=100, dates=("2023-06-01", "2023-06-06"),
                    items=catalog_path, bands=["B04"])  # fmt: skip
    assert list(june["id"].values) == ["S2A_10SEG_20230601_0_L2A"]


def test_grid_alignment_at_other_resolutions(items: list) -> None:
    cases = [(777, 20, EPSG), (1000, 60, EPSG), (95, 10, EPSG), (300, 9.55, 3857)]
    for size_m, resolution, epsg in cases:
        grid = grid_for(point=POINT, size_m=size_m, resolution=resolution, crs=f"EPSG:{epsg}")
        collection = stac.load(
            "earth-search", grid, pd.Timestamp(DATES[0]), pd.Timestamp(DATES[1]),
            bands=["B04"], items=items, max_cloud_cover=None,
        )  # fmt: skip
        np.testing.assert_array_equal(collection["x"].values, grid.x)
        np.testing.assert_array_equal(collection["y"].values, grid.y)
        assert collection.shape == (3, 1, grid.height, grid.width)
        assert collection.rio.crs.to_epsg() == epsg
        finite = np.isfinite(collection.values).mean()
        # 640 m scenes: the 95 m and 300 (3857-)m squares lie inside, the others overlap them.
        assert finite > 0.97 if size_m <= 300 else 0.2 < finite < 0.8  # 2 nodata pixels


def test_items_dicts_and_proj_code_fix(items: list) -> None:
    assert all("proj:epsg" not in item.properties for item in items)  # like pystac >= 1.12
    item = items[0].clone()
    item.assets["scl"].extra_fields["proj:code"] = f"EPSG:{EPSG}"  # asset-level CRS too
    plain = item_for_stackstac(item, ["red", "scl"])
    assert plain["properties"]["proj:epsg"] == EPSG
    assert plain["assets"]["scl"]["proj:epsg"] == EPSG
    assert "proj:epsg" not in plain["assets"]["red"]  # inherits the item's
    assert "proj:epsg" not in item.assets["scl"].extra_fields
    assert "proj:epsg" not in items[0].properties  # the caller's item is left alone
    grid = grid_for(point=POINT, size_m=200, crs=f"EPSG:{EPSG}")
    from_dicts = stac.load(
        "earth-search", grid, pd.Timestamp(DATES[0]), pd.Timestamp(DATES[1]),
        bands=["B08"], items=[item.to_dict() for item in items], max_cloud_cover=None,
    )  # fmt: skip
    assert from_dicts.shape == (3, 1, 20, 20)
    # A FeatureCollection file (e.g. a saved search) works as items= too.
    saved = Path(items[0].assets["red"].href).parents[1] / "search.json"
    pystac.ItemCollection(items).save_object(dest_href=str(saved))
    from_file = stac.load(
        "earth-search", grid, pd.Timestamp(DATES[0]), pd.Timestamp(DATES[1]),
        bands=["B08"], items=saved, max_cloud_cover=None,
    )  # fmt: skip
    np.testing.assert_array_equal(from_file.values, from_dicts.values)


def test_nothing_read_at_load_time(tmp_path: Path) -> None:
    scene_items = make_items(tmp_path / "data")
    for cog in (tmp_path / "data").rglob("*.tif"):
        cog.unlink()
    grid = grid_for(point=POINT, size_m=100, crs=f"EPSG:{EPSG}")
    collection = stac.load("earth-search", grid, pd.Timestamp(DATES[0]), pd.Timestamp(DATES[1]),
                           bands=["B04"], items=scene_items)  # fmt: skip
    assert collection.sizes["time"] == 2
    with pytest.raises(Exception):  # noqa: B017  (the missing files fail only on compute)
        collection.compute()


def test_errors_name_what_to_change(items: list, catalog_path: Path) -> None:
    start, end = pd.Timestamp(DATES[0]), pd.Timestamp(DATES[1])
    grid = grid_for(point=POINT, size_m=100, crs=f"EPSG:{EPSG}")
    with pytest.raises(ValueError, match=r"'B13'.*B01, B02.*SCL"):
        stac.load("earth-search", grid, start, end, bands=["B04", "B13"], items=items)
    with pytest.raises(ValueError, match="use source='earth-search' for L1C"):
        stac.load("planetary-computer", grid, start, end, product="L1C", items=items)
    with pytest.raises(ValueError, match=r"'S2\w+' has no asset 'coastal'; assets present: nir"):
        stac.load("earth-search", grid, start, end, bands=["B01"], items=items)
    far = grid_for(point=(10.0, 45.0), size_m=100)
    with pytest.raises(stac.NoScenesError) as info:
        load_any("earth-search", point=(10.0, 45.0), size_m=100, dates=DATES, items=catalog_path)
    message = str(info.value)
    assert "sentinel-2-l2a" in message and str(catalog_path) in message
    assert f"{far.bounds_lonlat()[0]:.4f}" in message and "2021-01-01" in message
    assert "eo:cloud_cover <= 80" in message and "wider dates" in message
    assert "higher max_cloud_cover" in message and "another place" in message


# --------------------------------------------------------------------------------------------
# STAC API on loopback
# --------------------------------------------------------------------------------------------


def test_search_and_load_through_loopback_api(items: list) -> None:
    grid = grid_for(point=POINT, size_m=300, crs=f"EPSG:{EPSG}")
    start, end = pd.Timestamp("2023-01-01"), pd.Timestamp("2023-07-01")
    with serve_stac_api([item.to_dict() for item in items]) as api:
        found = stac.search("earth-search", grid, start, end, "L2A", 50, api.url)
        assert [i.id for i in found] == ["S2A_10SEG_20230601_0_L2A", "S2B_10SEG_20230606_0_L2A"]
        collection = load_any(
            "earth-search", point=POINT, size_m=300, crs=f"EPSG:{EPSG}",
            dates=("2023-01-01", "2023-07-01"), url=api.url, bands=["B04", "SCL"],
            max_cloud_cover=50,
        )  # fmt: skip
        searches = [r for r in api.requests if r[1] == "/search"]
    assert collection.attrs["catalog_url"] == api.url
    compositing.check_collection(collection)
    method, _, body = searches[-1]
    assert method == "POST"
    assert body["collections"] == ["sentinel-2-l2a"]
    assert body["query"] == {"eo:cloud_cover": {"lte": 50}}
    assert body["datetime"] == "2023-01-01T00:00:00.000Z/2023-06-30T23:59:59.999Z"
    np.testing.assert_allclose(body["bbox"], grid.bounds_lonlat())
    rows, cols = _cog_window(grid)
    by_id = {s.id: s for s in SCENES}
    for t, item_id in enumerate(collection["id"].values):
        expected = expected_reflectance(by_id[str(item_id)], 0)[rows, cols]
        np.testing.assert_array_equal(collection.values[t, 0], expected.astype("float32"))


def test_planetary_computer_style_items_through_loopback_api(items: list) -> None:
    pc_items = [planetary_computer_style(item) for item in items]
    grid = grid_for(point=POINT, size_m=200, crs=f"EPSG:{EPSG}")
    with serve_stac_api([item.to_dict() for item in pc_items]) as api:
        collection = stac.load(
            "planetary-computer", grid, pd.Timestamp(DATES[0]), pd.Timestamp(DATES[1]),
            bands=["B04", "SCL"], url=api.url, max_cloud_cover=None,
        )  # fmt: skip
    rows, cols = _cog_window(grid)
    for t, scene in enumerate(ORDERED):
        # Without raster:bands nor the Earth Search flag, the baseline alone decides: the
        # scene that Earth Search had already harmonized is (wrongly, for this made-up data)
        # shifted too, as Planetary Computer's COGs always keep the offset.
        dn = expected_reflectance(scene, 0)[rows, cols]
        if float(scene.baseline) >= 4 and scene.boa_offset_applied:
            dn = dn - 1000
        np.testing.assert_array_equal(collection.values[t, 0], dn.astype("float32"))
        if scene.sun_azimuth is not None:
            assert float(collection["solar_zenith"][t]) == pytest.approx(90 - scene.sun_elevation)
    assert collection.attrs["source"] == "planetary-computer"


def test_empty_search_error(items: list) -> None:
    grid = grid_for(point=POINT, size_m=100, crs=f"EPSG:{EPSG}")
    with serve_stac_api([]) as api, pytest.raises(stac.NoScenesError) as info:
        stac.load("earth-search", grid, pd.Timestamp("2023-01-01"), pd.Timestamp("2023-02-01"),
                  url=api.url, max_cloud_cover=20)  # fmt: skip
    message = str(info.value)
    assert api.url in message and "sentinel-2-l2a" in message
    assert "2023-01-01" in message and "2023-02-01" in message and "<= 20" in message
    assert isinstance(info.value, ValueError)


def test_network_guard() -> None:
    with pytest.raises(AssertionError, match="tests stay offline"):
        socket.create_connection(("192.0.2.1", 80), timeout=1)


def test_unreachable_catalog_error() -> None:
    url = closed_port_url()
    grid = grid_for(point=POINT, size_m=100)
    with pytest.raises(stac.CatalogUnreachableError) as info:
        stac.load("earth-search", grid, pd.Timestamp("2023-01-01"), pd.Timestamp("2023-02-01"),
                  url=url, timeout=5)  # fmt: skip
    assert isinstance(info.value, ConnectionError)
    assert url in str(info.value) and "source='demo'" in str(info.value)


def test_catalog_server_error() -> None:
    grid = grid_for(point=POINT, size_m=100)
    with (
        serve_stac_api([], search_status=500) as api,
        pytest.raises(stac.CatalogResponseError, match=r"HTTP 500"),
    ):
        stac.search("earth-search", grid, pd.Timestamp("2023-01-01"),
                    pd.Timestamp("2023-02-01"), url=api.url)  # fmt: skip


# --------------------------------------------------------------------------------------------
# Units
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("properties", "band", "raster_band", "expected"),
    [
        # Planetary Computer: no raster:bands, the baseline decides.
        ({"s2:processing_baseline": "04.00"}, "B04", None, (1.0, -1000.0)),
        ({"s2:processing_baseline": "05.10"}, "B8A", None, (1.0, -1000.0)),
        ({"s2:processing_baseline": "03.01"}, "B04", None, (1.0, 0.0)),
        ({"s2:processing_baseline": "04.00"}, "SCL", None, (1.0, 0.0)),
        # Earth Search: raster:bands scale/offset, unless the offset was already removed.
        ({"s2:processing_baseline": "04.00", "earthsearch:boa_offset_applied": False}, "B04",
         {"scale": 0.0001, "offset": -0.1}, (1.0, -1000.0)),
        ({"s2:processing_baseline": "04.00", "earthsearch:boa_offset_applied": True}, "B04",
         {"scale": 0.0001, "offset": -0.1}, (1.0, 0.0)),
        ({"s2:processing_baseline": "02.14"}, "B04", {"scale": 0.0001, "offset": -0.1},
         (1.0, 0.0)),
        # Nothing but raster:bands.
        ({}, "B04", {"scale": 0.0001, "offset": -0.1}, (1.0, -1000.0)),
        ({}, "B04", {"scale": 0.0001, "offset": 0.0}, (1.0, 0.0)),
        ({}, "B04", None, (1.0, 0.0)),
    ],
)  # fmt: skip
def test_harmonization(
    properties: dict, band: str, raster_band: dict | None, expected: tuple[float, float]
) -> None:
    assert stac.harmonization(properties, band, raster_band) == expected


def test_harmonized_values_pc_baselines() -> None:
    dn = np.array([0, 1000, 1234, 10000], dtype="float32")
    new = stac.harmonization({"s2:processing_baseline": "04.00"}, "B02")
    old = stac.harmonization({"s2:processing_baseline": "03.01"}, "B02")
    assert list(np.where(dn == 0, np.nan, dn * new[0] + new[1])[1:]) == [0, 234, 9000]
    assert list(np.where(dn == 0, np.nan, dn * old[0] + old[1])[1:]) == [1000, 1234, 10000]


def test_band_tables() -> None:
    assert stac.available_bands("earth-search", "L1C")[10] == "B10"
    assert "B10" not in stac.available_bands("planetary-computer", "L2A")
    assert stac.asset_key("earth-search", "B8A") == "nir08"
    assert stac.asset_key("earth-search", "B10") == "cirrus"
    assert stac.asset_key("planetary-computer", "B8A") == "B8A"


# --------------------------------------------------------------------------------------------
# Land surface temperature
# --------------------------------------------------------------------------------------------

SWATH_ROWS, SWATH_COLS = 30, 40
SWATH_WEST, SWATH_NORTH = -122.45, 37.50


def _swath() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A swath whose pixel (r, c) lies 0.001 deg east and 0.0015 deg south of the centre of
    the 0.01 deg cell (r, c) counted from (SWATH_WEST, SWATH_NORTH); pixel (5, 7) is fill."""
    rows, cols = np.mgrid[0:SWATH_ROWS, 0:SWATH_COLS]
    lon = SWATH_WEST + 0.01 * cols + 0.005 + 0.001
    lat = SWATH_NORTH - 0.01 * rows - 0.005 - 0.0015
    lst = 280.0 + 0.5 * rows + 0.01 * cols
    lst[5, 7] = np.nan
    return lon, lat, lst


def test_grid_slstr_lst_puts_values_in_their_cells(tmp_path: Path) -> None:
    lon, lat, lst = _swath()
    lst_path, geo_path = write_slstr_lst(tmp_path, lon, lat, lst)
    bounds = (-122.4, 37.35, -122.0, 37.47)
    gridded = stac.grid_slstr_lst(lst_path, geo_path, bounds, 0.01)

    assert gridded.dims == ("y", "x") and gridded.dtype == np.float32
    assert gridded.rio.crs.to_epsg() == 4326
    x, y = gridded["x"].values, gridded["y"].values
    np.testing.assert_allclose(x[[0, -1]], [-122.395, -122.005], atol=1e-9)
    np.testing.assert_allclose(y[[0, -1]], [37.465, 37.355], atol=1e-9)

    def cell(row: int, col: int) -> float:  # the gridded value of swath pixel (row, col)
        cx, cy = SWATH_WEST + 0.01 * col + 0.005, SWATH_NORTH - 0.01 * row - 0.005
        return float(gridded.sel(x=cx, y=cy, method="nearest"))

    for row, col in [(3, 5), (3, 6), (10, 20), (14, 39), (4, 7), (6, 7), (5, 8)]:
        assert cell(row, col) == pytest.approx(lst[row, col], abs=1e-3)
    assert np.isnan(cell(5, 7))  # the fill pixel is not replaced by a neighbour
    # Two cells east of the swath's last column: farther than max_distance_km from any pixel.
    assert np.isnan(gridded.sel(x=SWATH_WEST + 0.415, method="nearest")).all()
    # Inside the swath every cell has a value, except the fill pixel's.
    inside = gridded.sel(x=slice(None, SWATH_WEST + 0.395))
    assert int(np.isnan(inside).sum()) == 1


def test_load_lst_sentinel3_through_loopback_api(tmp_path: Path) -> None:
    lon, lat, lst = _swath()
    lst_path, geo_path = write_slstr_lst(tmp_path / "a", lon, lat, lst)
    later = write_slstr_lst(tmp_path / "b", lon, lat, lst + 10.0)
    bbox = (SWATH_WEST, SWATH_NORTH - 0.3, SWATH_WEST + 0.4, SWATH_NORTH)
    features = [
        slstr_item("S3B_LST_2", dt.datetime(2023, 6, 3, 18, 0, tzinfo=dt.timezone.utc),
                   *later, bbox).to_dict(),
        slstr_item("S3A_LST_1", dt.datetime(2023, 6, 2, 5, 30, tzinfo=dt.timezone.utc),
                   lst_path, geo_path, bbox).to_dict(),
    ]  # fmt: skip
    area = grid_for(point=(-122.30, 37.40), size_m=5000)
    with serve_stac_api(features, collections=[stac.SLSTR_LST_COLLECTION]) as api:
        result = load_lst_any(
            "planetary-computer", point=(-122.30, 37.40), size_m=5000,
            dates=("2023-06-01", "2023-06-05"), url=api.url,
        )  # fmt: skip
        body = next(r[2] for r in api.requests if r[1] == "/search")
    assert body["collections"] == [stac.SLSTR_LST_COLLECTION] and "query" not in body
    assert result.dims == ("time", "y", "x") and result.dtype == np.float32
    assert isinstance(result.data, da.Array)
    assert list(result["id"].values) == ["S3A_LST_1", "S3B_LST_2"]
    assert result.rio.crs.to_epsg() == 4326
    expected = stac.grid_slstr_lst(lst_path, geo_path, area.bounds_lonlat())
    values = result.values
    np.testing.assert_array_equal(values[0], expected.values)
    np.testing.assert_allclose(values[1], expected.values + 10.0, atol=2e-3)
    west, south, east, north = area.bounds_lonlat()
    x, y = result["x"].values, result["y"].values
    assert x[0] - 0.005 <= west < x[0] + 0.005 and x[-1] - 0.005 < east <= x[-1] + 0.005
    assert y[-1] - 0.005 <= south < y[-1] + 0.005 and y[0] - 0.005 < north <= y[0] + 0.005


def test_load_lst_sentinel3_needs_planetary_computer_and_assets(tmp_path: Path) -> None:
    area = grid_for(point=(-122.30, 37.40), size_m=5000)
    start, end = pd.Timestamp("2023-06-01"), pd.Timestamp("2023-06-05")
    with pytest.raises(ValueError, match="only on Planetary Computer"):
        stac.load_lst("earth-search", area, start, end, product="sentinel-3", items=[])
    lon, lat, lst = _swath()
    paths = write_slstr_lst(tmp_path, lon, lat, lst)
    item = slstr_item("S3A_LST_1", dt.datetime(2023, 6, 2, tzinfo=dt.timezone.utc), *paths,
                      (-122.45, 37.2, -122.05, 37.5))  # fmt: skip
    del item.assets["slstr-geodetic-in"]
    with pytest.raises(ValueError, match="'S3A_LST_1' has no asset 'slstr-geodetic-in'"):
        stac.load_lst("planetary-computer", area, start, end, items=[item])


def test_load_lst_landsat_on_its_own_lattice(tmp_path: Path) -> None:
    landsat = make_landsat_items(tmp_path)
    area = grid_for(point=POINT, size_m=300, crs=f"EPSG:{EPSG}")
    result = stac.load_lst(
        "earth-search", area, pd.Timestamp("2023-06-01"), pd.Timestamp("2023-07-01"),
        product="landsat", items=landsat,
    )  # fmt: skip
    assert result.dims == ("time", "y", "x") and result.dtype == np.float32
    assert isinstance(result.data, da.Array)
    assert result.rio.crs.to_epsg() == EPSG
    assert list(result["platform"].values) == ["landsat-7", "landsat-8"]
    x, y = result["x"].values, result["y"].values
    assert np.all((x - LANDSAT_ORIGIN[0]) % 30 == 15) and np.all((y - LANDSAT_ORIGIN[1]) % 30 == 15)
    left, bottom, right, top = area.bounds
    # Every 30 m pixel touching the area, and no other.
    assert x[0] - 15 <= left < x[0] + 15 and x[-1] - 15 < right <= x[-1] + 15
    assert y[-1] - 15 <= bottom < y[-1] + 15 and y[0] - 15 < top <= y[0] + 15

    row0 = round((LANDSAT_ORIGIN[1] - (y[0] + 15)) / 30)
    col0 = round((x[0] - 15 - LANDSAT_ORIGIN[0]) / 30)
    window = (slice(row0, row0 + y.size), slice(col0, col0 + x.size))
    values = result.values
    for t, index in enumerate([1, 0]):  # time order: the Landsat 7 scene is earlier
        dn = landsat_dn(index)[window].astype("float32")
        expected = np.where(dn == 0, np.nan, dn * np.float32(0.00341802) + np.float32(149.0))
        np.testing.assert_allclose(values[t], expected, rtol=1e-6)
        assert np.nanmin(values[t]) > 285 and np.nanmax(values[t]) < 320

    # The no-data pixel: load the whole scene to see it.
    whole = stac.load_lst(
        "earth-search", Grid(pyproj.CRS.from_epsg(EPSG), 30, LANDSAT_ORIGIN[0],
                             LANDSAT_ORIGIN[1], 40, 40),
        pd.Timestamp("2023-06-01"), pd.Timestamp("2023-07-01"), product="landsat", items=landsat,
    )  # fmt: skip
    assert whole.shape == (2, 40, 40)
    for r, c in LANDSAT_NODATA:
        assert np.isnan(whole.values[:, r, c]).all()
