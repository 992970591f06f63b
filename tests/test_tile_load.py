"""A whole Sentinel-2 tile, or items by id, from a replayed catalog; and the cloudless article's
tile workflow on it: the full tile at 20 m, a cloud and shadow mask buffered by 50 m on the same
20 m grid, shown in orange at 50 % over the image.

The catalog is the replay of ``../shared/realdata/stac`` (real Planetary Computer answers); its
COGs are tile-sized (10980 x 10980 at 10 m, 5490 x 5490 at 20 m), sparse outside the demo area.
"""

from __future__ import annotations

import sys
from pathlib import Path

import dask
import numpy as np
import pyproj
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from stac_fixtures import forbid_network  # noqa: E402
from stac_replay import ReplayServer, available  # noqa: E402

import compositing as cx  # noqa: E402
from compositing import csmask, mgrs  # noqa: E402
from compositing.facade import Image, Map  # noqa: E402

pytestmark = pytest.mark.skipif(
    not available(), reason="the recorded STAC responses (../shared/realdata/stac) are absent"
)

#: The recorded Planetary Computer item of tile 32TMT on 5 July 2020, and the area the
#: replayed COGs hold data for (Lake Constance's south shore).
ITEM = "S2B_MSIL2A_20200705T101559_R065_T32TMT_20200825T083452"
TMT = (9.040, 47.390, 9.056, 47.401)
DATES = ("2020-07-05", "2020-07-06")
#: The article's bands: what csmask reads, and SCL (water is never a projected shadow).
BANDS = [*csmask.CSMASK_BANDS, "SCL"]


@pytest.fixture(scope="module")
def replay():
    with ReplayServer([TMT]) as server:
        yield server


@pytest.fixture
def url(replay, monkeypatch):
    forbid_network(monkeypatch)
    return replay.catalog_url("planetary-computer")


def _window(collection, box=TMT):
    """The rows and columns of ``collection`` inside the lon/lat ``box``."""
    to_utm = pyproj.Transformer.from_crs(4326, collection.rio.crs, always_xy=True)
    left, bottom, right, top = to_utm.transform_bounds(*box)
    return {"x": slice(left, right), "y": slice(top, bottom)}


def test_a_tile_loads_whole_on_its_own_20_m_grid(url):
    tile = cx.load("planetary-computer", tile="32TMT", dates=DATES, resolution=20, url=url,
                   bands=BANDS)  # fmt: skip
    assert list(tile["id"].values) == [ITEM]
    assert tile.sizes == {"time": 1, "band": 7, "y": 5490, "x": 5490}
    assert tile.rio.crs.to_epsg() == 32632
    # The item's own 20 m pixels: the grid starts at its corner (proj:transform).
    item = cx.load("planetary-computer", bbox=TMT, dates=DATES, resolution=20, url=url,
                   bands=["B04"], crs="EPSG:32632")  # fmt: skip
    assert float(tile["x"][0]) == 399_960 + 10 and float(tile["y"][0]) == 5_300_040 - 10
    # Same pixels, same values, wherever the two grids meet.
    near = tile.sel(band="B04").sel(x=item["x"], y=item["y"], method="nearest").values
    np.testing.assert_array_equal(near, item.sel(band="B04").values)
    # The MGRS square is inside the tile.
    _, (left, bottom, right, top) = mgrs.mgrs_tile_square("32TMT")
    # (Sentinel-2's tiles are the square and 9.8 km more to the east and south.)
    assert tile["x"][0] < left < right < tile["x"][-1] and right == left + 100_000
    assert tile["y"][-1] < bottom < top < tile["y"][0]
    # Lazy, in bounded chunks (one image, one band, 1024 x 1024 at most).
    assert max(tile.chunks[2]) <= 1024 and max(tile.chunks[3]) <= 1024
    assert tile.chunks[0] == (1,) and set(tile.chunks[1]) == {1}


def test_an_item_id_loads_the_same_tile(url):
    by_tile = cx.load("planetary-computer", tile="T32TMT", dates=DATES, resolution=20, url=url,
                      bands=["B04"])  # fmt: skip
    by_id = cx.load("planetary-computer", ids=ITEM, resolution=20, url=url, bands=["B04"])
    assert by_id.sizes == by_tile.sizes
    np.testing.assert_array_equal(by_id["x"], by_tile["x"])
    window = _window(by_id)
    np.testing.assert_array_equal(by_id.sel(**window).values, by_tile.sel(**window).values)
    assert np.isfinite(by_id.sel(**window).values).all()


def test_tile_and_id_errors_say_what_to_do(url):
    common = {"dates": DATES, "resolution": 20, "url": url}
    with pytest.raises(ValueError, match="not an MGRS tile name"):
        cx.load("planetary-computer", tile="32TM", **common)
    with pytest.raises(ValueError, match="not both"):
        cx.load("planetary-computer", tile="32TMT", point=(9.05, 47.4), **common)
    with pytest.raises(ValueError, match="crs= cannot be given with tile="):
        cx.load("planetary-computer", tile="32TMT", crs="EPSG:3857", **common)
    with pytest.raises(ValueError, match="searches a STAC catalog"):
        cx.load("demo", tile="32TMT", dates=DATES)
    with pytest.raises(ValueError, match="needs dates"):
        cx.load("planetary-computer", tile="32TMT", resolution=20, url=url)
    with pytest.raises(cx.NoScenesError, match="tile 32TMT"):
        cx.load("planetary-computer", tile="32TMT", dates=("2019-01-01", "2019-01-02"),
                resolution=20, url=url)  # fmt: skip
    with pytest.raises(cx.NoScenesError, match="no sentinel-2-l2a item S2X_NOT_AN_ITEM"):
        cx.load("planetary-computer", ids=["S2X_NOT_AN_ITEM"], resolution=20, url=url)


def test_the_cloudless_article_tile_workflow_runs_lazily_on_the_full_tile(url):
    # The article: search by tile and date, mask clouds and shadows with a 50 m buffer on 20 m,
    # show the mask in orange at 50 % over the image. Here with no L1C and no Earth Engine.
    tile = cx.load("planetary-computer", tile="32TMT", dates=DATES, resolution=20, url=url,
                   bands=BANDS)  # fmt: skip
    mask = csmask.mask_csmask(tile, buffer=50)
    assert mask.shape == (1, 5490, 5490) and mask.dtype == bool
    np.testing.assert_array_equal(mask["x"], tile["x"])  # on the 20 m grid
    # Bounded memory: every chunk of the mask is one of the collection's (1024 x 1024 at most),
    # and the network runs one 256 x 256 tile (at 40 m) per task.
    assert max(mask.chunks[1]) <= 1024 and max(mask.chunks[2]) <= 1024
    graph = dict(mask.__dask_graph__())
    tiles = [k for k in graph if isinstance(k, tuple) and k[0].startswith("_tile_prediction")]
    assert len(tiles) == 14 * 14  # 2745 pixels at 40 m: 14 tiles of 256 at a stride of 204
    # A window needs only the network on the tiles under the collection's chunks it touches.
    window = mask.sel(**_window(mask))
    (culled,) = dask.optimize(window.data)
    kept = [k for k in dict(culled.__dask_graph__()) if "_tile_prediction" in str(k)]
    assert 1 <= len(kept) < len(tiles) / 3
    shown = window.compute()
    assert shown.shape[1] > 40 and shown.shape[2] > 40
    # With Earth Engine's shadow projection too (it works on whole images: 30 MB per image).
    combined = csmask.mask_csmask(tile, buffer=50, combined=True).sel(**_window(mask)).compute()
    assert not (shown.values & ~combined.values).any()
    # The article's display: Map.addLayer(mask.selfMask(), {palette: ['orange']}, ..., 0.5),
    # on a window wider than the replay's data (no data is masked too: orange there).
    wider = _window(mask, (TMT[0] - 0.01, TMT[1] - 0.005, TMT[2] + 0.01, TMT[3] + 0.005))
    flagged = mask.sel(**wider).isel(time=0).compute()
    assert flagged.values.any() and not flagged.values.all()
    m = Map()
    m.addLayer(Image(tile.sel(**wider).isel(time=0)),
               {"bands": ["B4", "B3", "B2"], "min": 0, "max": 3000}, "Image")  # fmt: skip
    m.addLayer(Image(flagged.astype("float32").expand_dims(band=["mask"])).selfMask(),
               {"min": 0, "max": 1, "palette": ["orange"]}, "Final Mask", True, 0.5)  # fmt: skip
    colours = {d.name: _channel(m.layers[-1], d.name) for d in m.layers[-1].vdims}
    flagged = flagged.values
    assert (colours["A"][flagged] == 128).all() and (colours["A"][~flagged] == 0).all()
    orange = (255, 165, 0)
    for channel, value in zip("RGB", orange, strict=True):
        assert (colours[channel][flagged] == value).all()


def _channel(layer, name: str) -> np.ndarray:
    """One channel of an ``hv.RGB`` layer, in the image's row order (north first)."""
    return np.flipud(layer.dimension_values(name, flat=False))
