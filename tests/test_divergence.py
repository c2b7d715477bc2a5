"""A run whose loss becomes NaN stops as 'diverged', its values served as valid JSON."""

import json
import os
from pathlib import Path

import torch
from fastapi.testclient import TestClient

from backend.config import Settings
from backend.training.checkpoint import read_checkpoint

from utils import TERMINAL, tiny_run, wait_for_status

# A deep purely linear net under SGD at lr 10 overflows to NaN within its first epoch.
DIVERGING = tiny_run(
    model={"kind": "layers", "layers": [{"type": "linear", "out_features": 64}] * 3
           + [{"type": "linear"}]},
    optimizer={"name": "sgd", "lr": 10.0}, epochs=5)


def test_diverging_run_stops_flagged_and_the_worker_carries_on(
    live_client: TestClient, settings: Settings
) -> None:
    bad = live_client.post("/api/runs", json=DIVERGING).json()
    good = live_client.post("/api/runs", json=tiny_run()).json()
    done = wait_for_status(live_client, bad["id"], TERMINAL)
    assert done["status"] == "diverged" and done["epochs_done"] == 1
    assert done["error"].startswith("diverged in epoch 1: train loss nan")

    resp = live_client.get(f"/api/runs/{bad['id']}/metrics")
    # Strict JSON: Python's parser would accept a bare NaN, so refuse it explicitly.
    body = json.loads(resp.text, parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))
    (epoch,) = body["data"]
    assert epoch["epoch"] == 1 and epoch["train_loss"] is None and epoch["test_loss"] is None
    assert epoch["nonfinite"] == {"train_loss": "nan", "test_loss": "nan"}
    assert 0.0 <= epoch["test_acc"] <= 1.0
    listed = live_client.get("/api/runs", params={"status": "diverged"}).json()
    assert [r["id"] for r in listed["data"]] == [bad["id"]]
    assert not (settings.checkpoints / f"run-{bad['id']}.pt").exists()

    after = wait_for_status(live_client, good["id"], TERMINAL)
    assert after["status"] == "completed"
    finite = live_client.get(f"/api/runs/{good['id']}/metrics").json()["data"]
    assert all(m["nonfinite"] == {} and m["train_loss"] > 0 for m in finite)


def test_planted_pickle_in_a_checkpoint_is_refused(tmp_path: Path) -> None:
    """Checkpoints load with weights_only=True: a pickle that runs code is not executed."""
    marker = tmp_path / "owned"

    class Payload:
        def __reduce__(self):  # noqa: ANN204
            return (os.system, (f"touch {marker}",))

    path = tmp_path / "run-1.pt"
    torch.save({"config": {}, "epoch": Payload()}, path)
    assert read_checkpoint(path, {}) is None
    assert not marker.exists()
    # The file is a real exploit: a full unpickle would have run it.
    torch.load(path, weights_only=False)
    assert marker.exists()
