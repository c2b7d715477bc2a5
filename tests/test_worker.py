"""Real training through the queue: the worker thread, the database and the API together."""

import pytest
from fastapi.testclient import TestClient

from backend.training import data

from utils import TERMINAL, tiny_run, wait_for_status


def test_study_trains_end_to_end_on_mnist(live_client: TestClient) -> None:
    """The activation preset, shortened, trains all four runs on real MNIST digits."""
    study = live_client.post("/api/studies", json={"preset": "activation", "epochs": 2}).json()
    for run in study["runs"]:
        done = wait_for_status(live_client, run["id"], TERMINAL)
        assert done["status"] == "completed", done["error"]
        assert done["epochs_done"] == 2 and done["device"] == "cpu"
        assert (done["train_size"], done["test_size"]) == (4000, 1000)
    detail = live_client.get(f"/api/studies/{study['id']}").json()
    for run in detail["runs"]:
        assert [m["epoch"] for m in run["metrics"]] == [1, 2]
        assert all(0.0 <= m["test_acc"] <= 1.0 and m["train_loss"] > 0 for m in run["metrics"])
        assert run["final_test_acc"] == run["metrics"][-1]["test_acc"]
    # relu learns faster than sigmoid in the 3-layer net, as in the notebook.
    accs = {r["name"]: r["final_test_acc"] for r in detail["runs"]}
    assert accs["3-layer relu, SGD 0.01"] > accs["3-layer sigmoid, SGD 0.01"]
    # Incremental reads return only newer epochs.
    newer = live_client.get(f"/api/runs/{study['runs'][0]['id']}/metrics",
                            params={"after": 1}).json()
    assert [m["epoch"] for m in newer["data"]] == [2]


def test_runs_are_trained_oldest_first_and_persist(live_client: TestClient, settings) -> None:  # noqa: ANN001
    ids = [live_client.post("/api/runs", json=tiny_run(seed=s)).json()["id"] for s in (1, 2)]
    finished = [wait_for_status(live_client, i, TERMINAL) for i in ids]
    assert finished[0]["started_at"] <= finished[1]["started_at"]
    # Everything is in the SQLite file, readable by a fresh app after a restart.
    from backend.main import create_app

    with TestClient(create_app(settings)) as again:
        assert [again.get(f"/api/runs/{i}").json()["epochs_done"] for i in ids] == [2, 2]
        assert again.get(f"/api/runs/{ids[0]}/metrics").json()["count"] == 2


def test_same_spec_and_seed_give_same_metrics_through_the_queue(live_client: TestClient) -> None:
    ids = [live_client.post("/api/runs", json=tiny_run(seed=5)).json()["id"] for _ in range(2)]
    for i in ids:
        wait_for_status(live_client, i, TERMINAL)
    a, b = (live_client.get(f"/api/runs/{i}/metrics").json()["data"] for i in ids)
    strip = ("train_loss", "train_acc", "test_loss", "test_acc")
    assert [[m[k] for k in strip] for m in a] == [[m[k] for k in strip] for m in b]


def test_cancel_running_run(live_client: TestClient) -> None:
    run = live_client.post("/api/runs", json=tiny_run(epochs=200, batch_size=1)).json()
    wait_for_status(live_client, run["id"], ("running",))
    resp = live_client.post(f"/api/runs/{run['id']}/cancel")
    # Asked, not yet done: it stops at its next batch.
    assert resp.status_code == 200 and resp.json()["cancel_requested"] is True
    done = wait_for_status(live_client, run["id"], TERMINAL)
    assert done["status"] == "cancelled" and done["epochs_done"] < 200
    # The worker is free again: the next run trains.
    nxt = live_client.post("/api/runs", json=tiny_run()).json()
    assert wait_for_status(live_client, nxt["id"], TERMINAL)["status"] == "completed"


def test_failing_run_does_not_stop_the_worker(
    live_client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_loader(_ctx: data.LoadContext) -> data.Arrays:
        raise OSError("disk went away")

    data.clear_cache()
    info = data.DATASETS["digits"]
    monkeypatch.setitem(data.DATASETS, "digits",
                        data.DatasetInfo(info.name, info.title, info.input_shape,
                                         info.num_classes, broken_loader))
    bad = live_client.post("/api/runs", json=tiny_run()).json()
    failed = wait_for_status(live_client, bad["id"], TERMINAL)
    assert failed["status"] == "failed" and "disk went away" in failed["error"]

    monkeypatch.setitem(data.DATASETS, "digits", info)
    data.clear_cache()
    good = live_client.post("/api/runs", json=tiny_run()).json()
    assert wait_for_status(live_client, good["id"], TERMINAL)["status"] == "completed"
