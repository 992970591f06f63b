"""Local files as collections: Sentinel-2 band files and land-surface-temperature GeoTIFFs.

:func:`load` reads Sentinel-2 band files named as in a SAFE granule
(``T10SFG_20230620T183919_B04_10m.jp2``, the L1C style ``T10SFG_20230620T183919_B04.jp2``, or the
same names as ``.tif``) into the collection contract of :mod:`compositing.contract`, the same
contract the catalog and demo sources return: ``(time, band, y, x)`` float32 reflectance x 10000,
NaN = masked, with per-image ``solar_azimuth``/``solar_zenith`` coordinates. Reading is lazy
(dask): band files at 10, 20 and 60 m are put on one grid by GDAL warped VRTs, read chunk by chunk
on compute.

:func:`load_lst` reads an LST GeoTIFF (e.g. a Sentinel-3 SLSTR LST exported to GeoTIFF) into
``(time, y, x)`` float32 kelvin on the file's own grid, cropped to the pixels that touch an area.

Decisions:

* **One image per acquisition and tile.** Band files are grouped by acquisition datetime (the
  datatake sensing time in the names) and tile. Tiles of one datatake share that datetime; by
  default they stay separate images with the same time, sorted by tile (``tiles="separate"``,
  as Earth Engine keeps granules and as :mod:`compositing.sources.stac` does, so that every
  source gives the same collection), each NaN outside its tile. ``tiles="mosaic"`` makes one
  image per datetime instead (the first tile in name order wins where both have data, the
  others fill its gaps; the ``tile`` coordinate lists them joined by ``+``). Without an area,
  files of several tiles are an error: there is no single grid to put them on.
* **The +1000 offset is removed.** From processing baseline 04.00 (products from 2022-01-25, and
  archive products reprocessed with baseline >= 04.00) L2A and L1C digital numbers carry +1000
  (``BOA_ADD_OFFSET``/``RADIO_ADD_OFFSET`` = -1000 in the product metadata). With
  ``boa_offset="auto"`` the offset is read from ``MTD_MSIL2A.xml``/``MTD_MSIL1C.xml`` when one is
  found next to the files (or in their parents up to the ``.SAFE``), else from the baseline in
  the ``.SAFE`` folder name (``_N0509_``), else inferred from the acquisition date with a
  warning. It is subtracted from every reflectance band (never from SCL, AOT or WVP); values
  are kept as they come out, including the slightly negative reflectances that water and
  shadows get (they are valid data, not nodata). Digital number 0 is nodata (NaN) in every band.
* **Band names** are the ids of the file names: ``B01`` ... ``B12``, ``B8A``, ``SCL`` (and
  ``AOT``/``WVP`` when asked for; ``TCI``, an 8-bit RGB preview, is never loaded). ``bands=``
  also accepts ``"B4"``/``"b04"`` for ``"B04"``.

Modules (one job each; import from here):

* ``_names``: band file names (:class:`BandFile`, :func:`parse_band_file_name`), the files a
  path, directory or pattern names, the dates filter.
* ``_rasters``: raster headers, grids, a band file opened lazily on a grid, crop windows.
* ``_safe``: SAFE metadata: the product's baseline and offsets, the granule's sun angles.
* ``_sentinel2``: :func:`load`.
* ``_lst``: :func:`load_lst`, :func:`lst_time` and the kelvin check.
"""

from ._lst import KELVIN_RANGE, load_lst, lst_time
from ._names import BAND_IDS, NAME_PATTERN, BandFile, parse_band_file_name
from ._safe import BASELINE_04_OFFSET, OFFSET_START
from ._sentinel2 import load

__all__ = [
    "BAND_IDS",
    "BASELINE_04_OFFSET",
    "KELVIN_RANGE",
    "NAME_PATTERN",
    "OFFSET_START",
    "BandFile",
    "load",
    "load_lst",
    "lst_time",
    "parse_band_file_name",
]
