"""pyproject.toml and environment.yml list the same dependencies."""

from __future__ import annotations

import re

import pytest
import yaml
from conftest import REPO

tomllib = pytest.importorskip("tomllib", reason="tomllib is in the standard library from 3.11")

# pip and conda-forge spell a few packages differently.
PIP_TO_CONDA = {"dask[array]": "dask"}


def _split(requirement: str) -> tuple[str, str]:
    name, spec = re.match(r"^\s*([A-Za-z0-9_.\-\[\]]+)\s*(.*)$", requirement).groups()
    name = PIP_TO_CONDA.get(name.lower(), name.lower())
    return name, spec.replace(" ", "")


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    pip_requirements = list(project["dependencies"])
    for requirements in project["optional-dependencies"].values():
        pip_requirements += [r for r in requirements if not r.startswith("composite-explorer")]
    conda_requirements = [
        entry
        for entry in yaml.safe_load((REPO / "environment.yml").read_text())["dependencies"]
        if isinstance(entry, str) and not entry.startswith(("python", "pip"))
    ]
    # Packages conda-forge does not have come from PyPI, in the pip section (not the project).
    for entry in yaml.safe_load((REPO / "environment.yml").read_text())["dependencies"]:
        if isinstance(entry, dict):
            conda_requirements += [r for r in entry["pip"] if not r.startswith("-e")]
    assert dict(map(_split, pip_requirements)) == dict(map(_split, conda_requirements))


def test_python_requirement_agrees():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    conda = yaml.safe_load((REPO / "environment.yml").read_text())["dependencies"]
    assert f"python{project['requires-python']}" in conda
