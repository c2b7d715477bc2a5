"""Optimizers described by data."""

from collections.abc import Iterable

import torch

from backend.schemas import OptimizerSpec


def build_optimizer(
    spec: OptimizerSpec, params: Iterable[torch.nn.Parameter]
) -> torch.optim.Optimizer:
    # foreach=True updates all parameters with a few fused kernels instead of one per
    # tensor; it is torch's default on CUDA and pays on CPU for these small models too.
    common = {"lr": spec.lr, "weight_decay": spec.weight_decay, "foreach": True}
    match spec.name:
        case "sgd":
            return torch.optim.SGD(
                params, momentum=spec.momentum, nesterov=spec.nesterov and spec.momentum > 0,
                **common,
            )
        case "adam":
            return torch.optim.Adam(params, **common)
        case "adamw":
            return torch.optim.AdamW(params, **common)
        case "adagrad":
            return torch.optim.Adagrad(params, **common)
        case "rmsprop":
            return torch.optim.RMSprop(params, momentum=spec.momentum, **common)
    raise ValueError(f"unknown optimizer {spec.name}")
