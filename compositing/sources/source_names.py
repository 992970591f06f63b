"""The sources given by name rather than by path (the demo and the STAC catalogs), and the
Sentinel-2 products they serve: their own module so that the file source can name them in a
hint without importing its parent package."""

from __future__ import annotations

__all__ = ["CATALOG_SOURCES", "PRODUCTS", "SOURCES"]

#: The STAC catalogs, searched over the network.
CATALOG_SOURCES = ("earth-search", "planetary-computer")
#: Every source given by name (anything else is a path to local files).
SOURCES = ("demo", *CATALOG_SOURCES)
#: The Sentinel-2 products a source serves.
PRODUCTS = ("L2A", "L1C")
