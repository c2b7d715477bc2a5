"""The single background thread that takes queued runs from the database and trains them."""

import logging
import threading
from dataclasses import replace

import torch

from backend.config import Settings
from backend.models import RunStatus
from backend.schemas import RunCreate
from backend.store import Store
from backend.training.architecture import build_model
from backend.training.data import DATASETS, LoadContext, split_on
from backend.training.evaluation import evaluate_test_split, weights_to_bytes
from backend.training.idx_datasets import DatasetUnavailable
from backend.training.optim import build_optimizer
from backend.training.trainer import EpochResult, describe_device, fit, resolve_device

log = logging.getLogger(__name__)

# How long the idle worker waits for a wake-up before looking at the queue anyway
# (covers runs queued by another process on the same database).
IDLE_POLL_S = 2.0


class _RunHooks:
    """What the training loop may tell us (an epoch ended) and ask us (stop now?)."""

    def __init__(self, store: Store, run_id: int, stop: threading.Event) -> None:
        self.store, self.run_id, self.stop = store, run_id, stop

    def on_epoch_end(self, result: EpochResult) -> None:
        self.store.record_epoch(self.run_id, result)
        # A cancel that raced the claim is still seen here, one epoch late at worst.
        if self.store.cancel_requested(self.run_id):
            self.stop.set()

    def should_stop(self) -> bool:
        return self.stop.is_set()


def train_run(run_id: int, cfg: RunCreate, store: Store, device: torch.device,
              stop: threading.Event, data: LoadContext | None = None) -> bool:
    """Train one run to the end; False when it was stopped first."""
    info = DATASETS[cfg.dataset]
    # Download progress goes onto the run, where the dashboard shows it.
    ctx = replace(data or LoadContext(),
                  progress=lambda note: store.set_progress_note(run_id, note))
    store.set_progress_note(run_id, "preparing dataset")
    split = split_on(cfg.dataset, cfg.split, str(device), ctx)
    store.set_progress_note(run_id, None)
    store.set_split_sizes(run_id, len(split.y_train), len(split.y_test))
    torch.manual_seed(cfg.seed)
    model = build_model(cfg.model, info.input_shape, info.num_classes).to(device)
    optimizer = build_optimizer(cfg.optimizer, model.parameters())
    generator = torch.Generator().manual_seed(cfg.seed)
    hooks = _RunHooks(store, run_id, stop)
    if not fit(model, optimizer, split, cfg.epochs, cfg.batch_size, generator, hooks):
        return False
    # Computed once here and stored, so the run's detail view never re-evaluates.
    evaluation = evaluate_test_split(model, split.x_test, split.y_test, info.num_classes)
    store.save_artifacts(run_id, evaluation, weights_to_bytes(model))
    return True


class Worker:
    def __init__(self, store: Store, settings: Settings) -> None:
        self.store = store
        self.device = resolve_device(settings.device)
        self.data = LoadContext.from_settings(settings)
        self._wake = threading.Event()
        self._shutdown = threading.Event()
        self._lock = threading.Lock()
        self._current: tuple[int, threading.Event] | None = None
        self._thread = threading.Thread(target=self._loop, name="trainboard-worker", daemon=True)

    def start(self) -> None:
        requeued = self.store.requeue_interrupted()
        if requeued:
            log.warning("runs %s were interrupted; queued again", requeued)
        log.info("worker training on %s", describe_device(self.device))
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._shutdown.set()
        with self._lock:
            if self._current:
                self._current[1].set()
        self._wake.set()
        self._thread.join(timeout)

    def notify(self) -> None:
        """A run was queued: look at the queue now rather than at the next poll."""
        self._wake.set()

    def request_cancel(self, run_id: int) -> None:
        with self._lock:
            if self._current and self._current[0] == run_id:
                self._current[1].set()

    def _loop(self) -> None:
        while not self._shutdown.is_set():
            self._wake.clear()
            claimed = self.store.claim_next(str(self.device))
            if claimed is None:
                self._wake.wait(IDLE_POLL_S)
                continue
            self._execute(*claimed)

    def _execute(self, run_id: int, cfg: RunCreate) -> None:
        stop = threading.Event()
        with self._lock:
            self._current = (run_id, stop)
        if self.store.cancel_requested(run_id):
            stop.set()
        try:
            finished = train_run(run_id, cfg, self.store, self.device, stop, self.data)
        except DatasetUnavailable as exc:
            # Expected offline: the message says what to do, a traceback would bury it.
            log.error("run %d failed: %s", run_id, exc)
            self.store.finish(run_id, RunStatus.FAILED, f"{type(exc).__name__}: {exc}")
            return
        except Exception as exc:  # a bad run must not take the worker down
            log.exception("run %d failed", run_id)
            self.store.finish(run_id, RunStatus.FAILED, f"{type(exc).__name__}: {exc}")
            return
        finally:
            with self._lock:
                self._current = None
        if finished:
            self.store.finish(run_id, RunStatus.COMPLETED)
        elif not self._shutdown.is_set():
            self.store.finish(run_id, RunStatus.CANCELLED)
        # On shutdown the run stays 'running' and is picked up again at the next start.
