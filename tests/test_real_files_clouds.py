"""cloud_probability on real Sentinel-2 L1C, end to end through the file source (issue 10).

Real L1C values (eo-learn's sample, Slovenia 2015, see ../shared/realdata/eolearn/README.md)
are written as band files in the file source's naming (one GeoTIFF per band, uint16 digital
numbers, EPSG:32633, 10 m), loaded with ``compositing.load(paths, product="L1C")`` (which delivers
one band per chunk, the layout that used to break ``cloud_probability``), and the probabilities
are compared with the s2cloudless package's own detector on the same values.
"""

from __future__ import annotations

import json
from pathlib import Path

import dask.array as da
import numpy as np
import pandas as pd
import pytest
import rasterio
from conftest import SHARED
from rasterio.transform import from_origin

import compositing
from compositing import clouds

EOLEARN = SHARED / "realdata" / "eolearn"
SCENES = EOLEARN / "REFERENCE_SCENES.npy"
pytestmark = pytest.mark.skipif(
    not SCENES.exists(), reason=f"the real L1C sample is absent ({SCENES} not found)"
)

#: The sample's grid (README): EPSG:32633, top-left corner, 10 m pixels.
CRS = "EPSG:32633"
WEST, NORTH, RESOLUTION = 465_181.05, 5_080_254.63, 10.0
#: A tile id in the file source's pattern for this UTM zone (33T); the README gives no granule
#: id, and the loader only uses it to group files.
TILE = "T33TVM"


def _meta() -> dict:
    return json.loads((EOLEARN / "REFERENCE_SCENES_meta.json").read_text())


def _digital_numbers() -> np.ndarray:
    """(time, y, x, band) uint16: the sample is DN / 10000 in float32, so DN is exact."""
    reflectance = np.load(SCENES).astype(np.float64)
    dn = np.round(reflectance * 10_000)
    assert np.abs(dn - reflectance * 10_000).max() < 0.01  # float32 rounding only
    return dn.astype(np.uint16)


def _write_band_files(directory: Path) -> list[Path]:
    meta = _meta()
    dn = _digital_numbers()
    paths = []
    for k, stamp in enumerate(meta["timestamps"]):
        datetime = pd.Timestamp(stamp).strftime("%Y%m%dT%H%M%S")
        for b, band in enumerate(meta["band_order"]):
            path = directory / f"{TILE}_{datetime}_{band}.tif"  # L1C names carry no resolution
            values = dn[k, :, :, b]
            profile = {
                "driver": "GTiff",
                "width": values.shape[1],
                "height": values.shape[0],
                "count": 1,
                "dtype": "uint16",
                "crs": CRS,
                "transform": from_origin(WEST, NORTH, RESOLUTION, RESOLUTION),
                "nodata": 0,
            }
            with rasterio.open(path, "w", **profile) as dst:
                dst.write(values, 1)
            paths.append(path)
    return paths


def test_cloud_probability_of_real_l1c_files_equals_s2cloudless(tmp_path: Path) -> None:
    from s2cloudless import S2PixelCloudDetector

    paths = _write_band_files(tmp_path)
    collection = compositing.load([str(p) for p in paths], product="L1C")

    # The file source's layout: one image and one band per chunk.
    assert set(collection.chunks[0]) == {1} and set(collection.chunks[1]) == {1}
    order = np.argsort(pd.DatetimeIndex(_meta()["timestamps"]))
    dn = _digital_numbers()[order]
    # Dates before 2022-01-25 carry no +1000 offset: the loaded values are the DN themselves.
    assert float(collection.attrs["boa_offset_removed"]) == 0.0
    np.testing.assert_array_equal(collection.transpose("time", "y", "x", "band").values, dn)

    probability = clouds.cloud_probability(collection)
    assert isinstance(probability.data, da.Array)
    assert probability.data.chunks[1:] == collection.data.chunks[2:]  # spatial chunks kept
    ours = probability.values / 100.0

    model_bands = [_meta()["band_order"].index(b) for b in clouds.S2CLOUDLESS_BANDS]
    reflectance = dn[..., model_bands].astype(np.float32) / np.float32(10_000)
    theirs = S2PixelCloudDetector(all_bands=False).get_cloud_probability_maps(reflectance)
    np.testing.assert_allclose(ours, theirs, atol=1e-5, rtol=0)
    # Not a trivial scene: clear and cloudy pixels both occur.
    assert (theirs < 0.1).mean() > 0.05 and (theirs > 0.6).mean() > 0.05

    # And eo-learn's stored s2cloudless output for these frames (CLP_S2C), computed from the
    # same values by the same package (all 13 bands given, which selects these ten).
    frames = np.asarray(_meta()["REFERENCE_SCENES_index_to_TestEOPatch_frame"])[order]
    stored = np.load(EOLEARN / "TestEOPatch" / "data" / "CLP_S2C.npy")[frames, ..., 0]
    np.testing.assert_allclose(ours, stored, atol=1e-5, rtol=0)
