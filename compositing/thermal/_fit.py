"""The fit: coarse pairs (mean fine NDVI, LST) through the filters, the TsHARP model fitted by
least squares, its r² and its cross-validated RMSE at the coarse scale."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..geo import Grid
from ._inputs import range_text

#: The source article's filters: keep pairs with 0.1 <= NDVI <= 0.6 and 300 <= LST <= 330 K.
DEFAULT_NDVI_RANGE = (0.1, 0.6)
DEFAULT_LST_RANGE = (300.0, 330.0)
#: Fewest pairs a fit is made from.
MIN_PAIRS = 3
#: With ``water_ndvi``: the water temperature is fitted only when the used pairs' water fractions
#: add up to at least this many cells (below, it would rest on a few stray water pixels).
MIN_WATER_CELLS = 0.5
#: Seed of the cross-validation fold assignment (the folds are random but reproducible).
_CV_SEED = 0


def pairs_table(
    land_sum: np.ndarray,
    n_land: np.ndarray,
    n_water: np.ndarray,
    lst: np.ndarray,
    coverage: np.ndarray,
    coarse: Grid,
    ndvi_range: tuple[float, float] | None,
    lst_range: tuple[float, float] | None,
    min_coverage: float,
) -> tuple[pd.DataFrame, list[tuple[str, int]]]:
    """The samples table (cells with at least one valid fine pixel; see
    :attr:`SharpenResult.samples`) and the pairs remaining after each filter.

    Parameters
    ----------
    land_sum, n_land, n_water
        Per coarse cell (flat, in ``coarse``'s order): the NDVI summed over land pixels, the
        land pixels and the water pixels.
    lst, coverage
        Per coarse cell: the LST (kelvin, NaN = none) and the covered share of its area.
    coarse
        The (cropped) LST grid.
    ndvi_range, lst_range, min_coverage
        The filters (a range None: off).
    """
    n_fine = n_land + n_water
    flat = np.flatnonzero(n_fine > 0)
    rows, cols = np.divmod(flat, coarse.width)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_ndvi = land_sum[flat] / n_land[flat]  # NaN for cells that are all water
    samples = pd.DataFrame(
        {
            "row": rows,
            "col": cols,
            "x": coarse.x[cols],
            "y": coarse.y[rows],
            "ndvi": mean_ndvi,
            "lst": lst[flat],
            "coverage": coverage[flat],
            "n_fine": n_fine[flat].astype(np.int64),
            "water_fraction": n_water[flat] / n_fine[flat],
        }
    )
    steps = [
        ("lst NaN", "with a valid LST", np.isfinite(samples["lst"].to_numpy())),
        (
            "coverage",
            f"with coverage >= {min_coverage:g}",
            samples["coverage"].to_numpy() >= min_coverage,
        ),
    ]
    if ndvi_range is not None:
        inside = samples["ndvi"].between(*ndvi_range).to_numpy()
        steps.append(("ndvi_range", f"with NDVI in ndvi_range {range_text(ndvi_range)}", inside))
    if lst_range is not None:
        inside = samples["lst"].between(*lst_range).to_numpy()
        label = f"with LST in lst_range {range_text(lst_range, ' K')}"
        steps.append(("lst_range", label, inside))
    used = np.ones(len(samples), dtype=bool)
    excluded = np.full(len(samples), "", dtype=object)
    counts_after = [("coarse pixels with NDVI (at least one valid fine pixel)", len(samples))]
    for reason, label, keep in steps:
        excluded[used & ~keep] = reason
        used &= keep
        counts_after.append((label, int(used.sum())))
    samples["used"] = used
    samples["excluded"] = excluded.astype(str)
    return samples, counts_after


def too_few_pairs(counts_after: list[tuple[str, int]]) -> ValueError:
    """The error for a fit left with fewer than :data:`MIN_PAIRS` pairs, saying how many pairs
    each filter removed and what to relax."""
    trail = []
    previous = None
    for label, remaining in counts_after:
        removed = "" if previous is None else f" (removed {previous - remaining})"
        trail.append(f"{remaining} {label}{removed}")
        previous = remaining
    return ValueError(
        f"too few pairs to fit a line: {counts_after[-1][1]} remained, at least {MIN_PAIRS} are "
        f"needed. Pairs after each filter: {'; '.join(trail)}. Widen ndvi_range/lst_range or "
        "pass None to turn a filter off, lower min_coverage, or give a larger area (more "
        "coarse pixels)."
    )


@dataclass(frozen=True)
class Model:
    """The fine-scale model: ``slope * ndvi + intercept`` on land, ``water`` (K) on water pixels
    (NaN: no water class, or one that could not be estimated; water pixels are then NaN)."""

    slope: float
    intercept: float
    water: float = math.nan

    def cell_means(
        self, land_sum: np.ndarray, n_land: np.ndarray, n_water: np.ndarray
    ) -> np.ndarray:
        """Mean of the model over each cell's pixels that it gives a value to, from the
        per-cell sums. Exactly what the sharpened map averages to before residual correction,
        which is what makes the correction conservative."""
        has_water = math.isfinite(self.water)
        total = self.slope * land_sum + self.intercept * n_land
        count = n_land.astype(np.float64)
        if has_water:
            total = total + self.water * n_water
            count = count + n_water
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(count > 0, total / count, np.nan)


def fit(
    land_sum: np.ndarray,
    n_land: np.ndarray,
    n_water: np.ndarray,
    lst: np.ndarray,
    water_class: bool,
) -> Model:
    """Least squares on the coarse pairs (float64).

    Without a water class: the line through ``(mean land NDVI, LST)`` in closed form (as
    ``np.polyfit(deg=1)``). With one, when the pairs hold at least :data:`MIN_WATER_CELLS` cells'
    worth of water: ``LST = slope * sum(land NDVI) / n + intercept * n_land / n + water *
    n_water / n`` (the cell mean of the fine model), solved with ``np.linalg.lstsq``; else the
    plain line, and the water temperature is NaN (not estimable).

    Parameters
    ----------
    land_sum, n_land, n_water, lst
        Per pair: the NDVI summed over land pixels, the land and water pixels, the LST.
    water_class
        Whether water is a class of its own (``water_ndvi`` given).

    Raises
    ------
    ValueError
        The pairs with land pixels all have the same mean NDVI.
    """
    n = n_land + n_water
    water_share = n_water / n
    if water_class and water_share.sum() >= MIN_WATER_CELLS and n.size > 3:
        design = np.column_stack([land_sum / n, n_land / n, water_share])
        coef, _, rank, _ = np.linalg.lstsq(design, lst, rcond=None)
        if rank == 3:
            return Model(float(coef[0]), float(coef[1]), float(coef[2]))
    land = n_land > 0
    x, y = land_sum[land] / n_land[land], lst[land]
    if x.size < 2 or not np.ptp(x) > 0:
        raise ValueError(
            f"the {x.size} pairs with land pixels all have the same mean NDVI "
            f"({np.mean(x) if x.size else math.nan:.4g}): a line cannot be fitted. Give an area "
            "with more varied vegetation, or widen ndvi_range."
        )
    xm, ym = x.mean(), y.mean()
    slope = float(np.sum((x - xm) * (y - ym)) / np.sum((x - xm) ** 2))
    return Model(slope, float(ym - slope * xm))


def r_squared(observed: np.ndarray, predicted: np.ndarray) -> float:
    """Coefficient of determination of ``predicted`` (NaN entries left out); NaN for fewer than
    two values or no variance."""
    keep = np.isfinite(predicted)
    observed, predicted = observed[keep], predicted[keep]
    total = np.sum((observed - observed.mean()) ** 2)
    if observed.size < 2 or total == 0:
        return math.nan
    return float(1.0 - np.sum((observed - predicted) ** 2) / total)


def cv_rmse(
    land_sum: np.ndarray,
    n_land: np.ndarray,
    n_water: np.ndarray,
    lst: np.ndarray,
    water_class: bool,
    folds: int,
) -> float:
    """K-fold cross-validated RMSE of the model at the coarse scale (see
    :attr:`SharpenResult.cv_rmse`); the arguments as :func:`fit`'s, and the number of folds."""
    k = min(folds, lst.size)
    if k < 2 or lst.size - math.ceil(lst.size / k) < MIN_PAIRS:
        return math.nan
    fold = np.random.default_rng(_CV_SEED).permutation(lst.size) % k
    errors = np.full(lst.size, np.nan)
    for i in range(k):
        held, train = fold == i, fold != i
        try:
            model = fit(land_sum[train], n_land[train], n_water[train], lst[train], water_class)
        except ValueError:  # a training set without NDVI spread: no prediction for this fold
            continue
        predicted = model.cell_means(land_sum[held], n_land[held], n_water[held])
        errors[held] = lst[held] - predicted
    if not np.isfinite(errors).any():
        return math.nan
    return float(np.sqrt(np.nanmean(errors**2)))


def equation_text(slope: float, intercept: float) -> str:
    """The fit as text, e.g. ``"y = -21.85x + 314.90"``."""
    sign = "-" if intercept < 0 else "+"
    return f"y = {slope:.2f}x {sign} {abs(intercept):.2f}"
