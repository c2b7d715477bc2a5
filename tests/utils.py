"""Helpers shared by the tests."""

import threading
from typing import Any

from fastapi.testclient import TestClient

from backend.models import RunStatus


def tiny_run(**overrides: Any) -> dict[str, Any]:
    """A run on the 8x8 digits that trains in well under a second."""
    body: dict[str, Any] = {
        "dataset": "digits",
        "model": {"kind": "mlp", "hidden": [16], "activation": "relu"},
        "optimizer": {"name": "adam", "lr": 0.01},
        "epochs": 2,
        "batch_size": 64,
        "seed": 1,
    }
    body.update(overrides)
    return body


def wait_for_status(client: TestClient, run_id: int, statuses: tuple[str, ...],
                    timeout: float = 120.0) -> dict[str, Any]:
    """Block until the worker moves the run to one of ``statuses``.

    Waits on the store's change notification rather than sleeping a guess.
    """
    store = client.app.state.store  # type: ignore[attr-defined]
    deadline = threading.Event()
    timer = threading.Timer(timeout, deadline.set)
    timer.start()
    try:
        while not deadline.is_set():
            seen = store.changed.version
            run = client.get(f"/api/runs/{run_id}").json()
            if run["status"] in statuses:
                return run
            store.changed.wait_for_change(seen, timeout=5.0)
    finally:
        timer.cancel()
    raise AssertionError(f"run {run_id} never reached {statuses}; last {run['status']}")


TERMINAL = (RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.CANCELLED, RunStatus.DIVERGED)
