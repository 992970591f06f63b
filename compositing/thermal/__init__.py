"""Thermal sharpening: a ~1 km land surface temperature (LST) sharpened to 10 m with NDVI.

The method of the source article (TsHARP, Agam et al. 2007): average a fine-scale vegetation index
over each coarse LST pixel, fit ``LST = slope * NDVI + intercept`` by least squares on those
coarse pairs, and apply the line to the fine index. :func:`sharpen` does this on two
:class:`xarray.DataArray` s in any CRSs; :func:`sharpen_files` does the source article's whole flow
from an LST GeoTIFF and the B04/B08 band files to a Cloud-Optimized GeoTIFF.

Decisions, and where they differ from the source article:

* **Footprints on the LST's own grid.** The source article first reprojects the LST bilinearly
  onto the Sentinel-2 CRS and only then averages NDVI per (reprojected) LST pixel. The bilinear
  warp mixes each pixel with its neighbours, so an LST value no longer belongs to the footprint
  its NDVI mean is taken over: the pairs are blurred towards each other and the fitted slope is
  flattened. Here nothing is resampled: every fine pixel centre is transformed into the LST's
  CRS and assigned to the coarse cell it falls in, and the NDVI is averaged per cell with
  ``np.bincount``. A fine pixel counts wholly in the cell of its centre; with fine pixels at
  least 100 times smaller (in area) than coarse ones this is an area weighting whose error is
  below 1 %, and it makes conservation exact (below).
* **Coverage.** Each coarse cell records the share of its area covered by valid (non-NaN) fine
  pixels: ``valid fine pixels / expected fine pixels``, the expected number being the cell's
  area transformed into the fine CRS divided by the fine pixel area. Cells below
  ``min_coverage`` (default 0.5: at the edge of the fine image or under clouds) are not used for
  the fit, because their mean NDVI describes only part of what the LST measured.
* **Residual correction and conservation.** With ``residual_correction=True`` each coarse
  cell's residual ``LST - (slope * mean NDVI + intercept)`` is added back to the fine pixels
  assigned to it, so the sharpened map averages exactly to the input LST over every cell (up to
  float rounding). Residuals are kept for every cell whose LST is valid and whose coverage
  reaches ``min_coverage``, *including cells the ``ndvi_range``/``lst_range`` filters removed
  from the fit*: the filters protect the fit from outliers, but conservation should hold
  wherever the inputs are valid. Cells with no residual (LST NaN, or too little coverage) add 0.
* **NaN** is excluded everywhere: NaN NDVI pixels are left out of the means (and stay NaN in
  the sharpened map); NaN LST cells are not pairs.
* **Water (``water_ndvi``, on by default).** One line cannot describe water: its NDVI is negative
  yet it is cool, so the source article's line extrapolated to water makes lakes and rivers tens
  of kelvin too hot, and cells that mix water and land pull the fitted slope towards zero. With
  ``water_ndvi=0.0`` pixels below the threshold are a class of their own with one fitted
  temperature, estimated jointly with the land line from each cell's water fraction. On the
  demo scene this cuts the error from worse than bilinear upsampling to a quarter of it (a
  self-consistency check: the demo's temperature is made from cover and NDVI). On a real
  Landsat-8 scene, with little water and a weak NDVI-temperature relation, sharpening with
  residual correction is only about 5% better than bilinear upsampling
  (``benchmarks/results/thermal.md``). ``water_ndvi=None`` gives the source article's single
  line.

The package, one job per module: ``_result`` (:class:`SharpenResult`), ``_inputs`` (the checks
of the inputs), ``_footprints`` (each fine pixel's coarse cell, the per-cell sums and expected
pixel counts), ``_fit`` (the pairs and their filters, the model, r², CV RMSE), ``_sharpen``
(:func:`sharpen` and its block function) and ``_io`` (:func:`sharpen_files`; the COG is written by
:func:`compositing.export.write_cog`).
Grids are :class:`compositing.geo.Grid` s, as everywhere in the engine.
"""

from ._fit import DEFAULT_LST_RANGE, DEFAULT_NDVI_RANGE, MIN_PAIRS, MIN_WATER_CELLS
from ._io import sharpen_files
from ._result import SharpenResult
from ._sharpen import sharpen

__all__ = [
    "DEFAULT_LST_RANGE",
    "DEFAULT_NDVI_RANGE",
    "MIN_PAIRS",
    "MIN_WATER_CELLS",
    "SharpenResult",
    "sharpen",
    "sharpen_files",
]
