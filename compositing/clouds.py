"""Clouds and their shadows: s2cloudless probabilities, Earth Engine's shadow method, and masks.

Three ways to decide which pixels to drop, each a lazy boolean ``(time, y, x)`` DataArray that is
True where the pixel is to be dropped:

* :func:`mask_from_cldprb`: L2A's own cloud probability band, ``MSK_CLDPRB`` (the Earth Engine
  mosaic example keeps ``lte(10)``);
* :func:`mask_from_scl`: classes of the Scene Classification Layer (default 3 shadow, 8 and 9
  cloud, 10 cirrus);
* :func:`mask_s2cloudless`: Earth Engine's s2cloudless tutorial, clouds from the s2cloudless
  probability and shadows projected from them along the sun's azimuth; every step is available
  as a layer through :func:`s2cloudless_layers` (for teaching and for the map).

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
import math
import warnings

import dask.array as da
import numpy as np
import pandas as pd
import xarray as xr
from scipy import ndimage

from .contract import band_names, check_collection, whole_along
from .geo import LONLAT, transformer
from .solar import solar_angles

#: The ten bands the s2cloudless model reads, in its order.
S2CLOUDLESS_BANDS = ("B01", "B02", "B04", "B05", "B08", "B8A", "B09", "B10", "B11", "B12")
#: SCL classes dropped by default: 3 cloud shadow, 8 and 9 cloud (medium, high), 10 cirrus.
SCL_DROP_CLASSES = (3, 8, 9, 10)
SCL_WATER = 6
MASK_METHODS = ("none", "cldprb", "scl", "s2cloudless")
#: The bands of the collection each mask method reads (s2cloudless also reads the L1C's
#: S2CLOUDLESS_BANDS, and SCL only where present: water is never a shadow).
MASK_BANDS: dict[str, tuple[str, ...]] = {
    "none": (),
    "cldprb": ("MSK_CLDPRB",),
    "scl": ("SCL",),
    "s2cloudless": ("B08", "SCL"),
}

#: Resolution (m) at which the tutorial projects clouds into shadows.
PROJECTION_RESOLUTION = 100.0
#: The opening's erosion: 2 pixels at 20 m in the tutorial.
EROSION_METRES = 40.0


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
    own = _resolution(collection)
    factor = 1
    if resolution is not None:
        if resolution < own:
            raise ValueError(
                f"resolution={resolution} m is finer than the collection's {own:g} m: give a "
                "coarser one (e.g. 60-160) or None"
            )
        factor = max(1, round(resolution / own))
    if factor > 1:
        bands = _coarsen_mean(bands, factor)

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
        probability = _interpolate_back(probability, collection)
    probability = probability.transpose("time", "y", "x")
    probability.name = "cloud_probability"
    probability.attrs = {"units": "%", "long_name": "s2cloudless cloud probability"}
    return probability


def _probability_block(bands: np.ndarray) -> np.ndarray:
    """s2cloudless on a block (..., 10 bands) in reflectance x 10000 -> percent."""
    valid = np.isfinite(bands).all(axis=-1)
    finite = bands[valid]
    if finite.size and np.nanmedian(finite) < 5:
        raise ValueError(
            "cloud_probability got values that look like reflectance on a 0-1 scale; the "
            "collection must be in Earth Engine units (reflectance x 10000): multiply by 10000"
        )
    if finite.size and np.nanmax(finite) > 25_000:
        raise ValueError(
            "cloud_probability got values above 25000, which look like raw L2A DN with the +1000 "
            "offset or another scale: give L1C reflectance x 10000"
        )
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


def _coarsen_mean(bands: xr.DataArray, factor: int) -> xr.DataArray:
    """Block means of ``factor`` x ``factor`` pixels (a partial block at the far edges averages
    the pixels it has; NaN pixels are skipped), float32.

    xarray pads and reshapes the whole array, so the blocks never depend on the dask chunks; the
    sums run in float64 so that the float32 result does not depend on the order of summation,
    which the memory layout of a chunk could change.
    """
    coarse = bands.astype(np.float64).coarsen(y=factor, x=factor, boundary="pad").mean()
    return coarse.astype(np.float32)


def _interpolate_back(coarse: xr.DataArray, collection: xr.DataArray) -> xr.DataArray:
    """Bilinear interpolation from a coarsened grid back to the collection's; edges nearest.

    Each fine pixel depends only on its own coordinates and the coarse grid, so for dask input
    the output is computed block by block on the collection's own time/y/x chunks (the coarse
    grid, ``factor**2`` times smaller, is handed whole to each block): the same values as one
    block, and no chunk larger than the collection's.
    """
    coarse = coarse.transpose("time", "y", "x")
    y, x = collection["y"].values, collection["x"].values
    kwargs = {"coarse_y": coarse["y"].values, "coarse_x": coarse["x"].values}
    if isinstance(coarse.data, da.Array):
        fine_y = da.from_array(y, chunks=(collection.chunksizes["y"],))
        fine_x = da.from_array(x, chunks=(collection.chunksizes["x"],))
        with warnings.catch_warnings():
            # More output chunks than input chunks is the point here (the collection's tiling).
            warnings.simplefilter("ignore", da.PerformanceWarning)
            data = da.blockwise(
                _bilinear_block,
                "tyx",
                whole_along(coarse, "y", "x").data,
                "tab",
                fine_y,
                "y",
                fine_x,
                "x",
                concatenate=True,
                dtype=np.float32,
                meta=np.empty((0, 0, 0), np.float32),
                **kwargs,
            )
    else:
        data = _bilinear_block(np.asarray(coarse.data), y, x, **kwargs)
    coords = {k: c for k, c in coarse.coords.items() if not {"y", "x"} & set(c.dims)}
    return xr.DataArray(
        data, dims=("time", "y", "x"), coords={**coords, "y": collection["y"], "x": collection["x"]}
    )


def _bilinear_block(
    coarse: np.ndarray,
    y: np.ndarray,
    x: np.ndarray,
    *,
    coarse_y: np.ndarray,
    coarse_x: np.ndarray,
) -> np.ndarray:
    """Bilinear interpolation of ``coarse`` (time, cy, cx) at the fine ``y`` x ``x`` pixel centres,
    nearest where linear gives NaN (outside the outermost coarse centres, next to NaN cells)."""
    grid = xr.DataArray(coarse, dims=("time", "y", "x"), coords={"y": coarse_y, "x": coarse_x})
    fine = grid.interp(y=y, x=x, method="linear")
    nearest = grid.reindex(y=y, x=x, method="nearest")
    return np.asarray(fine.fillna(nearest).values, dtype=np.float32)


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

    azimuth = _solar_azimuth(collection)
    pixel = _resolution(collection)
    # Projection and opening work on whole images (shadows reach across any tile boundary).
    projection = xr.apply_ufunc(
        _project_block,
        whole_along(clouds, "y", "x"),
        azimuth,
        input_core_dims=[["y", "x"], []],
        output_core_dims=[["y", "x"]],
        dask="parallelized",
        output_dtypes=[bool],
        kwargs={"pixel": pixel, "distance": cld_prj_dist * 1000.0},
    )
    shadows = projection & dark
    mask = xr.apply_ufunc(
        _open_and_buffer_block,
        whole_along(clouds | shadows, "y", "x"),
        input_core_dims=[["y", "x"]],
        output_core_dims=[["y", "x"]],
        dask="parallelized",
        output_dtypes=[bool],
        kwargs={"pixel": pixel, "buffer": buffer},
    )
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
        (:func:`mask_s2cloudless`; for an L2A collection pass ``l1c=`` or ``probability=``).
    params
        The chosen method's parameters.
    """
    check_collection(collection)
    if method == "none":
        if params:
            raise ValueError(f"method 'none' takes no parameters, got {sorted(params)}")
        return collection
    makers = {"cldprb": mask_from_cldprb, "scl": mask_from_scl, "s2cloudless": mask_s2cloudless}
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


def _resolution(collection: xr.DataArray) -> float:
    x = collection["x"].values
    if x.size < 2:
        raise ValueError("the collection needs at least 2 pixels along x to know its resolution")
    return float(abs(x[1] - x[0]))


def _solar_azimuth(collection: xr.DataArray) -> xr.DataArray:
    """Per-image solar azimuth (degrees from north, clockwise): scene metadata, else computed."""
    if "solar_azimuth" in collection.coords:
        return collection["solar_azimuth"].reset_coords(drop=True)
    crs = collection.rio.crs
    if crs is None:
        raise ValueError(
            "no solar_azimuth coordinate and no CRS to compute it from the place: add "
            "`.assign_coords(solar_azimuth=('time', values))` or write a CRS with .rio.write_crs"
        )
    x, y = float(collection["x"].mean()), float(collection["y"].mean())
    lon, lat = transformer(crs, LONLAT).transform(x, y)
    azimuth, _ = solar_angles(pd.DatetimeIndex(collection["time"].values), lon, lat)
    return xr.DataArray(azimuth, dims="time", coords={"time": collection["time"]})


def _project_block(clouds: np.ndarray, azimuth: np.ndarray, *, pixel: float, distance: float):
    """Cloud projection of one or more (..., y, x) masks: pixels that have a cloud up-sun of them
    within ``distance`` metres, computed at 100 m as Earth Engine's tutorial does.

    Earth Engine writes it as ``directionalDistanceTransform(90 - MEAN_SOLAR_AZIMUTH_ANGLE, ...)``:
    ``90 - azimuth`` turns the compass azimuth of the sun into a math angle (counter-clockwise
    from east). Here the same geometry is explicit: a shadow lies at ``cloud - s * sun`` for
    ``0 <= s <= distance``, with ``sun = (sin(azimuth), cos(azimuth))`` in (east, north).
    """
    out = np.empty(clouds.shape, dtype=bool)
    for index in np.ndindex(clouds.shape[:-2]):
        out[index] = _project_one(clouds[index], float(np.asarray(azimuth)[index]), pixel, distance)
    return out


def _project_one(cloud: np.ndarray, azimuth: float, pixel: float, distance: float) -> np.ndarray:
    factor = max(1, round(PROJECTION_RESOLUTION / pixel))
    height, width = cloud.shape
    # Coarsen to ~100 m: a coarse cell is cloudy if any of its pixels is.
    padded = np.zeros(
        (math.ceil(height / factor) * factor, math.ceil(width / factor) * factor), bool
    )
    padded[:height, :width] = cloud
    coarse = padded.reshape(padded.shape[0] // factor, factor, -1, factor).any(axis=(1, 3))
    step = pixel * factor
    east, north = math.sin(math.radians(azimuth)), math.cos(math.radians(azimuth))
    projected = coarse.copy()
    for k in range(1, int(distance / step) + 1):
        # Moving away from the sun: east -> fewer columns east, north -> more rows (rows go south).
        rows = round(k * north)
        cols = round(-k * east)
        projected |= _shift(coarse, rows, cols)
    fine = np.repeat(np.repeat(projected, factor, axis=0), factor, axis=1)
    return fine[:height, :width]


def _shift(mask: np.ndarray, rows: int, cols: int) -> np.ndarray:
    out = np.zeros_like(mask)
    height, width = mask.shape
    if abs(rows) >= height or abs(cols) >= width:
        return out
    out[max(rows, 0) : height + min(rows, 0), max(cols, 0) : width + min(cols, 0)] = mask[
        max(-rows, 0) : height + min(-rows, 0), max(-cols, 0) : width + min(-cols, 0)
    ]
    return out


def _disk(radius_pixels: float) -> np.ndarray:
    r = max(0, int(round(radius_pixels)))
    yy, xx = np.mgrid[-r : r + 1, -r : r + 1]
    return xx * xx + yy * yy <= r * r + 1e-9


def _open_and_buffer_block(mask: np.ndarray, *, pixel: float, buffer: float) -> np.ndarray:
    """Erode by 40 m (drops speckle), then dilate by ``buffer`` metres, image by image."""
    erosion = _disk(EROSION_METRES / pixel)
    dilation = _disk(buffer / pixel)
    out = np.empty(mask.shape, dtype=bool)
    for index in np.ndindex(mask.shape[:-2]):
        opened = ndimage.binary_erosion(mask[index], structure=erosion, border_value=1)
        out[index] = ndimage.binary_dilation(opened, structure=dilation) if buffer > 0 else opened
    return out


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
