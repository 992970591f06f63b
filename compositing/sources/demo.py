"""The offline demo scene: a synthetic, deterministic Sentinel-2 collection anywhere on Earth.

**Synthetic.** Nothing here is a measurement: it is a procedural landscape (crop fields with a
season, centre pivots, forest, water, bare soil, towns) under moving clouds and their shadows,
made so that compositing, cloud masking and thermal sharpening can be learnt and tested offline
against a known truth. Every array says so in ``attrs["synthetic"]`` and ``attrs["title"]``.

* :func:`load` gives L2A-like (12 bands + SCL + MSK_CLDPRB) or L1C-like (13 bands) collections on
  Sentinel-2's 5-day revisit, lazily, one dask chunk per date and tile.
* :func:`load_lst` gives a Sentinel-3-like land surface temperature at 0.01 degrees (~1 km) in
  EPSG:4326, on the same dates (cells more than 30% cloudy are masked, as in the real product).
* :func:`truth` gives what the sensors cannot see: the cloud-free reflectance, the cloud and
  shadow masks and the 10 m temperature.

Values are functions of position and date only (see :mod:`compositing.sources.demo_scene`): a
pixel does not depend on the size of the request, and a coarse request averages the fine scene
(each coarse pixel averages k x k sub-samples).
"""

from __future__ import annotations

import functools
import math
from statistics import NormalDist

import dask.array as da
import numpy as np
import pandas as pd
import pyproj
import rioxarray  # noqa: F401  (registers .rio, so every collection has .rio.crs)
import xarray as xr
from affine import Affine

from ..geo import LONLAT, Grid, grid_for, transformer, utm_crs
from ..mgrs import SQUARE_M, mgrs_square_bounds, mgrs_tile
from ..solar import solar_angles
from . import demo_scene as scene
from .dates import parse_dates

TITLE = "Demo scene (synthetic): procedural landscape, not real data"
REVISIT_DAYS = 5
#: Days kept clear whatever the weather draw, so that the source documents' lessons reproduce: the
#: thermal article found a clear Sentinel-2 and Sentinel-3 pair over California on 2023-06-20.
CLEAR_DAYS = frozenset({pd.Timestamp("2023-06-20")})
LST_CELL_DEG = 0.01
LST_SAMPLES_PER_CELL = 20

#: The source documents' places and dates.
PRESETS: dict[str, dict] = {
    "Earth Engine mosaic example: San Francisco Peninsula, July 2021": {
        "point": (-122.373, 37.448),
        "dates": ("2021-07-01", "2021-08-01"),
    },
    "Earth Engine qualityMosaic example: Colorado plains, Jul-Aug 2020": {
        "point": (-103.19, 40.14),
        "dates": ("2020-07-01", "2020-09-01"),
    },
    "Thermal sharpening article: Central Valley, 19-21 June 2023": {
        "point": (-121.01, 37.67),
        "dates": ("2023-06-19", "2023-06-22"),
    },
}


def load(
    grid: Grid,
    start: pd.Timestamp,
    end: pd.Timestamp,
    *,
    product: str = "L2A",
    bands: list[str] | None = None,
    chunksize: int = 512,
) -> xr.DataArray:
    """The demo collection on ``grid`` for passes in ``[start, end)``.

    Parameters
    ----------
    grid
        Where to put the pixels (see :func:`compositing.geo.grid_for`).
    start, end
        The dates; ``end`` is exclusive.
    product
        ``"L2A"``: B01-B12 without B10, SCL and MSK_CLDPRB; ``"L1C"``: the 13 bands.
    bands
        Band names to keep (default all).
    chunksize
        Spatial chunk size in pixels (one date per chunk).
    """
    mode, all_bands = {
        "L2A": (scene.MODE_L2A, scene.L2A_BANDS),
        "L1C": (scene.MODE_L1C, scene.L1C_BANDS),
    }[product]
    selected = _select(all_bands, bands, product)
    times = pass_times(grid, start, end)
    data = _render_lazy(grid, times, mode, len(all_bands), chunksize)
    data = data[:, [all_bands.index(b) for b in selected]]
    return _collection(grid, times, data, selected, product=product)


def truth(
    *,
    point: tuple[float, float] | None = None,
    dates: tuple[str, str],
    size_m: float = 10_000,
    bbox: tuple[float, float, float, float] | None = None,
    resolution: float = 10,
    crs: str | int | None = None,
    chunksize: int = 512,
) -> xr.Dataset:
    """What the demo's sensors cannot see, on the same grid as :func:`compositing.load`.

    Returns a Dataset with ``clear`` (time, band, y, x: the cloud- and shadow-free L2A
    reflectance), ``cloud`` and ``shadow`` (time, y, x, bool), ``lst`` (time, y, x: the 10 m land
    surface temperature in kelvin on every pass) and ``cover`` (y, x: the land-cover class, names
    in ``attrs["cover_names"]``).
    """
    start, end = parse_dates(dates)
    grid = grid_for(point=point, size_m=size_m, bbox=bbox, resolution=resolution, crs=crs)
    times = pass_times(grid, start, end)
    channels = _render_lazy(grid, times, scene.MODE_TRUTH, len(scene.TRUTH_CHANNELS), chunksize)
    n_reflectance = len(scene.L2A_REFLECTANCE)
    index = {name: i for i, name in enumerate(scene.TRUTH_CHANNELS)}
    clear = _collection(
        grid, times, channels[:, :n_reflectance], scene.L2A_REFLECTANCE, product="L2A"
    )
    plane = clear.isel(band=0, drop=True)
    dataset = xr.Dataset(
        {
            "clear": clear,
            "cloud": plane.copy(data=channels[:, index["cloud"]] > 0.5),
            "shadow": plane.copy(data=channels[:, index["shadow"]] > 0.5),
            "lst": plane.copy(data=channels[:, index["lst"]]).assign_attrs(units="K"),
            "cover": plane.isel(time=0, drop=True).copy(
                data=channels[0, index["cover"]].astype("int8")
            ),
        },
        attrs={"synthetic": True, "title": TITLE, "cover_names": list(scene.COVER_NAMES)},
    )
    return dataset


def load_lst(
    area: Grid, start: pd.Timestamp, end: pd.Timestamp, *, cell_deg: float = LST_CELL_DEG
) -> xr.DataArray:
    """A Sentinel-3-like land surface temperature (K) on its own 0.01-degree EPSG:4326 grid.

    Each cell averages the 10 m temperature over its footprint; cells more than 30% covered by
    cloud are masked (NaN), as the real product masks cloudy pixels. Sensor noise of about
    0.3 K is added per cell.

    Parameters
    ----------
    area
        The area of interest; every cell touching it is returned.
    start, end
        The dates; ``end`` is exclusive. Passes coincide with Sentinel-2's.
    cell_deg
        Cell size in degrees.
    """
    west, south, east, north = area.bounds_lonlat()
    west = math.floor(west / cell_deg) * cell_deg
    north = math.ceil(north / cell_deg) * cell_deg
    n_x = max(1, math.ceil((east - west) / cell_deg - 1e-9))
    n_y = max(1, math.ceil((north - south) / cell_deg - 1e-9))
    lon = west + cell_deg * (np.arange(n_x) + 0.5)
    lat = north - cell_deg * (np.arange(n_y) + 0.5)
    times = pass_times(area, start, end)
    scene_crs = _scene_crs(area)
    params = [date_parameters(t, area) for t in times]
    blocks = [
        da.from_delayed(
            _lst_cells_delayed(lon, lat, cell_deg, scene_crs.to_epsg(), p),
            shape=(n_y, n_x),
            dtype=np.float32,
        )[None]
        for p in params
    ]
    data = da.concatenate(blocks) if blocks else da.zeros((0, n_y, n_x), np.float32)
    lst = xr.DataArray(
        data,
        dims=("time", "y", "x"),
        coords={"time": times, "y": lat, "x": lon},
        name="lst",
        attrs={
            "units": "K",
            "long_name": "land surface temperature",
            "source": "demo",
            "synthetic": True,
            "title": TITLE + " (Sentinel-3-like LST, 0.01 degree)",
        },
    )
    # The transform is written so that a one-cell axis (a small area) still has bounds and a
    # resolution for rioxarray, which cannot infer them from a single coordinate.
    transform = Affine(cell_deg, 0.0, west, 0.0, -cell_deg, north)
    return lst.rio.write_crs("EPSG:4326").rio.write_transform(transform)


# --- dates and per-date parameters ------------------------------------------------------------


def pass_times(grid: Grid, start: pd.Timestamp, end: pd.Timestamp) -> pd.DatetimeIndex:
    """Sentinel-2-like passes over the grid in ``[start, end)``: every 5 days at ~10:30 local
    solar time. The phase of the 5-day cycle depends on the UTM zone (as relative orbits do)."""
    lon, _ = _reference_lonlat(grid)
    zone = int((lon + 180.0) // 6.0) + 1
    first_day = start.normalize()
    days = pd.date_range(first_day, end, freq="D")
    epoch_day = (days - pd.Timestamp("1970-01-01")).days
    days = days[(epoch_day - (zone + 3)) % REVISIT_DAYS == 0]
    overpass = pd.Timedelta(hours=10.5 - lon / 15.0).round("min")
    times = days + overpass
    return pd.DatetimeIndex(times[(times >= start) & (times < end)], name="time")


def date_parameters(time: pd.Timestamp, grid: Grid) -> np.ndarray:
    """The weather and sun of one pass, drawn deterministically from the date and zone."""
    return _reference_parameters(time, *_reference_lonlat(grid))


def _reference_parameters(time: pd.Timestamp, lon: float, lat: float) -> np.ndarray:
    """:func:`date_parameters` at the grid's reference point (lon, lat)."""
    day = int((time.normalize() - pd.Timestamp("1970-01-01")).days)
    zone = int((lon + 180.0) // 6.0) + 1
    draw = [scene.hash01(day, zone, 1000 + i) for i in range(8)]
    cover = 0.03 + 0.37 * draw[0] ** 1.5  # cumulus; cirrus comes on top on some dates
    if time.normalize() in CLEAR_DAYS:
        cover = 0.01
    azimuth, zenith = (float(v[0]) for v in solar_angles(pd.DatetimeIndex([time]), lon, lat))
    height = 1000.0 + 1200.0 * draw[1]
    # A ground point is shaded by the cloud that lies towards the sun at the cloud's height.
    reach = height * math.tan(math.radians(zenith))
    season = math.cos(2 * math.pi * (time.dayofyear - 200) / 365.25)
    if lat < 0:
        season = -season
    params = np.zeros(scene.N_DATE_PARAMS)
    params[scene.P_DOY] = time.dayofyear
    params[scene.P_CLOUD_THR] = scene.FBM_MEAN + scene.FBM_STD * NormalDist().inv_cdf(1 - cover)
    params[scene.P_CLOUD_OX] = (draw[2] - 0.5) * 2e6
    params[scene.P_CLOUD_OY] = (draw[3] - 0.5) * 2e6
    params[scene.P_SHADOW_DX] = reach * math.sin(math.radians(azimuth))
    params[scene.P_SHADOW_DY] = reach * math.cos(math.radians(azimuth))
    has_cirrus = draw[4] < 0.25 and time.normalize() not in CLEAR_DAYS
    params[scene.P_CIRRUS] = 0.25 + 0.2 * draw[5] if has_cirrus else 0.0
    params[scene.P_CIRRUS_OX] = (draw[6] - 0.5) * 2e6
    params[scene.P_CIRRUS_OY] = (draw[7] - 0.5) * 2e6
    params[scene.P_DATE_SEED] = day
    params[scene.P_T_BASE] = 309.0 + 12.0 * season
    return params


# --- rendering --------------------------------------------------------------------------------


def _render_lazy(
    grid: Grid, times: pd.DatetimeIndex, mode: int, n_channels: int, chunksize: int
) -> da.Array:
    """(time, channel, y, x) float32, one dask task per date and spatial tile."""
    params = np.stack([date_parameters(t, grid) for t in times]) if len(times) else None
    chunks = (
        (1,) * len(times) or (0,),  # dask wants (0,), not (), for an empty axis
        (n_channels,),
        _split(grid.height, chunksize),
        _split(grid.width, chunksize),
    )
    if not len(times):
        return da.zeros((0, n_channels, grid.height, grid.width), np.float32, chunks=chunks)
    scene_epsg = _scene_crs(grid).to_epsg()
    ground_resolution = _ground_resolution(grid, scene_epsg)
    k = samples_per_pixel(ground_resolution)
    # Scene coordinates are computed once per tile and shared by every date's task (a pyproj
    # transform of a tile costs about as much as rendering it).
    coordinates = da.map_blocks(
        _coordinates_block,
        dtype=np.float64,
        chunks=((2,), chunks[2], chunks[3]),
        meta=np.empty((0, 0, 0), np.float64),
        grid=grid,
        scene_epsg=scene_epsg,
    )
    date_index = da.arange(len(times), chunks=1)
    return da.blockwise(
        _render_block,
        "tcyx",
        coordinates,
        "kyx",
        date_index,
        "t",
        new_axes={"c": n_channels},
        concatenate=True,
        dtype=np.float32,
        meta=np.empty((0, 0, 0, 0), np.float32),
        params=params,
        mode=mode,
        k=k,
        step=ground_resolution / k,
    )


def _coordinates_block(grid, scene_epsg, block_info=None):
    (y0, y1), (x0, x1) = block_info[None]["array-location"][1:]
    return np.stack(_scene_coordinates(grid, scene_epsg, y0, y1, x0, x1))


def _render_block(coordinates, date_index, params, mode, k, step):
    xs, ys = coordinates
    out = np.empty((scene.N_CHANNELS[mode], *xs.shape), dtype=np.float32)
    scene.render(xs, ys, step, k, params[int(date_index[0])], mode, out)
    return out[None]


def _scene_coordinates(grid: Grid, scene_epsg: int, y0: int, y1: int, x0: int, x1: int):
    """Pixel centres of a block in the scene's UTM metres, as two (H, W) arrays."""
    xs, ys = np.meshgrid(grid.x[x0:x1], grid.y[y0:y1])
    if grid.epsg != scene_epsg:
        xs, ys = transformer(grid.crs, scene_epsg).transform(xs, ys)
    return np.ascontiguousarray(xs, np.float64), np.ascontiguousarray(ys, np.float64)


def _lst_cells_delayed(lon, lat, cell_deg, scene_epsg, params):
    import dask

    return dask.delayed(_lst_cells, pure=True)(lon, lat, cell_deg, scene_epsg, params)


def _lst_cells(lon, lat, cell_deg, scene_epsg, params) -> np.ndarray:
    """Average the 10 m truth over each cell's footprint (n x n samples per cell)."""
    n = LST_SAMPLES_PER_CELL
    offsets = cell_deg * ((np.arange(n) + 0.5) / n - 0.5)
    sample_lon = (lon[:, None] + offsets[None, :]).ravel()
    sample_lat = (lat[:, None] - offsets[None, :]).ravel()
    grid_lon, grid_lat = np.meshgrid(sample_lon, sample_lat)
    xs, ys = transformer(LONLAT, scene_epsg).transform(grid_lon, grid_lat)
    channels = np.empty((len(scene.TRUTH_CHANNELS), *xs.shape), dtype=np.float32)
    scene.render(
        np.ascontiguousarray(xs),
        np.ascontiguousarray(ys),
        0.0,
        1,
        params,
        scene.MODE_TRUTH,
        channels,
    )
    index = scene.TRUTH_CHANNELS.index
    lst = channels[index("lst")].reshape(len(lat), n, len(lon), n).mean(axis=(1, 3))
    cloudy = channels[index("cloud")].reshape(len(lat), n, len(lon), n).mean(axis=(1, 3))
    noise = np.array(
        [
            [scene.hash01(int(round(x / cell_deg)), int(round(y / cell_deg)), 97) for x in lon]
            for y in lat
        ]
    )
    lst = lst + 0.6 * (noise - 0.5)
    return np.where(cloudy > 0.3, np.nan, lst).astype(np.float32)


# --- helpers ----------------------------------------------------------------------------------


#: Samples per side of the tile when its cloud cover is measured (every 2 km of 100 km).
TILE_SAMPLES = 50


def image_properties(grid: Grid, times: pd.DatetimeIndex) -> dict[str, tuple[str, object]]:
    """Each pass's properties, as Earth Engine's Sentinel-2 images have them
    (compositing.properties): ``id`` (``system:index``), ``platform`` (the two satellites take
    turns), ``mgrs_tile`` (the tile at the grid's centre) and ``cloud_cover``, the percent of
    that whole tile (not of the grid) that the scene's own classification calls cloud (SCL 8,
    9, 10), as Sen2Cor's ``CLOUDY_PIXEL_PERCENTAGE`` is a tile's. Computed now, from a few
    thousand points per pass."""
    west, south, east, north = grid.bounds_lonlat()
    lon, lat = (west + east) / 2, (south + north) / 2
    tile = mgrs_tile(lon, lat)
    days = (times.normalize() - pd.Timestamp("1970-01-01")).days
    return {
        "id": ("time", [f"{t:%Y%m%dT%H%M%S}_{t:%Y%m%dT%H%M%S}_T{tile}" for t in times]),
        "platform": (
            "time",
            ["sentinel-2a" if d // REVISIT_DAYS % 2 else "sentinel-2b" for d in days],
        ),
        "mgrs_tile": ("time", [tile] * len(times)),
        "cloud_cover": ("time", _tile_cloud_cover(grid, times, lon, lat)),
    }


def _tile_cloud_cover(grid: Grid, times: pd.DatetimeIndex, lon: float, lat: float) -> np.ndarray:
    """Percent of the MGRS square at (lon, lat) that the scene calls cloud, per pass."""
    square_crs, (left, bottom, _, _) = mgrs_square_bounds(lon, lat)
    reference = _reference_lonlat(grid)
    scene_epsg = _scene_crs(grid).to_epsg()
    square = (square_crs.to_epsg(), left, bottom)
    return np.array([_pass_cloud_cover(square, scene_epsg, reference, t) for t in times])


# Cached: panning and zooming in the dashboard asks for the same tile and dates again and again
# (about 9 ms a pass: a year's passes cost 0.7 s).
@functools.lru_cache(maxsize=4096)
def _pass_cloud_cover(
    square: tuple[int, float, float],
    scene_epsg: int,
    reference: tuple[float, float],
    time: pd.Timestamp,
) -> float:
    epsg, left, bottom = square
    step = SQUARE_M / TILE_SAMPLES
    centres = step * (np.arange(TILE_SAMPLES) + 0.5)
    xs, ys = np.meshgrid(left + centres, bottom + centres)
    xs, ys = transformer(epsg, scene_epsg).transform(xs.ravel(), ys.ravel())
    xs, ys = np.ascontiguousarray(xs, np.float64), np.ascontiguousarray(ys, np.float64)
    return 100 * scene.cloud_class_share(xs, ys, _reference_parameters(time, *reference))


def _collection(
    grid: Grid, times: pd.DatetimeIndex, data: da.Array, bands, *, product: str
) -> xr.DataArray:
    lon, lat = _reference_lonlat(grid)
    azimuth, zenith = solar_angles(times, lon, lat)
    collection = xr.DataArray(
        data,
        dims=("time", "band", "y", "x"),
        coords={
            "time": times,
            "band": list(bands),
            "y": grid.y,
            "x": grid.x,
            "solar_azimuth": ("time", azimuth),
            "solar_zenith": ("time", zenith),
            **image_properties(grid, times),
        },
        name="reflectance",
        attrs={
            "source": "demo",
            "product": product,
            "synthetic": True,
            "title": TITLE,
            "units": "reflectance x 10000 (SCL: class, MSK_CLDPRB: percent)",
        },
    )
    return collection.rio.write_crs(grid.crs)


def _select(all_bands, bands, product):
    if bands is None:
        return list(all_bands)
    missing = [b for b in bands if b not in all_bands]
    if missing:
        raise ValueError(
            f"the demo's {product} product has no band {missing}; its bands are {list(all_bands)}"
            + (" (B10 is in L1C only: use product='L1C')" if "B10" in missing else "")
        )
    return list(bands)


def _split(n: int, size: int) -> tuple[int, ...]:
    return tuple(min(size, n - i) for i in range(0, n, size)) or (0,)


def _reference_lonlat(grid: Grid) -> tuple[float, float]:
    """The grid's centre in lon/lat, rounded to 0.5 degree: sun and overpass times are computed
    there, so they are the same for every request around a place."""
    west, south, east, north = grid.bounds_lonlat()
    return round((west + east) / 2 * 2) / 2, round((south + north) / 2 * 2) / 2


def _scene_crs(grid: Grid) -> pyproj.CRS:
    return utm_crs(*_reference_lonlat(grid))


#: (coarsest ground resolution in metres, samples per side): a coarse pixel averages k x k
#: samples of the fine scene; beyond the last step, 7 x 7. Odd counts keep a central sample for
#: the categorical channels (SCL).
SAMPLE_STEPS = ((25.0, 1), (80.0, 3), (200.0, 5))
SAMPLES_BEYOND = 7


def samples_per_pixel(ground_resolution: float) -> int:
    """k, where each pixel at ``ground_resolution`` metres averages k x k samples: the cost of
    rendering a pixel grows as k squared (the dashboard budgets its views with it)."""
    for coarsest_m, k in SAMPLE_STEPS:
        if ground_resolution <= coarsest_m:
            return k
    return SAMPLES_BEYOND


def _ground_resolution(grid: Grid, scene_epsg: int) -> float:
    """Metres on the ground between two neighbouring pixel centres at the grid's centre."""
    cx = grid.left + grid.resolution * grid.width / 2
    cy = grid.top - grid.resolution * grid.height / 2
    if grid.epsg == scene_epsg:
        return grid.resolution
    to_scene = transformer(grid.crs, scene_epsg)
    (x0, x1), (y0, y1) = to_scene.transform([cx, cx + grid.resolution], [cy, cy])
    return float(math.hypot(x1 - x0, y1 - y0))


def sampling_step_limits() -> tuple[float, ...]:
    """The ground resolutions (metres, finest first) up to which :func:`samples_per_pixel` keeps
    each of its counts: a pixel at a limit takes fewer samples than one just coarser (the
    dashboard snaps its views to them)."""
    return tuple(coarsest_m for coarsest_m, _ in SAMPLE_STEPS)
