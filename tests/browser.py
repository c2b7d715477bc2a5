"""A real server process and Debian's Chromium, for the browser tests."""

import math
import os
import random
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from backend.config import Settings
from backend.db import make_engine, make_session_factory
from backend.models import RunStatus
from backend.schemas import MLPSpec, OptimizerSpec, RunCreate
from backend.store import Store
from backend.training.architecture import parameter_count
from backend.training.trainer import EpochResult

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def server(db: Path, data_dir: Path, timeout: float = 60.0,
           extra_env: dict[str, str] | None = None) -> Iterator[str]:
    """``python -m backend`` on a free port over ``db``; yields its base URL."""
    port = free_port()
    # The developer's own TRAINBOARD_* settings (a token, another database) stay out.
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRAINBOARD_")
           and k not in ("DATABASE_URL",)}
    env["TRAINBOARD_DATA_DIR"] = str(data_dir)
    env.update(extra_env or {})
    log = (db.parent / "server.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "backend", "--host", "127.0.0.1", "--port", str(port),
         "--db", str(db)], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    try:
        while True:
            # Waiting for the port to answer is the condition itself, not a guessed delay.
            try:
                if httpx.get(f"{url}/api/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                log_text = (db.parent / "server.log").read_text()
                raise RuntimeError(f"server did not start: {log_text}")
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def seed_runs(db: Path, configs: int, seeds: int, epochs: int) -> list[int]:
    """Completed runs with plausible curves, written through the store as the worker
    would write them but without training: ``configs`` configurations x ``seeds`` seeds."""
    engine = make_engine(Settings(db=db).url)
    store = Store(engine, make_session_factory(engine))
    store.create_schema()
    rows = []
    for i in range(configs):
        model = MLPSpec(kind="mlp", hidden=[16 + 8 * (i % 8)] * (1 + i % 3))
        opt = OptimizerSpec(name=("sgd", "adam")[i % 2], lr=(0.01, 0.003, 0.001)[i % 3])
        for seed in range(seeds):
            cfg = RunCreate(name=f"seeded {i}", dataset="mnist-5k", model=model, optimizer=opt,
                            epochs=epochs, seed=seed)
            # Named as the API names seed repeats: the seed in the run's name, not the config's.
            rows.append((cfg, f"{cfg.name}, seed {seed}", parameter_count(model, (784,), 10)))
    store.create_runs(rows)
    rng = random.Random(0)
    ids = []
    while (claimed := store.claim_next("cpu")) is not None:
        run_id = claimed.run_id
        ids.append(run_id)
        store.set_split_sizes(run_id, 4000, 1000)
        rate, ceiling = rng.uniform(0.1, 0.4), rng.uniform(0.85, 0.97)
        for e in range(1, epochs + 1):
            acc = ceiling * (1 - math.exp(-rate * e)) + rng.gauss(0, 0.005)
            loss = 2.3 * math.exp(-rate * e) + 0.1 + rng.gauss(0, 0.01)
            store.record_epoch(run_id, EpochResult(e, loss, acc + 0.01, loss * 1.05, acc,
                                                   rng.uniform(0.2, 0.4)))
        store.finish(run_id, RunStatus.COMPLETED)
    engine.dispose()
    return ids
