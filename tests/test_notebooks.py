"""The teaching notebooks in notebooks/: each runs top to bottom offline, and none is committed
with outputs (saved Bokeh outputs reference CDN JavaScript, and they bloat the repository).

The notebooks are executed with nbclient in a kernel that runs *this* interpreter
(``sys.executable``): a ``python3`` kernelspec found first on the Jupyter path (e.g. in
``~/.local/share/jupyter``) could start another Python without the project installed. So the
tests write their own kernelspec into a temporary directory and put it first on JUPYTER_PATH.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("*.ipynb"))
KERNEL_NAME = "composite-explorer-tests"
CELL_TIMEOUT_S = 600


@pytest.fixture(scope="session")
def kernel_name(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A kernelspec that starts ``sys.executable``, first on the Jupyter path."""
    jupyter_dir = tmp_path_factory.mktemp("jupyter")
    spec_dir = jupyter_dir / "kernels" / KERNEL_NAME
    spec_dir.mkdir(parents=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Composite Explorer (tests)",
        "language": "python",
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("JUPYTER_PATH", str(jupyter_dir))
        yield KERNEL_NAME


def execute(nb: nbformat.NotebookNode, kernel_name: str) -> nbformat.NotebookNode:
    """Run every cell in notebooks/ as the working directory; raises on the first error."""
    client = NotebookClient(
        nb,
        kernel_name=kernel_name,
        timeout=CELL_TIMEOUT_S,
        resources={"metadata": {"path": str(NOTEBOOKS_DIR)}},
    )
    return client.execute()


def test_there_are_notebooks() -> None:
    assert len(NOTEBOOKS) >= 5, f"expected the five teaching notebooks in {NOTEBOOKS_DIR}"


def test_the_kernel_runs_this_interpreter(kernel_name: str) -> None:
    cell = nbformat.v4.new_code_cell("import sys; print(sys.prefix)")
    nb = execute(nbformat.v4.new_notebook(cells=[cell]), kernel_name)
    printed = "".join(out.get("text", "") for out in nb.cells[0].outputs).strip()
    assert Path(printed).resolve() == Path(sys.prefix).resolve()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_is_committed_without_outputs(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    with_outputs = [
        index
        for index, cell in enumerate(nb.cells)
        if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None)
    ]
    assert not with_outputs, f"{path.name}: clear the outputs of cells {with_outputs}"
    assert "widgets" not in nb.metadata, f"{path.name}: saved widget state in the metadata"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_says_the_demo_is_synthetic_and_can_switch_to_real_data(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    prose = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown").lower()
    assert "synthetic" in prose, f"{path.name}: say that the demo scene is synthetic"
    headings = [
        i
        for i, c in enumerate(nb.cells)
        if c.cell_type == "markdown"
        and any(
            line.startswith("#") and line.lstrip("# ").lower() == "switch to real data"
            for line in c.source.splitlines()
        )
    ]
    assert len(headings) == 1, f"{path.name}: one 'Switch to real data' heading"
    switch = nb.cells[headings[0] + 1]
    assert switch.cell_type == "code" and 'SOURCE = "demo"' in switch.source


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs_offline_top_to_bottom(path: Path, kernel_name: str) -> None:
    execute(nbformat.read(path, as_version=4), kernel_name)
