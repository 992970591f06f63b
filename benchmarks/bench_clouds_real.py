"""Cloud probability and masks on real Sentinel-2 L1C: agreement with s2cloudless references.

Run from the repository root::

    python -m benchmarks.bench_clouds_real     # prints the tables (bench_clouds embeds them)

Data: ``../shared/realdata/eolearn`` (eo-learn's example data, see its README): five real L1C
frames (``REFERENCE_SCENES.npy``, 101 x 100 pixels at 10 m, EPSG:32633, Slovenia, 2015) and,
for the same frames, the references computed by the eo-learn project:

* ``CLP_S2C`` / ``CLM_S2C``: the s2cloudless *package*'s probability and mask (threshold 0.4,
  average_over 4, dilation_size 2);
* ``CLP``: Sentinel Hub's *service* cloud probability (s2cloudless run at the service's own
  resolution: close to the package, not identical).

The references are model output, not a human-labelled truth, so this is **agreement**, not
accuracy. What is measured:

* probability agreement (mean and max absolute difference, Pearson correlation) of
  :func:`compositing.clouds.cloud_probability` with ``CLP_S2C`` and with ``CLP``;
* mask agreement (IoU, F1 and per-pixel agreement) with ``CLM_S2C`` of (a) the s2cloudless
  package's own ``get_mask_from_prob`` at the reference's parameters applied to *our*
  probability, (b) our ``clouds`` layer at the tutorial's 50 % threshold, (c) our whole
  ``mask`` (clouds + projected shadows, opened and buffered, Earth Engine's tutorial method);
* the false-alarm rate on real clear pixels: among the pixels every reference calls clear
  (``CLP_S2C < 0.4``, ``CLP < 0.4`` and ``CLM_S2C`` false), the share that each mask flags, per
  frame and in total.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import rioxarray  # noqa: F401  (registers .rio: the inputs carry the real CRS)
import xarray as xr

from compositing import clouds

ROOT = Path(__file__).resolve().parent.parent
#: The shared real data (read-only, never copied into the repository).
REAL = ROOT.parent / "shared" / "realdata" / "eolearn"
#: REFERENCE_SCENES' 13 bands, in their order.
BANDS_13 = ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B10", "B11",
            "B12")  # fmt: skip
CRS = "EPSG:32633"
#: The README's bounds (left, bottom, right, top) of the 100 x 101 pixel grid.
BOUNDS = (465181.05, 5079244.89, 466180.53, 5080254.63)
#: The reference's s2cloudless mask parameters.
REFERENCE_THRESHOLD = 0.4
REFERENCE_AVERAGE_OVER = 4
REFERENCE_DILATION = 2
#: The Earth Engine tutorial's cloud threshold (percent).
TUTORIAL_THRESHOLD = 50.0

TITLE = "Agreement on real Sentinel-2 L1C (eo-learn example data)"
MASKS = {
    "package_mask": "s2cloudless package mask on our probability (0.4, average_over 4, dilation 2)",
    "clouds_50": "our `clouds` layer: probability > 50 % (tutorial threshold)",
    "tutorial_mask": "our whole `mask`: clouds > 50 % + projected shadows, opened, 50 m buffer",
}


def available() -> bool:
    """Whether the real data folder is on this machine."""
    return (REAL / "REFERENCE_SCENES.npy").exists()


def load_references() -> dict[str, Any]:
    """The five frames as a contract collection (sorted by time) and the matching references.

    Returns
    -------
    dict
        ``collection`` (time, band, y, x) float32 reflectance x 10000 with the 13 band names and
        the CRS; ``clp_s2c``, ``clp`` (0-1) and ``clm_s2c`` (bool), each (time, y, x) in the
        collection's time order; ``frames`` (the TestEOPatch frame of each time).
    """
    meta = json.loads((REAL / "REFERENCE_SCENES_meta.json").read_text())
    scenes = np.load(REAL / "REFERENCE_SCENES.npy")  # (5, 101, 100, 13), 0-1
    frames = np.asarray(meta["REFERENCE_SCENES_index_to_TestEOPatch_frame"])
    times = pd.to_datetime(meta["timestamps"])
    order = np.argsort(times.values)  # the contract wants sorted times
    scenes, frames, times = scenes[order], frames[order], times[order]
    n_y, n_x = scenes.shape[1:3]
    left, bottom, right, top = BOUNDS
    dx, dy = (right - left) / n_x, (top - bottom) / n_y
    collection = xr.DataArray(
        np.moveaxis(scenes, -1, 1).astype(np.float32) * 10_000,
        dims=("time", "band", "y", "x"),
        coords={
            "time": times,
            "band": list(BANDS_13),
            "y": top - dy * (np.arange(n_y) + 0.5),
            "x": left + dx * (np.arange(n_x) + 0.5),
        },
        name="reflectance",
        attrs={"source": "eo-learn example data (real Sentinel-2 L1C)"},
    ).rio.write_crs(CRS)
    patch = REAL / "TestEOPatch"
    return {
        "collection": collection,
        "clp_s2c": np.load(patch / "data" / "CLP_S2C.npy")[frames, ..., 0],
        "clp": np.load(patch / "data" / "CLP.npy")[frames, ..., 0],
        "clm_s2c": np.load(patch / "mask" / "CLM_S2C.npy")[frames, ..., 0].astype(bool),
        "frames": frames.tolist(),
    }


def probability_agreement(ours: np.ndarray, reference: np.ndarray) -> dict[str, float]:
    """Mean and max absolute difference and Pearson correlation of two 0-1 probabilities.

    Parameters
    ----------
    ours, reference
        Arrays of the same shape; pixels where either is NaN are left out.
    """
    valid = np.isfinite(ours) & np.isfinite(reference)
    a, b = ours[valid].astype(np.float64), reference[valid].astype(np.float64)
    diff = np.abs(a - b)
    return {
        "mean_abs_diff": float(diff.mean()),
        "max_abs_diff": float(diff.max()),
        "correlation": float(np.corrcoef(a, b)[0, 1]),
        "n": int(valid.sum()),
    }


def mask_agreement(ours: np.ndarray, reference: np.ndarray) -> dict[str, float]:
    """IoU, F1 and per-pixel agreement of two boolean masks (True = cloud).

    With no cloud in either mask, IoU and F1 are 1 (the masks agree perfectly).
    """
    ours, reference = np.asarray(ours, bool), np.asarray(reference, bool)
    both = float((ours & reference).sum())
    either = float((ours | reference).sum())
    total = float(ours.sum() + reference.sum())
    return {
        "iou": both / either if either else 1.0,
        "f1": 2 * both / total if total else 1.0,
        "agreement": float((ours == reference).mean()),
        "ours_share": float(ours.mean()),
        "reference_share": float(reference.mean()),
    }


def false_alarms(mask: np.ndarray, clear: np.ndarray) -> dict[str, Any]:
    """Share of the ``clear`` pixels that ``mask`` flags, per frame (time) and in total.

    A frame with no clear pixel has rate None.
    """
    per_frame = []
    for frame_mask, frame_clear in zip(mask, clear, strict=True):
        n = int(frame_clear.sum())
        per_frame.append({"clear": n, "rate": float(frame_mask[frame_clear].mean()) if n else None})
    n_clear = int(clear.sum())
    return {
        "per_frame": per_frame,
        "clear": n_clear,
        "flagged": int(mask[clear].sum()),
        "rate": float(mask[clear].mean()) if n_clear else None,
    }


def package_mask(probability: np.ndarray) -> np.ndarray:
    """The s2cloudless package's mask at the reference's parameters, from a 0-1 probability."""
    from s2cloudless import S2PixelCloudDetector

    detector = S2PixelCloudDetector(
        threshold=REFERENCE_THRESHOLD,
        average_over=REFERENCE_AVERAGE_OVER,
        dilation_size=REFERENCE_DILATION,
    )
    return detector.get_mask_from_prob(probability.astype(np.float32)).astype(bool)


def run() -> dict[str, Any]:
    """Every figure of the real-data cloud section (see the module docstring)."""
    refs = load_references()
    collection = refs["collection"]
    # One band per chunk, as the file source and stackstac deliver it.
    lazy = collection.chunk({"time": 1, "band": 1})
    layers = clouds.s2cloudless_layers(lazy).compute()
    ours = layers["probability"].values / 100.0
    masks = {
        "package_mask": package_mask(ours),
        "clouds_50": layers["clouds"].values,
        "tutorial_mask": layers["mask"].values,
    }
    clear = (refs["clp_s2c"] < REFERENCE_THRESHOLD) & (refs["clp"] < REFERENCE_THRESHOLD)
    clear &= ~refs["clm_s2c"]
    return {
        "data": f"../{REAL.relative_to(ROOT.parent)}",
        "times": [str(t)[:19] for t in collection["time"].values],
        "frames": refs["frames"],
        "shape": list(collection.shape),
        "reference_cloud_share": [float(m.mean()) for m in refs["clm_s2c"]],
        "probability": {
            "CLP_S2C (s2cloudless package)": probability_agreement(ours, refs["clp_s2c"]),
            "CLP (Sentinel Hub service)": probability_agreement(ours, refs["clp"]),
            "reference: CLP (service) vs CLP_S2C (package)": probability_agreement(
                refs["clp"], refs["clp_s2c"]
            ),
        },
        "masks": {name: mask_agreement(mask, refs["clm_s2c"]) for name, mask in masks.items()},
        "false_alarms": {name: false_alarms(mask, clear) for name, mask in masks.items()},
    }


def render(report: dict[str, Any]) -> list[str]:
    """The real-data section of ``clouds.md`` as markdown lines."""
    lines = [
        f"## {TITLE}",
        "",
        f"Five real L1C frames ({report['shape'][2]} x {report['shape'][3]} pixels at 10 m, "
        f"{CRS}, Slovenia; dates {', '.join(t[:10] for t in report['times'])}; "
        f"`{report['data']}`). **The reference is model output, not a labelled truth**: "
        "`CLP_S2C`/`CLM_S2C` are the s2cloudless package's probability and mask (threshold 0.4, "
        "average_over 4, dilation_size 2) computed by the eo-learn project, `CLP` is Sentinel "
        "Hub's service probability (s2cloudless at the service's resolution). So these figures "
        "are *agreement* with s2cloudless as others run it, not accuracy. Reference cloud cover "
        "(CLM_S2C) per frame: "
        + ", ".join(f"{share:.1%}" for share in report["reference_cloud_share"])
        + ".",
        "",
        "| Our `cloud_probability` vs | Mean abs diff | Max abs diff | Correlation | Pixels |",
        "|---|---|---|---|---|",
    ]
    for name, s in report["probability"].items():
        lines.append(
            f"| {name} | {_small(s['mean_abs_diff'])} | {_small(s['max_abs_diff'])} | "
            f"{s['correlation']:.4f} | {s['n']:,} |"
        )
    lines += [
        "",
        "Probabilities on a 0-1 scale. Agreement with CLP_S2C is exact to float rounding because "
        "it is the same model run by the same package: it checks our wiring (band selection and "
        "order, units, grid, time order), not the model. The last row compares the two "
        "references with each other (not our code): the spread between two ways of running the "
        "same model, which is the whole of our difference from the service.",
        "",
        "| Mask vs CLM_S2C | IoU | F1 | Pixel agreement | Flagged (ours / reference) | "
        "False alarms on clear pixels | Per frame |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, label in MASKS.items():
        m, fa = report["masks"][name], report["false_alarms"][name]
        per_frame = ", ".join(
            "–" if f["rate"] is None else f"{f['rate']:.1%} of {f['clear']:,}"
            for f in fa["per_frame"]
        )
        lines.append(
            f"| {label} | {m['iou']:.3f} | {m['f1']:.3f} | {m['agreement']:.3f} | "
            f"{m['ours_share']:.1%} / {m['reference_share']:.1%} | "
            f"{fa['rate']:.2%} ({fa['flagged']:,} of {fa['clear']:,}) | {per_frame} |"
        )
    lines += [
        "",
        "Clear pixels: those every reference calls clear (CLP_S2C < 0.4, CLP < 0.4 and CLM_S2C "
        "false); a false alarm is one of them flagged by the mask. Per frame in time order "
        "(– where a frame has no clear pixel). The shadow part of the tutorial mask cannot be "
        "checked here: the references have no shadow class, so shadows count against it.",
        "",
    ]
    return lines


def _small(value: float) -> str:
    """A difference that may be zero up to float rounding: 4 decimals, or 2 significant digits."""
    return f"{value:.4f}" if value >= 1e-4 or value == 0 else f"{value:.1e}"


def readme_table_real(report: dict[str, Any] | None = None) -> str:
    """A short markdown table for the README, from ``run()``'s report.

    Parameters
    ----------
    report
        ``run()``'s report; default: the ``real_data`` of ``benchmarks/results/clouds.json``.
    """
    if report is None:
        path = ROOT / "benchmarks" / "results" / "clouds.json"
        report = json.loads(path.read_text())["real_data"]
        if report is None:
            raise ValueError(
                f"{path} has no real-data figures: run the benchmark where the data is"
            )
    p = report["probability"]
    lines = [
        "| what (vs the s2cloudless references) | agreement |",
        "|---|---|",
    ]
    for name in ("CLP_S2C (s2cloudless package)", "CLP (Sentinel Hub service)"):
        s = p[name]
        lines.append(
            f"| probability vs {name} | mean abs diff {_small(s['mean_abs_diff'])}, "
            f"max {_small(s['max_abs_diff'])}, r = {s['correlation']:.4f} |"
        )
    for name, label in MASKS.items():
        m, fa = report["masks"][name], report["false_alarms"][name]
        lines.append(
            f"| {label} vs CLM_S2C | IoU {m['iou']:.3f}, F1 {m['f1']:.3f}, pixel agreement "
            f"{m['agreement']:.3f}; false alarms on clear pixels {fa['rate']:.2%} |"
        )
    lines += [
        "",
        "Measured on five real Sentinel-2 L1C frames (eo-learn's example data, Slovenia 2015, "
        "101 x 100 px at 10 m) against s2cloudless output computed by others (package and "
        "Sentinel Hub service): agreement with a model, not accuracy against a labelled truth.",
    ]
    return "\n".join(lines)


def main() -> int:
    if not available():
        print(f"skipped: {REAL} is not on this machine")
        return 0
    report = run()
    print("\n".join(render(report)))
    print(readme_table_real(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
