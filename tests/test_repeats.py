"""Seed repeats through the API and the worker: k runs, trained together when possible."""

import pytest
import torch
from fastapi.testclient import TestClient

from backend.schemas import RunCreate
from backend.training.architecture import build_model
from backend.training.data import load_split
from backend.training.optim import build_optimizer
from backend.training.trainer import EpochResult, fit

from utils import TERMINAL, tiny_run, wait_for_status

METRICS = ("train_loss", "train_acc", "test_loss", "test_acc")


def test_repeats_queue_one_run_per_seed(client: TestClient) -> None:
    resp = client.post("/api/runs", json=tiny_run(seed=7, repeats=3, name="probe"))
    assert resp.status_code == 201, resp.text
    first = resp.json()
    ids = first["repeat_ids"]
    assert len(ids) == 3 and first["id"] == ids[0]
    runs = [client.get(f"/api/runs/{i}").json() for i in ids]
    assert [r["config"]["seed"] for r in runs] == [7, 8, 9]
    assert [r["name"] for r in runs] == ["probe, seed 7", "probe, seed 8", "probe, seed 9"]
    # The config keeps the name as given, so the group's label carries no one seed.
    assert {r["config"]["name"] for r in runs} == {"probe"}
    unnamed = client.post("/api/runs", json=tiny_run(repeats=2)).json()
    assert client.get(f"/api/runs/{unnamed['repeat_ids'][1]}").json()["config"]["name"] is None
    assert len({r["group_key"] for r in runs}) == 1
    assert all("repeats" not in r["config"] and r["status"] == "queued" for r in runs)
    # A stored config posted back is one run again.
    again = client.post("/api/runs", json=runs[1]["config"]).json()
    assert again["repeat_ids"] == [again["id"]] and again["group_key"] == runs[0]["group_key"]


@pytest.mark.parametrize(("body", "field"), [
    (tiny_run(repeats=0), "repeats"),
    (tiny_run(repeats=51), "repeats"),
    (tiny_run(seed=2**31 - 2, repeats=3), "repeats"),
])
def test_bad_repeats_are_refused_naming_the_field(client: TestClient, body: dict,
                                                  field: str) -> None:
    resp = client.post("/api/runs", json=body)
    assert resp.status_code == 422
    assert any(err["loc"][-1] == field for err in resp.json()["detail"]), resp.text
    assert client.get("/api/runs").json()["count"] == 0


def test_study_repeats_every_run(client: TestClient) -> None:
    study = client.post("/api/studies",
                        json={"preset": "activation", "epochs": 1, "repeats": 2}).json()
    seeds = sorted((r["group_key"], r["config"]["seed"]) for r in study["runs"])
    assert len(seeds) == 8 and len({k for k, _ in seeds}) == 4
    assert [s for _, s in seeds] == [0, 1] * 4


def _alone(cfg: RunCreate) -> list[EpochResult]:
    """The run trained by itself, outside the worker."""
    split = load_split(cfg.dataset)
    torch.manual_seed(cfg.seed)
    model = build_model(cfg.model, (64,), 10)
    opt = build_optimizer(cfg.optimizer, model.parameters())

    class Rec:
        results: list[EpochResult] = []

        def on_epoch_end(self, r: EpochResult) -> None:
            self.results.append(r)

        def should_stop(self) -> bool:
            return False

    rec = Rec()
    assert "completed" == fit(model, opt, split, cfg.epochs, cfg.batch_size,
               torch.Generator().manual_seed(cfg.seed), rec)
    return rec.results


def test_worker_trains_repeats_together_like_alone(live_client: TestClient) -> None:
    body = tiny_run(seed=11, repeats=3, epochs=3)
    ids = live_client.post("/api/runs", json=body).json()["repeat_ids"]
    runs = [wait_for_status(live_client, i, TERMINAL) for i in ids]
    assert [r["status"] for r in runs] == ["completed"] * 3
    assert all("one batched pass" in r["engine_note"] for r in runs)
    assert runs[0]["started_at"] == runs[2]["started_at"]  # claimed together
    for run in runs:
        stored = live_client.get(f"/api/runs/{run['id']}/metrics").json()["data"]
        alone = _alone(RunCreate.model_validate(run["config"]))
        assert [m["epoch"] for m in stored] == [1, 2, 3]
        for m, r in zip(stored, alone, strict=True):
            for k in METRICS:
                assert m[k] == pytest.approx(getattr(r, k), abs=1e-5), k


def test_batchnorm_repeats_fall_back_and_say_so(live_client: TestClient) -> None:
    body = tiny_run(repeats=2, epochs=1,
                    model={"kind": "mlp", "hidden": [8], "batchnorm": True})
    ids = live_client.post("/api/runs", json=body).json()["repeat_ids"]
    runs = [wait_for_status(live_client, i, TERMINAL) for i in ids]
    assert [r["status"] for r in runs] == ["completed"] * 2
    assert all("one after another" in r["engine_note"] and "BatchNorm" in r["engine_note"]
               for r in runs)
    assert runs[0]["finished_at"] <= runs[1]["started_at"]


def test_cancelling_one_fused_run_stops_only_that_one(live_client: TestClient) -> None:
    body = tiny_run(repeats=3, epochs=30, batch_size=16)
    ids = live_client.post("/api/runs", json=body).json()["repeat_ids"]
    wait_for_status(live_client, ids[1], ("running",))
    assert live_client.post(f"/api/runs/{ids[1]}/cancel").status_code == 200
    runs = [wait_for_status(live_client, i, TERMINAL) for i in ids]
    assert [r["status"] for r in runs] == ["completed", "cancelled", "completed"]
    assert runs[1]["epochs_done"] < 30 and runs[0]["epochs_done"] == runs[2]["epochs_done"] == 30
    # The survivors are what they would be alone, untouched by the one that left.
    stored = live_client.get(f"/api/runs/{ids[2]}/metrics").json()["data"]
    alone = _alone(RunCreate.model_validate({**runs[2]["config"], "epochs": 3}))
    for m, r in zip(stored[:3], alone, strict=True):
        for k in METRICS:
            assert m[k] == pytest.approx(getattr(r, k), abs=1e-5), k
