"""The dashboard's choices: sources, band combinations, cloud masks and map layers.

Plain data, no Panel: the controls offer these, the pipeline computes them and the legend names
them, so all three read the same definitions.
"""

from __future__ import annotations

from dataclasses import dataclass

from compositing.sources.demo import PRESETS

#: Source labels as the Source widget shows them, and the engine's source names.
SOURCES: dict[str, str] = {
    "Demo (synthetic)": "demo",
    "Earth Search": "earth-search",
    "Planetary Computer": "planetary-computer",
}
SOURCE_LABELS = {name: label for label, name in SOURCES.items()}
#: MSK_CLDPRB is a band of the demo only: neither real catalog serves it (see compositing.load).
SOURCES_WITH_CLDPRB = frozenset({"demo"})
#: The NDVI-LST panel uses Sentinel-3-like 1 km LST: the demo's, or SLSTR on Planetary Computer
#: (Earth Search serves Landsat only, from a requester-pays bucket that needs AWS credentials).
SOURCES_WITH_LST = frozenset({"demo", "planetary-computer"})

#: The reflectance bands a user can put in red, green and blue (L2A has no B10).
REFLECTANCE_BANDS = (
    "B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B11", "B12",
)  # fmt: skip

#: Band presets: the mosaic seed's SWIR combination first, as its layers are named after it.
BAND_PRESETS: dict[str, tuple[str, str, str]] = {
    "SWIR (B11, B8, B3)": ("B11", "B08", "B03"),
    "True colour (B4, B3, B2)": ("B04", "B03", "B02"),
    "False colour (B8, B4, B3)": ("B08", "B04", "B03"),
    "Agriculture (B11, B8, B2)": ("B11", "B08", "B02"),
}
CUSTOM_BANDS = "Custom (choose R, G, B)"

#: Cloud-mask labels and the engine's methods (compositing.clouds.mask_clouds).
CLOUD_MASKS: dict[str, str] = {
    "None": "none",
    "MSK_CLDPRB ≤ 10": "cldprb",
    "SCL (shadow, cloud, cirrus)": "scl",
    "s2cloudless + shadows": "s2cloudless",
}
CLOUD_MASK_LABELS = {method: label for label, method in CLOUD_MASKS.items()}

PLACES = tuple(PRESETS)
CUSTOM_PLACE = "Custom point"
DEFAULT_PLACE = PLACES[0]

#: Basemaps (HoloViews' Web Mercator tile sources). They need the internet, so None is the default.
BASEMAPS = ("None", "OpenStreetMap", "Esri imagery")


@dataclass(frozen=True)
class LayerSpec:
    """One map layer.

    ``kind`` says how it is computed and coloured: ``"rgb"`` a three-band composite of the chosen
    bands; ``"band"`` a one-band composite with its seed's range and palette; ``"classes"`` SCL
    classes; ``"mask"`` the cloud and shadow overlay; ``"thermal"`` the NDVI and LST layers of
    the thermal analysis. ``method`` is the :func:`compositing.composite` method, if any.
    """

    key: str
    label: str
    kind: str
    method: str | None = None
    uses_cloud_mask: bool = False


#: Every layer, bottom to top as the map draws them (the seed adds its layers in this order).
LAYERS: tuple[LayerSpec, ...] = (
    LayerSpec("mean", "Mean", "rgb", "mean", uses_cloud_mask=True),
    LayerSpec("median", "Median", "rgb", "median", uses_cloud_mask=True),
    LayerSpec("min", "Min", "rgb", "min", uses_cloud_mask=True),
    LayerSpec("max", "Max", "rgb", "max", uses_cloud_mask=True),
    LayerSpec("sum", "Sum (MSK_CLDPRB)", "band", "sum"),
    LayerSpec("product", "Product (MSK_CLDPRB)", "band", "product"),
    LayerSpec("mode", "Mode (pixel class)", "classes", "mode"),
    LayerSpec("count", "Count (not cloud observations)", "band", "count"),
    LayerSpec("mosaic", "Mosaic", "rgb", "mosaic", uses_cloud_mask=True),
    LayerSpec("best_pixel", "Best-pixel mosaic (by cloud score)", "rgb", "quality_mosaic"),
    LayerSpec("worst_pixel", "Worst-pixel mosaic (by cloud score)", "rgb", "quality_mosaic"),
    LayerSpec("ndvi", "NDVI", "thermal", uses_cloud_mask=True),
    LayerSpec("lst", "LST (1 km)", "thermal"),
    LayerSpec("lst_sharpened", "LST sharpened (10 m)", "thermal", uses_cloud_mask=True),
    LayerSpec("cloud_mask", "Cloud and shadow mask", "mask", uses_cloud_mask=True),
)
LAYERS_BY_KEY = {spec.key: spec for spec in LAYERS}
DEFAULT_LAYERS = ("median",)


def ee_band_name(band: str) -> str:
    """Earth Engine's spelling of a band (``B08`` -> ``B8``), as the seeds' labels use."""
    if band.startswith("B0") and len(band) == 3:
        return "B" + band[2]
    return band


def layer_title(spec: LayerSpec, rgb_bands: tuple[str, str, str]) -> str:
    """The layer's name as the seeds write it, e.g. ``"Mean (B11, B8, B3)"``."""
    if spec.kind == "rgb" and spec.method != "quality_mosaic":
        return f"{spec.label} ({', '.join(ee_band_name(b) for b in rgb_bands)})"
    return spec.label
