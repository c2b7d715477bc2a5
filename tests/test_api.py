"""The REST API over a temp-file database, with the worker off so runs stay queued."""

from typing import Any

import pytest
from fastapi.testclient import TestClient

from utils import tiny_run


def _field_error(resp: Any) -> tuple[list[Any], str]:
    assert resp.status_code == 422, resp.text
    err = resp.json()["detail"][0]
    return err["loc"], err["msg"]


def test_health(client: TestClient) -> None:
    body = client.get("/api/health").json()
    assert body["status"] == "ok" and body["queued"] == 0


def test_create_run_returns_id_status_and_param_count(client: TestClient) -> None:
    resp = client.post("/api/runs", json=tiny_run())
    assert resp.status_code == 201
    run = resp.json()
    assert run["status"] == "queued" and run["param_count"] == 64 * 16 + 16 + 16 * 10 + 10
    assert run["name"] == "2-layer relu, Adam 0.01"
    assert client.get(f"/api/runs/{run['id']}").json()["id"] == run["id"]
    assert client.get("/api/health").json()["queued"] == 1


def test_config_round_trips_so_a_run_can_be_repeated(client: TestClient) -> None:
    run = client.post("/api/runs", json=tiny_run(name="first")).json()
    again = client.post("/api/runs", json=run["config"])
    assert again.status_code == 201 and again.json()["config"] == run["config"]


def test_runs_differing_only_by_seed_share_a_group_key(client: TestClient) -> None:
    a, b, c = (client.post("/api/runs", json=tiny_run(**kw)).json()
               for kw in ({"seed": 1, "name": "a"}, {"seed": 2}, {"seed": 1, "epochs": 3}))
    assert a["group_key"] == b["group_key"] != c["group_key"]


def test_list_filters_by_status_and_study(client: TestClient) -> None:
    a = client.post("/api/runs", json=tiny_run()).json()
    client.post("/api/runs", json=tiny_run())
    client.post(f"/api/runs/{a['id']}/cancel")
    assert client.get("/api/runs").json()["count"] == 2
    cancelled = client.get("/api/runs", params={"status": "cancelled"}).json()
    assert [r["id"] for r in cancelled["data"]] == [a["id"]]
    study = client.post("/api/studies", json={"preset": "conv", "epochs": 1}).json()
    in_study = client.get("/api/runs", params={"study_id": study["id"]}).json()
    assert in_study["count"] == 2
    assert client.get("/api/runs", params={"status": "bogus"}).status_code == 422


def test_cancel_queued_run(client: TestClient) -> None:
    run = client.post("/api/runs", json=tiny_run()).json()
    resp = client.post(f"/api/runs/{run['id']}/cancel")
    assert resp.status_code == 200 and resp.json()["status"] == "cancelled"
    # A second cancel is a conflict, not a silent success.
    assert client.post(f"/api/runs/{run['id']}/cancel").status_code == 409


def test_delete_finished_run_but_not_queued(client: TestClient) -> None:
    run = client.post("/api/runs", json=tiny_run()).json()
    assert client.delete(f"/api/runs/{run['id']}").status_code == 409
    client.post(f"/api/runs/{run['id']}/cancel")
    assert client.delete(f"/api/runs/{run['id']}").status_code == 204
    assert client.get(f"/api/runs/{run['id']}").status_code == 404


@pytest.mark.parametrize("path", ["/api/runs/999", "/api/runs/999/metrics", "/api/studies/999"])
def test_unknown_ids_are_404(client: TestClient, path: str) -> None:
    assert client.get(path).status_code == 404


def test_unknown_id_cancel_and_delete_are_404(client: TestClient) -> None:
    assert client.post("/api/runs/999/cancel").status_code == 404
    assert client.delete("/api/runs/999").status_code == 404


@pytest.mark.parametrize(
    ("overrides", "loc_tail", "reason"),
    [
        ({"optimizer": {"name": "adam", "lr": -0.1}}, ["optimizer", "lr"], "greater than 0"),
        ({"optimizer": {"name": "lbfgs"}}, ["optimizer", "name"], "sgd"),
        ({"epochs": 0}, ["epochs"], "greater than or equal to 1"),
        ({"epochs": 10_000}, ["epochs"], "at most 200 epochs"),
        ({"dataset": "cifar"}, ["dataset"], "mnist-5k"),
        # Paths are the request's own keys, without pydantic's union tags.
        ({"model": {"kind": "layers", "layers": [{"type": "attention"}]}},
         ["model", "layers", 0], "linear"),
        ({"model": {"kind": "layers", "layers": [
            {"type": "reshape", "shape": [1, 28, 28]},
            {"type": "conv2d", "out_channels": 4, "kernel_size": 0}]}},
         ["model", "layers", 1, "kernel_size"], "greater than or equal to 1"),
        ({"model": {"kind": "layers", "layers": [
            {"type": "conv2d", "out_channels": 4, "kernel_size": 3}]}},
         ["model", "layers", 0], "reshape"),
        ({"model": {"kind": "mlp", "hidden": [32], "activation": "swish"}},
         ["model", "activation"], "relu"),
        ({"batch_size": 0}, ["batch_size"], "greater than or equal to 1"),
        ({"surprise": 1}, ["surprise"], "Extra inputs"),
    ],
)
def test_bad_specs_are_422_naming_the_field(
    client: TestClient, overrides: dict[str, Any], loc_tail: list[Any], reason: str
) -> None:
    loc, msg = _field_error(client.post("/api/runs", json=tiny_run(**overrides)))
    assert loc[0] == "body" and loc[-len(loc_tail):] == loc_tail, loc
    assert reason in msg
    assert client.get("/api/runs").json()["count"] == 0


def test_presets_list_the_notebook_comparisons(client: TestClient) -> None:
    presets = {p["key"]: p for p in client.get("/api/presets").json()["data"]}
    assert {k: len(p["runs"]) for k, p in presets.items()} == {
        "activation": 4, "optimizer": 3, "batchnorm": 2, "conv": 2, "under-20k": 1}
    assert presets["under-20k"]["epochs"] == 25
    assert presets["under-20k"]["runs"][0]["optimizer"] == {
        "name": "adam", "lr": 0.0003, "momentum": 0.0, "nesterov": False, "weight_decay": 0.0}
    assert presets["optimizer"]["runs"][1]["optimizer"]["momentum"] == 0.99


def test_preset_study_with_overrides(client: TestClient) -> None:
    resp = client.post("/api/studies", json={"preset": "activation", "epochs": 2, "seed": 7})
    assert resp.status_code == 201
    study = resp.json()
    assert study["name"] == "Activation: sigmoid vs relu"
    assert [r["param_count"] for r in study["runs"]] == [25_450, 25_450, 26_506, 26_506]
    assert all(r["epochs"] == 2 and r["config"]["seed"] == 7 for r in study["runs"])
    assert all(r["status"] == "queued" and r["study_id"] == study["id"] for r in study["runs"])
    detail = client.get(f"/api/studies/{study['id']}").json()
    assert [r["name"] for r in detail["runs"]] == [
        "2-layer sigmoid, SGD 0.01", "2-layer relu, SGD 0.01",
        "3-layer sigmoid, SGD 0.01", "3-layer relu, SGD 0.01"]
    listed = client.get("/api/studies").json()
    assert listed["count"] == 1 and listed["data"][0]["run_ids"] == [r["id"] for r in study["runs"]]


def test_custom_study_of_runs(client: TestClient) -> None:
    resp = client.post("/api/studies", json={"name": "widths", "runs": [
        tiny_run(model={"kind": "mlp", "hidden": [w]}) for w in (4, 8, 16)]})
    assert resp.status_code == 201 and len(resp.json()["runs"]) == 3


@pytest.mark.parametrize(
    ("body", "loc", "reason"),
    [
        ({"preset": "nope"}, ["body", "preset"], "unknown preset"),
        ({}, ["body"], "either"),
        ({"preset": "conv", "runs": [tiny_run()]}, ["body"], "either"),
        # The preset's model is not in the request: the error names the override instead.
        ({"preset": "conv", "dataset": "digits"}, ["body", "dataset"],
         "preset run 'Conv net, Adam 0.01' cannot take this: cannot reshape [64]"),
        ({"preset": "conv", "epochs": 10_000}, ["body", "epochs"], "at most 200 epochs"),
        ({"name": "x", "runs": [tiny_run(), tiny_run(epochs=0)]}, ["body", "runs", 1, "epochs"],
         "greater than or equal to 1"),
    ],
)
def test_bad_studies_are_422(client: TestClient, body: dict[str, Any], loc: list[Any],
                             reason: str) -> None:
    got_loc, msg = _field_error(client.post("/api/studies", json=body))
    assert got_loc == loc and reason in msg
    assert client.get("/api/runs").json()["count"] == 0


def test_metrics_of_queued_run_are_empty(client: TestClient) -> None:
    run = client.post("/api/runs", json=tiny_run()).json()
    body = client.get(f"/api/runs/{run['id']}/metrics", params={"after": 0}).json()
    assert body == {"run_id": run["id"], "status": "queued", "data": [], "count": 0}
    assert client.get(f"/api/runs/{run['id']}/metrics", params={"after": -1}).status_code == 422


def test_dashboard_and_plotly_are_served_locally(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and "/vendor/plotly.min.js" in page.text
    assert "cdn" not in page.text.lower()
    js = client.get("/vendor/plotly.min.js")
    assert js.status_code == 200 and len(js.content) > 1_000_000
    assert client.get("/docs").status_code == 200
