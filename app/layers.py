"""The map's layers: one class per kind, and the list of layers the dashboard offers.

A layer says everything the dashboard needs to know about it, so that adding one is adding an
instance (of an existing class, or of a new one) to a list:

* :meth:`Layer.bands`: the bands it needs from the view's collection (real catalogs load only
  the bands the visible layers need);
* :meth:`Layer.dependencies` and :meth:`Layer.cache_key`: the settings its values depend on
  (the rest must not invalidate its cache: a stretch change only recolours);
* :meth:`Layer.unavailable`: why it cannot be computed from a source, said before any download;
* :meth:`Layer.values`: how its values are computed from the engine's public API, through the
  caches of :class:`~app.computations.Computations`;
* :meth:`Layer.colour`: how they are coloured (a :class:`~app.render.LayerImage` with its
  :class:`~app.render.Legend`), and :meth:`Layer.title`, the legend's title.

:data:`LAYERS` lists the standard layers bottom to top, as the map draws them (the Earth Engine
examples add their layers in this order); the controls' Layers checkboxes, the map, the legend
and the refresh all read the list they are given.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd
import xarray as xr

import compositing
from compositing import clouds
from compositing import visualisation as vis
from compositing.bands import ee_band_name
from compositing.inspection import pixel_index

from .computations import (
    AreaRequest,
    Computations,
    cldprb_missing,
    mask_bands,
    thermal_key,
)
from .errors import NoDataError
from .options import SOURCES_WITH_CLDPRB
from .regrid import regrid
from .render import LayerImage, classes_image, mask_image, ramp_image, rgb_image
from .settings import Settings
from .view import ViewPlan, to_mercator

#: Name of the band added for the quality mosaics (not a Sentinel-2 band name, so no clash).
CLOUD_SCORE_BAND = "cloud_score"
NDVI_RANGE = (-0.2, 0.9)
NDVI_PALETTE = ("#8c510a", "#d8b365", "#f6e8c3", "#c7e9c0", "#41ab5d", "#00441b")
LST_PALETTE = ("#000004", "#420a68", "#932667", "#dd513a", "#fca50a", "#fcffa4")
#: Orange at 50%, as the cloudless article shows its mask.
MASK_COLOUR, MASK_OPACITY = "#ffa500", 0.5


@dataclass(frozen=True)
class Layer(ABC):
    """One map layer.

    Parameters
    ----------
    key
        Its name in the settings (``Settings.layers``) and on the map.
    label
        Its name in the Layers checkboxes (and, by default, the legend's title).

    Its methods take the frozen ``settings`` of a refresh, the view's ``plan``
    (:class:`~app.view.ViewPlan`) and the ``computations`` whose caches they compute with.
    """

    key: str
    label: str

    #: Whether it is made from the view's collection (loaded once for all such layers, before
    #: them); the others come from the thermal analysis and are shown after its fit.
    reads_view_collection: ClassVar[bool] = True

    def title(self, settings: Settings) -> str:
        """The legend's title."""
        return self.label

    def bands(self, settings: Settings) -> set[str]:
        """The view collection's bands its values are computed from."""
        return set()

    def dependencies(self, settings: Settings) -> tuple:
        """The settings its values depend on (the rest must not invalidate its cache)."""
        return ()

    def cache_key(self, settings: Settings, plan: ViewPlan) -> Hashable:
        """Its values' key in :attr:`Computations.values`: what it is computed on, its key and
        its dependencies."""
        return (AreaRequest.for_view(settings, plan), self.key, *self.dependencies(settings))

    def unavailable(self, settings: Settings) -> NoDataError | None:
        """Why it cannot be computed from the settings' source (before any download), if so."""
        return None

    @abstractmethod
    def values(self, computations: Computations, plan: ViewPlan, settings: Settings):
        """Its values for a view, before colouring (cached by
        :meth:`Computations.layer_values`, which is what to call)."""

    @abstractmethod
    def colour(self, values, settings: Settings) -> LayerImage:
        """Its values as a map image with its legend."""

    def image(self, computations: Computations, plan: ViewPlan, settings: Settings) -> LayerImage:
        """What the map shows for a view: its values, from the cache if there, coloured."""
        return self.colour(computations.layer_values(self, plan, settings), settings)

    def value_at(self, values, point: tuple[float, float]) -> str:
        """Its value at ``point`` (lon, lat) as the pixel inspector lists it; ``values`` are
        :meth:`values`' (a DataArray on the view's grid, or what :meth:`describe` reads).

        Raises
        ------
        ValueError
            The point is outside the values' pixels.
        """
        row, column = pixel_index(values, point)
        return self.describe(values.isel(y=row, x=column))

    def describe(self, pixel: xr.DataArray) -> str:
        """One pixel of its values (a scalar, or one value per band), in words."""
        if "band" in pixel.dims:
            return ", ".join(
                f"{ee_band_name(str(band))} {_number(float(value))}"
                for band, value in zip(pixel["band"].values, pixel.values, strict=True)
            )
        return _number(float(pixel))


class CollectionLayer(Layer):
    """A layer computed from the view's collection: it checks that the source can serve it,
    then :meth:`compute` s it on the view's :class:`~app.computations.AreaRequest`."""

    def values(self, computations: Computations, plan: ViewPlan, settings: Settings):
        problem = self.unavailable(settings)
        if problem is not None:
            raise problem
        return self.compute(computations, AreaRequest.for_view(settings, plan), settings)

    @abstractmethod
    def compute(self, computations: Computations, request: AreaRequest, settings: Settings):
        """The values on the request's grid."""

    def checked_values(self, values: xr.DataArray) -> xr.DataArray:
        """``values`` as float32, unless every pixel is masked (then there is nothing to show)."""
        values = values.astype(np.float32)
        if not np.isfinite(values.values).any():
            raise NoDataError(f"every pixel of {self.label} is masked")
        return values


def _number(value: float) -> str:
    """A value as the inspector shows it: "masked" for NaN, else up to four significant digits
    (reflectance x 10000 keeps its whole number)."""
    if not np.isfinite(value):
        return "masked"
    return f"{value:.0f}" if abs(value) >= 1000 else f"{value:.4g}"


def _bands_text(bands: Sequence[str]) -> str:
    return ", ".join(ee_band_name(band) for band in bands)


@dataclass(frozen=True)
class RgbComposite(CollectionLayer):
    """A composite of the chosen red, green and blue bands of the cloud-masked collection.

    Parameters
    ----------
    method
        The :func:`compositing.composite` method (mean, median, min, max, mosaic...).
    """

    method: str

    def title(self, settings: Settings) -> str:
        return f"{self.label} ({_bands_text(settings.rgb_bands)})"

    def bands(self, settings: Settings) -> set[str]:
        return set(settings.rgb_bands) | mask_bands(settings.cloud_mask)

    def dependencies(self, settings: Settings) -> tuple:
        return (settings.rgb_bands, settings.cloud_mask.key)

    def unavailable(self, settings: Settings) -> NoDataError | None:
        if settings.cloud_mask.method == "cldprb" and settings.source not in SOURCES_WITH_CLDPRB:
            return cldprb_missing("the MSK_CLDPRB ≤ 10 cloud mask", settings.source)
        return None

    def compute(self, computations: Computations, request: AreaRequest, settings: Settings):
        rgb = list(settings.rgb_bands)
        unique = list(dict.fromkeys(rgb))  # a band may be repeated (a grey-level RGB)
        # Band by band, so that a new triplet computes only the bands not composited before.
        per_band = [
            computations.band_composite(request, band, self.method, settings.cloud_mask)
            for band in unique
        ]
        return self.checked_values(xr.concat(per_band, dim="band").sel(band=rgb))

    def colour(self, values: xr.DataArray, settings: Settings) -> LayerImage:
        return rgb_image(
            self.key, values, settings.stretch, vis.EXAMPLE_VIS["rgb"], self.title(settings),
            _bands_text(settings.rgb_bands),
        )  # fmt: skip


@dataclass(frozen=True)
class QualityMosaic(CollectionLayer):
    """The chosen bands of the image with the best (or worst) cloud score at each pixel: the
    ``qualityMosaic`` example, scored by MSK_CLDPRB (the lowest probability is the best).

    Parameters
    ----------
    best
        True: the least cloudy pixel; False: the cloudiest.
    """

    best: bool

    def bands(self, settings: Settings) -> set[str]:
        return set(settings.rgb_bands) | {"MSK_CLDPRB"}

    def dependencies(self, settings: Settings) -> tuple:
        return (settings.rgb_bands,)

    def unavailable(self, settings: Settings) -> NoDataError | None:
        if settings.source not in SOURCES_WITH_CLDPRB:
            return cldprb_missing(f"the {self.label} layer", settings.source)
        return None

    def compute(self, computations: Computations, request: AreaRequest, settings: Settings):
        rgb = list(settings.rgb_bands)
        unique = list(dict.fromkeys(rgb))
        collection = computations.collection(request, set(unique) | {"MSK_CLDPRB"})
        cloud_probability = collection.sel(band="MSK_CLDPRB")
        # The best pixel has the lowest cloud probability: maximise its opposite.
        score = -cloud_probability if self.best else cloud_probability
        stacked = xr.concat(
            [collection.sel(band=unique), score.expand_dims(band=[CLOUD_SCORE_BAND])],
            dim="band",
        )
        mosaic = compositing.composite(stacked, "quality_mosaic", quality_band=CLOUD_SCORE_BAND)
        return self.checked_values(mosaic.sel(band=rgb))

    def colour(self, values: xr.DataArray, settings: Settings) -> LayerImage:
        return rgb_image(
            self.key, values, settings.stretch, vis.EXAMPLE_VIS["quality_mosaic"],
            self.title(settings), _bands_text(settings.rgb_bands),
        )  # fmt: skip


@dataclass(frozen=True)
class SingleBandComposite(CollectionLayer):
    """A composite of one band, coloured by a palette: the Earth Engine example's sum, product
    and count of MSK_CLDPRB, with the example's range and palette.

    Parameters
    ----------
    method
        The :func:`compositing.composite` method.
    vis_params
        The range and palette (the example's, :data:`compositing.visualisation.EXAMPLE_VIS`).
    units
        What the legend says the values are.
    band
        The band composited.
    masked_by
        A :func:`compositing.clouds.mask_clouds` method applied first whatever cloud mask the
        user chose (the example counts the images not cloudy by MSK_CLDPRB ≤ 10), or None.
    """

    method: str
    vis_params: vis.VisParams
    units: str
    band: str = "MSK_CLDPRB"
    masked_by: str | None = None

    def bands(self, settings: Settings) -> set[str]:
        return {self.band}

    def unavailable(self, settings: Settings) -> NoDataError | None:
        if self.band == "MSK_CLDPRB" and settings.source not in SOURCES_WITH_CLDPRB:
            return cldprb_missing(f"the {self.label} layer", settings.source)
        return None

    def compute(self, computations: Computations, request: AreaRequest, settings: Settings):
        collection = computations.collection(request, {self.band}).sel(band=[self.band])
        if self.masked_by is not None:
            collection = clouds.mask_clouds(collection, self.masked_by)
        values = compositing.composite(collection, self.method).isel(band=0, drop=True)
        return self.checked_values(values)

    def describe(self, pixel: xr.DataArray) -> str:
        value = float(pixel)
        return f"{_number(value)} {self.units}" if np.isfinite(value) else "masked"

    def colour(self, values: xr.DataArray, settings: Settings) -> LayerImage:
        params = self.vis_params
        return ramp_image(
            self.key, values.values, vis.pixel_bounds(values), params.minimum, params.maximum,
            params.palette, self.title(settings), self.units,
        )  # fmt: skip


@dataclass(frozen=True)
class ClassComposite(CollectionLayer):
    """A composite of a class band (the mode of SCL): each pixel's class, in its colour."""

    method: str = "mode"
    band: str = "SCL"

    def bands(self, settings: Settings) -> set[str]:
        return {self.band}

    def compute(self, computations: Computations, request: AreaRequest, settings: Settings):
        collection = computations.collection(request, {self.band})
        values = compositing.composite(collection.sel(band=[self.band]), self.method)
        return self.checked_values(values.isel(band=0, drop=True))

    def describe(self, pixel: xr.DataArray) -> str:
        value = float(pixel)
        if not np.isfinite(value):
            return "masked"
        return f"{value:.0f}: {vis.SCL_NAMES.get(int(value), 'unknown class')}"

    def colour(self, values: xr.DataArray, settings: Settings) -> LayerImage:
        return classes_image(self.key, values, self.title(settings))


@dataclass(frozen=True)
class SingleImage(CollectionLayer):
    """One image of the collection, the timeline's (the settings' ``image_date``, else the
    last), in the chosen bands and as it is: no cloud mask, as ``Map.addLayer(image)``."""

    def title(self, settings: Settings) -> str:
        return f"{self.label} ({_bands_text(settings.rgb_bands)})"

    def bands(self, settings: Settings) -> set[str]:
        return set(settings.rgb_bands)

    def dependencies(self, settings: Settings) -> tuple:
        return (settings.rgb_bands, settings.image_date)

    def compute(self, computations: Computations, request: AreaRequest, settings: Settings):
        rgb = list(settings.rgb_bands)
        collection = computations.collection(request, set(rgb))
        shown = shown_image_time(collection["time"].values, settings.image_date)
        # The time stays as a scalar coordinate: the legend names the date.
        return self.checked_values(collection.sel(time=shown).sel(band=rgb))

    def colour(self, values: xr.DataArray, settings: Settings) -> LayerImage:
        title = f"{self.title(settings)}, {minute_text(values['time'].values)}"
        return rgb_image(
            self.key, values, settings.stretch, vis.EXAMPLE_VIS["rgb"], title,
            _bands_text(settings.rgb_bands),
        )  # fmt: skip


@dataclass(frozen=True)
class MaskOverlay(CollectionLayer):
    """The chosen cloud mask's dropped pixels on one image (the settings' mask date, else the
    last image: what the cloudless article's mosaic of the collection shows on top)."""

    def bands(self, settings: Settings) -> set[str]:
        return mask_bands(settings.cloud_mask)

    def dependencies(self, settings: Settings) -> tuple:
        return (settings.cloud_mask.key, settings.image_date)

    def unavailable(self, settings: Settings) -> NoDataError | None:
        if settings.cloud_mask.method == "cldprb" and settings.source not in SOURCES_WITH_CLDPRB:
            return cldprb_missing("the MSK_CLDPRB ≤ 10 cloud mask", settings.source)
        return None

    def compute(self, computations: Computations, request: AreaRequest, settings: Settings):
        drop = computations.drop_mask(request, settings.cloud_mask)
        if drop is None:
            raise NoDataError("Cloud mask is None: choose a cloud mask to see its overlay")
        # The time stays as a scalar coordinate: the legend names the date.
        return drop.sel(time=shown_image_time(drop["time"].values, settings.image_date))

    def describe(self, pixel: xr.DataArray) -> str:
        return f"{'dropped' if bool(pixel) else 'kept'} on {minute_text(pixel['time'].values)}"

    def colour(self, values: xr.DataArray, settings: Settings) -> LayerImage:
        date = minute_text(values["time"].values)
        title = f"{self.title(settings)} ({settings.cloud_mask.method}, {date})"
        return mask_image(self.key, values, MASK_COLOUR, MASK_OPACITY, title)


def minute_text(time: np.datetime64 | str) -> str:
    """An image's time as the dashboard writes it: ``2021-07-05 18:40``."""
    return str(np.datetime_as_string(np.datetime64(time), unit="m")).replace("T", " ")


def shown_image_time(times: np.ndarray, image_date: str | None) -> np.datetime64:
    """The timeline's image: ``image_date`` if it is one of ``times``, else the last one."""
    if image_date is not None:
        wanted = np.datetime64(image_date)
        if wanted in times:
            return wanted
    return times[-1]


@dataclass(frozen=True)
class ThermalValues:
    """A thermal layer on the view's pixels, and what its colours and legend need."""

    pixels: np.ndarray  # (H, W), north up, NaN outside the data
    bounds: tuple[float, float, float, float]  # the view grid's, in EPSG:3857
    day: pd.Timestamp  # the LST's time
    lst_limits: tuple[float, float]  # the valid LST's range that day


@dataclass(frozen=True)
class ThermalLayer(Layer):
    """A layer of the thermal analysis (around the point, on its clearest day), regridded onto
    the view's pixels; its legend's title names the day."""

    reads_view_collection: ClassVar[bool] = False

    def dependencies(self, settings: Settings) -> tuple:
        return (thermal_key(settings),)

    def cache_key(self, settings: Settings, plan: ViewPlan) -> Hashable:
        return (plan, self.key, *self.dependencies(settings))

    def values(self, computations: Computations, plan: ViewPlan, settings: Settings):
        inputs = computations.thermal_inputs(settings)
        pixels = regrid(self.source(computations, settings), plan.grid)
        return ThermalValues(pixels, plan.grid.bounds, inputs.time, inputs.lst_limits)

    @abstractmethod
    def source(self, computations: Computations, settings: Settings) -> xr.DataArray:
        """The layer on its own grid (with a CRS)."""

    @abstractmethod
    def ramp(self, lst_limits: tuple[float, float]) -> tuple[float, float, tuple[str, ...], str]:
        """(min, max, palette, units); ``lst_limits`` is the valid LST's range that day."""

    def value_at(self, values: ThermalValues, point: tuple[float, float]) -> str:
        x, y = to_mercator(*point)
        left, bottom, right, top = values.bounds
        height, width = values.pixels.shape
        column = int((x - left) / (right - left) * width)
        row = int((top - y) / (top - bottom) * height)
        if not (0 <= row < height and 0 <= column < width):
            raise ValueError(f"the point {point} is outside the view")
        value = float(values.pixels[row, column])
        units = self.ramp(values.lst_limits)[3]
        if not np.isfinite(value):
            return "no data"
        return f"{value:.3f} {units}" if units == "NDVI" else f"{value:.2f} {units}"

    def colour(self, values: ThermalValues, settings: Settings) -> LayerImage:
        minimum, maximum, palette, units = self.ramp(values.lst_limits)
        title = f"{self.title(settings)}, {values.day:%Y-%m-%d}"
        return ramp_image(
            self.key, values.pixels, values.bounds, minimum, maximum, palette, title, units
        )


@dataclass(frozen=True)
class NdviLayer(ThermalLayer):
    """The 10 m NDVI of the thermal day (cloud-masked), from :func:`compositing.indices.ndvi`."""

    def source(self, computations: Computations, settings: Settings) -> xr.DataArray:
        return computations.thermal_inputs(settings).ndvi

    def ramp(self, lst_limits: tuple[float, float]) -> tuple[float, float, tuple[str, ...], str]:
        return (*NDVI_RANGE, NDVI_PALETTE, "NDVI")


@dataclass(frozen=True)
class LstLayer(ThermalLayer):
    """The 1 km land surface temperature of the thermal day, in kelvin."""

    def source(self, computations: Computations, settings: Settings) -> xr.DataArray:
        return computations.thermal_inputs(settings).lst

    def ramp(self, lst_limits: tuple[float, float]) -> tuple[float, float, tuple[str, ...], str]:
        # Whole kelvins around the day's valid LST, shared by the 1 km and the sharpened LST.
        minimum, maximum = np.floor(lst_limits[0]), np.ceil(lst_limits[1])
        if maximum <= minimum:
            maximum = minimum + 1
        return float(minimum), float(maximum), LST_PALETTE, "K"


@dataclass(frozen=True)
class SharpenedLstLayer(LstLayer):
    """The LST sharpened to 10 m by the fit with the NDVI-LST panel's ranges."""

    def dependencies(self, settings: Settings) -> tuple:
        return (thermal_key(settings), settings.ndvi_range, settings.lst_range)

    def source(self, computations: Computations, settings: Settings) -> xr.DataArray:
        return computations.thermal_fit(settings).sharpened


#: Every standard layer, bottom to top as the map draws them (the Earth Engine examples add
#: their layers in this order).
LAYERS: tuple[Layer, ...] = (
    RgbComposite("mean", "Mean", "mean"),
    RgbComposite("median", "Median", "median"),
    RgbComposite("min", "Min", "min"),
    RgbComposite("max", "Max", "max"),
    SingleBandComposite("sum", "Sum (MSK_CLDPRB)", "sum", vis.EXAMPLE_VIS["sum"], "MSK_CLDPRB (%)"),
    SingleBandComposite(
        "product", "Product (MSK_CLDPRB)", "product", vis.EXAMPLE_VIS["product"], "MSK_CLDPRB (%)"
    ),
    ClassComposite("mode", "Mode (pixel class)"),
    SingleBandComposite(
        "count",
        "Count (not cloud observations)",
        "count",
        vis.EXAMPLE_VIS["count"],
        "observations",
        masked_by="cldprb",
    ),
    RgbComposite("mosaic", "Mosaic", "mosaic"),
    QualityMosaic("best_pixel", "Best-pixel mosaic (by cloud score)", best=True),
    QualityMosaic("worst_pixel", "Worst-pixel mosaic (by cloud score)", best=False),
    NdviLayer("ndvi", "NDVI"),
    LstLayer("lst", "LST (1 km)"),
    SharpenedLstLayer("lst_sharpened", "LST sharpened (10 m)"),
    SingleImage("image", "Single image (timeline)"),
    MaskOverlay("cloud_mask", "Cloud and shadow mask"),
)
LAYERS_BY_KEY = {layer.key: layer for layer in LAYERS}
DEFAULT_LAYERS = ("median",)
