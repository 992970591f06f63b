"""A cheap, bounded check that the internet answers (for the basemap's tiles)."""

from __future__ import annotations

import socket

#: Hosts of the basemaps' tiles: those of GeoViews' tile sources (``app.map_view.TILES``).
TILE_HOSTS = {
    "OpenStreetMap": "c.tile.openstreetmap.org",
    "Esri imagery": "server.arcgisonline.com",
}


def reachable(host: str, port: int = 443, timeout: float = 1.5) -> bool:
    """True if a TCP connection to ``host:port`` opens within ``timeout`` seconds.

    Offline, name resolution fails at once, so this never blocks for long; it runs in the
    dashboard's worker thread anyway.
    """
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False
