"""The refresh: computing what is visible, latest request first, wherever the dashboard lives.

Every change (a widget, the map's view, a click, a fit range) requests a *refresh*: a job that
computes the visible layers and the thermal fit, from the caches where it can, in a worker
thread, and shows each layer as soon as it is ready. A newer request supersedes a running
refresh (see :mod:`app.jobs`); errors become notifications and the refresh carries on.

Where a refresh runs depends on where the dashboard lives:

* ``panel serve``: on the server's event loop (the document is not locked while the worker
  computes, so the page keeps answering);
* a Jupyter cell: as a task on the kernel's event loop;
* a plain script or a test (no event loop): synchronously, so that setting a parameter returns
  once the new images exist. A job requested while a synchronous one runs (the refresh changed
  something that requests another) runs after it, the newest only: no recursion, no loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Awaitable, Callable, Sequence

import panel as pn
import param

from .computations import AreaRequest, Computations, image_dates
from .errors import describe
from .jobs import LatestOnly, SupersededError
from .layers import Layer
from .map_view import MapView
from .notify import Notifier
from .options import SOURCE_LABELS
from .render import LayerImage
from .scatter import ThermalScatter
from .settings import Settings
from .view import View, ViewPlan, plan_view

log = logging.getLogger("app")
Job = Callable[[], Awaitable[None]]
#: Share of the progress bar for loading the images (dask's progress), before the layers.
LOADING_SHARE = 0.5
#: How long a served page is given to report its map's size (which requests the first refresh
#: itself) before the first refresh is requested anyway.
FIRST_REFRESH_DELAY_S = 0.5


class Refresh(param.Parameterized):
    """Computes and shows what is visible, for the latest request.

    Parameters
    ----------
    computations
        The computations and their caches.
    map_view
        The map the layers are shown on.
    scatter
        The NDVI-LST panel the thermal fit is shown in.
    notifier
        Where errors and warnings go.
    layer_list
        Every layer the map can show, bottom to top.
    snapshot
        What to compute: the settings and the map's view, read when a refresh is requested.
    """

    status = param.String(default="Starting…", doc="What the last refresh did.")
    busy = param.Boolean(default=False, doc="A refresh is running.")
    progress = param.Integer(default=0, bounds=(-1, 100), doc="-1: busy, no estimate.")
    image_dates = param.List(
        default=[], doc="Times (ISO) of the view's images, once loaded: the mask date's choices."
    )

    def __init__(
        self,
        *,
        computations: Computations,
        map_view: MapView,
        scatter: ThermalScatter,
        notifier: Notifier,
        layer_list: Sequence[Layer],
        snapshot: Callable[[], tuple[Settings, View]],
        **params,
    ) -> None:
        super().__init__(**params)
        self.computations = computations
        self.map_view = map_view
        self.scatter = scatter
        self.notifier = notifier
        self.layer_list = tuple(layer_list)
        self.snapshot = snapshot
        self.jobs = LatestOnly()
        self._sync_depth = 0
        self._sync_pending: Job | None = None
        self._last_report: tuple[Settings, str] | None = None

    # --- scheduling -------------------------------------------------------------------------

    def request(self) -> None:
        """Recompute what is visible for the current settings and view (a new generation)."""
        generation = self.jobs.next_generation()
        settings, view = self.snapshot()
        self.run(functools.partial(self._refresh, generation, settings, view))

    def start(self) -> None:
        """The first refresh: at once, or in ``panel serve`` once the page has loaded (the map
        then reports its real size, which requests the first refresh itself)."""
        if served():
            pn.state.onload(self._first_refresh)
        else:
            self.request()

    def run(self, job: Job) -> None:
        """Run a job (a coroutine function) where the dashboard lives (see the module)."""
        if self._sync_depth:
            # A job running synchronously requested another: run the newest after it.
            self._sync_pending = job
            return
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            self._run_synchronously(job)
            return
        pn.state.execute(job)

    def _run_synchronously(self, job: Job | None) -> None:
        self._sync_depth += 1
        try:
            while job is not None:
                self._sync_pending = None
                asyncio.run(job())
                job = self._sync_pending
        finally:
            self._sync_depth -= 1

    async def _first_refresh(self) -> None:
        await asyncio.sleep(FIRST_REFRESH_DELAY_S)
        if self.jobs.generation == 0:
            self.request()

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
            for layer in self.layer_list:
                if layer.key not in settings.layers:
                    self.map_view.hide(layer.key)
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
            top_first = [layer.key for layer in reversed(self.layer_list) if layer.key in shown]
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

    def _visible(self, settings: Settings, *, from_view_collection: bool) -> list[Layer]:
        return [
            layer
            for layer in self.layer_list
            if layer.key in settings.layers and layer.reads_view_collection == from_view_collection
        ]

    async def _collection_layers(
        self, generation: int, settings: Settings, plan: ViewPlan, reported: set, shown: list
    ) -> None:
        layers = []
        for layer in self._visible(settings, from_view_collection=True):
            problem = layer.unavailable(settings)
            if problem is None:
                layers.append(layer)
            else:  # say so without downloading anything
                self._report(problem, settings, reported)
                self.map_view.hide(layer.key)
        if not layers:
            return
        request = AreaRequest.for_view(settings, plan)
        bands = set().union(*(layer.bands(settings) for layer in layers))
        try:
            collection = await self._step(
                generation, functools.partial(self.computations.collection, request, bands)
            )
        except SupersededError:
            raise
        except Exception as error:
            self._report(error, settings, reported)
            # A failed read (e.g. a file that 404s halfway) must not take down the layers that
            # need only bands already in memory: those are still shown, the others hidden.
            has = self.computations.has_collection
            kept = [layer for layer in layers if has(request, layer.bands(settings))]
            for layer in layers:
                if layer not in kept:
                    self.map_view.hide(layer.key)
            for layer in kept:
                await self._show_layer(generation, layer, plan, settings, reported, shown)
            return
        # For the controls: the mask overlay's choices of date (published even when unchanged).
        self.image_dates = image_dates(collection)
        for index, layer in enumerate(layers):
            # Loading filled the first half of the bar; each layer fills its share of the rest.
            self._set_progress(
                generation, LOADING_SHARE + (1 - LOADING_SHARE) * index / len(layers)
            )
            await self._show_layer(generation, layer, plan, settings, reported, shown)

    async def _thermal(
        self, generation: int, settings: Settings, plan: ViewPlan | None, reported: set,
        shown: list,
    ) -> None:  # fmt: skip
        try:
            fit = await self._step(
                generation, functools.partial(self.computations.thermal_fit, settings)
            )
            inputs = await self._step(
                generation, functools.partial(self.computations.thermal_inputs, settings)
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
        for layer in self._visible(settings, from_view_collection=False):
            await self._show_layer(generation, layer, plan, settings, reported, shown)

    async def _show_layer(
        self, generation: int, layer: Layer, plan: ViewPlan, settings: Settings, reported: set,
        shown: list,
    ) -> None:  # fmt: skip
        work: Callable[[], LayerImage] = functools.partial(
            layer.image, self.computations, plan, settings
        )
        try:
            image = await self._step(generation, work)
        except SupersededError:
            raise
        except Exception as error:
            self._report(error, settings, reported)
            self.map_view.hide(layer.key)
            return
        self.map_view.show(image)
        shown.append(layer.key)

    async def _step(self, generation: int, work: Callable):
        """Run one piece of work in the worker thread (see :class:`~app.jobs.LatestOnly`)."""
        started = time.perf_counter()
        result = await self.jobs.run(generation, work)
        name = getattr(getattr(work, "func", work), "__qualname__", "work")
        log.debug("refresh %d: %s in %.3f s", generation, name, time.perf_counter() - started)
        return result

    # --- state shown to the user ------------------------------------------------------------

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
        """Let the computations' dask work (in the worker thread) move the progress bar."""
        loop = asyncio.get_running_loop()

        def report(fraction: float) -> None:
            # A synchronous refresh's loop closes when it ends; late reports are dropped.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._set_progress, generation, LOADING_SHARE * fraction)

        self.computations.progress = report

    def _set_progress(self, generation: int, fraction: float) -> None:
        if self.jobs.is_current(generation):
            self.progress = max(1, min(100, round(100 * fraction)))


def served() -> bool:
    """True inside a ``panel serve`` session (a Bokeh server document)."""
    doc = pn.state.curdoc
    return bool(doc is not None and doc.session_context is not None)
