from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from backend.config import Settings
from backend.main import create_app

from server import Server


@pytest.fixture
def servers() -> Iterator[list[Server]]:
    """Real server processes a test starts; each is stopped when the test ends."""
    started: list[Server] = []
    yield started
    for s in started:
        s.close()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(db=tmp_path / "experiments.db", data_dir=tmp_path / "data", worker=False)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    """The API over a fresh temp-file database, with no worker: runs stay queued."""
    with TestClient(create_app(settings)) as c:
        yield c


@pytest.fixture
def live_client(settings: Settings) -> Iterator[TestClient]:
    """The API with its training worker running."""
    with TestClient(create_app(settings.model_copy(update={"worker": True}))) as c:
        yield c
