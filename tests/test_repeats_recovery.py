"""A server killed during a batched pass of seed repeats resumes each run alone from its
own checkpoint, and ends where training that seed alone ends."""

import re
from pathlib import Path

import pytest

from server import Server
from utils import TERMINAL, tiny_run

EPOCHS = 100
RUN = tiny_run(epochs=EPOCHS, batch_size=32, seed=5)
KEYS = ("train_loss", "train_acc", "test_loss", "test_acc")


def test_killed_batched_pass_resumes_each_run_alone(tmp_path: Path,
                                                    servers: list[Server]) -> None:
    db = tmp_path / "experiments.db"
    first = Server(db)
    servers.append(first)
    ids = first.http.post("/api/runs", json={**RUN, "repeats": 2}).json()["repeat_ids"]
    first.wait_run(ids[1], lambda r: r["epochs_done"] >= 2)
    first.kill()

    again = Server(db)
    servers.append(again)
    for run_id in ids:
        done = again.wait_run(run_id, lambda r: r["status"] in TERMINAL)
        assert done["status"] == "completed" and done["epochs_done"] == EPOCHS, done
        start = int(re.search(rf"run {run_id} resumes after epoch (\d+)", again.log())[1])
        assert start >= 1  # from its checkpoint, not from scratch
        # The note says both how it began and how it went on.
        assert "batched pass" in done["engine_note"], done["engine_note"]
        assert done["engine_note"].endswith("resumed alone from its last checkpoint after an "
                                            "interruption"), done["engine_note"]
    # Seed 6 trained alone from the start, for comparison.
    twin = again.http.post("/api/runs", json={**RUN, "seed": 6}).json()["id"]
    assert again.wait_run(twin, lambda r: r["status"] in TERMINAL)["status"] == "completed"
    resumed, alone = (again.http.get(f"/api/runs/{i}/metrics").json()["data"]
                      for i in (ids[1], twin))
    assert [m["epoch"] for m in resumed] == list(range(1, EPOCHS + 1))
    for a, b in zip(resumed, alone, strict=True):
        for k in KEYS:
            assert a[k] == pytest.approx(b[k], abs=1e-4), (a["epoch"], k)
