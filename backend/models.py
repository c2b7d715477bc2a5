"""Database tables: studies, runs and one row of metrics per (run, epoch)."""

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.db import Base


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class RunStatus:
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    ACTIVE = (QUEUED, RUNNING)
    ALL = (QUEUED, RUNNING, COMPLETED, FAILED, CANCELLED)


class Study(Base):
    __tablename__ = "studies"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    preset: Mapped[str | None] = mapped_column(String(50))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    runs: Mapped[list["Run"]] = relationship(back_populates="study", order_by="Run.id")


class Run(Base):
    __tablename__ = "runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int | None] = mapped_column(
        ForeignKey("studies.id", ondelete="SET NULL"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default=RunStatus.QUEUED, index=True)
    dataset: Mapped[str] = mapped_column(String(50))
    # The validated RunCreate as JSON: posting it back repeats the run.
    config: Mapped[dict[str, Any]] = mapped_column(JSON)
    param_count: Mapped[int]
    epochs: Mapped[int]
    epochs_done: Mapped[int] = mapped_column(default=0)
    device: Mapped[str | None] = mapped_column(String(50))
    train_size: Mapped[int | None]
    test_size: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(Text)
    cancel_requested: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    study: Mapped[Study | None] = relationship(back_populates="runs")
    metrics: Mapped[list["EpochMetric"]] = relationship(
        back_populates="run",
        order_by="EpochMetric.epoch",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )


class EpochMetric(Base):
    __tablename__ = "epoch_metrics"
    __table_args__ = (UniqueConstraint("run_id", "epoch"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    epoch: Mapped[int]
    train_loss: Mapped[float | None]
    train_acc: Mapped[float | None]
    test_loss: Mapped[float | None]
    test_acc: Mapped[float | None]
    seconds: Mapped[float | None]

    run: Mapped[Run] = relationship(back_populates="metrics")
