"""The dashboard without a browser: parameters drive recomputation, errors become notifications.

Outside a server and without an event loop the dashboard refreshes synchronously, so setting a
parameter returns once the new images exist. A small view keeps the demo scene cheap; one
Computations (and its caches) is shared by the tests of this module.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import html
import re
import threading

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import compositing
from app import Dashboard
from app import dashboard as dashboard_module
from app.cache import LRUCache
from app.computations import AreaRequest, Computations, mask_bands
from app.controls import Controls
from app.errors import NoDataError, describe
from app.jobs import LatestOnly, SupersededError
from app.layers import LAYERS, LAYERS_BY_KEY, NDVI_PALETTE, NDVI_RANGE, CollectionLayer
from app.notify import Notifier
from app.options import CUSTOM_BANDS, CUSTOM_PLACE, DEFAULT_PLACE
from app.render import LayerImage, ramp_image
from app.scatter import FILTERED, PARTIAL, USED, pair_groups
from app.settings import Settings
from app.view import (
    MAX_CATALOG_VIEW_M,
    View,
    ViewError,
    demo_samples_per_pixel,
    initial_view,
    mercator_scale,
    native_resolution,
    plan_view,
    resized,
    to_lonlat,
)
from compositing import CatalogUnreachableError
from compositing import visualisation as vis
from compositing.bands import ee_band_name
from compositing.clouds import SCL_DROP_CLASSES
from compositing.indices import ndvi
from compositing.inspection import taken_time
from compositing.sources.demo import PRESETS

#: The Earth Engine mosaic example's place (the default) and the thermal example's.
EXAMPLE_POINT = PRESETS[DEFAULT_PLACE]["point"]
THERMAL_PLACE = next(name for name in PRESETS if name.startswith("Thermal"))
SMALL_VIEW = initial_view(*EXAMPLE_POINT, 240, 160)


@pytest.fixture(scope="module")
def computations() -> Computations:
    return Computations()


@pytest.fixture
def dashboard(computations: Computations) -> Dashboard:
    return Dashboard(computations=computations, view=SMALL_VIEW)


def errors(dashboard: Dashboard) -> list[str]:
    return dashboard.notifier.messages("error")


def warnings(dashboard: Dashboard) -> list[str]:
    return dashboard.notifier.messages("warning")


def image_bytes(dashboard: Dashboard, key: str) -> bytes:
    image = dashboard.map_view.images[key]
    assert image is not None, f"layer {key} is not shown"
    return image.rgba.tobytes()


# --- the dashboard ---------------------------------------------------------------------------


def test_dashboard_opens_on_the_demo_scene_with_a_layer_and_a_fit(dashboard):
    image = dashboard.map_view.images["median"]
    grid = plan_view(SMALL_VIEW, "demo").grid
    assert image.rgba.shape == (grid.height, grid.width, 4)
    assert (image.rgba[..., 3] == 255).mean() > 0.9  # a cloud-masked median still covers
    assert "Median (B11, B8, B3)" in dashboard.map_view.legend.object
    assert dashboard.scatter.fit is not None and dashboard.scatter.fit.n >= 3
    assert "LST =" in dashboard.scatter.summary
    assert "refreshed" in dashboard.status
    assert errors(dashboard) == [] and warnings(dashboard) == []


def test_dashboard_displays_as_a_panel_layout(dashboard):
    # What a notebook cell shows: a Panel layout that Bokeh can render.
    model = dashboard.__panel__().get_root()
    assert model is not None
    assert dashboard.template() is not None


def test_changing_bands_recolours_from_the_cached_collection(dashboard, computations):
    before = image_bytes(dashboard, "median")
    loads = computations.collections.misses
    dashboard.controls.band_preset = "True colour (B4, B3, B2)"
    assert (dashboard.controls.red, dashboard.controls.green, dashboard.controls.blue) == (
        "B04", "B03", "B02",
    )  # fmt: skip
    assert image_bytes(dashboard, "median") != before
    assert "Median (B4, B3, B2)" in dashboard.map_view.legend.object
    assert computations.collections.misses == loads  # the view's images were not loaded again


def test_a_new_band_triplet_computes_only_its_new_bands(dashboard, computations):
    dashboard.controls.param.update(red="B11", green="B08", blue="B03")
    computed = computations.band_composites.misses
    dashboard.controls.red = "B12"  # B08 and B03 were composited already
    assert computations.band_composites.misses == computed + 1


@pytest.mark.parametrize("mask", ["none", "cldprb", "scl"])
@pytest.mark.parametrize("method", ["median", "mean", "mosaic"])
def test_band_composites_in_strips_equal_the_whole_composite(dashboard, computations, mask, method):
    settings = dashboard._settings()
    request = AreaRequest.for_view(settings, plan_view(dashboard.map_view.view, "demo"))
    cloud_mask = dataclasses.replace(settings.cloud_mask, method=mask)
    strips = computations.band_composite(request, "B04", method, cloud_mask)
    whole = compositing.composite(computations.masked(request, ["B04"], cloud_mask), method)
    assert strips.sizes == whole.sizes and strips.sizes["y"] > 100
    np.testing.assert_allclose(strips.values, whole.values.astype(np.float32), rtol=1e-6)
    assert np.isnan(strips.values).sum() == np.isnan(whole.values).sum()


def test_a_free_rgb_choice_is_a_custom_preset(dashboard):
    dashboard.controls.green = "B12"
    assert dashboard.controls.band_preset == CUSTOM_BANDS
    assert "Median (B11, B12, B3)" in dashboard.map_view.legend.object


def test_only_visible_layers_are_computed(dashboard, computations):
    dashboard.controls.layers = ["count", "mode"]
    assert dashboard.map_view.images["median"] is None
    assert dashboard.map_view.images["count"] is not None
    assert dashboard.map_view.images["mode"] is not None
    computed = {key[1] for key in computations.values._values if isinstance(key[0], AreaRequest)}
    assert computed == {"median", "count", "mode"}
    assert not any(key[1] == "lst_sharpened" for key in computations.values._values)
    legend = dashboard.map_view.legend.object
    assert "Count (not cloud observations)" in legend and "Mode (pixel class)" in legend
    assert "Vegetation" in legend  # the SCL classes present are named


def test_the_view_decides_the_extent_and_resolution_computed(dashboard):
    def pixel_size(key: str) -> float:
        image = dashboard.map_view.images[key]
        left, _, right, _ = image.bounds
        return (right - left) / image.rgba.shape[1]

    native = native_resolution(EXAMPLE_POINT[1])
    assert pixel_size("median") == pytest.approx(native)
    (x0, x1), (y0, y1) = SMALL_VIEW.x_range, SMALL_VIEW.y_range
    # Twice as wide (20 m on the ground per pixel, below the demo's supersampling threshold).
    dx, dy = (x1 - x0) / 2, (y1 - y0) / 2
    zoomed_out = View((x0 - dx, x1 + dx), (y0 - dy, y1 + dy), SMALL_VIEW.width, SMALL_VIEW.height)
    dashboard.map_view.view = zoomed_out
    assert pixel_size("median") == pytest.approx(2 * native, rel=0.01)  # same pixels, 2x wider
    left, bottom, right, top = dashboard.map_view.images["median"].bounds
    assert left <= zoomed_out.x_range[0] and right >= zoomed_out.x_range[1]
    assert bottom <= zoomed_out.y_range[0] and top >= zoomed_out.y_range[1]
    dashboard.map_view.view = SMALL_VIEW  # zooming back in recomputes finer
    assert pixel_size("median") == pytest.approx(native)


@dataclasses.dataclass(frozen=True)
class NdviOfMedian(CollectionLayer):
    """A layer the standard list lacks, as a user would add one: the NDVI of the cloud-masked
    median (one class; the median's band composites are shared with the Median layer)."""

    def bands(self, settings: Settings) -> set[str]:
        return {"B04", "B08"} | mask_bands(settings.cloud_mask)

    def dependencies(self, settings: Settings) -> tuple:
        return (settings.cloud_mask.key,)

    def compute(self, computations, request, settings):
        red, nir = (
            computations.band_composite(request, band, "median", settings.cloud_mask)
            for band in ("B04", "B08")
        )
        return self.checked_values(ndvi(red.isel(band=0, drop=True), nir.isel(band=0, drop=True)))

    def colour(self, values, settings) -> LayerImage:
        bounds = vis.pixel_bounds(values)
        return ramp_image(self.key, values.values, bounds, *NDVI_RANGE, NDVI_PALETTE,
                          self.title(settings), "NDVI")  # fmt: skip


def test_a_layer_added_to_the_list_is_offered_computed_drawn_and_explained(computations):
    added = NdviOfMedian("ndvi_median", "NDVI of the median")
    layer_list = (*LAYERS[:-1], added, LAYERS[-1])  # one list entry, below the mask overlay
    board = Dashboard(computations=computations, view=SMALL_VIEW, layer_list=layer_list)
    assert board.controls.param.layers.names["NDVI of the median"] == "ndvi_median"
    assert "ndvi_median" not in Controls().param.layers.objects  # the standard list is unchanged
    board.controls.layers = ["median", "ndvi_median"]
    assert errors(board) == [] and warnings(board) == [], board.notifier.history
    image = board.map_view.images["ndvi_median"]
    grid = plan_view(SMALL_VIEW, "demo").grid
    assert image.rgba.shape == (grid.height, grid.width, 4)
    assert (image.rgba[..., 3] == 255).mean() > 0.9
    assert any(key[1] == "ndvi_median" for key in computations.values._values)
    legend = board.map_view.legend.object
    # The legend lists it with its range, above the median (it is drawn above it).
    assert "NDVI of the median" in legend and "NDVI" in legend
    assert legend.index("NDVI of the median") < legend.index("Median (")
    board.controls.layers = ["median"]
    assert board.map_view.images["ndvi_median"] is None


def test_switching_a_layer_off_removes_its_image(dashboard):
    dashboard.controls.layers = ["median", "mean"]
    assert dashboard.map_view.images["mean"] is not None
    dashboard.controls.layers = ["median"]
    assert dashboard.map_view.images["mean"] is None
    assert "Mean (" not in dashboard.map_view.legend.object


def test_a_stretch_change_only_recolours(dashboard, computations):
    before = image_bytes(dashboard, "median")
    computed = computations.values.misses
    dashboard.controls.stretch_max = 2500
    assert dashboard.controls.stretch_mode == "manual"
    assert image_bytes(dashboard, "median") != before
    assert computations.values.misses == computed
    dashboard.controls.stretch_mode = "auto"
    assert dashboard.map_view.images["median"].legend.minimum > 0  # percentiles, not 0


def test_a_cloud_mask_change_recomputes_only_the_masked_layers(dashboard, computations):
    dashboard.controls.layers = ["median", "sum"]
    sum_keys = {k for k in computations.values._values if k[1] == "sum"}
    dashboard.controls.cloud_mask = "scl"
    assert {k for k in computations.values._values if k[1] == "sum"} == sum_keys
    median_masks = {k[-1] for k in computations.values._values if k[1] == "median"}
    assert ("scl",) in median_masks and ("cldprb",) in median_masks
    assert errors(dashboard) == []


def test_the_mask_overlay_shows_the_chosen_date(dashboard):
    dashboard.controls.layers = ["cloud_mask"]
    dates = list(dashboard.controls.param.image_date.objects.values())
    # The last image, as the cloudless article's mosaic of the collection shows on top.
    assert dashboard.controls.image_date == dates[-1]
    dashboard.controls.image_date = dates[0]
    legend = dashboard.map_view.legend.object
    assert dates[0][:10] in legend and "Cloud and shadow mask" in legend
    alpha = dashboard.map_view.images["cloud_mask"].rgba[..., 3]
    assert set(np.unique(alpha)) <= {0, 128}


def test_offering_the_loaded_dates_requests_no_other_refresh(dashboard):
    # Other dates: the controls forget the old images' dates, the refresh loads the new images
    # and offers their dates, showing the last; that offer is not a choice of the user's.
    before = dashboard.refresh.jobs.generation
    dashboard.controls.param.update(
        layers=["cloud_mask"], dates=(dt.date(2021, 7, 1), dt.date(2021, 7, 20))
    )
    assert dashboard.refresh.jobs.generation == before + 1
    dates = list(dashboard.controls.param.image_date.objects.values())
    assert dates and all(date < "2021-07-20" for date in dates)
    assert dashboard.controls.image_date == dates[-1]
    assert dates[-1][:10] in dashboard.map_view.legend.object


def test_the_mask_overlay_without_a_mask_says_so(dashboard):
    dashboard.controls.param.update(cloud_mask="none", layers=["cloud_mask"])
    assert any("choose a cloud mask" in w for w in warnings(dashboard))


def test_thermal_layers_and_the_fit_ranges(dashboard):
    dashboard.controls.layers = ["ndvi", "lst", "lst_sharpened"]
    for key in ("ndvi", "lst", "lst_sharpened"):
        assert dashboard.map_view.images[key] is not None, key
    before = dashboard.scatter.fit
    dashboard.scatter.ndvi_range = (0.0, 0.8)
    after = dashboard.scatter.fit
    assert after.ndvi_range == (0.0, 0.8) and after is not before
    assert after.n != before.n or after.slope != before.slope
    assert "K" in dashboard.map_view.legend.object


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"stretch_mode": "manual", "stretch_min": 5000.0}, "min (5000) must be smaller"),
        ({"dates": (dt.date(2021, 8, 1), dt.date(2021, 7, 1))}, "inverted"),
        ({"dates": (dt.date(2021, 7, 1), dt.date(2021, 7, 1))}, "empty"),
        ({"lat": 89.0}, "outside the map"),
    ],
)
def test_bad_inputs_become_notifications_and_the_dashboard_recovers(dashboard, change, message):
    good = {name: getattr(dashboard.controls, name) for name in change}
    dashboard.controls.param.update(**change)
    assert any(message in text for text in errors(dashboard)), errors(dashboard)
    dashboard.controls.param.update(**good)
    assert dashboard.map_view.images["median"] is not None
    assert "refreshed" in dashboard.status


NO_PASS_DATES = (dt.date(2021, 7, 2), dt.date(2021, 7, 3))  # the demo passes on the 5th


def test_dates_without_images_are_reported_and_the_dashboard_recovers(dashboard):
    dashboard.controls.dates = NO_PASS_DATES
    assert any("no land surface temperature" in w for w in warnings(dashboard))
    assert dashboard.map_view.images["median"] is None
    assert dashboard.scatter.fit is None
    dashboard.controls.dates = (dt.date(2021, 7, 1), dt.date(2021, 8, 1))
    assert dashboard.map_view.images["median"] is not None


def test_dates_without_images_say_so(dashboard):
    dashboard.controls.dates = NO_PASS_DATES
    assert any("no Sentinel-2 image" in w for w in warnings(dashboard)), dashboard.notifier.history


def test_an_unreachable_catalog_is_reported_and_the_demo_still_works(dashboard, monkeypatch):
    real_load = compositing.load

    def offline(source, **kwargs):
        if source != "demo":
            raise CatalogUnreachableError(f"cannot reach {source} (test: offline)")
        return real_load(source, **kwargs)

    monkeypatch.setattr(compositing, "load", offline)
    monkeypatch.setattr(compositing, "load_lst", lambda source, **kw: offline(source, **kw))
    # (Planetary Computer: with the default MSK_CLDPRB mask only its LST is asked for, and
    # Earth Search has no LST to ask for.)
    dashboard.controls.source = "planetary-computer"
    assert any("Planetary Computer cannot be reached" in e for e in errors(dashboard)), errors(
        dashboard
    )
    assert dashboard.map_view.images["median"] is None
    dashboard.controls.source = "demo"
    assert dashboard.map_view.images["median"] is not None


def test_layers_a_catalog_lacks_say_why(dashboard, monkeypatch):
    # MSK_CLDPRB is the demo's only: the layers that need it explain, before any download.
    dashboard.controls.param.update(cloud_mask="none", layers=["sum"])
    monkeypatch.setattr(
        compositing, "load", lambda *a, **k: pytest.fail("no download for an impossible layer")
    )
    monkeypatch.setattr(compositing, "load_lst", lambda *a, **k: (_ for _ in ()).throw(
        CatalogUnreachableError("offline")))  # fmt: skip
    dashboard.controls.source = "planetary-computer"
    assert any("only the demo serves" in w for w in warnings(dashboard)), warnings(dashboard)


def test_every_pixel_masked_is_a_warning(computations):
    fresh = Computations()
    settings = Settings()
    request = AreaRequest.for_view(settings, plan_view(SMALL_VIEW, "demo"))
    lazy = compositing.load("demo", bbox=request.bbox, dates=request.dates,
                            resolution=request.resolution, crs="EPSG:3857")  # fmt: skip
    fresh.collections.put((request, None), xr.full_like(lazy, np.nan).compute())
    fresh.thermal_inputs_cache = computations.thermal_inputs_cache  # the thermal area is unaffected
    dashboard = Dashboard(computations=fresh, view=SMALL_VIEW)
    assert any("every pixel of Median is masked" in w for w in warnings(dashboard))
    assert dashboard.map_view.images["median"] is None
    assert dashboard.scatter.fit is not None


def test_a_click_on_the_map_moves_the_point(dashboard):
    view = dashboard.map_view.view
    lon, lat = EXAMPLE_POINT
    dashboard.map_view.tapped = (lon + 0.005, lat - 0.003)
    moved = (dashboard.controls.lon, dashboard.controls.lat)
    assert moved == pytest.approx((lon + 0.005, lat - 0.003), abs=1e-9)
    assert dashboard.controls.place == CUSTOM_PLACE
    assert dashboard.map_view.view == view  # the point is in view: the map stays put
    assert dashboard.scatter.fit is not None


def test_choosing_a_place_recentres_the_map_and_sets_the_example_dates(dashboard):
    dashboard.controls.place = THERMAL_PLACE
    preset = PRESETS[THERMAL_PLACE]
    assert dashboard.controls.dates == tuple(dt.date.fromisoformat(d) for d in preset["dates"])
    assert dashboard.map_view.view.contains(*preset["point"])
    centre = dashboard.map_view.view.centre_lonlat
    assert centre == pytest.approx(preset["point"], abs=1e-6)
    assert dashboard.scatter.fit is not None and dashboard.scatter.fit.r2 > 0.5


@pytest.mark.parametrize("online", [False, True])
def test_the_basemap_is_only_used_when_its_tiles_can_load(dashboard, monkeypatch, online):
    monkeypatch.setattr(dashboard_module, "reachable", lambda host: online)
    dashboard.controls.basemap = "OpenStreetMap"
    if online:
        assert dashboard.map_view.basemap == "OpenStreetMap"
    else:
        assert dashboard.map_view.basemap == "None"
        assert dashboard.controls.basemap == "None"
        assert any("no internet" in w for w in warnings(dashboard))


def test_a_dask_scheduler_in_the_environment_runs_the_computations(monkeypatch):
    distributed = pytest.importorskip("distributed")
    from app import cluster

    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
    ) as local:
        monkeypatch.setenv(cluster.SCHEDULER_VARIABLE, local.scheduler_address)
        cluster.connect_from_environment.cache_clear()
        client = cluster.connect_from_environment()
        try:
            assert client.scheduler.address == local.scheduler_address
            plan = plan_view(initial_view(*EXAMPLE_POINT, 40, 30), "demo")
            with distributed.get_task_stream(client) as tasks:
                Computations().collection(AreaRequest.for_view(Settings(), plan), None)
            assert tasks.data, "the collection was not computed on the cluster"
        finally:
            client.close()
            cluster.connect_from_environment.cache_clear()


def test_an_unreachable_dask_scheduler_is_reported(computations, monkeypatch):
    from app import cluster

    monkeypatch.setenv(cluster.SCHEDULER_VARIABLE, "tcp://127.0.0.1:9")
    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT", "0.5s")
    cluster.connect_from_environment.cache_clear()
    try:
        dashboard = Dashboard(computations=computations, view=SMALL_VIEW)
    finally:
        cluster.connect_from_environment.cache_clear()
    assert any("Dask scheduler cannot be reached" in e for e in errors(dashboard))
    assert dashboard.map_view.images["median"] is not None  # computed locally instead


# --- the pieces --------------------------------------------------------------------------------


def test_notifier_uses_panel_notifications_when_there_is_a_page(monkeypatch):
    shown = []

    class Toasts:
        def error(self, text, duration):
            shown.append(("error", text, duration))

    monkeypatch.setattr(type(dashboard_module.pn.state), "notifications", property(
        lambda self: Toasts()))  # fmt: skip
    notifier = Notifier()
    notifier.error("boom")
    assert shown == [("error", "boom", 0)]
    assert notifier.messages("error") == ["boom"]


def test_describe_errors():
    assert describe(CatalogUnreachableError("x"), "earth-search")[0] == "error"
    assert "Earth Search" in describe(CatalogUnreachableError("x"), "earth-search")[1]
    assert describe(NoDataError("nothing"))[0] == "warning"
    assert describe(ValueError("bad"))[1] == "bad"
    level, text = describe(RuntimeError("surprise"))
    assert level == "error" and "RuntimeError" in text


def test_lru_cache_evicts_the_least_recently_used():
    cache: LRUCache[int] = LRUCache(2048)  # two values of the nominal 1 KB
    assert cache.get_or_compute("a", lambda: 1) == 1
    assert cache.get_or_compute("b", lambda: 2) == 2
    assert cache.get_or_compute("a", lambda: 99) == 1  # a hit makes "a" recent
    cache.put("c", 3)
    assert "b" not in cache and "a" in cache and "c" in cache
    assert (cache.hits, cache.misses) == (1, 2)
    assert cache.find(lambda key: key == "a") == 1
    assert cache.find(lambda key: key == "zzz") is None


def test_a_superseded_job_is_dropped_and_queued_stale_work_is_skipped():
    jobs = LatestOnly()
    started, release = threading.Event(), threading.Event()
    ran: list[str] = []

    def slow() -> str:
        started.set()
        release.wait(5)
        ran.append("slow")
        return "slow"

    def quick(name: str):
        def work() -> str:
            ran.append(name)
            return name

        return work

    async def scenario() -> list:
        first = jobs.next_generation()
        slow_task = asyncio.ensure_future(jobs.run(first, slow))
        await asyncio.get_running_loop().run_in_executor(None, started.wait, 5)
        second = jobs.next_generation()
        queued = asyncio.ensure_future(jobs.run(second, quick("stale")))
        third = jobs.next_generation()
        latest = asyncio.ensure_future(jobs.run(third, quick("latest")))
        release.set()
        return await asyncio.gather(slow_task, queued, latest, return_exceptions=True)

    slow_result, queued_result, latest_result = asyncio.run(scenario())
    assert isinstance(slow_result, SupersededError)  # finished, but its result is dropped
    assert isinstance(queued_result, SupersededError)
    assert latest_result == "latest"
    # The stale queued job never ran. (The pool is the process's, several workers: the latest
    # job need not wait for the slow one to finish.)
    assert sorted(ran) == ["latest", "slow"]
    jobs.shutdown()


def test_required_bands_are_those_of_the_visible_layers():
    settings = Settings(rgb_bands=("B04", "B03", "B02"))
    assert LAYERS_BY_KEY["median"].bands(settings) == {"B04", "B03", "B02", "MSK_CLDPRB"}
    assert LAYERS_BY_KEY["mode"].bands(settings) == {"SCL"}
    assert LAYERS_BY_KEY["best_pixel"].bands(settings) == {"B04", "B03", "B02", "MSK_CLDPRB"}


def test_quality_mosaics_and_count_follow_the_earth_engine_examples(computations):
    settings = Settings(cloud_mask=Settings().cloud_mask)
    plan = plan_view(initial_view(*EXAMPLE_POINT, 60, 40), "demo")
    collection = computations.collection(AreaRequest.for_view(settings, plan), None)
    cldprb = collection.sel(band="MSK_CLDPRB").values
    best = computations.layer_values(LAYERS_BY_KEY["best_pixel"], plan, settings).values
    worst = computations.layer_values(LAYERS_BY_KEY["worst_pixel"], plan, settings).values
    rgb = collection.sel(band=list(settings.rgb_bands)).values
    lowest = np.nanargmin(cldprb, axis=0)  # ties: the first, as quality_mosaic
    highest = np.nanargmax(cldprb, axis=0)
    rows, cols = np.indices(lowest.shape)
    np.testing.assert_array_equal(best, rgb[lowest, :, rows, cols].transpose(2, 0, 1))
    np.testing.assert_array_equal(worst, rgb[highest, :, rows, cols].transpose(2, 0, 1))
    count = computations.layer_values(LAYERS_BY_KEY["count"], plan, settings).values
    expected = (cldprb <= 10).sum(axis=0).astype(float)
    np.testing.assert_array_equal(count, np.where(expected > 0, expected, np.nan))


def test_pair_groups_tell_used_filtered_and_partial_pairs_apart():
    samples = pd.DataFrame({
        "ndvi": [0.2, 0.9, 0.3, 0.4], "lst": [305.0, 300.0, 310.0, np.nan],
        "used": [True, False, False, False],
        "excluded": ["", "ndvi_range", "coverage", "lst NaN"],
    })  # fmt: skip
    groups = pair_groups(samples)
    assert list(groups[USED].index) == [0]
    assert list(groups[FILTERED].index) == [1]
    assert list(groups[PARTIAL].index) == [2]  # the NaN LST cannot be drawn


def test_plan_view_computes_the_view_at_the_screen_resolution():
    view = initial_view(*EXAMPLE_POINT, 1000, 700)
    plan = plan_view(view, "demo")
    assert plan.resolution == native_resolution(EXAMPLE_POINT[1])
    grid = plan.grid
    assert (grid.width, grid.height) in {(1000, 700), (1001, 701)}  # snapped outwards
    zoomed_in = View(
        view.x_range, (view.y_range[0], view.y_range[0] + (view.y_range[1] - view.y_range[0])),
        4000, 2800,
    )  # fmt: skip
    assert plan_view(zoomed_in, "demo").resolution == native_resolution(EXAMPLE_POINT[1])


def test_plan_view_keeps_zoomed_out_demo_views_within_the_cost_budget():
    centre = initial_view(*EXAMPLE_POINT, 1000, 700)
    cx, cy = sum(centre.x_range) / 2, sum(centre.y_range) / 2
    half = 40_000 * mercator_scale(EXAMPLE_POINT[1]) / 2  # 40 km wide: 40 m per pixel on the ground
    view = View((cx - half, cx + half), (cy - half * 0.7, cy + half * 0.7), 1000, 700)
    plan = plan_view(view, "demo")
    ground = plan.resolution / mercator_scale(EXAMPLE_POINT[1])
    pixels = (2 * half / plan.resolution) * (1.4 * half / plan.resolution)
    assert pixels * demo_samples_per_pixel(ground) ** 2 <= 1000 * 700 * 1.01
    with pytest.raises(ViewError, match="zoom in"):
        big = MAX_CATALOG_VIEW_M * mercator_scale(EXAMPLE_POINT[1])
        plan_view(View((cx - big, cx + big), (cy - big, cy + big), 1000, 700), "earth-search")
    with pytest.raises(ViewError, match="no area"):
        plan_view(View((cx, cx), (cy, cy + 1), 1000, 700), "demo")


def test_pairs_selected_in_the_scatter_are_outlined_on_the_map(dashboard):
    scatter = dashboard.scatter
    assert scatter.selection is not None
    used = scatter._drawn.index[scatter._drawn["used"]][:2].tolist()
    scatter.selection.event(index=used)
    outlines = scatter.selected_cells
    assert len(outlines) == 2
    assert dashboard.map_view._highlight.data == outlines
    pairs = scatter._drawn.iloc[used].itertuples()
    for (x0, y0, x1, y1), pair in zip(outlines, pairs, strict=True):
        # A 0.01-degree cell around the pair's centre, in Web Mercator metres.
        lon0, lat0 = to_lonlat(x0, y0)
        lon1, lat1 = to_lonlat(x1, y1)
        assert (lon1 - lon0, lat1 - lat0) == pytest.approx((0.01, 0.01), rel=1e-6)
        assert ((lon0 + lon1) / 2, (lat0 + lat1) / 2) == pytest.approx((pair.x, pair.y))
    scatter.selection.event(index=[])
    assert dashboard.map_view._highlight.data == []


def pixel_sizes(view: View) -> tuple[float, float]:
    return (
        (view.x_range[1] - view.x_range[0]) / view.width,
        (view.y_range[1] - view.y_range[0]) / view.height,
    )


def test_a_resized_view_keeps_its_centre_and_resolution():
    view = initial_view(*EXAMPLE_POINT, 1000, 700, span_m=11_500)
    narrow = resized(view, 436, 700)
    assert (narrow.width, narrow.height) == (436, 700)
    assert narrow.centre_lonlat == pytest.approx(view.centre_lonlat)
    assert pixel_sizes(narrow) == pytest.approx(pixel_sizes(view))


def test_a_view_just_coarser_than_a_demo_sampling_step_snaps_to_it():
    # 26 m on the ground would take 3 x 3 samples per pixel (9 times the cost) and be coarsened
    # several times over; 25 m, one sample per pixel, costs only 8% more than the budget.
    scale = mercator_scale(EXAMPLE_POINT[1])
    x, y = (
        initial_view(*EXAMPLE_POINT, 10, 10).x_range[0],
        initial_view(*EXAMPLE_POINT, 10, 10).y_range[0],
    )
    half_w, half_h = 500 * 26 * scale, 350 * 26 * scale
    view = View((x - half_w, x + half_w), (y - half_h, y + half_h), 1000, 700)
    ground = plan_view(view, "demo").resolution / scale
    assert 24 < ground <= 25 and demo_samples_per_pixel(ground) == 1


def test_the_map_follows_the_plot_size_with_square_pixels(dashboard):
    """A plot narrower than the first view (a laptop screen, a notebook cell) gets ranges of its
    own shape: pixels stay square and the computed extent is the one on screen."""
    map_view = dashboard.map_view
    map_view._size_changed(width=436, height=700)
    view = map_view.view
    assert (view.width, view.height) == (436, 700)
    x_size, y_size = pixel_sizes(view)
    assert x_size == pytest.approx(y_size)
    # Not yet moved by the user: the thermal area still fits across the narrow side.
    area_m = dashboard.controls.area_km * 1000
    assert 436 * x_size >= area_m * mercator_scale(EXAMPLE_POINT[1])
    plan = plan_view(view, "demo")
    assert plan.resolution / mercator_scale(EXAMPLE_POINT[1]) <= 25  # one sample per pixel
    # After a pan, a resize keeps the zoom level.
    map_view._ranges_changed(
        x_range=(view.x_range[0] + 1000, view.x_range[1] + 1000), y_range=view.y_range
    )
    map_view._size_changed(width=800, height=700)
    assert pixel_sizes(map_view.view) == pytest.approx((x_size, y_size))
    # The dashboard recomputed for the new view: the median covers it (to a pixel).
    left, bottom, right, top = map_view.images["median"].bounds
    (x0, x1), (y0, y1) = map_view.view.x_range, map_view.view.y_range
    pixel = plan_view(map_view.view, "demo").resolution
    assert abs(left - x0) <= pixel and abs(right - x1) <= pixel
    assert abs(bottom - y0) <= pixel and abs(top - y1) <= pixel


# --- real catalogs, replayed on loopback (tests/stac_replay.py) -------------------------------

#: Places and dates the replayed catalogs have clear items for: Earth Search 13TDE on 8 October
#: 2023 (cloud cover 0), Planetary Computer 32TMT (and Sentinel-3 SLSTR) on 5 July 2020.
REPLAY_PLACES = {
    "earth-search": ((-105.1025, 40.1655), (dt.date(2023, 10, 8), dt.date(2023, 10, 9))),
    "planetary-computer": ((9.048, 47.3955), (dt.date(2020, 7, 5), dt.date(2020, 7, 6))),
}


def _around(point: tuple[float, float], half: float = 0.03) -> tuple[float, ...]:
    return (point[0] - half, point[1] - half, point[0] + half, point[1] + half)


@pytest.fixture(scope="module")
def replay():
    stac_replay = pytest.importorskip("stac_replay")
    if not stac_replay.available():
        pytest.skip("the recorded STAC responses (../shared/realdata/stac) are absent")
    areas = [_around(point) for point, _ in REPLAY_PLACES.values()]
    with stac_replay.ReplayServer(areas) as server:
        yield server


@pytest.fixture
def replayed(replay, monkeypatch):
    """A dashboard at the replay's place whose catalogs are the replay (by the environment)."""
    monkeypatch.setenv("COMPOSITE_EXPLORER_EARTH_SEARCH_URL", replay.catalog_url("earth-search"))
    monkeypatch.setenv(
        "COMPOSITE_EXPLORER_PLANETARY_COMPUTER_URL", replay.catalog_url("planetary-computer")
    )
    replay.faults.clear()
    point = REPLAY_PLACES["earth-search"][0]
    board = Dashboard(computations=Computations(), view=initial_view(*point, 160, 120))
    board.controls.param.update(
        lon=point[0], lat=point[1], area_km=3.0, cloud_mask="none", layers=["median"]
    )
    return board


def switch_to(board: Dashboard, source: str) -> None:
    (lon, lat), dates = REPLAY_PLACES[source]
    board.controls.param.update(source=source, lon=lon, lat=lat, dates=dates)


@pytest.mark.parametrize("source", ["earth-search", "planetary-computer"])
def test_the_source_switch_shows_each_replayed_catalog(replayed, replay, source):
    switch_to(replayed, source)
    image = replayed.map_view.images["median"]
    assert image is not None, replayed.notifier.history
    assert (image.rgba[..., 3] > 0).mean() > 0.9  # pixels read from the replayed files
    assert any(status == 206 for _, path, status in replay.requests if path.startswith("/assets"))


def test_the_planetary_computer_gets_csmask_clouds_and_shadows_without_l1c(replay, monkeypatch):
    pytest.importorskip("ukis_csmask", reason="the csmask extra is not installed")
    monkeypatch.setenv(
        "COMPOSITE_EXPLORER_PLANETARY_COMPUTER_URL", replay.catalog_url("planetary-computer")
    )
    (lon, lat), dates = REPLAY_PLACES["planetary-computer"]
    board = Dashboard(computations=Computations(), view=initial_view(lon, lat, 160, 120))
    assert board.controls.cloud_mask == "cldprb"  # the demo's default
    board.controls.param.update(layers=["median", "cloud_mask"], area_km=3.0)
    board.controls.param.update(source="planetary-computer", lon=lon, lat=lat, dates=dates)
    # The source's best mask: the Planetary Computer serves L2A only (no MSK_CLDPRB, no L1C).
    assert board.controls.cloud_mask == "csmask"
    assert not errors(board), board.notifier.history
    assert board.map_view.images["median"] is not None, board.notifier.history
    assert board.map_view.images["cloud_mask"] is not None, board.notifier.history
    searched = [path for _, path, _ in replay.requests if "search" in path]
    assert searched and not any("l1c" in path.lower() for path in searched)
    # Its parameters change the mask; the network ran once (its probabilities are cached).
    before = image_bytes(board, "cloud_mask")
    runs, masks = (board.computations.probabilities.misses, board.computations.masks.misses)
    board.controls.param.update(buffer=300.0, combined=True)
    assert not errors(board), board.notifier.history
    assert board.computations.masks.misses > masks  # a new mask ...
    assert board.computations.probabilities.misses == runs  # ... from the cached network run
    after = image_bytes(board, "cloud_mask")
    assert np.all(np.frombuffer(after, np.uint8) >= np.frombuffer(before, np.uint8))
    # Back on the demo, its own default comes back; a mask the user chose stays.
    board.controls.source = "demo"
    assert board.controls.cloud_mask == "cldprb"
    board.controls.cloud_mask = "scl"
    board.controls.source = "planetary-computer"
    assert board.controls.cloud_mask == "scl"


def test_a_file_404_halfway_is_notified_and_the_shown_layers_stay(replayed, replay):
    switch_to(replayed, "earth-search")
    before = image_bytes(replayed, "median")
    # From now on every file answers 404; the mode layer needs SCL, which is not loaded yet.
    replay.fail("/assets/*", "404-after", after=0)
    replayed.controls.layers = ["median", "mode"]
    failures = [e for e in errors(replayed) if "HTTP 404" in e]
    assert failures, replayed.notifier.history
    assert "/assets/" in failures[0] and "Earth Search" in failures[0]
    assert replayed.map_view.images["mode"] is None
    assert image_bytes(replayed, "median") == before  # the median did not need the failed file
    # Once the file is back, asking again reads it (nothing remembers the failure).
    replay.faults.clear()
    replayed.controls.layers = ["median"]
    replayed.controls.layers = ["median", "mode"]
    assert replayed.map_view.images["mode"] is not None, replayed.notifier.history
    # And the dashboard keeps working.
    replayed.controls.param.update(
        source="demo", dates=(dt.date(2023, 10, 1), dt.date(2023, 11, 1))
    )
    assert replayed.map_view.images["median"] is not None, replayed.notifier.history


def test_earth_search_says_the_thermal_panel_needs_another_source(replayed):
    switch_to(replayed, "earth-search")
    # Earth Search has no Sentinel-3 LST: a warning that names the fix, not an error, and the
    # map still shows its composite.
    assert not [e for e in errors(replayed) if "LST" in e], replayed.notifier.history
    assert any("Planetary Computer" in w and "LST" in w for w in warnings(replayed))
    assert "switch Source to Planetary Computer" in replayed.scatter.summary
    assert replayed.map_view.images["median"] is not None
    # The panel keeps saying it: another layer does not toast it again.
    told = len(replayed.notifier.history)
    replayed.controls.layers = ["median", "mean"]
    assert replayed.map_view.images["mean"] is not None
    assert len(replayed.notifier.history) == told, replayed.notifier.history[told:]


# --- the pixel inspector and the timeline -----------------------------------------------------


def layer_value_rows(dashboard: Dashboard) -> dict[str, str]:
    """The inspector's "Layers at the point": {layer title: value in words}."""
    cells = re.findall(
        r"<tr><td>(.*?)</td><td><b>(.*?)</b></td></tr>", dashboard.inspector.layer_values.object
    )
    return {html.unescape(title): html.unescape(value) for title, value in cells}


def test_the_inspector_explains_the_point_with_what_the_layers_show(dashboard):
    dashboard.controls.layers = ["median", "mosaic", "count"]
    series = dashboard.inspector.series
    assert series is not None and series.sizes["time"] == 6
    # The series' median is the Median layer's value at the point (two computations agree).
    rows = layer_value_rows(dashboard)
    median = series["summary"].sel(statistic="median")
    expected = ", ".join(
        f"{ee_band_name(b)} {float(median.sel(band=b)):.0f}"
        for b in dashboard.controls.settings().rgb_bands
    )
    assert rows["Median (B11, B8, B3)"] == expected
    # The mosaic took the last kept image: its values are the Mosaic layer's.
    (taken,) = set(taken_time(series.sel(band=["B11", "B08", "B03"]), "mosaic_image"))
    value = series["value"].sel(time=taken)
    assert rows["Mosaic (B11, B8, B3)"] == ", ".join(
        f"{ee_band_name(b)} {float(value.sel(band=b)):.0f}" for b in ("B11", "B08", "B03")
    )
    kept = int(series["kept"].sel(band="B11").sum())
    assert rows["Count (not cloud observations)"] == f"{kept} observations"
    table = dashboard.inspector.table.object
    assert (table["masked by"] == "MSK_CLDPRB > 10").sum() == 6 - kept
    assert f"{kept} of 6 images kept" in dashboard.inspector.summary
    assert "Best-pixel mosaic (◆) took" in dashboard.inspector.summary


def test_a_click_inspects_the_clicked_pixel(dashboard):
    lon, lat = EXAMPLE_POINT
    before = dashboard.inspector.series
    dashboard.map_view.tapped = (lon + 0.004, lat + 0.002)
    assert dashboard.inspector.point == pytest.approx((lon + 0.004, lat + 0.002), abs=1e-5)
    assert f"{lon + 0.004:.5f}" in dashboard.inspector.summary
    series = dashboard.inspector.series
    assert (series.attrs["row"], series.attrs["column"]) != (
        before.attrs["row"],
        before.attrs["column"],
    )


def test_the_cloud_masks_reasons_are_named(dashboard):
    scl_reasons = [
        f"SCL {c.value}: {c.name}" for c in vis.SCL_CLASSES if c.value in SCL_DROP_CLASSES
    ]
    expected = {"scl": [*scl_reasons, "no SCL"], "s2cloudless": ["cloud", "shadow", "buffer"]}
    for mask, reasons in expected.items():
        dashboard.controls.cloud_mask = mask
        series = dashboard.inspector.series
        assert sorted(series["reason"].values) == sorted(reasons)
        dropped = series["dropped"].any("reason")
        assert dropped.any(), f"{mask}: the example point has a cloudy image"
        # Exactly what a mask dropped (or had no data) is not kept.
        no_data = series["value"].sel(band="B11").isnull()
        assert (~series["kept"].sel(band="B11") == (dropped | no_data)).all()
        table = dashboard.inspector.table.object
        assert set(table["masked by"]) - {""} <= {" + ".join(r) for r in [[x] for x in reasons]}
    assert errors(dashboard) == []


def test_the_timeline_offers_each_image_with_its_cloud_cover_and_marks_it_without_computing(
    dashboard,
):
    labels = list(dashboard.controls.param.image_date.names)
    assert len(labels) == 6 and all(
        re.fullmatch(r"2021-07-\d\d 18:40 · \d+% cloud", label) for label in labels
    ), labels
    times = list(dashboard.controls.param.image_date.objects.values())
    generation = dashboard.refresh.jobs.generation
    dashboard.controls.image_date = times[1]
    assert dashboard.refresh.jobs.generation == generation  # only Median shown: nothing to do
    marked = dashboard.inspector.table.object[""].tolist()
    assert marked == ["", "▶", "", "", "", ""]
    assert f"Timeline image: {times[1][:10]}" in dashboard.inspector.summary


def test_the_single_image_layer_shows_the_timelines_image_unmasked(dashboard):
    dashboard.controls.layers = ["image"]
    times = list(dashboard.controls.param.image_date.objects.values())
    first = dashboard.map_view.images["image"].rgba.copy()
    dashboard.controls.image_date = times[0]
    assert not np.array_equal(dashboard.map_view.images["image"].rgba, first)
    assert times[0][:10] in dashboard.map_view.legend.object
    series = dashboard.inspector.series
    value = series["value"].sel(time=times[0])
    assert layer_value_rows(dashboard)["Single image (timeline) (B11, B8, B3)"] == ", ".join(
        f"{ee_band_name(b)} {float(value.sel(band=b)):.0f}" for b in ("B11", "B08", "B03")
    )


def test_a_timeline_step_resends_only_the_single_image_and_keeps_the_series(dashboard):
    dashboard.controls.layers = ["median", "image"]
    median, series = dashboard.map_view.images["median"], dashboard.inspector.series
    sent: list[str] = []
    for key in ("median", "image"):
        dashboard.map_view._pipes[key].add_subscriber(lambda key=key, **_: sent.append(key))
    times = list(dashboard.controls.param.image_date.objects.values())
    dashboard.controls.image_date = times[2]
    assert sent == ["image"]  # Median came back from the image cache as it was: not resent
    assert dashboard.map_view.images["median"] is median
    assert dashboard.inspector.series is series  # same point, mask and bands: not recomputed
    assert dashboard.inspector.table.object[""].tolist() == ["", "", "▶", "", "", ""]
    dashboard.controls.stretch_max = dashboard.controls.stretch_max * 1.1
    assert sent == ["image", "median", "image"]  # a stretch does recolour both


def test_without_a_collection_layer_the_inspector_says_what_to_turn_on(dashboard):
    dashboard.controls.layers = ["lst"]
    assert dashboard.inspector.series is None
    assert "turn one on to see its series" in dashboard.inspector.summary
    assert list(layer_value_rows(dashboard)) == ["LST (1 km)"]
    assert layer_value_rows(dashboard)["LST (1 km)"].endswith(" K")
