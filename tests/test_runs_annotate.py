"""Tags and notes on runs and studies, and the server-side filters of the runs list."""

from typing import Any

from fastapi.testclient import TestClient

from utils import tiny_run


def _field_error(resp: Any) -> tuple[list[Any], str]:
    assert resp.status_code == 422, resp.text
    err = resp.json()["detail"][0]
    return err["loc"], err["msg"]


def test_tags_and_notes_on_a_run(client: TestClient) -> None:
    run = client.post("/api/runs", json=tiny_run()).json()
    assert run["tags"] == [] and run["notes"] == ""
    resp = client.patch(f"/api/runs/{run['id']}",
                        json={"tags": [" baseline ", "adam", "baseline"], "notes": "looks good"})
    assert resp.status_code == 200, resp.text
    assert resp.json()["tags"] == ["baseline", "adam"] and resp.json()["notes"] == "looks good"
    # Fields left out stay as they were.
    again = client.patch(f"/api/runs/{run['id']}", json={"name": "renamed"}).json()
    assert again["tags"] == ["baseline", "adam"] and again["name"] == "renamed"
    assert client.get(f"/api/runs/{run['id']}").json()["notes"] == "looks good"


def test_bad_tags_and_notes_are_422_naming_the_field(client: TestClient) -> None:
    run = client.post("/api/runs", json=tiny_run()).json()
    url = f"/api/runs/{run['id']}"
    loc, _ = _field_error(client.patch(url, json={"tags": ["x" * 41]}))
    assert loc[:2] == ["body", "tags"]
    loc, _ = _field_error(client.patch(url, json={"tags": ["a,b"]}))
    assert loc[:2] == ["body", "tags"]
    loc, _ = _field_error(client.patch(url, json={"tags": [f"t{i}" for i in range(21)]}))
    assert loc == ["body", "tags"]
    loc, _ = _field_error(client.patch(url, json={"notes": "n" * 10_001}))
    assert loc == ["body", "notes"]
    loc, _ = _field_error(client.patch(url, json={"colour": "red"}))
    assert loc == ["body", "colour"]
    assert client.patch("/api/runs/999", json={"notes": "x"}).status_code == 404


def test_tags_and_notes_on_a_study(client: TestClient) -> None:
    study = client.post("/api/studies", json={"preset": "conv", "epochs": 1}).json()
    resp = client.patch(f"/api/studies/{study['id']}", json={"tags": ["ünïcode ok"],
                                                             "notes": "conv wins"})
    assert resp.status_code == 200 and resp.json()["tags"] == ["ünïcode ok"]
    listed = client.get("/api/studies").json()["data"][0]
    assert listed["notes"] == "conv wins" and listed["run_ids"] == [r["id"] for r in study["runs"]]
    assert client.get(f"/api/studies/{study['id']}").json()["tags"] == ["ünïcode ok"]
    assert client.patch("/api/studies/999", json={"notes": "x"}).status_code == 404
    loc, _ = _field_error(client.patch(f"/api/studies/{study['id']}", json={"tags": "one"}))
    assert loc == ["body", "tags"]


def test_list_filters_by_dataset_tag_text_and_ids_with_total_count(client: TestClient) -> None:
    a = client.post("/api/runs", json=tiny_run(name="alpha_1")).json()
    b = client.post("/api/runs", json=tiny_run(optimizer={"name": "sgd", "lr": 0.1})).json()
    c = client.post("/api/runs", json=tiny_run(dataset="mnist-5k", name="100% mnist")).json()
    client.patch(f"/api/runs/{a['id']}", json={"tags": ["keep", "über"]})
    client.patch(f"/api/runs/{b['id']}", json={"tags": ["keeper"]})

    def ids(**params: Any) -> tuple[list[int], int]:
        body = client.get("/api/runs", params=params).json()
        return [r["id"] for r in body["data"]], body["count"]

    assert ids(dataset="digits") == ([b["id"], a["id"]], 2)
    # A tag matches whole tags only, unicode included.
    assert ids(tag="keep") == ([a["id"]], 1)
    assert ids(tag="über") == ([a["id"]], 1)
    # Free text searches the name and the config JSON, case-insensitively.
    assert ids(q="SGD") == ([b["id"]], 1)
    assert ids(q='"lr": 0.1') == ([b["id"]], 1)
    # LIKE wildcards in the text are literal characters.
    assert ids(q="100%") == ([c["id"]], 1)
    assert ids(q="alpha_") == ([a["id"]], 1)
    assert ids(q="a%1")[1] == 0
    # The page is limited but count stays the total.
    assert ids(limit=1) == ([c["id"]], 3)
    assert ids(limit=1, offset=1) == ([b["id"]], 3)
    assert ids(ids=f"{a['id']},{c['id']}") == ([c["id"], a["id"]], 2)
    loc, msg = _field_error(client.get("/api/runs", params={"ids": "1,x"}))
    assert loc == ["query", "ids"] and "'x'" in msg
    loc, _ = _field_error(client.get("/api/runs", params={"dataset": "cifar"}))
    assert loc == ["query", "dataset"]
    loc, _ = _field_error(client.get("/api/runs", params={"q": "x" * 201}))
    assert loc == ["query", "q"]
