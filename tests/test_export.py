"""Exports (issue 13, part 6): ``compositing.export.write_cog``, the facade's ``Export.image``
and ``composite-explorer export``: Cloud-Optimized GeoTIFFs with band names, nodata and
overviews, the same bytes for any chunking and on a 2-process dask cluster."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import rasterio
from conftest import make_collection, random_masked

from compositing.cli import main
from compositing.export import write_cog
from compositing.facade import Export, Geometry, Image, ImageCollection

#: Larger than one 512 tile both ways: several tiles, and overviews.
SHAPE = (5, 3, 700, 1100)


@pytest.fixture(scope="module")
def values() -> np.ndarray:
    return random_masked(np.random.default_rng(2026), SHAPE, levels=50) * 100.0


@pytest.fixture(scope="module")
def collection(values):
    return make_collection(values, ["B04", "B08", "SCL"])


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_multiband_cog_has_band_names_nodata_overviews_and_the_values(collection, tmp_path):
    median = ImageCollection(collection).median()
    path = write_cog(median.data, tmp_path / "median.tif")
    with rasterio.open(path) as cog:
        assert cog.count == 3 and cog.dtypes == ("float32",) * 3
        assert cog.descriptions == ("B04", "B08", "SCL")
        assert np.isnan(cog.nodata)
        assert cog.overviews(1), "no overviews"
        assert cog.profile["tiled"] and cog.profile["blockxsize"] == 512
        assert cog.crs == collection.rio.crs
        assert cog.transform == median.data.rio.transform()
        np.testing.assert_array_equal(cog.read(), median.data.values.astype("float32"))
    with rasterio.open(path) as cog:  # the COG layout GDAL checks for
        assert cog.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"


def test_the_same_bytes_for_any_chunking(collection, tmp_path):
    reference = write_cog(ImageCollection(collection).median().data, tmp_path / "one.tif")
    for index, chunks in enumerate(
        [
            {"time": 1, "band": 1, "y": 256, "x": 256},  # stackstac-like
            {"time": -1, "band": -1, "y": 333, "x": 1100},
            {"time": 2, "band": 1, "y": 700, "x": 97},
        ]
    ):
        median = ImageCollection(collection.chunk(chunks)).median()
        path = write_cog(median.data, tmp_path / f"chunked{index}.tif")
        assert _digest(path) == _digest(reference), chunks


def test_the_same_bytes_on_a_two_process_cluster(collection, tmp_path):
    distributed = pytest.importorskip("distributed")
    chunked = collection.chunk({"time": 1, "band": 1, "y": 512, "x": 512})
    local = Export.image(ImageCollection(chunked).median(), tmp_path / "local.tif")
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
        distributed.get_task_stream(client) as stream,
    ):
        path = Export.image(ImageCollection(chunked).median(), tmp_path / "cluster.tif")
        workers = set(client.scheduler_info()["workers"])
    assert _digest(path) == _digest(local)
    computed_on = {task["worker"] for task in stream.data}
    assert computed_on and computed_on <= workers  # the cluster's workers computed the tiles


def test_progress_reports_every_tile(collection, tmp_path):
    reports: list[tuple[int, int]] = []
    write_cog(collection.isel(time=0), tmp_path / "a.tif", progress=lambda *r: reports.append(r))
    total = 2 * 3  # 700 x 1100 in 512 tiles
    assert reports[-1] == (total, total)
    assert [done for done, _ in reports] == sorted({done for done, _ in reports})


def test_export_image_crops_to_the_region_and_resamples_to_the_scale(collection, tmp_path):
    from pyproj import Transformer

    image = ImageCollection(collection).median()
    box = [-122.3748, 37.4388, -122.3730, 37.4402]  # (west, south, east, north), inside
    path = Export.image(image, tmp_path / "region.tif", region=box, progress=False)
    # Independently: the pixels whose centre lies in the box, and their bounding window.
    xx, yy = np.meshgrid(collection["x"].values, collection["y"].values)
    lon, lat = Transformer.from_crs(collection.rio.crs, "EPSG:4326", always_xy=True).transform(
        xx, yy
    )
    inside = (box[0] <= lon) & (lon <= box[2]) & (box[1] <= lat) & (lat <= box[3])
    rows, cols = np.flatnonzero(inside.any(axis=1)), np.flatnonzero(inside.any(axis=0))
    window = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
    want = np.where(inside[window], image.data.values[(slice(None), *window)], np.nan)
    with rasterio.open(path) as cog:
        assert cog.descriptions == ("B04", "B08", "SCL")
        assert cog.xy(0, 0) == (collection["x"].values[cols[0]], collection["y"].values[rows[0]])
        np.testing.assert_array_equal(cog.read(), want.astype("float32"))
    coarse = Export.image(image, tmp_path / "coarse.tif", scale=100, progress=False)
    with rasterio.open(coarse) as cog:
        assert cog.res == (100.0, 100.0)
        want = image.reproject(image.projection(), 100).data.values.astype("float32")
        np.testing.assert_array_equal(cog.read(), want)


def test_export_image_refuses_what_it_cannot_write(collection, tmp_path):
    image = ImageCollection(collection).median()
    with pytest.raises(ValueError, match="more than maxPixels=1000"):
        Export.image(image, tmp_path / "x.tif", maxPixels=1000)
    with pytest.raises(ValueError, match="stack of images; reduce it first"):
        Export.image(Image(collection), tmp_path / "x.tif")
    with pytest.raises(ValueError, match="covers no pixel centre"):
        Export.image(image, tmp_path / "x.tif", region=Geometry.Rectangle([0, 0, 0.001, 0.001]))
    with pytest.raises(TypeError, match="Export.image takes an Image"):
        Export.image(collection, tmp_path / "x.tif")


def test_the_command_line_writes_a_demo_composite(tmp_path, capsys):
    out = tmp_path / "median.tif"
    status = main(
        [
            "export",
            "--source", "demo",
            "--bbox", "-122.38", "37.44", "-122.37", "37.45",
            "--dates", "2021-07-01", "2021-08-01",
            "--method", "median",
            "--mask", "scl",
            "--out", str(out),
            "--quiet",
        ]
    )  # fmt: skip
    assert status == 0 and f"wrote {out}" in capsys.readouterr().out
    with rasterio.open(out) as cog:
        assert cog.descriptions == ("B02", "B03", "B04", "B08")
        assert cog.tags()["method"] == "median" and cog.tags()["mask"] == "scl"
        assert np.isfinite(cog.read(3)).mean() > 0.9


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--method", "percentile"], "--method percentile needs --percentile P"),
        (["--method", "quality_mosaic"], "needs --quality-band NAME"),
        (["--method", "average"], "invalid choice: 'average'"),
        (["--dates", "2021-07-01", "2021-08-01", "--bands", "B99"], "B99"),
        (["--dates", "2021-08-01", "2021-07-01"], "2021-08-01"),
    ],
)
def test_the_command_line_says_what_is_wrong(arguments, message, tmp_path, capsys):
    base = ["export", "--bbox", "-122.38", "37.44", "-122.37", "37.45", "--out",
            str(tmp_path / "x.tif"), "--quiet"]  # fmt: skip
    if "--dates" not in arguments:
        base += ["--dates", "2021-07-01", "2021-08-01"]
    with pytest.raises(SystemExit) as exit_:
        main(base + arguments)
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err
