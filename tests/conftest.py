"""Shared fixtures: small synthetic collections that follow the collection contract."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


def make_collection(
    values: np.ndarray,
    bands: list[str] | None = None,
    *,
    start: str = "2021-07-01",
    crs: str | None = "EPSG:32610",
) -> xr.DataArray:
    """Wrap a (time, band, y, x) float array as a contract collection on a 10 m UTM grid."""
    n_time, n_band, n_y, n_x = values.shape
    bands = bands or [f"B{i + 1}" for i in range(n_band)]
    collection = xr.DataArray(
        values,
        dims=("time", "band", "y", "x"),
        coords={
            "time": pd.date_range(start, periods=n_time, freq="5D"),
            "band": bands,
            "y": 4_144_005.0 - 10.0 * np.arange(n_y),
            "x": 555_005.0 + 10.0 * np.arange(n_x),
        },
        name="reflectance",
        attrs={"source": "test"},
    )
    if crs is not None:
        import rioxarray  # noqa: F401  (registers the .rio accessor)

        collection = collection.rio.write_crs(crs)
    return collection


def lazy_zeros_collection(shape: tuple[int, int, int, int], chunks: tuple) -> xr.DataArray:
    """A dask collection of zeros ``(time, band, y, x)`` on :func:`make_collection`'s grid,
    never materialised (for graph-only tests of multi-GB collections)."""
    import dask.array as da

    n_time, n_band, n_y, n_x = shape
    small = make_collection(np.zeros((n_time, n_band, 2, 2), "float32"))
    coords = {
        "time": small["time"].values,
        "band": small["band"].values,
        "y": 4_144_005.0 - 10.0 * np.arange(n_y),
        "x": 555_005.0 + 10.0 * np.arange(n_x),
    }
    lazy = da.zeros(shape, chunks=chunks, dtype="float32")
    return xr.DataArray(lazy, dims=small.dims, coords=coords, attrs=small.attrs).rio.write_crs(
        small.rio.crs
    )


def random_masked(
    rng: np.random.Generator,
    shape: tuple[int, int, int, int],
    *,
    levels: int | None = None,
    masked_fraction: float = 0.3,
    dtype: str = "float32",
) -> np.ndarray:
    """Random values with NaN masks; ``levels`` makes integer-valued data so that ties happen."""
    if levels:
        values = rng.integers(0, levels, shape).astype(dtype)
    else:
        values = rng.normal(1000.0, 300.0, shape).astype(dtype)
    values[rng.random(shape) < masked_fraction] = np.nan
    return values


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20260722)
