"""Copy the benchmark tables from ``benchmarks/results/*.json`` into README.md.

Run ``python -m benchmarks.readme_tables`` after a full benchmark run: the README's figures then
always come from a measurement, never from a hand edit. Each table goes between the markers
``<!-- NAME-table -->`` and ``<!-- /NAME-table -->``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from benchmarks import bench_clouds_real, bench_csmask, bench_thermal_real, class_table
from benchmarks.measure import amount, others_text, ratio_text

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"


def reducers_table() -> str:
    data = json.loads((RESULTS / "reducers.json").read_text())
    lines = [
        "| method | against (the strongest peer measured) | ours | peer | ratio | goal | met "
        "| other peers (shown, not judged) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in data["rows"]:
        unit = row["unit"]
        goal = row["goal"]
        if row.get("goal_against") == "floor" and row.get("floor") is not None:
            floor = row["floor"]
            goal = goal.split(" (")[0]  # the goal's own bracket repeats what follows
            goal += f" (floor {amount(unit, floor)}; floor / ours {floor / row['ours']:.2f} ≥ 0.33)"
        lines.append(
            f"| {row['name']} | {row['peer_name']} | {amount(unit, row['ours'])} | "
            f"{amount(unit, row['peer'], row['peer_lower_bound'])} | "
            f"{ratio_text(unit, row['ratio'], row['peer_lower_bound'])} | {goal} | "
            f"{'yes' if row['met'] else '**no**'} | "
            f"{others_text(unit, row['ours'], row.get('others', []))} |"
        )
    machine = data["machine"]
    lines += [
        "",
        f"Measured {data['date'][:10]} on {machine['nproc']} cores ({machine['cpu']}), load "
        f"average {data['load_start']:.1f} at the start, {data['load_end']:.1f} at the end; "
        "ratios are peer / ours, in one process on the same array (the scale rows: each in a "
        "fresh subprocess). The peer is the strongest of the peers a competent user would "
        "run on that data; mean and quality_mosaic keep the issue's goal, within 3× of one "
        "numpy pass (the floor); why a "
        "goal is not met is in `benchmarks/results/reducers.md`.",
    ]
    return "\n".join(lines)


def clouds_table() -> str:
    data = json.loads((RESULTS / "clouds.json").read_text())
    lines = [
        "| scene | mask | cloud recall | shadow recall | mask F1 | median from cloud/shadow "
        "| median RMSE |",
        "|---|---|---|---|---|---|---|",
    ]
    for scene, figures in data["scenes"].items():
        for method, scores in figures["masks"].items():
            composite = figures["composites"][f"median after {method}"]
            lines.append(
                f"| {scene.split(':')[0]} | {method} | {scores['mask_cloud_recall']:.3f} | "
                f"{scores['mask_shadow_recall']:.3f} | {scores['mask']['f1']:.3f} | "
                f"{composite['contaminated_share']:.1%} | {composite['rmse']:.0f} |"
            )
        for name in (
            "median, no mask",
            "quality mosaic on -MSK_CLDPRB (the qualityMosaic example)",
        ):
            composite = figures["composites"][name]
            lines.append(
                f"| {scene.split(':')[0]} | {name} | – | – | – | "
                f"{composite['contaminated_share']:.1%} | {composite['rmse']:.0f} |"
            )
    lines.append("")
    lines.append(
        "Self-consistency on the demo scene (synthetic: its truth is generated with the "
        "methods' own assumptions, e.g. shadows are the clouds shifted down-sun), at "
        f"{data['resolution_m']} m over {data['size_m'] / 1000:g} km squares; RMSE "
        "in reflectance x 10000 against the median of the clear-sky truth "
        "(`python -m benchmarks.bench_clouds`; full tables in `benchmarks/results/clouds.md`)."
    )
    return "\n".join(lines)


def thermal_table() -> str:
    data = json.loads((RESULTS / "thermal.json").read_text())
    lines = ["| method | RMSE (K) | bias (K) | fit |", "|---|---|---|---|"]
    for row in data["rows"]:
        fit = ""
        if row.get("slope") is not None:
            fit = f"y = {row['slope']:.2f}x + {row['intercept']:.2f}, r² = {row['r2']:.3f}"
        lines.append(f"| {row['method']} | {row['rmse']:.2f} | {row['bias']:+.2f} | {fit} |")
    lines += [
        "",
        "Self-consistency on the demo scene (synthetic: its 10 m temperature is made from cover "
        "and NDVI, the relation TsHARP fits), the thermal article's place and date, 20 km at 10 m, "
        "against the demo's 10 m truth (`python -m benchmarks.bench_thermal`). Accuracy on real "
        "data is the next table.",
    ]
    return "\n".join(lines)


def app_table() -> str:
    """The latency table of ``benchmarks/results/app.md`` (written by ``bench_app``), as is."""
    report = (RESULTS / "app.md").read_text().splitlines()
    table = [line for line in report if line.startswith("|")]
    data = json.loads((RESULTS / "app.json").read_text())
    machine = data["machine"]
    table += [
        "",
        f"Measured {data['generated'][:10]} on {machine['usable_cpus']} cores ({machine['cpu']}), "
        "server, browser and benchmark sharing them (`python -m benchmarks.bench_app`; details "
        "in `benchmarks/results/app.md`). A band counts as new only if the session never "
        "computed it (the benchmark tracks each session's bands; the preset row starts each "
        "sample from fresh band caches). Bytes per update: in-process the RGBA images "
        "produced, in the browser the websocket payloads server → page (↓) and back (↑).",
    ]
    return "\n".join(table)


TABLES = {
    "reducers": reducers_table,
    "clouds": clouds_table,
    "clouds-real": bench_clouds_real.readme_table_real,
    "csmask": bench_csmask.readme_table,
    "thermal": thermal_table,
    "thermal-real": bench_thermal_real.readme_table_real,
    "app": app_table,
    "class": class_table.readme_table,
}


def main() -> int:
    readme = ROOT / "README.md"
    text = readme.read_text()
    for name, make in TABLES.items():
        block = f"<!-- {name}-table -->\n{make()}\n<!-- /{name}-table -->"
        pattern = re.compile(rf"<!-- {name}-table -->(.*?<!-- /{name}-table -->)?", re.S)
        text, count = pattern.subn(lambda _match, block=block: block, text, count=1)
        if not count:
            raise SystemExit(f"README.md has no <!-- {name}-table --> marker")
    readme.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
