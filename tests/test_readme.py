"""The README's Python examples run as written, and say what they print."""

from __future__ import annotations

import contextlib
import re

import pytest
import stac_replay
from conftest import REPO
from stac_fixtures import forbid_network

README = REPO / "README.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_the_readme_has_its_examples():
    assert len(python_blocks()) >= 5


def test_the_readme_examples_run_in_order(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the examples write files (Export.image) where they run
    namespace: dict[str, object] = {}
    replayed = stac_replay.available()
    # The csmask example loads a Planetary Computer tile: from the replayed catalog, offline.
    with contextlib.ExitStack() as stack:
        if replayed:
            replay = stack.enter_context(stac_replay.ReplayServer([(9.040, 47.390, 9.056, 47.401)]))
            url = replay.catalog_url("planetary-computer")
            monkeypatch.setenv("COMPOSITE_EXPLORER_PLANETARY_COMPUTER_URL", url)
        for block in python_blocks():
            if 'tile="32TMT"' in block and not replayed:
                continue  # checked below: the other examples still run
            exec(compile(block, str(README), "exec"), namespace)  # noqa: S102  (our own README)

    median, best = namespace["median"], namespace["best"]
    assert median.dims == ("band", "y", "x") and best.dims == ("band", "y", "x")
    assert namespace["count"].data.dims == ("band", "y", "x")
    assert namespace["least_cloudy_on_top"].data.dims == ("band", "y", "x")
    assert namespace["evi"].bandNames() == ["EVI"]
    assert [layer.label for layer in namespace["m"].layers] == ["least cloudy"]
    import rasterio

    with rasterio.open(tmp_path / "mosaic.tif") as exported:
        assert exported.descriptions == ("B04", "B03", "B02") and exported.res == (20.0, 20.0)
    assert namespace["cloudless"].dims == ("band", "y", "x")
    # The layer the layout section adds is offered, computed and drawn with its legend.
    dashboard = namespace["dashboard"]
    assert dashboard.controls.param.layers.names["Median (B8)"] == "b08_median"
    assert dashboard.map_view.images["b08_median"].legend.title == "Median (B8)"
    # The comment beside print(result) quotes the fit that the demo scene gives.
    quoted = re.search(r"print\(result\)\s+# (y = .*?) \.\.\.", README.read_text()).group(1)
    assert quoted in capsys.readouterr().out.replace("   r²", ", r²")
    if not replayed:
        pytest.skip("the csmask tile example needs ../shared/realdata/stac (the replay): absent")
    # The article's tile, whole and lazy, with its csmask layers on the 20 m grid.
    assert namespace["tile"].sizes["x"] == namespace["tile"].sizes["y"] == 5490
    assert namespace["layers"]["mask"].shape == (1, 5490, 5490)
    assert "projection" in namespace["joined"]


@pytest.fixture(autouse=True)
def _no_network(monkeypatch):
    """The examples run on the demo scene: any attempt to reach the internet is a failure."""
    forbid_network(monkeypatch)
