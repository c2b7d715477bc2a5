"""Database tables: studies, runs, one row of metrics per (run, epoch), and what a
completed run leaves behind (its test-split evaluation and its final weights)."""

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, LargeBinary, String, Text, UniqueConstraint
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
    # The loss became NaN or infinite; the epoch where it happened is the run's last.
    DIVERGED = "diverged"

    ACTIVE = (QUEUED, RUNNING)
    ALL = (QUEUED, RUNNING, COMPLETED, FAILED, CANCELLED, DIVERGED)


class Study(Base):
    __tablename__ = "studies"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    preset: Mapped[str | None] = mapped_column(String(50))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Labels and free text a person adds to find the study again.
    tags: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    notes: Mapped[str] = mapped_column(Text, default="", server_default="")

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
    # A line about work before the first epoch ("downloading dataset 40%"); None once training.
    progress_note: Mapped[str | None] = mapped_column(String(200))
    cancel_requested: Mapped[bool] = mapped_column(default=False)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    notes: Mapped[str] = mapped_column(Text, default="", server_default="")
    # How the engine trained it when that is worth knowing, e.g. fused with its seed
    # repeats in one batched pass, or why it could not be.
    engine_note: Mapped[str | None] = mapped_column(Text)
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
    evaluation: Mapped["RunEvaluation | None"] = relationship(
        cascade="all, delete-orphan", passive_deletes=True
    )
    weights: Mapped["RunWeights | None"] = relationship(
        cascade="all, delete-orphan", passive_deletes=True
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
    # Metrics that were NaN or infinite, e.g. {"train_loss": "nan"}; their columns hold
    # NULL, so no response ever carries a NaN that JSON cannot represent.
    nonfinite: Mapped[dict[str, str] | None] = mapped_column(JSON)

    run: Mapped[Run] = relationship(back_populates="metrics")


class RunEvaluation(Base):
    """The test-split confusion matrix and worst mistakes, computed once when a run completes."""

    __tablename__ = "run_evaluations"

    run_id: Mapped[int] = mapped_column(
        ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True
    )
    # confusion[true][predicted] = count of test samples.
    confusion: Mapped[list[list[int]]] = mapped_column(JSON)
    # [{"index", "true", "predicted", "probability"}], bounded, surest mistakes first.
    misclassified: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    test_size: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RunWeights(Base):
    """The final ``state_dict`` as written by ``torch.save``; read back with weights_only=True.

    Kept in the database rather than beside it so a run and its weights are deleted,
    copied and backed up together, whatever the database URL.
    """

    __tablename__ = "run_weights"

    run_id: Mapped[int] = mapped_column(
        ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True
    )
    data: Mapped[bytes] = mapped_column(LargeBinary)
    size: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
