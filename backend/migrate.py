"""Bring a database to the newest schema with Alembic; the app does this on every start."""

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, inspect

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# The schema as it was before migrations existed (created by ``create_all``).
FIRST_REVISION = "0001"


def alembic_config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate to ``revision`` in one transaction: a fresh file, an old one, or a current one."""
    with engine.begin() as conn:
        tables = set(inspect(conn).get_table_names())
        cfg = alembic_config(conn)
        if "runs" in tables and "alembic_version" not in tables:
            # Made by a version before migrations: its tables are the first revision's.
            command.stamp(cfg, FIRST_REVISION)
        command.upgrade(cfg, revision)


def current_revision(engine: Engine) -> str | None:
    from alembic.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
