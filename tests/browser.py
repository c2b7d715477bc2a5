"""A real server process and Debian's Chromium, for the browser tests."""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

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
