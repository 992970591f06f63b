"""Clouds and their shadows: s2cloudless probabilities, Earth Engine's shadow method, and masks.

Four ways to decide which pixels to drop, each a lazy boolean ``(time, y, x)`` DataArray that is
True where the pixel is to be dropped:

* :func:`mask_from_cldprb`: L2A's own cloud probability band, ``MSK_CLDPRB`` (the Earth Engine
  mosaic example keeps ``lte(10)``);
* :func:`mask_from_scl`: classes of the Scene Classification Layer (default 3 shadow, 8 and 9
  cloud, 10 cirrus);
* :func:`mask_s2cloudless`: Earth Engine's s2cloudless tutorial, clouds from the s2cloudless
  probability and shadows projected from them along the sun's azimuth; every step is available
  as a layer through :func:`s2cloudless_layers` (for teaching and for the map);
* :func:`compositing.csmask.mask_csmask`: ukis-csmask's network for clouds and their shadows,
  which runs on L2A as well as L1C (so on the Planetary Computer, with no L1C), optionally
  joined with the shadow projection above (:mod:`compositing.csmask`).

:func:`mask_clouds` applies any of them to a collection, ready for
:func:`compositing.composite`. :func:`cloud_probability` runs the s2cloudless model itself on an
L1C collection.

Differences from Earth Engine's tutorial code, on purpose: ``buffer`` is the dilation in metres,
as its name says (the tutorial's code dilates by ``BUFFER * 2 / 20`` pixels at 20 m, i.e. twice
BUFFER metres; pass ``buffer=100`` to reproduce it), and the opening is done at the collection's
own resolution with disks of the same size in metres.
"""

from __future__ import annotations

import functools

import numpy as np
import xarray as xr

from .contract import band_names, check_collection, check_reflectance_scale, whole_along
from .csmask import CSMASK_BANDS, mask_csmask
from .resampling import coarsen_mean, coarsening_factor, interpolate_back, pixel_size
from .shadows import open_and_buffer, project_clouds, solar_azimuth

#: The ten bands the s2cloudless model reads, in its order.
S2CLOUDLESS_BANDS = ("B01", "B02", "B04", "B05", "B08", "B8A", "B09", "B10", "B11", "B12")
#: SCL classes dropped by default: 3 cloud shadow, 8 and 9 cloud (medium, high), 10 cirrus.
SCL_DROP_CLASSES = (3, 8, 9, 10)
SCL_WATER = 6
MASK_METHODS = ("none", "cldprb", "scl", "s2cloudless", "csmask")
#: The bands of the collection each mask method reads (s2cloudless also reads the L1C's
#: S2CLOUDLESS_BANDS, and SCL only where present: water is never a shadow).
MASK_BANDS: dict[str, tuple[str, ...]] = {
    "none": (),
    "cldprb": ("MSK_CLDPRB",),
    "scl": ("SCL",),
    "s2cloudless": ("B08", "SCL"),
    "csmask": (*CSMASK_BANDS, "SCL"),
}

# --- s2cloudless probability ------------------------------------------------------------------


def cloud_probability(collection: xr.DataArray, *, resolution: float | None = None) -> xr.DataArray:
    """The s2cloudless cloud probability (0-100 %) of every pixel of an L1C collection.

    Parameters
    ----------
    collection
        An L1C collection in Earth Engine units (top-of-atmosphere reflectance x 10000) with the
        ten model bands B01, B02, B04, B05, B08, B8A, B09, B10, B11, B12.
    resolution
        Run the model at this coarser resolution in metres (60-160 m is typical; the model costs
        about 0.6 s per 256 x 256 pixels) by averaging the bands over blocks, then bring the
        probability back to the collection's grid by bilinear interpolation. Default: the
        collection's own resolution.

    Returns
    -------
    xarray.DataArray
        ``(time, y, x)`` float32, lazy for dask input; NaN where any model band is masked.

    Raises
    ------
    ValueError
        No B10 (an L2A collection), another model band missing, or a resolution finer than the
        collection's. At compute time: values that look like 0-1 reflectance or raw DN.
    """
    check_collection(collection)
    present = band_names(collection)
    missing = [b for b in S2CLOUDLESS_BANDS if b not in present]
    if "B10" in missing:
        raise ValueError(
            "cloud_probability needs B10 (cirrus), which only L1C has: load the L1C product "
            "(compositing.load(..., product='L1C')), or use L2A's own MSK_CLDPRB band "
            "(mask_clouds(collection, 'cldprb'))"
        )
    if missing:
        raise ValueError(
            f"cloud_probability needs the bands {missing}; the collection has {present}"
        )
    bands = collection.sel(band=list(S2CLOUDLESS_BANDS))
    own = pixel_size(collection)
    factor = 1
    if resolution is not None:
        if resolution < own:
            raise ValueError(
                f"resolution={resolution} m is finer than the collection's {own:g} m: give a "
                "coarser one (e.g. 60-160) or None"
            )
        factor = coarsening_factor(own, resolution)
    if factor > 1:
        bands = coarsen_mean(bands, factor)

    # The model reads the ten bands of a pixel together: sources that deliver one band per
    # chunk (stackstac, local files) need the band axis made whole first; time and space keep
    # their chunks.
    probability = xr.apply_ufunc(
        _probability_block,
        whole_along(bands, "band"),
        input_core_dims=[["band"]],
        dask="parallelized",
        output_dtypes=[np.float32],
        exclude_dims=set(),
    )
    if factor > 1:
        probability = interpolate_back(probability, collection)
    probability = probability.transpose("time", "y", "x")
    probability.name = "cloud_probability"
    probability.attrs = {"units": "%", "long_name": "s2cloudless cloud probability"}
    return probability


def _probability_block(bands: np.ndarray) -> np.ndarray:
    """s2cloudless on a block (..., 10 bands) in reflectance x 10000 -> percent."""
    valid = np.isfinite(bands).all(axis=-1)
    finite = bands[valid]
    check_reflectance_scale(finite, "cloud_probability")
    shape = bands.shape[:-1]
    flat = np.nan_to_num(bands.reshape(1, -1, 1, bands.shape[-1]) / 10_000.0)
    probability = _detector().get_cloud_probability_maps(flat, num_threads=1).reshape(shape)
    return np.where(valid, probability * 100.0, np.nan).astype(np.float32)


@functools.lru_cache(maxsize=1)
def _detector():
    # The model file ships in the s2cloudless wheel; loading it once per process saves ~50 ms
    # a call.
    from s2cloudless import S2PixelCloudDetector

    return S2PixelCloudDetector(all_bands=False)


# --- masks from L2A bands ---------------------------------------------------------------------


def mask_from_cldprb(collection: xr.DataArray, threshold: float = 10) -> xr.DataArray:
    """True where L2A's ``MSK_CLDPRB`` exceeds ``threshold`` percent (or is masked).

    The Earth Engine mosaic example keeps ``img.select('MSK_CLDPRB').lte(10)``: this is its
    complement.
    """
    check_collection(collection)
    probability = _band(collection, "MSK_CLDPRB", "load the L2A product")
    mask = ~(probability <= threshold)
    mask.name = "cldprb_mask"
    return mask


def mask_from_scl(
    collection: xr.DataArray, classes: tuple[int, ...] = SCL_DROP_CLASSES
) -> xr.DataArray:
    """True where the Scene Classification Layer is one of ``classes`` (or masked)."""
    check_collection(collection)
    scl = _band(collection, "SCL", "load the L2A product")
    mask = scl.isin(list(classes)) | scl.isnull()
    mask.name = "scl_mask"
    return mask


# --- Earth Engine's s2cloudless + shadow method -----------------------------------------------


def s2cloudless_layers(
    collection: xr.DataArray,
    *,
    probability: xr.DataArray | None = None,
    l1c: xr.DataArray | None = None,
    resolution: float | None = None,
    cld_prb_thresh: float = 50,
    nir_drk_thresh: float = 0.15,
    cld_prj_dist: float = 1.0,
    buffer: float = 50,
) -> xr.Dataset:
    """Every step of Earth Engine's s2cloudless cloud and shadow method, as lazy layers.

    Parameters
    ----------
    collection
        The collection to mask (L2A or L1C, reflectance x 10000); needs B08, uses SCL when present
        (water is never a shadow). Sun angles come from its ``solar_azimuth`` coordinate, else
        are computed from date and place.
    probability
        The s2cloudless probability (time, y, x) in percent, if already computed.
    l1c
        An L1C collection on the same dates and grid to compute the probability from, for an L2A
        ``collection`` (which has no B10). Not needed if ``collection`` is L1C itself.
    resolution
        Passed to :func:`cloud_probability` (run the model coarser).
    cld_prb_thresh
        Cloud where probability > this (percent).
    nir_drk_thresh
        Dark where B08 < this x 10000 (reflectance 0-1).
    cld_prj_dist
        How far clouds are projected away from the sun, in km.
    buffer
        Dilation of the final mask, in metres.

    Returns
    -------
    xarray.Dataset
        ``probability`` (float32, %), and booleans ``clouds``, ``dark``, ``projection``,
        ``shadows`` and ``mask`` (clouds or shadows, opened and buffered), all (time, y, x).
    """
    check_collection(collection)
    probability = _matching_probability(collection, probability, l1c, resolution)
    nir = _band(collection, "B08", "B08 (NIR) finds dark pixels")
    clouds = probability > cld_prb_thresh
    dark = nir < nir_drk_thresh * 10_000
    if "SCL" in band_names(collection):
        dark = dark & (collection.sel(band="SCL", drop=True) != SCL_WATER)

    pixel = pixel_size(collection)
    projection = project_clouds(
        clouds, solar_azimuth(collection), pixel=pixel, distance=cld_prj_dist * 1000.0
    )
    shadows = projection & dark
    mask = open_and_buffer(clouds | shadows, pixel=pixel, buffer=buffer)
    layers = xr.Dataset(
        {
            "probability": probability,
            "clouds": clouds,
            "dark": dark,
            "projection": projection,
            "shadows": shadows,
            "mask": mask,
        }
    )
    return layers.transpose("time", "y", "x")


def mask_s2cloudless(collection: xr.DataArray, **params) -> xr.DataArray:
    """True where Earth Engine's s2cloudless method finds cloud or cloud shadow.

    Takes the parameters of :func:`s2cloudless_layers`; returns its ``mask``.
    """
    mask = s2cloudless_layers(collection, **params)["mask"]
    mask.name = "s2cloudless_mask"
    return mask


def mask_clouds(collection: xr.DataArray, method: str, **params) -> xr.DataArray:
    """The collection with dropped pixels set to NaN in every band, ready for ``composite``.

    Parameters
    ----------
    collection
        Any collection (reflectance x 10000).
    method
        ``"none"``, ``"cldprb"`` (:func:`mask_from_cldprb`, ``threshold=10``), ``"scl"``
        (:func:`mask_from_scl`, ``classes=...``) or ``"s2cloudless"``
        (:func:`mask_s2cloudless`; for an L2A collection pass ``l1c=`` or ``probability=``) or
        ``"csmask"`` (:func:`compositing.csmask.mask_csmask`: ukis-csmask's network, on L2A or
        L1C, ``buffer=``, ``combined=``...).
    params
        The chosen method's parameters.
    """
    check_collection(collection)
    if method == "none":
        if params:
            raise ValueError(f"method 'none' takes no parameters, got {sorted(params)}")
        return collection
    makers = {
        "cldprb": mask_from_cldprb,
        "scl": mask_from_scl,
        "s2cloudless": mask_s2cloudless,
        "csmask": mask_csmask,
    }
    if method not in makers:
        raise ValueError(
            f"unknown mask method {method!r}; valid methods: {', '.join(MASK_METHODS)}"
        )
    mask = makers[method](collection, **params)
    masked = collection.where(~mask)
    masked.attrs = {**collection.attrs, "cloud_mask": method}
    return masked


# --- helpers ----------------------------------------------------------------------------------


def _band(collection: xr.DataArray, name: str, fix: str) -> xr.DataArray:
    if name not in band_names(collection):
        raise ValueError(
            f"the collection has no {name} band ({fix}); bands present: {band_names(collection)}"
        )
    return collection.sel(band=name, drop=True)


def _matching_probability(collection, probability, l1c, resolution) -> xr.DataArray:
    """The s2cloudless probability for ``collection``'s dates and grid, from wherever it comes."""
    if probability is not None:
        source, what = probability, "probability"
    elif "B10" in band_names(collection):
        return cloud_probability(collection, resolution=resolution)
    elif l1c is not None:
        source, what = cloud_probability(l1c, resolution=resolution), "l1c"
    else:
        raise ValueError(
            "the s2cloudless method needs B10, which this (L2A) collection does not have: pass "
            "l1c=<the matching L1C collection> (compositing.load(..., product='L1C') with the same "
            "point, dates and resolution) or probability=<cloud_probability(l1c)>"
        )
    unmatched = [str(t)[:19] for t in collection["time"].values if t not in source["time"].values]
    if unmatched:
        raise ValueError(
            f"{what} has no scene for the collection's dates {unmatched}: load the L1C product "
            "for the same dates (and grid) as the collection"
        )
    source = source.sel(time=collection["time"])
    if (
        source.sizes["y"] != collection.sizes["y"]
        or source.sizes["x"] != collection.sizes["x"]
        or (
            not np.allclose(source["x"], collection["x"])
            or not np.allclose(source["y"], collection["y"])
        )
    ):
        raise ValueError(
            f"{what} is not on the collection's grid: load both with the same point/bbox, size, "
            "resolution and crs"
        )
    # The collection's own coordinates, not the source's: the two may carry the same per-image
    # metadata (solar_azimuth...) as different dask arrays, which xarray would compute to
    # compare as soon as the probability meets a band of the collection.
    own = {
        name: coord
        for name, coord in collection.coords.items()
        if name != "band" and set(coord.dims) <= {"time", "y", "x"}
    }
    return source.reset_coords(drop=True).assign_coords(own)


def with_mask_band(
    collection: xr.DataArray, mask: xr.DataArray, name: str = "cloudmask"
) -> xr.DataArray:
    """The collection with ``mask`` added as a band (1 = drop, 0 = keep), as Earth Engine's
    tutorial adds ``cloudmask`` with ``addBands``; then, with the facade,
    ``col.map(lambda img: img.update_mask(img.select('cloudmask').eq(0)))``.
    """
    check_collection(collection)
    if name in band_names(collection):
        raise ValueError(f"the collection already has a band {name!r}: pass another name=")
    band = mask.astype(collection.dtype).expand_dims(band=[name]).transpose(*collection.dims)
    return xr.concat([collection, band], dim="band", coords="minimal", compat="override")
