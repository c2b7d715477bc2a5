"""What a completed run leaves behind: its test-split confusion matrix, its surest
mistakes, and its final weights as bytes that load back with ``weights_only=True``."""

import io
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from backend.training.trainer import EVAL_BATCH

# Enough mistakes for a gallery a person can scan; few enough to store per run.
MAX_MISCLASSIFIED = 48


@dataclass(frozen=True)
class Evaluation:
    confusion: list[list[int]]
    misclassified: list[dict[str, Any]]
    test_size: int


@torch.no_grad()
def probabilities(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Class probabilities for every row of ``x``, in eval mode, batch by batch."""
    model.eval()
    out = torch.cat([F.softmax(model(x[s : s + EVAL_BATCH]), dim=1)
                     for s in range(0, len(x), EVAL_BATCH)])
    model.train()
    return out


def evaluate_test_split(model: nn.Module, x: torch.Tensor, y: torch.Tensor,
                        num_classes: int, limit: int = MAX_MISCLASSIFIED) -> Evaluation:
    """Confusion matrix (rows true, columns predicted) and the ``limit`` surest mistakes."""
    probs = probabilities(model, x)
    pred = probs.argmax(1)
    confusion = torch.bincount(y * num_classes + pred, minlength=num_classes**2)
    wrong = (pred != y).nonzero().squeeze(1)
    sureness = probs[wrong, pred[wrong]]
    # The mistakes the model was surest about teach the most; ties keep test order.
    order = torch.argsort(sureness, descending=True, stable=True)[:limit]
    mistakes = [
        {"index": int(wrong[i]), "true": int(y[wrong[i]]), "predicted": int(pred[wrong[i]]),
         "probability": round(float(sureness[i]), 6)}
        for i in order.tolist()
    ]
    return Evaluation(confusion.reshape(num_classes, num_classes).tolist(), mistakes, len(y))


def weights_to_bytes(model: nn.Module) -> bytes:
    """The state_dict on the CPU, serialised so any machine can load it."""
    buf = io.BytesIO()
    torch.save({k: v.detach().cpu() for k, v in model.state_dict().items()}, buf)
    return buf.getvalue()


def load_weights(data: bytes) -> dict[str, torch.Tensor]:
    # weights_only refuses pickled code: stored bytes are data, never instructions.
    return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
