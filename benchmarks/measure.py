"""What every benchmark needs to measure honestly: peak memory of a subprocess, the machine's
description, and JSON-ready results."""

from __future__ import annotations

import contextlib
import json
import math
import os
import platform
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import psutil

ROOT = Path(__file__).resolve().parent.parent
MIB = 2.0**20


def own_high_water_mib() -> float | None:
    """This process's peak RSS since it started (``VmHWM``).

    Not ``ru_maxrss``: after fork/vfork + exec that also counts the *parent's* high-water mark,
    which is the benchmark process holding its own test arrays."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return None


@dataclass
class Measured:
    """A subprocess as seen from outside: wall time, sampled memory, and the JSON it printed."""

    variant: str
    wall_s: float
    #: Highest RSS of the process and its children, sampled every 50 ms from the parent.
    sampled_peak_mib: float
    returncode: int
    timed_out: bool
    #: The last line the worker printed, parsed as JSON (by convention it includes its own
    #: ``vmhwm_mib``); None if it failed or timed out.
    report: dict[str, Any] | None
    stderr_tail: str

    @property
    def peak_mib(self) -> float:
        own = (self.report or {}).get("vmhwm_mib") or 0.0
        return max(self.sampled_peak_mib, own)

    @property
    def ok(self) -> bool:
        return self.report is not None and not self.timed_out and self.returncode == 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"peak_mib": self.peak_mib}


def run_measured(variant: str, command: list[str], timeout: float) -> Measured:
    """Run ``command`` from the repository root in a fresh interpreter, sampling its memory
    (with its children's) every 50 ms, killing it after ``timeout`` seconds."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        process = subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=err, text=True)
        watched = psutil.Process(process.pid)
        peak, timed_out = 0.0, False
        while process.poll() is None:
            peak = max(peak, _tree_rss_mib(watched))
            if time.perf_counter() - start > timeout:
                process.kill()
                process.wait()
                timed_out = True
                break
            time.sleep(0.05)
        wall = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        lines = out.read().strip().splitlines()
        stderr_tail = "\n".join(err.read().strip().splitlines()[-5:])
    report = None
    if lines and not timed_out and process.returncode == 0:
        report = json.loads(lines[-1])
    return Measured(variant, wall, peak, process.returncode, timed_out, report, stderr_tail)


def _tree_rss_mib(process: psutil.Process) -> float:
    with contextlib.suppress(psutil.Error):  # it ended between the poll and the sample
        members = [process, *process.children(recursive=True)]
        return sum(p.memory_info().rss for p in members) / MIB
    return 0.0


def machine(packages: tuple[str, ...] = ()) -> dict[str, Any]:
    """CPU, memory, Python and the versions of ``packages``: the header of every table."""
    cpu = platform.processor() or "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    versions = {}
    for name in packages:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return {
        "nproc": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "ram_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "cpu": cpu,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": versions,
    }


def json_ready(value: Any) -> Any:
    """Results as plain JSON: NaN/inf become null, numpy scalars Python numbers."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    return value


# --- table cells shared by the benchmark reports and readme_tables ---------------------------


def amount(unit: str, value: float, lower_bound: bool = False) -> str:
    """A time or memory figure for the tables (also used by ``readme_tables``)."""
    if value is None or math.isnan(value):
        return "n/a"
    text = f"{value:.3g} s" if unit == "s" else f"{value:,.0f} MiB"
    return f"> {text} (timed out)" if lower_bound else text


def ratio_text(unit: str, ratio: float, lower_bound: bool = False) -> str:
    """peer / ours as "N× faster/slower" (or less/more memory)."""
    if ratio is None or math.isnan(ratio):
        return "n/a"
    prefix = "> " if lower_bound else ""
    better, worse = ("faster", "slower") if unit == "s" else ("less memory", "more memory")
    factor, word = (ratio, better) if ratio >= 1 else (1 / ratio, worse)
    # Two decimals below 10, so that a ratio just under a goal does not print as the goal.
    return f"{prefix}{factor:.2f}× {word}" if factor < 10 else f"{prefix}{factor:.0f}× {word}"


def others_text(unit: str, ours: float, others: Sequence[Mapping[str, Any]]) -> str:
    """The second-column peers (``name``, ``value``, ``lower_bound``): each with its figure and
    ours' ratio to it."""
    parts = []
    for o in others:
        value, lower = o["value"], o["lower_bound"]
        ratio = value / ours if value is not None and ours else math.nan
        parts.append(
            f"{o['name']}: {amount(unit, value, lower)} (ours {ratio_text(unit, ratio, lower)})"
        )
    return "; ".join(parts) or "–"
