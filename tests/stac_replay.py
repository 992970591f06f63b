"""Replay real STAC catalog answers on loopback: Earth Search v1, Planetary Computer and CDSE.

The JSON comes from ``../shared/realdata/stac`` (responses the public APIs really gave,
described by its ``README.md`` and ``manifest.json``); the pixels are ours. :class:`ReplayServer`
is a threaded HTTP server on 127.0.0.1 that answers, for each catalog under its own prefix
(``/earth-search``, ``/planetary-computer``, ``/cdse``):

* the landing page, ``/conformance``, ``/collections`` and ``/collections/{c}``;
* ``GET``/``POST /search``: the recorded pages for the recorded requests (so paging follows
  the real ``next`` links), otherwise every recorded item that matches collections, ``ids`` (a
  list, or comma-separated), bbox (or
  ``intersects``' bounds), datetime and ``query`` ``eo:cloud_cover``, paged with ``next`` links
  the way that catalog pages (Earth Search: POST with a ``next`` token in the body; Planetary
  Computer: GET with ``token=``);
* ``GET /collections/{c}/items`` and ``/collections/{c}/items/{id}``.

Every href (links, assets, alternates) is rewritten to the loopback host: catalog roots to
their prefix, asset hrefs to ``/assets/<host>/<path>`` (``s3://bucket/key`` to
``/assets/s3/<bucket>/<key>``; JP2 hrefs are answered with a COG at the same path).

At an asset path the server answers a Cloud-Optimized GeoTIFF written on first request (then
cached in a temp dir) for the asset's own ``proj:shape``, ``proj:transform`` and EPSG
(``proj:epsg`` or ``proj:code``). Full tiles stay full (10980 x 10980): the COGs are sparse
(``SPARSE_OK``) with data only around the ``areas`` the server was given. The data are the
demo scene (:func:`compositing.sources.demo.load`) at the item's place and first demo pass on or
after the item's day, encoded exactly as the item declares (:func:`encode_reflectance`).
Landsat ``lwir*`` assets hold :func:`landsat_kelvin` of that demo scene; SLSTR ``lst-in`` /
``slstr-geodetic-in`` assets are small netCDFs (``stac_fixtures.write_slstr_lst`` layout) holding
the demo's own 0.01 degree LST. ``Range:`` requests get 206 (``Accept-Ranges: bytes``), so GDAL
reads with ``/vsicurl/`` range requests.

Faults for tests (:meth:`ReplayServer.fail`): an HTTP status, a stall, a truncated JSON body,
or a file that answers 404 after N successful range reads.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import numpy as np
import pandas as pd
import pyproj

#: ../shared beside the repository, as on every developer machine and in CI.
REALDATA = Path(__file__).resolve().parents[2] / "shared" / "realdata" / "stac"

#: The catalogs replayed: prefix on the server -> the public API root the files were recorded at.
UPSTREAM: dict[str, str] = {
    "earth-search": "https://earth-search.aws.element84.com/v1",
    "planetary-computer": "https://planetarycomputer.microsoft.com/api/stac/v1",
    "cdse": "https://stac.dataspace.copernicus.eu/v1",
}
#: Which catalog a file belongs to, by file-name prefix.
FILE_PREFIX = {"earth-search-v1_": "earth-search", "planetary-computer_": "planetary-computer",
               "cdse_": "cdse"}  # fmt: skip

#: Earth Search v1 asset keys (common names) -> Sentinel-2 band IDs.
COMMON_NAMES = {
    "coastal": "B01", "blue": "B02", "green": "B03", "red": "B04", "rededge1": "B05",
    "rededge2": "B06", "rededge3": "B07", "nir": "B08", "nir08": "B8A", "nir09": "B09",
    "cirrus": "B10", "swir16": "B11", "swir22": "B12", "scl": "SCL",
}  # fmt: skip
S2_BAND = re.compile(r"^(B0[1-9]|B1[0-2]|B8A|SCL)$")
LANDSAT_LST_KEYS = ("lwir11", "lwir")
SLSTR_FILES = {"lst-in": "LST_in.nc", "slstr-geodetic-in": "geodetic_in.nc"}
SLSTR_KEYS = tuple(SLSTR_FILES)
#: Data around an area too (a resampling or reprojecting read near its edge finds data): at
#: least this many pixels, and at least MARGIN_M metres.
MARGIN_PX = 4
MARGIN_M = 150.0
BLOCK = 512
SLSTR_PAD = 0.03  # degrees of swath around each area


def slstr_box(area: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    """The lon/lat box whose demo LST cells an SLSTR swath holds for ``area``."""
    west, south, east, north = area
    return (west - SLSTR_PAD, south - SLSTR_PAD, east + SLSTR_PAD, north + SLSTR_PAD)


def available() -> bool:
    """Whether the recorded responses are on this machine."""
    return (REALDATA / "manifest.json").exists()


# --------------------------------------------------------------------------------------------
# What the pixels are
# --------------------------------------------------------------------------------------------


def baseline_of(properties: Mapping[str, Any]) -> float | None:
    """The processing baseline an item declares, wherever its catalog puts it."""
    for key in ("s2:processing_baseline", "processing:version", "sentinel:processing_baseline"):
        if properties.get(key) is not None:
            return float(properties[key])
    return None


def scale_offset_of(asset: Mapping[str, Any]) -> tuple[float | None, float | None]:
    """(scale, offset) an asset declares: ``raster:bands[0]`` or STAC 1.1 ``raster:*``."""
    bands = asset.get("raster:bands")
    if isinstance(bands, list) and bands:
        return bands[0].get("scale"), bands[0].get("offset")
    return asset.get("raster:scale"), asset.get("raster:offset")


def encode_reflectance(
    reflectance: np.ndarray, properties: Mapping[str, Any], asset: Mapping[str, Any], band: str
) -> np.ndarray:
    """DN of reflectance x 10000 as the item declares its file (NaN -> 0 = no data).

    ``SCL`` stays class numbers. Earth Search's ``earthsearch:boa_offset_applied: true`` means the
    COG holds reflectance x 10000 whatever ``raster:bands`` says. Otherwise a declared
    ``scale``/``offset`` is honoured (DN = (R - offset) / scale); with none, baseline >= 04.00
    files carry ESA's +1000."""
    valid = np.isfinite(reflectance)
    if band == "SCL":
        return np.where(valid, reflectance, 0).astype("uint8")
    value = reflectance / 10000.0
    scale, offset = scale_offset_of(asset)
    baseline = baseline_of(properties)
    if properties.get("earthsearch:boa_offset_applied") is True:
        dn = value * 10000.0
    elif scale:
        dn = (value - float(offset or 0.0)) / float(scale)
    elif baseline is not None and baseline >= 4.0:
        dn = value * 10000.0 + 1000.0
    else:
        dn = value * 10000.0
    dn = np.clip(np.round(np.where(valid, dn, 0)), 1, 65535)
    return np.where(valid, dn, 0).astype("uint16")


def decode_reflectance(
    dn: np.ndarray, properties: Mapping[str, Any], asset: Mapping[str, Any], band: str
) -> np.ndarray:
    """The inverse of :func:`encode_reflectance` (harmonized reflectance x 10000, NaN = 0 DN)."""
    dn = np.asarray(dn, dtype="float64")
    if band == "SCL":
        return np.where(dn == 0, np.nan, dn)
    scale, offset = scale_offset_of(asset)
    baseline = baseline_of(properties)
    if properties.get("earthsearch:boa_offset_applied") is True:
        value = dn
    elif scale:
        value = (dn * float(scale) + float(offset or 0.0)) * 10000.0
    elif baseline is not None and baseline >= 4.0:
        value = dn - 1000.0
    else:
        value = dn
    return np.where(dn == 0, np.nan, value)


def landsat_kelvin(red: np.ndarray, nir: np.ndarray) -> np.ndarray:
    """Our Landsat surface temperature (K) from demo reflectance: warm bare soil, cool crops."""
    ndvi = (nir - red) / np.maximum(nir + red, 1.0)
    return 318.0 - 22.0 * np.clip(ndvi, -0.2, 1.0)


def band_of(catalog: str, key: str, asset: Mapping[str, Any]) -> str | None:
    """The Sentinel-2 band ID an asset holds (None for other assets)."""
    key = key.removesuffix("-jp2")
    if catalog == "earth-search":
        return COMMON_NAMES.get(key)
    band = key.split("_")[0]  # CDSE: B04_10m
    return band if S2_BAND.match(band) else None


def first_pass(when: pd.Timestamp) -> tuple[str, str]:
    """Demo dates that hold exactly the first demo pass on or after ``when``'s day."""
    day = pd.Timestamp(when).tz_localize(None).normalize() if pd.Timestamp(when).tzinfo else (
        pd.Timestamp(when).normalize())  # fmt: skip
    return f"{day:%Y-%m-%d}", f"{day + pd.Timedelta(days=5):%Y-%m-%d}"


# --------------------------------------------------------------------------------------------
# Faults
# --------------------------------------------------------------------------------------------


@dataclass
class Fault:
    """How to answer a path instead of normally.

    ``kind``: ``"status"`` (answer ``status`` with a JSON error), ``"stall"`` (sleep ``seconds``
    before answering normally), ``"truncate"`` (cut the JSON body in half), or ``"404-after"``
    (answer ``after`` range reads normally, then 404)."""

    kind: str
    status: int = 500
    seconds: float = 0.0
    after: int = 0
    served: int = 0


# --------------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------------


class ReplayServer:
    """A threaded loopback HTTP server replaying the recorded catalogs (use as a context manager).

    Parameters
    ----------
    areas
        (west, south, east, north) lon/lat boxes where the COGs hold data (everything else is
        sparse: no data).
    page_size
        Most items per search page (the request's ``limit`` if smaller); ``None``: the limit.
    directory
        Where the generated files are cached (a new temp dir by default, removed on exit).
    """

    def __init__(
        self,
        areas: Sequence[tuple[float, float, float, float]] = (),
        *,
        page_size: int | None = None,
        directory: Path | None = None,
    ) -> None:
        if not available():
            raise FileNotFoundError(f"no recorded STAC responses at {REALDATA}")
        self.areas = [tuple(map(float, a)) for a in areas]
        self.page_size = page_size
        self._own_directory = directory is None
        self.directory = Path(directory or tempfile.mkdtemp(prefix="stac-replay-"))
        self.faults: dict[str, Fault] = {}
        self.requests: list[tuple[str, str, int]] = []  # (method, path, status)
        self.range_reads: dict[str, int] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()
        self._renders: dict[tuple, tuple[np.ndarray, list[str]]] = {}
        self.url = ""
        self._assets: dict[str, tuple[str, dict, str, dict]] | None = None
        self._load_files()

    # ---- recorded files ------------------------------------------------------------------

    def _load_files(self) -> None:
        manifest = json.loads((REALDATA / "manifest.json").read_text())
        self.landing: dict[str, dict] = {}
        self.collections: dict[str, dict[str, dict]] = {c: {} for c in UPSTREAM}
        self.items: dict[str, dict[tuple[str, str], dict]] = {c: {} for c in UPSTREAM}
        self.recorded: list[tuple[str, dict, str]] = []  # (catalog, body, file)
        for entry in manifest:
            name = entry["file"]
            catalog = next(c for p, c in FILE_PREFIX.items() if name.startswith(p))
            document = json.loads((REALDATA / name).read_text())
            request = entry["recorded_request"]
            kind = document.get("type")
            if name.endswith(".catalog.json"):
                self.landing[catalog] = document
            elif name.endswith(".collection.json"):
                self.collections[catalog][document["id"]] = document
            elif kind == "Feature":
                self._add_item(catalog, document)
            elif kind == "FeatureCollection":
                for feature in document["features"]:
                    self._add_item(catalog, feature)
                if request["method"] == "POST" and name.endswith(".search.json"):
                    self.recorded.append((catalog, request["body"] or {}, name))
        for catalog, items in self.items.items():  # collections known only from their items
            for collection, _ in items:
                self.collections[catalog].setdefault(collection, _stub_collection(collection))

    def _add_item(self, catalog: str, feature: dict) -> None:
        key = (feature.get("collection", ""), feature["id"])
        self.items[catalog].setdefault(key, feature)

    # ---- href rewriting --------------------------------------------------------------------

    def rewrite_href(self, href: str) -> str:
        """The loopback href for a recorded one."""
        for catalog, root in UPSTREAM.items():
            if (
                href.rstrip("/") == root
                or href.startswith(root + "/")
                or href.startswith(root + "?")
            ):
                return f"{self.url}/{catalog}{href[len(root) :]}".rstrip("/") or self.url
        parsed = urlparse(href)
        if parsed.scheme == "s3":
            return f"{self.url}/assets/s3/{parsed.netloc}{parsed.path}"
        if parsed.scheme in ("http", "https"):
            return f"{self.url}/assets/{parsed.netloc}{parsed.path}"
        return href

    def rewrite(self, document: Any) -> Any:
        """A deep copy of a JSON document with every ``href`` rewritten."""
        if isinstance(document, dict):
            return {
                k: (self.rewrite_href(v) if k == "href" and isinstance(v, str) else self.rewrite(v))
                for k, v in document.items()
            }
        if isinstance(document, list):
            return [self.rewrite(v) for v in document]
        return document

    def item(self, catalog: str, item_id: str) -> dict:
        """A recorded item as the server answers it (hrefs on loopback)."""
        for (_, iid), feature in self.items[catalog].items():
            if iid == item_id:
                return self.rewrite(feature)
        raise KeyError(f"no recorded {catalog} item {item_id!r}")

    def catalog_url(self, catalog: str) -> str:
        return f"{self.url}/{catalog}"

    def fail(self, path: str, kind: str, **options: Any) -> None:
        """Answer ``path`` (exact, or a prefix ending in ``*``) with a :class:`Fault`."""
        self.faults[path] = Fault(kind, **options)

    # ---- search ------------------------------------------------------------------------------

    def search(self, catalog: str, parameters: Mapping[str, Any], method: str) -> dict:
        for recorded_catalog, body, name in self.recorded:
            if recorded_catalog == catalog and method == "POST" and _same_request(body, parameters):
                return self.rewrite(json.loads((REALDATA / name).read_text()))
        matches = [f for (c, _), f in self.items[catalog].items() if _matches(c, f, parameters)]
        # Newest first, as the real APIs sort.
        matches.sort(key=lambda f: (f["properties"].get("datetime") or "", f["id"]), reverse=True)
        limit = int(parameters.get("limit") or 10)
        if self.page_size:
            limit = min(limit, self.page_size)
        token = parameters.get("next") or parameters.get("token")
        start = int(str(token).rsplit(":", 1)[-1]) if token else 0
        page = matches[start : start + limit]
        links = [{"rel": "root", "href": f"{self.url}/{catalog}", "type": "application/json"}]
        if start + limit < len(matches):
            following = f"page:{start + limit}"
            if method == "POST":
                body = {k: v for k, v in parameters.items() if k != "next"}
                links.append({"rel": "next", "method": "POST", "merge": False,
                              "href": f"{self.url}/{catalog}/search",
                              "body": {**body, "next": following},
                              "type": "application/geo+json"})  # fmt: skip
            else:
                query = {k: v for k, v in parameters.items() if k != "token"}
                query = {k: json.dumps(v) if isinstance(v, dict | list) else v
                         for k, v in query.items()}  # fmt: skip
                links.append({"rel": "next", "method": "GET", "type": "application/geo+json",
                              "href": f"{self.url}/{catalog}/search?"
                                      f"{urlencode({**query, 'token': following})}"})  # fmt: skip
        return {
            "type": "FeatureCollection",
            "features": [self.rewrite(f) for f in page],
            "links": links,
            "numberMatched": len(matches),
            "numberReturned": len(page),
        }

    # ---- assets ----------------------------------------------------------------------------

    def _asset_at(self, path: str) -> tuple[str, dict, str, dict] | None:
        """(catalog, item, key, asset) whose rewritten href has this path."""
        if self._assets is None:
            index = {}
            for catalog, items in self.items.items():
                for feature in items.values():
                    for key, asset in feature.get("assets", {}).items():
                        found = urlparse(self.rewrite_href(asset["href"])).path
                        index.setdefault(found, (catalog, feature, key, asset))
            self._assets = index
        return self._assets.get(path)

    def asset_file(self, path: str) -> Path | None:
        """The file served at an asset path, written on first request."""
        found = self._asset_at(path)
        if found is None:
            return None
        catalog, feature, key, asset = found
        with self._lock:
            lock = self._locks.setdefault(path, threading.Lock())
        with lock:
            if key in SLSTR_KEYS:
                folder = self.directory / f"slstr-{feature['id']}"
                if not folder.exists():
                    self._write_slstr(feature, folder)
                return folder / SLSTR_FILES[key]
            # Real paths are too long for a file name: a digest names the cached file.
            target = self.directory / f"{hashlib.sha1(path.encode()).hexdigest()[:20]}.tif"
            if not target.exists():
                part = target.with_name(target.name + ".part")
                self._write_cog(catalog, feature, key, asset, part)
                part.replace(target)
        return target

    def _grid(self, feature: dict, asset: dict) -> tuple[int, tuple[int, int], list[float]]:
        props = feature["properties"]
        epsg = asset.get("proj:epsg") or props.get("proj:epsg")
        code = asset.get("proj:code") or props.get("proj:code")
        if epsg is None and code:
            epsg = int(str(code).split(":")[1])
        shape = asset.get("proj:shape") or props.get("proj:shape")
        transform = asset.get("proj:transform") or props.get("proj:transform")
        if epsg is None or shape is None or transform is None:
            raise ValueError(f"{feature['id']} asset has no proj:epsg/code, shape or transform")
        return int(epsg), (int(shape[0]), int(shape[1])), [float(v) for v in transform[:6]]

    def windows(self, feature: dict, asset: dict) -> list[tuple[int, int, int, int]]:
        """(row0, col0, height, width) of the asset that hold data: the areas plus a margin."""
        epsg, (height, width), t = self._grid(feature, asset)
        to_crs = pyproj.Transformer.from_crs(4326, epsg, always_xy=True)
        out = []
        for area in self.areas:
            left, bottom, right, top = to_crs.transform_bounds(*area, densify_pts=21)
            margin = max(MARGIN_PX, math.ceil(MARGIN_M / abs(t[0])))
            c0 = math.floor((left - t[2]) / t[0]) - margin
            c1 = math.ceil((right - t[2]) / t[0]) + margin
            r0 = math.floor((top - t[5]) / t[4]) - margin
            r1 = math.ceil((bottom - t[5]) / t[4]) + margin
            c0, r0, c1, r1 = max(c0, 0), max(r0, 0), min(c1, width), min(r1, height)
            if c1 > c0 and r1 > r0:
                out.append((r0, c0, r1 - r0, c1 - c0))
        return out

    def demo_window(
        self, feature: dict, asset: dict, window: tuple[int, int, int, int], product: str
    ) -> tuple[np.ndarray, list[str]]:
        """The demo collection's first pass, all bands, on a window of the asset's grid."""
        from compositing.geo import Grid
        from compositing.sources import demo
        from compositing.sources.dates import parse_dates

        epsg, _, t = self._grid(feature, asset)
        r0, c0, h, w = window
        key = (feature["id"], epsg, t[0], window, product)
        with self._lock:
            cached = self._renders.get(key)
        if cached is None:
            grid = Grid(pyproj.CRS.from_epsg(epsg), t[0], t[2] + c0 * t[0], t[5] + r0 * t[4], w, h)
            start, end = parse_dates(first_pass(pd.Timestamp(feature["properties"]["datetime"])))
            collection = demo.load(grid, start, end, product=product)
            cached = (
                np.asarray(collection.isel(time=0).values, dtype="float64"),
                [str(b) for b in collection["band"].values],
            )
            with self._lock:
                self._renders[key] = cached
        return cached

    def _write_cog(self, catalog: str, feature: dict, key: str, asset: dict, path: Path) -> None:
        import rasterio
        import rasterio.shutil
        from rasterio.windows import Window

        epsg, (height, width), t = self._grid(feature, asset)
        collection = feature.get("collection", "")
        lst = key in LANDSAT_LST_KEYS
        band = None if lst else band_of(catalog, key, asset)
        dtype = "uint8" if band == "SCL" else "uint16"
        product = "L1C" if "l1c" in collection else "L2A"
        sparse = path.with_suffix(".sparse.tif")
        with rasterio.open(
            sparse, "w", driver="GTiff", width=width, height=height, count=1, dtype=dtype,
            crs=f"EPSG:{epsg}", transform=tuple(t), nodata=0, tiled=True, blockxsize=BLOCK,
            blockysize=BLOCK, compress="deflate", sparse_ok=True,
        ) as dst:  # fmt: skip
            for window in self.windows(feature, asset) if (band or lst) else []:
                values, names = self.demo_window(feature, asset, window, product)
                if lst:
                    kelvin = landsat_kelvin(values[names.index("B04")], values[names.index("B08")])
                    scale, offset = scale_offset_of(asset)
                    dn = np.clip(np.round((kelvin - float(offset)) / float(scale)), 1, 65535)
                    data = dn.astype("uint16")
                else:
                    source = names.index(band) if band in names else names.index("B09")
                    data = encode_reflectance(values[source], feature["properties"], asset, band)
                r0, c0, h, w = window
                dst.write(data, 1, window=Window(c0, r0, w, h))
        rasterio.shutil.copy(
            sparse, path, driver="COG", SPARSE_OK="TRUE", OVERVIEWS="NONE",
            BLOCKSIZE=BLOCK, COMPRESS="DEFLATE",
        )  # fmt: skip
        sparse.unlink()

    def _write_slstr(self, feature: dict, folder: Path) -> None:
        """Both SLSTR files of an item: the demo's 0.01 degree LST over the areas, as a swath
        whose pixels are the demo's cell centres (``stac_fixtures.write_slstr_lst`` layout)."""
        from stac_fixtures import write_slstr_lst

        from compositing.geo import grid_for
        from compositing.sources import demo
        from compositing.sources.dates import parse_dates

        lons, lats, values = [], [], []
        start, end = parse_dates(first_pass(pd.Timestamp(feature["properties"]["datetime"])))
        for west, south, east, north in self.areas:
            box = slstr_box((west, south, east, north))
            lst = demo.load_lst(grid_for(bbox=box, resolution=10), start, end).isel(time=0)
            lon, lat = np.meshgrid(lst["x"].values, lst["y"].values)
            lons.append(lon.ravel())
            lats.append(lat.ravel())
            values.append(np.asarray(lst.values, dtype="float64").ravel())
        if not values:
            lons, lats, values = [np.zeros(1)], [np.zeros(1)], [np.full(1, np.nan)]
        lon, lat, kelvin = (np.concatenate(v)[None, :] for v in (lons, lats, values))
        part = folder.with_name(folder.name + ".part")
        write_slstr_lst(part, lon, lat, kelvin)
        part.replace(folder)

    # ---- serving -------------------------------------------------------------------------

    def __enter__(self) -> ReplayServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

            def do_GET(self) -> None:  # noqa: N802
                server._handle(self, "GET")

            def do_HEAD(self) -> None:  # noqa: N802
                server._handle(self, "HEAD")

            def do_POST(self) -> None:  # noqa: N802
                server._handle(self, "POST")

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)
        if self._own_directory:
            shutil.rmtree(self.directory, ignore_errors=True)

    def _fault_for(self, path: str) -> Fault | None:
        for pattern, fault in self.faults.items():
            if pattern == path or (pattern.endswith("*") and path.startswith(pattern[:-1])):
                return fault
        return None

    def _handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        try:
            self._answer(handler, method)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (e.g. its timeout): nothing to answer
        except Exception as error:  # a bug of the replay: say so rather than drop the line
            path = urlparse(handler.path).path
            self._json(handler, path, method, {"code": "ReplayError", "description": repr(error)},
                       500)  # fmt: skip

    def _answer(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        parsed = urlparse(handler.path)
        path = parsed.path.rstrip("/") or "/"
        parameters: dict[str, Any] = {}
        if method == "POST":
            length = int(handler.headers.get("Content-Length") or 0)
            raw = handler.rfile.read(length) if length else b""
            parameters = json.loads(raw or b"{}")
        else:
            for name, values in parse_qs(parsed.query).items():
                parameters[name] = _parse_parameter(name, values[0])
        fault = self._fault_for(path)
        truncate = False
        if fault is not None:
            if fault.kind == "status":
                return self._json(handler, path, method, {"code": "ReplayFault",
                                  "description": f"injected HTTP {fault.status}"},
                                  fault.status)  # fmt: skip
            if fault.kind == "stall":
                time.sleep(fault.seconds)
            truncate = fault.kind == "truncate"
        if path.startswith("/assets/"):
            return self._file(handler, path, method, fault)
        catalog, _, rest = path.lstrip("/").partition("/")
        if catalog not in UPSTREAM:
            return self._json(handler, path, method, {"code": "NotFound"}, 404)
        rest = "/" + rest if rest else ""
        body, status = self._route(catalog, rest, parameters, method)
        self._json(handler, path, method, body, status, truncate=truncate)

    def _route(self, catalog: str, rest: str, parameters: dict, method: str) -> tuple[dict, int]:
        if rest == "":
            landing = self.landing.get(catalog) or _stub_landing(catalog, UPSTREAM[catalog])
            return self.rewrite(landing), 200
        if rest == "/conformance":
            landing = self.landing.get(catalog) or _stub_landing(catalog, UPSTREAM[catalog])
            return {"conformsTo": landing.get("conformsTo", [])}, 200
        if rest == "/search":
            return self.search(catalog, parameters, method), 200
        if rest == "/collections":
            return {"collections": [self.rewrite(c) for c in self.collections[catalog].values()],
                    "links": []}, 200  # fmt: skip
        parts = rest.strip("/").split("/")
        if parts[0] == "collections" and len(parts) >= 2:
            collection = parts[1]
            if collection not in self.collections[catalog]:
                return {"code": "NotFound", "description": f"no collection {collection}"}, 404
            if len(parts) == 2:
                return self.rewrite(self.collections[catalog][collection]), 200
            if len(parts) == 3 and parts[2] == "items":
                return self.search(catalog, {**parameters, "collections": [collection]}, "GET"), 200
            if len(parts) == 4 and parts[2] == "items":
                feature = self.items[catalog].get((collection, parts[3]))
                if feature is None:
                    return {"code": "NotFound", "description": f"no item {parts[3]}"}, 404
                return self.rewrite(feature), 200
        return {"code": "NotFound", "description": rest}, 404

    def _json(self, handler, path, method, body, status=200, *, truncate=False) -> None:
        data = json.dumps(body).encode()
        if truncate:
            data = data[: len(data) // 2]
        self.requests.append((method, path, status))
        _send(handler, method, status, data, "application/json")

    def _file(self, handler, path: str, method: str, fault: Fault | None) -> None:
        ranged = handler.headers.get("Range")
        if fault is not None and fault.kind == "404-after":
            with self._lock:
                fault.served += 1 if ranged else 0
                exhausted = fault.served > fault.after
            if exhausted:
                return self._json(handler, path, method, {"code": "NotFound"}, 404)
        target = self.asset_file(path)
        if target is None:
            return self._json(handler, path, method, {"code": "NotFound"}, 404)
        size = target.stat().st_size
        ranges = _parse_ranges(ranged, size) if ranged else None
        if ranged:
            with self._lock:
                self.range_reads[path] = self.range_reads.get(path, 0) + 1
        with open(target, "rb") as file:
            if not ranges:
                self.requests.append((method, path, 200))
                handler.send_response(200)
                handler.send_header("Accept-Ranges", "bytes")
                handler.send_header("Content-Type", "application/octet-stream")
                handler.send_header("Content-Length", str(size))
                handler.end_headers()
                if method != "HEAD":
                    shutil.copyfileobj(file, handler.wfile)
                return
            self.requests.append((method, path, 206))
            if len(ranges) == 1:
                first, last = ranges[0]
                file.seek(first)
                data = file.read(last - first + 1)
                _send(handler, method, 206, data, "application/octet-stream",
                      {"Content-Range": f"bytes {first}-{last}/{size}"})  # fmt: skip
                return
            boundary = "replay-byteranges"
            parts = []
            for first, last in ranges:
                file.seek(first)
                parts.append(
                    f"--{boundary}\r\nContent-Type: application/octet-stream\r\n"
                    f"Content-Range: bytes {first}-{last}/{size}\r\n\r\n".encode()
                    + file.read(last - first + 1)
                    + b"\r\n"
                )
            data = b"".join(parts) + f"--{boundary}--\r\n".encode()
            _send(handler, method, 206, data, f"multipart/byteranges; boundary={boundary}")


def _send(
    handler: BaseHTTPRequestHandler,
    method: str,
    status: int,
    data: bytes,
    content_type: str,
    headers: dict[str, str] | None = None,
) -> None:
    """Answer with ``data`` (headers only for HEAD); a 206 also says that ranges are taken."""
    handler.send_response(status)
    if status == 206:
        handler.send_header("Accept-Ranges", "bytes")
    handler.send_header("Content-Type", content_type)
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    if method != "HEAD":
        handler.wfile.write(data)


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def _parse_parameter(name: str, value: str) -> Any:
    if name in ("bbox",):
        return [float(v) for v in value.split(",")]
    if name in ("collections", "ids"):
        return value.split(",")
    if name in ("query", "intersects", "filter"):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def _parse_ranges(header: str, size: int) -> list[tuple[int, int]] | None:
    if not header.startswith("bytes="):
        return None
    out = []
    for part in header[len("bytes=") :].split(","):
        first, _, last = part.strip().partition("-")
        if first == "":
            start, end = max(size - int(last), 0), size - 1
        else:
            start, end = int(first), min(int(last) if last else size - 1, size - 1)
        if start <= end:
            out.append((start, end))
    return out or None


def _same_request(recorded: Mapping[str, Any], asked: Mapping[str, Any]) -> bool:
    """Whether a search body is the recorded one (``limit`` aside, numbers compared as such)."""

    def clean(body: Mapping[str, Any]) -> dict:
        return {k: v for k, v in body.items() if k != "limit"}

    return clean(recorded) == clean(asked)


def _bbox_of(parameters: Mapping[str, Any]) -> list[float] | None:
    if parameters.get("bbox") is not None:
        b = [float(v) for v in parameters["bbox"]]
        return [b[0], b[1], b[3], b[4]] if len(b) == 6 else b
    geometry = parameters.get("intersects")
    if isinstance(geometry, Mapping):
        points = np.array(list(_coordinates(geometry["coordinates"])), dtype="float64")
        return [*points.min(axis=0)[:2], *points.max(axis=0)[:2]]
    return None


def _coordinates(value: Any) -> Iterator[Sequence[float]]:
    if isinstance(value, list | tuple) and value and isinstance(value[0], int | float):
        yield value
    else:
        for v in value:
            yield from _coordinates(v)


def _interval(text: str | None) -> tuple[dt.datetime | None, dt.datetime | None]:
    if not text:
        return None, None
    parts = str(text).split("/")
    start, end = (parts[0], parts[-1]) if len(parts) == 2 else (parts[0], parts[0])

    def parse(value: str) -> dt.datetime | None:
        if value in ("", ".."):
            return None
        return pd.Timestamp(value).tz_convert(None).to_pydatetime() if pd.Timestamp(
            value).tzinfo else pd.Timestamp(value).to_pydatetime()  # fmt: skip

    return parse(start), parse(end)


def _matches(collection: str, feature: Mapping[str, Any], parameters: Mapping[str, Any]) -> bool:
    collections = parameters.get("collections")
    if isinstance(collections, str):
        collections = collections.split(",")
    if collections and collection not in collections:
        return False
    ids = parameters.get("ids")
    if isinstance(ids, str):
        ids = ids.split(",")
    if ids and feature["id"] not in ids:
        return False
    box = _bbox_of(parameters)
    if box is not None and feature.get("bbox"):
        fb = feature["bbox"]
        west, south, east, north = (fb[0], fb[1], fb[3], fb[4]) if len(fb) == 6 else fb
        if west > box[2] or east < box[0] or south > box[3] or north < box[1]:
            return False
    start, end = _interval(parameters.get("datetime"))
    when = feature["properties"].get("datetime")
    if when and (start or end):
        t = pd.Timestamp(when).tz_convert(None).to_pydatetime()
        if (start and t < start) or (end and t > end):
            return False
    query = parameters.get("query") or {}
    for name, conditions in query.items():
        value = feature["properties"].get(name)
        for op, limit in conditions.items():
            if value is None:
                continue
            ok = {"lte": value <= limit, "lt": value < limit, "gte": value >= limit,
                  "gt": value > limit, "eq": value == limit}.get(op, True)  # fmt: skip
            if not ok:
                return False
    return True


def _stub_collection(collection: str) -> dict:
    return {
        "type": "Collection", "id": collection, "stac_version": "1.0.0",
        "description": f"{collection} (known from recorded items only)", "license": "proprietary",
        "extent": {"spatial": {"bbox": [[-180, -90, 180, 90]]},
                   "temporal": {"interval": [[None, None]]}},
        "links": [],
    }  # fmt: skip


def _stub_landing(catalog: str, root: str) -> dict:
    """CDSE's landing page was not recorded: a minimal one with the same links."""
    return {
        "type": "Catalog", "id": catalog, "stac_version": "1.1.0",
        "description": f"{catalog} (landing page not recorded; stand-in)",
        "conformsTo": ["https://api.stacspec.org/v1.0.0/core",
                       "https://api.stacspec.org/v1.0.0/item-search",
                       "https://api.stacspec.org/v1.0.0/item-search#query",
                       "https://api.stacspec.org/v1.0.0/collections"],
        "links": [{"rel": "self", "href": root}, {"rel": "root", "href": root},
                  {"rel": "search", "href": f"{root}/search", "method": "POST"},
                  {"rel": "search", "href": f"{root}/search", "method": "GET"},
                  {"rel": "data", "href": f"{root}/collections"}],
    }  # fmt: skip
