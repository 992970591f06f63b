"""The dashboard's computations, cached: collections, cloud masks, composites and thermal fits.

No Panel here: the computations take frozen settings and return arrays, so they are tested and
benchmarked without a browser. Every step calls the engine's public API only
(:func:`compositing.load`, :func:`compositing.composite`, :mod:`compositing.clouds`,
:func:`compositing.thermal.sharpen`). What each map layer makes of these building blocks is the
layer's own business (:mod:`app.layers`); :meth:`Computations.layer_values` caches the result.

What is cached, and why (each an LRU bounded in bytes, see :mod:`app.cache`; one instance
serves every session of the process, :func:`shared_computations`, within one budget,
``limits.cache_mb``, split by :data:`CACHE_SHARES`):

* the **collection** of a view, computed once and kept as ``uint16`` DN (:mod:`app.packed`,
  half of float32): band, stretch, layer and mask changes then reuse it. The demo scene renders
  every band of a pixel at once, so its collection is loaded with all bands (choosing fewer
  would not be cheaper) unless they would not fit; real catalogs load only the bands the
  visible layers need. A collection that would exceed half the budget (a long date range) is
  loaded at coarser pixels, or refused with a :class:`~app.limits.LimitError` saying what to
  narrow: memory stays bounded whatever the user picks;
* the s2cloudless and csmask **probabilities** (the networks are the slow part of the methods;
  their parameters only change what follows them), and each cloud **mask**;
* each **band's composite** (a method, a band, a mask), so that a new band triplet computes only
  the bands not seen before; computed in row strips, one per core, in parallel threads;
* each layer's **values** (before colouring), so that a stretch change only recolours, and each
  coloured **image**, so that a class changing the same stretch colours it once;
* the thermal analysis' **inputs** (the LST and the 10 m NDVI) and each **fit**.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import functools
import math
import os
import time
from collections.abc import Callable, Hashable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Protocol, TypeVar

import numpy as np
import pandas as pd
import xarray as xr

import compositing
from compositing import clouds, csmask, thermal
from compositing.indices import ndvi
from compositing.inspection import pixel_index

from .cache import LRUCache
from .errors import NoDataError
from .jobs import COMPUTE_SLOTS
from .limits import LOCAL, LimitError, Limits
from .options import SOURCE_LABELS, SOURCES_WITH_CLDPRB, SOURCES_WITH_LST
from .packed import pack_values, unpack
from .settings import CloudMask, Settings
from .view import WEB_MERCATOR, ViewPlan, native_resolution

#: Resolution (ground metres) at which the s2cloudless model runs: the engine's "60-160 m is
#: typical"; the model costs ~0.6 s per 256 x 256 pixels, so full resolution would take seconds.
S2CLOUDLESS_MODEL_RESOLUTION_M = 100.0
NDVI_BANDS = ("B04", "B08")
#: What csmask's mask reads besides the network's probabilities (the projection's dark pixels).
CSMASK_PROJECTION_BANDS = ("B08", "SCL")

ProgressReport = Callable[[float], None]
#: Row strips a composite of an in-memory collection is split into: one per core, each in a
#: thread of its own (the engine's kernels release the GIL). Plain threads, not dask: on arrays
#: already in memory, dask's graph (hashing the data to name it) costs more than it saves.
STRIPS = max(1, min(os.cpu_count() or 1, 8))
_STRIP_POOL = ThreadPoolExecutor(max_workers=STRIPS, thread_name_prefix="composite-strip")
#: The budget's shares (each cache is an LRU bounded in bytes): the view collections first.
CACHE_SHARES = {
    "collections": 0.55,
    "probabilities": 0.05,
    "masks": 0.08,
    "band_composites": 0.12,
    "values": 0.09,
    "images": 0.03,
    "thermal": 0.05,
    "fits": 0.03,
}
#: A collection over the budget is loaded at up to this many times coarser pixels, else refused.
MAX_THINNING = 4.0
#: Images computed (and packed) at a time when a collection is loaded.
IMAGES_PER_LOAD = 8
#: The progress report of the refresh running in this thread (see reporting_progress).
_PROGRESS: contextvars.ContextVar[ProgressReport | None] = contextvars.ContextVar(
    "progress", default=None
)
Value = TypeVar("Value")


def _packed_bytes(collection: xr.DataArray) -> int:
    """The bytes of a collection packed as uint16 (app.packed)."""
    return collection.size * 2


def _in_a_slot(compute: Callable[[], Value]) -> Callable[[], Value]:
    """``compute`` run holding one of the process's compute slots (app.jobs)."""

    @functools.wraps(compute)
    def run() -> Value:
        with COMPUTE_SLOTS.slot():
            return compute()

    return run


@dataclass(frozen=True)
class AreaRequest:
    """What to load: a source, dates, a lon/lat box and a resolution (EPSG:3857 metres);
    ``times`` keeps only these images (ISO strings), e.g. the thermal date."""

    source: str
    dates: tuple[str, str]
    bbox: tuple[float, float, float, float]
    resolution: float
    times: tuple[str, ...] | None = None

    @classmethod
    def for_view(cls, settings: Settings, plan: ViewPlan) -> AreaRequest:
        """The request of a view: the settings' source and dates on the plan's box."""
        return cls(settings.source, settings.date_strings, plan.bbox, plan.resolution)


@dataclass(frozen=True)
class ThermalInputs:
    """The pair the thermal fit is made on: one LST date and the 10 m NDVI of the same day."""

    lst: xr.DataArray  # (y, x) kelvin on the LST's own grid
    ndvi: xr.DataArray  # (y, x) on a 10 m EPSG:3857 grid covering the LST cells
    time: pd.Timestamp  # the LST's time
    lst_limits: tuple[float, float]  # min and max of the valid LST, for a shared colour range


def mask_bands(mask: CloudMask) -> set[str]:
    """The bands a cloud-mask method reads."""
    return set(clouds.MASK_BANDS[mask.method])


def cldprb_missing(what: str, source: str) -> NoDataError:
    """The error for something that needs MSK_CLDPRB on a source without it.

    Parameters
    ----------
    what
        What needs the band, e.g. ``"the Sum (MSK_CLDPRB) layer"``.
    source
        The engine's name of the source.
    """
    return NoDataError(
        f"{what} needs the MSK_CLDPRB band, which only the demo serves "
        f"({source} does not): choose another layer or cloud mask"
    )


def thermal_key(settings: Settings) -> tuple:
    """What the thermal inputs depend on."""
    return (
        settings.source,
        settings.point,
        settings.date_strings,
        settings.area_m,
        settings.cloud_mask.key,
    )


def image_list(collection: xr.DataArray) -> list[tuple[str, float | None]]:
    """The collection's images, oldest first: (time as an ISO string, the scene's cloud cover
    in percent or None where the source gives none): the timeline's choices."""
    times = [str(t) for t in collection["time"].values]
    if "cloud_cover" not in collection.coords:
        return [(t, None) for t in times]
    covers = collection["cloud_cover"].values.astype(float)
    return [(t, float(c) if np.isfinite(c) else None) for t, c in zip(times, covers, strict=True)]


class LayerValues(Protocol):
    """What :meth:`Computations.layer_values` asks of a layer (see :class:`app.layers.Layer`)."""

    def cache_key(self, settings: Settings, plan: ViewPlan) -> Hashable: ...

    def values(self, computations: Computations, plan: ViewPlan, settings: Settings): ...

    def image(self, computations: Computations, plan: ViewPlan, settings: Settings): ...


class Computations:
    """Computes layer values for a view and the thermal analysis, with caches.

    One instance serves every session of a process (:func:`shared_computations`): its caches
    share one byte budget (``limits.cache_mb``), a key being computed by one session is waited
    for by the others (:class:`app.cache.LRUCache`), and each cache miss takes one of the
    process's compute slots (:data:`app.jobs.COMPUTE_SLOTS`). A session's progress bar is fed
    through :meth:`reporting_progress`, never through this shared object's state.

    Parameters
    ----------
    limits
        The memory budget and, in hosted mode, the caps (:mod:`app.limits`).
    """

    def __init__(self, *, limits: Limits = LOCAL) -> None:
        self.limits = limits
        share = {name: int(limits.cache_bytes * part) for name, part in CACHE_SHARES.items()}
        self.collections: LRUCache[xr.DataArray] = LRUCache(share["collections"])
        self.probabilities: LRUCache[xr.DataArray | xr.Dataset] = LRUCache(share["probabilities"])
        self.masks: LRUCache[xr.DataArray] = LRUCache(share["masks"])
        self.band_composites: LRUCache[xr.DataArray] = LRUCache(share["band_composites"])
        self.values: LRUCache[object] = LRUCache(share["values"])
        self.images: LRUCache[object] = LRUCache(share["images"])
        self.thermal_inputs_cache: LRUCache[ThermalInputs] = LRUCache(share["thermal"])
        self.fits: LRUCache[thermal.SharpenResult] = LRUCache(share["fits"])

    @property
    def nbytes(self) -> int:
        """What the caches hold, in bytes (at most ``limits.cache_bytes``)."""
        caches = (self.collections, self.probabilities, self.masks, self.band_composites,
                  self.values, self.images, self.thermal_inputs_cache, self.fits)  # fmt: skip
        return sum(cache.nbytes for cache in caches)

    @staticmethod
    @contextlib.contextmanager
    def reporting_progress(report: ProgressReport | None) -> Iterator[None]:
        """Within the block (in the calling thread), dask's progress goes to ``report``."""
        token = _PROGRESS.set(report)
        try:
            yield
        finally:
            _PROGRESS.reset(token)

    # --- collections ------------------------------------------------------------------------

    def collection(
        self, request: AreaRequest, bands: set[str] | None, lazy: xr.DataArray | None = None
    ) -> xr.DataArray:
        """The request's L2A collection in memory (float32, NaN = masked): ``bands`` (None: all).

        The demo loads all its bands at once (rendering them costs the same as rendering a few).
        ``lazy`` is the already planned collection, to spare a second catalog search. A
        collection larger than ``limits.collection_bytes`` is loaded at coarser pixels, up to
        :data:`MAX_THINNING` times the view's (``attrs["thinned_by"]`` says how much).

        Raises
        ------
        LimitError
            Even at the coarsest pixels the collection would exceed the memory budget.
        """
        needed = None if bands is None else sorted(bands)
        packed = self._cached_collection(request, needed)
        if packed is None:
            wanted = None if request.source == "demo" or bands is None else frozenset(bands)
            packed = self.collections.get_or_compute(
                (request, wanted), lambda: self._load(request, wanted, bands, lazy)
            )
        return unpack(packed, needed)

    def pixel_collection(
        self, request: AreaRequest, bands: set[str], point: tuple[float, float]
    ) -> tuple[xr.DataArray, tuple[int, int]]:
        """The pixel of the request's collection under ``point`` (lon, lat): ``(time, band, 1,
        1)`` float32 and its (row, column) in the view's grid. Only that pixel is unpacked (the
        pixel inspector asks for one on every click).

        Raises
        ------
        ValueError
            The point is outside the view.
        """
        packed = self._cached_collection(request, sorted(bands))
        if packed is None:
            self.collection(request, bands)
            packed = self._cached_collection(request, sorted(bands))
        row, column = pixel_index(packed, point)
        return unpack(packed.isel(y=[row], x=[column]), sorted(bands)), (row, column)

    def has_collection(self, request: AreaRequest, bands: set[str]) -> bool:
        """Whether a collection of ``request`` with at least ``bands`` is already in memory (so
        a layer that needs only those can be shown without reading anything)."""
        return self._cached_collection(request, sorted(bands)) is not None

    def _cached_collection(self, request: AreaRequest, bands: list[str] | None):
        return self.collections.find(
            lambda key: (
                key[0] == request
                and (key[1] is None or (bands is not None and set(bands) <= key[1]))
            )
        )

    def _load(
        self, request: AreaRequest, wanted: frozenset | None, bands: set[str] | None,
        lazy: xr.DataArray | None,
    ) -> xr.DataArray:  # fmt: skip
        planned = lazy if lazy is not None else self._plan(request, wanted)
        if lazy is not None and wanted is not None:
            planned = planned.sel(band=sorted(wanted))
        budget = self.limits.collection_bytes
        if _packed_bytes(planned) > budget and wanted is None and bands is not None:
            # All of the demo's bands would not fit: keep only those asked for.
            wanted = frozenset(bands)
            planned = planned.sel(band=sorted(wanted))
        thinning = math.sqrt(_packed_bytes(planned) / budget)
        if thinning > 1:
            if lazy is not None or thinning > MAX_THINNING:
                raise self._too_large(request, planned, thinning)
            resolution = math.ceil(request.resolution * thinning * 1.01 * 100) / 100
            planned = self._plan(replace(request, resolution=resolution), wanted)
            planned.attrs["thinned_by"] = round(resolution / request.resolution, 2)
        with COMPUTE_SLOTS.slot():
            return self._compute_packed(planned)

    def _too_large(self, request: AreaRequest, planned: xr.DataArray, thinning: float):
        images = planned.sizes["time"]
        gigabytes = _packed_bytes(planned) / 2**30
        days = dt.date.fromisoformat(request.dates[1]) - dt.date.fromisoformat(request.dates[0])
        fitting_days = max(1, int(days.days * (MAX_THINNING / thinning) ** 2))
        return LimitError(
            f"the view's {images} images ({request.dates[0]} to {request.dates[1]}) would take "
            f"{gigabytes:.1f} GB in memory, more than {self.limits.cap_text('one view')} "
            f"({self.limits.collection_bytes / 2**20:.0f} MB)"
            + (f" even at {MAX_THINNING:g}x coarser pixels" if request.times is None else "")
            + f": narrow the Dates (to about {fitting_days} days here) or zoom in"
        )

    def _plan(self, request: AreaRequest, bands, product: str = "L2A") -> xr.DataArray:
        """The lazy collection of a request (nothing computed but, for catalogs, the search)."""
        lazy = compositing.load(
            request.source,
            bbox=request.bbox,
            dates=request.dates,
            resolution=request.resolution,
            crs=WEB_MERCATOR,
            product=product,
            bands=sorted(bands) if bands is not None else None,
        )
        if request.times is not None:
            lazy = lazy.sel(time=[np.datetime64(t) for t in request.times])
        if lazy.sizes["time"] == 0:
            raise NoDataError(
                f"no Sentinel-2 image from {request.dates[0]} to {request.dates[1]} (end "
                "excluded) here: widen the Dates"
            )
        return lazy

    def _compute(self, lazy: xr.DataArray) -> xr.DataArray:
        progress = _DaskProgress(_PROGRESS.get(), self.limits)
        return lazy.compute(callbacks=progress.callbacks())

    def _compute_packed(self, lazy: xr.DataArray) -> xr.DataArray:
        """A lazy collection computed a few images at a time into ``uint16`` (:mod:`app.packed`):
        the float32 of all images together is never in memory."""
        packed = np.empty(lazy.shape, dtype=np.uint16)
        report = _PROGRESS.get()
        started = time.monotonic()
        steps = range(0, lazy.sizes["time"], IMAGES_PER_LOAD)
        for index, start in enumerate(steps):
            step = slice(start, start + IMAGES_PER_LOAD)

            def part(fraction: float, index: int = index) -> None:
                if report is not None:
                    report((index + fraction) / len(steps))

            progress = _DaskProgress(part, self.limits, started)
            part_values = lazy.isel(time=step).compute(callbacks=progress.callbacks()).values
            pack_values(part_values, out=packed[step])
        return lazy.copy(data=packed)

    # --- cloud masks ------------------------------------------------------------------------

    def probability(self, request: AreaRequest, collection: xr.DataArray) -> xr.DataArray:
        """s2cloudless' cloud probability on the request's grid (from the matching L1C)."""

        def compute() -> xr.DataArray:
            l1c = self._plan(request, clouds.S2CLOUDLESS_BANDS, product="L1C")
            l1c = l1c.sel(time=collection["time"].values)
            _, south, _, north = request.bbox
            ground = request.resolution * math.cos(math.radians((south + north) / 2))
            model_resolution = request.resolution * max(
                1.0, S2CLOUDLESS_MODEL_RESOLUTION_M / ground
            )
            return self._compute(clouds.cloud_probability(l1c, resolution=model_resolution))

        return self.probabilities.get_or_compute(request, _in_a_slot(compute))

    def csmask_probability(self, request: AreaRequest) -> xr.Dataset:
        """ukis-csmask's cloud and shadow probabilities on the request's grid, run at about
        30 m on the ground (the network's own), or at the view's pixels if they are coarser."""

        def compute() -> xr.Dataset:
            collection = self.collection(request, mask_bands(CloudMask("csmask")))
            _, south, _, north = request.bbox
            # Projected metres per ground metre (web maps stretch by 1 / cos(latitude)).
            stretch = 1.0 / math.cos(math.radians((south + north) / 2))
            own = float(abs(collection["x"].values[1] - collection["x"].values[0]))
            working = max(own, csmask.DEFAULT_RESOLUTION * stretch)
            return csmask.csmask_probability(collection, resolution=working).compute()

        return self.probabilities.get_or_compute((request, "csmask"), _in_a_slot(compute))

    def drop_mask(self, request: AreaRequest, mask: CloudMask) -> xr.DataArray | None:
        """(time, y, x) True where the cloud mask drops a pixel; None for no mask."""
        layers = self.mask_layers(request, mask)
        return None if layers is None else layers["mask"]

    def mask_layers(self, request: AreaRequest, mask: CloudMask) -> xr.Dataset | None:
        """The cloud mask's ``mask`` (time, y, x: True where a pixel is dropped) and, for the
        methods that tell them apart, its ``clouds`` and ``shadows`` (what the pixel inspector
        says dropped an image); None for no mask."""
        if mask.method == "none":
            return None
        if mask.method == "cldprb" and request.source not in SOURCES_WITH_CLDPRB:
            raise cldprb_missing("the MSK_CLDPRB ≤ 10 cloud mask", request.source)

        def compute() -> xr.Dataset:
            if mask.method == "csmask":
                probability = self.csmask_probability(request)
                # Past the network the mask reads only B08 and SCL (the projection's dark
                # pixels): unpacking the six network bands again would cost more than the mask.
                geometry = self.collection(request, set(CSMASK_PROJECTION_BANDS))
                layers = csmask.csmask_layers(geometry, probability=probability, **mask.params())
                return layers[["clouds", "shadows", "mask"]].compute()
            collection = self.collection(request, mask_bands(mask))
            if mask.method == "cldprb":
                drop = clouds.mask_from_cldprb(collection, threshold=10)
            elif mask.method == "scl":
                drop = clouds.mask_from_scl(collection)
            else:
                probability = self.probability(request, collection)
                layers = clouds.s2cloudless_layers(
                    collection, probability=probability, **mask.params()
                )
                return layers[["clouds", "shadows", "mask"]].compute()
            return xr.Dataset({"mask": drop}).compute()

        return self.masks.get_or_compute((request, mask.key), _in_a_slot(compute))

    def masked(self, request: AreaRequest, bands: list[str], mask: CloudMask) -> xr.DataArray:
        """The collection's ``bands`` with the cloud mask's dropped pixels set to NaN."""
        wanted = set(bands) | mask_bands(mask)
        if not self.has_collection(request, wanted):
            self.collection(request, wanted)  # one load for these bands and the mask's
        # Only the bands asked for are unpacked (the mask's are read by drop_mask, once).
        selected = self.collection(request, set(bands)).sel(band=bands)
        drop = self.drop_mask(request, mask)
        return selected if drop is None else selected.where(~drop)

    def band_composite(
        self, request: AreaRequest, band: str, method: str, mask: CloudMask
    ) -> xr.DataArray:
        """One band's composite ``(band, y, x)`` of the masked collection (float32)."""

        def compute() -> xr.DataArray:
            masked = self.masked(request, [band], mask)

            def strip(rows: slice) -> xr.DataArray:
                return compositing.composite(masked.isel(y=rows), method).astype(np.float32)

            step = -(-masked.sizes["y"] // STRIPS)
            rows = [slice(start, start + step) for start in range(0, masked.sizes["y"], step)]
            return xr.concat(list(_STRIP_POOL.map(strip, rows)), dim="y")

        return self.band_composites.get_or_compute(
            (request, band, method, mask.key), _in_a_slot(compute)
        )

    # --- layers -----------------------------------------------------------------------------

    def layer_values(self, layer: LayerValues, plan: ViewPlan, settings: Settings):
        """A map layer's values for a view, before colouring (see :meth:`app.layers.Layer.values`),
        cached under the layer's :meth:`~app.layers.Layer.cache_key`."""
        key: Hashable = layer.cache_key(settings, plan)
        return self.values.get_or_compute(
            key, _in_a_slot(lambda: layer.values(self, plan, settings))
        )

    def layer_image(self, layer: LayerValues, plan: ViewPlan, settings: Settings):
        """A map layer's coloured image for a view (see :meth:`app.layers.Layer.image`), cached
        under its values' key and the settings: every session with the same settings (a class
        changing the same stretch) gets the same image, coloured once.

        The point and the timeline's image are left out of the settings part of the key: a
        click or a step along the timeline must not re-colour (and re-send) the composites.
        The layers whose values depend on them say so in their cache key."""
        colouring = replace(settings, point=Settings.point, image_date=None)
        key = (layer.cache_key(settings, plan), colouring)
        return self.images.get_or_compute(key, lambda: layer.image(self, plan, settings))

    # --- thermal ----------------------------------------------------------------------------

    def thermal_inputs(self, settings: Settings) -> ThermalInputs:
        """The LST around the point on its clearest date and the 10 m NDVI of that day."""
        return self.thermal_inputs_cache.get_or_compute(
            thermal_key(settings), _in_a_slot(lambda: self._thermal(settings))
        )

    def _thermal(self, settings: Settings) -> ThermalInputs:
        source, dates = settings.source, settings.date_strings
        if source not in SOURCES_WITH_LST:
            # Said before any search, as a warning: the source is fine, it just has no such LST.
            raise NoDataError(
                f"the NDVI–LST panel needs a 1 km Sentinel-3 LST, which "
                f"{SOURCE_LABELS.get(source, source)} does not serve: switch Source to Planetary "
                "Computer (or the demo) for thermal sharpening"
            )
        lst_all = self._compute(
            compositing.load_lst(source, point=settings.point, dates=dates, size_m=settings.area_m)
        )
        valid = np.isfinite(lst_all).sum(("y", "x")).values if lst_all.sizes["time"] else []
        if not len(valid) or max(valid) == 0:
            raise NoDataError(
                f"no land surface temperature around the point from {dates[0]} to {dates[1]}"
            )
        bbox = tuple(round(v, 6) for v in lst_all.rio.transform_bounds("EPSG:4326"))
        resolution = native_resolution(settings.point[1])
        bands = set(NDVI_BANDS) | mask_bands(settings.cloud_mask)
        wanted = None if source == "demo" else bands
        lazy = self._plan(AreaRequest(source, dates, bbox, resolution), wanted)
        lst_time, s2_times = _clearest_matching_day(lst_all, valid, lazy["time"].values)
        request = AreaRequest(
            source, dates, bbox, resolution, times=tuple(str(t) for t in s2_times)
        )
        self.collection(request, bands, lazy=lazy.sel(time=s2_times))
        red_nir = self.masked(request, list(NDVI_BANDS), settings.cloud_mask)
        if red_nir.sizes["time"] > 1:
            # Adjacent tiles of one day are separate images: mosaic them into one.
            image = compositing.composite(red_nir, "mosaic")
        else:
            image = red_nir.isel(time=0, drop=True)
        red, nir = image.sel(band="B04", drop=True), image.sel(band="B08", drop=True)
        ndvi_10m = ndvi(red, nir).astype(np.float32).rio.write_crs(WEB_MERCATOR)
        lst = lst_all.sel(time=lst_time, drop=True)
        finite = lst.values[np.isfinite(lst.values)]
        return ThermalInputs(
            lst=lst,
            ndvi=ndvi_10m,
            time=pd.Timestamp(lst_time),
            lst_limits=(float(finite.min()), float(finite.max())),
        )

    def thermal_fit(self, settings: Settings) -> thermal.SharpenResult:
        """The TsHARP fit with the settings' NDVI and LST ranges (refits are cheap)."""
        inputs = self.thermal_inputs(settings)
        key = (thermal_key(settings), settings.ndvi_range, settings.lst_range)
        return self.fits.get_or_compute(
            key,
            _in_a_slot(
                lambda: thermal.sharpen(
                    inputs.lst,
                    inputs.ndvi,
                    ndvi_range=settings.ndvi_range,
                    lst_range=settings.lst_range,
                )
            ),
        )


class _DaskProgress:
    """Reports the share of finished dask tasks (local schedulers only), and stops a computation
    that runs past ``limits.max_run_s`` (counted from ``started``) with a :class:`LimitError`.

    It is handed to one computation (``compute(callbacks=progress.callbacks())``), never
    registered in dask's global ``Callback.active``: dask swaps that set out and back around each
    computation, so two sessions' computations on two threads could leave one callback (and the
    closed dashboard it reports to) in it forever.

    Parameters
    ----------
    report
        Called with the fraction done, or None.
    limits
        The run-time cap, if any.
    started
        When the computation started (``time.monotonic()``; default: now).
    """

    def __init__(
        self, report: ProgressReport | None, limits: Limits, started: float | None = None
    ) -> None:
        self.report = report
        self.max_run_s = limits.max_run_s
        self.cap_text = limits.cap_text("one computation")
        self.started = time.monotonic() if started is None else started
        self.total = 0
        self.done = 0

    def callbacks(self) -> list[tuple]:
        """dask's local-scheduler callbacks, as ``(start, start_state, pretask, posttask,
        finish)`` tuples; none when there is nothing to report or cap. An explicit list (even an
        empty one) also keeps dask from touching its global callbacks."""
        if self.report is None and self.max_run_s is None:
            return []
        return [(None, self._start_state, None, self._posttask, None)]

    def _start_state(self, dsk, state) -> None:
        self.total = sum(len(state[k]) for k in ("ready", "waiting", "running", "finished"))
        self.done = 0

    def _posttask(self, key, result, dsk, state, worker_id) -> None:
        self.done += 1
        if self.report is not None and self.total:
            self.report(self.done / self.total)
        if self.max_run_s is not None and time.monotonic() - self.started > self.max_run_s:
            raise LimitError(
                f"the computation took longer than {self.cap_text} ({self.max_run_s:g} s) and "
                "was stopped: narrow the Dates, zoom in or choose a lighter cloud mask"
            )


@functools.cache
def shared_computations(limits: Limits = LOCAL) -> Computations:
    """The process's one :class:`Computations` for these limits: every session of a server uses
    it, so that thirty students asking for the same view compute it once."""
    return Computations(limits=limits)


def _clearest_matching_day(
    lst: xr.DataArray, valid_counts, s2_times: np.ndarray
) -> tuple[np.datetime64, np.ndarray]:
    """The LST time with the most valid cells among those with a Sentinel-2 image the same
    (UTC) day, and those Sentinel-2 times."""
    s2_days = pd.DatetimeIndex(s2_times).normalize()
    order = np.argsort(-np.asarray(valid_counts), kind="stable")
    for index in order:
        if valid_counts[index] == 0:
            break
        lst_time = lst["time"].values[index]
        same_day = s2_days == pd.Timestamp(lst_time).normalize()
        if same_day.any():
            return lst_time, s2_times[same_day]
    raise NoDataError(
        "no day with both a Sentinel-2 image and a clear land surface temperature: widen the Dates"
    )
