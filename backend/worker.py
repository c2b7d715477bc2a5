"""The single background thread that takes queued runs from the database and trains them."""

import logging
import threading
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from pathlib import Path

import torch

from backend.config import Settings
from backend.models import RunStatus
from backend.schemas import RunCreate
from backend.store import Claim, Store
from backend.training.architecture import build_model
from backend.training.batched import BatchedFit, batch_blocker
from backend.training.checkpoint import (
    checkpoint_path,
    read_checkpoint,
    remove_checkpoint,
    restore,
    save_checkpoint,
)
from backend.training.data import DATASETS, LoadContext, split_on
from backend.training.evaluation import evaluate_test_split, weights_to_bytes
from backend.training.idx_datasets import DatasetUnavailable
from backend.training.optim import build_optimizer
from backend.training.threads import training_threads
from backend.training.trainer import (
    EpochResult,
    Outcome,
    describe_device,
    fit,
    is_finite,
    resolve_device,
)

log = logging.getLogger(__name__)

# How long the idle worker waits for a wake-up before looking at the queue anyway
# (covers runs queued by another process on the same database).
IDLE_POLL_S = 2.0


class _RunHooks:
    """What the training loop may tell us (an epoch ended) and ask us (stop now?)."""

    def __init__(self, store: Store, run_id: int, stop: threading.Event,
                 checkpoint: Callable[[int], None]) -> None:
        self.store, self.run_id, self.stop, self.checkpoint = store, run_id, stop, checkpoint
        self.last: EpochResult | None = None

    def on_epoch_end(self, result: EpochResult) -> None:
        self.last = result
        # Metrics first, checkpoint second: a crash in between leaves the metrics one
        # epoch ahead, and the resumed run rewinds them (see Store.rewind) rather than
        # missing an epoch.
        self.store.record_epoch(self.run_id, result)
        if is_finite(result):
            self.checkpoint(result.epoch)
        # A cancel that raced the claim is still seen here, one epoch late at worst.
        if self.store.cancel_requested(self.run_id):
            self.stop.set()

    def should_stop(self) -> bool:
        return self.stop.is_set()


def train_run(claim: Claim, store: Store, device: torch.device, stop: threading.Event,
              checkpoints: Path, data: LoadContext | None = None,
              ) -> tuple[Outcome, EpochResult | None]:
    """Train one run to its end, resuming an interrupted one from its last checkpoint."""
    cfg, run_id = claim.config, claim.run_id
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
    path, config = checkpoint_path(checkpoints, run_id), cfg.model_dump(mode="json")
    start = 0
    if claim.resumed:
        if (state := read_checkpoint(path, config)) is not None:
            start = restore(state, model, optimizer, generator)
        store.rewind(run_id, start)
        log.info("run %d resumes after epoch %d", run_id, start)

    def checkpoint(epoch: int) -> None:
        save_checkpoint(path, epoch, config, model, optimizer, generator)

    hooks = _RunHooks(store, run_id, stop, checkpoint)
    outcome = fit(model, optimizer, split, cfg.epochs, cfg.batch_size, generator, hooks,
                  start_epoch=start)
    if outcome == "completed":
        # Computed once here and stored, so the run's detail view never re-evaluates.
        evaluation = evaluate_test_split(model, split.x_test, split.y_test, info.num_classes)
        store.save_artifacts(run_id, evaluation, weights_to_bytes(model))
    return outcome, hooks.last


def _divergence(result: EpochResult | None) -> str:
    if result is None:
        return "the loss became NaN or infinite"
    losses = ", ".join(f"{k.replace('_', ' ')} {v}"
                       for k, v in (("train_loss", result.train_loss),
                                    ("test_loss", result.test_loss)))
    return f"diverged in epoch {result.epoch}: {losses}"


def train_group(claims: list[Claim], store: Store, device: torch.device,
                stops: dict[int, threading.Event], checkpoints: Path,
                data: LoadContext | None = None,
                ) -> list[tuple[Outcome, EpochResult | None]]:
    """Seed repeats of one configuration in one batched pass; each run's outcome.

    Each run is checkpointed as if trained alone, so an interrupted one resumes by itself.
    """
    cfg, first = claims[0].config, claims[0].run_id
    info = DATASETS[cfg.dataset]
    ctx = replace(data or LoadContext(),
                  progress=lambda note: store.set_progress_note(first, note))
    store.set_progress_note(first, "preparing dataset")
    split = split_on(cfg.dataset, cfg.split, str(device), ctx)
    store.set_progress_note(first, None)
    models = []
    for c in claims:
        store.set_split_sizes(c.run_id, len(split.y_train), len(split.y_test))
        # Built one by one from its own seed: the initialisation it would have alone.
        torch.manual_seed(c.config.seed)
        models.append(build_model(c.config.model, info.input_shape, info.num_classes).to(device))
    generators = [torch.Generator().manual_seed(c.config.seed) for c in claims]

    def checkpoint(member: int, epoch: int) -> None:
        c = claims[member]
        model, optimizer = fitter.export(member)
        save_checkpoint(checkpoint_path(checkpoints, c.run_id), epoch,
                        c.config.model_dump(mode="json"), model, optimizer, generators[member])

    hooks = [_RunHooks(store, c.run_id, stops[c.run_id], partial(checkpoint, i))
             for i, c in enumerate(claims)]
    fitter = BatchedFit(models, cfg.optimizer, generators, hooks)
    outcomes = fitter.run(split, cfg.epochs, cfg.batch_size)
    for c, model, outcome in zip(claims, models, outcomes, strict=True):
        if outcome == "completed":
            evaluation = evaluate_test_split(model, split.x_test, split.y_test, info.num_classes)
            store.save_artifacts(c.run_id, evaluation, weights_to_bytes(model))
    return [(o, h.last) for o, h in zip(outcomes, hooks, strict=True)]


def fuse_blocker(cfg: RunCreate) -> str | None:
    """Why seed repeats of ``cfg`` must train one after another; None when they can fuse."""
    try:
        return batch_blocker(cfg.model)
    except Exception as exc:  # a surprise here must not kill the worker: train alone
        log.exception("could not decide whether to fuse %s", cfg)
        return f"the batched trainer could not take this model ({exc})"


class Worker:
    def __init__(self, store: Store, settings: Settings) -> None:
        self.store = store
        self.settings = settings
        self.device = resolve_device(settings.device)
        self.data = LoadContext.from_settings(settings)
        self.checkpoints = settings.checkpoints
        self._wake = threading.Event()
        self._shutdown = threading.Event()
        self._lock = threading.Lock()
        self._current: tuple[int, threading.Event] | None = None
        self._group: dict[int, threading.Event] = {}  # the runs of a fused pass
        self._default_threads = torch.get_num_threads()
        self._thread = threading.Thread(target=self._loop, name="trainboard-worker", daemon=True)

    def start(self) -> None:
        interrupted = self.store.interrupted_ids()
        if interrupted:
            log.warning("runs %s were interrupted; resuming them first", interrupted)
        log.info("worker training on %s", describe_device(self.device))
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop at the next batch boundary. The run stays 'running' with its checkpoint
        of the last completed epoch, and the next start resumes it from there."""
        self._shutdown.set()
        with self._lock:
            if self._current:
                self._current[1].set()
            for stop in self._group.values():
                stop.set()
        self._wake.set()
        self._thread.join(timeout)

    def notify(self) -> None:
        """A run was queued: look at the queue now rather than at the next poll."""
        self._wake.set()

    def request_cancel(self, run_id: int) -> None:
        with self._lock:
            if self._current and self._current[0] == run_id:
                self._current[1].set()
            if run_id in self._group:
                self._group[run_id].set()

    def _loop(self) -> None:
        while not self._shutdown.is_set():
            self._wake.clear()
            claim = self.store.claim_next(str(self.device))
            if claim is None:
                self._wake.wait(IDLE_POLL_S)
                continue
            repeats = [] if claim.resumed else self.store.claim_repeats(
                claim.run_id, str(self.device), self.settings.max_fused_runs,
                self.settings.max_fused_params, fuse_blocker)
            # Set from this thread: torch's OpenMP threads follow the calling thread.
            torch.set_num_threads(training_threads(self.settings.torch_threads,
                                                   self._default_threads))
            if repeats:
                self._execute_group([claim, *repeats])
            else:
                self._execute(claim)

    def _execute(self, claim: Claim) -> None:
        run_id, stop = claim.run_id, threading.Event()
        with self._lock:
            self._current = (run_id, stop)
        # A shutdown or cancel that came while the run was being claimed.
        if self._shutdown.is_set() or self.store.cancel_requested(run_id):
            stop.set()
        path = checkpoint_path(self.checkpoints, run_id)
        try:
            outcome, last = train_run(claim, self.store, self.device, stop,
                                      self.checkpoints, self.data)
        except DatasetUnavailable as exc:
            # Expected offline: the message says what to do, a traceback would bury it.
            log.error("run %d failed: %s", run_id, exc)
            self.store.finish(run_id, RunStatus.FAILED, f"{type(exc).__name__}: {exc}")
            remove_checkpoint(path)
            return
        except Exception as exc:  # a bad run must not take the worker down
            log.exception("run %d failed", run_id)
            self.store.finish(run_id, RunStatus.FAILED, f"{type(exc).__name__}: {exc}")
            remove_checkpoint(path)
            return
        finally:
            with self._lock:
                self._current = None
        if outcome == "stopped" and self._shutdown.is_set():
            return  # stays 'running' with its checkpoint; the next start resumes it
        if outcome == "completed":
            self.store.finish(run_id, RunStatus.COMPLETED)
        elif outcome == "diverged":
            log.warning("run %d %s", run_id, _divergence(last))
            self.store.finish(run_id, RunStatus.DIVERGED, _divergence(last))
        else:
            self.store.finish(run_id, RunStatus.CANCELLED)
        remove_checkpoint(path)

    def _execute_group(self, claims: list[Claim]) -> None:
        """Seed repeats in one pass; a cancel stops only its own run, the rest go on."""
        stops = {c.run_id: threading.Event() for c in claims}
        with self._lock:
            self._group = stops
        for run_id, stop in stops.items():
            if self._shutdown.is_set() or self.store.cancel_requested(run_id):
                stop.set()
        try:
            results = train_group(claims, self.store, self.device, stops, self.checkpoints,
                                  self.data)
        except Exception as exc:  # as for one run: fail the pass, keep the worker
            log.exception("fused runs %s failed", list(stops))
            for run_id in stops:
                self.store.finish(run_id, RunStatus.FAILED, f"{type(exc).__name__}: {exc}")
                remove_checkpoint(checkpoint_path(self.checkpoints, run_id))
            return
        finally:
            with self._lock:
                self._group = {}
        for run_id, (outcome, last) in zip(stops, results, strict=True):
            if outcome == "stopped" and self._shutdown.is_set():
                continue  # stays 'running'; the next start resumes it alone from its checkpoint
            if outcome == "completed":
                self.store.finish(run_id, RunStatus.COMPLETED)
            elif outcome == "diverged":
                self.store.finish(run_id, RunStatus.DIVERGED, _divergence(last))
            else:
                self.store.finish(run_id, RunStatus.CANCELLED)
            remove_checkpoint(checkpoint_path(self.checkpoints, run_id))
