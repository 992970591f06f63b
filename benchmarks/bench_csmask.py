"""ukis-csmask on real data: accuracy on the labelled patch beside simple thresholds, and speed.

Run from the repository root: ``python -m benchmarks.bench_csmask [--quick] [--out DIR]``.
It writes ``csmask.json`` and ``csmask.md`` to ``benchmarks/results/`` (``--quick``:
``benchmarks/output/``, fewer repeats).

**Accuracy.** ``../shared/realdata/ukis_csmask`` is the only real image here with a human-style
cloud *and shadow* label: a 512 x 512 Sentinel-2 patch (6 bands, reflectance 0-1, no place, date
or sun angles). It is ukis-csmask's own test file, and an easy scene: so the table starts with
the simple thresholds that already do well there (blue > 0.2 for clouds; NIR < 0.25 outside those
clouds for shadows), and puts every method beside them. Precision, recall and F1 per class,
pixel by pixel over the whole patch. The methods that need what the patch lacks say so ("n/a")
instead of being dropped: SCL and MSK_CLDPRB are L2A products' bands; s2cloudless needs ten L1C
bands (the patch has six); the shadow projection needs sun angles.

**Speed.** The cost of the mask per 10 km x 10 km at 30 m (334 x 334 pixels, the network's own
resolution: about four of its 256 x 256 tiles), per image, on the demo scene's L2A bands: ours
(:func:`compositing.csmask.csmask_probability`, dask's threaded scheduler, one ONNX Runtime
thread per task) against ukis-csmask's own ``CSmask`` on the same numpy array (ONNX Runtime's
default threads: all cores), the strongest thing a user of the package would run. Best of
``repeats`` after one warm-up run (the sessions are loaded once per process).
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import xarray as xr

import compositing
from benchmarks.bench_clouds import prf
from benchmarks.measure import json_ready, machine
from compositing import csmask

ROOT = Path(__file__).resolve().parent.parent
PATCH = ROOT.parent / "shared" / "realdata" / "ukis_csmask" / "sentinel2.npz"
#: The label's codes, as ukis-csmask's own test reads them.
SHADOW, WATER, LAND, CLOUD = 0, 1, 3, 4
BAND_ORDER = ["blue", "green", "red", "nir", "swir16", "swir22"]
TITLE = "Accuracy on a real labelled patch (ukis-csmask's own test file)"
#: The 10 km square of the speed figure, at 30 m.
SPEED_PLACE = {"point": (-122.373, 37.448), "dates": ("2021-07-01", "2021-07-06")}
SPEED_SIZE_M, SPEED_RESOLUTION_M = 10_000, 30


def available() -> bool:
    return PATCH.exists()


def patch() -> tuple[xr.DataArray, np.ndarray]:
    """The patch as a one-image L1C collection (reflectance x 10000 on a made-up 30 m grid) and
    its label."""
    archive = np.load(PATCH)
    values = (archive["img"].transpose(2, 0, 1)[None] * 10_000).astype(np.float32)
    collection = xr.DataArray(
        values,
        dims=("time", "band", "y", "x"),
        coords={
            "time": [np.datetime64("2020-01-01")],
            "band": list(csmask.CSMASK_BANDS),
            "y": 4_000_000.0 - 30.0 * np.arange(512) - 15,
            "x": 500_000.0 + 30.0 * np.arange(512) + 15,
        },
        attrs={"product": "L1C"},
    )
    return collection, archive["msk"][..., 0]


def score_patch() -> dict:
    """Every method's cloud and shadow scores on the patch (None where it cannot run)."""
    from ukis_csmask.mask import CSmask

    collection, label = patch()
    cloud, shadow = label == CLOUD, label == SHADOW
    blue = collection.sel(band="B02").values[0]
    nir = collection.sel(band="B08").values[0]
    image = (collection.values[0].transpose(1, 2, 0) / 10_000).astype(np.float32)

    def timed(run: Callable[[], tuple[np.ndarray, np.ndarray]]) -> tuple[dict, float]:
        started = time.perf_counter()
        clouds, shadows = run()
        seconds = time.perf_counter() - started
        return {"cloud": prf(clouds, cloud), "shadow": prf(shadows, shadow)}, seconds

    def thresholds():
        bright = blue > 2000
        return bright, (nir < 2500) & ~bright

    def ukis():
        classes = CSmask(image, band_order=BAND_ORDER, product_level="l1c").csm[..., 0]
        return classes == 1, classes == 2

    def ours(bands: Sequence[str]):
        def run():
            layers = csmask.csmask_layers(collection.sel(band=list(bands)), buffer=0)
            return layers["clouds"].values[0], layers["shadows"].values[0]

        return run

    rows = {}
    for name, run in {
        "thresholds: blue > 0.2; NIR < 0.25 outside those clouds (baseline)": thresholds,
        "ukis-csmask 1.0 `CSmask` (the package itself)": ukis,
        "csmask (ours, 6 bands)": ours(csmask.CSMASK_BANDS),
        "csmask (ours, 4 bands: no SWIR)": ours(csmask.CSMASK_BANDS_4),
    }.items():
        run()  # warm-up: the ONNX sessions load once per process
        scores, seconds = timed(run)
        rows[name] = {**scores, "seconds": seconds, "note": ""}
    for name, why in {
        "csmask combined (+ shadow projection)": "no sun angles, place or date in the patch",
        "s2cloudless + shadow projection": "needs ten L1C bands (B01 ... B12 with B10); the "
        "patch has six, and no sun angles",
        "SCL (3, 8, 9, 10)": "an L2A product's band (Sen2Cor); the patch has none",
        "MSK_CLDPRB > 10": "an L2A product's band; the patch has none",
    }.items():
        rows[name] = {"cloud": None, "shadow": None, "seconds": None, "note": why}
    agreement = _agreement(collection, image)
    return {
        "rows": rows,
        "cloud_share": float(cloud.mean()),
        "shadow_share": float(shadow.mean()),
        "agreement_with_ukis": agreement,
    }


def _agreement(collection: xr.DataArray, image: np.ndarray) -> float:
    """Per-pixel class agreement (clear / cloud / shadow) of ours with ukis-csmask's own."""
    from ukis_csmask.mask import CSmask

    theirs = CSmask(image, band_order=BAND_ORDER, product_level="l1c").csm[..., 0]
    layers = csmask.csmask_layers(collection, buffer=0)
    ours = np.where(layers["clouds"].values[0], 1, np.where(layers["shadows"].values[0], 2, 0))
    return float((ours == theirs).mean())


def speed(repeats: int) -> dict:
    """Seconds per image for a 10 km x 10 km square at 30 m: ours and ukis-csmask's own."""
    from ukis_csmask.mask import CSmask

    l2a = compositing.load(
        **SPEED_PLACE, size_m=SPEED_SIZE_M, resolution=SPEED_RESOLUTION_M,
        bands=list(csmask.CSMASK_BANDS),
    ).isel(time=[0]).compute()  # fmt: skip
    image = (l2a.values[0].transpose(1, 2, 0) / 10_000).astype(np.float32)
    lazy = l2a.chunk({"band": 1, "y": 1024, "x": 1024})  # stackstac's layout

    def best(run: Callable[[], object]) -> float:
        run()
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            run()
            times.append(time.perf_counter() - started)
        return min(times)

    ours = best(lambda: csmask.csmask_probability(lazy).compute())
    ours_numpy = best(lambda: csmask.csmask_probability(l2a))
    peer = best(lambda: CSmask(image, band_order=BAND_ORDER, product_level="l2a").csm)
    return {
        "pixels": list(image.shape[:2]),
        "ours_s": ours,
        "ours_numpy_s": ours_numpy,
        "peer_s": peer,
        "ratio": peer / ours,
        "repeats": repeats,
    }


def run(quick: bool) -> dict:
    return {
        "title": TITLE,
        "machine": machine(("ukis-csmask", "onnxruntime", "dask")),
        "patch": score_patch() if available() else None,
        "speed": speed(2 if quick else 5),
    }


def table_rows(report: dict) -> list[str]:
    """The accuracy table (markdown lines), for this module's report and the README."""
    lines = [
        "| method | cloud P / R / F1 | shadow P / R / F1 | time, or why not run |",
        "|---|---|---|---|",
    ]
    for name, row in report["patch"]["rows"].items():
        if row["cloud"] is None:
            lines.append(f"| {name} | n/a | n/a | {row['note']} |")
            continue
        lines.append(
            f"| {name} | {_cell(row['cloud'])} | {_cell(row['shadow'])} | {row['seconds']:.2f} s |"
        )
    return lines


def speed_rows(report: dict) -> list[str]:
    s = report["speed"]
    return [
        "| per image, 10 km x 10 km at 30 m | ours (dask, stackstac layout) | ours (numpy in) "
        "| ukis-csmask `CSmask` (peer) | peer / ours |",
        "|---|---|---|---|---|",
        f"| {s['pixels'][0]} x {s['pixels'][1]} px, 6 bands | {s['ours_s']:.2f} s | "
        f"{s['ours_numpy_s']:.2f} s | {s['peer_s']:.2f} s | {s['ratio']:.2f}x |",
    ]


def readme_table() -> str:
    """The README's csmask tables, from ``benchmarks/results/csmask.json``."""
    report = json.loads((ROOT / "benchmarks" / "results" / "csmask.json").read_text())
    m = report["machine"]
    patch_report = report["patch"]
    lines = [*table_rows(report), ""] if patch_report is not None else []
    if patch_report is not None:
        lines += [
            f"Measured on ukis-csmask's own labelled test patch (`../shared/realdata/ukis_csmask`: "
            f"real Sentinel-2, 512 x 512 px, {patch_report['cloud_share']:.1%} cloud, "
            f"{patch_report['shadow_share']:.1%} shadow), an easy scene on which simple "
            "thresholds (first row) are the baseline. Ours agrees with ukis-csmask's own output "
            f"on {patch_report['agreement_with_ukis']:.1%} of the pixels.",
            "",
        ]
    lines += [
        *speed_rows(report),
        "",
        f"Best of {report['speed']['repeats']} after a warm-up, on {m['nproc']} cores "
        f"({m['cpu']}); the peer is ukis-csmask's own `CSmask` on the same numpy array with ONNX "
        "Runtime's default threads (`python -m benchmarks.bench_csmask`; details in "
        "`benchmarks/results/csmask.md`).",
    ]
    return "\n".join(lines)


def _cell(scores: dict[str, float]) -> str:
    return f"{scores['precision']:.3f} / {scores['recall']:.3f} / {scores['f1']:.3f}"


def to_markdown(report: dict) -> str:
    lines = ["# ukis-csmask: accuracy on real data, and speed", ""]
    patch_report = report["patch"]
    if patch_report is None:
        lines += [f"## {TITLE}", "", f"Not measured: `{PATCH}` is absent.", ""]
    else:
        lines += [
            f"## {TITLE}",
            "",
            f"512 x 512 pixels; the label has {patch_report['cloud_share']:.1%} cloud and "
            f"{patch_report['shadow_share']:.1%} shadow. It is the model's own test file and an "
            "easy scene: the thresholds in the first row are the baseline every method is read "
            "against. Ours agrees with ukis-csmask's own output on "
            f"{patch_report['agreement_with_ukis']:.1%} of the pixels (the same network; the "
            "tiles are laid and blended differently). Time: one call on the patch.",
            "",
            *table_rows(report),
            "",
        ]
    m = report["machine"]
    lines += [
        "## Speed",
        "",
        f"Best of {report['speed']['repeats']} after a warm-up, on {m['nproc']} cores "
        f"({m['cpu']}). The demo scene's L2A bands (the figure is the network's cost, which "
        "does not depend on what the pixels show).",
        "",
        *speed_rows(report),
        "",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats, for the test suite")
    parser.add_argument("--out", type=Path, help="output folder")
    args = parser.parse_args(argv)
    out = args.out or Path(__file__).parent / ("output" if args.quick else "results")
    out.mkdir(parents=True, exist_ok=True)
    report = json_ready(run(args.quick))
    (out / "csmask.json").write_text(json.dumps(report, indent=1))
    (out / "csmask.md").write_text(to_markdown(report))
    print(to_markdown(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
