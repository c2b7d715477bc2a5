"""Schema versioning: a database file made by an older version opens with its runs intact."""

import math
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from backend import migrate
from backend.config import Settings
from backend.db import Base, make_engine
from backend.main import create_app
from backend.training.trainer import EpochResult

HEAD = ScriptDirectory.from_config(migrate.alembic_config()).get_current_head()


def _first_schema_db(path: Path) -> None:
    """A database at the first revision holding one finished run, written with raw SQL."""
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine, migrate.FIRST_REVISION)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO studies (id, name, preset, created_at) "
                          "VALUES (1, 'old study', NULL, '2026-01-01 00:00:00')"))
        conn.execute(text(
            "INSERT INTO runs (id, study_id, name, status, dataset, config, param_count, epochs,"
            " epochs_done, device, train_size, test_size, error, cancel_requested, created_at,"
            " started_at, finished_at) VALUES (1, 1, 'old run', 'completed', 'digits', :cfg,"
            " 1210, 2, 2, 'cpu', 1437, 360, NULL, 0, '2026-01-01 00:00:00',"
            " '2026-01-01 00:00:01', '2026-01-01 00:00:05')"),
            {"cfg": '{"dataset": "digits", "epochs": 2, "seed": 1}'})
        for epoch, acc in ((1, 0.5), (2, 0.75)):
            conn.execute(text(
                "INSERT INTO epoch_metrics (run_id, epoch, train_loss, train_acc, test_loss,"
                " test_acc, seconds) VALUES (1, :e, 1.5, 0.4, 1.2, :acc, 0.1)"),
                {"e": epoch, "acc": acc})
    engine.dispose()


def test_fresh_database_matches_the_models(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    migrate.upgrade(engine)
    with engine.connect() as conn:
        # A column added to models.py without a migration shows up here.
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    assert migrate.current_revision(engine) == HEAD
    engine.dispose()


def test_database_from_first_schema_opens_with_runs_intact(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    _first_schema_db(db)
    settings = Settings(db=db, data_dir=tmp_path / "data", worker=False)
    with TestClient(create_app(settings)) as client:
        run = client.get("/api/runs/1").json()
        assert (run["name"], run["status"], run["epochs_done"]) == ("old run", "completed", 2)
        assert run["final_test_acc"] == 0.75 and run["study_id"] == 1
        # Columns added later read as empty on old rows.
        assert (run["tags"], run["notes"], run["has_weights"]) == ([], "", False)
        metrics = client.get("/api/runs/1/metrics").json()["data"]
        assert [m["epoch"] for m in metrics] == [1, 2]
        # New runs go in next to the old one.
        new = client.post("/api/runs", json={"dataset": "digits", "epochs": 1})
        assert new.status_code == 201 and new.json()["id"] == 2
        # Columns added by later revisions work on the upgraded file.
        assert metrics[0]["nonfinite"] == {}
        store = client.app.state.store  # type: ignore[attr-defined]
        store.record_epoch(2, EpochResult(1, math.nan, 0.1, math.inf, 0.1, 0.5))
        (flagged,) = client.get("/api/runs/2/metrics").json()["data"]
        assert flagged["nonfinite"] == {"train_loss": "nan", "test_loss": "inf"}
    assert migrate.current_revision(create_engine(f"sqlite:///{db}")) == HEAD


def test_database_made_before_migrations_is_adopted(tmp_path: Path) -> None:
    """Files created by ``create_all`` before Alembic have no version table: stamp, upgrade."""
    db = tmp_path / "unversioned.db"
    _first_schema_db(db)
    engine = create_engine(f"sqlite:///{db}")
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE alembic_version"))
    settings = Settings(db=db, data_dir=tmp_path / "data", worker=False)
    with TestClient(create_app(settings)) as client:
        assert client.get("/api/runs/1").json()["name"] == "old run"
    assert migrate.current_revision(engine) == HEAD
    engine.dispose()
