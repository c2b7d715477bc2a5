"""Every kind of bad input is a clear 4xx naming the field, never a 500; odd but valid
input (unicode names) is kept exactly."""

from typing import Any

import pytest
from fastapi.testclient import TestClient

from utils import tiny_run


def _loc_msg(resp: Any) -> tuple[list[Any], str]:
    assert resp.status_code == 422, resp.text
    err = resp.json()["detail"][0]
    return err["loc"], err["msg"]


@pytest.mark.parametrize("body", [b"{", b'{"epochs": }', b"not json", b"[1, 2", b"\xff\xfe{"])
def test_malformed_body_is_a_4xx(client: TestClient, body: bytes) -> None:
    resp = client.post("/api/runs", content=body, headers={"content-type": "application/json"})
    assert resp.status_code in (400, 422), resp.text
    assert client.get("/api/runs").json()["count"] == 0


@pytest.mark.parametrize(
    ("overrides", "loc_tail"),
    [
        ({"epochs": "5"}, ["epochs"]),
        ({"epochs": 2.5}, ["epochs"]),
        ({"epochs": True}, ["epochs"]),
        ({"model": {"kind": "mlp", "dropout": False}}, ["dropout"]),
        ({"model": {"kind": "mlp", "hidden": "32"}}, ["hidden"]),
        ({"optimizer": {"name": "adam", "lr": "0.01"}}, ["lr"]),
        ({"seed": None}, ["seed"]),
        ({"name": 42}, ["name"]),
        ({"model": []}, ["model"]),
    ],
)
def test_wrong_types_are_422_naming_the_field(client: TestClient, overrides: dict[str, Any],
                                              loc_tail: list[Any]) -> None:
    loc, _ = _loc_msg(client.post("/api/runs", json=tiny_run(**overrides)))
    assert loc[-len(loc_tail):] == loc_tail, loc


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"epochs": 10**30}, "epochs"),
        ({"seed": 2**64}, "seed"),
        ({"batch_size": 10**12}, "batch_size"),
        ({"optimizer": {"name": "sgd", "lr": 1e308}}, "lr"),
        ({"model": {"kind": "mlp", "hidden": [10**9]}}, "model"),
        ({"model": {"kind": "mlp", "hidden": [4096] * 40}}, "model"),  # over max_layers
        ({"model": {"kind": "mlp", "hidden": [4000, 4000]}}, "model"),  # over max_params
    ],
)
def test_huge_numbers_are_422(client: TestClient, overrides: dict[str, Any], field: str) -> None:
    loc, msg = _loc_msg(client.post("/api/runs", json=tiny_run(**overrides)))
    assert field in loc, (loc, msg)


def test_nan_and_infinity_in_the_body_are_refused(client: TestClient) -> None:
    """Python's JSON parser accepts the non-standard NaN literal; the bounds must not."""
    for literal in ("NaN", "Infinity", "-Infinity"):
        body = f'{{"dataset": "digits", "optimizer": {{"lr": {literal}}}}}'
        resp = client.post("/api/runs", content=body,
                           headers={"content-type": "application/json"})
        assert resp.status_code == 422 and "lr" in resp.text, (literal, resp.text)


def test_huge_ids_are_4xx_not_a_database_error(client: TestClient) -> None:
    huge = 2**70
    for method, path in [("GET", f"/api/runs/{huge}"), ("GET", f"/api/runs/{huge}/metrics"),
                         ("POST", f"/api/runs/{huge}/cancel"), ("DELETE", f"/api/runs/{huge}"),
                         ("GET", f"/api/studies/{huge}"),
                         ("GET", f"/api/runs/1/metrics?after={huge}"),
                         ("GET", f"/api/runs?offset={huge}"),
                         ("GET", f"/api/runs?ids={'9' * 5000}")]:
        assert client.request(method, path).status_code in (404, 422), (method, path)


def test_unicode_names_round_trip(client: TestClient) -> None:
    name = "Ünïcødé 実験 🚀 \u202eltr"
    run = client.post("/api/runs", json=tiny_run(name=name)).json()
    assert client.get(f"/api/runs/{run['id']}").json()["name"] == name
    assert _loc_msg(client.post("/api/runs", json=tiny_run(name="x" * 201)))[0][-1] == "name"


def test_full_queue_is_429(client: TestClient, settings: Any) -> None:
    client.app.state.settings = settings.model_copy(update={"max_queued": 2})  # type: ignore[attr-defined]
    for _ in range(2):
        assert client.post("/api/runs", json=tiny_run()).status_code == 201
    resp = client.post("/api/runs", json=tiny_run())
    assert resp.status_code == 429 and "at most 2" in resp.json()["detail"]
    assert client.post("/api/studies", json={"preset": "conv"}).status_code == 429
    assert client.get("/api/runs").json()["count"] == 2


def test_unknown_query_parameter_is_422_naming_it(client: TestClient) -> None:
    loc, msg = _loc_msg(client.get("/api/runs", params={"statu": "queued"}))
    assert loc == ["query", "statu"] and "status" in msg
    assert client.get("/api/runs", params={"status": "queued", "limit": 5}).status_code == 200
