"""The sidebar: every choice the user makes, as parameters, and the widgets that show them.

The parameters are the source of truth (a notebook can set them directly); the widgets mirror
them. :meth:`Controls.settings` snapshots them for a computation, and :meth:`Controls.on_choice`
tells whoever computes that a choice changed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Iterator, Sequence

import panel as pn
import param

from compositing.sources.demo import PRESETS

from .layers import DEFAULT_LAYERS, LAYERS, Layer, minute_text
from .limits import LOCAL, Limits
from .options import (
    BAND_PRESETS,
    BASEMAPS,
    CLOUD_MASKS,
    CUSTOM_BANDS,
    CUSTOM_PLACE,
    DEFAULT_CLOUD_MASKS,
    DEFAULT_PLACE,
    PLACES,
    REFLECTANCE_BANDS,
    SOURCES,
    SOURCES_WITH_CLDPRB,
)
from .settings import CloudMask, Settings, Stretch
from .snap_back import (
    SnapBackCheckBoxGroup,
    SnapBackDateRangePicker,
    SnapBackFloatInput,
    SnapBackRangeSlider,
    SnapBackSelect,
)

STRETCH_MODES = {
    "Earth Engine example's range per layer": "example",
    "Manual (min, max, gamma)": "manual",
    "Automatic (percentiles)": "auto",
}
#: The parameters that the map's layers depend on (the rest are presentation).
COMPUTE_PARAMETERS = (
    "source", "lon", "lat", "dates", "area_km", "red", "green", "blue", "stretch_mode",
    "stretch_min", "stretch_max", "gamma", "percentiles", "cloud_mask", "cld_prb_thresh",
    "nir_drk_thresh", "cld_prj_dist", "buffer", "combined", "layers", "image_date",
)  # fmt: skip


def image_label(time: str, cloud_cover: float | None) -> str:
    """How the timeline lists an image: its date and time (to the minute) and, if the source
    gives it, the scene's cloud cover."""
    label = minute_text(time)
    return label if cloud_cover is None else f"{label} · {cloud_cover:.0f}% cloud"


def _parse_date(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


_START_POINT = PRESETS[DEFAULT_PLACE]["point"]
_START_DATES = tuple(_parse_date(d) for d in PRESETS[DEFAULT_PLACE]["dates"])


class Controls(pn.viewable.Viewer):
    """Source, Point, Dates, Bands, Stretch, Cloud mask and Layers.

    Parameters
    ----------
    layer_list
        The layers offered by the Layers checkboxes, bottom to top (default: the standard
        :data:`~app.layers.LAYERS`).
    params
        Initial values of the parameters.
    """

    source = param.Selector(objects=SOURCES, default="demo", doc="Where the images come from.")
    place = param.Selector(
        objects=[*PLACES, CUSTOM_PLACE],
        default=DEFAULT_PLACE,
        doc="The Earth Engine examples' places.",
    )
    lon = param.Number(default=_START_POINT[0], doc="Longitude of the point (degrees).")
    lat = param.Number(default=_START_POINT[1], doc="Latitude of the point (degrees).")
    dates = param.Tuple(
        default=_START_DATES, length=2, doc="Start and end (excluded, as Earth Engine's)."
    )
    area_km = param.Number(
        default=10.0, bounds=(1.0, 40.0), doc="Side of the thermal analysis area (km)."
    )
    band_preset = param.Selector(
        objects=[*BAND_PRESETS, CUSTOM_BANDS], default=next(iter(BAND_PRESETS))
    )
    red = param.Selector(objects=list(REFLECTANCE_BANDS), default="B11")
    green = param.Selector(objects=list(REFLECTANCE_BANDS), default="B08")
    blue = param.Selector(objects=list(REFLECTANCE_BANDS), default="B03")
    stretch_mode = param.Selector(objects=STRETCH_MODES, default="example")
    stretch_min = param.Number(default=0.0)
    stretch_max = param.Number(default=4000.0)
    gamma = param.Number(default=1.0, bounds=(0.1, 5.0))
    percentiles = param.Range(default=(2.0, 98.0), bounds=(0.0, 100.0))
    cloud_mask = param.Selector(objects=CLOUD_MASKS, default="cldprb")
    cld_prb_thresh = param.Number(default=50.0, bounds=(0.0, 100.0))
    nir_drk_thresh = param.Number(default=0.15, bounds=(0.0, 1.0))
    cld_prj_dist = param.Number(default=1.0, bounds=(0.0, 5.0))
    buffer = param.Number(default=50.0, bounds=(0.0, 500.0))
    combined = param.Boolean(
        default=False, doc="csmask: also Earth Engine's shadow projection of its clouds."
    )
    layers = param.ListSelector(
        objects={layer.label: layer.key for layer in LAYERS}, default=list(DEFAULT_LAYERS)
    )
    image_date = param.Selector(
        objects=[], allow_None=True, doc="The timeline's image: the single image and mask layers."
    )
    basemap = param.Selector(objects=list(BASEMAPS), default="None")
    rejected = param.String(
        default="", doc="Why the page's last choice was refused (a cap): for a notification."
    )

    def __init__(
        self, *, layer_list: Sequence[Layer] = LAYERS, limits: Limits = LOCAL, **params
    ) -> None:
        super().__init__(**params)
        self.layer_list = tuple(layer_list)
        #: The server's caps, shown under the widgets they concern (hosted mode).
        self.limits = limits
        offered = {layer.label: layer.key for layer in self.layer_list}
        if offered != self.param.layers.names:
            self.param.layers.objects = offered
            self.layers = [key for key in self.layers if key in offered.values()]
        self._syncing = False
        self._offering = False
        self._date_picker = SnapBackDateRangePicker(label="Dates", value=self.dates)
        self._date_picker.param.watch(self._picked_dates, "value")
        self.param.watch(self._show_dates, "dates")

    # --- linked choices ---------------------------------------------------------------------

    @param.depends("source", watch=True)
    def _source_chosen(self) -> None:
        # A new source gets its best mask, unless the user chose another one that it allows.
        chosen = self.cloud_mask
        defaults = set(DEFAULT_CLOUD_MASKS.values())
        if chosen in defaults or (chosen == "cldprb" and self.source not in SOURCES_WITH_CLDPRB):
            with self._sync():
                self.cloud_mask = DEFAULT_CLOUD_MASKS[self.source]

    @param.depends("place", watch=True)
    def _go_to_place(self) -> None:
        if self.place in PRESETS:
            preset = PRESETS[self.place]
            with self._sync():
                self.param.update(
                    lon=preset["point"][0],
                    lat=preset["point"][1],
                    dates=tuple(_parse_date(d) for d in preset["dates"]),
                )

    @param.depends("lon", "lat", watch=True)
    def _point_moved(self) -> None:
        if self._syncing:
            return
        matching = [p for p, v in PRESETS.items() if v["point"] == (self.lon, self.lat)]
        with self._sync():
            self.place = matching[0] if matching else CUSTOM_PLACE

    @param.depends("band_preset", watch=True)
    def _use_band_preset(self) -> None:
        if self.band_preset in BAND_PRESETS:
            red, green, blue = BAND_PRESETS[self.band_preset]
            with self._sync():
                self.param.update(red=red, green=green, blue=blue)

    @param.depends("red", "green", "blue", watch=True)
    def _bands_chosen(self) -> None:
        if self._syncing:
            return
        chosen = (self.red, self.green, self.blue)
        matching = [name for name, bands in BAND_PRESETS.items() if bands == chosen]
        with self._sync():
            self.band_preset = matching[0] if matching else CUSTOM_BANDS

    @param.depends("stretch_min", "stretch_max", "gamma", watch=True)
    def _stretch_edited(self) -> None:
        # Typing a min, max or gamma means "use these": leave the example's per-layer ranges.
        if self.stretch_mode == "example":
            self.stretch_mode = "manual"

    def _picked_dates(self, event: param.parameterized.Event) -> None:
        if event.new is None or tuple(event.new) == tuple(self.dates):
            return
        start, end = event.new
        cap = self.limits.max_range_days
        if cap is not None and start is not None and end is not None and (end - start).days > cap:
            # Refused at the widget: the picker snaps back to the range the map shows.
            self.rejected = (
                f"Dates: {(end - start).days} days is more than "
                f"{self.limits.cap_text('a date range')} ({cap} days): the map stays on "
                f"{self.dates[0]} to {self.dates[1]}; choose a shorter range"
            )
            self.param.trigger("rejected")  # the same refusal twice is told twice
            self._date_picker.value = tuple(self.dates)
            self._date_picker.show_server_values(["value"])
            return
        self.dates = tuple(event.new)

    def _show_dates(self, event: param.parameterized.Event) -> None:
        start, end = event.new
        # The picker cannot show an inverted range; the notification says what is wrong.
        if start is not None and end is not None and start <= end:
            self._date_picker.value = (start, end)

    @contextlib.contextmanager
    def _sync(self) -> Iterator[None]:
        """Changes made here are consequences of another choice, not the user's own."""
        self._syncing = True
        try:
            yield
        finally:
            self._syncing = False

    # --- snapshots --------------------------------------------------------------------------

    def settings(self, **extra) -> Settings:
        """A frozen snapshot of the choices; ``extra`` adds the thermal panel's ranges."""
        return Settings(
            source=self.source,
            point=(float(self.lon), float(self.lat)),
            dates=tuple(self.dates),
            rgb_bands=(self.red, self.green, self.blue),
            stretch=Stretch(
                mode=self.stretch_mode,
                minimum=float(self.stretch_min),
                maximum=float(self.stretch_max),
                gamma=float(self.gamma),
                percentiles=tuple(self.percentiles),
            ),
            cloud_mask=CloudMask(
                method=self.cloud_mask,
                cld_prb_thresh=float(self.cld_prb_thresh),
                nir_drk_thresh=float(self.nir_drk_thresh),
                cld_prj_dist=float(self.cld_prj_dist),
                buffer=float(self.buffer),
                combined=bool(self.combined),
            ),
            layers=tuple(self.layers),
            image_date=self.image_date,
            area_m=float(self.area_km) * 1000.0,
            **extra,
        )

    def offer_images(self, images: list[tuple[str, float | None]]) -> None:
        """Offer the loaded images as the timeline's choices, labelled with their date and
        scene cloud cover: ``images`` are (time ISO, cloud cover % or None). The chosen one
        stays if it is among them, else the last (the image the layers show then).

        This says what was loaded; it is not a new choice: :meth:`on_choice` does not report
        the ``image_date`` it sets, so offering images never requests another computation.
        """
        times = [time for time, _ in images]
        labels = {image_label(time, cover): time for time, cover in images}
        if labels == self.param.image_date.objects:
            return  # unchanged: spare the widget an update
        current = self.image_date if self.image_date in times else (times[-1] if times else None)
        self._offering = True
        try:
            self.param.image_date.objects = labels
            self.image_date = current
        finally:
            self._offering = False

    def on_choice(self, callback: Callable[[list[param.parameterized.Event]], None]) -> None:
        """Call ``callback(events)`` when choices that the computations read change
        (:data:`COMPUTE_PARAMETERS`), by the user or by code; not for the dates that
        :meth:`offer_images` offers."""

        def chosen(*events: param.parameterized.Event) -> None:
            if not self._offering:
                callback(list(events))

        self.param.watch(chosen, list(COMPUTE_PARAMETERS))

    # --- widgets ----------------------------------------------------------------------------

    def __panel__(self) -> pn.viewable.Viewable:
        p = self.param
        s2cloudless = pn.bind(lambda method: method == "s2cloudless", p.cloud_mask)
        network = pn.bind(lambda method: method == "csmask", p.cloud_mask)
        projects = pn.bind(
            lambda method, combined: method == "s2cloudless" or (method == "csmask" and combined),
            p.cloud_mask,
            p.combined,
        )
        buffers = pn.bind(lambda method: method in ("s2cloudless", "csmask"), p.cloud_mask)
        automatic = pn.bind(lambda mode: mode == "auto", p.stretch_mode)
        slider = pn.widgets.EditableFloatSlider.from_param
        # Widgets that show the server's value again when it rejects the page's (snap_back).
        select, number = SnapBackSelect.from_param, SnapBackFloatInput.from_param
        return pn.Column(
            select(p.source, name="Source"),
            select(p.place, name="Point"),
            pn.Row(
                number(p.lon, name="Longitude", step=0.001, width=135),
                number(p.lat, name="Latitude", step=0.001, width=135),
            ),
            pn.pane.Markdown(
                "Click the map to move the point.", styles={"font-size": "12px"}, margin=(0, 10)
            ),  # fmt: skip
            self._date_picker,
            select(p.band_preset, name="Bands"),
            pn.Row(
                select(p.red, name="R", width=85),
                select(p.green, name="G", width=85),
                select(p.blue, name="B", width=85),
            ),
            select(p.stretch_mode, name="Stretch"),
            pn.Row(
                number(p.stretch_min, name="Min", step=100, width=90),
                number(p.stretch_max, name="Max", step=100, width=90),
                number(p.gamma, name="Gamma", step=0.1, width=80),
            ),
            SnapBackRangeSlider.from_param(
                p.percentiles, name="Percentiles", step=0.5, throttled=True, visible=automatic
            ),
            select(p.cloud_mask, name="Cloud mask"),
            pn.widgets.Checkbox.from_param(
                p.combined, name="+ shadow projection (combined)", visible=network
            ),
            slider(
                p.cld_prb_thresh,
                name="cld_prb_thresh (%)",
                step=1,
                throttled=True,
                visible=s2cloudless,
            ),
            pn.Column(
                slider(p.nir_drk_thresh, name="nir_drk_thresh", step=0.01, throttled=True),
                slider(p.cld_prj_dist, name="cld_prj_dist (km)", step=0.1, throttled=True),
                visible=projects,
            ),
            slider(p.buffer, name="buffer (m)", step=10, throttled=True, visible=buffers),
            pn.pane.Markdown("**Layers**", margin=(10, 10, 0, 10)),
            SnapBackCheckBoxGroup.from_param(p.layers, name="Layers", inline=False),
            select(p.image_date, name="Image (timeline)"),
            number(p.area_km, name="Thermal area (km)", step=1),
            select(p.basemap, name="Basemap (needs the internet)"),
            *self._limits_note(),
            sizing_mode="stretch_width",
        )

    def _limits_note(self) -> list[pn.viewable.Viewable]:
        """In hosted mode, the caps in one line, so that nobody learns them only by hitting one."""
        limits = self.limits
        if not limits.hosted:
            return []
        text = (
            f"This server's limits: dates up to {limits.max_range_days} days, views and thermal "
            f"area up to {limits.max_area_km:g} km, {limits.max_layers} layers at once, "
            f"{limits.max_run_s:g} s per computation."
        )
        return [pn.pane.Markdown(text, styles={"font-size": "12px"}, margin=(10, 10, 0, 10))]
