"""Self-consistency of :func:`compositing.thermal.sharpen` on the demo scene, its accuracy on real
Landsat-8 data, and its memory at full-tile scale.

Run from the repository root::

    python -m benchmarks.bench_thermal            # full run, benchmarks/results/thermal.{md,json}
    python -m benchmarks.bench_thermal --quick    # small sizes, benchmarks/output/ (gitignored)

**Self-consistency on the demo scene.** The demo's truth is generated with the very
assumption the method makes (LST is a line in NDVI per land cover), so this checks the
implementation, not the method's accuracy. At the thermal article's place and date (the Central
Valley, the clear pass of 2023-06-20), the demo's ~1 km LST (0.01 degree, EPSG:4326) is brought
to the Sentinel-2 grid (UTM) by several methods, and each result is compared with the demo's
10 m truth (``demo.truth(...)["lst"]``) over the pixels where every method and the truth have
a value:

* ``sharpen`` (its default: water, NDVI < 0, is a class of its own), with and without residual
  correction,
* ``sharpen(water_ndvi=None)``: the article's single line for every pixel, with and without,
* nearest and bilinear upsampling of the LST (``xarray.interp`` in the LST's CRS at the fine
  pixel centres, extrapolating at the edges),
* the article's recipe: the LST reprojected bilinearly onto the Sentinel-2 CRS first
  (``calculate_default_transform`` + ``reproject``), NDVI averaged per reprojected pixel (pixel
  centres in the pixel, as rasterstats' zonal_stats does), the same filters, ``np.polyfit``, and
  ``slope * ndvi + intercept``.

The NDVI is the demo L2A's (B08 - B04) / (B08 + B04), masked where the SCL says cloud, cirrus or
shadow. The goal: a sharpened RMSE below half of bilinear upsampling's.

**Accuracy on real data.** :mod:`benchmarks.bench_thermal_real`: a real cloudy Landsat-8 scene's
TIRS brightness temperature, averaged to ~1 km, sharpened back with its 30 m NDVI and scored at
the thermal band's native ~100 m (skipped, and said so, where ``../shared/realdata`` is absent).

**Scale.** A lazily generated 10980 x 10980 float32 NDVI (a Sentinel-2 tile at 10 m, UTM, in
1024 x 1024 chunks) and a synthetic 0.01 degree LST over it are sharpened in a fresh subprocess,
the map reduced to its sum (or written as a COG), and the subprocess's peak RSS recorded.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import dask.array as da
import numpy as np
import pandas as pd
import psutil
import pyproj
import xarray as xr

import compositing
from benchmarks import bench_thermal_real
from benchmarks.measure import MIB, json_ready, machine, own_high_water_mib, run_measured
from compositing.export import write_cog
from compositing.sources import demo
from compositing.thermal import DEFAULT_LST_RANGE, DEFAULT_NDVI_RANGE, sharpen

ROOT = Path(__file__).resolve().parent.parent
FULL_OUT = ROOT / "benchmarks" / "results"
QUICK_OUT = ROOT / "benchmarks" / "output"  # gitignored

#: The thermal article's place and dates (demo.PRESETS["Thermal sharpening article: ..."]).
POINT = (-121.01, 37.67)
DATES = ("2023-06-19", "2023-06-22")
#: SCL classes masked in the NDVI: cloud shadow, cloud medium/high probability, cirrus.
SCL_MASKED = (3, 8, 9, 10)
GOAL_FACTOR = 0.5
SELF_CONSISTENCY_TITLE = "Self-consistency on the demo scene (synthetic)"
REAL_TITLE = bench_thermal_real.TITLE
VERSIONED = ("numpy", "xarray", "dask", "pyproj", "rasterio", "rioxarray")


@dataclass(frozen=True)
class Sizes:
    label: str
    size_m: float
    resolution: float
    #: Side of the lazily generated NDVI of the scale subprocesses, and its chunk.
    scale: int
    scale_chunk: int
    scale_timeout: float


FULL = Sizes("full", 20_000, 10, 10_980, 1024, 1800.0)
QUICK = Sizes("quick", 8_000, 20, 2048, 512, 300.0)


# --- the demo scene ----------------------------------------------------------------------------


@dataclass
class Scene:
    ndvi: xr.DataArray
    lst: xr.DataArray
    truth: np.ndarray
    cover: np.ndarray
    cover_names: list[str]
    masked_share: float


def demo_scene(sizes: Sizes) -> Scene:
    """NDVI (cloud-masked), LST and the 10 m truth at the article's place, on one UTM grid."""
    request = {"point": POINT, "dates": DATES, "size_m": sizes.size_m}
    image = compositing.load(
        **request, resolution=sizes.resolution, bands=["B04", "B08", "SCL"]
    ).isel(time=0)
    red, nir = image.sel(band="B04"), image.sel(band="B08")
    masked = image.sel(band="SCL").isin(SCL_MASKED)
    ndvi = ((nir - red) / (nir + red)).where(~masked).rename("ndvi")
    ndvi = ndvi.rio.write_crs(image.rio.crs).persist()
    lst = compositing.load_lst(**request).isel(time=0).load()
    truth = demo.truth(**request, resolution=sizes.resolution)
    return Scene(
        ndvi=ndvi,
        lst=lst,
        truth=truth["lst"].isel(time=0).values.astype(np.float64),
        cover=truth["cover"].values,
        cover_names=list(truth.attrs["cover_names"]),
        masked_share=float(masked.mean()),
    )


def fine_centres_in(ndvi: xr.DataArray, crs: object) -> tuple[np.ndarray, np.ndarray]:
    to_crs = pyproj.Transformer.from_crs(ndvi.rio.crs, crs, always_xy=True)
    return to_crs.transform(*np.meshgrid(ndvi["x"].values, ndvi["y"].values))


def upsample(lst: xr.DataArray, ndvi: xr.DataArray, method: str) -> np.ndarray:
    """The LST at every fine pixel centre, interpolated in the LST's own CRS."""
    cx, cy = fine_centres_in(ndvi, lst.rio.crs)
    points = {"x": xr.DataArray(cx, dims=("y", "x")), "y": xr.DataArray(cy, dims=("y", "x"))}
    return lst.interp(points, method=method, kwargs={"fill_value": None}).values


@dataclass
class RecipeFit:
    sharpened: np.ndarray
    slope: float
    intercept: float
    r2: float
    n: int


def article_recipe(lst: xr.DataArray, ndvi: xr.DataArray) -> RecipeFit:
    """The thermal article's flow: reproject the LST bilinearly onto the NDVI's CRS, average the
    NDVI per reprojected pixel, filter, ``np.polyfit``, apply the line."""
    from rasterio.warp import Resampling, calculate_default_transform, reproject

    height, width = lst.shape
    transform, out_width, out_height = calculate_default_transform(
        lst.rio.crs, ndvi.rio.crs, width, height, *lst.rio.bounds()
    )
    warped = np.full((out_height, out_width), np.nan, np.float32)
    reproject(
        source=lst.values.astype(np.float32),
        destination=warped,
        src_transform=lst.rio.transform(),
        src_crs=lst.rio.crs,
        dst_transform=transform,
        dst_crs=ndvi.rio.crs,
        resampling=Resampling.bilinear,
        src_nodata=np.nan,
        dst_nodata=np.nan,
    )
    # Zonal mean NDVI per warped pixel: the fine pixels whose centre lies in it (the article's
    # clip to the Sentinel-2 extent keeps exactly the pixels that have some).
    cols = np.floor((ndvi["x"].values - transform.c) / transform.a).astype(int)
    rows = np.floor((ndvi["y"].values - transform.f) / transform.e).astype(int)
    flat = (rows[:, None] * out_width + cols[None, :]).ravel()
    values = ndvi.values.ravel().astype(np.float64)
    valid = np.isfinite(values)
    counts = np.bincount(flat[valid], minlength=warped.size)
    sums = np.bincount(flat[valid], values[valid], minlength=warped.size)
    have = counts > 0
    pairs = pd.DataFrame({"NDVI": sums[have] / counts[have], "Temperature": warped.ravel()[have]})
    pairs = pairs.dropna()
    (n_low, n_high), (t_low, t_high) = DEFAULT_NDVI_RANGE, DEFAULT_LST_RANGE
    kept = pairs[pairs["NDVI"].between(n_low, n_high) & pairs["Temperature"].between(t_low, t_high)]
    slope, intercept = np.polyfit(kept["NDVI"], kept["Temperature"], 1)
    predicted = slope * kept["NDVI"] + intercept
    r2 = 1 - np.sum((kept["Temperature"] - predicted) ** 2) / np.sum(
        (kept["Temperature"] - kept["Temperature"].mean()) ** 2
    )
    return RecipeFit(
        slope * ndvi.values + intercept, float(slope), float(intercept), float(r2), len(kept)
    )


@dataclass
class Row:
    method: str
    rmse: float
    bias: float
    slope: float | None = None
    intercept: float | None = None
    r2: float | None = None
    n: int | None = None
    cv_rmse: float | None = None
    water_lst: float | None = None
    seconds: float | None = None
    is_sharpening: bool = True
    goal_met: bool | None = None


def accuracy(sizes: Sizes, step: Callable[[str], None]) -> tuple[list[Row], dict[str, Any]]:
    step(f"demo scene {sizes.size_m / 1000:g} km at {sizes.resolution:g} m")
    scene = demo_scene(sizes)
    maps: dict[str, np.ndarray] = {}
    fits: dict[str, dict[str, Any]] = {}
    summaries: dict[str, str] = {}
    variants = {
        "sharpen (default: water its own class), residual correction": {},
        "sharpen (default), no residual correction": {"residual_correction": False},
        "sharpen, one line (water_ndvi=None), residual correction": {"water_ndvi": None},
        "sharpen, one line (water_ndvi=None), no residual correction": {
            "water_ndvi": None,
            "residual_correction": False,
        },
    }
    for name, options in variants.items():
        step(name)
        start = time.perf_counter()
        result = sharpen(scene.lst, scene.ndvi, **options)
        maps[name] = result.sharpened.values.astype(np.float64)
        fits[name] = {
            "slope": result.slope,
            "intercept": result.intercept,
            "r2": result.r2,
            "n": result.n,
            "cv_rmse": result.cv_rmse,
            "water_lst": result.water_lst,
            "seconds": time.perf_counter() - start,
        }
        summaries[name] = result.summary()
    step("nearest, bilinear, the article's recipe")
    maps["nearest upsampling of the 1 km LST"] = upsample(scene.lst, scene.ndvi, "nearest")
    maps["bilinear upsampling of the 1 km LST"] = upsample(scene.lst, scene.ndvi, "linear")
    recipe = article_recipe(scene.lst, scene.ndvi)
    recipe_name = "the article's recipe (LST reprojected bilinearly first, line everywhere)"
    maps[recipe_name] = recipe.sharpened
    fits[recipe_name] = {
        "slope": recipe.slope,
        "intercept": recipe.intercept,
        "r2": recipe.r2,
        "n": recipe.n,
    }

    compared = np.isfinite(scene.truth)
    for values in maps.values():
        compared &= np.isfinite(values)
    bilinear = _rmse(maps["bilinear upsampling of the 1 km LST"], scene.truth, compared)
    rows = []
    for name, values in maps.items():
        upsampling = "upsampling" in name
        rmse = _rmse(values, scene.truth, compared)
        rows.append(
            Row(
                method=name,
                rmse=rmse,
                bias=float(np.mean(values[compared] - scene.truth[compared])),
                is_sharpening=not upsampling,
                goal_met=None if upsampling else rmse < GOAL_FACTOR * bilinear,
                **fits.get(name, {}),
            )
        )
    by_cover = {}
    for code, cover in enumerate(scene.cover_names):
        where = compared & (scene.cover == code)
        if where.any():
            by_cover[cover] = {
                "share": float(where.sum() / compared.sum()),
                **{name: _rmse(values, scene.truth, where) for name, values in maps.items()},
            }
    details = {
        "grid": {
            "size_m": sizes.size_m,
            "resolution": sizes.resolution,
            "shape": list(scene.ndvi.shape),
            "crs": scene.ndvi.rio.crs.to_string(),
        },
        "lst_shape": list(scene.lst.shape),
        "ndvi_masked_share": scene.masked_share,
        "compared_pixels": int(compared.sum()),
        "compared_share": float(compared.mean()),
        "bilinear_rmse": bilinear,
        "goal_rmse": GOAL_FACTOR * bilinear,
        "rmse_by_cover": by_cover,
        "summaries": summaries,
    }
    return rows, details


def _rmse(values: np.ndarray, truth: np.ndarray, where: np.ndarray) -> float:
    return float(np.sqrt(np.mean((values[where] - truth[where]) ** 2)))


# --- scale: one fresh subprocess per variant --------------------------------------------------

SCALE_VARIANTS = ("input", "sharpen", "cog")
SCALE_ORIGIN = (600_000.0, 4_200_000.0)  # the top-left corner of tile T10SFG in EPSG:32610
SCALE_CRS = "EPSG:32610"


def _synthetic_ndvi(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Fields of a few hundred metres plus pixel noise: 0.1..0.7."""
    fields = np.sin(x[None, :] / 450.0) * np.cos(y[:, None] / 610.0)
    noise = np.sin(x[None, :] * 12.9898 + y[:, None] * 78.233) * 43758.5453 % 1.0
    return (0.4 + 0.25 * fields + 0.05 * (noise - 0.5)).astype(np.float32)


def _ndvi_block(res: float, block_info: dict | None = None) -> np.ndarray:
    (r0, r1), (c0, c1) = block_info[None]["array-location"]
    x = SCALE_ORIGIN[0] + res * (np.arange(c0, c1) + 0.5)
    y = SCALE_ORIGIN[1] - res * (np.arange(r0, r1) + 0.5)
    return _synthetic_ndvi(x, y)


def lazy_ndvi(n: int, chunk: int, res: float = 10.0) -> xr.DataArray:
    """A lazily generated ``n x n`` NDVI on a UTM grid; each chunk is made when computed."""
    chunks = tuple(min(chunk, n - i) for i in range(0, n, chunk))
    data = da.map_blocks(
        _ndvi_block,
        res,
        chunks=(chunks, chunks),
        dtype=np.float32,
        meta=np.empty((0, 0), np.float32),
    )
    coords = {
        "y": SCALE_ORIGIN[1] - res * (np.arange(n) + 0.5),
        "x": SCALE_ORIGIN[0] + res * (np.arange(n) + 0.5),
    }
    return xr.DataArray(data, dims=("y", "x"), coords=coords, name="ndvi").rio.write_crs(SCALE_CRS)


def synthetic_lst(ndvi: xr.DataArray, cell: float = 0.01) -> xr.DataArray:
    """A 0.01 degree LST over ``ndvi``: 320 K - 25 K x the NDVI field at each cell centre."""
    to_lonlat = pyproj.Transformer.from_crs(SCALE_CRS, "EPSG:4326", always_xy=True)
    west, south, east, north = to_lonlat.transform_bounds(*ndvi.rio.bounds())
    lon = np.arange(math.floor(west / cell), math.ceil(east / cell)) * cell + cell / 2
    lat = np.arange(math.ceil(north / cell), math.floor(south / cell), -1) * cell - cell / 2
    to_utm = pyproj.Transformer.from_crs("EPSG:4326", SCALE_CRS, always_xy=True)
    ux, uy = to_utm.transform(*np.meshgrid(lon, lat))
    field = 0.4 + 0.25 * np.sin(ux / 450.0) * np.cos(uy / 610.0)
    lst = xr.DataArray(320.0 - 25.0 * field, dims=("y", "x"), coords={"y": lat, "x": lon})
    return lst.rio.write_crs("EPSG:4326")


def scale_worker(variant: str, n: int, chunk: int) -> dict[str, Any]:
    """Body of a scale subprocess."""
    ndvi = lazy_ndvi(n, chunk)
    lst = synthetic_lst(ndvi)
    rss_before = psutil.Process().memory_info().rss / MIB
    report: dict[str, Any] = {"variant": variant, "rss_before_mib": rss_before}
    start = time.perf_counter()
    if variant == "input":
        report["sum"] = float(da.nansum(ndvi.data, dtype=np.float64).compute())
    else:
        result = sharpen(lst, ndvi)
        report["fit_seconds"] = time.perf_counter() - start
        report.update(slope=result.slope, intercept=result.intercept, n=result.n)
        if variant == "sharpen":
            report["sum"] = float(da.nansum(result.sharpened.data, dtype=np.float64).compute())
        else:
            with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_TMP")) as tmp:
                path = write_cog(result.sharpened, Path(tmp) / "sharpened.tif")
                report["cog_mib"] = path.stat().st_size / MIB
    report["seconds"] = time.perf_counter() - start
    report["vmhwm_mib"] = own_high_water_mib()
    return report


def run_scale_variant(variant: str, sizes: Sizes) -> dict[str, Any]:
    """Run one scale variant in a fresh interpreter, sampling its RSS every 50 ms."""
    cmd = [
        sys.executable, "-m", "benchmarks.bench_thermal", "--scale-worker", variant,
        "--scale-n", str(sizes.scale), "--scale-chunk", str(sizes.scale_chunk),
    ]  # fmt: skip
    return run_measured(variant, cmd, sizes.scale_timeout).as_dict()


# --- report -----------------------------------------------------------------------------------


def _num(value: float | None, fmt: str = ".2f") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return format(value, fmt)


def render_markdown(
    rows: list[Row],
    details: dict[str, Any],
    scale: dict[str, Any] | None,
    meta: dict[str, Any],
    real: dict[str, Any] | None = None,
) -> str:
    grid = details["grid"]
    m = meta["machine"]
    lines = [
        "# Thermal sharpening benchmark",
        "",
        f"Generated by `python -m benchmarks.bench_thermal{' --quick' if meta['quick'] else ''}`"
        f" on {meta['date']} in {meta['total_seconds']:.0f} s "
        f"({m['nproc']} CPUs, {m['ram_gib']} GiB RAM, {m['cpu']}; Python {m['python']}; "
        + ", ".join(f"{k} {v}" for k, v in m["versions"].items())
        + ").",
        "",
    ]
    if meta["quick"]:
        lines += ["**Quick mode: a small scene and a small scale run.**", ""]
    lines += [
        f"## {SELF_CONSISTENCY_TITLE}",
        "",
        "**Self-consistency, not accuracy**: the demo's truth is generated with the assumption "
        "the method makes (LST a line in NDVI per land cover), so these figures check the "
        "implementation; the real-data section below measures accuracy. "
        f"The thermal article's place {POINT} and clear pass of 2023-06-20 (dates {DATES}): "
        f"{grid['size_m'] / 1000:g} km x {grid['size_m'] / 1000:g} km at "
        f"{grid['resolution']:g} m ({grid['shape'][0]} x {grid['shape'][1]} pixels, "
        f"{grid['crs']}); the demo's LST: {details['lst_shape'][0]} x "
        f"{details['lst_shape'][1]} cells of 0.01 degree in EPSG:4326. NDVI from the demo L2A, "
        f"masked where SCL is {', '.join(map(str, SCL_MASKED))} "
        f"({details['ndvi_masked_share']:.1%} of pixels). RMSE and bias against the demo's 10 m "
        f"truth over the {details['compared_pixels']:,} pixels ({details['compared_share']:.1%})"
        " where every method has a value. Goal: RMSE below half of bilinear upsampling's, i.e. "
        f"< {details['goal_rmse']:.2f} K.",
        "",
        "| Method | RMSE (K) | Bias (K) | Goal met? | Slope | Intercept | r² | n pairs | "
        "CV RMSE (K) | Water (K) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        met = "–" if row.goal_met is None else ("yes" if row.goal_met else "**no**")
        lines.append(
            f"| {row.method} | {row.rmse:.2f} | {row.bias:+.2f} | {met} | {_num(row.slope)} | "
            f"{_num(row.intercept)} | {_num(row.r2, '.3f')} | {_num(row.n, 'd')} | "
            f"{_num(row.cv_rmse)} | {_num(row.water_lst)} |"
        )
    names = [row.method for row in rows]
    short = {name: f"({i + 1})" for i, name in enumerate(names)}
    lines += [
        "",
        "RMSE (K) by land cover of the truth, columns numbered as the rows above:",
        "",
        "| Cover | Share | " + " | ".join(short[n] for n in names) + " |",
        "|---|---|" + "---|" * len(names),
    ]
    for cover, values in details["rmse_by_cover"].items():
        lines.append(
            f"| {cover} | {values['share']:.1%} | "
            + " | ".join(f"{values[n]:.2f}" for n in names)
            + " |"
        )
    lines += [
        "",
        "CV RMSE is `SharpenResult.cv_rmse`: 5-fold cross-validation over the coarse pixels "
        "(refit without the fold, predict the fold's 1 km LST from its mean NDVI). It measures "
        "the fit at 1 km, not the error of the 10 m map.",
        "",
        "Fit summary of `sharpen` (defaults):",
        "",
        "```",
        details["summaries"]["sharpen (default: water its own class), residual correction"],
        "```",
        "",
    ]
    if real is not None:
        lines += bench_thermal_real.render(real)
    else:
        lines += [
            f"## {REAL_TITLE}",
            "",
            f"Not measured: `{bench_thermal_real.REAL}` is not on this machine.",
            "",
        ]
    if scale:
        lines += render_scale(scale)
    return "\n".join(lines) + "\n"


def render_scale(scale: dict[str, Any]) -> list[str]:
    n, chunk = scale["n"], scale["chunk"]
    lines = [
        "## Memory at scale",
        "",
        f"A lazily generated {n} x {n} float32 NDVI (10 m, EPSG:32610, "
        f"{n * n * 4 / 2**30:.2f} GiB if held whole) in {chunk} x {chunk} chunks, and a "
        "synthetic 0.01 degree LST in EPSG:4326 over it; each variant in a fresh subprocess. "
        "Peak RSS: the larger of the process's own VmHWM and 50 ms sampling from outside, "
        "including the interpreter and libraries.",
        "",
        "| Variant | What | Seconds | Peak RSS (MiB) |",
        "|---|---|---|---|",
    ]
    what = {
        "input": "generate the NDVI and sum it (the floor)",
        "sharpen": "`sharpen` (coarse pass + fit), then the sharpened map reduced to its sum",
        "cog": "`sharpen`, then `write_cog` of the map (scratch GeoTIFF + COG copy)",
    }
    for variant in SCALE_VARIANTS:
        run = scale["runs"].get(variant)
        if run is None:
            continue
        report = run["report"] or {}
        if run["timed_out"]:
            seconds = f"> {run['wall_s']:.0f} (timed out)"
        elif not report:
            seconds = f"failed ({run['stderr_tail'][-200:]!r})"
        else:
            seconds = f"{report['seconds']:.1f}"
            if "fit_seconds" in report:
                seconds += f" (sharpen call {report['fit_seconds']:.1f})"
        lines.append(f"| {variant} | {what[variant]} | {seconds} | {run['peak_mib']:,.0f} |")
    return [*lines, ""]


def run(sizes: Sizes, out_dir: Path, quick: bool, with_scale: bool) -> None:
    start = time.perf_counter()
    started = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")

    def step(label: str) -> None:
        print(f"[{time.perf_counter() - start:7.1f} s] {label}", flush=True)

    rows, details = accuracy(sizes, step)
    # Small (a 594 x 627 scene): the same in quick and full runs.
    real = bench_thermal_real.run(step) if bench_thermal_real.available() else None
    scale = None
    if with_scale:
        runs = {}
        for variant in SCALE_VARIANTS:
            step(f"scale {sizes.scale}^2: {variant} (subprocess)")
            runs[variant] = run_scale_variant(variant, sizes)
        scale = {"n": sizes.scale, "chunk": sizes.scale_chunk, "runs": runs}
    meta = {
        "date": started,
        "quick": quick,
        "total_seconds": time.perf_counter() - start,
        "sizes": asdict(sizes),
        "machine": machine(VERSIONED),
    }
    step("done")
    out_dir.mkdir(parents=True, exist_ok=True)
    text = render_markdown(rows, details, scale, meta, real)
    (out_dir / "thermal.md").write_text(text)
    payload = {
        **meta,
        "title": SELF_CONSISTENCY_TITLE,
        "rows": [asdict(row) for row in rows],
        "details": details,
        "real_data_title": REAL_TITLE,
        "real_data": real,
        "scale": scale,
    }
    (out_dir / "thermal.json").write_text(json.dumps(json_ready(payload), indent=2) + "\n")
    print(text)
    print(f"wrote {out_dir / 'thermal.md'} and {out_dir / 'thermal.json'}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.bench_thermal",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="a small scene and scale run")
    parser.add_argument("--no-scale", action="store_true", help="skip the scale subprocesses")
    parser.add_argument("--out", type=Path, default=None, help="output directory")
    # Internal: the body of one scale subprocess.
    parser.add_argument("--scale-worker", choices=SCALE_VARIANTS, help=argparse.SUPPRESS)
    parser.add_argument("--scale-n", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--scale-chunk", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.scale_worker:
        print(json.dumps(scale_worker(args.scale_worker, args.scale_n, args.scale_chunk)))
        return 0
    sizes = QUICK if args.quick else FULL
    out_dir = args.out or (QUICK_OUT if args.quick else FULL_OUT)
    run(sizes, out_dir, args.quick, not args.no_scale)
    return 0


if __name__ == "__main__":
    sys.exit(main())
