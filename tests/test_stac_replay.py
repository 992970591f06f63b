"""The catalog source end to end against replayed real catalog answers (``tests/stac_replay.py``).

Real Earth Search, Planetary Computer and CDSE JSON; our pixels (the demo scene at each item's
place and date, encoded as each item declares), read by GDAL over HTTP range requests. Expected
values come from the demo scene itself, never from the loader's own rules.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyproj
import pytest
import xarray as xr
from stac_fixtures import forbid_network
from stac_replay import ReplayServer, available, first_pass, landsat_kelvin, slstr_box

import compositing as cx
from compositing import (
    CatalogResponseError,
    CatalogUnreachableError,
    ImageCollection,
    NoScenesError,
    clouds,
)
from compositing.geo import Grid, grid_for
from compositing.sources import demo, stac
from compositing.sources.dates import parse_dates

pytestmark = pytest.mark.skipif(
    not available(), reason="the recorded STAC responses (../shared/realdata/stac) are absent"
)


def _box(epsg: int, x: float, y: float, half: float = 600.0) -> tuple[float, ...]:
    """A lon/lat box of 2 * half metres around (x, y) in ``epsg``."""
    to_lonlat = pyproj.Transformer.from_crs(epsg, 4326, always_xy=True)
    return to_lonlat.transform_bounds(x - half, y - half, x + half, y + half)


#: Areas the replayed COGs hold data for (each inside the named items' tiles).
TMT = (9.040, 47.390, 9.056, 47.401)  # Earth Search 32TMT/32TNT 2020-03, PC 32TMT 2020-07
DENVER = (-105.11, 40.160, -105.095, 40.171)  # Earth Search 13TDE 2023-10-08 (05.09, applied)
GREENLAND = (-35.53, 81.397, -35.47, 81.404)  # Planetary Computer 24XWR 2022-06-12 (04.00)
SPAIN = (-5.81, 38.895, -5.795, 38.905)  # Planetary Computer Landsat 202033 2022-03-27
CDSE_2020 = _box(32635, 650_000, 5_850_000)  # CDSE T35UPU 2020-03-01 (05.00, reprocessed)
CDSE_2024 = _box(32632, 250_000, 7_050_000)  # CDSE T32VKR 2024-11-07 (05.11)
ANTARCTIC = (-59.50, -60.450, -59.478, -60.439)  # Earth Search L1C 20EPT 2025-07-31 (05.11)
CDSE_2020_ID = "S2A_MSIL2A_20200301T090901_N0500_R050_T35UPU_20230630T033416"
CDSE_2024_ID = "S2A_MSIL2A_20241107T113311_N0511_R080_T32VKR_20241107T123948"


@pytest.fixture(scope="module")
def replay():
    with ReplayServer([TMT, DENVER, GREENLAND, SPAIN, ANTARCTIC, CDSE_2020, CDSE_2024]) as server:
        yield server


def demo_reflectance(grid: Grid, when, band: str) -> np.ndarray:
    """The demo's value of ``band`` on ``grid`` at the first pass on or after ``when``'s day."""
    start, end = parse_dates(first_pass(pd.Timestamp(when)))
    return demo.load(grid, start, end, bands=[band]).isel(time=0, band=0).values


def grid_of(collection: xr.DataArray) -> Grid:
    resolution = float(collection["x"][1] - collection["x"][0])
    return Grid(
        collection.rio.crs,
        resolution,
        float(collection["x"][0]) - resolution / 2,
        float(collection["y"][0]) + resolution / 2,
        collection.sizes["x"],
        collection.sizes["y"],
    )


def assert_matches_demo(collection: xr.DataArray, bands: list[str]) -> None:
    """Every image equals the demo at its date (within the DN rounding)."""
    values = collection.compute()
    grid = grid_of(values)
    for t, when in enumerate(values["time"].values):
        for band in bands:
            got = values.sel(band=band).isel(time=t).values
            want = demo_reflectance(grid, when, band)
            assert np.isfinite(got).all(), f"{band} of {values['id'].values[t]} has NaN"
            np.testing.assert_allclose(
                got, want, rtol=0, atol=0 if band == "SCL" else 0.5,
                err_msg=f"{band} of {values['id'].values[t]}",
            )  # fmt: skip


# --------------------------------------------------------------------------------------------
# Loading from each catalog
# --------------------------------------------------------------------------------------------


def test_earth_search_loads_the_demo_truth_at_10_and_20_m(replay):
    url = replay.catalog_url("earth-search")
    dates = ("2020-03-05", "2020-03-06")
    fine = cx.load("earth-search", bbox=TMT, dates=dates, resolution=10, bands=["B04", "B08"],
                   url=url, max_cloud_cover=None)  # fmt: skip
    # Both tiles (32TMT, 32TNT) in both baselines: four items, one image each.
    assert sorted(fine["id"].values) == [
        "S2A_32TMT_20200305_0_L2A", "S2A_32TMT_20200305_1_L2A",
        "S2A_32TNT_20200305_0_L2A", "S2A_32TNT_20200305_1_L2A",
    ]  # fmt: skip
    assert_matches_demo(fine, ["B04", "B08"])
    coarse = cx.load("earth-search", bbox=TMT, dates=dates, resolution=20,
                     bands=["B05", "B11", "SCL"], url=url, max_cloud_cover=None)  # fmt: skip
    assert_matches_demo(coarse, ["B05", "B11", "SCL"])
    # GDAL read the files with range requests, and the server answered them as such.
    assert any(status == 206 for _, path, status in replay.requests if path.endswith("B04.tif"))


def test_the_2020_scene_before_and_after_reprocessing_is_the_same_reflectance(replay):
    items = {i: replay.item("earth-search", i)
             for i in ("S2A_32TMT_20200305_0_L2A", "S2A_32TMT_20200305_1_L2A")}  # fmt: skip
    old, new = (items[i]["properties"] for i in sorted(items))
    # The two items declare different conventions (the point of the test).
    assert (old["s2:processing_baseline"], old["earthsearch:boa_offset_applied"]) == (
        "02.14",
        False,
    )
    assert (new["s2:processing_baseline"], new["earthsearch:boa_offset_applied"]) == ("05.00", True)
    assert items["S2A_32TMT_20200305_1_L2A"]["assets"]["red"]["raster:bands"][0]["offset"] == -0.1
    collection = cx.load("earth-search", bbox=TMT, dates=("2020-03-05", "2020-03-06"),
                         resolution=20, bands=["B05", "B8A"], items=list(items.values()),
                         max_cloud_cover=None).compute()  # fmt: skip
    assert collection.sizes["time"] == 2
    np.testing.assert_array_equal(collection.isel(time=0).values, collection.isel(time=1).values)
    assert_matches_demo(collection, ["B05", "B8A"])


def test_earth_search_2023_item_already_harmonized_is_not_shifted_twice(replay):
    collection = cx.load("earth-search", bbox=DENVER, dates=("2023-10-08", "2023-10-09"),
                         resolution=10, bands=["B04", "B03"],
                         url=replay.catalog_url("earth-search"))  # fmt: skip
    assert list(collection["id"].values) == ["S2A_13TDE_20231008_0_L2A"]
    assert_matches_demo(collection, ["B04", "B03"])
    # Earth Engine's properties, from Earth Search's own names (mgrs:*, platform, eo:*).
    image = ImageCollection(collection).first()
    assert image.get("MGRS_TILE") == "13TDE"
    assert image.get("SPACECRAFT_NAME") == "Sentinel-2A"
    assert image.get("CLOUDY_PIXEL_PERCENTAGE") == 0.000299
    assert image.get("system:index") == "S2A_13TDE_20231008_0_L2A"


def test_planetary_computer_signs_offline_and_loads_both_baselines(replay, monkeypatch):
    forbid_network(monkeypatch)  # signing must not call the token service for loopback hrefs
    import planetary_computer

    calls = []
    real_sign = planetary_computer.sign
    monkeypatch.setattr(
        planetary_computer, "sign", lambda item: calls.append(item.id) or real_sign(item)
    )
    url = replay.catalog_url("planetary-computer")
    before = cx.load("planetary-computer", bbox=TMT, dates=("2020-07-05", "2020-07-06"),
                     resolution=10, bands=["B04", "B08"], url=url)  # fmt: skip
    assert list(before["id"].values) == ["S2B_MSIL2A_20200705T101559_R065_T32TMT_20200825T083452"]
    assert calls == list(before["id"].values)  # the normal signing call path ran
    assert_matches_demo(before, ["B04", "B08"])
    # Earth Engine's properties, from the Planetary Computer's names (s2:*, eo:cloud_cover).
    image = ImageCollection(before).first()
    assert image.get("MGRS_TILE") == "32TMT"
    assert image.get("SPACECRAFT_NAME") == "Sentinel-2B"
    assert image.get("CLOUDY_PIXEL_PERCENTAGE") == 9.336255
    assert image.get("MEAN_SOLAR_ZENITH_ANGLE") == pytest.approx(27.7137933540773)
    # Baseline 04.00 on PC: no raster:bands at all; the +1000 comes off by the baseline.
    after = cx.load("planetary-computer", bbox=GREENLAND, dates=("2022-06-12", "2022-06-13"),
                    resolution=20, bands=["B05", "B12", "SCL"], url=url,
                    crs="EPSG:32624")  # fmt: skip
    assert list(after["id"].values) == ["S2B_MSIL2A_20220612T182919_R027_T24XWR_20220613T123251"]
    assert_matches_demo(after, ["B05", "B12", "SCL"])


@pytest.mark.parametrize(
    ("item_id", "area", "epsg"),
    [(CDSE_2020_ID, CDSE_2020, 32635), (CDSE_2024_ID, CDSE_2024, 32632)],
)
def test_cdse_stac_1_1_items_load_through_items(replay, item_id, area, epsg):
    item = replay.item("cdse", item_id)
    assert "proj:epsg" not in item["properties"] and "B04_10m" in item["assets"]
    assert "s2:processing_baseline" not in item["properties"]
    day = item["properties"]["datetime"][:10]
    end = f"{pd.Timestamp(day) + pd.Timedelta(days=1):%Y-%m-%d}"
    # The item's own UTM zone (T32VKR lies where Norway's zone 32 widens): no reprojection.
    fine = cx.load("earth-search", bbox=area, dates=(day, end), resolution=10, crs=epsg,
                   bands=["B04", "B08"], items=[item], max_cloud_cover=None)  # fmt: skip
    assert_matches_demo(fine, ["B04", "B08"])
    coarse = cx.load("earth-search", bbox=area, dates=(day, end), resolution=20, crs=epsg,
                     bands=["B05", "SCL"], items=[item], max_cloud_cover=None)  # fmt: skip
    assert_matches_demo(coarse, ["B05", "SCL"])
    # At 20 m the 20 m files were read, not the 10 m ones.
    read = {path.rsplit("/", 1)[-1] for _, path, _ in replay.requests if item_id[:30] in path}
    assert any(name.endswith("B05_20m.jp2") for name in read), read


def test_cdse_baseline_and_scale_are_read_from_stac_1_1_fields(replay):
    item = replay.item("cdse", CDSE_2020_ID)
    asset = item["assets"]["B04_10m"]
    assert "bands" in asset and "raster:bands" not in asset  # STAC 1.1
    # The scale and offset sit on the asset, beside a ``bands`` list that lacks them.
    assert stac.asset_scale_offset(asset) == {"scale": 0.0001, "offset": -0.1}
    assert stac.harmonization(item["properties"], "B04", stac.asset_scale_offset(asset)) == (
        1.0, -1000.0,
    )  # fmt: skip
    # processing:version is the baseline when nothing else says so.
    assert stac.harmonization({"processing:version": "05.00"}, "B04") == (1.0, -1000.0)
    assert stac.harmonization({"processing:version": "02.14"}, "B04") == (1.0, 0.0)


# --------------------------------------------------------------------------------------------
# Thermal
# --------------------------------------------------------------------------------------------


def test_landsat_lst_from_planetary_computer(replay):
    lst = cx.load_lst("planetary-computer", bbox=SPAIN, dates=("2022-03-27", "2022-03-28"),
                      product="landsat", url=replay.catalog_url("planetary-computer"))  # fmt: skip
    assert list(lst["id"].values) == ["LC08_L2SP_202033_20220327_02_T1"]
    assert lst.rio.crs.to_epsg() == 32630
    values = lst.isel(time=0).values
    grid = grid_of(lst)
    when = lst["time"].values[0]
    want = landsat_kelvin(demo_reflectance(grid, when, "B04"), demo_reflectance(grid, when, "B08"))
    np.testing.assert_allclose(values, want, rtol=0, atol=0.0018)  # half a DN (0.0034 K)


def test_slstr_lst_from_planetary_computer_and_sharpening(replay):
    dates = ("2020-07-05", "2020-07-06")
    url = replay.catalog_url("planetary-computer")
    lst = cx.load_lst("planetary-computer", bbox=TMT, dates=dates, url=url)
    assert list(lst["id"].values) == [
        "S3A_SL_2_LST_20200705T094658_20200705T094958_0179_060_136_2160"
    ]
    start, end = parse_dates(first_pass(pd.Timestamp(lst["time"].values[0])))
    want = demo.load_lst(grid_for(bbox=slstr_box(TMT), resolution=10), start, end).isel(time=0)
    got = lst.isel(time=0).compute()
    np.testing.assert_allclose(got.values, want.sel(x=got.x, y=got.y, method="nearest").values,
                               rtol=0, atol=0.0011)  # fmt: skip
    # Sharpen it with the NDVI of the same day's Sentinel-2 from the same catalog.
    s2 = cx.load("planetary-computer", bbox=TMT, dates=dates, resolution=20,
                 bands=["B04", "B08"], url=url)  # fmt: skip
    image = cx.composite(s2, "median")
    ndvi = (image.sel(band="B08") - image.sel(band="B04")) / (
        image.sel(band="B08") + image.sel(band="B04")
    )
    result = cx.sharpen(lst, ndvi.rio.write_crs(s2.rio.crs), min_coverage=0.1)
    sharp = result.sharpened.compute()
    # NaN only where no LST cell covers the NDVI (the LST grid's cells touch the area's bounds).
    assert sharp.shape == ndvi.shape and np.isfinite(sharp.values).mean() > 0.5
    assert result.n >= 1


# --------------------------------------------------------------------------------------------
# Clouds and composites on what was loaded
# --------------------------------------------------------------------------------------------


def test_mask_clouds_and_composite_on_replayed_earth_search(replay):
    collection = cx.load("earth-search", bbox=TMT, dates=("2020-03-01", "2020-03-06"),
                         resolution=20, url=replay.catalog_url("earth-search"),
                         max_cloud_cover=None)  # fmt: skip
    scl = clouds.mask_clouds(collection, "scl")
    median = cx.composite(scl, "median").compute()
    assert median.dims == ("band", "y", "x")
    # What SCL drops is NaN in the masked collection, and the median ignores it.
    dropped = clouds.mask_from_scl(collection).compute()
    assert bool(np.isnan(scl.sel(band="B04").values[dropped.values]).all())
    assert median.sel(band="B04").notnull().mean() > 0.5


def test_s2cloudless_on_replayed_l1c_matches_the_demo_l1c(replay):
    l1c = cx.load("earth-search", bbox=ANTARCTIC, dates=("2025-07-31", "2025-08-01"),
                  resolution=20, product="L1C", crs=32720,
                  url=replay.catalog_url("earth-search"))  # fmt: skip
    assert list(l1c["id"].values) == ["S2B_20EPT_20250731_0_L1C"]
    # stackstac gives one band per chunk, as it is: cloud_probability takes that layout.
    probability = clouds.cloud_probability(l1c, resolution=60).compute()
    start, end = parse_dates(first_pass(pd.Timestamp(l1c["time"].values[0])))
    truth = demo.load(grid_of(l1c), start, end, product="L1C")
    expected = clouds.cloud_probability(truth, resolution=60).compute()
    # The demo renders every band at 20 m; the replay read 10 and 60 m files resampled to 20 m,
    # so the two agree closely but not exactly.
    got, want = probability.values.ravel(), expected.values.ravel()
    assert np.isfinite(got).all()
    assert np.corrcoef(got, want)[0, 1] > 0.8  # measured 0.89
    masked = clouds.mask_clouds(l1c, "s2cloudless").compute()
    assert masked.sizes == l1c.sizes


# --------------------------------------------------------------------------------------------
# Paging
# --------------------------------------------------------------------------------------------


def test_the_recorded_search_pages_are_followed_to_the_end(replay):
    from pystac_client import Client

    client = Client.open(replay.catalog_url("earth-search"))
    search = client.search(collections=["sentinel-2-l2a"], bbox=[9.0, 47.0, 10.0, 48.0],
                           datetime="2020-03-01T00:00:00Z/2020-03-05T23:59:59Z")  # fmt: skip
    before = len(replay.requests)
    ids = [item.id for item in search.items()]
    assert len(ids) == 16 and len(set(ids)) == 16  # numberMatched of the recorded page 1
    pages = [p for m, p, _ in replay.requests[before:] if p.endswith("/search")]
    assert len(pages) == 3  # page 1, page 2, the empty page 3


def test_a_search_spanning_several_pages_returns_every_item_once():
    dates = ("2020-03-01", "2020-03-06")
    with ReplayServer([TMT], page_size=3) as paged:
        found = stac.search("earth-search", grid_for(bbox=TMT, resolution=20),
                            *parse_dates(dates), url=paged.catalog_url("earth-search"),
                            max_cloud_cover=None)  # fmt: skip
        searches = sum(1 for _, p, _ in paged.requests if p.endswith("/search"))
    ids = [item.id for item in found]
    assert len(ids) == len(set(ids)) == 8
    assert searches == 3  # 3 + 3 + 2
    with ReplayServer([TMT]) as whole:
        unpaged = stac.search("earth-search", grid_for(bbox=TMT, resolution=20),
                              *parse_dates(dates), url=whole.catalog_url("earth-search"),
                              max_cloud_cover=None)  # fmt: skip
    assert ids == [item.id for item in unpaged]


# --------------------------------------------------------------------------------------------
# Endpoints from the environment
# --------------------------------------------------------------------------------------------


def test_the_endpoints_come_from_the_environment_at_call_time(replay, monkeypatch):
    monkeypatch.setenv("COMPOSITE_EXPLORER_EARTH_SEARCH_URL", replay.catalog_url("earth-search"))
    monkeypatch.setenv("COMPOSITE_EXPLORER_PLANETARY_COMPUTER_URL",
                       replay.catalog_url("planetary-computer"))  # fmt: skip
    forbid_network(monkeypatch)
    es = cx.load("earth-search", bbox=TMT, dates=("2020-03-05", "2020-03-06"), resolution=20,
                 bands=["B04"], max_cloud_cover=None)  # fmt: skip
    assert es.attrs["catalog_url"] == replay.catalog_url("earth-search")
    pc = cx.load("planetary-computer", bbox=TMT, dates=("2020-07-05", "2020-07-06"),
                 resolution=20, bands=["B04"])  # fmt: skip
    assert pc.attrs["catalog_url"] == replay.catalog_url("planetary-computer")
    monkeypatch.setenv("COMPOSITE_EXPLORER_EARTH_SEARCH_URL", "earth-search.example")
    with pytest.raises(ValueError, match="COMPOSITE_EXPLORER_EARTH_SEARCH_URL"):
        cx.load("earth-search", bbox=TMT, dates=("2020-03-05", "2020-03-06"), resolution=20)


# --------------------------------------------------------------------------------------------
# Bad catalog answers
# --------------------------------------------------------------------------------------------


def _load_es(url: str, **options):
    return cx.load("earth-search", bbox=TMT, dates=("2020-03-01", "2020-03-06"), resolution=20,
                   bands=["B04", "B08"], url=url, max_cloud_cover=None, **options)  # fmt: skip


def test_a_search_answered_with_500_is_a_catalog_response_error():
    with ReplayServer([TMT]) as server:
        server.fail("/earth-search/search", "status", status=500)
        with pytest.raises(CatalogResponseError, match="HTTP 500"):
            _load_es(server.catalog_url("earth-search"))


def test_a_stalled_search_is_unreachable_after_the_timeout():
    with ReplayServer([TMT]) as server:
        server.fail("/earth-search/search", "stall", seconds=3)
        with pytest.raises(CatalogUnreachableError, match="cannot reach"):
            _load_es(server.catalog_url("earth-search"), timeout=0.5)


def test_a_truncated_search_answer_is_a_catalog_response_error():
    with ReplayServer([TMT]) as server:
        server.fail("/earth-search/search", "truncate")
        with pytest.raises(CatalogResponseError, match="STAC API|JSON"):
            _load_es(server.catalog_url("earth-search"))


def test_nothing_found_is_no_scenes(replay):
    with pytest.raises(NoScenesError, match="Try wider dates"):
        cx.load("earth-search", bbox=TMT, dates=("2019-01-01", "2019-01-05"),
                url=replay.catalog_url("earth-search"))  # fmt: skip


def test_a_cog_that_404s_halfway_through_a_composite_names_the_asset():
    with ReplayServer([TMT]) as server:
        collection = _load_es(server.catalog_url("earth-search"), chunksize=32)
        server.fail("/assets/*", "404-after", after=12)
        with pytest.raises(CatalogResponseError) as caught:
            cx.composite(collection, "median").compute()
        served = sum(server.range_reads.values())
    message = str(caught.value)
    assert "HTTP 404" in message and "/assets/" in message and ".tif" in message
    assert "load again" in message
    assert served > 1  # it failed halfway, not at the first read
    assert not isinstance(caught.value.__cause__, CatalogResponseError)


def test_an_unreachable_asset_server_is_catalog_unreachable(replay):
    item = {**replay.item("earth-search", "S2A_32TMT_20200305_0_L2A")}
    dead = "http://127.0.0.1:9"  # the discard port: nothing listens
    item["assets"] = {k: {**a, "href": a["href"].replace(replay.url, dead)}
                      for k, a in item["assets"].items()}  # fmt: skip
    collection = cx.load("earth-search", bbox=TMT, dates=("2020-03-05", "2020-03-06"),
                         resolution=20, bands=["B04"], items=[item],
                         max_cloud_cover=None)  # fmt: skip
    with pytest.raises((CatalogUnreachableError, CatalogResponseError), match="127.0.0.1:9"):
        collection.compute()
