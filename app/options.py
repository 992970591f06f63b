"""The dashboard's choices: sources, band combinations, cloud masks, places and basemaps.

Plain data, no Panel: the controls offer these and the computations read them, so both read the
same definitions. The map's layers are :mod:`app.layers`.
"""

from __future__ import annotations

from compositing.bands import L2A_REFLECTANCE
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
REFLECTANCE_BANDS = L2A_REFLECTANCE

#: Band presets: the Earth Engine mosaic example's SWIR combination first, as its layers are
#: named after it.
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
    "csmask (CNN: clouds + shadows)": "csmask",
}
CLOUD_MASK_LABELS = {method: label for label, method in CLOUD_MASKS.items()}
#: Each source's default cloud mask: the best it allows. The catalogs serve L2A without
#: MSK_CLDPRB, and s2cloudless needs L1C (not on the Planetary Computer; on Earth Search only from
#: a requester-pays bucket): ukis-csmask finds clouds and their shadows in L2A alone.
DEFAULT_CLOUD_MASKS: dict[str, str] = {
    "demo": "cldprb",
    "earth-search": "csmask",
    "planetary-computer": "csmask",
}

PLACES = tuple(PRESETS)
CUSTOM_PLACE = "Custom point"
DEFAULT_PLACE = PLACES[0]

#: Basemaps (GeoViews' tile sources). They need the internet, so None is the default.
BASEMAPS = ("None", "OpenStreetMap", "Esri imagery")
