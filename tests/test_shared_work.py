"""Shared work across sessions, bounded memory and the hosted caps (issue 12), in-process.

The served side (pages, memory after close, notifications per session) is tested in
tests/test_sessions.py and tests/test_class_demo.py.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
import time

import numpy as np
import panel as pn
import param
import pytest
import requests
import xarray as xr
from bokeh.document import Document
from panel.io.state import set_curdoc

from app import Dashboard
from app.cache import LRUCache, weigh
from app.computations import MAX_THINNING, AreaRequest, Computations, shared_computations
from app.errors import describe
from app.jobs import FairSlots, LatestOnly, SupersededError
from app.limits import HOSTED, LOCAL, LimitError, Limits, limits_from
from app.packed import MASKED, pack, unpack
from app.refresh import SessionClosedError
from app.settings import Settings, SettingsError
from app.snap_back import SnapBackCheckBoxGroup, SnapBackSelect
from app.view import initial_view, plan_view

POINT = (-122.373, 37.448)
SMALL_VIEW = initial_view(*POINT, 60, 40)


# --- the cache ------------------------------------------------------------------------------


def test_the_cache_is_bounded_in_bytes_and_drops_the_least_recent():
    cache: LRUCache[np.ndarray] = LRUCache(3000)
    for key in "abc":
        cache.put(key, np.zeros(1000, np.uint8))
    assert cache.nbytes == 3000 and len(cache) == 3
    cache.get("a")  # "a" becomes the most recent
    cache.put("d", np.zeros(1000, np.uint8))
    assert "b" not in cache and {"a", "c", "d"} <= {k for k in "abcd" if k in cache}
    assert cache.nbytes == 3000
    cache.put("huge", np.zeros(5000, np.uint8))  # larger than the budget: returned, not kept
    assert "huge" not in cache and cache.nbytes == 3000


def test_values_are_weighed_by_their_arrays():
    array = np.zeros((10, 10), np.float32)
    assert weigh(array) == 400
    assert weigh(xr.DataArray(array)) == 400
    assert weigh((array, [array, {"x": array}])) == 1200


def test_one_key_asked_by_two_sessions_is_computed_once():
    cache: LRUCache[str] = LRUCache(10_000)
    calls: list[int] = []
    started, release = threading.Event(), threading.Event()

    def compute() -> str:
        calls.append(1)
        started.set()
        release.wait(5)
        return "value"

    results: list[str] = []
    first = threading.Thread(target=lambda: results.append(cache.get_or_compute("k", compute)))
    first.start()
    started.wait(5)
    second = threading.Thread(target=lambda: results.append(cache.get_or_compute("k", compute)))
    second.start()
    time.sleep(0.1)
    release.set()
    first.join(5)
    second.join(5)
    assert results == ["value", "value"] and len(calls) == 1
    assert (cache.misses, cache.shared) == (1, 1)


def test_a_waiter_gets_the_error_of_the_computation_it_waited_for():
    cache: LRUCache[str] = LRUCache(10_000)
    started = threading.Event()

    def failing() -> str:
        started.set()
        time.sleep(0.2)
        raise ValueError("bad inputs")

    errors: list[BaseException] = []

    def ask() -> None:
        try:
            cache.get_or_compute("k", failing)
        except ValueError as error:
            errors.append(error)

    threads = [threading.Thread(target=ask)]
    threads[0].start()
    started.wait(5)
    threads.append(threading.Thread(target=ask))
    threads[1].start()
    for thread in threads:
        thread.join(5)
    assert [str(e) for e in errors] == ["bad inputs", "bad inputs"]
    assert "k" not in cache  # a failure is not cached: the next request tries again


# --- compute slots and the shared pool ------------------------------------------------------


def test_compute_slots_admit_at_most_their_count_in_arrival_order():
    slots = FairSlots(2)
    running, most, order = [0], [0], []
    lock = threading.Lock()

    def work(name: str) -> None:
        with slots.slot():
            with lock:
                running[0] += 1
                most[0] = max(most[0], running[0])
                order.append(name)
            time.sleep(0.05)
            with slots.slot():  # re-entrant: a nested computation takes no second slot
                pass
            with lock:
                running[0] -= 1

    threads = []
    for index in range(6):
        threads.append(threading.Thread(target=work, args=(f"job{index}",)))
        threads[-1].start()
        time.sleep(0.01)  # arrive in order
    for thread in threads:
        thread.join(5)
    assert most[0] == 2 and slots.in_use == 0
    assert order == [f"job{index}" for index in range(6)]


def test_a_session_superseding_its_job_does_not_cancel_what_another_waits_for():
    cache: LRUCache[str] = LRUCache(10_000)
    computed: list[int] = []
    release = threading.Event()

    def load() -> str:
        computed.append(1)
        release.wait(5)
        return "collection"

    first, second = LatestOnly(), LatestOnly()

    async def main() -> tuple:
        generation_a = first.next_generation()
        generation_b = second.next_generation()
        a = asyncio.ensure_future(first.run(generation_a, lambda: cache.get_or_compute("k", load)))
        await asyncio.sleep(0.05)
        b = asyncio.ensure_future(second.run(generation_b, lambda: cache.get_or_compute("k", load)))
        await asyncio.sleep(0.05)
        first.next_generation()  # the first session changes its mind
        release.set()
        return await asyncio.gather(a, b, return_exceptions=True)

    result_a, result_b = asyncio.run(main())
    assert isinstance(result_a, SupersededError)
    assert result_b == "collection" and len(computed) == 1 and "k" in cache


def test_a_closed_session_runs_nothing_more():
    jobs = LatestOnly()
    generation = jobs.next_generation()
    jobs.shutdown()
    with pytest.raises(SupersededError):
        asyncio.run(jobs.run(generation, lambda: "late"))


class _DroppingDocument:
    """A destroyed session's document: it takes next-tick callbacks and never runs them."""

    def __init__(self) -> None:
        self.callbacks: list = []

    def add_next_tick_callback(self, callback) -> None:
        self.callbacks.append(callback)


def test_a_change_queued_on_a_page_that_closes_does_not_wait_forever():
    """The race behind a closed session's dashboard staying in memory: a refresh handed a change
    to the page, the session ended before the page ran it, and the job waited for good (Panel
    keeps running tasks, and the task held the dashboard)."""
    refresh = Dashboard().refresh

    async def main() -> None:
        refresh._document = _DroppingDocument()
        waiting = asyncio.ensure_future(refresh._on_page(lambda: None))
        await asyncio.sleep(0.01)
        assert not waiting.done()  # the page never runs the change
        refresh.close()
        with pytest.raises(SessionClosedError):
            await asyncio.wait_for(waiting, 5)

    asyncio.run(main())


# --- packed collections ---------------------------------------------------------------------


def test_packed_collections_keep_whole_dn_exactly_and_the_demo_within_half_a_dn():
    rng = np.random.default_rng(0)
    whole = rng.integers(-1000, 20000, (3, 2, 5, 5)).astype(np.float32)
    continuous = rng.uniform(0, 10000, (3, 2, 5, 5)).astype(np.float32)
    continuous[0, 0, 0, 0] = np.nan
    for values, tolerance in ((whole, 0.0), (continuous, 0.5)):
        collection = xr.DataArray(
            values, dims=("time", "band", "y", "x"), coords={"band": ["B04", "B08"]},
            attrs={"units": "reflectance x 10000"},
        )  # fmt: skip
        packed = pack(collection)
        assert packed.dtype == np.uint16 and packed.nbytes == collection.nbytes // 2
        assert packed.attrs == collection.attrs
        back = unpack(packed)
        assert back.dtype == np.float32
        np.testing.assert_array_equal(np.isnan(back.values), np.isnan(values))
        assert np.nanmax(np.abs(back.values - values)) <= tolerance
        np.testing.assert_array_equal(unpack(packed, ["B08"]).values, back.sel(band=["B08"]))
    assert pack(xr.DataArray(np.array([np.nan, 1e6, -5000.0]))).values.tolist() == [
        MASKED, MASKED - 1, 0,
    ]  # fmt: skip


# --- the view's collection within the memory budget -----------------------------------------


def _request(dates: tuple[str, str], view=SMALL_VIEW) -> AreaRequest:
    plan = plan_view(view, "demo")
    return AreaRequest("demo", dates, plan.bbox, plan.resolution)


def test_a_collection_over_the_budget_is_loaded_at_coarser_pixels():
    request = _request(("2021-01-01", "2022-01-01"), initial_view(*POINT, 400, 300))
    limits = Limits(cache_mb=64)  # one view may take 32 MB
    computations = Computations(limits=limits)
    collection = computations.collection(request, {"B04", "MSK_CLDPRB"})
    thinned = collection.attrs["thinned_by"]
    assert 1 < thinned <= MAX_THINNING
    assert collection.sizes["time"] > 60  # every image of the year is there
    assert computations.collections.nbytes <= limits.collection_bytes
    assert computations.nbytes <= limits.cache_bytes
    # The same request again is served from memory at the same thinning.
    assert computations.collection(request, {"B04"}).attrs["thinned_by"] == thinned


def test_a_collection_that_would_not_fit_even_thinned_is_refused_with_what_to_narrow():
    request = _request(("2016-01-01", "2024-01-01"), initial_view(*POINT, 1000, 700))
    computations = Computations(limits=Limits(cache_mb=64))
    with pytest.raises(LimitError, match=r"narrow the Dates \(to about \d+ days here\)"):
        computations.collection(request, {"B04"})
    assert computations.nbytes == 0


def test_a_computation_past_the_run_time_cap_is_stopped_naming_the_cap():
    computations = Computations(limits=Limits(hosted=True, max_run_s=0.0))
    with pytest.raises(LimitError, match="this server's limit for one computation"):
        computations.collection(_request(("2021-07-01", "2021-08-01")), None)


def test_progress_goes_to_the_session_that_reports_it():
    computations = Computations()
    reports: list[float] = []
    with computations.reporting_progress(reports.append):
        computations.collection(_request(("2021-07-01", "2021-08-01")), None)
    assert reports and reports[-1] == pytest.approx(1.0)
    other: list[float] = []
    thread = threading.Thread(
        target=lambda: computations.collection(_request(("2021-06-01", "2021-07-01")), None)
    )
    with computations.reporting_progress(other.append):
        thread.start()  # another thread's computation reports nothing here
        thread.join(60)
    assert other == []


def test_concurrent_progress_leaves_no_callback_in_dasks_global_set(monkeypatch):
    """Two sessions' computations with progress on two threads at once: each reports to its own
    session, and nothing is ever put in dask's global ``Callback.active`` (dask swaps that set
    out and back around a computation, so a callback could be left there, holding a closed
    dashboard forever: issue 12)."""
    from dask.callbacks import Callback

    class RecordingSet(set):
        added: list = []

        def update(self, *items) -> None:  # how dask.callbacks.add_callbacks registers
            self.added.extend(item for group in items for item in group)
            super().update(*items)

        def add(self, item) -> None:
            self.update([item])

    monkeypatch.setattr(Callback, "active", RecordingSet())
    reports: dict[str, list[float]] = {"a": [], "b": []}
    errors: list[BaseException] = []
    months = {"a": ("2021-07-01", "2021-08-01"), "b": ("2021-06-01", "2021-07-01")}

    def run(name: str) -> None:
        try:
            for _ in range(8):
                computations = Computations()  # nothing cached: every round computes
                with computations.reporting_progress(reports[name].append):
                    computations.collection(_request(months[name]), None)
        except BaseException as error:  # reported by the main thread
            errors.append(error)

    threads = [threading.Thread(target=run, args=(name,)) for name in reports]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    assert all(r and r[-1] == pytest.approx(1.0) for r in reports.values()), reports
    assert RecordingSet.added == []
    assert Callback.active == set()


def test_every_session_of_a_process_shares_one_computations():
    assert shared_computations(LOCAL) is shared_computations(LOCAL)
    assert shared_computations(HOSTED) is not shared_computations(LOCAL)
    assert shared_computations(HOSTED).limits == HOSTED


# --- limits ---------------------------------------------------------------------------------


def test_hosted_mode_is_turned_on_by_the_flag_or_the_environment():
    assert limits_from(["app.py"], {}) == LOCAL
    assert limits_from(["app.py", "--hosted"], {}) == HOSTED
    assert limits_from([], {"COMPOSITE_EXPLORER_HOSTED": "1"}).hosted
    assert limits_from([], {"COMPOSITE_EXPLORER_CACHE_MB": "512"}).cache_mb == 512
    with pytest.raises(ValueError, match="COMPOSITE_EXPLORER_CACHE_MB"):
        limits_from([], {"COMPOSITE_EXPLORER_CACHE_MB": "lots"})


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"dates": (dt.date(2020, 1, 1), dt.date(2023, 1, 1))}, "Dates: 1096 days"),
        ({"area_m": 30_000.0}, "Thermal area: 30 km"),
        ({"layers": ("median", "mean", "max", "min")}, "Layers: 4 are ticked"),
    ],
)
def test_each_hosted_cap_is_named_when_hit(change, named):
    settings = Settings(**change)
    settings.check()  # no cap on a laptop
    with pytest.raises(LimitError, match=f"{named}.*this server's limit"):
        settings.check(HOSTED)


def test_hosted_views_are_capped_in_area_and_pixels():
    wide = initial_view(*POINT, 1000, 700, span_m=30_000)
    plan_view(wide, "demo")
    with pytest.raises(LimitError, match="this server's limit for the view \\(20 km\\)"):
        plan_view(wide, "demo", HOSTED)
    big_screen = initial_view(*POINT, 1900, 1000)  # 19 km at 10 m: within the area cap
    assert plan_view(big_screen, "demo").grid.width >= 1900
    # At most the cap, plus the pixel the box's snapping outwards adds on each side.
    assert plan_view(big_screen, "demo", HOSTED).grid.width <= HOSTED.max_pixels_per_side + 2


def test_a_point_or_view_across_the_antimeridian_says_so():
    with pytest.raises(SettingsError, match="crosses the antimeridian"):
        Settings(point=(179.9, -80.0)).check()
    Settings(point=(179.0, -10.0), area_m=10_000).check()  # 110 km away: fine
    with pytest.raises(ValueError, match="crosses the antimeridian"):
        plan_view(initial_view(179.99, -80.0, 1000, 700), "demo")


def test_network_errors_are_told_in_words_not_as_raw_exceptions():
    try:
        raise requests.exceptions.ProxyError(
            "HTTPSConnectionPool(host='planetarycomputer.microsoft.com', port=443): Max retries "
            "exceeded (Caused by ProxyError('Unable to connect to proxy', OSError('Tunnel "
            "connection failed: 403 Forbidden')))"
        )
    except requests.exceptions.ProxyError as error:
        level, text = describe(error, "planetary-computer")
    assert level == "error"
    assert text.startswith("Planetary Computer cannot be reached: the network's proxy refused")
    assert "HTTPSConnectionPool" not in text and "ProxyError" not in text


# --- widgets that snap back -----------------------------------------------------------------


class _Choices(param.Parameterized):
    source = param.Selector(objects={"Demo": "demo", "Earth Search": "earth-search"})
    layers = param.ListSelector(objects=["median", "mean"], default=["median"])


def test_a_value_the_server_rejects_snaps_back_in_the_page():
    choices = _Choices()
    select = SnapBackSelect.from_param(choices.param.source)
    boxes = SnapBackCheckBoxGroup.from_param(choices.param.layers)
    document = Document()
    with set_curdoc(document):
        select_model, boxes_model = select.get_root(document), boxes.get_root(document)
        document.add_root(select_model)
        document.add_root(boxes_model)
        select_model.value = "/etc/passwd"  # what a crafted message would set
        select._process_events({"value": "/etc/passwd"})
        boxes_model.active = [0, 7]
        boxes._process_events({"active": [0, 7]})
        assert (choices.source, select_model.value) == ("demo", "demo")
        assert (choices.layers, boxes_model.active) == (["median"], [0])
        select_model.value = "earth-search"  # an allowed choice still goes through
        select._process_events({"value": "earth-search"})
        assert choices.source == "earth-search"


def test_hosted_controls_show_the_caps():
    from app.controls import Controls

    text = " ".join(
        str(pane.object) for pane in pn.panel(Controls(limits=HOSTED)).select(pn.pane.Markdown)
    )
    assert "This server's limits: dates up to 366 days" in text
    assert "This server's limits" not in " ".join(
        str(pane.object) for pane in pn.panel(Controls()).select(pn.pane.Markdown)
    )


def test_sessions_with_the_same_settings_share_one_coloured_image():
    from app.layers import LAYERS_BY_KEY
    from app.settings import Stretch

    computations = Computations()
    plan = plan_view(SMALL_VIEW, "demo")
    median = LAYERS_BY_KEY["median"]
    settings = Settings()
    first = computations.layer_image(median, plan, settings)
    assert computations.layer_image(median, plan, Settings()) is first
    stretched = Settings(stretch=Stretch(mode="manual", minimum=0.0, maximum=2000.0))
    other = computations.layer_image(median, plan, stretched)
    assert other is not first and not np.array_equal(other.rgba, first.rgba)
    assert computations.values.misses == 1  # the recolour reused the values


def test_a_hosted_date_range_over_the_cap_snaps_back_and_says_why():
    from app.controls import Controls

    controls = Controls(limits=HOSTED)
    told: list[str] = []
    controls.param.watch(lambda event: told.append(event.new), "rejected")
    before = controls.dates
    controls._date_picker.value = (dt.date(2020, 1, 1), dt.date(2022, 1, 1))
    assert controls.dates == before and tuple(controls._date_picker.value) == before
    assert told and "731 days is more than this server's limit for a date range" in told[-1]
    controls._date_picker.value = (dt.date(2021, 1, 1), dt.date(2021, 6, 1))  # within the cap
    assert controls.dates == (dt.date(2021, 1, 1), dt.date(2021, 6, 1))


def test_quick_changes_over_the_rate_cap_are_merged_and_the_last_one_shows():
    from app.dashboard import Dashboard

    async def main() -> tuple[int, list[str], float]:
        board = Dashboard(
            limits=Limits(hosted=True, changes_per_second=2.0), view=initial_view(*POINT, 60, 40)
        )
        await asyncio.sleep(0.1)
        while board.busy:
            await asyncio.sleep(0.05)
        started = board.refresh.jobs.generation
        board.controls.stretch_mode = "manual"
        for maximum in (3000.0, 3100.0, 3200.0, 3300.0):
            board.controls.stretch_max = maximum  # five changes within a few milliseconds
        immediately = board.refresh.jobs.generation - started
        await asyncio.sleep(1.0)
        while board.busy:
            await asyncio.sleep(0.05)
        legend = board.map_view.images["median"].legend
        board.close()
        return immediately, board.notifier.messages("info"), legend.maximum

    immediately, told, shown_maximum = asyncio.run(main())
    assert immediately == 1  # the first change starts at once, the others wait and merge
    assert shown_maximum == 3300.0  # the merged refresh read the newest settings
    assert sum("this server's limit for changes per second" in text for text in told) == 1


def test_the_status_says_when_a_long_range_was_thinned_to_fit_the_budget():
    from app.dashboard import Dashboard

    limits = Limits(cache_mb=64)
    board = Dashboard(
        computations=Computations(limits=limits), limits=limits,
        view=initial_view(*POINT, 400, 300),
    )  # fmt: skip
    board.controls.dates = (dt.date(2021, 1, 1), dt.date(2022, 1, 1))
    assert "coarser pixels" in board.status and "narrow the Dates" in board.status, board.status
    assert board.map_view.images["median"] is not None
