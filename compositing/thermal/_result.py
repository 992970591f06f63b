"""What :func:`compositing.thermal.sharpen` returns: the sharpened map, the fit, the pairs and
their diagnostics, with a readable summary."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd
import xarray as xr

from ._fit import DEFAULT_LST_RANGE, DEFAULT_NDVI_RANGE, MIN_WATER_CELLS
from ._inputs import range_text


@dataclass(repr=False)
class SharpenResult:
    """What :func:`sharpen` returns.

    Attributes
    ----------
    sharpened
        The sharpened LST (kelvin) on the NDVI's grid and CRS; lazy (dask) when the NDVI is.
        NaN where the NDVI is NaN.
    slope, intercept
        The fitted line ``LST = slope * NDVI + intercept`` (kelvin per NDVI unit, kelvin).
    r2
        Coefficient of determination of the fit on the pairs used.
    n
        Number of coarse pairs used for the fit.
    samples
        One row per coarse cell with at least one valid fine pixel: ``row``/``col`` (index on
        the LST grid cropped to the overlap, as in ``residual``), ``x``/``y`` (the cell centre
        in the LST's CRS), ``ndvi`` (mean fine NDVI over the cell), ``lst``, ``coverage``
        (covered share of the cell's area), ``n_fine`` (valid fine pixels), ``water_fraction``
        (share of them that are water; 0 without ``water_ndvi``), ``used`` (bool) and
        ``excluded`` (``""`` when used, else the first filter that removed it: ``"lst NaN"``,
        ``"coverage"``, ``"ndvi_range"`` or ``"lst_range"``). With ``water_ndvi``, ``ndvi`` is
        the mean over the cell's land pixels (NaN for a cell that is all water).
    residual
        ``LST - (slope * mean NDVI + intercept)`` (with ``water_ndvi``: minus the cell mean of
        the land line and the water temperature) on the coarse grid (the LST grid cropped to
        the cells that overlap the NDVI), in the LST's CRS, for every cell with a valid LST and
        enough coverage, whether or not the filters used it for the fit; NaN elsewhere.
    cv_rmse
        Cross-validated RMSE (kelvin) of the fit at the *coarse* scale: the used pairs are split
        into ``cv_folds`` random folds (fixed seed); for each fold the line is refitted without
        it and predicts the fold's coarse LST from its mean NDVI. It says how well NDVI explains
        1 km LST at cells the fit has not seen. It is *not* the error of the 10 m map: it cannot
        see the sub-pixel errors of transferring the line to 10 m, and residual correction
        removes the coarse misfit it measures. NaN with fewer than 3 pairs per training set.
    equation
        The fit as text, e.g. ``"y = -21.85x + 314.90"``.
    ndvi_range, lst_range, min_coverage, residual_correction, cv_folds, water_ndvi
        The settings used.
    water_lst
        The fitted water temperature (K) with ``water_ndvi``; NaN when the pairs hold too little
        water to estimate it (water pixels are then NaN); None without ``water_ndvi``.
    filter_counts
        ``(step, pairs remaining)`` after each filter, in order.
    """

    sharpened: xr.DataArray
    slope: float
    intercept: float
    r2: float
    n: int
    samples: pd.DataFrame
    residual: xr.DataArray
    cv_rmse: float
    equation: str
    ndvi_range: tuple[float, float] | None = DEFAULT_NDVI_RANGE
    lst_range: tuple[float, float] | None = DEFAULT_LST_RANGE
    min_coverage: float = 0.5
    residual_correction: bool = True
    cv_folds: int = 5
    water_ndvi: float | None = None
    water_lst: float | None = None
    filter_counts: list[tuple[str, int]] = field(default_factory=list)

    def summary(self) -> str:
        """A readable account of the fit: equation, r², pairs and what each filter removed."""
        lines = [
            "Thermal sharpening (least squares LST = slope * NDVI + intercept on coarse pixels)",
            f"  fit:        {self.equation}   r² = {self.r2:.3f}, n = {self.n} pairs",
            f"  CV RMSE:    {self.cv_rmse:.2f} K ({self.cv_folds}-fold over coarse pixels, "
            "coarse scale)",
            f"  residual correction: {'on' if self.residual_correction else 'off'}",
            f"  filters:    ndvi_range={range_text(self.ndvi_range)}, "
            f"lst_range={range_text(self.lst_range, ' K')}, "
            f"min_coverage={self.min_coverage:g}",
        ]
        if self.water_ndvi is not None:
            if self.water_lst is not None and math.isfinite(self.water_lst):
                water = f"{self.water_lst:.2f} K, fitted as a class of its own"
            else:
                water = (
                    f"not estimable (the used pairs hold less than {MIN_WATER_CELLS:g} cell of "
                    "water): water pixels are left NaN"
                )
            lines.append(f"  water:      NDVI < {self.water_ndvi:g}: {water}")
        lines.append("  pairs:")
        previous = None
        for step, remaining in self.filter_counts:
            removed = "" if previous is None else f"  (removed {previous - remaining})"
            lines.append(f"    {remaining:6d}  {step}{removed}")
            previous = remaining
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def __repr__(self) -> str:
        shape = " x ".join(str(s) for s in self.sharpened.shape)
        return (
            f"<SharpenResult {self.equation}, r2={self.r2:.3f}, n={self.n}, "
            f"cv_rmse={self.cv_rmse:.2f} K, sharpened {shape}>"
        )
