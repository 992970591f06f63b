"""The class load test's tables (``benchmarks/results/class_load.json``) in markdown.

:func:`class_load_table` gives the figures per N and, below them, the issue's goals, each
"met" or "no"; with ``before`` (the same test on the earlier code) a before → after column.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Mapping
from pathlib import Path
from typing import Any

#: The goals on the 2-core machine (issue 12).
CLASS_SIZE = 30
FIRST_MAP_GOAL_S = 10.0
SHARED_REPAINT_GOAL_S = 3.0
MEMORY_GOAL_MIB = 3 * 1024
RELEASE_GOAL_MIB = 300


def _rounds(entry: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return list(entry.get("rounds") or [])


def _seconds(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f} s"


def _mib(value: float | None) -> str:
    return (
        "–" if value is None else f"{value / 1024:.2f} GB" if value >= 1024 else f"{value:.0f} MB"
    )


def _cache_share(rounds: list[Mapping[str, Any]]) -> str:
    """What the shared cache (bounded, kept for the next sessions) held after each close."""
    cached = [r.get("cache_after_mib") for r in rounds]
    if not cached or any(value is None for value in cached):
        return ""
    return f"; the shared cache held {', '.join(f'{v:.0f}' for v in cached)} MB of it"


def _first_maps(entry: Mapping[str, Any]) -> list[float | None]:
    return [value for r in _rounds(entry) for value in r.get("first_map_s", [])]


def _loaded(entry: Mapping[str, Any]) -> str:
    rounds = _rounds(entry)
    if not rounds:
        return "–"
    cap = rounds[0].get("load_cap_s")
    counts = ", ".join(f"{r['loaded']}/{len(r['first_map_s'])}" for r in rounds)
    text = f"{counts} (≤ {cap:g} s)"
    images = [r.get("with_image") for r in rounds]
    if any(i is not None and i != r["loaded"] for i, r in zip(images, rounds, strict=True)):
        text += f"; {', '.join(str(i) for i in images)} with an image (bar or status not done)"
    return text


def _first_map(entry: Mapping[str, Any]) -> str:
    values = [v for v in _first_maps(entry) if v is not None]
    if not values:
        return "none"
    return f"{statistics.median(values):.1f} s (max {max(values):.1f})"


def _repaint(entry: Mapping[str, Any], key: str) -> str:
    first = (_rounds(entry) or [{}])[0].get(key)
    if not first:
        return "–"
    text = f"{first['repainted']}/{first['pages']}, max {_seconds(first['max_s'])}"
    if first.get("unchanged_pages_repainted"):
        text += f"; {first['unchanged_pages_repainted']} unchanged pages repainted"
    return text


def _bytes(entry: Mapping[str, Any]) -> str:
    first = (_rounds(entry) or [{}])[0].get("shared")
    if not first or not first["bytes_received"]:
        return "–"
    return f"{statistics.median(first['bytes_received']) / 1e6:.2f} MB"


def _memory(entry: Mapping[str, Any]) -> str:
    rounds = _rounds(entry)
    if not rounds:
        return "–"
    return ", ".join(_mib(r["peak_mib"]) for r in rounds)


def _after(entry: Mapping[str, Any]) -> str:
    rounds = _rounds(entry)
    if not rounds:
        return "–"
    warm = entry.get("warm_mib")
    after = f"{', '.join(_mib(r['after_close_mib']) for r in rounds)} (warm {_mib(warm)})"
    cached = [r.get("cache_after_mib") for r in rounds]
    if all(value is not None for value in cached):  # logged by the app since 2026-12-03
        after += f"; shared cache {', '.join(_mib(value) for value in cached)}"
    return after


def _problems(entry: Mapping[str, Any]) -> str:
    totals: dict[str, int] = {}
    for r in _rounds(entry):
        for key, value in r.get("problems", {}).items():
            if isinstance(value, int):
                totals[key] = totals.get(key, 0) + value
    words = {
        "console_error_pages": "console error",
        "blank_map": "blank map",
        "stuck_progress": "stuck bar",
        "no_map": "no map",
    }
    parts = [f"{count} {words[key]}" for key, count in totals.items() if count and key in words]
    for key in ("aborted", "failed"):
        if entry.get(key):
            parts.append(f"{key}: {entry[key]}")
    return "; ".join(parts) or "none"


def _by_n(results: Mapping[str, Any]) -> dict[int, Mapping[str, Any]]:
    return {entry["sessions"]: entry for entry in results.get("by_sessions", [])}


def _goal_rows(results: Mapping[str, Any]) -> list[tuple[str, str, bool | None]]:
    """(goal, figure, met) for each goal of the issue; met is None when not measured."""
    class_ = _by_n(results).get(CLASS_SIZE)
    if class_ is None or not _rounds(class_):
        return [
            (goal, f"not measured (no N = {CLASS_SIZE})", None)
            for goal in (
                f"all {CLASS_SIZE} load, each first map ≤ {FIRST_MAP_GOAL_S:g} s",
                f"a shared change repaints for all within {SHARED_REPAINT_GOAL_S:g} s",
                f"server memory ≤ {MEMORY_GOAL_MIB / 1024:g} GB at {CLASS_SIZE} sessions",
                f"after closing, within {RELEASE_GOAL_MIB} MB of the warm baseline, no growth",
            )
        ]
    rounds = _rounds(class_)
    first = _first_maps(class_)
    loaded = [v for v in first if v is not None]
    all_fast = len(loaded) == len(first) and all(v <= FIRST_MAP_GOAL_S for v in loaded)
    shared = rounds[0].get("shared")
    shared_met = bool(
        shared
        and shared["repainted"] == shared["pages"] == len(rounds[0]["first_map_s"])
        and shared["max_s"] <= SHARED_REPAINT_GOAL_S
    )
    peak = max(r["peak_mib"] for r in rounds)
    warm = class_.get("warm_mib")
    after = [r["after_close_mib"] for r in rounds]
    excess = [a - warm for a in after] if warm is not None else []
    released = bool(excess) and max(excess) <= RELEASE_GOAL_MIB
    # "No growth": the last round ends within 50 MB of the first (measurement noise).
    no_growth = len(after) >= 3 and after[-1] - after[0] <= 50
    partial = "" if len(loaded) == len(first) else f" with only {len(loaded)}/{len(first)} loaded"
    return [
        (
            f"all {CLASS_SIZE} load, each first map ≤ {FIRST_MAP_GOAL_S:g} s",
            f"{len(loaded)}/{len(first)} loaded, max {_seconds(max(loaded) if loaded else None)}",
            all_fast,
        ),
        (
            f"a shared change repaints for all within {SHARED_REPAINT_GOAL_S:g} s",
            _repaint(class_, "shared"),
            shared_met,
        ),
        (
            f"server memory ≤ {MEMORY_GOAL_MIB / 1024:g} GB at {CLASS_SIZE} sessions",
            f"peak {_mib(peak)}{partial}",
            # Memory is judged with the class in: a server that never loaded the pages has not
            # shown that it holds them.
            peak <= MEMORY_GOAL_MIB and len(loaded) == len(first),
        ),
        (
            f"after closing, within {RELEASE_GOAL_MIB} MB of the warm baseline, no growth over "
            "three rounds",
            f"+{', +'.join(f'{e:.0f}' for e in excess)} MB over warm {_mib(warm)}"
            + ("" if len(after) >= 3 else f" ({len(after)} round(s) only)")
            + (f",{partial}" if partial else "")
            + _cache_share(rounds),
            # As for the memory: a server that never held the class has not shown it lets go.
            released and no_growth and len(loaded) == len(first),
        ),
    ]


#: The session counts the issue asks the load test for.
ISSUE_SESSIONS = (1, 10, 20, 30)


def class_load_table(results: Mapping[str, Any], before: Mapping[str, Any] | None = None) -> str:
    """The class load test in markdown: one row per N, then the goals, met or not.

    Parameters
    ----------
    results
        The load test's JSON (``benchmarks/results/class_load.json``).
    before
        The same test on the earlier code (``class_load_before.json``), shown beside it.
    """
    header = (
        "| Sessions | Pages with a map | First map, median (max) | All change the stretch | "
        "Half change different widgets | Bytes per update | Server memory, peak per round | "
        "After all closed | Problems |"
    )
    lines = [header, "|---|---|---|---|---|---|---|---|---|"]
    runs = [("", results)] if before is None else [("before: ", before), ("after: ", results)]
    for label, run in runs:
        measured = _by_n(run)
        rows = {
            # A row is never dropped: an N the issue asks for that the run did not reach says so.
            n: f"| {label}{n} | not measured: {run.get('stopped', 'the run stopped before it')} |"
            + " |" * 7
            for n in ISSUE_SESSIONS
        }
        for n, entry in measured.items():
            rows[n] = (
                f"| {label}{n} | {_loaded(entry)} | {_first_map(entry)} | "
                f"{_repaint(entry, 'shared')} | {_repaint(entry, 'mixed')} | {_bytes(entry)} | "
                f"{_memory(entry)} | {_after(entry)} | {_problems(entry)} |"
            )
        lines += [rows[n] for n in sorted(rows)]
    lines += ["", "| Goal | Figure | Met? |", "|---|---|---|"]
    before_rows = {goal: figure for goal, figure, _ in _goal_rows(before)} if before else {}
    for goal, figure, met in _goal_rows(results):
        verdict = "–" if met is None else "met" if met else "no"
        if goal in before_rows:
            figure = f"{figure} (before: {before_rows[goal]})"
        lines.append(f"| {goal} | {figure} | {verdict} |")
    machine = results.get("machine", {})
    loads = results.get("conditions", {}).get("load_average_start", [])
    lines += [
        "",
        f"{results.get('client', 'Chromium pages')}; {machine.get('usable_cpus', '?')} CPUs, "
        f"{machine.get('ram_gib', '?')} GiB; load average at the start "
        f"{', '.join(f'{v:.2f}' for v in loads)}"
        f"; {results.get('seconds', '?')} s in all.",
    ]
    return "\n".join(lines) + "\n"


def readme_table() -> str:
    """The README's table: ``results/class_load.json`` with ``class_load_before.json`` beside
    it when both exist (for ``benchmarks.readme_tables``' ``TABLES``)."""
    results = Path(__file__).resolve().parent / "results"
    after, before = results / "class_load.json", results / "class_load_before.json"
    if not after.exists():
        return "(no class load test yet: `python -m benchmarks.bench_class`)"
    previous = json.loads(before.read_text()) if before.exists() else None
    return class_load_table(json.loads(after.read_text()), before=previous).rstrip("\n")
