"""A real Trainboard server in a subprocess, for tests that kill or signal it."""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(check: Callable[[], Any], timeout: float, what: str,
               interval: float = 0.05) -> Any:
    """Poll ``check`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class Server:
    """``python -m backend`` on a free port over ``db``; its log goes to a file."""

    def __init__(self, db: Path, env: dict[str, str] | None = None) -> None:
        # One torch thread: on a busy two-core machine a second intra-op thread makes
        # these tiny models' epochs ten times slower, not faster.
        self.db, self.port = db, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = db.with_suffix(f".{self.port}.log")
        full_env = {**os.environ, "TRAINBOARD_DATA_DIR": str(db.parent / "data"),
                    "TRAINBOARD_DEVICE": "cpu", "OMP_NUM_THREADS": "1", **(env or {})}
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "backend", "--port", str(self.port), "--db", str(db)],
                cwd=REPO, env=full_env, stdout=log, stderr=subprocess.STDOUT)
        self.http = httpx.Client(base_url=self.url, timeout=30)
        try:
            wait_until(self._ready, 60, f"server on port {self.port} to answer")
        except BaseException:
            self.close()  # no test gets to close a server it never received
            raise

    def _ready(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"server exited early:\n{self.log()}")
        try:
            # Any answer will do: with a token for reads too, health is a 401.
            return self.http.get("/api/health").status_code in (200, 401)
        except httpx.TransportError:
            return False

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def run(self, run_id: int) -> dict[str, Any]:
        return self.http.get(f"/api/runs/{run_id}").json()

    def wait_run(self, run_id: int, done: Callable[[dict[str, Any]], bool],
                 timeout: float = 120) -> dict[str, Any]:
        def check() -> dict[str, Any] | None:
            run = self.run(run_id)
            return run if done(run) else None

        return wait_until(check, timeout, f"run {run_id}")

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs at all."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)
        self.http.close()

    def terminate(self, timeout: float = 30) -> float:
        """SIGTERM; the seconds until the process exited."""
        t0 = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout)
        self.http.close()
        return time.monotonic() - t0

    def close(self) -> None:
        if self.proc.poll() is None:
            self.kill()
        self.http.close()
