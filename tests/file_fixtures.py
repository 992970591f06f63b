"""Small on-disk Sentinel-2 band files, SAFE metadata and LST GeoTIFFs for tests.

Reusable by any test that needs real files (the local-file loader, thermal sharpening): every
writer takes a directory (e.g. pytest's ``tmp_path``) and returns the paths it wrote, and the
expected pixel values are available from :func:`band_values` / :func:`lst_raw_values` so that
tests can check loaded values exactly.

The default scene is a 640 m square of tile T10SFG in EPSG:32610 centred on :data:`POINT`
(lon -121.01, lat 37.67, the Central Valley of the thermal-sharpening seed): 64 x 64 pixels at
10 m, 32 x 32 at 20 m, 11 x 11 at 60 m (its corner aligned on all three lattices).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import rasterio
from rasterio.transform import from_origin

#: (lon, lat) at the centre of the default scene.
POINT = (-121.01, 37.67)
#: Top-left corner of the default scene in EPSG:32610 (a multiple of 60 m).
ORIGIN = (675_180.0, 4_171_380.0)
CRS = "EPSG:32610"
SIZE_M = 640
TILE = "T10SFG"
#: Baseline >= 04.00 (after 2022-01-25): the files carry the +1000 offset.
DATETIME_NEW = "20230620T183919"
#: Before 2022-01-25: no offset.
DATETIME_OLD = "20210705T184919"
#: The default band resolutions, as in an L2A SAFE (B01 and B09 are 60 m).
RESOLUTIONS = {
    "B01": 60, "B02": 10, "B03": 10, "B04": 10, "B05": 20, "B06": 20, "B07": 20, "B08": 10,
    "B8A": 20, "B09": 60, "B10": 60, "B11": 20, "B12": 20, "SCL": 20, "AOT": 10, "WVP": 10,
    "TCI": 10,
}  # fmt: skip
#: Pixels set to 0 (nodata) in every band file: the top-left 20 m pixel (2 x 2 at 10 m).
NODATA_M = 20
#: L2A band ids of MTD_MSIL2A.xml's Spectral_Information_List.
SAFE_BAND_IDS = [
    "B1", "B2", "B3", "B4", "B5", "B6", "B7", "B8", "B8A", "B9", "B10", "B11", "B12",
]  # fmt: skip

_BAND_BASE = {"B02": 1400, "B03": 1600, "B04": 1800, "B08": 3500, "B11": 2600, "B12": 2200}


def band_shape(resolution: float, size_m: float = SIZE_M) -> tuple[int, int]:
    """(height, width) of a band file of the default square scene at ``resolution`` metres."""
    n = int(np.ceil(size_m / resolution))
    return n, n


def band_values(
    band: str, resolution: float, *, size_m: float = SIZE_M, seed: int = 0
) -> np.ndarray:
    """The uint16 digital numbers :func:`write_band_files` writes for ``band``.

    Reflectance bands are a plane in metres from the top-left corner (``base + seed + 0.2 x +
    0.4 y``, evaluated at the pixel centres: whole numbers at 10, 20 and 60 m, so that averaging
    and bilinear resampling have exact answers, see :func:`plane`); SCL is a class
    pattern 1..11 (constant per 20 m cell). The top-left :data:`NODATA_M` metres are 0 (nodata).
    """
    height, width = band_shape(resolution, size_m)
    y_m = (np.arange(height) + 0.5) * resolution
    x_m = (np.arange(width) + 0.5) * resolution
    if band == "SCL":
        cell_y = (y_m // 20).astype(int)
        cell_x = (x_m // 20).astype(int)
        values = (cell_y[:, None] * 3 + cell_x[None, :]) % 11 + 1
    else:
        values = plane(band, x_m[None, :], y_m[:, None], seed=seed)
    values = np.asarray(np.round(values), dtype="uint16")
    n_nodata = max(1, int(round(NODATA_M / resolution)))
    values[:n_nodata, :n_nodata] = 0
    return values


def plane(band: str, x_m: np.ndarray, y_m: np.ndarray, *, seed: int = 0) -> np.ndarray:
    """The digital number of reflectance ``band`` at ``x_m`` metres east and ``y_m`` metres south
    of the scene's top-left corner (no nodata)."""
    base = _BAND_BASE.get(band, 1000 + 100 * (sum(map(ord, band)) % 7))
    return base + seed + 0.2 * np.asarray(x_m, dtype=float) + 0.4 * np.asarray(y_m, dtype=float)


def band_file_name(
    band: str,
    *,
    tile: str = TILE,
    datetime: str = DATETIME_NEW,
    resolution: int | None = None,
    ext: str = "jp2",
) -> str:
    """A SAFE-style name: ``T10SFG_20230620T183919_B04_10m.jp2`` (no ``_10m`` when
    ``resolution`` is None, as in L1C)."""
    suffix = f"_{resolution}m" if resolution is not None else ""
    return f"{tile}_{datetime}_{band}{suffix}.{ext}"


def jp2_writable() -> bool:
    """Whether this GDAL can write JPEG 2000 (the JP2OpenJPEG driver)."""
    from rasterio.drivers import raster_driver_extensions

    return raster_driver_extensions().get("jp2") == "JP2OpenJPEG"


def write_band_files(
    directory: str | Path,
    *,
    bands: Iterable[str] = ("B04", "B08", "B11", "SCL"),
    tile: str = TILE,
    datetime: str = DATETIME_NEW,
    ext: str = "jp2",
    suffix: bool = True,
    origin: tuple[float, float] = ORIGIN,
    crs: str = CRS,
    size_m: float = SIZE_M,
    resolutions: dict[str, int] | None = None,
    seed: int = 0,
    nodata: int | None = 0,
) -> dict[str, Path]:
    """Write one single-band uint16 file per band, named as in a SAFE granule.

    Parameters
    ----------
    directory
        Where to write (created if needed).
    bands
        Band ids, e.g. ``("B04", "B08", "B11", "SCL")``.
    tile, datetime
        The tile id and acquisition datetime in the names.
    ext
        ``"jp2"`` (lossless JPEG 2000; needs GDAL's JP2OpenJPEG, see :func:`jp2_writable`) or
        ``"tif"``.
    suffix
        Whether names carry the resolution (``_B04_10m``, L2A) or not (``_B04``, L1C).
    origin, crs, size_m
        Top-left corner, CRS and side of the square scene.
    resolutions
        Band -> metres, overriding :data:`RESOLUTIONS`.
    seed
        Added to the reflectance values, to tell dates or tiles apart.
    nodata
        The nodata value written in the file's metadata (None: none).

    Returns
    -------
    dict
        Band -> path written.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    resolutions = {**RESOLUTIONS, **(resolutions or {})}
    paths = {}
    for band in bands:
        resolution = resolutions[band]
        values = band_values(band, resolution, size_m=size_m, seed=seed)
        name = band_file_name(
            band,
            tile=tile,
            datetime=datetime,
            resolution=resolution if suffix else None,
            ext=ext,
        )
        path = directory / name
        profile = {
            "driver": "JP2OpenJPEG" if ext == "jp2" else "GTiff",
            "width": values.shape[1],
            "height": values.shape[0],
            "count": 1,
            "dtype": "uint16",
            "crs": crs,
            "transform": from_origin(origin[0], origin[1], resolution, resolution),
            "nodata": nodata,
        }
        if ext == "jp2":
            profile.update(QUALITY="100", REVERSIBLE="YES")
        with rasterio.open(path, "w", **profile) as dst:
            dst.write(values, 1)
        paths[band] = path
    return paths


def write_mtd_msil2a(
    directory: str | Path,
    *,
    datetime: str = DATETIME_NEW,
    tile: str = TILE,
    baseline: str = "05.09",
    offset: int | None = -1000,
    product: str = "L2A",
    cloud_cover: float = 12.5,
) -> Path:
    """Write a minimal ``MTD_MSIL2A.xml`` (or ``MTD_MSIL1C.xml``) product metadata file.

    Parameters
    ----------
    directory
        Where to write it.
    datetime, tile
        Identify the product (``PRODUCT_URI`` and ``PRODUCT_START_TIME``).
    baseline
        ``PROCESSING_BASELINE``.
    offset
        The ``BOA_ADD_OFFSET`` (``RADIO_ADD_OFFSET`` for L1C) of every band; None writes no
        offset list, as in baselines before 04.00.
    product
        ``"L2A"`` or ``"L1C"``.
    cloud_cover
        ``Cloud_Coverage_Assessment`` (percent), where a real product has it.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    day = f"{datetime[:4]}-{datetime[4:6]}-{datetime[6:8]}"
    clock = f"{datetime[9:11]}:{datetime[11:13]}:{datetime[13:15]}"
    uri = f"S2B_MSI{product}_{datetime}_N{baseline.replace('.', '')}_R070_{tile}_{datetime}.SAFE"
    tag = "BOA_ADD_OFFSET" if product == "L2A" else "RADIO_ADD_OFFSET"
    offsets = ""
    if offset is not None:
        rows = "\n".join(
            f'          <{tag} band_id="{i}">{offset}</{tag}>' for i in range(len(SAFE_BAND_IDS))
        )
        offsets = f"        <{tag}_VALUES_LIST>\n{rows}\n        </{tag}_VALUES_LIST>"
    spectral = "\n".join(
        f'          <Spectral_Information bandId="{i}" physicalBand="{b}"/>'
        for i, b in enumerate(SAFE_BAND_IDS)
    )
    text = f"""<?xml version="1.0" encoding="UTF-8"?>
<n1:Level-2A_User_Product xmlns:n1="https://psd-14.sentinel2.eo.esa.int/PSD/User_Product_Level-2A.xsd">
  <n1:General_Info>
    <Product_Info>
      <PRODUCT_START_TIME>{day}T{clock}.024Z</PRODUCT_START_TIME>
      <PRODUCT_URI>{uri}</PRODUCT_URI>
      <PROCESSING_BASELINE>{baseline}</PROCESSING_BASELINE>
      <Datatake datatakeIdentifier="GS2B_{datetime}_032784_N{baseline.replace(".", "")}">
        <SPACECRAFT_NAME>Sentinel-2B</SPACECRAFT_NAME>
      </Datatake>
    </Product_Info>
    <Product_Image_Characteristics>
{offsets}
        <Spectral_Information_List>
{spectral}
        </Spectral_Information_List>
    </Product_Image_Characteristics>
  </n1:General_Info>
  <n1:Quality_Indicators_Info>
    <Cloud_Coverage_Assessment>{cloud_cover}</Cloud_Coverage_Assessment>
  </n1:Quality_Indicators_Info>
</n1:Level-2A_User_Product>
"""
    path = directory / f"MTD_MSI{product}.xml"
    path.write_text(text, encoding="utf-8")
    return path


def write_mtd_tl(
    directory: str | Path,
    *,
    datetime: str = DATETIME_NEW,
    tile: str = TILE,
    zenith: float = 21.5,
    azimuth: float = 131.25,
) -> Path:
    """Write a minimal granule ``MTD_TL.xml`` with a ``Mean_Sun_Angle``.

    Parameters
    ----------
    directory
        Where to write it.
    datetime, tile
        Identify the granule (``TILE_ID`` and ``SENSING_TIME``).
    zenith, azimuth
        The mean sun angles in degrees.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    day = f"{datetime[:4]}-{datetime[4:6]}-{datetime[6:8]}"
    text = f"""<?xml version="1.0" encoding="UTF-8"?>
<n1:Level-2A_Tile_ID xmlns:n1="https://psd-14.sentinel2.eo.esa.int/PSD/S2_PDI_Level-2A_Tile_Metadata.xsd">
  <n1:General_Info>
    <TILE_ID>S2B_OPER_MSI_L2A_TL_2BPS_{datetime}_A032784_{tile}_N05.09</TILE_ID>
    <SENSING_TIME>{day}T18:50:12.462Z</SENSING_TIME>
  </n1:General_Info>
  <n1:Geometric_Info>
    <Tile_Angles>
      <Mean_Sun_Angle>
        <ZENITH_ANGLE unit="deg">{zenith}</ZENITH_ANGLE>
        <AZIMUTH_ANGLE unit="deg">{azimuth}</AZIMUTH_ANGLE>
      </Mean_Sun_Angle>
    </Tile_Angles>
  </n1:Geometric_Info>
</n1:Level-2A_Tile_ID>
"""
    path = directory / "MTD_TL.xml"
    path.write_text(text, encoding="utf-8")
    return path


#: The default LST GeoTIFF: EPSG:4326, 0.01 degree pixels, 20 x 20 around :data:`POINT`.
LST_WEST, LST_NORTH, LST_RES, LST_SHAPE = -121.10, 37.75, 0.01, (20, 20)
LST_SCALE, LST_OFFSET, LST_NODATA = 0.02, 290.0, -32768


def lst_raw_values(shape: tuple[int, int] = LST_SHAPE, *, nodata: int = LST_NODATA) -> np.ndarray:
    """The int16 values :func:`write_lst_geotiff` writes by default: 290 + 0.02 * raw is a
    300..320 K field, with the last row set to ``nodata``."""
    rows, cols = np.indices(shape)
    raw = 500 + 30 * rows + 20 * cols  # 300 K .. 320 K with scale 0.02, offset 290
    raw = raw.astype("int16")
    raw[-1, :] = nodata
    return raw


def write_lst_geotiff(
    directory: str | Path,
    name: str = "Sentinel-3_L2_LST_reproj.tif",
    *,
    values: np.ndarray | None = None,
    west: float = LST_WEST,
    north: float = LST_NORTH,
    resolution: float = LST_RES,
    crs: str = "EPSG:4326",
    scale: float | None = LST_SCALE,
    offset: float | None = LST_OFFSET,
    nodata: float | None = LST_NODATA,
    tags: dict[str, str] | None = None,
    bands: Sequence[np.ndarray] | None = None,
) -> Path:
    """Write an LST GeoTIFF as Sentinel-3 exports come: scaled integers with scale/offset.

    Parameters
    ----------
    directory, name
        Where to write it.
    values
        The stored values (default :func:`lst_raw_values`, int16); any dtype.
    west, north, resolution, crs
        The grid: top-left corner and pixel size in ``crs`` units.
    scale, offset
        Written as the band's scale and offset metadata (None: not written).
    nodata
        The nodata value (None: none).
    tags
        Dataset tags, e.g. ``{"TIFFTAG_DATETIME": "2023:06:20 18:30:00"}``.
    bands
        Extra bands written after the first.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    values = lst_raw_values() if values is None else np.asarray(values)
    extra = list(bands or [])
    path = directory / name
    profile = {
        "driver": "GTiff",
        "width": values.shape[1],
        "height": values.shape[0],
        "count": 1 + len(extra),
        "dtype": values.dtype.name,
        "crs": crs,
        "transform": from_origin(west, north, resolution, resolution),
        "nodata": nodata,
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(values, 1)
        for i, band in enumerate(extra, start=2):
            dst.write(np.asarray(band, dtype=values.dtype), i)
        if scale is not None:
            dst.scales = (scale,) * dst.count
        if offset is not None:
            dst.offsets = (offset,) * dst.count
        if tags:
            dst.update_tags(**tags)
    return path
