"""Speed and memory of :func:`compositing.composite`, as ratios against a peer on the same data.

Run from the repository root::

    python -m benchmarks.bench_reducers            # full run, ~10 min: benchmarks/results/
    python -m benchmarks.bench_reducers --quick    # tiny sizes, < 30 s, benchmarks/output/

Every figure is a *ratio* between our composite and a peer implementation measured on the same
array in the same process (or, for the scale rows, in fresh subprocesses run one after the other
on the same machine), so the rows stay comparable across machines. Times are the median of
several repeats, ours and the peer's interleaved, after one warm-up call of each variant, which
excludes numba's and numbagg's JIT compilation. Nothing here is asserted: the results are written to
``reducers.md`` (a table) and ``reducers.json`` in the output directory.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import gc
import json
import math
import os
import statistics
import sys
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

import dask.array as da
import numpy as np
import pandas as pd
import psutil
import xarray as xr

from benchmarks.measure import MIB, Measured, json_ready, machine, own_high_water_mib, run_measured
from compositing import composite

ROOT = Path(__file__).resolve().parent.parent
FULL_OUT = ROOT / "benchmarks" / "results"
QUICK_OUT = ROOT / "benchmarks" / "output"  # gitignored

Shape = tuple[int, int, int, int]

#: Bands of the reflectance-like collection; NDVI doubles as the quality band.
BANDS = ("B02", "B03", "B04", "NDVI")
QUALITY_BAND = "NDVI"
#: Scene classification classes 0-11, as in Sentinel-2's SCL band.
SCL_CLASSES = 12
#: Share of each image covered by clouds (masked); clouds are square clumps of CLOUD_CELL px.
CLOUD_FRACTION = 0.3
CLOUD_CELL = 32
#: The first SWATH_EDGE columns lie outside the swath: masked in every image.
SWATH_EDGE = 16
#: Goal for the peak memory of our median at scale.
SCALE_PEAK_GOAL_MIB = 1536.0


@dataclass(frozen=True)
class Sizes:
    """The problem sizes of one run."""

    label: str
    #: The in-memory collection shared by the median, mosaic, mean and quality_mosaic rows.
    collection: Shape
    #: Spatial chunk of the dask inputs (stackstac's default ``chunksize`` is 1024).
    chunk: int
    #: The integer-valued (SCL-like) collection of the mode row.
    mode: Shape
    #: The lazily generated collection of the scale rows.
    scale: Shape
    scale_chunk: int
    repeats: int
    #: Repeats for the slow peers (scipy's mode).
    slow_repeats: int
    #: Seconds after which a scale subprocess is killed and reported as timed out.
    scale_timeout: float
    #: xarray's ``use_numbagg`` for the in-process median. numbagg doesn't cache its JIT
    #: compilation (~10 s), which would dominate ``--quick``; the full run keeps the default.
    xarray_numbagg: bool = True


FULL = Sizes(
    label="full",
    collection=(30, 4, 1024, 1024),
    chunk=1024,
    mode=(20, 1, 256, 256),
    scale=(30, 4, 6144, 6144),
    scale_chunk=1024,
    repeats=5,
    slow_repeats=3,
    scale_timeout=900.0,
)
QUICK = Sizes(
    label="quick",
    collection=(8, 4, 128, 128),
    chunk=64,
    mode=(6, 1, 32, 32),
    scale=(6, 2, 256, 256),
    scale_chunk=64,
    repeats=3,
    slow_repeats=2,
    scale_timeout=60.0,
    xarray_numbagg=False,
)


@dataclass
class Row:
    """One line of the results table. ``ratio`` is always peer / ours: above 1, ours is better."""

    name: str
    what: str
    unit: str  # "s" or "MiB"
    ours: float
    peer_name: str
    peer: float
    goal: str
    #: The smallest ratio that meets the goal (None when the goal is not a ratio).
    goal_ratio: float | None
    met: bool
    notes: str = ""
    #: True when ``peer`` is a lower bound (the peer timed out).
    peer_lower_bound: bool = False
    #: The individual timed runs behind the medians (empty for the scale rows).
    ours_runs: list[float] = field(default_factory=list)
    peer_runs: list[float] = field(default_factory=list)
    ratio: float = field(init=False)

    def __post_init__(self) -> None:
        self.ratio = self.peer / self.ours if self.ours > 0 else math.inf


# --- synthetic data ----------------------------------------------------------------------------


def synthetic_tile(
    seed: int, t: int, band: int, y0: int, x0: int, ny: int, nx: int, *, classes: int = 0
) -> np.ndarray:
    """One band of image ``t`` over rows ``y0:y0+ny`` and columns ``x0:x0+nx``: float32, NaN
    where cloudy or outside the swath. Deterministic in its arguments.

    Values are uniform in [0, 1) (reflectance-like; NDVI in [-0.2, 0.8)), or integers in
    ``[0, classes)`` when ``classes`` is given. Clouds are the same in every band of an image:
    square clumps of :data:`CLOUD_CELL` pixels covering about :data:`CLOUD_FRACTION` of it.
    """
    values_rng = np.random.default_rng((seed, t, band, y0, x0))
    if classes:
        tile = values_rng.integers(0, classes, (ny, nx)).astype(np.float32)
    else:
        tile = values_rng.random((ny, nx), dtype=np.float32)
        if BANDS[band % len(BANDS)] == "NDVI":
            tile -= np.float32(0.2)
    cloud_rng = np.random.default_rng((seed, t, y0, x0, 1))
    cells = cloud_rng.random((-(-ny // CLOUD_CELL), -(-nx // CLOUD_CELL))) < CLOUD_FRACTION
    cloudy = cells.repeat(CLOUD_CELL, axis=0).repeat(CLOUD_CELL, axis=1)[:ny, :nx]
    tile[cloudy] = np.nan
    tile[:, : max(0, SWATH_EDGE - x0)] = np.nan
    return tile


def as_collection(data: np.ndarray | da.Array, bands: Sequence[str]) -> xr.DataArray:
    """Wrap a (time, band, y, x) array as a collection following the package's contract."""
    return xr.DataArray(
        data,
        dims=("time", "band", "y", "x"),
        coords={
            "time": pd.date_range("2024-01-01", periods=data.shape[0], freq="5D"),
            "band": list(bands),
        },
        name="reflectance",
    )


def numpy_collection(shape: Shape, seed: int, *, classes: int = 0) -> xr.DataArray:
    """An in-memory collection; SCL-like classes in one 'SCL' band when ``classes`` is given."""
    n_time, n_band, ny, nx = shape
    data = np.empty(shape, dtype=np.float32)
    for t in range(n_time):
        for b in range(n_band):
            data[t, b] = synthetic_tile(seed, t, b, 0, 0, ny, nx, classes=classes)
    bands = ["SCL"] if classes else [BANDS[b % len(BANDS)] for b in range(n_band)]
    return as_collection(data, bands)


def _lazy_block(seed: int, block_info: dict[Any, Any] | None = None) -> np.ndarray:
    assert block_info is not None
    (t0, _), (b0, _), (y0, y1), (x0, x1) = block_info[None]["array-location"]
    return synthetic_tile(seed, t0, b0, y0, x0, y1 - y0, x1 - x0)[None, None]


def lazy_collection(shape: Shape, chunk: int, seed: int) -> xr.DataArray:
    """A dask-backed collection generated chunk by chunk when computed, one image and one band
    per chunk with ``chunk``-pixel spatial tiles, as ``stackstac.stack`` delivers it by default.
    Nothing is materialised up front."""
    n_time, n_band, ny, nx = shape
    chunks = ((1,) * n_time, (1,) * n_band, _split(ny, chunk), _split(nx, chunk))
    data = da.map_blocks(
        functools.partial(_lazy_block, seed),
        chunks=chunks,
        dtype=np.float32,
        meta=np.empty((0, 0, 0, 0), np.float32),
        name=f"synthetic-collection-{seed}-{'x'.join(map(str, shape))}-{chunk}",
    )
    return as_collection(data, [BANDS[b % len(BANDS)] for b in range(n_band)])


def _split(length: int, chunk: int) -> tuple[int, ...]:
    full, rest = divmod(length, chunk)
    return (chunk,) * full + ((rest,) if rest else ())


# --- measurement helpers -----------------------------------------------------------------------


@dataclass
class Timed:
    """The timing of one variant: the median of ``runs`` (seconds) and its warm-up result."""

    seconds: float
    runs: list[float]
    result: Any


def time_interleaved(calls: dict[str, Callable[[], Any]], repeats: int) -> dict[str, Timed]:
    """Time each call ``repeats`` times, in rounds that call every variant once in turn.

    A slow spell of the machine then hits ours and the peer alike, which keeps the ratio
    steadier than timing one variant after the other. Each variant is called once first,
    untimed (JIT compilation, first-touch allocations); that result is kept for the checks.
    The garbage collector is off while timing, as in :mod:`timeit`."""
    first = {name: fn() for name, fn in calls.items()}
    runs: dict[str, list[float]] = {name: [] for name in calls}
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(repeats):
            for name, fn in calls.items():
                start = time.perf_counter()
                fn()
                runs[name].append(time.perf_counter() - start)
    finally:
        if gc_was_enabled:
            gc.enable()
    return {name: Timed(statistics.median(runs[name]), runs[name], first[name]) for name in calls}


@contextmanager
def spy(targets: dict[str, tuple[object, str]]) -> Iterator[dict[str, mock.MagicMock]]:
    """Wrap ``getattr(module, attr)`` for each named target so that its calls are counted."""
    with ExitStack() as stack:
        spies = {
            label: stack.enter_context(mock.patch.object(module, attr, wraps=getattr(module, attr)))
            for label, (module, attr) in targets.items()
        }
        yield spies


def xarray_median_backend(sample: xr.DataArray) -> str:
    """Which library did the work in ``sample.median('time')``: numbagg, bottleneck or numpy.

    Found by counting calls, not by reading xarray's options, so it stays true if xarray's
    dispatch changes."""
    import bottleneck
    import numbagg

    targets: dict[str, tuple[object, str]] = {
        "numbagg.nanmedian": (numbagg, "nanmedian"),
        "bottleneck.nanmedian": (bottleneck, "nanmedian"),
        "numpy.nanmedian": (np, "nanmedian"),
    }
    with spy(targets) as spies:
        sample.median("time").compute()
    used = [label for label, s in spies.items() if s.call_count]
    # np.nanmedian on a dask array only dispatches to dask.array.nanmedian: not the worker.
    workers = [u for u in used if u != "numpy.nanmedian"] or used
    options = xr.get_options()
    return (
        f"{' + '.join(workers) or 'unknown'} (xarray options: use_numbagg="
        f"{options['use_numbagg']}, use_bottleneck={options['use_bottleneck']})"
    )


# --- in-process rows -----------------------------------------------------------------------------


def bench_median(c: xr.DataArray, sizes: Sizes) -> Row:
    with xr.set_options(use_numbagg=sizes.xarray_numbagg):
        backend = xarray_median_backend(c.isel(y=slice(0, 8), x=slice(0, 8)))
        timed = time_interleaved(
            {
                "ours": lambda: composite(c, "median").values,
                "peer": lambda: c.median("time").values,
            },
            sizes.repeats,
        )
    ours, peer = timed["ours"].result, timed["peer"].result
    same_mask = np.array_equal(np.isnan(ours), np.isnan(peer))
    max_diff = float(np.nanmax(np.abs(ours.astype(np.float64) - peer))) if same_mask else math.nan
    return Row(
        name="median",
        what=f"numpy {_shape(c)} float32, {_masked(c)} masked",
        **_timed_fields(timed, goal_ratio=5.0),
        peer_name="xarray `c.median('time')`",
        goal="≥ 5× faster",
        notes=(
            f"xarray used {backend}; result dtype ours {ours.dtype}, xarray {peer.dtype}; "
            f"same mask: {same_mask}; max |diff| {max_diff:.2g} (float32 rounding of "
            "even-count midpoints)"
        ),
    )


def bench_mode(sizes: Sizes, seed: int) -> Row:
    import scipy.stats

    c = numpy_collection(sizes.mode, seed, classes=SCL_CLASSES)
    arr = c.values

    def scipy_mode() -> np.ndarray:
        with warnings.catch_warnings():  # "slices too small after omitting NaNs" (swath edge)
            warnings.simplefilter("ignore")
            return np.asarray(scipy.stats.mode(arr, axis=0, nan_policy="omit").mode)

    timed = time_interleaved(
        {"ours": lambda: composite(c, "mode").values, "peer": scipy_mode}, sizes.slow_repeats
    )
    ours, peer = timed["ours"].result, timed["peer"].result
    agree = (ours == peer) | (np.isnan(ours) & np.isnan(peer))
    return Row(
        name="mode",
        what=f"numpy {_shape(c)} SCL-like classes 0–{SCL_CLASSES - 1}, {_masked(c)} masked",
        **_timed_fields(timed, goal_ratio=50.0),
        peer_name="`scipy.stats.mode(nan_policy='omit')`",
        goal="≥ 50× faster",
        notes=(
            f"agreement with scipy (both give the smallest of tied modes): "
            f"{agree.mean():.2%} of {agree.size} pixels"
        ),
    )


def bench_mosaic(c: xr.DataArray, sizes: Sizes) -> Row:
    import stackstac

    chunk = sizes.chunk
    lazy = c.chunk({"time": 1, "band": 1, "y": chunk, "x": chunk})
    timed = time_interleaved(
        {
            "ours": lambda: composite(lazy, "mosaic").values,
            "peer": lambda: stackstac.mosaic(lazy, dim="time").values,
        },
        sizes.repeats,
    )
    ours, peer = timed["ours"].result, timed["peer"].result
    # Earth Engine's mosaic: the last valid image on top.
    arr = c.values
    reference = arr[0].copy()
    for image in arr[1:]:
        reference = np.where(np.isnan(image), reference, image)
    first_on_top = stackstac.mosaic(c, dim="time", reverse=True).values
    return Row(
        name="mosaic",
        what=f"dask {_shape(c)}, chunks (1, 1, {chunk}, {chunk}), threaded scheduler",
        **_timed_fields(timed, goal_ratio=1.0),
        peer_name="`stackstac.mosaic(c, dim='time')` (reverse=False: last on top)",
        goal="no slower (≥ 1×)",
        notes=(
            f"ours == stackstac: {np.array_equal(ours, peer, equal_nan=True)}; ours == "
            f"last-valid reference: {np.array_equal(ours, reference, equal_nan=True)}; "
            f"stackstac reverse=True (first on top) agrees on only "
            f"{np.mean(_equal_nan(ours, first_on_top)):.1%} of values"
        ),
    )


def bench_single_pass(c: xr.DataArray, sizes: Sizes) -> list[Row]:
    """mean and quality_mosaic against one plain numpy pass over the same array."""
    arr = c.values
    timed = time_interleaved(
        {
            "peer": lambda: arr.max(axis=0),
            "mean": lambda: composite(c, "mean").values,
            "quality_mosaic": lambda: (
                composite(c, "quality_mosaic", quality_band=QUALITY_BAND).values
            ),
        },
        sizes.repeats,
    )
    mean, qm = timed["mean"].result, timed["quality_mosaic"].result

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-masked pixels (swath edge)
        mean_ok = np.allclose(mean, np.nanmean(arr.astype(np.float64), axis=0), equal_nan=True)
    quality = arr[:, BANDS.index(QUALITY_BAND)]
    best = np.argmax(np.where(np.isnan(quality), -np.inf, quality), axis=0)  # first max: earliest
    reference = np.take_along_axis(arr, best[None, None], axis=0)[0]
    reference[:, np.isnan(quality).all(axis=0)] = np.nan
    qm_ok = np.array_equal(qm, reference, equal_nan=True)

    what = f"numpy {_shape(c)} float32, {_masked(c)} masked"
    peer_name = "one numpy pass `arr.max(axis=0)`"
    return [
        Row(
            name="mean",
            what=what,
            **_timed_fields({"ours": timed["mean"], "peer": timed["peer"]}, goal_ratio=1 / 3),
            peer_name=peer_name,
            goal="within 3× (≥ 0.33×)",
            notes=f"matches float64 np.nanmean: {mean_ok}; result dtype {mean.dtype}",
        ),
        Row(
            name="quality_mosaic",
            what=what + f", quality band {QUALITY_BAND}",
            **_timed_fields(
                {"ours": timed["quality_mosaic"], "peer": timed["peer"]}, goal_ratio=1 / 3
            ),
            peer_name=peer_name,
            goal="within 3× (≥ 0.33×)",
            notes=f"matches a numpy argmax reference: {qm_ok}",
        ),
    ]


def _timed_fields(timed: dict[str, Timed], *, goal_ratio: float) -> dict[str, Any]:
    """The timing fields of a :class:`Row` from ``timed["ours"]`` and ``timed["peer"]``."""
    ours, peer = timed["ours"], timed["peer"]
    return {
        "unit": "s",
        "ours": ours.seconds,
        "peer": peer.seconds,
        "ours_runs": ours.runs,
        "peer_runs": peer.runs,
        "goal_ratio": goal_ratio,
        "met": peer.seconds / ours.seconds >= goal_ratio,
    }


def _shape(c: xr.DataArray) -> str:
    return "(" + ", ".join(str(n) for n in c.shape) + ")"


def _masked(c: xr.DataArray) -> str:
    return f"{float(np.isnan(c.values).mean()):.0%}"


def _equal_nan(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a == b) | (np.isnan(a) & np.isnan(b))


# --- scale rows: one fresh subprocess per variant ------------------------------------------------

SCALE_VARIANTS = ("ours", "xarray", "input")


def scale_worker(variant: str, shape: Shape, chunk: int, seed: int) -> dict[str, Any]:
    """Body of a scale subprocess: the median of a lazy collection, reduced to one number.

    ``input`` only generates and sums the collection: the floor under both medians."""

    def reduce(c: xr.DataArray) -> float:
        if variant == "ours":
            image = composite(c, "median").data
        elif variant == "xarray":
            image = c.median("time").data
        else:
            image = c.data
        return float(da.nansum(image, dtype=np.float64).compute())

    reduce(lazy_collection((shape[0], 1, chunk, chunk), chunk, seed + 1))  # warm-up (JIT)
    c = lazy_collection(shape, chunk, seed)
    rss_before = psutil.Process().memory_info().rss / MIB
    start, cpu_start = time.perf_counter(), time.process_time()
    total = reduce(c)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    return {
        "variant": variant,
        "seconds": seconds,
        "cpu_s": cpu,
        "sum": total,
        "rss_before_mib": rss_before,
        "vmhwm_mib": own_high_water_mib(),
    }


def run_scale_variant(variant: str, sizes: Sizes, seed: int) -> Measured:
    """Run one scale variant in a fresh interpreter, sampling its memory from here."""
    cmd = [
        sys.executable, "-m", "benchmarks.bench_reducers", "--scale-worker", variant,
        "--scale-shape", ",".join(map(str, sizes.scale)),
        "--scale-chunk", str(sizes.scale_chunk), "--seed", str(seed),
    ]  # fmt: skip
    return run_measured(variant, cmd, sizes.scale_timeout)


def start_scale_runs(sizes: Sizes, seed: int, *, concurrently: bool) -> Callable[[], dict]:
    """Launch the scale subprocesses; returns a function that waits for their results.

    Sequentially (the full run: each variant has the machine to itself, started when the
    results are asked for), or all at once in the background (``--quick``: overlapping them
    with the in-process rows keeps the run under 30 s; the timings are then meaningless)."""
    if not concurrently:
        return lambda: {v: run_scale_variant(v, sizes, seed) for v in SCALE_VARIANTS}
    variants = SCALE_VARIANTS[:2]  # the input-only floor is skipped: one interpreter less
    pool = ThreadPoolExecutor(len(variants))
    futures = {v: pool.submit(run_scale_variant, v, sizes, seed) for v in variants}
    pool.shutdown(wait=False)
    return lambda: {v: future.result() for v, future in futures.items()}


def scale_rows(sizes: Sizes, runs: dict[str, Measured]) -> tuple[list[Row], dict[str, Any]]:
    ours, peer, floor = runs["ours"], runs["xarray"], runs.get("input")
    if not (ours.ok and ours.report):
        raise RuntimeError(f"our scale run failed: {ours}")
    n_time, n_band, ny, nx = sizes.scale
    virtual_gb = n_time * n_band * ny * nx * 4 / 1e9
    what = (
        f"lazy dask ({n_time}, {n_band}, {ny}, {nx}) float32 ({virtual_gb:.1f} GB virtual), "
        f"chunks (1, 1, {sizes.scale_chunk}, {sizes.scale_chunk}), fresh subprocess each"
    )
    ours_s = float(ours.report["seconds"])
    if peer.ok and peer.report:
        peer_s, lower_bound = float(peer.report["seconds"]), False
        rel = abs(peer.report["sum"] - ours.report["sum"]) / abs(ours.report["sum"])
        check = f"sums of the two medians differ by {rel:.1e} (relative)"
    else:
        peer_s, lower_bound = peer.wall_s, True
        state = "timed out" if peer.timed_out else f"failed, exit code {peer.returncode}"
        check = f"xarray {state} after {peer.wall_s:.0f} s: {peer.stderr_tail!r}"
    if floor is None:
        floor_note = "the input-only run is skipped with --quick"
    elif floor.ok and floor.report:
        floor_note = (
            f"generating and summing the input alone takes {floor.report['seconds']:.1f} s "
            f"(CPU {floor.report['cpu_s']:.0f} s), peak {floor.peak_mib:,.0f} MiB"
        )
    else:
        floor_note = "the input-only run failed"
    cpu_note = f"CPU time (all threads): ours {ours.report['cpu_s']:.0f} s" + (
        f", xarray {peer.report['cpu_s']:.0f} s" if peer.report else ""
    )
    peer_name = "xarray `c.median('time')` on the same dask input"
    time_row = Row(
        name="median at scale: time",
        what=what,
        unit="s",
        ours=ours_s,
        peer_name=peer_name,
        peer=peer_s,
        peer_lower_bound=lower_bound,
        goal="≥ 2× faster",
        goal_ratio=2.0,
        met=peer_s / ours_s >= 2.0,
        notes=f"{check}; {cpu_note}; {floor_note}",
    )
    memory_row = Row(
        name="median at scale: peak RSS",
        what=what,
        unit="MiB",
        ours=ours.peak_mib,
        peer_name=peer_name,
        peer=peer.peak_mib,
        peer_lower_bound=lower_bound,
        goal=f"ours < {SCALE_PEAK_GOAL_MIB:,.0f} MiB (1.5 GiB)",
        goal_ratio=None,
        met=ours.peak_mib < SCALE_PEAK_GOAL_MIB,
        notes=(
            "whole-process peak RSS including the interpreter and libraries (ours "
            f"{ours.report['rss_before_mib']:.0f} MiB before computing, xarray "
            f"{(peer.report or {}).get('rss_before_mib', math.nan):.0f} MiB): the larger of the "
            "process's own VmHWM and the parent's 50 ms psutil sampling"
        ),
    )
    details = {variant: asdict(run) | {"peak_mib": run.peak_mib} for variant, run in runs.items()}
    return [time_row, memory_row], details


# --- report --------------------------------------------------------------------------------------

VERSIONED = ("numpy", "xarray", "dask", "numba", "scipy", "stackstac", "bottleneck", "numbagg")


def engine_sources() -> dict[str, str]:
    """SHA-256 (first 12 hex digits) of the engine files measured, since they change often."""
    import hashlib

    package = ROOT / "compositing"
    return {
        name: hashlib.sha256((package / name).read_bytes()).hexdigest()[:12]
        for name in ("kernels.py", "reducers.py")
    }


def _value(row: Row, value: float, lower_bound: bool = False) -> str:
    if math.isnan(value):
        return "n/a"
    text = f"{value:.3g} s" if row.unit == "s" else f"{value:,.0f} MiB"
    return f"> {text} (timed out)" if lower_bound else text


def _ratio(row: Row) -> str:
    ratio = row.ratio
    if math.isnan(ratio):
        return "n/a"
    prefix = "> " if row.peer_lower_bound else ""
    better, worse = ("faster", "slower") if row.unit == "s" else ("less memory", "more memory")
    factor, word = (ratio, better) if ratio >= 1 else (1 / ratio, worse)
    # Two decimals below 10, so that a ratio just under a goal does not print as the goal.
    return f"{prefix}{factor:.2f}× {word}" if factor < 10 else f"{prefix}{factor:.0f}× {word}"


def render_markdown(rows: list[Row], meta: dict[str, Any]) -> str:
    m, v = meta["machine"], meta["versions"]
    lines = [
        "# Reducer benchmarks",
        "",
        f"Generated by `python -m benchmarks.bench_reducers{' --quick' if meta['quick'] else ''}`"
        f" on {meta['date']} in {meta['total_seconds']:.0f} s.",
        "",
    ]
    if meta["quick"]:
        lines += ["**Quick mode: tiny sizes, the ratios mean nothing.**", ""]
    lines += [
        f"- Machine: {m['nproc']} CPUs ({m['usable_cpus']} usable), {m['ram_gib']} GiB RAM, "
        f"{m['cpu']}; Python {m['python']}, {m['platform']}",
        "- Versions: " + ", ".join(f"{name} {version}" for name, version in v.items()),
        "- Engine sources (sha256): "
        + ", ".join(
            f"`compositing/{name}` {digest}" for name, digest in meta["engine_sources"].items()
        ),
        f"- Timing: median of {meta['repeats']} runs ({meta['slow_repeats']} for scipy), ours "
        "and the peer's interleaved, after one warm-up call of each variant, so JIT compilation "
        "(numba, numbagg) is excluded. Ratio = peer / ours, measured in one process on the same "
        "array; the scale rows run each variant in its own fresh subprocess, one after the other.",
        f"- Load average (1 min) at the start and the end: {meta['load_start']:.2f}, "
        f"{meta['load_end']:.2f} (other work on the machine skews the figures)",
        f"- Peak RSS of the main benchmark process (in-process rows): "
        f"{meta['main_process_peak_rss_mib'] or math.nan:,.0f} MiB",
        "",
        "| Method | Data | Ours | Peer | Peer time/memory | Ratio | Goal | Met? |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row.name} | {row.what} | {_value(row, row.ours)} | {row.peer_name} | "
            f"{_value(row, row.peer, row.peer_lower_bound)} | {_ratio(row)} | {row.goal} | "
            f"{'yes' if row.met else '**no**'} |"
        )
    lines += ["", "Notes:", ""]
    lines += [f"- **{row.name}**: {row.notes}" for row in rows if row.notes]
    return "\n".join(lines) + "\n"


# --- entry point -------------------------------------------------------------------------------


def run(sizes: Sizes, out_dir: Path, seed: int, quick: bool) -> list[Row]:
    start = time.perf_counter()
    started = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    load_start = os.getloadavg()[0]

    def step(label: str) -> None:
        print(f"[{time.perf_counter() - start:7.1f} s] {label}", flush=True)

    scale_results = start_scale_runs(sizes, seed, concurrently=quick)
    step(f"building the {sizes.label} collection {sizes.collection}")
    c = numpy_collection(sizes.collection, seed)
    rows: list[Row] = []
    step("median vs xarray")
    rows.append(bench_median(c, sizes))
    step("mode vs scipy.stats.mode")
    rows.append(bench_mode(sizes, seed))
    step("mosaic vs stackstac.mosaic")
    rows.append(bench_mosaic(c, sizes))
    step("mean and quality_mosaic vs one numpy pass")
    rows += bench_single_pass(c, sizes)
    del c
    step(f"median at scale {sizes.scale} (subprocesses, fresh interpreters)")
    more_rows, scale_details = scale_rows(sizes, scale_results())
    rows += more_rows
    total = time.perf_counter() - start
    step("done")

    host = machine(VERSIONED)
    meta = {
        "date": started,
        "quick": quick,
        "total_seconds": total,
        "sizes": asdict(sizes),
        "repeats": sizes.repeats,
        "slow_repeats": sizes.slow_repeats,
        "seed": seed,
        "machine": host,
        "versions": host["versions"],
        "engine_sources": engine_sources(),
        "main_process_peak_rss_mib": own_high_water_mib(),
        "load_start": load_start,
        "load_end": os.getloadavg()[0],
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "reducers.md").write_text(render_markdown(rows, meta))
    payload = {
        **meta,
        "ratio_definition": "peer / ours (time or peak memory); above 1 means ours is better",
        "rows": [asdict(row) for row in rows],
        "scale_subprocesses": scale_details,
    }
    (out_dir / "reducers.json").write_text(json.dumps(json_ready(payload), indent=2) + "\n")
    print(render_markdown(rows, meta))
    print(f"wrote {out_dir / 'reducers.md'} and {out_dir / 'reducers.json'}")
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.bench_reducers",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="tiny sizes, finishes in < 30 s")
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help=f"output directory (default: {FULL_OUT.relative_to(ROOT)}, or "
        f"{QUICK_OUT.relative_to(ROOT)} with --quick)",
    )
    parser.add_argument("--seed", type=int, default=20240101)
    # Internal: the body of one scale subprocess.
    parser.add_argument("--scale-worker", choices=SCALE_VARIANTS, help=argparse.SUPPRESS)
    parser.add_argument("--scale-shape", help=argparse.SUPPRESS)
    parser.add_argument("--scale-chunk", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.scale_worker:
        n_time, n_band, ny, nx = (int(n) for n in args.scale_shape.split(","))
        shape: Shape = (n_time, n_band, ny, nx)
        report = scale_worker(args.scale_worker, shape, args.scale_chunk, args.seed)
        print(json.dumps(report))
        return 0

    sizes = QUICK if args.quick else FULL
    out_dir = args.out or (QUICK_OUT if args.quick else FULL_OUT)
    run(sizes, out_dir, args.seed, args.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
