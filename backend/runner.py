"""How a claimed run, or a group of seed repeats, trains: data, model, checkpoints, artifacts.

The worker thread (worker.py) decides what to train; this module does the training and
reports every epoch to the store through ``_RunHooks``.
"""

import logging
import threading
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from pathlib import Path

import torch
from torch import nn

from backend.schemas import RunCreate
from backend.store import Claim, Store
from backend.training.architecture import build_model
from backend.training.batched import BatchedFit, batch_blocker
from backend.training.checkpoint import (
    checkpoint_path,
    read_checkpoint,
    restore,
    save_checkpoint,
)
from backend.training.data import DATASETS, LoadContext, Split, split_on
from backend.training.evaluation import evaluate_test_split, weights_to_bytes
from backend.training.optim import build_optimizer
from backend.training.trainer import (
    EpochResult,
    Outcome,
    fit,
    is_finite,
)

log = logging.getLogger(__name__)


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


def _prepare_split(claims: list[Claim], store: Store, device: torch.device,
                   data: LoadContext | None) -> Split:
    """The claimed runs' split on ``device``; download progress shows on the first run."""
    cfg, first = claims[0].config, claims[0].run_id
    ctx = replace(data or LoadContext(),
                  progress=lambda note: store.set_progress_note(first, note))
    store.set_progress_note(first, "preparing dataset")
    split = split_on(cfg.dataset, cfg.split, str(device), ctx)
    store.set_progress_note(first, None)
    for c in claims:
        store.set_split_sizes(c.run_id, len(split.y_train), len(split.y_test))
    return split


def _initial_model(cfg: RunCreate, device: torch.device) -> nn.Module:
    """The run's model, initialised from its own seed."""
    info = DATASETS[cfg.dataset]
    torch.manual_seed(cfg.seed)
    return build_model(cfg.model, info.input_shape, info.num_classes).to(device)


def _save_artifacts(store: Store, run_id: int, model: nn.Module, split: Split,
                    num_classes: int) -> None:
    # Computed once when the run completes and stored, so its detail view never re-evaluates.
    evaluation = evaluate_test_split(model, split.x_test, split.y_test, num_classes)
    store.save_artifacts(run_id, evaluation, weights_to_bytes(model))


def train_run(claim: Claim, store: Store, device: torch.device, stop: threading.Event,
              checkpoints: Path, data: LoadContext | None = None,
              ) -> tuple[Outcome, EpochResult | None]:
    """Train one run to its end, resuming an interrupted one from its last checkpoint."""
    cfg, run_id = claim.config, claim.run_id
    info = DATASETS[cfg.dataset]
    split = _prepare_split([claim], store, device, data)
    model = _initial_model(cfg, device)
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
        _save_artifacts(store, run_id, model, split, info.num_classes)
    return outcome, hooks.last


def divergence_text(result: EpochResult | None) -> str:
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
    cfg = claims[0].config
    info = DATASETS[cfg.dataset]
    split = _prepare_split(claims, store, device, data)
    # Built one by one from its own seed: the initialisation each would have alone.
    models = [_initial_model(c.config, device) for c in claims]
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
            _save_artifacts(store, c.run_id, model, split, info.num_classes)
    return [(o, h.last) for o, h in zip(outcomes, hooks, strict=True)]


def fuse_blocker(cfg: RunCreate) -> str | None:
    """Why seed repeats of ``cfg`` must train one after another; None when they can fuse."""
    try:
        return batch_blocker(cfg.model)
    except Exception as exc:  # a surprise here must not kill the worker: train alone
        log.exception("could not decide whether to fuse %s", cfg)
        return f"the batched trainer could not take this model ({exc})"
