"""The training loop: the notebook's semantics, without its per-sample Python.

The split stays as tensors on the run's device; each epoch slices a fresh permutation
into batches, accumulates the loss on the device and reads it back once per epoch.
Progress goes out through ``Hooks.on_epoch_end``; cancellation comes in through
``Hooks.should_stop``, asked before every batch.
"""

import logging
import math
import time
from dataclasses import dataclass
from typing import Literal, Protocol

import torch
import torch.nn.functional as F
from torch import nn

from backend.training.data import Split

log = logging.getLogger(__name__)

EVAL_BATCH = 2048

# How ``fit`` ended: all epochs trained, asked to stop, or a loss became NaN or infinite.
Outcome = Literal["completed", "stopped", "diverged"]


@dataclass(frozen=True)
class EpochResult:
    epoch: int
    train_loss: float
    train_acc: float
    test_loss: float
    test_acc: float
    seconds: float


class Hooks(Protocol):
    def on_epoch_end(self, result: EpochResult) -> None: ...

    def should_stop(self) -> bool: ...


def resolve_device(setting: str) -> torch.device:
    if setting == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(setting)


def describe_device(device: torch.device) -> str:
    """The training device for the start-up log line, and on CPU why there is no GPU."""
    if device.type == "cuda":
        if not torch.cuda.is_available():
            return (f"{device}, but CUDA is not available: runs will fail"
                    " (use TRAINBOARD_DEVICE=auto)")
        return f"{device} ({torch.cuda.get_device_name(device)}, CUDA {torch.version.cuda})"
    if device.type != "cpu":
        return str(device)
    if torch.version.cuda is None:
        return "CPU (this torch build has no CUDA support)"
    if not torch.cuda.is_available():
        return f"CPU (torch {torch.__version__} has CUDA {torch.version.cuda} but sees no GPU)"
    return "CPU (TRAINBOARD_DEVICE=cpu; a GPU is available)"


def train_one_epoch(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    x: torch.Tensor,
    y: torch.Tensor,
    batch_size: int,
    generator: torch.Generator,
    hooks: Hooks,
) -> tuple[float, float] | None:
    """Mean batch loss and accuracy over one shuffled pass; None when stopped midway."""
    model.train()
    n = len(y)
    perm = torch.randperm(n, generator=generator).to(x.device, non_blocking=True)
    loss_sum = torch.zeros((), device=x.device)
    # Predictions land in one buffer and are compared with the labels once per epoch:
    # two small operations per batch fewer than counting hits batch by batch.
    pred = torch.empty(n, dtype=torch.long, device=x.device)
    batches = 0
    for start in range(0, n, batch_size):
        if hooks.should_stop():
            return None
        idx = perm[start : start + batch_size]
        if len(idx) == 1 and batches > 0:
            break  # a batch of one cannot be batch-normalised; like drop_last for that case
        # Gathering a batch costs less than permuting the whole split up front, which
        # copies every sample once per epoch (measured slower at 56,000 digits).
        xb, yb = x.index_select(0, idx), y.index_select(0, idx)
        out = model(xb)
        loss = F.cross_entropy(out, yb)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        loss_sum += loss.detach()
        torch.argmax(out.detach(), 1, out=pred[start : start + len(idx)])
        batches += 1
    seen = min(n, batches * batch_size)
    correct = (pred[:seen] == y.index_select(0, perm[:seen])).sum()
    # One host sync per epoch, not one per batch as in the notebook.
    return loss_sum.item() / batches, correct.item() / n


@torch.inference_mode()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """Mean cross-entropy and accuracy over a whole split, in eval mode."""
    model.eval()
    loss_sum = torch.zeros((), device=x.device)
    correct = torch.zeros((), device=x.device, dtype=torch.long)
    for start in range(0, len(y), EVAL_BATCH):
        out = model(x[start : start + EVAL_BATCH])
        yb = y[start : start + EVAL_BATCH]
        loss_sum += F.cross_entropy(out, yb, reduction="sum")
        correct += (out.argmax(1) == yb).sum()
    model.train()
    return loss_sum.item() / len(y), correct.item() / len(y)


def fit(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    split: Split,
    epochs: int,
    batch_size: int,
    generator: torch.Generator,
    hooks: Hooks,
    start_epoch: int = 0,
) -> Outcome:
    """Train epochs ``start_epoch+1 .. epochs``, reporting each; stop early when asked to
    or when the loss is no longer finite (that epoch is still reported)."""
    for epoch in range(start_epoch + 1, epochs + 1):
        t0 = time.perf_counter()
        trained = train_one_epoch(
            model, optimizer, split.x_train, split.y_train, batch_size, generator, hooks
        )
        if trained is None:
            return "stopped"
        test_loss, test_acc = evaluate(model, split.x_test, split.y_test)
        result = EpochResult(epoch, *trained, test_loss, test_acc, time.perf_counter() - t0)
        hooks.on_epoch_end(result)
        if not is_finite(result):
            return "diverged"
    return "completed"


def is_finite(result: EpochResult) -> bool:
    return all(math.isfinite(v) for v in (result.train_loss, result.test_loss))
