"""Shadow geometry and mask morphology shared by the cloud detectors.

* :func:`solar_azimuth`: the sun's azimuth of each image, from the scene metadata or computed
  from date and place;
* :func:`project_clouds`: Earth Engine's shadow projection, clouds moved away from the sun;
* :func:`open_and_buffer`: the tutorial's opening (40 m erosion) and buffer (dilation in
  metres), on whole images;
* :func:`buffer_mask`: a dilation in metres alone, done with per-chunk overlap (a dilation is
  local, so any chunking gives the same result without making images whole).
"""

from __future__ import annotations

import math

import dask.array as da
import numpy as np
import pandas as pd
import xarray as xr
from scipy import ndimage

from .contract import whole_along
from .geo import LONLAT, transformer
from .solar import solar_angles

__all__ = [
    "EROSION_METRES",
    "PROJECTION_RESOLUTION",
    "buffer_mask",
    "disk",
    "open_and_buffer",
    "project_clouds",
    "solar_azimuth",
]

#: Resolution (m) at which Earth Engine's tutorial projects clouds into shadows.
PROJECTION_RESOLUTION = 100.0
#: The opening's erosion: 2 pixels at 20 m in the tutorial.
EROSION_METRES = 40.0


def solar_azimuth(collection: xr.DataArray, *, required: bool = True) -> xr.DataArray | None:
    """Per-image solar azimuth (degrees from north, clockwise): scene metadata, else computed.

    Parameters
    ----------
    collection
        A collection with a ``solar_azimuth`` coordinate along ``time``, or a CRS (then the
        azimuth is computed at the collection's centre for each image's time).
    required
        Raise when neither is there (default); with ``False``, return ``None`` instead.
    """
    if "solar_azimuth" in collection.coords:
        return collection["solar_azimuth"].reset_coords(drop=True)
    crs = collection.rio.crs
    if crs is None:
        if not required:
            return None
        raise ValueError(
            "no solar_azimuth coordinate and no CRS to compute it from the place: add "
            "`.assign_coords(solar_azimuth=('time', values))` or write a CRS with .rio.write_crs"
        )
    x, y = float(collection["x"].mean()), float(collection["y"].mean())
    lon, lat = transformer(crs, LONLAT).transform(x, y)
    azimuth, _ = solar_angles(pd.DatetimeIndex(collection["time"].values), lon, lat)
    return xr.DataArray(azimuth, dims="time", coords={"time": collection["time"]})


def project_clouds(
    clouds: xr.DataArray, azimuth: xr.DataArray, *, pixel: float, distance: float
) -> xr.DataArray:
    """Pixels with a cloud up-sun of them within ``distance`` metres, at 100 m, image by image.

    Parameters
    ----------
    clouds
        Boolean ``(time, y, x)``.
    azimuth
        Solar azimuth per image (degrees), along ``time``.
    pixel
        The pixel size in metres.
    distance
        How far clouds are projected away from the sun, in metres.
    """
    # Shadows reach across any tile boundary: the projection works on whole images.
    return xr.apply_ufunc(
        _project_block,
        whole_along(clouds, "y", "x"),
        azimuth,
        input_core_dims=[["y", "x"], []],
        output_core_dims=[["y", "x"]],
        dask="parallelized",
        output_dtypes=[bool],
        kwargs={"pixel": pixel, "distance": distance},
    )


def open_and_buffer(mask: xr.DataArray, *, pixel: float, buffer: float) -> xr.DataArray:
    """Erode by 40 m (drops speckle), then dilate by ``buffer`` metres, on whole images."""
    return xr.apply_ufunc(
        _open_and_buffer_block,
        whole_along(mask, "y", "x"),
        input_core_dims=[["y", "x"]],
        output_core_dims=[["y", "x"]],
        dask="parallelized",
        output_dtypes=[bool],
        kwargs={"pixel": pixel, "buffer": buffer},
    )


def buffer_mask(mask: xr.DataArray, *, pixel: float, buffer: float) -> xr.DataArray:
    """``mask`` (boolean ``(time, y, x)``) dilated by a disk of ``buffer`` metres.

    Dask input is dilated chunk by chunk with an overlap of the disk's radius (pixels outside
    the image count as not masked), so the result is the whole image's for any chunking.
    """
    radius = disk(buffer / pixel).shape[0] // 2
    if radius == 0:
        return mask
    mask = mask.transpose("time", "y", "x")
    if isinstance(mask.data, da.Array):
        data = da.map_overlap(
            _dilate_block,
            mask.data,
            depth={0: 0, 1: radius, 2: radius},
            boundary=False,
            dtype=bool,
            radius=radius,
        )
    else:
        data = _dilate_block(np.asarray(mask.data), radius=radius)
    return mask.copy(data=data)


def disk(radius_pixels: float) -> np.ndarray:
    """A boolean disk of ``radius_pixels`` (rounded) for morphology."""
    r = max(0, int(round(radius_pixels)))
    yy, xx = np.mgrid[-r : r + 1, -r : r + 1]
    return xx * xx + yy * yy <= r * r + 1e-9


def _dilate_block(mask: np.ndarray, *, radius: int) -> np.ndarray:
    """Dilation by :func:`disk` ``(radius)``, image by image: a pixel is set when a set pixel lies
    within ``radius`` pixels (Euclidean). Through the distance transform, whose cost does not grow
    with the radius (a 200 m buffer at 20 m is a 21 x 21 disk: 441 shifts for binary_dilation)."""
    out = np.zeros(mask.shape, dtype=bool)
    for index in np.ndindex(mask.shape[:-2]):
        image = mask[index]
        if image.any():
            out[index] = ndimage.distance_transform_edt(~image) <= radius
    return out


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


def _open_and_buffer_block(mask: np.ndarray, *, pixel: float, buffer: float) -> np.ndarray:
    """Erode by 40 m (drops speckle), then dilate by ``buffer`` metres, image by image."""
    erosion = disk(EROSION_METRES / pixel)
    dilation = disk(buffer / pixel)
    out = np.empty(mask.shape, dtype=bool)
    for index in np.ndindex(mask.shape[:-2]):
        opened = ndimage.binary_erosion(mask[index], structure=erosion, border_value=1)
        out[index] = ndimage.binary_dilation(opened, structure=dilation) if buffer > 0 else opened
    return out
