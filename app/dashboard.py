"""The dashboard: controls, map and NDVI-LST panel wired to the pipeline.

Every change (a widget, the map's view, a click, a fit range) starts a *refresh*: a job that
computes what is visible, from the caches where it can, in a worker thread, and shows each layer
as soon as it is ready. A newer change supersedes a running refresh (see :mod:`app.jobs`);
errors become notifications and the dashboard carries on.

Where the refresh runs depends on where the dashboard lives:

* ``panel serve``: on the server's event loop (the document is not locked while the worker
  computes, so the page keeps answering);
* a Jupyter cell: as a task on the kernel's event loop;
* a plain script or a test (no event loop): synchronously, so setting a parameter returns once
  the new images exist.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Awaitable, Callable

import panel as pn
import param

from compositing.sources.demo import TITLE as DEMO_TITLE

from .cluster import connect_from_environment
from .controls import COMPUTE_PARAMETERS, Controls
from .errors import describe
from .jobs import LatestOnly, SupersededError
from .map_view import MapView
from .network import TILE_HOSTS, reachable
from .notify import Notifier
from .options import LAYERS, LAYERS_BY_KEY, SOURCE_LABELS
from .pipeline import Pipeline, Scene, required_bands, unavailable
from .render import LayerImage, colour_layer, colour_thermal_layer
from .scatter import ThermalScatter
from .settings import Settings
from .theme import Fast as OfflineFast
from .view import View, ViewPlan, plan_view

log = logging.getLogger("app")
Job = Callable[[], Awaitable[None]]
TITLE = "Composite Explorer"
#: Share of the progress bar for loading the images (dask's progress), before the layers.
LOADING_SHARE = 0.5
#: Narrowest map (pixels) before the NDVI-LST panel (SCATTER_WIDTH) wraps below it.
MIN_MAP_WIDTH = 600
SCATTER_WIDTH = 420


class Dashboard(pn.viewable.Viewer):
    """Composite Explorer's dashboard: ``Dashboard()`` in a notebook, or served by app/app.py.

    Parameters
    ----------
    pipeline
        The computations and their caches (default: a new :class:`~app.pipeline.Pipeline`).
    notifier
        Where messages go (default: Panel's notifications, and a history).
    view
        The map's first view (default: 1000 x 700 pixels at 10 m around the point); the plot
        reports its real size and ranges once it is on screen.
    """

    status = param.String(default="Starting…", doc="What the last refresh did.")
    busy = param.Boolean(default=False, doc="A refresh is running.")
    progress = param.Integer(default=0, bounds=(-1, 100), doc="-1: busy, no estimate.")

    def __init__(
        self,
        *,
        pipeline: Pipeline | None = None,
        notifier: Notifier | None = None,
        view: View | None = None,
        **params,
    ) -> None:
        super().__init__(**params)
        self.notifier = notifier or Notifier()
        self.pipeline = pipeline or Pipeline()
        self.jobs = LatestOnly()
        self.controls = Controls()
        self.scatter = ThermalScatter()
        settings = self._settings()
        self.map_view = MapView(
            settings.point, settings.area_m, layer_keys=[spec.key for spec in LAYERS], view=view
        )
        self._sync_depth = 0
        self._sync_pending: Job | None = None
        self._last_report: tuple[Settings, str] | None = None

        self.controls.param.watch(self._controls_changed, list(COMPUTE_PARAMETERS))
        self.controls.param.watch(self._basemap_changed, "basemap")
        self.map_view.param.watch(lambda _: self.refresh(), "view")
        self.map_view.param.watch(self._tapped, "tapped")
        self.scatter.param.watch(lambda _: self.refresh(), ["ndvi_range", "lst_range"])
        self.scatter.param.watch(lambda e: self.map_view.highlight(e.new), "selected_cells")
        self._connect_cluster()
        if _served():
            # Wait for the page: the map reports its real size, which starts the first refresh.
            pn.state.onload(self._first_refresh)
        else:
            self.refresh()

    # --- scheduling -------------------------------------------------------------------------

    def refresh(self) -> None:
        """Recompute what is visible for the current choices and view (a new generation)."""
        generation = self.jobs.next_generation()
        settings = self._settings()
        view = self.map_view.view

        async def job() -> None:
            await self._refresh(generation, settings, view)

        self._dispatch(job)

    def _dispatch(self, job: Job) -> None:
        if self._sync_depth:
            # A refresh running synchronously changed a parameter: run the newest job after it.
            self._sync_pending = job
            return
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            self._run_synchronously(job)
            return
        pn.state.execute(job)

    def _run_synchronously(self, job: Job) -> None:
        self._sync_depth += 1
        try:
            while job is not None:
                self._sync_pending = None
                asyncio.run(job())
                job = self._sync_pending
        finally:
            self._sync_depth -= 1

    async def _first_refresh(self) -> None:
        await asyncio.sleep(0.5)
        if self.jobs.generation == 0:
            self.refresh()

    # --- the refresh ------------------------------------------------------------------------

    async def _refresh(self, generation: int, settings: Settings, view: View) -> None:
        if not self.jobs.is_current(generation):
            return  # a newer change came before this job started: only the newest runs
        started = time.perf_counter()
        log.debug("refresh %d: started", generation)
        reported: set[str] = set()
        shown: list[str] = []
        self._set_busy(generation, True)
        self.status = "Computing…"
        self._report_dask_progress(generation)
        try:
            try:
                settings.check()
            except ValueError as error:
                self._report(error, settings, reported)
                return
            self.map_view.set_point(settings.point, settings.area_m)
            self.map_view.set_layers(settings.layers)
            for spec in LAYERS:
                if spec.key not in settings.layers:
                    self.map_view.hide(spec.key)
            plan = None
            try:
                plan = plan_view(view, settings.source)
            except ValueError as error:
                self._report(error, settings, reported)
                for key in settings.layers:
                    self.map_view.hide(key)
            if plan is not None:
                await self._collection_layers(generation, settings, plan, reported, shown)
            await self._thermal(generation, settings, plan, reported, shown)
            top_first = [k for k in reversed([s.key for s in LAYERS]) if k in shown]
            self.map_view.set_legends(top_first)
            elapsed = time.perf_counter() - started
            where = f"{SOURCE_LABELS[settings.source]}"
            if plan is not None:
                where += f", view {view.width} × {view.height} px at {plan.resolution:g} m"
            self.status = f"{where}: refreshed in {elapsed:.2f} s"
            log.info("refresh %d: %s in %.2f s", generation, ", ".join(shown) or "nothing", elapsed)
        except SupersededError:
            return
        finally:
            self._set_busy(generation, False)

    async def _collection_layers(
        self, generation: int, settings: Settings, plan: ViewPlan, reported: set, shown: list
    ) -> None:
        specs = []
        for spec in LAYERS:
            if spec.key not in settings.layers or spec.kind == "thermal":
                continue
            problem = unavailable(spec, settings)
            if problem is None:
                specs.append(spec)
            else:  # say so without downloading anything
                self._report(problem, settings, reported)
                self.map_view.hide(spec.key)
        if not specs:
            return
        scene = Scene.for_view(settings, plan)
        bands = set().union(*(required_bands(spec, settings) for spec in specs))
        try:
            collection = await self._step(
                generation, functools.partial(self.pipeline.collection, scene, bands)
            )
        except SupersededError:
            raise
        except Exception as error:
            self._report(error, settings, reported)
            # A failed read (e.g. a file that 404s halfway) must not take down the layers that
            # need only bands already in memory: those are still shown, the others hidden.
            has = self.pipeline.has_collection
            kept = [s for s in specs if has(scene, required_bands(s, settings))]
            for spec in specs:
                if spec not in kept:
                    self.map_view.hide(spec.key)
            for spec in kept:
                work = functools.partial(self._coloured, scene, spec.key, settings)
                await self._show_layer(generation, spec.key, work, settings, reported, shown)
            return
        self.controls.set_mask_dates([str(t) for t in collection["time"].values])
        for index, spec in enumerate(specs):
            # Loading filled the first half of the bar; each layer fills its share of the rest.
            self._set_progress(generation, LOADING_SHARE + (1 - LOADING_SHARE) * index / len(specs))
            work = functools.partial(self._coloured, scene, spec.key, settings)
            await self._show_layer(generation, spec.key, work, settings, reported, shown)

    async def _thermal(
        self, generation: int, settings: Settings, plan: ViewPlan | None, reported: set,
        shown: list,
    ) -> None:  # fmt: skip
        try:
            fit = await self._step(
                generation, functools.partial(self.pipeline.thermal_fit, settings)
            )
            inputs = await self._step(
                generation, functools.partial(self.pipeline.thermal_inputs, settings)
            )
            self.scatter.show(fit, inputs.time)
        except SupersededError:
            raise
        except Exception as error:
            message = describe(error, settings.source)[1]
            # The panel keeps saying it; a layer or band change must not toast it again.
            repeated = self.scatter.summary == self.scatter.error_summary(message)
            self.scatter.show_error(message)
            if not repeated:
                self._report(error, settings, reported)
        if plan is None:
            return
        for spec in [s for s in LAYERS if s.key in settings.layers and s.kind == "thermal"]:
            work = functools.partial(self._coloured_thermal, plan, spec.key, settings)
            await self._show_layer(generation, spec.key, work, settings, reported, shown)

    async def _show_layer(
        self, generation: int, key: str, work: Callable[[], LayerImage], settings: Settings,
        reported: set, shown: list,
    ) -> None:  # fmt: skip
        try:
            image = await self._step(generation, work)
        except SupersededError:
            raise
        except Exception as error:
            self._report(error, settings, reported)
            self.map_view.hide(key)
            return
        self.map_view.show(image)
        shown.append(key)

    async def _step(self, generation: int, work: Callable):
        """Run one piece of work in the worker thread (see :class:`~app.jobs.LatestOnly`)."""
        started = time.perf_counter()
        result = await self.jobs.run(generation, work)
        name = getattr(getattr(work, "func", work), "__name__", "work")
        log.debug("refresh %d: %s in %.3f s", generation, name, time.perf_counter() - started)
        return result

    def _coloured(self, scene: Scene, key: str, settings: Settings) -> LayerImage:
        return colour_layer(key, self.pipeline.layer_values(scene, key, settings), settings)

    def _coloured_thermal(self, plan: ViewPlan, key: str, settings: Settings) -> LayerImage:
        values = self.pipeline.thermal_layer_values(plan, key, settings)
        inputs = self.pipeline.thermal_inputs(settings)
        title = f"{LAYERS_BY_KEY[key].label}, {inputs.time:%Y-%m-%d}"
        return colour_thermal_layer(key, values, plan.grid, inputs.lst_limits, title)

    # --- reactions --------------------------------------------------------------------------

    def _controls_changed(self, *events: param.parameterized.Event) -> None:
        names = {event.name for event in events}
        if names == {"mask_date"} and "cloud_mask" not in self.controls.layers:
            return  # only the overlay shows the mask's date
        if names & {"source", "dates"}:
            # Other images: their dates are known once loaded (the next refresh offers them).
            self.controls.set_mask_dates([])
        if names & {"lon", "lat", "area_km"}:
            settings = self._settings()
            lon, lat = settings.point
            try:
                settings.check()
            except ValueError:
                pass  # the refresh reports it
            else:
                self.map_view.set_point(settings.point, settings.area_m)
                if not self.map_view.view.contains(lon, lat):
                    self.map_view.recentre(settings.point)
        self.refresh()

    def _tapped(self, event: param.parameterized.Event) -> None:
        if event.new is not None:
            lon, lat = event.new
            self.controls.param.update(lon=round(lon, 5), lat=round(lat, 5))

    def _basemap_changed(self, event: param.parameterized.Event) -> None:
        name = event.new
        if name not in TILE_HOSTS:
            self.map_view.set_basemap("None")
            return

        async def check() -> None:
            loop = asyncio.get_running_loop()
            online = await loop.run_in_executor(None, reachable, TILE_HOSTS[name])
            if online:
                self.map_view.set_basemap(name)
            else:
                self.notifier.warning(
                    f"{name} tiles cannot be loaded (no internet): the basemap stays off, "
                    "as missing tiles would stop the map from updating"
                )
                self.controls.basemap = "None"

        self._dispatch(check)

    def _connect_cluster(self) -> None:
        try:
            client = connect_from_environment()
        except (OSError, TimeoutError) as error:
            self.notifier.error(f"The Dask scheduler cannot be reached ({error}): computing here")
            return
        if client is not None:
            self.notifier.info(f"Computing on the Dask cluster at {client.scheduler.address}")

    # --- state shown to the user ------------------------------------------------------------

    def _settings(self) -> Settings:
        return self.controls.settings(
            ndvi_range=tuple(self.scatter.ndvi_range), lst_range=tuple(self.scatter.lst_range)
        )

    def _report(self, error: BaseException, settings: Settings, reported: set[str]) -> None:
        """Tell the user, once: several layers often fail for one reason, and a refresh that
        changes nothing relevant (a pan with the same bad settings) would repeat it."""
        level, text = describe(error, settings.source)
        self.status = text
        if text in reported or (settings, text) == self._last_report:
            return
        reported.add(text)
        self._last_report = (settings, text)
        self.notifier.notify(level, text)

    def _set_busy(self, generation: int, busy: bool) -> None:
        if not self.jobs.is_current(generation):
            return
        self.busy = busy
        self.progress = -1 if busy else 0
        # Not `pane.loading`: toggling it makes the browser re-render the map (~0.7 s measured).

    def _report_dask_progress(self, generation: int) -> None:
        """Let the pipeline's dask computations (in the worker thread) move the progress bar."""
        loop = asyncio.get_running_loop()

        def report(fraction: float) -> None:
            # A synchronous refresh's loop closes when it ends; late reports are dropped.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._set_progress, generation, LOADING_SHARE * fraction)

        self.pipeline.progress = report

    def _set_progress(self, generation: int, fraction: float) -> None:
        if self.jobs.is_current(generation):
            self.progress = max(1, min(100, round(100 * fraction)))

    # --- layout -----------------------------------------------------------------------------

    def sidebar(self) -> pn.viewable.Viewable:
        return self.controls

    def main(self) -> pn.viewable.Viewable:
        # The bar shows and hides inside a box of fixed height, so the map below never moves
        # (its size in pixels decides what is computed).
        progress = pn.Column(
            pn.indicators.Progress(
                value=self.param.progress, max=100, height=6, sizing_mode="stretch_width",
                margin=(2, 10),
            ),
            height=10, sizing_mode="stretch_width", margin=0,
        )  # fmt: skip
        status = pn.pane.Markdown(self.param.status, margin=(0, 10), styles={"font-size": "12px"})
        synthetic = pn.pane.Markdown(
            pn.bind(_source_note, self.controls.param.source),
            margin=(0, 10),
            styles={"font-size": "12px", "color": "#8a4b00"},
        )
        # The map takes what the NDVI-LST panel leaves, but not less than MIN_MAP_WIDTH: on a
        # narrower screen (or a notebook cell) the panel wraps below the map instead.
        return pn.FlexBox(
            pn.Column(
                synthetic, progress, self.map_view, status, sizing_mode="stretch_width",
                min_width=MIN_MAP_WIDTH, styles={"flex": f"1 1 {MIN_MAP_WIDTH}px"},
            ),
            pn.Column(self.scatter, width=SCATTER_WIDTH, margin=(0, 0, 0, 10)),
            flex_wrap="wrap", sizing_mode="stretch_width",
        )  # fmt: skip

    def __panel__(self) -> pn.viewable.Viewable:
        return pn.Row(
            pn.Column(self.sidebar(), width=320), self.main(), sizing_mode="stretch_both",
            min_height=900,
        )  # fmt: skip

    def template(self) -> pn.template.FastListTemplate:
        """The served page: controls in the sidebar, map and NDVI-LST panel in the main area."""
        return pn.template.FastListTemplate(
            title=TITLE,
            design=OfflineFast,
            font="system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
            sidebar=[self.sidebar()],
            main=[self.main()],
            sidebar_width=330,
            header_background="#1f4e79",
            accent_base_color="#1f4e79",
            theme_toggle=False,
            meta_description=DEMO_TITLE,
        )


def _source_note(source: str) -> str:
    return f"**{DEMO_TITLE}**" if source == "demo" else f"Source: {SOURCE_LABELS[source]}"


def _served() -> bool:
    """True inside a ``panel serve`` session (a Bokeh server document)."""
    doc = pn.state.curdoc
    return bool(doc is not None and doc.session_context is not None)
