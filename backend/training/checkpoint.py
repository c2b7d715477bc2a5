"""Per-epoch checkpoints of a running run, so a killed server resumes where it was.

A checkpoint holds everything that decides the next epoch: the weights, the optimizer's
state, the global torch RNG (dropout, init) and the shuffling generator, and the epoch it
was taken after. RNG states are byte tensors, so the file loads with ``weights_only=True``
and a planted pickle cannot run code.
"""

import logging
import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

log = logging.getLogger(__name__)


def checkpoint_path(directory: Path, run_id: int) -> Path:
    return directory / f"run-{run_id}.pt"


def save_checkpoint(path: Path, epoch: int, config: dict[str, Any], model: nn.Module,
                    optimizer: torch.optim.Optimizer, generator: torch.Generator) -> None:
    """Write atomically: a crash mid-write leaves the previous checkpoint, never half a file."""
    state: dict[str, Any] = {
        "epoch": epoch,
        "config": config,
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "torch_rng": torch.get_rng_state(),
        "generator_rng": generator.get_state(),
    }
    if torch.cuda.is_available():
        state["cuda_rng"] = torch.cuda.get_rng_state_all()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as f:
        torch.save(state, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def read_checkpoint(path: Path, config: dict[str, Any]) -> dict[str, Any] | None:
    """The state saved at the end of an epoch, or None to start over.

    None when there is no usable checkpoint: none written yet, unreadable, refused by
    ``weights_only``, or taken for a different configuration (a stale file left by an
    older database whose run ids have been reused).
    """
    if not path.exists():
        return None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:
        log.exception("checkpoint %s cannot be loaded; starting over", path)
        return None
    if not isinstance(state, dict) or state.get("config") != config:
        log.warning("checkpoint %s belongs to another run; starting over", path)
        return None
    return state


def restore(state: dict[str, Any], model: nn.Module, optimizer: torch.optim.Optimizer,
            generator: torch.Generator) -> int:
    """Put the saved state back and return the epoch it was taken after."""
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    generator.set_state(state["generator_rng"])
    torch.set_rng_state(state["torch_rng"])
    if "cuda_rng" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda_rng"])
    return int(state["epoch"])


def remove_checkpoint(path: Path) -> None:
    path.unlink(missing_ok=True)
    path.with_suffix(".tmp").unlink(missing_ok=True)
