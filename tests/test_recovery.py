"""Crash recovery for real: a server killed with SIGKILL, or stopped with SIGTERM, resumes
its run from the last checkpoint on the next start and ends exactly as if never stopped."""

import re
import sqlite3
from pathlib import Path
from typing import Any

import torch

from server import Server
from utils import TERMINAL, tiny_run

# Enough epochs that the run is still training when the test stops the server (the
# trainer got several times faster, and 12, then 40, epochs left too thin a margin).
EPOCHS = 100
# Dropout and Adam, so the resumed run also needs the global RNG and optimizer state back.
RUN = tiny_run(model={"kind": "mlp", "hidden": [32], "dropout": 0.2}, epochs=EPOCHS,
               batch_size=32, seed=3)
KEYS = ("epoch", "train_loss", "train_acc", "test_loss", "test_acc")


def _curve(server: Server, run_id: int) -> list[list[Any]]:
    data = server.http.get(f"/api/runs/{run_id}/metrics").json()["data"]
    return [[m[k] for k in KEYS] for m in data]


def _row(db: Path, run_id: int) -> tuple[str, int]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT status, epochs_done FROM runs WHERE id = ?",
                            (run_id,)).fetchone()


def _resume_and_compare(db: Path, run_id: int, servers: list[Server]) -> None:
    """Restart over ``db``: the run finishes, epoch for epoch equal to an uninterrupted twin."""
    again = Server(db)
    servers.append(again)
    twin = again.http.post("/api/runs", json=RUN).json()["id"]
    done = again.wait_run(run_id, lambda r: r["status"] in TERMINAL)
    assert done["status"] == "completed" and done["epochs_done"] == EPOCHS, done
    assert again.wait_run(twin, lambda r: r["status"] in TERMINAL)["status"] == "completed"
    resumed = _curve(again, run_id)
    assert [m[0] for m in resumed] == list(range(1, EPOCHS + 1))
    assert resumed == _curve(again, twin)
    # It continued from a checkpoint, not from scratch, and cleaned up after itself.
    start = int(re.search(rf"run {run_id} resumes after epoch (\d+)", again.log())[1])
    assert start >= 1
    assert not (db.parent / "checkpoints" / f"run-{run_id}.pt").exists()


def test_killed_server_resumes_run_from_last_epoch(tmp_path: Path,
                                                   servers: list[Server]) -> None:
    db = tmp_path / "experiments.db"
    first = Server(db)
    servers.append(first)
    run_id = first.http.post("/api/runs", json=RUN).json()["id"]
    first.wait_run(run_id, lambda r: r["epochs_done"] >= 2)
    first.kill()
    status, epochs_done = _row(db, run_id)
    assert status == "running" and 2 <= epochs_done < EPOCHS
    _resume_and_compare(db, run_id, servers)


def test_sigterm_stops_at_a_batch_checkpointed_and_resumes(tmp_path: Path,
                                                           servers: list[Server]) -> None:
    db = tmp_path / "experiments.db"
    first = Server(db)
    servers.append(first)
    run_id = first.http.post("/api/runs", json=RUN).json()["id"]
    first.wait_run(run_id, lambda r: r["epochs_done"] >= 2)
    seconds = first.terminate()
    # uvicorn re-raises the signal once its shutdown (and so the worker's) is complete.
    assert "Application shutdown complete" in first.log() and seconds < 10, first.log()
    status, epochs_done = _row(db, run_id)
    assert status == "running" and 2 <= epochs_done < EPOCHS
    # The checkpoint holds exactly the last recorded epoch: the partial one is dropped.
    state = torch.load(db.parent / "checkpoints" / f"run-{run_id}.pt", weights_only=True)
    assert state["epoch"] == epochs_done
    _resume_and_compare(db, run_id, servers)
