"""The refresh: computing what is visible, latest request first, wherever the dashboard lives.

Every change (a widget, the map's view, a click, a fit range) requests a *refresh*: a job that
computes the visible layers and the thermal fit, from the caches where it can, in a worker
thread, and shows each layer as soon as it is ready. A newer request supersedes a running
refresh (see :mod:`app.jobs`); errors become notifications and the refresh carries on.

Where a refresh runs depends on where the dashboard lives:

* ``panel serve``: on the server's event loop (the document is not locked while the worker
  computes, so the page keeps answering). Every change to the page (an image, the legend, the
  status, the progress bar, a notification) is made in a callback of *the session's own*
  document, with its lock held (:meth:`Refresh._on_page`): the coroutine resumes after each
  step with no lock, and a change made then raced the browser's own messages (under load: an
  image lost, a bar stuck at 50 %, Bokeh's "reference ... isn't known");
* a Jupyter cell: as a task on the kernel's event loop;
* a plain script or a test (no event loop): synchronously, so that setting a parameter returns
  once the new images exist. A job requested while a synchronous one runs (the refresh changed
  something that requests another) runs after it, the newest only: no recursion, no loop.

In hosted mode (``limits.changes_per_second``) a session starting refreshes faster than that has
its extra requests merged into one, run as soon as the interval allows: the last state always
shows, and the user is told once.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import math
import time
import weakref
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import panel as pn
import param
from panel.io.state import set_curdoc

from . import image_url
from .computations import AreaRequest, Computations, image_list
from .errors import describe
from .inspection import inspect_pixel, inspected_bands, layer_values_at
from .inspector import PixelInspector
from .jobs import LatestOnly, SupersededError
from .layers import Layer
from .limits import LOCAL, Limits
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
#: The inspector's words when no layer of the collection is on (nothing of it is loaded then).
NO_COLLECTION_LAYER = "no layer of the image collection is shown; turn one on to see its series"
#: The progress bar is moved at most this often (s): dask reports every task, and each move is
#: a message to the browser.
PROGRESS_INTERVAL_S = 0.1


class SessionClosedError(Exception):
    """The dashboard's session has ended: nothing more is shown."""


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
    inspector
        The pixel inspector: the point's series and the layers' values there.
    notifier
        Where errors and warnings go.
    layer_list
        Every layer the map can show, bottom to top.
    snapshot
        What to compute: the settings and the map's view, read when a refresh is requested.
    limits
        The server's caps (:mod:`app.limits`): checked before computing, and the rate at which
        refreshes may start.
    """

    status = param.String(default="Starting…", doc="What the last refresh did.")
    busy = param.Boolean(default=False, doc="A refresh is running.")
    progress = param.Integer(default=0, bounds=(-1, 100), doc="-1: busy, no estimate.")
    images = param.List(
        default=[],
        doc="The view's images once loaded, (time ISO, scene cloud cover % or None): the "
        "timeline's choices.",
    )

    def __init__(
        self,
        *,
        computations: Computations,
        map_view: MapView,
        scatter: ThermalScatter,
        inspector: PixelInspector,
        notifier: Notifier,
        layer_list: Sequence[Layer],
        snapshot: Callable[[], tuple[Settings, View]],
        limits: Limits = LOCAL,
        **params,
    ) -> None:
        super().__init__(**params)
        self.limits = limits
        self.computations = computations
        self.map_view = map_view
        self.scatter = scatter
        self.inspector = inspector
        self.notifier = notifier
        self.layer_list = tuple(layer_list)
        self.snapshot = snapshot
        self.jobs = LatestOnly()
        self._sync_depth = 0
        self._sync_pending: Job | None = None
        self._last_report: tuple[Settings, str] | None = None
        #: The session's document in ``panel serve`` (every change to the page is made in it).
        self._document = pn.state.curdoc if served() else None
        self._closed = False
        #: Changes handed to the page and not applied yet (see _on_page), failed at close.
        self._waiting_changes: set[asyncio.Future] = set()
        #: When the last refresh started (time.monotonic), and the merged request waiting for
        #: the rate limit's interval, if any.
        self._last_start = -math.inf
        self._merged: object | None = None
        self._told_rate = False

    # --- scheduling -------------------------------------------------------------------------

    def request(self) -> None:
        """Recompute what is visible for the current settings and view (a new generation).

        With a rate limit, a request too soon after the last start is merged into one that runs
        when the interval allows (and reads the settings then)."""
        if self._closed:
            return
        wait = self._rate_wait()
        if wait > 0:
            self._merge(wait)
            return
        self._last_start = time.monotonic()
        generation = self.jobs.next_generation()
        settings, view = self.snapshot()
        self.run(functools.partial(self._refresh, generation, settings, view))

    def _rate_wait(self) -> float:
        """Seconds until the rate limit lets a refresh start (0: now). Only with an event loop:
        a synchronous refresh (a script, a test) is never deferred."""
        rate = self.limits.changes_per_second
        if not rate or self._sync_depth:
            return 0.0
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return 0.0
        return max(0.0, self._last_start + 1 / rate - time.monotonic())

    def _merge(self, wait: float) -> None:
        if not self._told_rate:
            self._told_rate = True
            rate = self.limits.changes_per_second
            self.notifier.info(
                f"More than {rate:g} changes per second is over "
                f"{self.limits.cap_text('changes per second')}: quick changes are merged, and "
                "the last one is always shown"
            )
        if self._merged is not None:
            return  # one merged request is already waiting: it will read the newest settings
        if self._document is not None:
            self._merged = self._document.add_timeout_callback(
                self._merged_request, max(1, round(wait * 1000))
            )
        else:
            self._merged = asyncio.get_running_loop().call_later(wait, self._merged_request)

    def _merged_request(self) -> None:
        self._merged = None
        self.request()

    def start(self) -> None:
        """The first refresh: at once, or in ``panel serve`` once the page has loaded (the map
        then reports its real size, which requests the first refresh itself)."""
        if served():
            # Weakly: Panel keeps onload callbacks in a dictionary keyed weakly by the document,
            # which a callback holding this refresh (and so the page's models, and so the
            # document) would keep alive forever when the page never loads (a plain HTTP GET).
            reference = weakref.WeakMethod(self._first_refresh)

            async def first_refresh() -> None:
                method = reference()
                if method is not None:
                    await method()

            pn.state.onload(first_refresh)
        else:
            self.request()

    def run(self, job: Job) -> None:
        """Run a job (a coroutine function) where the dashboard lives (see the module)."""
        if self._closed:
            return
        if self._sync_depth:
            # A job running synchronously requested another: run the newest after it.
            self._sync_pending = job
            return
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            self._run_synchronously(job)
            return
        if self._document is not None:
            # The session's document, whichever session's callback asked: the job's changes to
            # the page then go to this page.
            with set_curdoc(self._document):
                pn.state.execute(job)
        else:
            pn.state.execute(job)

    def close(self) -> None:
        """The session has ended: stop (every job is stale), and drop what this session held."""
        self._closed = True
        self.jobs.shutdown()  # every generation is stale from now on
        if self._merged is not None and self._document is not None:
            with contextlib.suppress(ValueError):
                self._document.remove_timeout_callback(self._merged)
        elif self._merged is not None:
            self._merged.cancel()
        self._merged = None
        self._document = None
        self._last_report = None
        # A change queued on the page when the session ended never runs (Bokeh drops a
        # destroyed document's callbacks): its job would wait forever, and Panel keeps running
        # tasks, so the job, this refresh and the dashboard stayed in memory for good.
        for waiting in list(self._waiting_changes):
            if not waiting.done():
                waiting.set_exception(SessionClosedError())
        self._waiting_changes.clear()

    async def _on_page(self, change: Callable[[], None]) -> None:
        """Make a change to the page: in ``panel serve``, in a callback of the session's
        document (its lock held, the page's document current), awaited; elsewhere at once.

        Raises
        ------
        SessionClosedError
            The session ended (the change is dropped).
        """
        document = self._document
        if document is None:
            if self._closed:
                raise SessionClosedError()
            change()
            return
        done = asyncio.get_running_loop().create_future()

        def apply() -> None:
            if done.done():
                return
            try:
                if self._closed:
                    raise SessionClosedError()
                change()
            except BaseException as error:  # noqa: BLE001  (handed to the awaiting job)
                done.set_exception(error)
            else:
                done.set_result(None)

        try:
            document.add_next_tick_callback(apply)
        except Exception as error:  # a destroyed session's document takes no callbacks
            raise SessionClosedError() from error
        self._waiting_changes.add(done)
        try:
            await done
        finally:
            self._waiting_changes.discard(done)

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
        outcome = Outcome()
        try:
            await self._on_page(lambda: self._begin(generation))
            try:
                settings.check(self.limits)
            except ValueError as error:
                await self._report(error, settings, outcome)
                return
            plan = None
            try:
                plan = plan_view(view, settings.source, self.limits)
            except ValueError as error:
                await self._report(error, settings, outcome)
                text = str(error)
                await self._on_page(lambda: self.inspector.show_problem(text, settings.point))
            await self._on_page(lambda: self._prepare_map(settings, plan))
            if plan is not None:
                await self._collection_layers(generation, settings, plan, outcome)
            await self._thermal(generation, settings, plan, outcome)
            if plan is not None:
                await self._inspect_layers(generation, settings, plan, outcome)
            elapsed = time.perf_counter() - started
            status = self._status(settings, view, plan, outcome, elapsed)
            await self._on_page(lambda: self._finish(generation, settings, outcome, status))
            log.info(
                "refresh %d: %s in %.2f s%s", generation, ", ".join(outcome.shown) or "nothing",
                elapsed, f" ({len(outcome.problems)} problem(s))" if outcome.problems else "",
            )  # fmt: skip
        except (SupersededError, SessionClosedError):
            return
        finally:
            if self.jobs.is_current(generation) and not self._closed:
                with contextlib.suppress(SessionClosedError):
                    await self._on_page(lambda: self._set_busy(generation, False))

    def _begin(self, generation: int) -> None:
        self._set_busy(generation, True)
        self.status = "Computing…"

    def _prepare_map(self, settings: Settings, plan: ViewPlan | None) -> None:
        self.map_view.set_point(settings.point, settings.area_m)
        self.map_view.set_layers(settings.layers)
        for layer in self.layer_list:
            if layer.key not in settings.layers or plan is None:
                self.map_view.hide(layer.key)

    def _finish(self, generation: int, settings: Settings, outcome: Outcome, status: str) -> None:
        if not self.jobs.is_current(generation):
            return
        top_first = list(reversed(self.layer_list))
        # The layers ticked but not shown say why, so that a blank map is never unexplained.
        why = outcome.layer_problems
        problems = [
            (layer.label, why[layer.key])
            for layer in top_first
            if layer.key in settings.layers and layer.key in why
        ]
        shown = [layer.key for layer in top_first if layer.key in outcome.shown]
        self.map_view.set_legends(shown, problems)
        self.status = status

    def _status(
        self, settings: Settings, view: View, plan: ViewPlan | None, outcome: Outcome,
        elapsed: float,
    ) -> str:  # fmt: skip
        where = f"{SOURCE_LABELS[settings.source]}"
        if plan is not None:
            where += f", view {view.width} × {view.height} px at {plan.resolution:g} m"
        status = f"{where}: refreshed in {elapsed:.2f} s"
        if outcome.thinned is not None:
            factor, images = outcome.thinned
            status += (
                f", computed at {factor:g}x coarser pixels: {images} images exceed the memory "
                "budget; narrow the Dates for full detail"
            )
        if outcome.problems:
            count = len(outcome.problems)
            status += f", with {count} problem{'s' if count > 1 else ''}: " + "; ".join(
                outcome.problems
            )
        return status

    def _visible(self, settings: Settings, *, from_view_collection: bool) -> list[Layer]:
        return [
            layer
            for layer in self.layer_list
            if layer.key in settings.layers and layer.reads_view_collection == from_view_collection
        ]

    async def _collection_layers(
        self, generation: int, settings: Settings, plan: ViewPlan, outcome: Outcome
    ) -> None:
        layers = []
        for layer in self._visible(settings, from_view_collection=True):
            problem = layer.unavailable(settings)
            if problem is None:
                layers.append(layer)
            else:  # say so without downloading anything
                await self._report(problem, settings, outcome, layer)
        if not layers:
            # The series reads the view's collection, loaded for its layers: none, no load.
            await self._on_page(
                lambda: self.inspector.show_problem(NO_COLLECTION_LAYER, settings.point)
            )
            return
        request = AreaRequest.for_view(settings, plan)
        # The inspector's bands too: one load serves the map and the point's series.
        bands = set().union(inspected_bands(settings), *(layer.bands(settings) for layer in layers))
        try:
            collection = await self._step(
                generation,
                functools.partial(self.computations.collection, request, bands),
                loading=True,
            )
        except (SupersededError, SessionClosedError):
            raise
        except Exception as error:
            text = describe(error, settings.source)[1]
            await self._on_page(lambda: self.inspector.show_problem(text, settings.point))
            # A failed read (e.g. a file that 404s halfway) must not take down the layers that
            # need only bands already in memory: those are still shown, the others hidden.
            has = self.computations.has_collection
            kept = [layer for layer in layers if has(request, layer.bands(settings))]
            for layer in layers:
                if layer not in kept:
                    await self._report(error, settings, outcome, layer)
            for layer in kept:
                await self._show_layer(generation, layer, plan, settings, outcome)
            return
        thinned_by = collection.attrs.get("thinned_by", 1)
        if thinned_by > 1:
            outcome.thinned = (thinned_by, collection.sizes["time"])
        images = image_list(collection)

        def publish_images() -> None:
            # For the controls: the timeline's choices (published even when unchanged).
            self.images = images

        await self._on_page(publish_images)
        # A click (which moves the point) answers first; any other change (bands, mask...)
        # shows its layers first: the browser draws the chart after the new image.
        clicked = self.inspector.point != tuple(settings.point)
        if clicked:
            await self._inspect(generation, settings, request)
        for index, layer in enumerate(layers):
            # Loading filled the first half of the bar; each layer fills its share of the rest.
            share = LOADING_SHARE + (1 - LOADING_SHARE) * index / len(layers)
            await self._on_page(lambda share=share: self._set_progress(generation, share))
            await self._show_layer(generation, layer, plan, settings, outcome)
        if not clicked:
            await self._inspect(generation, settings, request)

    async def _thermal(
        self, generation: int, settings: Settings, plan: ViewPlan | None, outcome: Outcome
    ) -> None:
        try:
            fit = await self._step(
                generation, functools.partial(self.computations.thermal_fit, settings)
            )
            inputs = await self._step(
                generation, functools.partial(self.computations.thermal_inputs, settings)
            )
            await self._on_page(lambda: self.scatter.show(fit, inputs.time))
        except (SupersededError, SessionClosedError):
            raise
        except Exception as error:
            message = describe(error, settings.source)[1]
            # The panel keeps saying it; a layer or band change must not toast it again.
            repeated = self.scatter.summary == self.scatter.error_summary(message)
            await self._on_page(lambda: self.scatter.show_error(message))
            await self._report(error, settings, outcome, notify=not repeated)
        if plan is None:
            return
        for layer in self._visible(settings, from_view_collection=False):
            await self._show_layer(generation, layer, plan, settings, outcome)

    async def _inspect(self, generation: int, settings: Settings, request: AreaRequest) -> None:
        """The point's series in the view's collection, shown in the inspector; a problem
        (e.g. the point outside the view, or a mask that cannot be computed, which the layers
        report) is said in the inspector only. A refresh that changes none of what the series
        depends on (e.g. a timeline step, a stretch) only moves the chart's highlight."""
        key = (request, settings.point, settings.cloud_mask.key, settings.rgb_bands)
        if self.inspector.shown_key == key:
            await self._on_page(lambda: self.inspector.highlight(settings.image_date))
            return
        work = functools.partial(inspect_pixel, self.computations, request, settings)
        try:
            series = await self._step(generation, work)
        except (SupersededError, SessionClosedError):
            raise
        except Exception as error:
            text = describe(error, settings.source)[1]
            await self._on_page(lambda: self.inspector.show_problem(text, settings.point))
            return

        def show() -> None:
            self.jobs.check(generation)
            self.inspector.show(
                series, settings.rgb_bands, settings.point, settings.image_date, key=key
            )

        await self._on_page(show)

    async def _inspect_layers(
        self, generation: int, settings: Settings, plan: ViewPlan, outcome: Outcome
    ) -> None:
        """Every shown layer's value at the point (their values are cached), in the inspector."""
        shown = [layer for layer in reversed(self.layer_list) if layer.key in outcome.shown]
        work = functools.partial(layer_values_at, self.computations, shown, plan, settings)
        rows = await self._step(generation, work)
        await self._on_page(lambda: self.inspector.show_layer_values(rows))

    async def _show_layer(
        self, generation: int, layer: Layer, plan: ViewPlan, settings: Settings,
        outcome: Outcome,
    ) -> None:  # fmt: skip
        def work() -> LayerImage:
            # Shared by every session with these settings (coloured once for a class), and
            # encoded here, in the worker: the page update then finds the encoding cached.
            image = self.computations.layer_image(layer, plan, settings)
            image_url.encode(image.rgba)
            return image

        work.__qualname__ = f"{layer.key} image"
        try:
            image = await self._step(generation, work)
        except (SupersededError, SessionClosedError):
            raise
        except Exception as error:
            await self._report(error, settings, outcome, layer)
            return

        def show() -> None:
            self.jobs.check(generation)  # a newer refresh may have started meanwhile
            self.map_view.show(image)

        await self._on_page(show)
        outcome.shown.append(layer.key)

    async def _step(self, generation: int, work: Callable, *, loading: bool = False):
        """Run one piece of work in the worker thread (see :class:`~app.jobs.LatestOnly`);
        ``loading``: its dask progress fills the first part of the bar."""
        started = time.perf_counter()
        report = self._progress_report(generation) if loading else None
        reporting = self.computations.reporting_progress

        def reported():
            # In the worker thread: the shared computations report to this session only.
            with reporting(report):
                return work()

        result = await self.jobs.run(generation, reported)
        name = getattr(getattr(work, "func", work), "__qualname__", "work")
        log.debug("refresh %d: %s in %.3f s", generation, name, time.perf_counter() - started)
        return result

    # --- state shown to the user ------------------------------------------------------------

    async def _report(
        self, error: BaseException, settings: Settings, outcome: Outcome,
        layer: Layer | None = None, *, notify: bool = True,
    ) -> None:  # fmt: skip
        """Tell the user, once: several layers often fail for one reason, and a refresh that
        changes nothing relevant (a pan with the same bad settings) would repeat it. A layer's
        problem hides it from the map and is kept for the legend and the status; ``notify``
        False: the status only (the page says it elsewhere already)."""
        level, text = describe(error, settings.source)
        if layer is not None:
            outcome.layer_problems[layer.key] = text
        if text not in outcome.problems:
            outcome.problems.append(text)
        repeated = not notify or text in outcome.reported or (settings, text) == self._last_report
        outcome.reported.add(text)

        def tell() -> None:
            if layer is not None:
                self.map_view.hide(layer.key)
            self.status = text
            if not repeated:
                self._last_report = (settings, text)
                self.notifier.notify(level, text)

        await self._on_page(tell)

    def _set_busy(self, generation: int, busy: bool) -> None:
        if not self.jobs.is_current(generation):
            return
        self.busy = busy
        self.progress = -1 if busy else 0
        # Not `pane.loading`: toggling it makes the browser re-render the map (~0.7 s measured).

    def _progress_report(self, generation: int) -> Callable[[float], None]:
        """What the computations' dask work (in the worker thread) calls to move the bar: a
        change made in the session's document (served) or on the loop, at most every
        PROGRESS_INTERVAL_S."""
        document = self._document
        loop = asyncio.get_running_loop()
        last = [-math.inf]

        def report(fraction: float) -> None:
            now = time.monotonic()
            if now - last[0] < PROGRESS_INTERVAL_S and fraction < 1:
                return
            last[0] = now
            move = functools.partial(self._set_progress, generation, LOADING_SHARE * fraction)
            # A synchronous refresh's loop closes when it ends, and a session's document when
            # the session does: late reports are dropped.
            with contextlib.suppress(RuntimeError, ValueError):
                if document is not None:
                    document.add_next_tick_callback(move)  # Bokeh's thread-safe way in
                else:
                    loop.call_soon_threadsafe(move)

        return report

    def _set_progress(self, generation: int, fraction: float) -> None:
        if self.jobs.is_current(generation) and not self._closed:
            self.progress = max(1, min(100, round(100 * fraction)))


@dataclass
class Outcome:
    """What a refresh did: the layers shown, the problems met (a layer's, by its key), what the
    user was already told, and whether the collection was thinned (factor, images)."""

    shown: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    layer_problems: dict[str, str] = field(default_factory=dict)
    reported: set[str] = field(default_factory=set)
    thinned: tuple[float, int] | None = None


def served() -> bool:
    """True inside a ``panel serve`` session (a Bokeh server document)."""
    doc = pn.state.curdoc
    return bool(doc is not None and doc.session_context is not None)
