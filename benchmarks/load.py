"""Concurrent API load while a run trains: reads and launches from many threads at once.

Starts the real server on a fresh database, launches a run that keeps training (so the
worker writes an epoch every few hundred milliseconds), then fires 200 reads and 50
launches from 50 threads, shuffled, all at once. Reports p50/p99 latency per kind and any
error; "nothing lost" means every launch came back 201 with a distinct id that the server
lists afterwards.

    .venv/bin/python -m benchmarks.load [--repeats 3] [--reads 200] [--launches 50]
"""

import argparse
import random
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from server import Server  # noqa: E402

# Keeps the worker writing metrics for the whole burst.
TRAINING = {"dataset": "digits", "model": {"kind": "mlp", "hidden": [32]},
            "optimizer": {"name": "adam", "lr": 0.01}, "epochs": 200, "batch_size": 16,
            "seed": 1, "name": "trains during the load"}
LAUNCH = {"dataset": "digits", "model": {"kind": "mlp", "hidden": [8]}, "epochs": 1}


@dataclass
class LoadResult:
    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    launched: list[int] = field(default_factory=list)


def _reads(training_id: int) -> list[tuple[str, str]]:
    return [("list", "/api/runs?limit=100"), ("run", f"/api/runs/{training_id}"),
            ("metrics", f"/api/runs/{training_id}/metrics?after=0"),
            ("health", "/api/health"), ("studies", "/api/studies")]


def burst(url: str, training_id: int, reads: int, launches: int,
          threads: int = 50) -> LoadResult:
    """Fire ``reads`` GETs and ``launches`` POSTs at once; collect latencies and errors."""
    kinds = _reads(training_id)
    jobs: list[tuple[str, str, str]] = [("GET", *kinds[i % len(kinds)]) for i in range(reads)]
    jobs += [("POST", "launch", "/api/runs")] * launches
    random.Random(0).shuffle(jobs)
    result, lock = LoadResult(), threading.Lock()
    start = threading.Barrier(threads)
    limits = httpx.Limits(max_connections=threads, max_keepalive_connections=threads)

    with httpx.Client(base_url=url, timeout=60, limits=limits) as client:
        def one(job: tuple[str, str, str]) -> None:
            method, kind, path = job
            t0 = time.perf_counter()
            try:
                resp = client.request(method, path, json=LAUNCH if method == "POST" else None)
                ok = resp.status_code == (201 if method == "POST" else 200)
                body: Any = resp.json() if ok else resp.text
            except httpx.HTTPError as exc:
                ok, body = False, repr(exc)
            elapsed = time.perf_counter() - t0
            with lock:
                result.latencies.setdefault(kind, []).append(elapsed)
                if not ok:
                    result.errors.append(f"{method} {path}: {body}"[:300])
                elif method == "POST":
                    result.launched.append(body["id"])

        def worker(chunk: list[tuple[str, str, str]]) -> None:
            start.wait()  # every thread starts together: the burst is concurrent
            for job in chunk:
                one(job)

        chunks = [jobs[i::threads] for i in range(threads)]
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(worker, chunks))
    return result


def percentiles(samples: list[float]) -> tuple[float, float]:
    if len(samples) < 2:
        return samples[0], samples[0]
    qs = statistics.quantiles(samples, n=100, method="inclusive")
    return qs[49], qs[98]


def start_training(server: Server) -> int:
    run_id = server.http.post("/api/runs", json=TRAINING).json()["id"]
    server.wait_run(run_id, lambda r: r["epochs_done"] >= 1)
    return run_id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--reads", type=int, default=200)
    parser.add_argument("--launches", type=int, default=50)
    args = parser.parse_args()
    for i in range(args.repeats):
        with tempfile.TemporaryDirectory() as tmp:
            server = Server(Path(tmp) / "experiments.db")
            try:
                training = start_training(server)
                before = server.run(training)["epochs_done"]
                t0 = time.perf_counter()
                res = burst(server.url, training, args.reads, args.launches)
                wall = time.perf_counter() - t0
                during = server.run(training)["epochs_done"] - before
                listed = server.http.get("/api/runs?limit=1000").json()["count"]
                locked = server.log().count("database is locked")
            finally:
                server.close()
        every = [s for v in res.latencies.values() for s in v]
        p50, p99 = percentiles(every)
        print(f"repeat {i + 1}: {len(every)} requests in {wall:.2f} s, "
              f"p50 {p50 * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms; errors {len(res.errors)}, "
              f"launched {len(set(res.launched))}/{args.launches}, listed {listed} runs, "
              f"'database is locked' {locked}; the worker wrote {during} epochs meanwhile")
        for kind, samples in sorted(res.latencies.items()):
            k50, k99 = percentiles(samples)
            print(f"    {kind:8s} n={len(samples):3d}  p50 {k50 * 1000:7.1f} ms  "
                  f"p99 {k99 * 1000:7.1f} ms")


if __name__ == "__main__":
    main()
