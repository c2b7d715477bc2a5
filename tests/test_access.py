"""Access: bearer token for changes (and optionally reads), CORS off by default, no static
path out of frontend/, loopback-only binding."""

import http.client
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from backend import healthcheck
from backend.config import Settings
from backend.main import create_app

from server import Server
from utils import tiny_run

TOKEN = "s3cret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def guarded(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings.model_copy(update={"token": SecretStr(TOKEN)}))) as c:
        yield c


def _assert_401(resp: object) -> None:
    assert resp.status_code == 401, resp.text  # type: ignore[attr-defined]
    assert resp.headers["www-authenticate"] == "Bearer"  # type: ignore[attr-defined]
    assert "Authorization: Bearer" in resp.json()["detail"]  # type: ignore[attr-defined]


def test_changes_need_the_token_reads_stay_open(guarded: TestClient) -> None:
    _assert_401(guarded.post("/api/runs", json=tiny_run()))
    _assert_401(guarded.post("/api/runs", json=tiny_run(),
                             headers={"Authorization": "Bearer wrong"}))
    _assert_401(guarded.post("/api/studies", json={"preset": "conv"}))
    assert guarded.get("/api/runs").json()["count"] == 0  # nothing was queued
    run = guarded.post("/api/runs", json=tiny_run(), headers=AUTH)
    assert run.status_code == 201
    rid = run.json()["id"]
    _assert_401(guarded.post(f"/api/runs/{rid}/cancel"))
    assert guarded.post(f"/api/runs/{rid}/cancel", headers=AUTH).status_code == 200
    _assert_401(guarded.delete(f"/api/runs/{rid}"))
    assert guarded.delete(f"/api/runs/{rid}", headers=AUTH).status_code == 204
    for path in ("/api/runs", "/api/health", "/api/presets", "/", "/vendor/plotly.min.js"):
        assert guarded.get(path).status_code == 200, path


def test_reads_can_be_closed_too(settings: Settings) -> None:
    closed = settings.model_copy(update={"token": SecretStr(TOKEN), "read_requires_token": True})
    with TestClient(create_app(closed)) as c:
        _assert_401(c.get("/api/runs"))
        assert c.get("/api/runs", headers=AUTH).status_code == 200
        # The page itself still loads, so it can ask for the token.
        assert c.get("/").status_code == 200


def test_no_token_configured_means_open(client: TestClient) -> None:
    assert client.post("/api/runs", json=tiny_run()).status_code == 201


def test_cors_is_off_unless_configured(client: TestClient, settings: Settings) -> None:
    origin = {"Origin": "https://evil.example"}
    assert "access-control-allow-origin" not in client.get("/api/runs", headers=origin).headers
    preflight = {**origin, "Access-Control-Request-Method": "POST"}
    assert "access-control-allow-origin" not in client.options("/api/runs",
                                                               headers=preflight).headers
    allowed = settings.model_copy(update={"cors_origins": ["https://lab.example"]})
    with TestClient(create_app(allowed)) as c:
        ok = c.get("/api/runs", headers={"Origin": "https://lab.example"})
        assert ok.headers["access-control-allow-origin"] == "https://lab.example"
        assert "access-control-allow-origin" not in c.get("/api/runs", headers=origin).headers


ESCAPES = [
    "/../pyproject.toml", "/..%2fpyproject.toml", "/%2e%2e/pyproject.toml",
    "/%2e%2e%2fpyproject.toml", "/%252e%252e%252fpyproject.toml", "/..\\pyproject.toml",
    "/js/../../pyproject.toml", "/js/%2e%2e/%2e%2e/pyproject.toml", "/./../backend/config.py",
    "//etc/passwd",
    "/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd", "/....//....//etc/passwd",
]


def _raw_get(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    """Send the path byte for byte, without the normalising an HTTP library would do."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.putrequest("GET", path, skip_accept_encoding=True)
    for k, v in (headers or {}).items():
        conn.putheader(k, v)
    conn.endheaders()
    resp = conn.getresponse()
    body = resp.read().decode(errors="replace")
    conn.close()
    return resp.status, body


def _outside_address() -> str | None:
    """This machine's address on its default route, if it has one besides loopback."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("10.255.255.255", 1))  # UDP: nothing is sent
            addr = s.getsockname()[0]
        except OSError:
            return None
    return None if addr.startswith("127.") else addr


def test_real_server_paths_token_and_binding(tmp_path: Path) -> None:
    server = Server(tmp_path / "experiments.db",
                    env={"TRAINBOARD_TOKEN": TOKEN, "TRAINBOARD_WORKER": "false",
                         "TRAINBOARD_READ_REQUIRES_TOKEN": "true"})
    try:
        secrets = ("[build-system]", "class Settings", "root:x:0:0")
        for path in ESCAPES:
            status, body = _raw_get(server.port, path)
            assert status in (400, 404), (path, status)
            assert not any(s in body for s in secrets), path
        assert _raw_get(server.port, "/js/api.js")[0] == 200
        # The token over real HTTP, in the environment variable the README documents.
        assert server.http.post("/api/runs", json=tiny_run()).status_code == 401
        assert server.http.post("/api/runs", json=tiny_run(), headers=AUTH).status_code == 201
        assert server.http.get("/api/runs").status_code == 401
        # The Docker health probe reads the same settings, token included.
        probe = Settings(port=server.port, token=SecretStr(TOKEN))
        assert healthcheck.check(probe)
        assert not healthcheck.check(Settings(port=server.port))
        # Bound to loopback only: the machine's other address does not answer.
        if (addr := _outside_address()) is not None:
            with pytest.raises(OSError), socket.create_connection((addr, server.port), 2):
                pass
    finally:
        server.close()
    assert Settings().host == "127.0.0.1"


def test_prediction_is_a_read(guarded: TestClient) -> None:
    """POST /api/predict changes nothing, so it stays open like the other reads."""
    resp = guarded.post("/api/predict", json={"run_ids": [999], "pixels": [0.0] * 64})
    assert resp.status_code == 422 and "does not exist" in resp.text
