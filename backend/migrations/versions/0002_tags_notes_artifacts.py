"""Tags and notes on runs and studies; each completed run's evaluation and final weights.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Server defaults fill the existing rows, so older runs read as untagged.
    for table in ("studies", "runs"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("tags", sa.JSON(), server_default="[]",
                                          nullable=False))
            batch_op.add_column(sa.Column("notes", sa.Text(), server_default="",
                                          nullable=False))
    op.create_table(
        "run_evaluations",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("confusion", sa.JSON(), nullable=False),
        sa.Column("misclassified", sa.JSON(), nullable=False),
        sa.Column("test_size", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("run_id"),
    )
    op.create_table(
        "run_weights",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("run_id"),
    )


def downgrade() -> None:
    op.drop_table("run_weights")
    op.drop_table("run_evaluations")
    for table in ("runs", "studies"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("notes")
            batch_op.drop_column("tags")
