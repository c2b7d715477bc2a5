"""The trainer benchmark still runs end to end (a smoke run on 4,000 digits, not a timing)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_trainer_benchmark_prints_both_tables() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.trainer", "--tiles", "1", "--epochs", "1",
         "--seeds", "1", "2"],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=True,
    ).stdout
    rows = [line for line in out.splitlines() if line.startswith("| ")]
    models = [r for r in rows if r.startswith(("| 3-layer", "| BatchNorm", "| conv"))]
    seeds = [r.split("|")[1].strip() for r in rows if r.split("|")[1].strip().isdigit()]
    assert len(models) == 3 and seeds == ["1", "2"], out
    # Every cell of a data row holds a number: nothing crashed into a blank or a nan.
    for row in models:
        cells = [c.strip().rstrip("x") for c in row.strip("|").split("|")[1:]]
        assert all(float(c) >= 0 for c in cells), row
