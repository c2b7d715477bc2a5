"""Alembic's entry point: migrate the app's database (or the connection handed to us)."""

from alembic import context
from sqlalchemy import Connection, create_engine

from backend import models  # noqa: F401  (registers the tables on Base.metadata)
from backend.config import Settings
from backend.db import Base


def _run(connection: Connection) -> None:
    # Batch mode lets SQLite alter tables by copying them, which it cannot do in place.
    context.configure(connection=connection, target_metadata=Base.metadata,
                      render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def main() -> None:
    config = context.config
    # The app hands over its own connection; the `alembic` command line uses the settings.
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.get_main_option("sqlalchemy.url") or Settings().url
    engine = create_engine(url)
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


main()
