"""The benchmark scripts still run (tiny sizes; their figures are not judged here)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import REPO


@pytest.mark.parametrize("name", ["bench_reducers", "bench_clouds", "bench_thermal"])
def test_benchmark_runs_in_quick_mode(name, tmp_path):
    completed = subprocess.run(
        [sys.executable, "-m", f"benchmarks.{name}", "--quick", "--out", str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    tables = list(tmp_path.glob("*.md"))
    assert tables and all("|---" in table.read_text() for table in tables)
