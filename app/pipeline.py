"""The dashboard's computations, cached: collections, cloud masks, composites and thermal fits.

No Panel here: the pipeline takes frozen settings and returns arrays, so it is tested and
benchmarked without a browser. Every step calls the engine's public API only
(:func:`compositing.load`, :func:`compositing.composite`, :mod:`compositing.clouds`,
:func:`compositing.thermal.sharpen`).

What is cached, and why (each an LRU, see :mod:`app.cache`):

* the **collection** of a view, computed once (one dask compute) and kept as numpy: band,
  stretch, layer and mask changes then reuse it. The demo scene renders every band of a pixel
  at once, so its collection is loaded with all bands (choosing fewer would not be cheaper);
  real catalogs load only the bands the visible layers need.
* the s2cloudless **probability** (the model is the slow part of the method; its parameters
  only change what follows it), and each cloud **mask**;
* each **band's composite** (a method, a band, a mask), so that a new band triplet computes only
  the bands not seen before; computed in row strips, one per core, in parallel threads;
* each layer's **values** (before colouring), so that a stretch change only recolours;
* the thermal analysis' **inputs** (the LST and the 10 m NDVI) and each **fit**.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr
from dask.callbacks import Callback

import compositing
from compositing import clouds, thermal

from .cache import LRUCache
from .options import (
    LAYERS_BY_KEY,
    SOURCE_LABELS,
    SOURCES_WITH_CLDPRB,
    SOURCES_WITH_LST,
    LayerSpec,
)
from .render import regrid
from .settings import CloudMask, Settings
from .view import WEB_MERCATOR, ViewPlan, native_resolution

#: Resolution (ground metres) at which the s2cloudless model runs: the engine's "60-160 m is
#: typical"; the model costs ~0.6 s per 256 x 256 pixels, so full resolution would take seconds.
S2CLOUDLESS_MODEL_RESOLUTION_M = 100.0
NDVI_BANDS = ("B04", "B08")
#: Name of the band added for the quality mosaics (not a Sentinel-2 band name, so no clash).
CLOUD_SCORE_BAND = "cloud_score"

ProgressReport = Callable[[float], None]
#: Layers made from MSK_CLDPRB (the seeds' sum, product, count and quality mosaics).
CLDPRB_LAYERS = frozenset({"sum", "product", "count", "best_pixel", "worst_pixel"})
#: Row strips a composite of an in-memory collection is split into: one per core, each in a
#: thread of its own (the engine's kernels release the GIL). Plain threads, not dask: on arrays
#: already in memory, dask's graph (hashing the data to name it) costs more than it saves.
STRIPS = max(1, min(os.cpu_count() or 1, 8))
_STRIP_POOL = ThreadPoolExecutor(max_workers=STRIPS, thread_name_prefix="composite-strip")


class NoDataError(ValueError):
    """Nothing to show: no images on the dates, every pixel masked, a layer the source lacks."""


@dataclass(frozen=True)
class Scene:
    """What to load: a source, dates, a lon/lat box and a resolution (EPSG:3857 metres);
    ``times`` keeps only these images (ISO strings), e.g. the thermal date."""

    source: str
    dates: tuple[str, str]
    bbox: tuple[float, float, float, float]
    resolution: float
    times: tuple[str, ...] | None = None

    @classmethod
    def for_view(cls, settings: Settings, plan: ViewPlan) -> Scene:
        return cls(settings.source, settings.date_strings, plan.bbox, plan.resolution)


@dataclass(frozen=True)
class ThermalInputs:
    """The pair the thermal fit is made on: one LST date and the 10 m NDVI of the same day."""

    lst: xr.DataArray  # (y, x) kelvin on the LST's own grid
    ndvi: xr.DataArray  # (y, x) on a 10 m EPSG:3857 grid covering the LST cells
    time: pd.Timestamp  # the LST's time
    lst_limits: tuple[float, float]  # min and max of the valid LST, for a shared colour range


def required_bands(spec: LayerSpec, settings: Settings) -> set[str]:
    """The collection bands a layer needs (for real catalogs, which load only those)."""
    bands: set[str] = set()
    if spec.kind == "rgb":
        bands |= set(settings.rgb_bands)
    if spec.key in CLDPRB_LAYERS:
        bands.add("MSK_CLDPRB")
    if spec.key == "mode":
        bands.add("SCL")
    if spec.uses_cloud_mask and spec.kind in ("rgb", "mask"):
        bands |= mask_bands(settings.cloud_mask)
    return bands


def unavailable(spec: LayerSpec, settings: Settings) -> NoDataError | None:
    """Why a layer cannot be computed from the settings' source (before any download), if so."""
    if settings.source in SOURCES_WITH_CLDPRB or spec.kind == "thermal":
        return None
    if spec.key in CLDPRB_LAYERS:
        return NoDataError(_no_cldprb(f"the {spec.label} layer", settings.source))
    if spec.uses_cloud_mask and settings.cloud_mask.method == "cldprb":
        return NoDataError(_no_cldprb("the MSK_CLDPRB ≤ 10 cloud mask", settings.source))
    return None


def mask_bands(mask: CloudMask) -> set[str]:
    """The bands a cloud-mask method reads."""
    return {
        "none": set(),
        "cldprb": {"MSK_CLDPRB"},
        "scl": {"SCL"},
        "s2cloudless": {"B08", "SCL"},
    }[mask.method]


class Pipeline:
    """Computes layer values for a view and the thermal analysis, with caches.

    Parameters
    ----------
    progress
        Called with a fraction (0-1) while dask computes, for a progress bar (local schedulers
        only; a distributed cluster reports no progress here).
    collections
        How many view collections to keep (each is time x 14 bands x view pixels x 4 bytes:
        ~240 MB for 6 dates at 1000 x 700).
    """

    def __init__(self, *, progress: ProgressReport | None = None, collections: int = 2) -> None:
        self.progress = progress
        self.collections: LRUCache[xr.DataArray] = LRUCache(collections)
        self.probabilities: LRUCache[xr.DataArray] = LRUCache(4)
        self.masks: LRUCache[xr.DataArray] = LRUCache(8)
        self.band_composites: LRUCache[xr.DataArray] = LRUCache(36)
        self.values: LRUCache[xr.DataArray] = LRUCache(24)
        self.thermal_inputs_cache: LRUCache[ThermalInputs] = LRUCache(4)
        self.fits: LRUCache[thermal.SharpenResult] = LRUCache(16)

    # --- collections ------------------------------------------------------------------------

    def collection(
        self, scene: Scene, bands: set[str] | None, lazy: xr.DataArray | None = None
    ) -> xr.DataArray:
        """The scene's L2A collection in memory, with at least ``bands`` (None: all).

        The demo always loads all its bands (rendering them costs the same as rendering a few).
        ``lazy`` is the already planned collection, to spare a second catalog search.
        """
        wanted = None if scene.source == "demo" or bands is None else frozenset(bands)
        cached = self.collections.find(
            lambda key: key[0] == scene and (key[1] is None or (wanted and wanted <= key[1]))
        )
        if cached is not None:
            return cached

        def load() -> xr.DataArray:
            planned = lazy if lazy is not None else self._plan(scene, wanted)
            if lazy is not None and wanted is not None:
                planned = planned.sel(band=sorted(wanted))
            return self._compute(planned)

        return self.collections.get_or_compute((scene, wanted), load)

    def has_collection(self, scene: Scene, bands: set[str]) -> bool:
        """Whether a collection of ``scene`` with at least ``bands`` is already in memory (so a
        layer that needs only those can be shown without reading anything)."""
        wanted = None if scene.source == "demo" else frozenset(bands)
        return (
            self.collections.find(
                lambda key: key[0] == scene and (key[1] is None or (wanted and wanted <= key[1]))
            )
            is not None
        )

    def _plan(self, scene: Scene, bands, product: str = "L2A") -> xr.DataArray:
        """The lazy collection of a scene (nothing computed but, for catalogs, the search)."""
        lazy = compositing.load(
            scene.source,
            bbox=scene.bbox,
            dates=scene.dates,
            resolution=scene.resolution,
            crs=WEB_MERCATOR,
            product=product,
            bands=sorted(bands) if bands is not None else None,
        )
        if scene.times is not None:
            lazy = lazy.sel(time=[np.datetime64(t) for t in scene.times])
        if lazy.sizes["time"] == 0:
            raise NoDataError(
                f"no Sentinel-2 image from {scene.dates[0]} to {scene.dates[1]} (end excluded) "
                "here: widen the Dates"
            )
        return lazy

    def _compute(self, lazy: xr.DataArray) -> xr.DataArray:
        with _DaskProgress(self.progress):
            return lazy.compute()

    # --- cloud masks ------------------------------------------------------------------------

    def probability(self, scene: Scene, collection: xr.DataArray) -> xr.DataArray:
        """s2cloudless' cloud probability on the scene's grid (from the matching L1C)."""

        def compute() -> xr.DataArray:
            l1c = self._plan(scene, clouds.S2CLOUDLESS_BANDS, product="L1C")
            l1c = l1c.sel(time=collection["time"].values)
            _, south, _, north = scene.bbox
            ground = scene.resolution * math.cos(math.radians((south + north) / 2))
            model_resolution = scene.resolution * max(1.0, S2CLOUDLESS_MODEL_RESOLUTION_M / ground)
            return self._compute(clouds.cloud_probability(l1c, resolution=model_resolution))

        return self.probabilities.get_or_compute(scene, compute)

    def drop_mask(self, scene: Scene, mask: CloudMask) -> xr.DataArray | None:
        """(time, y, x) True where the cloud mask drops a pixel; None for no mask."""
        if mask.method == "none":
            return None
        if mask.method == "cldprb" and scene.source not in SOURCES_WITH_CLDPRB:
            raise NoDataError(_no_cldprb("the MSK_CLDPRB ≤ 10 cloud mask", scene.source))

        def compute() -> xr.DataArray:
            collection = self.collection(scene, mask_bands(mask))
            if mask.method == "cldprb":
                drop = clouds.mask_from_cldprb(collection, threshold=10)
            elif mask.method == "scl":
                drop = clouds.mask_from_scl(collection)
            else:
                probability = self.probability(scene, collection)
                drop = clouds.mask_s2cloudless(collection, probability=probability, **mask.params())
            return drop.compute()

        return self.masks.get_or_compute((scene, mask.key), compute)

    def masked(self, scene: Scene, bands: list[str], mask: CloudMask) -> xr.DataArray:
        """The collection's ``bands`` with the cloud mask's dropped pixels set to NaN."""
        collection = self.collection(scene, set(bands) | mask_bands(mask))
        selected = collection.sel(band=bands)
        drop = self.drop_mask(scene, mask)
        return selected if drop is None else selected.where(~drop)

    def band_composite(self, scene: Scene, band: str, method: str, mask: CloudMask) -> xr.DataArray:
        """One band's composite ``(band, y, x)`` of the masked collection (float32)."""

        def compute() -> xr.DataArray:
            masked = self.masked(scene, [band], mask)

            def strip(rows: slice) -> xr.DataArray:
                return compositing.composite(masked.isel(y=rows), method).astype(np.float32)

            step = -(-masked.sizes["y"] // STRIPS)
            rows = [slice(start, start + step) for start in range(0, masked.sizes["y"], step)]
            return xr.concat(list(_STRIP_POOL.map(strip, rows)), dim="y")

        return self.band_composites.get_or_compute((scene, band, method, mask.key), compute)

    # --- layers -----------------------------------------------------------------------------

    def layer_values(self, scene: Scene, key: str, settings: Settings) -> xr.DataArray:
        """A map layer's values on the scene's grid, before colouring: ``(band, y, x)`` for
        three-band layers, ``(y, x)`` otherwise (a boolean mask for the cloud overlay)."""
        spec = LAYERS_BY_KEY[key]
        if spec.kind == "thermal":
            raise ValueError(f"{key} is a thermal layer: use thermal_layer_values")
        cache_key = (scene, key, *self._dependencies(spec, settings))
        return self.values.get_or_compute(cache_key, lambda: self._layer(scene, spec, settings))

    @staticmethod
    def _dependencies(spec: LayerSpec, settings: Settings) -> tuple:
        """The settings a layer's values depend on (the rest must not invalidate its cache)."""
        dependencies: tuple = ()
        if spec.kind == "rgb":
            dependencies += (settings.rgb_bands,)
        if spec.uses_cloud_mask:
            dependencies += (settings.cloud_mask.key,)
        if spec.kind == "mask":
            dependencies += (settings.mask_date,)
        return dependencies

    def _layer(self, scene: Scene, spec: LayerSpec, settings: Settings) -> xr.DataArray:
        rgb = list(settings.rgb_bands)
        unique_rgb = list(dict.fromkeys(rgb))  # a band may be repeated (a grey-level RGB)
        problem = unavailable(spec, settings)
        if problem is not None:
            raise problem
        if spec.kind == "rgb" and spec.method != "quality_mosaic":
            per_band = [
                self.band_composite(scene, band, spec.method, settings.cloud_mask)
                for band in unique_rgb
            ]
            values = xr.concat(per_band, dim="band").sel(band=rgb)
        elif spec.method == "quality_mosaic":
            collection = self.collection(scene, set(unique_rgb) | {"MSK_CLDPRB"})
            cloud_probability = collection.sel(band="MSK_CLDPRB")
            # The best pixel has the lowest cloud probability: maximise its opposite.
            score = -cloud_probability if spec.key == "best_pixel" else cloud_probability
            stacked = xr.concat(
                [collection.sel(band=unique_rgb), score.expand_dims(band=[CLOUD_SCORE_BAND])],
                dim="band",
            )
            mosaic = compositing.composite(stacked, "quality_mosaic", quality_band=CLOUD_SCORE_BAND)
            values = mosaic.sel(band=rgb)
        elif spec.key == "count":
            # The seed counts the collection masked with MSK_CLDPRB <= 10, whatever mask is chosen.
            probability = self.collection(scene, {"MSK_CLDPRB"}).sel(band=["MSK_CLDPRB"])
            not_cloud = clouds.mask_clouds(probability, "cldprb")
            values = compositing.composite(not_cloud, "count").isel(band=0, drop=True)
        elif spec.kind in ("band", "classes"):
            band = "SCL" if spec.key == "mode" else "MSK_CLDPRB"
            collection = self.collection(scene, {band})
            values = compositing.composite(collection.sel(band=[band]), spec.method)
            values = values.isel(band=0, drop=True)
        elif spec.kind == "mask":
            drop = self.drop_mask(scene, settings.cloud_mask)
            if drop is None:
                raise NoDataError("Cloud mask is None: choose a cloud mask to see its overlay")
            # The time stays as a scalar coordinate: the legend names the date.
            return drop.sel(time=_mask_time(drop, settings.mask_date))
        else:
            raise ValueError(f"no computation for layer {spec.key!r}")
        values = values.astype(np.float32)
        if not np.isfinite(values.values).any():
            raise NoDataError(f"every pixel of {spec.label} is masked")
        return values

    # --- thermal ----------------------------------------------------------------------------

    def thermal_inputs(self, settings: Settings) -> ThermalInputs:
        """The LST around the point on its clearest date and the 10 m NDVI of that day."""
        return self.thermal_inputs_cache.get_or_compute(
            _thermal_key(settings), lambda: self._thermal(settings)
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
        lazy = self._plan(Scene(source, dates, bbox, resolution), wanted)
        lst_time, s2_times = _clearest_matching_day(lst_all, valid, lazy["time"].values)
        scene = Scene(source, dates, bbox, resolution, times=tuple(str(t) for t in s2_times))
        self.collection(scene, bands, lazy=lazy.sel(time=s2_times))
        red_nir = self.masked(scene, list(NDVI_BANDS), settings.cloud_mask)
        if red_nir.sizes["time"] > 1:
            # Adjacent tiles of one day are separate images: mosaic them into one.
            image = compositing.composite(red_nir, "mosaic")
        else:
            image = red_nir.isel(time=0, drop=True)
        red, nir = image.sel(band="B04", drop=True), image.sel(band="B08", drop=True)
        total = nir + red
        ndvi = ((nir - red) / total.where(total != 0)).astype(np.float32).rename("ndvi")
        ndvi = ndvi.rio.write_crs(WEB_MERCATOR)
        lst = lst_all.sel(time=lst_time, drop=True)
        finite = lst.values[np.isfinite(lst.values)]
        return ThermalInputs(
            lst=lst,
            ndvi=ndvi,
            time=pd.Timestamp(lst_time),
            lst_limits=(float(finite.min()), float(finite.max())),
        )

    def thermal_layer_values(self, plan: ViewPlan, key: str, settings: Settings) -> np.ndarray:
        """A thermal layer (NDVI, 1 km LST or sharpened LST) on the view's pixels (H, W)."""
        dependencies: tuple = (_thermal_key(settings),)
        if key == "lst_sharpened":
            dependencies += (settings.ndvi_range, settings.lst_range)

        def compute() -> np.ndarray:
            inputs = self.thermal_inputs(settings)
            source = {
                "ndvi": lambda: inputs.ndvi,
                "lst": lambda: inputs.lst,
                "lst_sharpened": lambda: self.thermal_fit(settings).sharpened,
            }[key]()
            return regrid(source, plan.grid)

        return self.values.get_or_compute((plan, key, *dependencies), compute)

    def thermal_fit(self, settings: Settings) -> thermal.SharpenResult:
        """The TsHARP fit with the settings' NDVI and LST ranges (refits are cheap)."""
        inputs = self.thermal_inputs(settings)
        key = (_thermal_key(settings), settings.ndvi_range, settings.lst_range)
        return self.fits.get_or_compute(
            key,
            lambda: thermal.sharpen(
                inputs.lst,
                inputs.ndvi,
                ndvi_range=settings.ndvi_range,
                lst_range=settings.lst_range,
            ),
        )


class _DaskProgress(Callback):
    """Reports the share of finished dask tasks (local schedulers only)."""

    def __init__(self, report: ProgressReport | None) -> None:
        super().__init__()
        self.report = report
        self.total = 0
        self.done = 0

    def _start_state(self, dsk, state) -> None:
        self.total = sum(len(state[k]) for k in ("ready", "waiting", "running", "finished"))
        self.done = 0

    def _posttask(self, key, result, dsk, state, worker_id) -> None:
        self.done += 1
        if self.report is not None and self.total:
            self.report(self.done / self.total)

    def __enter__(self):
        return super().__enter__() if self.report is not None else self

    def __exit__(self, *args) -> None:
        if self.report is not None:
            super().__exit__(*args)


def _thermal_key(settings: Settings) -> tuple:
    """What the thermal inputs depend on."""
    return (
        settings.source,
        settings.point,
        settings.date_strings,
        settings.area_m,
        settings.cloud_mask.key,
    )


def _no_cldprb(what: str, source: str) -> str:
    return (
        f"{what} needs the MSK_CLDPRB band, which only the demo serves "
        f"({source} does not): choose another layer or cloud mask"
    )


def _mask_time(drop: xr.DataArray, mask_date: str | None) -> np.datetime64:
    """The image whose mask the overlay shows: the chosen date, else the last one (what the
    cloudless seed's mosaic of the collection shows on top)."""
    times = drop["time"].values
    if mask_date is not None:
        wanted = np.datetime64(mask_date)
        if wanted in times:
            return wanted
    return times[-1]


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
