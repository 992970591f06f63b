"""The dashboard: controls, map and NDVI-LST panel wired to the refresh.

The controls' choices, the map's view and the panel's fit ranges request a refresh
(:mod:`app.refresh`), which computes what is visible and shows it on the map and in the panel;
the images it loaded come back to the controls as the timeline's choices. Clicks on the map move
the point, which the pixel inspector (:mod:`app.inspector`) explains; pairs chosen in the panel
are outlined on the map.
"""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import weakref
from collections.abc import Callable, Sequence

import panel as pn
import param

from compositing.sources.demo import TITLE as DEMO_TITLE

from .cluster import connect_from_environment
from .computations import Computations, shared_computations
from .controls import Controls
from .inspector import PixelInspector
from .layers import LAYERS, Layer
from .limits import LOCAL, Limits
from .map_view import MapView
from .network import TILE_HOSTS, reachable
from .notify import Notifier
from .options import SOURCE_LABELS
from .refresh import Refresh
from .scatter import ThermalScatter
from .settings import Settings
from .theme import Fast as OfflineFast
from .view import View

TITLE = "Composite Explorer"
#: Narrowest map (pixels) before the NDVI-LST panel (SCATTER_WIDTH) wraps below it.
MIN_MAP_WIDTH = 600
SCATTER_WIDTH = 420
#: Every dashboard still in memory (weakly: a closed session's dashboard must leave it).
_LIVE: weakref.WeakSet[Dashboard] = weakref.WeakSet()


def dashboards_alive() -> int:
    """How many dashboards are still in memory, after a garbage collection (a served process
    should hold one per open session, and none for a closed one)."""
    gc.collect()
    return len(_LIVE)


def closed_dashboards_alive() -> list[Dashboard]:
    """The closed dashboards still in memory (asked after :func:`dashboards_alive`, which
    collects the garbage first)."""
    return [board for board in list(_LIVE) if board.closed]


#: The one count of dashboards alive waiting to run in this process (see count_when_quiet).
_PENDING_COUNT: list[asyncio.TimerHandle] = []


def count_when_quiet(delay_s: float, count: Callable[[], None]) -> None:
    """Run ``count`` once, ``delay_s`` after the last of a burst of calls. A count collects
    garbage (tenths of a second of the server's event loop with a class in memory, for every
    closed session while ten pages were loading in a profile): a class closing its tabs
    together needs one count, not thirty."""
    for pending in _PENDING_COUNT:
        pending.cancel()
    _PENDING_COUNT[:] = [asyncio.get_running_loop().call_later(delay_s, count)]


class Dashboard(pn.viewable.Viewer):
    """Composite Explorer's dashboard: ``Dashboard()`` in a notebook, or served by app/app.py.

    Parameters
    ----------
    computations
        The computations and their caches (default: the process's one,
        :func:`~app.computations.shared_computations` for ``limits``, shared by every
        dashboard of the process).
    notifier
        Where messages go (default: Panel's notifications, and a history).
    view
        The map's first view (default: 1000 x 700 pixels at 10 m around the point); the plot
        reports its real size and ranges once it is on screen.
    layer_list
        Every layer offered, bottom to top (default: the standard :data:`~app.layers.LAYERS`).
    limits
        The server's caps (default :data:`~app.limits.LOCAL`: none but the memory budget;
        ``panel serve app/app.py --args --hosted`` gives :data:`~app.limits.HOSTED`).

    In ``panel serve``, :meth:`close` when the session ends (app/app.py does it).
    """

    def __init__(
        self,
        *,
        computations: Computations | None = None,
        notifier: Notifier | None = None,
        view: View | None = None,
        layer_list: Sequence[Layer] = LAYERS,
        limits: Limits = LOCAL,
        **params,
    ) -> None:
        super().__init__(**params)
        self.layer_list = tuple(layer_list)
        self.limits = limits
        self.notifier = notifier or Notifier()
        self.computations = computations or shared_computations(limits)
        self.controls = Controls(layer_list=self.layer_list, limits=limits)
        self.scatter = ThermalScatter()
        self.inspector = PixelInspector(width=SCATTER_WIDTH)
        settings = self._settings()
        self.map_view = MapView(
            settings.point,
            settings.area_m,
            layer_keys=[layer.key for layer in self.layer_list],
            layers=settings.layers,
            view=view,
        )
        self.refresh = Refresh(
            computations=self.computations,
            map_view=self.map_view,
            scatter=self.scatter,
            inspector=self.inspector,
            notifier=self.notifier,
            layer_list=self.layer_list,
            snapshot=lambda: (self._settings(), self.map_view.view),
            limits=limits,
        )

        self.controls.on_choice(self._controls_changed)
        self.controls.param.watch(self._basemap_changed, "basemap")
        # A choice the controls refused (a cap of hosted mode): they snapped back; say why.
        self.controls.param.watch(lambda e: self.notifier.warning(e.new), "rejected")
        self.map_view.param.watch(lambda _: self.refresh.request(), "view")
        self.map_view.param.watch(self._tapped, "tapped")
        self.scatter.param.watch(lambda _: self.refresh.request(), ["ndvi_range", "lst_range"])
        self.scatter.param.watch(lambda e: self.map_view.highlight(e.new), "selected_cells")
        # Every publication, even of the dates published last: the controls may have dropped
        # them since (another source or dates, whose images did not load).
        self.refresh.param.watch(
            lambda e: self.controls.offer_images(e.new), "images", onlychanged=False
        )
        self._connect_cluster()
        #: Set by close(): a closed dashboard still in memory is one its session left behind.
        self.closed = False
        _LIVE.add(self)
        self.refresh.start()

    @property
    def status(self) -> str:
        """What the last refresh did (or what went wrong)."""
        return self.refresh.status

    @property
    def busy(self) -> bool:
        """Whether a refresh is running."""
        return self.refresh.busy

    def close(self) -> None:
        """The session has ended: stop its refreshes and let go of what it alone held (its
        jobs, its notification area, its plots). The shared computations stay, for the
        other sessions."""
        self.closed = True
        self.refresh.close()
        self.notifier.close()

    # --- reactions --------------------------------------------------------------------------

    def _controls_changed(self, events: list[param.parameterized.Event]) -> None:
        names = {event.name for event in events}
        if names == {"image_date"} and not self._visible_layers_read_image_date(events):
            # No layer shows the timeline's image: it is only marked on the inspector's chart
            # (nothing computed). Otherwise the refresh marks it, after the new image is sent.
            self.inspector.highlight(events[-1].new)
            return
        if names & {"source", "dates"}:
            # Other images: their dates are known once loaded (the refresh offers them).
            self.controls.offer_images([])
        if names & {"lon", "lat", "area_km"}:
            settings = self._settings()
            lon, lat = settings.point
            try:
                settings.check(self.limits)
            except ValueError:
                pass  # the refresh reports it
            else:
                self.map_view.set_point(settings.point, settings.area_m)
                if not self.map_view.view.contains(lon, lat):
                    self.map_view.recentre(settings.point)
        self.refresh.request()

    def _visible_layers_read_image_date(self, events: list[param.parameterized.Event]) -> bool:
        """Whether a visible layer's values depend on the timeline's image that changed (its
        cache key differs)."""
        now = self._settings()
        before = dataclasses.replace(now, image_date=events[-1].old)
        return any(
            layer.dependencies(before) != layer.dependencies(now)
            for layer in self.layer_list
            if layer.key in now.layers
        )

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

        self.refresh.run(check)

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

    # --- layout -----------------------------------------------------------------------------

    def sidebar(self) -> pn.viewable.Viewable:
        return self.controls

    def main(self) -> pn.viewable.Viewable:
        # The bar shows and hides inside a box of fixed height, so the map below never moves
        # (its size in pixels decides what is computed).
        progress = pn.Column(
            pn.indicators.Progress(
                value=self.refresh.param.progress, max=100, height=6, sizing_mode="stretch_width",
                margin=(2, 10),
            ),
            height=10, sizing_mode="stretch_width", margin=0,
        )  # fmt: skip
        status = pn.pane.Markdown(
            self.refresh.param.status, margin=(0, 10), styles={"font-size": "12px"}
        )
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
            pn.Column(self.scatter, self.inspector, width=SCATTER_WIDTH, margin=(0, 0, 0, 10)),
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
