"""Cloud masks and composites: self-consistency on the demo scene, agreement on real L1C.

Run from the repository root: ``python -m benchmarks.bench_clouds [--quick] [--out DIR]``.
The full run writes ``benchmarks/results/clouds.md`` and ``clouds.json``; ``--quick`` (small
scenes) writes to ``benchmarks/output/``.

**Self-consistency on the demo scene.** The demo's truth is generated with the assumptions the
methods make (e.g. shadows are the clouds shifted down-sun), so these figures check the
implementation, not the methods' accuracy. What is measured, on the demo scene:

* **Masks**, pixel by pixel over every date: precision, recall and F1 of each method's cloud part
  and shadow part against the true clouds and shadows, and of its whole mask against
  clouds-or-shadows. ``MSK_CLDPRB > 10`` is the complement of the Earth Engine mosaic example's
  ``lte(10)``;
  SCL drops classes 3, 8, 9, 10; s2cloudless + shadows is Earth Engine's tutorial method;
  csmask is ukis-csmask's network on L2A alone, and csmask combined adds the tutorial's shadow
  projection of its clouds. The demo's clouds are synthetic: a network trained on real clouds
  is scored here on how it sees them, not on its accuracy (that is
  :mod:`benchmarks.bench_csmask`, on a real labelled patch).
* **Composites**: the share of composite pixels that *came from* a cloud or shadow observation
  (for a median, the middle observation(s) of the pixel's sorted valid series; for a quality
  mosaic, the chosen image), and the RMSE (reflectance x 10000 over B02, B03, B04, B08) against
  the median of the clear-sky truth over the same dates.

**Agreement on real data.** :mod:`benchmarks.bench_clouds_real`: real Sentinel-2 L1C frames
against s2cloudless output computed by others (package and Sentinel Hub service); skipped, and
said so, where ``../shared/realdata`` is absent.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import xarray as xr

import compositing
from benchmarks import bench_clouds_real
from compositing import clouds, csmask
from compositing.sources import demo

# The two compositing examples' places and dates.
SCENES = {name: demo.PRESETS[name] for name in list(demo.PRESETS)[:2]}
RMSE_BANDS = ["B02", "B03", "B04", "B08"]
MODEL_RESOLUTION = 60  # metres: s2cloudless runs coarser, as Earth Engine's probability product
SELF_CONSISTENCY_TITLE = "Self-consistency on the demo scene (synthetic)"
REAL_TITLE = bench_clouds_real.TITLE


def prf(predicted: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """Precision, recall and F1 of a boolean prediction."""
    hits = float((predicted & truth).sum())
    precision = hits / max(float(predicted.sum()), 1.0)
    recall = hits / max(float(truth.sum()), 1.0)
    f1 = 2 * precision * recall / max(precision + recall, 1e-12)
    return {"precision": precision, "recall": recall, "f1": f1}


def score_masks(l2a, l1c, truth) -> dict[str, dict]:
    cloud, shadow = truth["cloud"].values, truth["shadow"].values
    either = cloud | shadow
    scl = l2a.sel(band="SCL").values
    layers = clouds.s2cloudless_layers(l2a, l1c=l1c, resolution=MODEL_RESOLUTION).compute()
    # ukis-csmask on L2A alone (no L1C), at its own 30 m (40 m: 2 x 2 blocks of 20 m).
    network = csmask.csmask_layers(l2a, buffer=50).compute()
    joined = csmask.csmask_layers(
        l2a, probability=network[["cloud_probability", "shadow_probability"]], buffer=50,
        combined=True,
    ).compute()  # fmt: skip
    parts = {
        "MSK_CLDPRB > 10": (clouds.mask_from_cldprb(l2a).values, None),
        "SCL (3, 8, 9, 10)": (np.isin(scl, [8, 9, 10]), scl == 3),
        "s2cloudless + shadows": (layers["clouds"].values, layers["shadows"].values),
        "csmask": (network["clouds"].values, network["shadows"].values),
        "csmask combined": (joined["clouds"].values, joined["shadows"].values),
    }
    final = {
        "MSK_CLDPRB > 10": parts["MSK_CLDPRB > 10"][0],
        "SCL (3, 8, 9, 10)": clouds.mask_from_scl(l2a).values,
        "s2cloudless + shadows": layers["mask"].values,
        "csmask": network["mask"].values,
        "csmask combined": joined["mask"].values,
    }
    scores = {}
    for name, (cloud_part, shadow_part) in parts.items():
        scores[name] = {
            "cloud": prf(cloud_part, cloud),
            "shadow": prf(shadow_part, shadow) if shadow_part is not None else None,
            "mask": prf(final[name], either),
            "mask_cloud_recall": float(final[name][cloud].mean()),
            "mask_shadow_recall": float(final[name][shadow].mean()),
        }
    return scores, final


def median_sources(values: np.ndarray) -> np.ndarray:
    """For (time, y, x) values with NaN masks, a (time, y, x) boolean: the observation(s) a median
    takes its value from (the middle one, or the two middle ones for an even count)."""
    order = np.argsort(np.where(np.isnan(values), np.inf, values), axis=0, kind="stable")
    count = np.isfinite(values).sum(axis=0)
    lower = np.clip((count - 1) // 2, 0, None)
    upper = np.clip(count // 2, 0, None)
    sources = np.zeros(values.shape, dtype=bool)
    rows, cols = np.indices(count.shape)
    for rank in (lower, upper):
        index = np.take_along_axis(order, rank[None], axis=0)[0]
        sources[index, rows, cols] |= count > 0
    return sources


def score_composites(l2a, truth, final_masks) -> dict[str, dict]:
    contaminated = (truth["cloud"] | truth["shadow"]).values
    reference = compositing.composite(truth["clear"].sel(band=RMSE_BANDS), "median").values
    results = {}
    plans = {"median, no mask": None, **{f"median after {k}": v for k, v in final_masks.items()}}
    for name, drop in plans.items():
        masked = l2a if drop is None else l2a.where(~xr.DataArray(drop, dims=("time", "y", "x")))
        image = compositing.composite(masked, "median").sel(band=RMSE_BANDS).values
        sources = median_sources(masked.sel(band="B08").values)
        results[name] = _composite_figures(image, reference, sources, contaminated)

    quality = l2a.sel(band="MSK_CLDPRB") * -1
    with_quality = xr.concat(
        [l2a, quality.expand_dims(band=["quality"]).transpose(*l2a.dims)], dim="band"
    )
    image = compositing.composite(with_quality, "quality_mosaic", quality_band="quality")
    chosen = _chosen_images(with_quality.sel(band="quality").values)
    results["quality mosaic on -MSK_CLDPRB (the qualityMosaic example)"] = _composite_figures(
        image.sel(band=RMSE_BANDS).values, reference, chosen, contaminated
    )
    return results


def _chosen_images(quality: np.ndarray) -> np.ndarray:
    """Which image a quality mosaic takes each pixel from (highest quality, earliest on ties)."""
    best = np.nanargmax(np.where(np.isnan(quality), -np.inf, quality), axis=0)
    chosen = np.zeros(quality.shape, dtype=bool)
    rows, cols = np.indices(best.shape)
    chosen[best, rows, cols] = np.isfinite(quality).any(axis=0)
    return chosen


def _composite_figures(image, reference, sources, contaminated) -> dict[str, float]:
    valid = np.isfinite(image).all(axis=0)
    from_contaminated = (sources & contaminated).any(axis=0) & valid
    error = (image - reference)[:, valid]
    return {
        "contaminated_share": float(from_contaminated.sum() / max(valid.sum(), 1)),
        "rmse": float(np.sqrt(np.mean(error**2))),
        "valid_share": float(valid.mean()),
    }


def run(quick: bool) -> dict:
    size, resolution = (3000, 60) if quick else (10_000, 20)
    report = {
        "title": SELF_CONSISTENCY_TITLE,
        "size_m": size,
        "resolution_m": resolution,
        "model_resolution_m": MODEL_RESOLUTION,
        "python": platform.python_version(),
        "scenes": {},
    }
    for name, place in SCENES.items():
        started = time.perf_counter()
        options = {**place, "size_m": size, "resolution": resolution}
        l2a = compositing.load(**options).persist()
        l1c = compositing.load(product="L1C", **options).persist()
        truth = demo.truth(**options).compute()
        masks, final = score_masks(l2a, l1c, truth)
        report["scenes"][name] = {
            "dates": int(l2a.sizes["time"]),
            "cloud_cover": float(truth["cloud"].mean()),
            "shadow_cover": float(truth["shadow"].mean()),
            "masks": masks,
            "composites": score_composites(l2a, truth, final),
            "seconds": time.perf_counter() - started,
        }
    report["real_data_title"] = REAL_TITLE
    # Five 101 x 100 frames: the same in quick and full runs.
    report["real_data"] = bench_clouds_real.run() if bench_clouds_real.available() else None
    return report


def to_markdown(report: dict) -> str:
    lines = [
        "# Cloud masks and composites",
        "",
        f"**{SELF_CONSISTENCY_TITLE}**, the sections named after the Earth Engine examples: the "
        "demo's truth is "
        "generated with the assumptions the methods make (shadows are the clouds shifted "
        "down-sun, cloud spectra as the model expects), so these figures check the "
        "implementation, not accuracy. The last section measures agreement on real data. "
        f"Demo scene at {report['resolution_m']} m, {report['size_m'] / 1000:g} km "
        f"squares; s2cloudless run at {report['model_resolution_m']} m and interpolated back. "
        "Generated by `python -m benchmarks.bench_clouds`.",
    ]
    for name, scene in report["scenes"].items():
        lines += [
            "",
            f"## Self-consistency on the demo scene: {name}",
            "",
            f"{scene['dates']} dates; clouds cover {scene['cloud_cover']:.0%} and shadows "
            f"{scene['shadow_cover']:.0%} of all pixels.",
            "",
            "| Mask | Cloud P / R / F1 | Shadow P / R / F1 | Whole mask vs cloud or shadow: "
            "P / R / F1 | Whole mask: cloud recall, shadow recall |",
            "|---|---|---|---|---|",
        ]
        for method, s in scene["masks"].items():
            shadow = _prf_cell(s["shadow"]) if s["shadow"] else "(no shadow class)"
            lines.append(
                f"| {method} | {_prf_cell(s['cloud'])} | {shadow} | {_prf_cell(s['mask'])} | "
                f"{s['mask_cloud_recall']:.3f}, {s['mask_shadow_recall']:.3f} |"
            )
        lines += [
            "",
            "| Composite | From a cloud or shadow | RMSE vs clear-sky median "
            "| Pixels with a value |",
            "|---|---|---|---|",
        ]
        for method, c in scene["composites"].items():
            lines.append(
                f"| {method} | {c['contaminated_share']:.1%} | {c['rmse']:.0f} | "
                f"{c['valid_share']:.1%} |"
            )
    lines.append("")
    if report.get("real_data") is not None:
        lines += bench_clouds_real.render(report["real_data"])
    else:
        lines += [
            f"## {REAL_TITLE}",
            "",
            f"Not measured: `{bench_clouds_real.REAL}` is absent.",
            "",
        ]
    return "\n".join(lines).rstrip("\n") + "\n"


def _prf_cell(scores: dict[str, float]) -> str:
    return f"{scores['precision']:.3f} / {scores['recall']:.3f} / {scores['f1']:.3f}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small scenes, for the test suite")
    parser.add_argument("--out", type=Path, help="output folder")
    args = parser.parse_args(argv)
    out = args.out or Path(__file__).parent / ("output" if args.quick else "results")
    out.mkdir(parents=True, exist_ok=True)
    report = run(args.quick)
    (out / "clouds.json").write_text(json.dumps(report, indent=1))
    (out / "clouds.md").write_text(to_markdown(report))
    print(to_markdown(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
