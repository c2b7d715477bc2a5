"""The single background thread that takes queued runs from the database and trains them."""

import logging
import threading

import torch

from backend.config import Settings
from backend.models import RunStatus
from backend.runner import divergence_text, fuse_blocker, train_group, train_run
from backend.store import Claim, Store
from backend.training.checkpoint import checkpoint_path, remove_checkpoint
from backend.training.data import LoadContext
from backend.training.idx_datasets import DatasetUnavailable
from backend.training.threads import training_threads
from backend.training.trainer import EpochResult, Outcome, describe_device, resolve_device

log = logging.getLogger(__name__)

# How long the idle worker waits for a wake-up before looking at the queue anyway
# (covers runs queued by another process on the same database).
IDLE_POLL_S = 2.0


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
        # The runs training now (one, or the seed repeats of a fused pass), each with
        # the event that stops it at its next batch.
        self._active: dict[int, threading.Event] = {}
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
            for stop in self._active.values():
                stop.set()
        self._wake.set()
        self._thread.join(timeout)

    def notify(self) -> None:
        """A run was queued: look at the queue now rather than at the next poll."""
        self._wake.set()

    def request_cancel(self, run_id: int) -> None:
        """Stop this run (only this one, even inside a fused pass) at its next batch."""
        with self._lock:
            if run_id in self._active:
                self._active[run_id].set()

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
            self._execute([claim, *repeats])

    def _execute(self, claims: list[Claim]) -> None:
        """Train one run, or seed repeats in one pass, and settle each run's status."""
        stops = {c.run_id: threading.Event() for c in claims}
        with self._lock:
            self._active = stops
        # A shutdown or cancel that came while the runs were being claimed.
        for run_id, stop in stops.items():
            if self._shutdown.is_set() or self.store.cancel_requested(run_id):
                stop.set()
        try:
            if len(claims) == 1:
                (claim,) = claims
                results = [train_run(claim, self.store, self.device, stops[claim.run_id],
                                     self.checkpoints, self.data)]
            else:
                results = train_group(claims, self.store, self.device, stops,
                                      self.checkpoints, self.data)
        except Exception as exc:  # a bad run must not take the worker down
            if isinstance(exc, DatasetUnavailable):
                # Expected offline: the message says what to do, a traceback would bury it.
                log.error("runs %s failed: %s", list(stops), exc)
            else:
                log.exception("runs %s failed", list(stops))
            for run_id in stops:
                self._settle(run_id, RunStatus.FAILED, f"{type(exc).__name__}: {exc}")
            return
        finally:
            with self._lock:
                self._active = {}
        for run_id, (outcome, last) in zip(stops, results, strict=True):
            self._settle_outcome(run_id, outcome, last)

    def _settle_outcome(self, run_id: int, outcome: Outcome, last: EpochResult | None) -> None:
        if outcome == "stopped" and self._shutdown.is_set():
            return  # stays 'running' with its checkpoint; the next start resumes it
        if outcome == "completed":
            self._settle(run_id, RunStatus.COMPLETED)
        elif outcome == "diverged":
            log.warning("run %d %s", run_id, divergence_text(last))
            self._settle(run_id, RunStatus.DIVERGED, divergence_text(last))
        else:
            self._settle(run_id, RunStatus.CANCELLED)

    def _settle(self, run_id: int, status: str, error: str | None = None) -> None:
        self.store.finish(run_id, status, error)
        remove_checkpoint(checkpoint_path(self.checkpoints, run_id))
