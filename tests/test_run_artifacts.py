"""What a completed run keeps: evaluation, weights, answers on the digit pad, and export."""

import csv
import io
from typing import Any

import torch
from fastapi.testclient import TestClient

from backend.training.architecture import build_model
from backend.training.data import load_split
from backend.training.evaluation import MAX_MISCLASSIFIED

from utils import TERMINAL, tiny_run, wait_for_status


def _field_error(resp: Any) -> tuple[list[Any], str]:
    assert resp.status_code == 422, resp.text
    err = resp.json()["detail"][0]
    return err["loc"], err["msg"]


def test_completed_run_keeps_evaluation_weights_and_answers_the_pad(
    live_client: TestClient,
) -> None:
    c = live_client
    # A barely trained linear model makes plenty of mistakes to list.
    weak = c.post("/api/runs", json=tiny_run(model={"kind": "mlp", "hidden": []}, epochs=1,
                                             optimizer={"name": "sgd", "lr": 0.001})).json()
    good = c.post("/api/runs", json=tiny_run(epochs=3)).json()
    for run in (weak, good):
        done = wait_for_status(c, run["id"], TERMINAL)
        assert done["status"] == "completed", done["error"]
        assert done["has_weights"] is True

    ev = c.get(f"/api/runs/{good['id']}/evaluation").json()
    matrix = ev["confusion"]
    assert ev["test_size"] == 360 and ev["image_shape"] == [8, 8]
    assert sum(map(sum, matrix)) == 360 and len(matrix) == 10
    # The stored matrix agrees with the accuracy the last epoch recorded.
    final = c.get(f"/api/runs/{good['id']}").json()["final_test_acc"]
    assert abs(ev["accuracy"] - final) < 1e-9

    weak_ev = c.get(f"/api/runs/{weak['id']}/evaluation").json()
    mistakes = weak_ev["misclassified"]
    x_test, y_test = load_split("digits").x_test, load_split("digits").y_test
    wrong_count = 360 - sum(weak_ev["confusion"][i][i] for i in range(10))
    assert len(mistakes) == min(MAX_MISCLASSIFIED, wrong_count) > 0
    probs = [m["probability"] for m in mistakes]
    assert probs == sorted(probs, reverse=True)
    for m in mistakes[:5]:
        assert m["true"] != m["predicted"] and m["true"] == int(y_test[m["index"]])
        assert len(m["pixels"]) == 64
        assert m["pixels"] == (x_test[m["index"]] * 255).round().int().tolist()

    # The weights download loads with weights_only=True into the run's model.
    resp = c.get(f"/api/runs/{good['id']}/weights")
    assert resp.status_code == 200 and "attachment" in resp.headers["content-disposition"]
    state = torch.load(io.BytesIO(resp.content), weights_only=True)
    model = build_model(build_spec(good), (64,), 10)
    model.load_state_dict(state)
    model.eval()
    with torch.no_grad():
        expected = torch.softmax(model(x_test[:1]), 1)[0].tolist()

    # The pad's answer is that model's answer, for each run asked, in order.
    pixels = x_test[0].tolist()
    resp = c.post("/api/predict", json={"run_ids": [good["id"], weak["id"]], "pixels": pixels})
    assert resp.status_code == 200, resp.text
    answers = resp.json()["data"]
    assert [a["run_id"] for a in answers] == [good["id"], weak["id"]]
    assert all(abs(a - b) < 1e-5 for a, b in zip(answers[0]["probabilities"], expected,
                                                 strict=True))
    assert answers[0]["predicted"] == max(range(10), key=expected.__getitem__)
    assert abs(sum(answers[1]["probabilities"]) - 1) < 1e-4
    # Asked again, the model comes from the cache.
    models = c.app.state.models  # type: ignore[attr-defined]
    cached = len(models)
    c.post("/api/predict", json={"run_ids": [good["id"]], "pixels": pixels})
    assert len(models) == cached == 2

    # Refusals name the field and the reason.
    loc, msg = _field_error(c.post("/api/predict", json={"run_ids": [good["id"]],
                                                         "pixels": [0.0] * 784}))
    assert loc == ["body", "pixels"] and "64 pixels" in msg
    loc, msg = _field_error(c.post("/api/predict", json={"run_ids": [9999], "pixels": pixels}))
    assert loc == ["body", "run_ids", 0] and "does not exist" in msg
    resp = c.post("/api/predict", json={"run_ids": [good["id"]], "pixels": [2.0] * 64})
    loc, msg = _field_error(resp)
    # One error for the image, not one per pixel.
    assert loc == ["body", "pixels"] and "64 do not, the first at index 0" in msg
    assert len(resp.json()["detail"]) == 1

    # Export: every epoch of both runs, as CSV and as JSON.
    resp = c.get("/api/export/metrics", params={"run_ids": f"{good['id']},{weak['id']}"})
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(resp.text)))
    assert [(int(r["run_id"]), int(r["epoch"])) for r in rows] == [
        (good["id"], 1), (good["id"], 2), (good["id"], 3), (weak["id"], 1)]
    assert float(rows[2]["test_acc"]) == final
    as_json = c.get("/api/export/metrics", params={"run_ids": str(good["id"]),
                                                   "format": "json"}).json()
    assert as_json[0]["config"] == good["config"] and len(as_json[0]["metrics"]) == 3
    # The exported config queues the same run again ("clone run").
    clone = c.post("/api/runs", json=as_json[0]["config"])
    assert clone.status_code == 201 and clone.json()["group_key"] == good["group_key"]
    c.post(f"/api/runs/{clone.json()['id']}/cancel")
    loc, msg = _field_error(c.get("/api/export/metrics", params={"run_ids": "1,9999"}))
    assert loc == ["query", "run_ids"] and "9999" in msg
    loc, _ = _field_error(c.get("/api/export/metrics", params={"run_ids": "1",
                                                               "format": "xml"}))
    assert loc == ["query", "format"]

    # Deleting a run deletes what it kept.
    assert c.delete(f"/api/runs/{weak['id']}").status_code == 204
    assert c.get(f"/api/runs/{weak['id']}/evaluation").status_code == 404


def test_unfinished_run_has_no_evaluation_weights_or_answers(client: TestClient) -> None:
    run = client.post("/api/runs", json=tiny_run()).json()
    assert run["has_weights"] is False
    resp = client.get(f"/api/runs/{run['id']}/evaluation")
    assert resp.status_code == 404 and "queued" in resp.json()["detail"]
    assert client.get(f"/api/runs/{run['id']}/weights").status_code == 404
    assert client.get("/api/runs/999/weights").status_code == 404
    loc, msg = _field_error(client.post("/api/predict", json={"run_ids": [run["id"]],
                                                              "pixels": [0.0] * 64}))
    assert loc == ["body", "run_ids", 0] and "no stored weights" in msg
    loc, _ = _field_error(client.post("/api/predict", json={"run_ids": [], "pixels": [0.0]}))
    assert loc == ["body", "run_ids"]


def build_spec(run: dict[str, Any]) -> Any:
    from backend.schemas import RunCreate

    return RunCreate.model_validate(run["config"]).model
