"""Alembic migrations of the Trainboard schema, run by ``backend.migrate.upgrade``."""
