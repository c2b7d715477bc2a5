"""Every read and write of runs, studies and metrics, each in its own short transaction.

Requests and the worker thread never share a session: each call here opens one,
commits (or rolls back) and closes it before returning plain schema objects.
"""

import json
import math
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Engine, String, cast, delete, func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from backend import migrate
from backend.models import (
    EpochMetric,
    Run,
    RunEvaluation,
    RunStatus,
    RunWeights,
    Study,
    utcnow,
)
from backend.schemas import (
    EpochMetrics,
    MetricsPublic,
    RunCreate,
    RunPublic,
    RunsPublic,
    RunUpdate,
    RunWithMetrics,
    StudiesPublic,
    StudyCreated,
    StudyDetail,
    StudyPublic,
    StudyUpdate,
    group_key,
)
from backend.training.evaluation import Evaluation
from backend.training.trainer import EpochResult


class Conflict(Exception):
    """The request is valid but the run's state does not allow it (HTTP 409)."""


def _finite(v: float | None) -> float | None:
    return v if v is not None and math.isfinite(v) else None


def _contains(text: str) -> str:
    """A LIKE pattern matching ``text`` literally anywhere ('!' escapes the wildcards)."""
    return "%" + text.replace("!", "!!").replace("%", "!%").replace("_", "!_") + "%"


def _study_public(st: Study) -> StudyPublic:
    return StudyPublic(id=st.id, name=st.name, preset=st.preset, created_at=st.created_at,
                       tags=st.tags or [], notes=st.notes or "", run_ids=[r.id for r in st.runs])


def _nonfinite(r: EpochResult) -> dict[str, str] | None:
    """The metrics that cannot be stored as numbers, named with what they were."""
    bad = {k: ("nan" if math.isnan(v) else "inf" if v > 0 else "-inf")
           for k in ("train_loss", "train_acc", "test_loss", "test_acc")
           if not math.isfinite(v := getattr(r, k))}
    return bad or None


@dataclass(frozen=True)
class Claim:
    """A run handed to the worker; ``resumed`` when a dead process left it running."""

    run_id: int
    config: RunCreate
    resumed: bool


RESUMED_NOTE = "resumed alone from its last checkpoint after an interruption"


def _apply(row: Run | Study, body: RunUpdate | StudyUpdate) -> None:
    """Set the fields the request gave; a field left out stays as it was."""
    for field, value in body.model_dump(exclude_unset=True, exclude_none=True).items():
        setattr(row, field, value)


class ChangeSignal:
    """A counter bumped on every worker-side write, so waiters need not poll blindly."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self.version = 0

    def bump(self) -> None:
        with self._cond:
            self.version += 1
            self._cond.notify_all()

    def wait_for_change(self, since: int, timeout: float) -> int:
        with self._cond:
            self._cond.wait_for(lambda: self.version != since, timeout)
            return self.version


class Store:
    def __init__(self, engine: Engine, sessions: sessionmaker) -> None:
        self.engine = engine
        self._sessions = sessions
        self.changed = ChangeSignal()

    def create_schema(self) -> None:
        """Create or migrate the tables (Alembic), so older database files keep their runs."""
        migrate.upgrade(self.engine)

    @contextmanager
    def _tx(self, notify: bool = False) -> Iterator[Session]:
        with self._sessions.begin() as session:
            yield session
        if notify:
            self.changed.bump()

    # --- shaping ------------------------------------------------------------

    def _public(self, s: Session, runs: Sequence[Run]) -> list[RunPublic]:
        """Runs with their final and best accuracy, in two queries for the whole page."""
        ids = [r.id for r in runs]
        best = dict(
            s.execute(
                select(EpochMetric.run_id, func.max(EpochMetric.test_acc))
                .where(EpochMetric.run_id.in_(ids))
                .group_by(EpochMetric.run_id)
            ).all()
        )
        last = {
            m.run_id: m
            for m in s.scalars(
                select(EpochMetric)
                .join(Run, Run.id == EpochMetric.run_id)
                .where(EpochMetric.run_id.in_(ids), EpochMetric.epoch == Run.epochs_done)
            )
        }
        weighted = set(s.scalars(select(RunWeights.run_id).where(RunWeights.run_id.in_(ids))))
        out = []
        for r in runs:
            pub = RunPublic.model_validate(r)
            pub.tags, pub.notes = r.tags or [], r.notes or ""
            pub.has_weights = r.id in weighted
            pub.best_test_acc = best.get(r.id)
            if (m := last.get(r.id)) is not None:
                pub.final_test_acc, pub.final_train_loss = m.test_acc, m.train_loss
            out.append(pub)
        return out

    def _with_metrics(self, s: Session, runs: Sequence[Run]) -> list[RunWithMetrics]:
        """Runs, in the order given, each with all its epochs: one metrics query for all."""
        rows = s.scalars(select(EpochMetric).where(EpochMetric.run_id.in_([r.id for r in runs]))
                         .order_by(EpochMetric.run_id, EpochMetric.epoch)).all()
        by_run: dict[int, list[EpochMetrics]] = {r.id: [] for r in runs}
        for m in rows:
            by_run[m.run_id].append(EpochMetrics.model_validate(m))
        return [RunWithMetrics(**pub.model_dump(), metrics=by_run[pub.id])
                for pub in self._public(s, runs)]

    # --- runs and studies from the API --------------------------------------

    def create_runs(
        self,
        runs: Sequence[tuple[RunCreate, str, int]],
        study_name: str | None = None,
        preset: str | None = None,
    ) -> tuple[list[RunPublic], StudyCreated | None]:
        """Queue runs given as (config, display name, parameter count), in a study if named."""
        with self._tx() as s:
            study = None
            if study_name is not None:
                study = Study(name=study_name, preset=preset)
                s.add(study)
            rows = [
                Run(
                    study=study,
                    name=name,
                    status=RunStatus.QUEUED,
                    dataset=cfg.dataset,
                    # repeats was spent on making one run per seed; not part of a run.
                    config=cfg.model_dump(mode="json", exclude={"repeats"}),
                    param_count=params,
                    epochs=cfg.epochs,
                )
                for cfg, name, params in runs
            ]
            s.add_all(rows)
            s.flush()
            public = self._public(s, rows)
            created = None
            if study is not None:
                created = StudyCreated(id=study.id, name=study.name, preset=study.preset,
                                       created_at=study.created_at, runs=public)
            return public, created

    def list_runs(
        self,
        status: str | None = None,
        study_id: int | None = None,
        limit: int = 100,
        offset: int = 0,
        dataset: str | None = None,
        tag: str | None = None,
        q: str | None = None,
        ids: Sequence[int] | None = None,
    ) -> RunsPublic:
        """One page of runs, newest first; ``count`` is the total that match the filters."""
        with self._tx() as s:
            query = select(Run)
            if status is not None:
                query = query.where(Run.status == status)
            if study_id is not None:
                query = query.where(Run.study_id == study_id)
            if dataset is not None:
                query = query.where(Run.dataset == dataset)
            if ids is not None:
                query = query.where(Run.id.in_(ids))
            if tag is not None:
                # Tags are a JSON list; the tag as JSON (quotes included) matches whole tags
                # only, with the same escaping the column was written with.
                query = query.where(cast(Run.tags, String).like(
                    _contains(json.dumps(tag)), escape="!"))
            if q:
                pattern = _contains(q.lower())
                query = query.where(or_(*(
                    func.lower(col).like(pattern, escape="!")
                    for col in (Run.name, cast(Run.config, String), Run.notes,
                                cast(Run.tags, String))
                )))
            count = s.scalar(select(func.count()).select_from(query.subquery())) or 0
            runs = s.scalars(query.order_by(Run.id.desc()).limit(limit).offset(offset)).all()
            return RunsPublic(data=self._public(s, runs), count=count)

    def update_run(self, run_id: int, body: RunUpdate) -> RunPublic | None:
        with self._tx() as s:
            run = s.get(Run, run_id)
            if run is None:
                return None
            _apply(run, body)
            s.flush()
            return self._public(s, [run])[0]

    def runs_with_metrics(self, run_ids: Sequence[int]) -> list[RunWithMetrics]:
        """Runs in the order asked, each with all its epochs; unknown ids are left out."""
        with self._tx() as s:
            runs = {r.id: r for r in s.scalars(select(Run).where(Run.id.in_(run_ids)))}
            return self._with_metrics(s, [runs[i] for i in dict.fromkeys(run_ids) if i in runs])

    # --- what a completed run leaves behind ---------------------------------

    def get_evaluation(self, run_id: int) -> Evaluation | None:
        with self._tx() as s:
            ev = s.get(RunEvaluation, run_id)
            if ev is None:
                return None
            return Evaluation(ev.confusion, ev.misclassified, ev.test_size)

    def get_weights(self, run_id: int) -> bytes | None:
        with self._tx() as s:
            return s.scalar(select(RunWeights.data).where(RunWeights.run_id == run_id))

    def weights_stamp(self, run_id: int) -> tuple[RunPublic, float] | None:
        """The run and when its weights were written (a cache key); None without weights."""
        with self._tx() as s:
            row = s.execute(select(Run, RunWeights.created_at)
                            .join(RunWeights, RunWeights.run_id == Run.id)
                            .where(Run.id == run_id)).first()
            if row is None:
                return None
            return self._public(s, [row[0]])[0], row[1].timestamp()

    def get_run(self, run_id: int) -> RunPublic | None:
        with self._tx() as s:
            run = s.get(Run, run_id)
            return self._public(s, [run])[0] if run else None

    def get_metrics(self, run_id: int, after: int = 0) -> MetricsPublic | None:
        with self._tx() as s:
            status = s.scalar(select(Run.status).where(Run.id == run_id))
            if status is None:
                return None
            rows = s.scalars(
                select(EpochMetric)
                .where(EpochMetric.run_id == run_id, EpochMetric.epoch > after)
                .order_by(EpochMetric.epoch)
            ).all()
            data = [EpochMetrics.model_validate(m) for m in rows]
            return MetricsPublic(run_id=run_id, status=status, data=data, count=len(data))

    def cancel(self, run_id: int) -> RunPublic | None:
        """Cancel a queued run at once; ask a running one to stop at its next batch."""
        with self._tx(notify=True) as s:
            run = s.get(Run, run_id)
            if run is None:
                return None
            if run.status == RunStatus.QUEUED:
                run.status, run.finished_at = RunStatus.CANCELLED, utcnow()
            elif run.status == RunStatus.RUNNING:
                run.cancel_requested = True
            else:
                raise Conflict(f"run {run_id} is already {run.status}")
            s.flush()
            return self._public(s, [run])[0]

    def delete_run(self, run_id: int) -> bool:
        with self._tx() as s:
            run = s.get(Run, run_id)
            if run is None:
                return False
            if run.status in RunStatus.ACTIVE:
                raise Conflict(f"run {run_id} is {run.status}; cancel it before deleting")
            s.delete(run)
            return True

    def list_studies(self, limit: int = 100, offset: int = 0) -> StudiesPublic:
        with self._tx() as s:
            count = s.scalar(select(func.count(Study.id))) or 0
            studies = s.scalars(
                select(Study).order_by(Study.id.desc()).limit(limit).offset(offset)
            ).all()
            return StudiesPublic(data=[_study_public(st) for st in studies], count=count)

    def update_study(self, study_id: int, body: StudyUpdate) -> StudyPublic | None:
        with self._tx() as s:
            study = s.get(Study, study_id)
            if study is None:
                return None
            _apply(study, body)
            s.flush()
            return _study_public(study)

    def get_study(self, study_id: int) -> StudyDetail | None:
        with self._tx() as s:
            study = s.get(Study, study_id)
            if study is None:
                return None
            runs = self._with_metrics(s, study.runs)
            return StudyDetail(id=study.id, name=study.name, preset=study.preset,
                               created_at=study.created_at, tags=study.tags or [],
                               notes=study.notes or "", runs=runs)

    def count_queued(self) -> int:
        with self._tx() as s:
            return s.scalar(select(func.count(Run.id)).where(Run.status == RunStatus.QUEUED)) or 0

    def running_id(self) -> int | None:
        with self._tx() as s:
            return s.scalar(select(Run.id).where(Run.status == RunStatus.RUNNING).limit(1))

    # --- the worker's side --------------------------------------------------

    def claim_next(self, device: str) -> Claim | None:
        """The next run to train: first one left running by a dead process (the worker is
        idle when it asks, so any run still marked running was interrupted), else the
        oldest queued run, which is marked running."""
        with self._tx(notify=True) as s:
            run = s.scalars(
                select(Run).where(Run.status.in_(RunStatus.ACTIVE))
                .order_by(Run.status != RunStatus.RUNNING, Run.id).limit(1)
            ).first()
            if run is None:
                return None
            resumed = run.status == RunStatus.RUNNING
            run.status, run.device = RunStatus.RUNNING, device
            if not resumed:
                run.started_at = utcnow()
            elif RESUMED_NOTE not in (run.engine_note or ""):
                # A member of a batched pass goes on alone: say so beside how it began.
                run.engine_note = "; ".join(filter(None, (run.engine_note, RESUMED_NOTE)))
            return Claim(run.id, RunCreate.model_validate(run.config), resumed)

    def interrupted_ids(self) -> list[int]:
        with self._tx() as s:
            return list(s.scalars(select(Run.id).where(Run.status == RunStatus.RUNNING)))

    def rewind(self, run_id: int, epoch: int) -> None:
        """Forget epochs after ``epoch``, the one a resumed run continues from, so that
        none is recorded twice."""
        with self._tx(notify=True) as s:
            s.execute(delete(EpochMetric).where(EpochMetric.run_id == run_id,
                                                EpochMetric.epoch > epoch))
            s.execute(update(Run).where(Run.id == run_id).values(epochs_done=epoch))

    def claim_repeats(self, run_id: int, device: str, max_runs: int, max_params: int,
                      blocker: Callable[[RunCreate], str | None]) -> list[Claim]:
        """The queued seed repeats of the just-claimed ``run_id``, marked running with it.

        Repeats are the fresh queued runs with its ``group_key``, oldest first, up to
        ``max_runs`` runs (with it) and ``max_params`` parameters in all. When ``blocker``
        names a reason they cannot be trained together, none is claimed and the reason is
        noted on all of them (they follow one after another).
        """
        with self._tx(notify=True) as s:
            first = s.get(Run, run_id)
            if first is None:
                return []
            key = group_key(first.config)
            queued = s.scalars(
                select(Run).where(Run.status == RunStatus.QUEUED, Run.epochs_done == 0)
                .order_by(Run.id)
            ).all()
            siblings = [r for r in queued if group_key(r.config) == key]
            if not siblings:
                return []
            reason = blocker(RunCreate.model_validate(first.config))
            if reason is not None:
                for r in (first, *siblings):
                    r.engine_note = f"seed repeats trained one after another: {reason}"
                return []
            room = max(1, min(max_runs, max_params // max(first.param_count, 1)))
            claimed = siblings[: room - 1]
            if not claimed:
                return []
            ids = ", ".join(str(r.id) for r in (first, *claimed))
            for r in (first, *claimed):
                r.engine_note = (f"trained with its seed repeats (runs {ids}) in one batched "
                                 "pass; seconds are those of the whole pass")
            for r in claimed:
                r.status, r.device, r.started_at = RunStatus.RUNNING, device, first.started_at
            return [Claim(r.id, RunCreate.model_validate(r.config), False) for r in claimed]

    def set_split_sizes(self, run_id: int, train_size: int, test_size: int) -> None:
        with self._tx(notify=True) as s:
            s.execute(update(Run).where(Run.id == run_id)
                      .values(train_size=train_size, test_size=test_size))

    def set_progress_note(self, run_id: int, note: str | None) -> None:
        with self._tx(notify=True) as s:
            s.execute(update(Run).where(Run.id == run_id).values(progress_note=note))

    def record_epoch(self, run_id: int, r: EpochResult) -> None:
        """One epoch's metrics and the run's progress, written together."""
        with self._tx(notify=True) as s:
            s.add(EpochMetric(
                run_id=run_id, epoch=r.epoch, train_loss=_finite(r.train_loss),
                train_acc=_finite(r.train_acc), test_loss=_finite(r.test_loss),
                test_acc=_finite(r.test_acc), seconds=r.seconds, nonfinite=_nonfinite(r),
            ))
            s.execute(update(Run).where(Run.id == run_id).values(epochs_done=r.epoch))

    def save_artifacts(self, run_id: int, evaluation: Evaluation, weights: bytes) -> None:
        """Store the run's evaluation and weights (again, if a restart retrained it)."""
        with self._tx() as s:
            s.merge(RunEvaluation(run_id=run_id, confusion=evaluation.confusion,
                                  misclassified=evaluation.misclassified,
                                  test_size=evaluation.test_size, created_at=utcnow()))
            s.merge(RunWeights(run_id=run_id, data=weights, size=len(weights),
                               created_at=utcnow()))

    def cancel_requested(self, run_id: int) -> bool:
        with self._tx() as s:
            return bool(s.scalar(select(Run.cancel_requested).where(Run.id == run_id)))

    def finish(self, run_id: int, status: str, error: str | None = None) -> None:
        with self._tx(notify=True) as s:
            s.execute(update(Run).where(Run.id == run_id)
                      .values(status=status, error=error, finished_at=utcnow(),
                              progress_note=None))
