"""Collections kept in memory as whole DN in ``uint16``: half the bytes of ``float32``.

The cached collections are most of the dashboard's memory, so they are stored in the smallest
form that is exact enough: ``round(value + 1000)`` in ``uint16``, with 65535 for a masked (NaN)
pixel. Precision:

* reflectance x 10000 (harmonized, as Earth Engine's ``*_HARMONIZED``), SCL classes and
  MSK_CLDPRB from the catalogs are whole numbers: exact;
* the synthetic demo's reflectance is continuous: within 0.5 DN (0.005 % reflectance);
* values outside -1000 .. 64534 are clipped to it: only a saturated pixel (65535 DN in the
  product, 64535 harmonized) moves, by 1 DN.

A collection is unpacked band by band as it is used, so only the bands a layer reads are ever in
``float32`` at once.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

#: Added before rounding, so that harmonized reflectance (from -1000) is never negative.
OFFSET = 1000.0
#: The packed value of a masked (NaN) pixel.
MASKED = np.iinfo(np.uint16).max
_LOWEST, _HIGHEST = -OFFSET, float(MASKED - 1) - OFFSET
#: Images packed at a time: bounds the float32 a conversion holds at once.
_IMAGES_PER_STEP = 4


def pack_values(values: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``float`` values (NaN = masked) as ``uint16`` DN (see the module), into ``out`` if given."""
    if out is None:
        out = np.empty(values.shape, dtype=np.uint16)
    finite = np.isfinite(values)
    clipped = np.clip(np.where(finite, values, 0.0), _LOWEST, _HIGHEST) + OFFSET
    np.rint(clipped, out=clipped)
    out[...] = np.where(finite, clipped, MASKED)
    return out


def pack(collection: xr.DataArray) -> xr.DataArray:
    """An in-memory ``float`` collection ``(time, band, y, x)`` packed to ``uint16``, with its
    coordinates and attributes (a packed array passes through)."""
    if collection.dtype == np.uint16:
        return collection
    packed = np.empty(collection.shape, dtype=np.uint16)
    values = collection.values
    for start in range(0, collection.shape[0], _IMAGES_PER_STEP):
        step = slice(start, start + _IMAGES_PER_STEP)
        pack_values(values[step], out=packed[step])
    return collection.copy(data=packed)


def unpack(collection: xr.DataArray, bands: list[str] | None = None) -> xr.DataArray:
    """``float32`` values (NaN = masked) of a packed collection's ``bands`` (default all); a
    collection that is not packed is only selected."""
    selected = collection if bands is None else collection.sel(band=bands)
    if selected.dtype != np.uint16:
        return selected
    raw = selected.values
    values = raw.astype(np.float32)
    values -= np.float32(OFFSET)
    values[raw == MASKED] = np.nan
    return selected.copy(data=values)
