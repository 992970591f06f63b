"""Every public engine function gives the same result, and stays lazy, whatever the chunk layout.

Real sources deliver other layouts than the demo scene (issue 10): stackstac and the file source
one band and one image per chunk, odc-stac every band in one chunk, tiles from 256 to 2048
pixels (see :mod:`chunk_layouts`). Each public function is a *case* of the registry
:data:`CASES` (or :data:`SOURCE_CASES` for the loaders), run

* over the named layouts of the real sources (scaled down where the function is expensive),
* over arbitrary chunkings drawn by hypothesis (irregular ones that align with nothing),
* on a dask input under a scheduler that refuses to compute (laziness),

and compared with the same function on the numpy collection (one block): exactly, except float
sums (mean, sum, product, and the fit of ``sharpen``), which may differ by rounding.
:func:`test_registry_covers_every_public_function` fails when a public function is added without
a case here, so the next one is checked the same way.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass

import dask
import dask.array as da
import numpy as np
import pytest
import xarray as xr
from chunk_layouts import REAL_LAYOUTS, Layout, chunkings, rechunk, scaled_layouts
from conftest import make_collection, random_masked
from hypothesis import HealthCheck, given, settings

import compositing
from benchmarks.bench_csmask import patch as csmask_patch
from compositing import clouds, csmask, facade, indices
from compositing.facade import Filter, Geometry, Image, ImageCollection, Reducer
from compositing.thermal import SharpenResult

# --------------------------------------------------------------------------------------------
# Inputs (numpy, built once; a case rechunks them)

#: The demo's L1C and L2A on a cloudy March: clouds and shadows in every image, so the
#: s2cloudless layers are not trivially empty. 100 x 100 pixels: the s2cloudless model costs
#: ~0.3 s per call at this size, so its layouts are scaled (see ``_LAYOUT_SIDES``).
_DEMO = {"point": (-122.373, 37.448), "dates": ("2021-03-01", "2021-03-16"), "size_m": 1000}
#: A UTM lattice for sharpen: 20 m NDVI, 200 m LST on the same corner.
_ORIGIN = (672_000.0, 4_175_000.0)
_UTM = "EPSG:32610"


@functools.cache
def _l1c() -> xr.DataArray:
    return compositing.load(**_DEMO, product="L1C").compute()


@functools.cache
def _l2a() -> xr.DataArray:
    return compositing.load(**_DEMO, product="L2A").compute()


@functools.cache
def _random() -> xr.DataArray:
    # Integer levels make ties (mode, median of equal values, quality ties); NaN masks too.
    values = random_masked(np.random.default_rng(20261201), (5, 4, 40, 56), levels=40)
    return make_collection(values + 1.0, ["B02", "B04", "B08", "QA"])


def _raster(values: np.ndarray, res: float, name: str) -> xr.DataArray:
    n_y, n_x = values.shape
    coords = {
        "y": _ORIGIN[1] - res * (np.arange(n_y) + 0.5),
        "x": _ORIGIN[0] + res * (np.arange(n_x) + 0.5),
    }
    return xr.DataArray(values, dims=("y", "x"), coords=coords, name=name).rio.write_crs(_UTM)


@functools.cache
def _ndvi() -> xr.DataArray:
    rng = np.random.default_rng(7)
    y, x = np.mgrid[0:150, 0:150]
    ndvi = 0.35 + 0.2 * np.sin(x / 35.0) * np.cos(y / 45.0) + 0.05 * (rng.random(y.shape) - 0.5)
    ndvi[rng.random(y.shape) < 0.05] = np.nan  # masked pixels (clouds)
    return _raster(ndvi, 20.0, "ndvi")


@functools.cache
def _lst() -> xr.DataArray:
    cells = np.nanmean(_ndvi().values.reshape(15, 10, 15, 10), axis=(1, 3))
    noise = np.random.default_rng(8).normal(0, 0.5, cells.shape)
    return _raster(-21.85 * cells + 314.9 + noise, 200.0, "lst")


def _as_collection(image: xr.DataArray) -> xr.DataArray:
    """A (y, x) raster as a one-image, one-band collection, so that layouts apply to it."""
    return image.expand_dims(time=[np.datetime64("2023-06-20")], band=["v"])


# --------------------------------------------------------------------------------------------
# The registry


@dataclass(frozen=True)
class Case:
    """One public function on one input, checked over layouts.

    Parameters
    ----------
    run
        Takes the (rechunked) input collection, returns what the public function returns.
    data
        Builds the numpy input collection ``(time, band, y, x)``.
    covers
        The public functions (and methods) this case exercises.
    rtol
        0: the result must be identical to the one-block result; else the relative tolerance
        (float sums, whose rounding depends on how the sum is split).
    side
        The spatial tile side that stands for stackstac's 1024 in the scaled layouts.
    min_side
        The smallest spatial chunk hypothesis may draw (bounds the graph and the run time).
    examples
        Hypothesis examples (few for the s2cloudless model, which is slow).
    computes
        None if the call computes nothing; else why it must compute (the case is then checked
        for how often it computes and for its lazy outputs).
    lazy_keys
        For a case that computes: the outputs that must still be dask-backed.
    n_computes
        For a case that computes: how many ``dask.compute`` calls it makes.
    """

    run: Callable[[xr.DataArray], object]
    data: Callable[[], xr.DataArray]
    covers: tuple[object, ...]
    rtol: float = 0.0
    side: int = 32
    min_side: int = 8
    examples: int = 6
    computes: str | None = None
    lazy_keys: tuple[str, ...] = ()
    n_computes: int = 1


#: A float sum's rounding depends on where the sum is split (time chunks): relative 1e-12 covers
#: float64 accumulation over a handful of images.
_SUM_RTOL = 1e-12
_SUMS = ("mean", "sum", "product")


def _composite_cases() -> dict[str, Case]:
    cases = {}
    for method in compositing.METHODS:
        quality = "QA" if method == "quality_mosaic" else None
        cases[f"composite/{method}"] = Case(
            run=functools.partial(compositing.composite, method=method, quality_band=quality),
            data=_random,
            covers=(compositing.composite,),
            rtol=_SUM_RTOL if method in _SUMS else 0.0,
        )
    for method in ("std", "variance"):  # Chan's merge of per-time-block states: a float sum
        cases[f"composite/{method}"] = Case(
            run=functools.partial(compositing.composite, method=method),
            data=_random,
            covers=(compositing.composite,),
            rtol=_SUM_RTOL,
        )
    cases["composite/percentile"] = Case(
        run=functools.partial(compositing.composite, method="percentile", percentile=25.0),
        data=_random,
        covers=(compositing.composite,),
    )
    return cases


def _s2cloudless(run: Callable, covers: tuple, *, examples: int = 3) -> Case:
    # The model costs ~0.6 s per 256 x 256 on 2 cores: 100-pixel images with tiles of 24 to 96
    # pixels (stackstac's 1024 scaled to 48) keep the layouts' structure (one band per chunk,
    # all bands in one, time split or not) at a cost the suite can afford.
    return Case(run=run, data=_l1c, covers=covers, side=48, min_side=24, examples=examples)


def _on_l2a(run: Callable, covers: Callable) -> Case:
    # 15 bands of 100 x 100: tiles of at least 16 pixels keep the graphs small.
    return Case(run=run, data=_l2a, covers=(covers,), min_side=16)


def _l2a_without_b10(l1c: xr.DataArray) -> xr.DataArray:
    """An L2A-like collection (no B10) on the L1C's dates and grid, chunked like it."""
    return l1c.drop_sel(band="B10")


_CLOUD_CASES = {
    "cloud_probability": _s2cloudless(clouds.cloud_probability, (clouds.cloud_probability,)),
    # Coarsening by 6 with boundary="pad" and interpolating back across tiles of 16-64 pixels:
    # neither may depend on where the chunks end.
    "cloud_probability/resolution": _s2cloudless(
        functools.partial(clouds.cloud_probability, resolution=60),
        (clouds.cloud_probability,),
        examples=6,
    ),
    # The full-resolution model is checked by cloud_probability: the layers run it coarser.
    "s2cloudless_layers": _s2cloudless(
        functools.partial(clouds.s2cloudless_layers, resolution=60),
        (clouds.s2cloudless_layers,),
    ),
    "s2cloudless_layers/l1c": _s2cloudless(
        lambda c: clouds.s2cloudless_layers(_l2a_without_b10(c), l1c=c, resolution=60),
        (clouds.s2cloudless_layers,),
        examples=6,
    ),
    "mask_s2cloudless": _s2cloudless(
        functools.partial(clouds.mask_s2cloudless, resolution=60),
        (clouds.mask_s2cloudless,),
        examples=6,
    ),
    "mask_clouds/s2cloudless": _s2cloudless(
        lambda c: clouds.mask_clouds(c, "s2cloudless", resolution=60),
        (clouds.mask_clouds,),
        examples=6,
    ),
    "mask_clouds/none": _on_l2a(lambda c: clouds.mask_clouds(c, "none"), clouds.mask_clouds),
    "mask_clouds/cldprb": _on_l2a(
        lambda c: clouds.mask_clouds(c, "cldprb", threshold=20), clouds.mask_clouds
    ),
    "mask_clouds/scl": _on_l2a(lambda c: clouds.mask_clouds(c, "scl"), clouds.mask_clouds),
    "mask_from_cldprb": _on_l2a(clouds.mask_from_cldprb, clouds.mask_from_cldprb),
    "mask_from_scl": _on_l2a(clouds.mask_from_scl, clouds.mask_from_scl),
    "with_mask_band": _on_l2a(
        lambda c: clouds.with_mask_band(c, clouds.mask_from_scl(c)), clouds.with_mask_band
    ),
}


@functools.cache
def _patch() -> xr.DataArray:
    return csmask_patch()[0]


def _csmask_case(run: Callable, covers: tuple, data: Callable = _l2a, **kwargs) -> Case:
    # The network costs ~0.09 s per 256 x 256 tile; the demo's 100 pixels at 10 m are one tile
    # at 30 m (coarsening and the way back are what the chunks could change there).
    return Case(run=run, data=data, covers=covers, min_side=16, examples=3, **kwargs)


_CSMASK_CASES = {
    "csmask_probability": _csmask_case(csmask.csmask_probability, (csmask.csmask_probability,)),
    # The real 512 x 512 patch at its own 30 m: 3 x 3 tiles of the network blended across
    # chunk boundaries that fall anywhere (also inside a tile's overlap).
    "csmask_probability/tiles": _csmask_case(
        csmask.csmask_probability, (csmask.csmask_probability,), data=_patch, side=256
    ),
    "csmask_layers/combined": _csmask_case(
        functools.partial(csmask.csmask_layers, combined=True, buffer=50),
        (csmask.csmask_layers,),
    ),
    "mask_csmask": _csmask_case(csmask.mask_csmask, (csmask.mask_csmask,)),
    "mask_clouds/csmask": _csmask_case(
        lambda c: clouds.mask_clouds(c, "csmask", buffer=30), (clouds.mask_clouds,)
    ),
}


def _sharpen_result(result: SharpenResult) -> dict[str, xr.DataArray]:
    return {
        "sharpened": result.sharpened,
        "residual": result.residual,
        "fit": xr.DataArray([result.slope, result.intercept, result.r2, result.cv_rmse]),
        "samples": xr.Dataset.from_dataframe(result.samples),
    }


#: sharpen fits a line to per-cell sums accumulated chunk by chunk (float64): rounding only.
_SHARPEN_RTOL = 1e-9
_SHARPEN_COMPUTES = (
    "the fit needs the coarse pairs: sharpen reads the NDVI once to fit (documented); only the "
    "sharpened map is lazy"
)
_SHARPEN_CASES = {
    "sharpen/ndvi": Case(
        run=lambda c: _sharpen_result(compositing.sharpen(_lst(), c.isel(time=0, band=0))),
        data=lambda: _as_collection(_ndvi()),
        covers=(compositing.sharpen,),
        rtol=_SHARPEN_RTOL,
        computes=_SHARPEN_COMPUTES,
        lazy_keys=("sharpened",),
    ),
    "sharpen/lst": Case(
        # The NDVI is numpy here, so everything is computed (documented): no lazy output.
        run=lambda c: _sharpen_result(compositing.sharpen(c.isel(time=0, band=0), _ndvi())),
        data=lambda: _as_collection(_lst()),
        covers=(compositing.sharpen,),
        rtol=_SHARPEN_RTOL,
        min_side=1,
        computes=_SHARPEN_COMPUTES,
        n_computes=2,  # the fit, then the map (numpy NDVI: computed here)
    ),
}


def _map(fn: Callable[[Image], Image]) -> Callable[[xr.DataArray], ImageCollection]:
    return lambda c: ImageCollection(c).map(fn)


def _covered(c: xr.DataArray) -> ImageCollection:
    """The collection with a cloud cover per image (ties at 5), for the filters and order."""
    return IC(c.assign_coords(cloud_cover=("time", [30.0, 5.0, 80.0, 5.0, 12.0])))


IC, IM = ImageCollection, Image
_FACADE_CASES = {
    "ImageCollection.sort": Case(
        lambda c: _covered(c).sort("CLOUDY_PIXEL_PERCENTAGE", False).quality_mosaic("QA"),
        _random,
        (IC.sort,),
    ),
    "ImageCollection.limit": Case(
        lambda c: _covered(c).limit(3, "eo:cloud_cover").mosaic(), _random, (IC.limit,)
    ),
    "ImageCollection.filter": Case(
        lambda c: _covered(c).filter(
            Filter.Or(
                Filter.lt("CLOUDY_PIXEL_PERCENTAGE", 10), Filter.date("2021-07-20", "2021-07-25")
            )
        ),
        _random,
        (IC.filter,),
    ),
    "ImageCollection.filter_metadata": Case(
        lambda c: _covered(c).filter_metadata("CLOUDY_PIXEL_PERCENTAGE", "less_than", 20),
        _random,
        (IC.filter_metadata,),
    ),
    "ImageCollection.merge": Case(
        lambda c: IC(c).limit(2).merge(IC(c).filter_date("2021-07-16")).mosaic(),
        _random,
        (IC.merge,),
    ),
    "ImageCollection.to_bands": Case(lambda c: IC(c).limit(2).to_bands(), _random, (IC.to_bands,)),
    "ImageCollection.to_list": Case(
        lambda c: {str(i): image for i, image in enumerate(IC(c).to_list(2, 1))},
        _random,
        (IC.to_list,),
    ),
    "Image.set": Case(_map(lambda i: i.set("score", 1.0)), _random, (IM.set,)),
    "ImageCollection": Case(ImageCollection, _random, (IC,)),
    "ImageCollection.to_xarray": Case(lambda c: IC(c).to_xarray(), _random, (IC.to_xarray,)),
    "ImageCollection.first": Case(lambda c: IC(c).first(), _random, (IC.first,)),
    "ImageCollection.select": Case(lambda c: IC(c).select("B0.*"), _random, (IC.select,)),
    "ImageCollection.filter_date": Case(
        lambda c: IC(c).filter_date("2021-07-04", "2021-07-15"), _random, (IC.filter_date,)
    ),
    "ImageCollection.filter_bounds": Case(
        lambda c: IC(c).filter_bounds(Geometry.Point(-122.375, 37.4394)),
        _random,
        (IC.filter_bounds,),
    ),
    "Image": Case(lambda c: Image(c.isel(time=2)), _random, (Image,)),
    "Image.select": Case(_map(lambda i: i.select(["B08", "B04"])), _random, (IC.map, IM.select)),
    "Image.rename": Case(
        _map(lambda i: i.rename("a", "b", "c", "d")), _random, (IC.map, IM.rename)
    ),
    "Image.add_bands": Case(
        _map(lambda i: i.select("B0.*").add_bands(i.select("QA").multiply(2).rename("q2"))),
        _random,
        (IM.add_bands,),
    ),
    "Image.update_mask": Case(
        _map(lambda i: i.update_mask(i.select("QA").gt(10))), _random, (IM.update_mask,)
    ),
    "Image.normalized_difference": Case(
        _map(lambda i: i.normalized_difference(["B08", "B04"])),
        _random,
        (IM.normalized_difference,),
    ),
    "indices.ndvi": Case(
        lambda c: indices.ndvi(c.sel(band="B04"), c.sel(band="B08")), _random, (indices.ndvi,)
    ),
}
for _name in ("add", "subtract", "multiply", "divide"):
    # With another image (one band against four: broadcasting) and with a number.
    _FACADE_CASES[f"Image.{_name}"] = Case(
        _map(lambda i, n=_name: getattr(getattr(i, n)(i.select("B04")), n)(3.0)),
        _random,
        (getattr(IM, _name),),
    )
for _name in ("lt", "lte", "gt", "gte", "eq", "neq"):
    _FACADE_CASES[f"Image.{_name}"] = Case(
        _map(lambda i, n=_name: getattr(i, n)(20.0)), _random, (getattr(IM, _name),)
    )
for _name in ("pow", "mod", "min", "max", "And", "Or"):
    # With another image (one band against four) and with a number.
    _FACADE_CASES[f"Image.{_name}"] = Case(
        _map(
            lambda i, n=_name: getattr(
                getattr(i.divide(10), n)(i.select("B04").subtract(20).divide(10)), n
            )(1.5)
        ),
        _random,
        (getattr(IM, _name),),
    )
for _name in (
    "abs", "sqrt", "exp", "log", "log10", "floor", "ceil", "round", "sin", "cos", "tan", "Not",
    "self_mask",
):  # fmt: skip
    _FACADE_CASES[f"Image.{_name}"] = Case(
        _map(lambda i, n=_name: getattr(i.subtract(20).divide(10), n)()),
        _random,
        (getattr(IM, _name),),
    )
_FACADE_CASES["Image.unmask"] = Case(
    _map(lambda i: i.unmask(i.select("QA")).unmask(-1)), _random, (IM.unmask,)
)
_FACADE_CASES["Image.where"] = Case(
    _map(lambda i: i.where(i.select("QA").gt(20), i.select("B04")).where(i.lt(5), 0)),
    _random,
    (IM.where,),
)
_FACADE_CASES["Image.clip"] = Case(
    _map(
        lambda i: i.clip(
            Geometry.Polygon([[-122.3752, 37.4393], [-122.3745, 37.4393], [-122.375, 37.4397]])
        )
    ),
    _random,
    (IM.clip,),
)
_FACADE_CASES["Image.expression"] = Case(
    _map(
        lambda i: i.expression(
            "evi = 2.5 * (N - R) / (N + 6 * R - 7.5 * b('B02') + 1) + (b('QA') > 20 ? 1 : 0)",
            {"N": i.select("B08"), "R": i.select("B04")},
        )
    ),
    _random,
    (IM.expression,),
)
for _name in ("focal_min", "focal_max", "focal_mean"):
    _FACADE_CASES[f"Image.{_name}"] = Case(
        _map(lambda i, n=_name: getattr(getattr(i, n)(2), n)(1, "square", iterations=2)),
        _random,
        (getattr(IM, _name),),
    )
_FACADE_CASES["Image.directional_distance_transform"] = Case(
    _map(lambda i: i.select("QA").gt(30).directional_distance_transform(90 - 120.0, 12)),
    _random,
    (IM.directional_distance_transform,),
)
_FACADE_CASES["Image.reproject"] = Case(
    _map(
        lambda i: (
            i.select("QA")
            .gt(30)
            .focal_max(1)
            .reproject(i.projection(), 30)
            .multiply(i.select("B04"))
            .add_bands(i.select("B08").reproject("EPSG:32610", 20).rename("coarse"))
        )
    ),
    _random,
    (IM.reproject,),
)
_FACADE_CASES["ImageCollection.reduce"] = Case(
    lambda c: IC(c).reduce(
        Reducer.percentile([25, 80])
        .combine(Reducer.median())
        .combine(Reducer.minMax())
        .combine(Reducer.count())
        .combine(Reducer.mode())
    ),
    _random,
    (IC.reduce,),
)
_FACADE_CASES["ImageCollection.reduce/spread"] = Case(
    lambda c: IC(c).reduce(
        Reducer.mean().combine(Reducer.stdDev()).combine(Reducer.sampleVariance())
    ),
    _random,
    (IC.reduce,),
    rtol=_SUM_RTOL,
)
_FACADE_CASES["Image.mask"] = Case(_map(lambda i: i.mask()), _random, (IM.mask,))
for _method in compositing.METHODS:
    _FACADE_CASES[f"ImageCollection.{_method}"] = Case(
        run=(
            (lambda c: IC(c).quality_mosaic("QA"))
            if _method == "quality_mosaic"
            else (lambda c, m=_method: getattr(IC(c), m)())
        ),
        data=_random,
        covers=(getattr(IC, _method),),
        rtol=_SUM_RTOL if _method in _SUMS else 0.0,
    )


def _inspected(collection: xr.DataArray) -> xr.Dataset:
    """The pixel inspector's series at one pixel, with two masks and a quality band."""
    qa = collection.sel(band="QA", drop=True)
    masks = {"cloud": qa > 30, "shadow": (qa < 8) & (qa > 2)}
    return compositing.pixel_series(collection, index=(17, 23), masks=masks, quality="QA")


_INSPECTION_CASES = {
    "pixel_series": Case(
        run=_inspected, data=_random, covers=(compositing.pixel_series,), rtol=_SUM_RTOL
    ),
}

CASES: dict[str, Case] = {
    **_composite_cases(),
    **_INSPECTION_CASES,
    **_CLOUD_CASES,
    **_CSMASK_CASES,
    **_SHARPEN_CASES,
    **_FACADE_CASES,
}

#: Public names that take or return no collection, with why they need no case.
EXCLUDED = {
    # Constants and types, no arrays.
    "compositing.METHODS": "a tuple of method names",
    "compositing.STATISTICS": "a tuple of method names",
    "compositing.CatalogResponseError": "an exception class",
    "compositing.CatalogUnreachableError": "an exception class",
    "compositing.NoScenesError": "an exception class",
    "compositing.Geometry": "a lon/lat point or rectangle (no array)",
    "compositing.SharpenResult": "sharpen's result type (compared in the sharpen cases)",
    # Validators: they look at dims, dtype and coordinates only and return the input unchanged.
    "compositing.check_collection": "a validator (returns its input unchanged)",
    "compositing.check_image": "a validator (returns its input unchanged)",
    # Paths in, a file out: its chunking is load's (SOURCE_CASES), its arithmetic sharpen's.
    "compositing.sharpen_files": "files to a COG; load and sharpen are checked here",
    # Facade methods that return no array.
    "facade.Image.band_names": "returns a list of str",
    "facade.Image.get": "returns a property's value",
    "facade.Image.date": "returns a Timestamp",
    "facade.Image.property_names": "returns a list of str",
    "facade.ImageCollection.size": "returns an int",
    "facade.ImageCollection.aggregate_array": "returns a list of property values",
    "facade.ImageCollection.property_names": "returns a list of str",
    "compositing.Filter": "a test of properties (no array); the filter cases use it",
    "compositing.Reducer": "a reduction of values (no array); reduce_region uses it",
    "compositing.Export": "writes a file: the same bytes for any chunking (test_export)",
    "compositing.Map": "draws layers (no array out); it computes what it shows (test_mapping)",
    "facade.Image.projection": "returns a CRS and a pixel size (reproject's case uses it)",
    "facade.Image.reduce_region": "returns numbers (chunked = numpy in test_facade_regions)",
}


# --------------------------------------------------------------------------------------------
# The loaders: the same values whatever the chunk size they are asked for


def _demo_load(chunksize: int) -> xr.DataArray:
    return compositing.load(
        point=(-122.373, 37.448),
        dates=("2021-07-01", "2021-07-12"),
        size_m=3000,
        product="L1C",
        bands=["B02", "B08", "B10"],
        chunksize=chunksize,
    )


def _write_band_files(directory) -> str:
    import file_fixtures as ff

    # Mixed 10/20/60 m files: the 20 and 60 m bands go through warped VRTs (resampled), read
    # window by window; the windows must not change the values.
    bands = ("B01", "B02", "B04", "B05", "B08", "B10", "B11")
    ff.write_band_files(directory, bands=bands, ext="tif", suffix=False, datetime=ff.DATETIME_OLD)
    ff.write_band_files(
        directory, bands=bands, ext="tif", suffix=False, datetime="20210710T184919", seed=7
    )
    return str(directory)


def _files_load(directory: str, chunks: int, **grid: object) -> xr.DataArray:
    return compositing.load(directory, product="L1C", chunks=chunks, **grid)


def _files_load_warped(directory: str, chunks: int) -> xr.DataArray:
    # Onto another CRS: every band is warped (bilinear / average).
    return _files_load(
        directory, chunks, point=(-121.01, 37.67), size_m=500, resolution=10, crs="EPSG:3857"
    )


def _lst_file(directory) -> str:
    import file_fixtures as ff

    return str(ff.write_lst_geotiff(directory))


def _files_load_lst(path: str, chunks: int) -> xr.DataArray:
    return compositing.load_lst(path, chunks=chunks, time="2023-06-20T18:30")


@dataclass(frozen=True)
class SourceCase:
    """A loader called with several chunk sizes; the first is the one-block reference."""

    load: Callable[..., xr.DataArray]
    sizes: tuple[int, ...]
    covers: tuple[object, ...]
    write: Callable[..., str] | None = None


SOURCE_CASES: dict[str, SourceCase] = {
    "load/demo": SourceCase(_demo_load, (4096, 512, 256, 100, 37), (compositing.load,)),
    "load/files": SourceCase(
        _files_load, (4096, 2048, 16, 7, 33), (compositing.load,), _write_band_files
    ),
    "load/files-warped": SourceCase(
        _files_load_warped, (4096, 2048, 16, 7), (compositing.load,), _write_band_files
    ),
    "load_lst/files": SourceCase(
        _files_load_lst, (4096, 1024, 3, 2), (compositing.load_lst,), _lst_file
    ),
}


# --------------------------------------------------------------------------------------------
# Helpers


def _arrays(result: object) -> dict[str, xr.DataArray]:
    """What a public function returned, as named DataArrays to compare."""
    if isinstance(result, dict):
        return {k: v for name, part in result.items() for k, v in _prefixed(name, part).items()}
    if isinstance(result, (Image, ImageCollection)):
        return {"": result.data}
    if isinstance(result, xr.Dataset):
        return dict(result.data_vars)
    if isinstance(result, xr.DataArray):
        return {"": result}
    raise TypeError(f"no comparison for {type(result).__name__}")


def _prefixed(name: str, part: object) -> dict[str, xr.DataArray]:
    return {f"{name}{'.' + k if k else ''}": v for k, v in _arrays(part).items()}


@functools.cache
def _reference(name: str) -> dict[str, xr.DataArray]:
    """The case's result on the numpy input (one block), computed once."""
    case = CASES[name]
    return {k: v.compute() for k, v in _arrays(case.run(case.data())).items()}


def _assert_same(name: str, chunked: xr.DataArray, layout: object) -> None:
    case = CASES[name]
    got = _arrays(case.run(chunked))
    expected = _reference(name)
    assert got.keys() == expected.keys()
    for key, value in got.items():
        value = value.compute()
        where = f"{name} {key} on layout {layout}"
        _assert_equal(value, expected[key], case.rtol, where)


def _assert_equal(got: xr.DataArray, expected: xr.DataArray, rtol: float, where: str) -> None:
    """Identical, or within ``rtol`` for floats when ``rtol`` is given (NaNs where expected's)."""
    try:
        if rtol and np.issubdtype(expected.dtype, np.floating):
            xr.testing.assert_allclose(got, expected, rtol=rtol, atol=0)
            assert got.dims == expected.dims and got.attrs.keys() == expected.attrs.keys()
            for key, value in expected.attrs.items():  # sharpen's fit is in its attrs
                if isinstance(value, float):
                    np.testing.assert_allclose(got.attrs[key], value, rtol=rtol, err_msg=key)
                else:
                    assert got.attrs[key] == value, key
        else:
            xr.testing.assert_identical(got, expected)
    except AssertionError as error:
        raise AssertionError(f"{where}: {error}") from None


@contextmanager
def _no_compute():
    """Any compute inside raises (and is counted, in case the caller swallows the error)."""
    calls: list[object] = []

    def refuse(dsk, keys, **kwargs):
        calls.append(keys)
        raise AssertionError("computed at call time")

    with dask.config.set(scheduler=refuse):
        yield calls
    assert not calls, f"{len(calls)} compute(s) at call time"


# --------------------------------------------------------------------------------------------
# The tests


def _public_api() -> dict[str, object]:
    """Every public function or class: compositing.__all__ and compositing.indices.__all__,
    compositing.clouds' and compositing.csmask's own public callables, and the facade classes'
    public methods (camelCase aliases are the same functions as their snake_case names)."""
    names = {f"compositing.{n}": getattr(compositing, n) for n in compositing.__all__}
    names.update({f"indices.{n}": getattr(indices, n) for n in indices.__all__})
    for module in (clouds, csmask):
        for n, obj in vars(module).items():
            if (
                not n.startswith("_")
                and callable(obj)
                and getattr(obj, "__module__", None) == module.__name__
            ):
                names[f"{module.__name__.rsplit('.', 1)[-1]}.{n}"] = obj
    for cls in (facade.Image, facade.ImageCollection):
        for n in dir(cls):  # with the methods of mixins (Image's PixelMath, SpatialMethods)
            obj = getattr(cls, n)
            if not n.startswith("_") and inspect.isfunction(obj):
                names[f"facade.{cls.__name__}.{n}"] = obj
    return names


def test_registry_covers_every_public_function() -> None:
    public = _public_api()
    covered = [f for case in (*CASES.values(), *SOURCE_CASES.values()) for f in case.covers]
    # By identity, so that camelCase aliases share their snake_case name's case or exclusion.
    excluded = [public[name] for name in EXCLUDED if name in public]
    missing = [
        name for name, obj in public.items() if not any(obj is f for f in (*covered, *excluded))
    ]
    assert not missing, (
        f"public functions without a layout case in tests/test_layouts.py: {missing}; add a "
        "Case to CASES (or a reasoned entry to EXCLUDED)"
    )
    stale = sorted(set(EXCLUDED) - set(public))
    assert not stale, f"EXCLUDED names that are no longer public: {stale}"
    # Facade classes and clouds functions are found by introspection: make sure it finds some.
    assert "clouds.cloud_probability" in public and "facade.Image.add" in public


def _named_layouts(name: str) -> tuple[Layout, ...]:
    return scaled_layouts(CASES[name].side, CASES[name].min_side)


@pytest.mark.parametrize(
    "layout_index", range(len(REAL_LAYOUTS)), ids=[layout.name for layout in REAL_LAYOUTS]
)
@pytest.mark.parametrize("name", CASES)
def test_source_layouts_give_the_one_block_result(name: str, layout_index: int) -> None:
    layout = _named_layouts(name)[layout_index]
    _assert_same(name, rechunk(CASES[name].data(), layout.chunks()), layout)


@pytest.mark.parametrize("name", CASES)
def test_any_chunking_gives_the_one_block_result(name: str) -> None:
    case = CASES[name]
    data = case.data()

    # derandomize: the same examples on every run, so CI failures reproduce.
    @settings(
        max_examples=case.examples,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow],
        database=None,
    )
    @given(chunkings(dict(data.sizes), min_side=case.min_side))
    def check(chunks: dict[str, object]) -> None:
        _assert_same(name, rechunk(data, chunks), chunks)

    check()


_LAZY = [name for name, case in CASES.items() if case.computes is None]


@pytest.mark.parametrize("name", _LAZY)
def test_dask_in_dask_out_nothing_computed(name: str) -> None:
    case = CASES[name]
    # stackstac's structure: one image and one band per chunk.
    chunked = rechunk(case.data(), scaled_layouts(case.side, case.min_side)[0].chunks())
    with _no_compute():
        result = case.run(chunked)
    for key, value in _arrays(result).items():
        assert isinstance(value.data, da.Array), f"{name} {key} is not dask-backed"


@contextmanager
def _counted_computes():
    """Count computes, running them on the synchronous scheduler."""
    calls: list[object] = []

    def count(dsk, keys, **kwargs):
        calls.append(keys)
        return dask.get(dsk, keys, **kwargs)

    with dask.config.set(scheduler=count):
        yield calls


@pytest.mark.parametrize("name", [n for n in CASES if n not in _LAZY])
def test_functions_that_must_compute_do_it_once_and_return_lazy_maps(name: str) -> None:
    case = CASES[name]
    chunked = rechunk(case.data(), scaled_layouts(case.side, case.min_side)[0].chunks())
    with _counted_computes() as calls:
        result = _arrays(case.run(chunked))
    # sharpen: one dask.compute for the footprint sums and the LST together, no more.
    assert len(calls) == case.n_computes, f"{name} computed {len(calls)} times ({case.computes})"
    for key in case.lazy_keys:
        assert isinstance(result[key].data, da.Array), f"{name} {key} is not dask-backed"
        assert result[key].data.chunks == chunked.isel(time=0, band=0).data.chunks


@pytest.mark.parametrize("name", SOURCE_CASES)
def test_loaders_give_the_same_values_for_any_chunk_size(name: str, tmp_path) -> None:
    case = SOURCE_CASES[name]
    args = (case.write(tmp_path),) if case.write else ()
    reference = case.load(*args, case.sizes[0])
    expected = reference.values
    for size in case.sizes[1:]:
        loaded = case.load(*args, size)
        assert isinstance(loaded.data, da.Array)
        # Every spatial chunk is at most ``size``; nothing else about the layout changes.
        assert max(max(c) for c in loaded.chunks[-2:]) <= size
        np.testing.assert_array_equal(loaded.values, expected, err_msg=f"{name} chunks={size}")
        xr.testing.assert_identical(loaded.coords.to_dataset(), reference.coords.to_dataset())


def test_sources_deliver_the_layouts_described_in_chunk_layouts(tmp_path) -> None:
    # The layouts this file checks are the ones the sources really produce.
    files = _files_load(_write_band_files(tmp_path), 2048)
    assert set(files.chunks[0]) == {1} and set(files.chunks[1]) == {1}  # like stackstac
    demo = _demo_load(512)
    assert set(demo.chunks[0]) == {1} and demo.chunks[1] == (demo.sizes["band"],)
    assert set(_demo_load(128).chunks[2][:-1]) == {128}


# Real sizes, for the cheap functions: arrays larger than 2048 pixels wide, so that stackstac's
# 1024 tiles and the file source's 2048 tiles both split them (the other layouts are checked
# scaled, above).
_BIG_CASES = [f"composite/{m}" for m in (*compositing.METHODS, *compositing.STATISTICS)] + [
    "ImageCollection.median",
    "Image.normalized_difference",
]
_BIG_LAYOUTS = [
    layout for layout in REAL_LAYOUTS if layout.name in ("stackstac", "odc-stac", "files")
]


@functools.cache
def _big() -> xr.DataArray:
    values = random_masked(np.random.default_rng(3), (3, 3, 1100, 2100), levels=40) + 1.0
    return make_collection(values, ["B04", "B08", "QA"])


@functools.cache
def _big_reference(name: str) -> dict[str, xr.DataArray]:
    return {k: v.compute() for k, v in _arrays(CASES[name].run(_big())).items()}


@pytest.mark.parametrize("layout", _BIG_LAYOUTS, ids=str)
def test_real_size_layouts_for_cheap_functions(layout: Layout) -> None:
    for name in _BIG_CASES:
        case = CASES[name]
        got = _arrays(case.run(rechunk(_big(), layout.chunks())))
        expected = _big_reference(name)
        for key, value in got.items():
            _assert_equal(value.compute(), expected[key], case.rtol, f"{name} {key} on {layout}")


@pytest.mark.parametrize("resolution", [None, 60])
def test_cloud_probability_keeps_the_collections_time_and_spatial_chunks(resolution) -> None:
    # Bands are made whole for the model; time and space keep the source's tiles, also after
    # coarsening and interpolating back (no image-sized chunk appears).
    chunked = rechunk(_l1c(), {"time": 1, "band": 1, "y": 48, "x": 48})
    probability = clouds.cloud_probability(chunked, resolution=resolution)
    assert probability.chunks == (chunked.chunks[0], chunked.chunks[2], chunked.chunks[3])


def test_whole_along_makes_core_dims_whole_and_keeps_the_rest() -> None:
    from compositing.contract import whole_along

    chunked = rechunk(_random(), {"time": 1, "band": 1, "y": 16, "x": (20, 36)})
    whole = whole_along(chunked, "band", "y")
    assert whole.chunks == (chunked.chunks[0], (4,), (40,), (20, 36))
    assert whole_along(_random(), "band") is _random()  # numpy: unchanged
    with pytest.raises(ValueError, match=r"\['bands'\] are not dims"):
        whole_along(chunked, "bands")
