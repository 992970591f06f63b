"""Offline STAC fixtures: small COGs, Earth Search-style items, a static catalog, a loopback
STAC API server and Sentinel-3 SLSTR-like netCDF files. Reusable from any test file::

    from stac_fixtures import write_static_catalog, serve_stac_api

Everything is written under a directory the caller gives (``tmp_path``); nothing touches the
network except the loopback address 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import socket
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import numpy as np
import pyproj
import pystac
import rasterio
from affine import Affine
from pystac.extensions.eo import EOExtension
from pystac.extensions.projection import ProjectionExtension
from pystac.extensions.raster import RasterBand, RasterExtension
from pystac.extensions.view import ViewExtension

#: The scene: EPSG:32610 near (lon -122.373, lat 37.448), 64 x 64 pixels of 10 m.
EPSG = 32610
ORIGIN = (555_140.0, 4_145_080.0)  # top-left corner (x, y); multiples of 20 m
SIZE = 64
RES = 10.0
SCL_RES = 20.0

#: Earth Search asset keys written, and the band IDs they stand for.
REFLECTANCE_ASSETS = {"B04": "red", "B08": "nir"}
SCL_ASSET = "scl"


@dataclass(frozen=True)
class SceneSpec:
    """One test scene (one STAC item)."""

    id: str
    datetime: dt.datetime
    cloud_cover: float
    platform: str
    baseline: str
    boa_offset_applied: bool | None
    raster_offset: float
    sun_azimuth: float | None
    sun_elevation: float | None
    index: int  # distinguishes the scenes' DN


#: Three scenes, deliberately not in time order: a 2021 scene (baseline 03.00, no offset),
#: a 2023 scene whose COG still carries the +1000 offset, and a 2023 scene that Earth Search
#: already harmonized (``earthsearch:boa_offset_applied``) while raster:bands still says -0.1.
#: The 2021 scene has no sun angles (the loader computes them) and 90 % cloud.
SCENES: tuple[SceneSpec, ...] = (
    SceneSpec(
        "S2B_10SEG_20230606_0_L2A", dt.datetime(2023, 6, 6, 19, 2, 7, tzinfo=dt.timezone.utc),
        40.0, "sentinel-2b", "05.09", True, -0.1, 140.5, 70.25, 2,
    ),
    SceneSpec(
        "S2A_10SEG_20210620_0_L2A", dt.datetime(2021, 6, 20, 19, 4, 1, tzinfo=dt.timezone.utc),
        90.0, "sentinel-2a", "03.00", None, 0.0, None, None, 0,
    ),
    SceneSpec(
        "S2A_10SEG_20230601_0_L2A", dt.datetime(2023, 6, 1, 19, 3, 9, tzinfo=dt.timezone.utc),
        5.0, "sentinel-2a", "05.09", False, -0.1, 139.0, 71.5, 1,
    ),
)  # fmt: skip

#: Pixels (row, col) of the 10 m bands set to 0 (no data) in every scene.
NODATA_PIXELS = ((30, 30), (30, 31), (45, 20))


def reflectance_dn(scene_index: int, band_index: int) -> np.ndarray:
    """The uint16 DN of a 10 m band: unique per pixel, scene and band; 0 at NODATA_PIXELS."""
    rows, cols = np.mgrid[0:SIZE, 0:SIZE]
    dn = 1100 + 64 * rows + cols + 5000 * band_index + 15000 * scene_index
    dn = dn.astype("uint16")
    for r, c in NODATA_PIXELS:
        dn[r, c] = 0
    return dn


def scl_classes(scene_index: int) -> np.ndarray:
    """The uint8 SCL classes at 20 m (32 x 32): 1..11, with 0 (no data) in the first row."""
    rows, cols = np.mgrid[0 : SIZE // 2, 0 : SIZE // 2]
    scl = ((rows + 2 * cols + scene_index) % 11 + 1).astype("uint8")
    scl[0, :] = 0
    return scl


def expected_reflectance(scene: SceneSpec, band_index: int) -> np.ndarray:
    """What the loader must give for a 10 m band: DN minus 1000 when the COG still has the
    baseline-04.00 offset, NaN where DN is 0."""
    dn = reflectance_dn(scene.index, band_index).astype("float64")
    has_offset = float(scene.baseline) >= 4 and not scene.boa_offset_applied
    value = dn - 1000.0 if has_offset else dn
    return np.where(dn == 0, np.nan, value)


def write_cog(
    path: Path,
    data: np.ndarray,
    transform: Affine,
    *,
    epsg: int = EPSG,
    nodata: float | None = 0,
) -> Path:
    """Write a one-band Cloud-Optimized GeoTIFF."""
    with rasterio.open(
        path,
        "w",
        driver="COG",
        height=data.shape[0],
        width=data.shape[1],
        count=1,
        dtype=data.dtype,
        crs=f"EPSG:{epsg}",
        transform=transform,
        nodata=nodata,
    ) as dst:
        dst.write(data, 1)
    return path


def _lonlat_footprint(
    transform: Affine, shape: tuple[int, int], epsg: int
) -> tuple[list[float], dict]:
    height, width = shape
    left, top = transform.c, transform.f
    right, bottom = left + width * transform.a, top + height * transform.e
    to_lonlat = pyproj.Transformer.from_crs(epsg, 4326, always_xy=True)
    corners = [to_lonlat.transform(x, y) for x, y in
               ((left, bottom), (right, bottom), (right, top), (left, top))]  # fmt: skip
    lons, lats = zip(*corners, strict=True)
    bbox = [min(lons), min(lats), max(lons), max(lats)]
    geometry = {"type": "Polygon", "coordinates": [[*map(list, corners), list(corners[0])]]}
    return bbox, geometry


def make_items(directory: Path, scenes: Sequence[SceneSpec] = SCENES) -> list[pystac.Item]:
    """Write the COGs of ``scenes`` under ``directory`` and return Earth Search-style items
    (asset hrefs are absolute paths): ``proj:code`` only (as pystac >= 1.12 writes), asset-level
    ``proj:shape``/``proj:transform``, ``raster:bands`` scale/offset, ``eo:cloud_cover``,
    ``view:sun_*``, ``s2:processing_baseline`` and ``earthsearch:boa_offset_applied``."""
    directory.mkdir(parents=True, exist_ok=True)
    transform10 = Affine(RES, 0, ORIGIN[0], 0, -RES, ORIGIN[1])
    transform20 = Affine(SCL_RES, 0, ORIGIN[0], 0, -SCL_RES, ORIGIN[1])
    bbox, geometry = _lonlat_footprint(transform10, (SIZE, SIZE), EPSG)
    items = []
    for scene in scenes:
        folder = directory / scene.id
        folder.mkdir(exist_ok=True)
        properties: dict[str, Any] = {
            "platform": scene.platform,
            "constellation": "sentinel-2",
            "s2:processing_baseline": scene.baseline,
        }
        if scene.boa_offset_applied is not None:
            properties["earthsearch:boa_offset_applied"] = scene.boa_offset_applied
        item = pystac.Item(scene.id, geometry, bbox, scene.datetime, properties)
        projection = ProjectionExtension.ext(item, add_if_missing=True)
        projection.code = f"EPSG:{EPSG}"
        EOExtension.ext(item, add_if_missing=True).cloud_cover = scene.cloud_cover
        view = ViewExtension.ext(item, add_if_missing=True)
        if scene.sun_azimuth is not None:
            view.sun_azimuth = scene.sun_azimuth
            view.sun_elevation = scene.sun_elevation
        RasterExtension.add_to(item)

        assets = [
            (key, reflectance_dn(scene.index, b), transform10, scene.raster_offset)
            for b, key in enumerate(REFLECTANCE_ASSETS.values())
        ]
        assets.append((SCL_ASSET, scl_classes(scene.index), transform20, None))
        for key, data, transform, offset in assets:
            path = write_cog(folder / f"{key}.tif", data, transform)
            asset = pystac.Asset(href=str(path), media_type=pystac.MediaType.COG, roles=["data"])
            item.add_asset(key, asset)
            asset_projection = ProjectionExtension.ext(asset)
            asset_projection.shape = list(data.shape)
            asset_projection.transform = list(transform)[:6]
            band = RasterBand.create(
                nodata=0, data_type=str(data.dtype), spatial_resolution=transform.a
            )
            if offset is not None:
                band.scale = 0.0001
                band.offset = offset
            RasterExtension.ext(asset).bands = [band]
        items.append(item)
    return items


def write_static_catalog(tmp_path: Path, scenes: Sequence[SceneSpec] = SCENES) -> Path:
    """A self-contained static STAC catalog of ``scenes`` under ``tmp_path / "catalog"``;
    returns the path of its ``catalog.json`` (asset hrefs are saved relative)."""
    root = tmp_path / "catalog"
    items = make_items(root / "data", scenes)
    catalog = pystac.Catalog("test-catalog", "Earth Search-style Sentinel-2 test scenes")
    for item in items:
        catalog.add_item(item)
    catalog.normalize_hrefs(str(root))
    catalog.make_all_asset_hrefs_relative()
    catalog.save(pystac.CatalogType.SELF_CONTAINED)
    return root / "catalog.json"


# --------------------------------------------------------------------------------------------
# A STAC API on loopback
# --------------------------------------------------------------------------------------------

CONFORMANCE = [
    "https://api.stacspec.org/v1.0.0/core",
    "https://api.stacspec.org/v1.0.0/collections",
    "https://api.stacspec.org/v1.0.0/item-search",
    "https://api.stacspec.org/v1.0.0/item-search#query",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
]


@dataclass
class StubAPI:
    """A running loopback STAC API: its root ``url`` and the ``requests`` it received
    (method, path, parameters or JSON body)."""

    url: str
    features: list[dict]
    requests: list[tuple[str, str, dict]] = field(default_factory=list)


@contextlib.contextmanager
def serve_stac_api(
    features: Sequence[dict],
    collections: Sequence[str] = ("sentinel-2-l2a",),
    *,
    search_status: int = 200,
) -> Iterator[StubAPI]:
    """Serve a minimal STAC API on ``http://127.0.0.1:<free port>`` in a background thread.

    ``/`` (landing page with item-search and query conformance), ``/conformance``,
    ``/collections``, ``/collections/<id>`` and ``/search`` (GET and POST). ``/search``
    answers every query with all ``features`` (the loader filters again locally), so an empty
    list gives an empty search.

    Parameters
    ----------
    features
        Item dicts (``item.to_dict()``) to return from ``/search``.
    collections
        Collection ids the API lists.
    search_status
        HTTP status of ``/search``; anything but 200 answers with an error document.
    """
    state = StubAPI(url="", features=list(features))

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

        def _send(self, body: dict, status: int = 200) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _route(self, method: str, parameters: dict) -> None:
            path = urlparse(self.path).path.rstrip("/") or "/"
            state.requests.append((method, path, parameters))
            root = state.url
            if path == "/":
                self._send(
                    {
                        "type": "Catalog",
                        "id": "stub",
                        "description": "loopback STAC API for tests",
                        "stac_version": "1.0.0",
                        "conformsTo": CONFORMANCE,
                        "links": [
                            {"rel": "self", "href": f"{root}/", "type": "application/json"},
                            {"rel": "root", "href": f"{root}/", "type": "application/json"},
                            {"rel": "conformance", "href": f"{root}/conformance"},
                            {"rel": "data", "href": f"{root}/collections"},
                            {"rel": "search", "href": f"{root}/search", "method": "GET",
                             "type": "application/geo+json"},
                            {"rel": "search", "href": f"{root}/search", "method": "POST",
                             "type": "application/geo+json"},
                        ],
                    }
                )  # fmt: skip
            elif path == "/conformance":
                self._send({"conformsTo": CONFORMANCE})
            elif path == "/collections":
                self._send({"collections": [_collection(c, root) for c in collections],
                            "links": []})  # fmt: skip
            elif path.startswith("/collections/") and path.split("/")[2] in collections:
                self._send(_collection(path.split("/")[2], root))
            elif path == "/search" and search_status != 200:
                self._send({"code": "ServerError", "description": "stub failure"},
                           status=search_status)  # fmt: skip
            elif path == "/search":
                self._send({"type": "FeatureCollection", "features": state.features,
                            "links": []})  # fmt: skip
            else:
                self._send({"code": "NotFound", "description": path}, status=404)

        def do_GET(self) -> None:
            query = {k: v[0] for k, v in parse_qs(urlparse(self.path).query).items()}
            self._route("GET", query)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            self._route("POST", body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _collection(collection_id: str, root: str) -> dict:
    return {
        "type": "Collection",
        "id": collection_id,
        "stac_version": "1.0.0",
        "description": f"{collection_id} (test stub)",
        "license": "proprietary",
        "extent": {
            "spatial": {"bbox": [[-180, -90, 180, 90]]},
            "temporal": {"interval": [["2015-06-27T00:00:00Z", None]]},
        },
        "links": [
            {"rel": "self", "href": f"{root}/collections/{collection_id}"},
            {"rel": "root", "href": f"{root}/"},
        ],
    }


def closed_port_url() -> str:
    """``http://127.0.0.1:<port>`` of a port that was just free and is now closed."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


# --------------------------------------------------------------------------------------------
# Sentinel-3 SLSTR LST files
# --------------------------------------------------------------------------------------------

#: LST_in.nc packing: kelvin = int16 * scale + offset; -32768 = fill.
LST_SCALE, LST_OFFSET, LST_FILL = 0.002, 290.0, -32768


def write_slstr_lst(
    directory: Path,
    lon: np.ndarray,
    lat: np.ndarray,
    lst_kelvin: np.ndarray,
) -> tuple[Path, Path]:
    """Write ``LST_in.nc`` (``LST`` as scaled int16 with ``_FillValue``; NaN = fill) and
    ``geodetic_in.nc`` (``latitude_in``/``longitude_in`` as scaled int32, as in the product)
    in the SLSTR layout (dims ``rows``, ``columns``). Returns their paths."""
    import netCDF4

    directory.mkdir(parents=True, exist_ok=True)
    rows, columns = lst_kelvin.shape
    lst_path, geo_path = directory / "LST_in.nc", directory / "geodetic_in.nc"
    with netCDF4.Dataset(lst_path, "w") as nc:
        nc.createDimension("rows", rows)
        nc.createDimension("columns", columns)
        var = nc.createVariable("LST", "i2", ("rows", "columns"), fill_value=LST_FILL)
        var.scale_factor = LST_SCALE
        var.add_offset = LST_OFFSET
        var.units = "K"
        var.set_auto_maskandscale(True)
        var[:] = np.ma.masked_invalid(lst_kelvin)
    with netCDF4.Dataset(geo_path, "w") as nc:
        nc.createDimension("rows", rows)
        nc.createDimension("columns", columns)
        for name, values in (("latitude_in", lat), ("longitude_in", lon)):
            var = nc.createVariable(name, "i4", ("rows", "columns"), fill_value=-2147483648)
            var.scale_factor = 1e-6
            var.add_offset = 0.0
            var.units = "degrees"
            var[:] = values
    return lst_path, geo_path


def slstr_item(
    item_id: str,
    when: dt.datetime,
    lst_path: Path,
    geodetic_path: Path,
    bbox: Sequence[float],
) -> pystac.Item:
    """A Planetary Computer-style ``sentinel-3-slstr-lst-l2-netcdf`` item with the ``lst-in``
    and ``slstr-geodetic-in`` assets pointing at local files."""
    west, south, east, north = bbox
    geometry = {
        "type": "Polygon",
        "coordinates": [[[west, south], [east, south], [east, north], [west, north],
                         [west, south]]],
    }  # fmt: skip
    item = pystac.Item(item_id, geometry, list(bbox), when, {"platform": "sentinel-3a"})
    item.add_asset("lst-in", pystac.Asset(str(lst_path), media_type="application/x-netcdf"))
    item.add_asset(
        "slstr-geodetic-in", pystac.Asset(str(geodetic_path), media_type="application/x-netcdf")
    )
    return item


def planetary_computer_style(item: pystac.Item) -> pystac.Item:
    """A copy of an Earth Search-style test item as Planetary Computer writes Sentinel-2 L2A:
    asset keys ``B04``/``B08``/``SCL``, no ``raster:bands`` scale/offset, no
    ``earthsearch:*`` flag, sun angles as ``s2:mean_solar_azimuth``/``s2:mean_solar_zenith``."""
    pc = item.clone()
    renames = {**{v: k for k, v in REFLECTANCE_ASSETS.items()}, SCL_ASSET: "SCL"}
    for old, new in renames.items():
        asset = pc.assets.pop(old)
        asset.extra_fields.pop("raster:bands", None)
        pc.add_asset(new, asset)
    pc.properties.pop("earthsearch:boa_offset_applied", None)
    elevation = pc.properties.pop("view:sun_elevation", None)
    azimuth = pc.properties.pop("view:sun_azimuth", None)
    if elevation is not None:
        pc.properties["s2:mean_solar_zenith"] = 90.0 - elevation
        pc.properties["s2:mean_solar_azimuth"] = azimuth
    return pc


# --------------------------------------------------------------------------------------------
# Landsat Collection 2 Level-2 surface temperature
# --------------------------------------------------------------------------------------------

#: Landsat's 30 m lattice has its pixel corners at 15 m modulo 30 m.
LANDSAT_ORIGIN = (555_015.0, 4_145_115.0)
LANDSAT_SIZE = 40
LANDSAT_NODATA = ((3, 4),)


def landsat_dn(index: int) -> np.ndarray:
    """uint16 ST DN of a test Landsat scene: unique per pixel; 0 at LANDSAT_NODATA."""
    rows, cols = np.mgrid[0:LANDSAT_SIZE, 0:LANDSAT_SIZE]
    dn = (40_000 + 100 * rows + cols + 5_000 * index).astype("uint16")
    for r, c in LANDSAT_NODATA:
        dn[r, c] = 0
    return dn


def make_landsat_items(directory: Path) -> list[pystac.Item]:
    """Two Landsat C2 L2 items with local COGs: a Landsat 8 scene (asset ``lwir11``) and a
    Landsat 7 scene (asset ``lwir``), ``proj:code`` only, 30 m."""
    directory.mkdir(parents=True, exist_ok=True)
    transform = Affine(30.0, 0, LANDSAT_ORIGIN[0], 0, -30.0, LANDSAT_ORIGIN[1])
    bbox, geometry = _lonlat_footprint(transform, (LANDSAT_SIZE, LANDSAT_SIZE), EPSG)
    specs = [
        ("LC08_L2SP_044034_20230610_02_T1", dt.datetime(2023, 6, 10, 18, 50), "landsat-8",
         "lwir11", 0),
        ("LE07_L2SP_044034_20230602_02_T1", dt.datetime(2023, 6, 2, 18, 40), "landsat-7",
         "lwir", 1),
    ]  # fmt: skip
    items = []
    for item_id, when, platform, key, index in specs:
        path = write_cog(directory / f"{item_id}_ST_B10.tif", landsat_dn(index), transform)
        item = pystac.Item(
            item_id, geometry, bbox, when.replace(tzinfo=dt.timezone.utc),
            {"platform": platform, "eo:cloud_cover": 12.0},
        )  # fmt: skip
        ProjectionExtension.ext(item, add_if_missing=True).code = f"EPSG:{EPSG}"
        asset = pystac.Asset(str(path), media_type=pystac.MediaType.COG, roles=["data"])
        item.add_asset(key, asset)
        ProjectionExtension.ext(asset).shape = [LANDSAT_SIZE, LANDSAT_SIZE]
        ProjectionExtension.ext(asset).transform = list(transform)[:6]
        items.append(item)
    return items


def forbid_network(monkeypatch: Any) -> None:
    """Make any IPv4/IPv6 connection other than to loopback fail loudly (for a test's
    duration, through pytest's ``monkeypatch``)."""
    real_connect = socket.socket.connect

    def connect(self: socket.socket, address: Any) -> Any:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            host = address[0]
            if host not in ("127.0.0.1", "::1", "localhost"):
                raise AssertionError(f"a test tried to reach {address}: tests stay offline")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
