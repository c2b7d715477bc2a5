"""The Docker image and compose files agree with the settings the app reads.

No Docker engine runs here: the compose files are validated by ``docker-compose config``
and the image's start command and health check are run as plain processes with the
image's environment.
"""

import os
import shutil
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
import yaml
from dockerfile_parse import DockerfileParser

from backend.config import REPO_ROOT, Settings
from backend.healthcheck import health_url

COMPOSE_FILES = ("docker-compose.yml", "docker-compose.cpu.yml")
SERVICE = "trainboard"


def _dockerfile() -> DockerfileParser:
    return DockerfileParser(path=str(REPO_ROOT / "Dockerfile"))


def _instruction(name: str) -> str:
    values = [i["value"] for i in _dockerfile().structure if i["instruction"] == name]
    assert len(values) == 1, f"expected one {name} in the Dockerfile, found {values}"
    return values[0]


def _exec_form(value: str) -> list[str]:
    return yaml.safe_load(value)  # a JSON array is YAML too


def _compose(name: str) -> dict[str, Any]:
    return yaml.safe_load((REPO_ROOT / name).read_text())


def _settings_from(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Settings:
    for key in list(os.environ):
        if key.startswith("TRAINBOARD_") or key == "DATABASE_URL":
            monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return Settings()


def _app_env(env: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in env.items() if k.startswith("TRAINBOARD_")}


@pytest.mark.parametrize("name", COMPOSE_FILES)
def test_compose_file_validates(name: str) -> None:
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.skip("docker-compose is not installed (make test installs Debian's package)")
    done = subprocess.run([binary, "-f", name, "config"], cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=60, env={**os.environ, "TRAINBOARD_DEVICE": ""})
    assert done.returncode == 0, done.stderr
    service = yaml.safe_load(done.stdout)["services"][SERVICE]
    assert service["environment"]["TRAINBOARD_DEVICE"] == "auto"
    devices = service.get("deploy", {}).get("resources", {}).get("reservations", {}).get(
        "devices")
    if name == "docker-compose.yml":
        assert devices == [{"driver": "nvidia", "count": 1, "capabilities": ["gpu"]}]
    else:
        assert devices is None


def test_cpu_compose_is_the_gpu_one_without_the_reservation() -> None:
    gpu, cpu = (_compose(n) for n in COMPOSE_FILES)
    assert list(gpu["services"]) == [SERVICE]  # one service
    gpu["services"][SERVICE].pop("deploy")
    assert cpu == gpu


def test_image_and_compose_agree_with_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    parser = _dockerfile()
    assert parser.baseimage == "python:3.11-slim"
    assert _instruction("USER") not in ("root", "0")
    image_env = _app_env(parser.envs)
    service = _compose("docker-compose.yml")["services"][SERVICE]
    compose_env = {k: str(v) for k, v in service["environment"].items()}

    # Every variable names a real setting: a typo would be silently ignored by the app.
    for key in {**image_env, **compose_env}:
        assert key.removeprefix("TRAINBOARD_").lower() in Settings.model_fields, key
    # Where both set a value, it is the same one.
    for key in image_env.keys() & compose_env.keys():
        assert compose_env[key] == image_env[key], key

    for env in (image_env, {**image_env, **compose_env, "TRAINBOARD_DEVICE": "auto"}):
        s = _settings_from(env, monkeypatch)
        assert s.host == "0.0.0.0" and s.port == 8000  # reachable from outside the container
        assert s.port == int(_instruction("EXPOSE"))
        assert health_url(s) == "http://127.0.0.1:8000/api/health"
        volumes = dict(reversed(v.split(":")[:2]) for v in service["volumes"])
        image_volumes = _exec_form(_instruction("VOLUME"))
        # The database file and the dataset cache both live in named volumes.
        for path in (s.db.parent, s.data_dir):
            assert str(path) in volumes and str(path) in image_volumes, path
            assert volumes[str(path)] in _compose("docker-compose.yml")["volumes"]
    assert service["ports"] == [f"{s.port}:{s.port}"]

    assert _exec_form(_instruction("CMD")) == ["python", "-m", "backend"]
    probe = _instruction("HEALTHCHECK")
    assert _exec_form(probe.split("CMD", 1)[1]) == ["python", "-m", "backend.healthcheck"]
    assert "curl" not in probe and "wget" not in probe


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_image_command_serves_and_its_health_check_sees_it(tmp_path: Path) -> None:
    """The image's CMD and HEALTHCHECK run with the image's environment, as in the container."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("TRAINBOARD_") and k != "DATABASE_URL"}
    # The image's settings, but a free port and temp paths: tests run side by side.
    env.update(_app_env(_dockerfile().envs))
    env.update(TRAINBOARD_PORT=str(_free_port()), TRAINBOARD_DB=str(tmp_path / "db" / "x.db"),
               TRAINBOARD_DATA_DIR=str(tmp_path / "data"), TRAINBOARD_DEVICE="auto")
    (tmp_path / "db").mkdir()
    cmd = _exec_form(_instruction("CMD"))
    probe = _exec_form(_instruction("HEALTHCHECK").split("CMD", 1)[1])
    python = [sys.executable]  # the image's `python`

    def health() -> subprocess.CompletedProcess[str]:
        return subprocess.run(python + probe[1:], env=env, cwd=REPO_ROOT, capture_output=True,
                              text=True, timeout=30)

    server = subprocess.Popen(python + cmd[1:], env=env, cwd=REPO_ROOT, text=True,
                              stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)
    log: list[str] = []
    started = threading.Event()

    def read() -> None:
        assert server.stderr is not None
        for line in server.stderr:
            log.append(line)
            if "Application startup complete" in line:
                started.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert started.wait(90), "".join(log)
        ok = health()
        assert ok.returncode == 0, ok.stderr
    finally:
        server.terminate()
        server.wait(30)
        reader.join(10)
    text = "".join(log)
    assert "worker training on CPU (" in text  # the device, and why not a GPU
    assert f"0.0.0.0:{env['TRAINBOARD_PORT']}" in text
    down = health()
    assert down.returncode == 1 and f"127.0.0.1:{env['TRAINBOARD_PORT']}/api/health" in down.stderr
