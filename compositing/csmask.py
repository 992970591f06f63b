"""ukis-csmask: a convolutional network for clouds and cloud shadows, on L2A or L1C.

`ukis-csmask <https://github.com/dlr-eoc/ukis-csmask>`_ (DLR, Apache-2.0; Wieland et al. 2019)
segments clear, cloud and cloud shadow from six bands (B02, B03, B04, B08, B11, B12), or four
without the SWIR, in reflectance at about 30 m. It has a model for L2A and one for L1C, so it
masks clouds *and their shadows* where the catalog serves only L2A (the Planetary Computer), with
no L1C and no Earth Engine. Its ONNX weights ship inside its wheel: it works offline.

:func:`csmask_probability` runs the network lazily and brings its cloud and shadow probabilities
back to the collection's grid; :func:`csmask_layers` turns them into masks, optionally joined with
the shadow projection of Earth Engine's s2cloudless method; :func:`mask_csmask` is the final mask
(``mask_clouds(collection, "csmask")`` applies it).

How the network is run, and why:

* **Working resolution.** The bands are averaged over whole blocks of pixels to the block size
  nearest ``resolution`` (30 m: 3 x 3 pixels at 10 m, 2 x 2 at 20 m).
* **One tiling for the whole image.** The network reads 256 x 256 tiles. The tiles lie on one
  grid anchored at the image's first pixel, stepping by 204 pixels (ukis-csmask's own 20%
  overlap), each tile's prediction weighted by a window that rises and falls over the 52
  overlapping pixels and sums to exactly 1 with its neighbours'. Each tile is one dask task; an
  output pixel is the blend of the (up to four) tiles over it. So tile edges do not show, every
  tile is run once, and the result is the same for any chunking of the input. Outside the image
  the bands are mirrored, as ukis-csmask pads.
* **Threads.** Each task runs the network with one ONNX Runtime thread (``threads=1``): dask
  already runs one task per core, and ONNX Runtime's default of one thread per core in every
  task would oversubscribe them.
* **Memory.** A task holds one tile (1.5 MB of bands); the probabilities go back to the
  collection's grid chunk by chunk. A full 5490 x 5490 tile at 20 m is 196 tasks per image.
"""

from __future__ import annotations

import functools
import math
import threading
import warnings
from pathlib import Path

import dask.array as da
import numpy as np
import xarray as xr

from .contract import band_names, check_collection, check_reflectance_scale, whole_along
from .resampling import coarsen_mean, coarsening_factor, interpolate_back, pixel_size
from .shadows import buffer_mask, project_clouds, solar_azimuth

__all__ = [
    "CSMASK_BANDS",
    "CSMASK_PRODUCTS",
    "DEFAULT_RESOLUTION",
    "csmask_layers",
    "csmask_probability",
    "mask_csmask",
]

#: The six bands of the full model, in its order (blue, green, red, NIR, SWIR 1.6, SWIR 2.2).
CSMASK_BANDS = ("B02", "B03", "B04", "B08", "B11", "B12")
#: The four bands of the model without SWIR.
CSMASK_BANDS_4 = CSMASK_BANDS[:4]
#: Products ukis-csmask has a model for.
CSMASK_PRODUCTS = ("L2A", "L1C")
#: Working resolution (m): the networks were trained on about 30 m.
DEFAULT_RESOLUTION = 30.0
#: SCL's water class: water is dark in NIR, but never a cloud's shadow.
SCL_WATER = 6

_MODEL_BAND_NAMES = ("blue", "green", "red", "nir", "swir16", "swir22")
_TILE = 256
_OVERLAP = 52  # ukis-csmask tiles with an overlap of int(0.2 * 256) pixels
_STRIDE = _TILE - _OVERLAP


# --- probabilities ----------------------------------------------------------------------------


def csmask_probability(
    collection: xr.DataArray,
    *,
    resolution: float | None = None,
    product: str | None = None,
    threads: int = 1,
) -> xr.Dataset:
    """ukis-csmask's cloud and cloud-shadow probabilities (0-100 %) on the collection's grid.

    Parameters
    ----------
    collection
        Sentinel-2 reflectance x 10000 (L2A harmonized, or L1C) with B02, B03, B04, B08 and,
        for the better six-band model, B11 and B12.
    resolution
        Working resolution in metres (default: 30, what the networks were trained on, or the
        collection's own pixels where they are coarser); the
        bands are averaged over whole blocks of pixels to the block size nearest it.
    product
        ``"L2A"`` or ``"L1C"``: which network. Default: the collection's ``product`` attribute
        (every source sets it), else L1C if it has B10, L2A if it has SCL.
    threads
        ONNX Runtime threads per task (default 1, as dask runs one task per core).

    Returns
    -------
    xarray.Dataset
        ``cloud_probability`` and ``shadow_probability``, float32 ``(time, y, x)`` in percent,
        bilinear from the working grid; NaN where a band is masked. Lazy for dask input.

    Raises
    ------
    ValueError
        A band missing, an unknown product, a resolution finer than the collection's. At compute
        time: values that look like 0-1 reflectance or raw DN.
    ImportError
        ukis-csmask or onnxruntime is not installed (``pip install composite-explorer[csmask]``).
    """
    check_collection(collection)
    level = _product(collection, product)
    bands = _model_bands(collection)
    _model_file(level, len(bands))  # fails now, not at compute time, without ukis-csmask
    if threads < 1:
        raise ValueError(f"threads must be 1 or more, not {threads}")
    own = pixel_size(collection)
    if resolution is None:
        resolution = max(DEFAULT_RESOLUTION, own)
    if resolution < own:
        raise ValueError(
            f"resolution={resolution} m is finer than the collection's {own:g} m: give "
            f"{DEFAULT_RESOLUTION:g} (the networks' own) or another coarser one"
        )
    factor = coarsening_factor(own, resolution)
    eager = not isinstance(collection.data, da.Array)
    selected = collection.sel(band=list(bands))
    if eager:
        selected = selected.chunk()
    # All bands in one chunk before anything else: one task per block from here on, not six.
    selected = whole_along(selected.transpose("time", "band", "y", "x"), "band")
    coarse = coarsen_mean(selected, factor) if factor > 1 else selected.astype(np.float32)
    probabilities = _tiled_probabilities(coarse.data, level=level, threads=threads)
    invalid = coarse.isnull().any("band").data
    per_class = {}
    for index, name in enumerate(("cloud_probability", "shadow_probability")):
        values = da.where(invalid, np.float32(np.nan), probabilities[:, index] * np.float32(100))
        on_coarse = xr.DataArray(
            values,
            dims=("time", "y", "x"),
            coords={"time": coarse["time"], "y": coarse["y"], "x": coarse["x"]},
        )
        fine = interpolate_back(on_coarse, selected) if factor > 1 else on_coarse
        fine = fine.assign_coords(_own_coords(collection))
        fine.name = name
        fine.attrs = {"units": "%", "long_name": f"ukis-csmask {name.replace('_', ' ')}"}
        per_class[name] = fine
    result = xr.Dataset(per_class)
    result.attrs = {
        "model": f"ukis-csmask {level} {len(bands)}-band",
        "working_resolution": own * factor,
    }
    return result.compute() if eager else result


def _tiled_probabilities(coarse: da.Array, *, level: str, threads: int) -> da.Array:
    """(time, band, y, x) working-grid bands -> (time, 2, y, x) blended cloud, shadow in 0-1."""
    n_time, n_band, height, width = coarse.shape
    tiles_y, tiles_x = _tile_count(height), _tile_count(width)
    # Blocks of a tile's stride first: the source's small chunks would multiply the slices of
    # the mirrored edges (tens of thousands of tasks for a small image of one-band chunks).
    coarse = coarse.rechunk((1, -1, _STRIDE, _STRIDE))
    padded = _mirror(coarse, 2, _OVERLAP, tiles_y * _STRIDE - height)
    padded = _mirror(padded, 3, _OVERLAP, tiles_x * _STRIDE - width)
    # padded spans tiles * STRIDE + OVERLAP per axis; tile k covers [k S, k S + TILE). Its first
    # STRIDE rows are block k of `here`, its last OVERLAP rows the start of block k of `below`.
    y_head, x_head = (_STRIDE,) * tiles_y, (_STRIDE,) * tiles_x
    y_tail = (_STRIDE,) * (tiles_y - 1) + (_OVERLAP,)
    x_tail = (_STRIDE,) * (tiles_x - 1) + (_OVERLAP,)
    end_y, end_x = tiles_y * _STRIDE, tiles_x * _STRIDE
    parts = [
        padded[:, :, :end_y, :end_x].rechunk((1, -1, y_head, x_head)),
        padded[:, :, _STRIDE:, :end_x].rechunk((1, -1, y_tail, x_head)),
        padded[:, :, :end_y, _STRIDE:].rechunk((1, -1, y_head, x_tail)),
        padded[:, :, _STRIDE:, _STRIDE:].rechunk((1, -1, y_tail, x_tail)),
    ]
    weighted = da.map_blocks(
        _tile_prediction,
        *parts,
        chunks=((1,) * n_time, (2,), (_TILE,) * tiles_y, (_TILE,) * tiles_x),
        dtype=np.float32,
        meta=np.empty((0, 0, 0, 0), np.float32),
        model_file=str(_model_file(level, n_band)),
        threads=threads,
    )
    # Cell k (working rows [k S, k S + S)) is tile k's rows [OVERLAP, TILE) plus, over its last
    # OVERLAP rows, tile k+1's rows [0, OVERLAP): the four tiles around a cell, aligned by block.
    below = _next_tile(weighted, 2)
    right = _next_tile(weighted, 3)
    cells = da.map_blocks(
        _blend_cells,
        weighted,
        below,
        right,
        _next_tile(below, 3),
        chunks=((1,) * n_time, (2,), (_STRIDE,) * tiles_y, (_STRIDE,) * tiles_x),
        dtype=np.float32,
    )
    return cells[:, :, :height, :width]


def _tile_count(size: int) -> int:
    """Tiles along an axis of ``size`` working pixels: a cell of STRIDE pixels per tile, and one
    more tile where the last cell's overlap reaches into the image."""
    cells = max(1, math.ceil(size / _STRIDE))
    return cells + (1 if size > cells * _STRIDE - _OVERLAP else 0)


def _next_tile(tiles: da.Array, axis: int) -> da.Array:
    """``tiles`` moved one tile back along ``axis`` (block k holds tile k+1), zeros at the end."""
    index = [slice(None)] * tiles.ndim
    index[axis] = slice(_TILE, None)
    shape = list(tiles.shape)
    shape[axis] = _TILE
    chunks = [c[0] for c in tiles.chunks]
    zeros = da.zeros(shape, dtype=tiles.dtype, chunks=chunks)
    return da.concatenate([tiles[tuple(index)], zeros], axis=axis)


def _blend_cells(here, below, right, diagonal) -> np.ndarray:
    o = _OVERLAP
    cell = here[:, :, o:, o:].copy()
    cell[:, :, -o:, :] += below[:, :, :o, o:]
    cell[:, :, :, -o:] += right[:, :, o:, :o]
    cell[:, :, -o:, -o:] += diagonal[:, :, :o, :o]
    return cell


def _mirror(array: da.Array, axis: int, before: int, after: int) -> da.Array:
    """``array`` padded along ``axis`` by mirroring (numpy's ``symmetric``), for any widths:
    dask's own pad truncates widths larger than the array."""
    size = array.shape[axis]
    positions = np.arange(-before, size + after) % (2 * size)
    positions = np.where(positions < size, positions, 2 * size - 1 - positions)
    # Runs of consecutive rows, forwards or backwards, become slices.
    pieces, start = [], 0
    for end in range(1, len(positions) + 1):
        if end < len(positions):
            step = positions[end] - positions[end - 1]
            run = positions[start + 1] - positions[start] if end - start > 1 else step
            if abs(step) == 1 and step == run:
                continue
        first, last = int(positions[start]), int(positions[end - 1])
        step = -1 if last < first else 1
        index = [slice(None)] * array.ndim
        index[axis] = slice(first, last + step if last + step >= 0 else None, step)
        pieces.append(array[tuple(index)])
        start = end
    return da.concatenate(pieces, axis=axis) if len(pieces) > 1 else pieces[0]


def _tile_prediction(here, below, right, diagonal, *, model_file: str, threads: int):
    """The network on one tile (1, band, 256, 256), its cloud and shadow probabilities times the
    blending window: (1, 2, 256, 256)."""
    o = _OVERLAP
    tile = np.concatenate(
        [
            np.concatenate([here, right[..., :o]], axis=-1),
            np.concatenate([below[..., :o, :], diagonal[..., :o, :o]], axis=-1),
        ],
        axis=-2,
    )
    out = np.zeros((1, 2, _TILE, _TILE), np.float32)
    valid = np.isfinite(tile).all(axis=1)
    if not valid.any():
        return out  # outside the footprint: nothing to run the network on
    check_reflectance_scale(tile[:, :, valid[0]], "csmask")
    mean, std = _statistics(model_file)
    normalised = (tile / np.float32(10_000) - mean[:, None, None]) / std[:, None, None]
    # Masked pixels read as the training mean; they are masked again afterwards.
    normalised = np.where(np.isfinite(normalised), normalised, 0).astype(np.float32)
    session = _session(model_file, threads)
    logits = session.run(None, {session.get_inputs()[0].name: normalised})[0]
    probabilities = _softmax(logits.astype(np.float64))
    window = _window()
    out[0, 0] = probabilities[0, 1] * window
    out[0, 1] = probabilities[0, 2] * window
    return out


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


@functools.lru_cache(maxsize=1)
def _window() -> np.ndarray:
    """The blending window of a tile: sin^2 up over the first OVERLAP pixels, cos^2 down over
    the last, so that two neighbours' ramps sum to 1 in their overlap."""
    ramp = np.sin(np.pi / 2 * (np.arange(_OVERLAP) + 0.5) / _OVERLAP) ** 2
    line = np.ones(_TILE)
    line[:_OVERLAP] = ramp
    line[-_OVERLAP:] = 1 - ramp
    return np.outer(line, line)


# --- the networks -----------------------------------------------------------------------------


def _model_file(level: str, n_bands: int) -> Path:
    try:
        import onnxruntime  # noqa: F401
        import ukis_csmask
    except ImportError as error:
        raise ImportError(
            f"the csmask cloud mask needs ukis-csmask and onnxruntime ({error}): install them "
            "with `pip install composite-explorer[csmask]` (or `pip install ukis-csmask "
            "onnxruntime`)"
        ) from error
    path = Path(ukis_csmask.__file__).parent / f"model_{n_bands}b_{level.lower()}.onnx"
    if not path.exists():
        raise ImportError(
            f"ukis-csmask has no {path.name} (version {getattr(ukis_csmask, '__version__', '?')}"
            "): install ukis-csmask 1.0, whose wheel ships the four ONNX models"
        )
    return path


_SESSION_LOCK = threading.Lock()


def _session(model_file: str, threads: int):
    # One session per model and thread count per process: loading one takes ~0.3 s and 40 MB,
    # and ONNX Runtime sessions may be run from several threads at once. The lock keeps two
    # dask threads from loading the same model twice on first use.
    with _SESSION_LOCK:
        return _load_session(model_file, threads)


@functools.lru_cache(maxsize=8)
def _load_session(model_file: str, threads: int):
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return onnxruntime.InferenceSession(
        model_file, sess_options=options, providers=["CPUExecutionProvider"]
    )


@functools.lru_cache(maxsize=8)
def _statistics(model_file: str) -> tuple[np.ndarray, np.ndarray]:
    """The training mean and standard deviation of each band, from the model's JSON."""
    import json

    meta = json.loads(Path(model_file).with_suffix(".json").read_text())
    stats = meta["data"]["dataset_statistics"]
    order = [stats["band_names"].index(name) for name in _MODEL_BAND_NAMES[: len(stats["img"][0])]]
    mean = np.asarray(stats["img"][0], np.float32)[order]
    std = np.asarray(stats["img"][1], np.float32)[order]
    return mean, std


# --- masks ------------------------------------------------------------------------------------


def csmask_layers(
    collection: xr.DataArray,
    *,
    probability: xr.Dataset | None = None,
    resolution: float | None = None,
    product: str | None = None,
    buffer: float = 50,
    combined: bool = False,
    nir_drk_thresh: float = 0.15,
    cld_prj_dist: float = 1.0,
    threads: int = 1,
) -> xr.Dataset:
    """ukis-csmask's clouds and shadows as lazy layers, and the mask they make.

    Parameters
    ----------
    collection
        The collection to mask (see :func:`csmask_probability`).
    probability
        :func:`csmask_probability`'s result for this collection, if already computed.
    resolution, product, threads
        Passed to :func:`csmask_probability`.
    buffer
        Dilation of the final mask, in metres (0: none).
    combined
        Also count as shadow what Earth Engine's method finds: the clouds projected away from
        the sun by ``cld_prj_dist`` km, where B08 is dark (below ``nir_drk_thresh`` x 10000)
        and SCL, if present, is not water. Needs sun angles (the ``solar_azimuth`` coordinate
        every source sets, or a CRS to compute them from); without them a warning says so and
        only the network's shadows are used.
    nir_drk_thresh, cld_prj_dist
        The shadow projection's parameters (Earth Engine's tutorial names), for ``combined``.

    Returns
    -------
    xarray.Dataset
        ``cloud_probability``, ``shadow_probability`` (float32, %), and booleans ``clouds``,
        ``shadows`` (the network's; with ``combined`` also its projection) and ``mask``
        (clouds or shadows, buffered; True also where the probabilities are masked), all
        ``(time, y, x)``. With ``combined``: ``projection`` and ``dark`` as well.
    """
    check_collection(collection)
    if probability is None:
        probability = csmask_probability(
            collection, resolution=resolution, product=product, threads=threads
        )
    cloud, shadow = probability["cloud_probability"], probability["shadow_probability"]
    clear = 100 - cloud - shadow
    # The class of highest probability, as ukis-csmask's argmax (ties: clear, then cloud).
    clouds = (cloud > clear) & (cloud >= shadow)
    shadows = (shadow > clear) & (shadow > cloud)
    layers = {"cloud_probability": cloud, "shadow_probability": shadow, "clouds": clouds}
    pixel = pixel_size(collection)
    if combined:
        azimuth = solar_azimuth(collection, required=False)
        if azimuth is None:
            warnings.warn(
                "csmask combined: no solar_azimuth coordinate and no CRS, so no shadow "
                "projection; only the network's shadows are used",
                stacklevel=2,
            )
        else:
            dark = _dark(collection, nir_drk_thresh)
            projection = project_clouds(
                clouds, azimuth, pixel=pixel, distance=cld_prj_dist * 1000.0
            )
            shadows = shadows | (projection & dark)
            layers.update(projection=projection, dark=dark)
    drop = clouds | shadows | cloud.isnull()
    layers["shadows"] = shadows
    layers["mask"] = buffer_mask(drop, pixel=pixel, buffer=buffer) if buffer > 0 else drop
    return xr.Dataset(layers).transpose("time", "y", "x")


def mask_csmask(collection: xr.DataArray, **params) -> xr.DataArray:
    """True where ukis-csmask finds cloud or cloud shadow (the ``mask`` of
    :func:`csmask_layers`, which takes the same parameters)."""
    mask = csmask_layers(collection, **params)["mask"]
    mask.name = "csmask_mask"
    return mask


# --- helpers ----------------------------------------------------------------------------------


def _product(collection: xr.DataArray, product: str | None) -> str:
    if product is None:
        product = collection.attrs.get("product")
    if product is None:
        present = band_names(collection)
        product = "L1C" if "B10" in present else "L2A" if "SCL" in present else None
    if product is None:
        raise ValueError(
            "csmask has a network for L2A and one for L1C, and cannot tell which this "
            "collection is (no 'product' attribute, no B10, no SCL): pass product='L2A' or "
            "product='L1C'"
        )
    level = str(product).upper()
    if level not in CSMASK_PRODUCTS:
        raise ValueError(
            f"csmask has no network for product {product!r}: it has {CSMASK_PRODUCTS} "
            "(Sentinel-2 L2A surface or L1C top-of-atmosphere reflectance)"
        )
    return level


def _model_bands(collection: xr.DataArray) -> tuple[str, ...]:
    present = band_names(collection)
    missing = [b for b in CSMASK_BANDS_4 if b not in present]
    if missing:
        raise ValueError(
            f"csmask needs the bands {list(CSMASK_BANDS)} (at least {list(CSMASK_BANDS_4)}); "
            f"the collection lacks {missing} and has {present}: load them, e.g. "
            f"compositing.load(..., bands={list(CSMASK_BANDS)})"
        )
    if all(b in present for b in CSMASK_BANDS):
        return CSMASK_BANDS
    return CSMASK_BANDS_4


def _dark(collection: xr.DataArray, nir_drk_thresh: float) -> xr.DataArray:
    dark = collection.sel(band="B08", drop=True) < nir_drk_thresh * 10_000
    if "SCL" in band_names(collection):
        dark = dark & (collection.sel(band="SCL", drop=True) != SCL_WATER)
    return dark


def _own_coords(collection: xr.DataArray) -> dict[str, xr.DataArray]:
    """The collection's per-image and per-pixel coordinates (not its band's)."""
    return {
        name: coord
        for name, coord in collection.coords.items()
        if name != "band" and set(coord.dims) <= {"time", "y", "x"}
    }
