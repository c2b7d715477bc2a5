"""File-backed datasets: found offline, downloaded once from a mirror, trained through the queue.

Every dataset here is a tiny MNIST-shaped set made by the test and registered as ``mnist``
with its own checksums; nothing touches the internet.
"""

from pathlib import Path

import numpy as np
import pytest
import torch
from fastapi.testclient import TestClient
from fileserver import closed_port_url, serve
from tinyidx import NAMES, make_tiny, plain, use_as_mnist

from backend.config import Settings
from backend.training import data
from backend.training.idx import write_idx
from backend.training.idx_datasets import DatasetUnavailable

from utils import TERMINAL, tiny_run, wait_for_status


@pytest.fixture
def tiny(monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201
    t = make_tiny()
    use_as_mnist(monkeypatch, t)
    return t


def _ctx(data_dir: Path, mirror: str, notes: list[str] | None = None) -> data.LoadContext:
    sink = notes.append if notes is not None else (lambda _n: None)
    return data.LoadContext(data_dir, {"mnist": [mirror]}, sink, timeout=5)


def test_local_files_gz_and_plain_are_used_without_download(tmp_path: Path, tiny) -> None:  # noqa: ANN001
    folder = tmp_path / "mnist"
    folder.mkdir()
    for i, (name, gz) in enumerate(tiny.gz.items()):
        # Half gzipped, half not, as an offline user might have them.
        if i % 2:
            (folder / name).write_bytes(gz)
        else:
            (folder / name.removesuffix(".gz")).write_bytes(plain(gz))
    ctx = _ctx(tmp_path, closed_port_url())
    official = data.load_split("mnist", "official", ctx)
    assert (len(official.y_train), len(official.y_test)) == (tiny.n_train, tiny.n_test)
    assert official.x_train.shape[1] == 784 and float(official.x_train.max()) <= 1.0
    assert official.y_test.tolist() == [i % 10 for i in range(tiny.n_test)]
    random = data.load_split("mnist", "80/20", ctx)
    total = tiny.n_train + tiny.n_test
    assert (len(random.y_train), len(random.y_test)) == (total * 4 // 5, total // 5)
    assert torch.bincount(random.y_test).tolist() == [total // 5 // 10] * 10


def test_files_of_the_wrong_shape_are_named(tmp_path: Path, tiny) -> None:  # noqa: ANN001
    folder = tmp_path / "mnist"
    folder.mkdir()
    for name, gz in tiny.gz.items():
        (folder / name).write_bytes(gz)
    write_idx(folder / "t10k-images-idx3-ubyte.gz", np.zeros((tiny.n_test, 20, 20), np.uint8),
              gz=True)
    with pytest.raises(DatasetUnavailable, match="t10k-images-idx3-ubyte.gz: expected 28x28"):
        data.load_split("mnist", "official", _ctx(tmp_path, closed_port_url()))


def test_download_reports_progress_and_is_cached(tmp_path: Path, tiny) -> None:  # noqa: ANN001
    notes: list[str] = []
    with serve({f"/m/{n}": b for n, b in tiny.gz.items()}) as srv:
        first = data.load_split("mnist", "official", _ctx(tmp_path, srv.url + "/m/", notes))
        assert sorted(p for p, _ in srv.requests) == sorted(f"/m/{n}.gz" for n in NAMES)
        data.clear_cache()  # a new process: the files on disk are the cache
        again = data.load_split("mnist", "official", _ctx(tmp_path, srv.url + "/m/"))
        assert len(srv.requests) == 4
    assert torch.equal(first.x_train, again.x_train)
    assert sorted(p.name for p in (tmp_path / "mnist").iterdir()) == sorted(tiny.gz)
    pcts = [int(n.removeprefix("downloading dataset ").removesuffix("%")) for n in notes]
    # One whole-percent note per change, rising to 100 (these files come in one chunk each).
    assert pcts == sorted(set(pcts)) and pcts[-1] == 100 and len(pcts) >= 2


def test_bad_mirror_file_fails_naming_the_folder_and_keeps_nothing(tmp_path: Path,
                                                                   tiny) -> None:  # noqa: ANN001
    files = {f"/{n}": b for n, b in tiny.gz.items()}
    files["/train-labels-idx1-ubyte.gz"] = b"\x1f\x8b tampered"
    with serve(files) as srv, pytest.raises(DatasetUnavailable) as err:
        data.load_split("mnist", "80/20", _ctx(tmp_path, srv.url))
    msg = str(err.value)
    assert "checksum mismatch" in msg and str(tmp_path / "mnist") in msg
    assert all(n in msg for n in tiny.gz)
    assert not (tmp_path / "mnist" / "train-labels-idx1-ubyte.gz").exists()
    assert not list((tmp_path / "mnist").glob("*.part"))


def test_official_split_is_refused_where_there_is_none(client: TestClient) -> None:
    resp = client.post("/api/runs", json=tiny_run(split="official"))
    assert resp.status_code == 422
    err = resp.json()["detail"][0]
    assert err["loc"] == ["body", "split"] and "'digits' has no 'official' split" in err["msg"]
    ok = client.post("/api/runs", json=tiny_run(dataset="mnist", split="official"))
    assert ok.status_code == 201 and ok.json()["config"]["split"] == "official"
    catalogue = {d["name"]: d for d in client.get("/api/datasets").json()["data"]}
    assert catalogue["mnist"]["splits"] == ["80/20", "official"]
    assert {"fashion-mnist", "kmnist"} <= set(catalogue)


def _live(settings: Settings, mirror: str) -> TestClient:
    from backend.main import create_app

    return TestClient(create_app(settings.model_copy(update={
        "worker": True, "dataset_mirrors": {"mnist": [mirror]}, "download_timeout_s": 5})))


def test_mnist_trains_through_the_queue_after_download(settings: Settings, tiny) -> None:  # noqa: ANN001
    with serve({f"/{n}": b for n, b in tiny.gz.items()}) as srv, _live(settings, srv.url) as c:
        store = c.app.state.store  # type: ignore[attr-defined]
        notes: list[str | None] = []
        record = store.set_progress_note
        store.set_progress_note = lambda run_id, note: (notes.append(note), record(run_id, note))
        run = c.post("/api/runs", json=tiny_run(
            dataset="mnist", split="official", epochs=3, batch_size=16,
            model={"kind": "mlp", "hidden": [32]})).json()
        done = wait_for_status(c, run["id"], TERMINAL)
        # The gallery of mistakes reads the same (official) test split from the data dir.
        ev = c.get(f"/api/runs/{run['id']}/evaluation").json()
    assert done["status"] == "completed", done["error"]
    assert ev["test_size"] == tiny.n_test and ev["image_shape"] == [28, 28]
    assert (done["train_size"], done["test_size"]) == (tiny.n_train, tiny.n_test)
    assert done["progress_note"] is None and done["final_test_acc"] > 0.5
    assert notes[0] == "preparing dataset" and "downloading dataset 100%" in notes
    assert notes[-1] is None


def test_offline_without_files_fails_the_run_with_what_to_do(settings: Settings,
                                                             tiny) -> None:  # noqa: ANN001
    with _live(settings, closed_port_url()) as c:
        run = c.post("/api/runs", json=tiny_run(dataset="mnist"))
        assert run.status_code == 201  # the API refuses nothing: the run fails when it starts
        failed = wait_for_status(c, run.json()["id"], TERMINAL)
        # The worker carries on with runs that need no download.
        other = c.post("/api/runs", json=tiny_run()).json()
        assert wait_for_status(c, other["id"], TERMINAL)["status"] == "completed"
    assert failed["status"] == "failed" and failed["progress_note"] is None
    err = failed["error"]
    assert str(settings.data_dir / "mnist") in err and "refused" in err.lower()
    assert all(n in err for n in tiny.gz) and "gzipped or not" in err
