"""Seed repeats of one configuration trained together, as one stack of k models.

Each seed keeps what it would have alone: its initialisation (the models are built one
by one from their seeds and then stacked), its shuffling (its own generator), its
optimizer state (the optimizers are elementwise, so one optimizer over stacked tensors
updates every slice exactly as k optimizers would), its loss (the summed loss gives each
slice the gradient of its own mean batch loss) and its metrics.

The stack is a chain of batched matrix products (``torch.baddbmm``): one kernel per layer
for all k models. On CPU this beat ``torch.func.vmap`` + ``grad``, which was slower than
training the seeds one after another (see ``benchmarks/trainer.py``). Only networks of
linear layers and elementwise activations are stacked; everything else is refused by
``batch_blocker`` and trained one seed at a time.
"""

import time
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from backend.schemas import (
    Act,
    BatchNorm,
    Dropout,
    Flatten,
    LeakyRelu,
    Linear,
    ModelSpec,
    OptimizerSpec,
    Softmax,
)
from backend.training.architecture import expand
from backend.training.data import Split
from backend.training.optim import build_optimizer
from backend.training.trainer import EVAL_BATCH, EpochResult, Hooks, Outcome, is_finite

Step = Callable[[torch.Tensor], torch.Tensor]


def batch_blocker(spec: ModelSpec) -> str | None:
    """Why seed repeats of ``spec`` cannot be trained as one stack, or None when they can."""
    layers = expand(spec)
    if any(isinstance(layer, BatchNorm) for layer in layers):
        return ("BatchNorm keeps running statistics per model, which the batched trainer "
                "does not stack")
    if any(isinstance(layer, Dropout) for layer in layers):
        return ("dropout masks come from the global random stream, so a stack could not "
                "match each seed trained alone")
    others = [layer.type for layer in layers
              if not isinstance(layer, Linear | Act | LeakyRelu | Softmax | Flatten)]
    if others:
        return f"{', '.join(dict.fromkeys(others))} layers are not stacked by the batched trainer"
    return None


class StackedNet:
    """k copies of one linear/activation network, as stacked leaf tensors."""

    def __init__(self, models: Sequence[nn.Sequential]) -> None:
        self.params: list[torch.Tensor] = []
        self.steps: list[tuple[str, int | Step]] = []
        for i, module in enumerate(models[0]):
            if isinstance(module, nn.Linear):
                # Stored as (k, in, out) so neither direction multiplies by a transposed
                # copy: measured ~20% faster per step than (k, out, in) with transposes.
                weight = torch.stack([m[i].weight.detach().t() for m in models]).contiguous()
                bias = torch.stack([m[i].bias.detach() for m in models]).unsqueeze(1)
                self.steps.append(("linear", len(self.params)))
                self.params += [weight.requires_grad_(), bias.requires_grad_()]
            elif isinstance(module, nn.Softmax):
                # Over the features, as dim=1 of a flat (batch, features) input means.
                self.steps.append(("act", lambda h: torch.softmax(h, dim=-1)))
            elif isinstance(module, nn.Flatten):
                continue  # every stackable input is already flat
            else:
                self.steps.append(("act", module))  # stateless and elementwise

    @property
    def k(self) -> int:
        return len(self.params[0])

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (k, batch, classes) of inputs (k, batch, features) or shared ones."""
        h = x
        for kind, what in self.steps:
            if kind == "linear":
                assert isinstance(what, int)
                w, b = self.params[what], self.params[what + 1]
                h = torch.baddbmm(b, h, w) if h.dim() == 3 else torch.matmul(h, w) + b
            else:
                assert callable(what)
                h = what(h)
        return h

    def keep(self, rows: list[int]) -> None:
        """Drop the models not in ``rows`` (a run stopped while the others go on)."""
        index = torch.tensor(rows, device=self.params[0].device)
        self.params = [p.detach().index_select(0, index).requires_grad_() for p in self.params]

    def write_back(self, models: Sequence[nn.Module]) -> None:
        """Copy each slice into its own module, e.g. to compare with a run trained alone."""
        for row, model in enumerate(models):
            self.write_row(row, model)

    def write_row(self, row: int, model: nn.Module) -> None:
        with torch.no_grad():
            for p, value in zip(model.parameters(), self.unstack(row, self.params), strict=True):
                p.copy_(value)

    @staticmethod
    def unstack(row: int, stacked: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        """Slice ``row`` of tensors laid out like the stack, in ``nn.Linear``'s shapes."""
        out = []
        for j, t in enumerate(stacked):
            t = t.detach()
            out.append(t[row].t().contiguous() if j % 2 == 0 else t[row, 0].clone())
        return out


def _keep_optimizer(old: torch.optim.Optimizer, spec: OptimizerSpec, net: StackedNet,
                    rows: list[int], k: int) -> torch.optim.Optimizer:
    """A new optimizer over the kept slices, carrying their state over."""
    new = build_optimizer(spec, net.params)
    index = torch.tensor(rows)
    for old_p, new_p in zip(old.param_groups[0]["params"], net.params, strict=True):
        new.state[new_p] = {
            key: (v.index_select(0, index.to(v.device))
                  if isinstance(v, torch.Tensor) and v.dim() > 0 and len(v) == k else v)
            for key, v in old.state.get(old_p, {}).items()
        }
    return new


class _Batched:
    """The training state of one stack: the net, its optimizer and who is still in it."""

    def __init__(self, net: StackedNet, spec: OptimizerSpec, hooks: Sequence[Hooks],
                 generators: Sequence[torch.Generator]) -> None:
        self.net, self.spec = net, spec
        self.optimizer = build_optimizer(spec, net.params)
        self.members = list(range(len(hooks)))  # original positions still training
        self.hooks, self.generators = list(hooks), list(generators)
        self.outcomes: dict[int, Outcome] = {}  # of the members that left early

    def leave(self, rows: list[int], outcome: Outcome) -> None:
        """Take the members at ``rows`` out of the stack; the others go on unchanged."""
        if not rows:
            return
        k = len(self.members)
        for r in rows:
            self.outcomes[self.members[r]] = outcome
        kept = [r for r in range(k) if r not in rows]
        self.members = [self.members[r] for r in kept]
        self.hooks = [self.hooks[r] for r in kept]
        self.generators = [self.generators[r] for r in kept]
        if kept:
            self.net.keep(kept)
            self.optimizer = _keep_optimizer(self.optimizer, self.spec, self.net, kept, k)

    def export(self, member: int, model: nn.Module) -> torch.optim.Optimizer:
        """Member ``member`` as it stands: its weights written into ``model`` and an
        optimizer over them holding its state, as if it had trained alone (checkpoints)."""
        row = self.members.index(member)
        self.net.write_row(row, model)
        params = list(model.parameters())
        optimizer = build_optimizer(self.spec, params)
        states = [self.optimizer.state.get(p, {}) for p in self.net.params]
        for key in states[0]:
            values = [st[key] for st in states]
            if isinstance(values[0], torch.Tensor) and values[0].dim() > 0:
                values = StackedNet.unstack(row, values)
            for p, v in zip(params, values, strict=True):
                optimizer.state[p][key] = v.clone() if isinstance(v, torch.Tensor) else v
        return optimizer

    def drop_stopped(self) -> list[int]:
        """Remove the members whose hooks ask to stop; the rows that stay."""
        stopping = [r for r, h in enumerate(self.hooks) if h.should_stop()]
        self.leave(stopping, "stopped")
        return [r for r in range(len(stopping) + len(self.members)) if r not in stopping]


def _epoch(state: _Batched, x: torch.Tensor, y: torch.Tensor,
           batch_size: int) -> tuple[torch.Tensor, torch.Tensor, int] | None:
    """Per-member mean batch loss and hit count of one pass; None when all stopped."""
    n, dev = len(y), x.device
    perms = torch.stack([torch.randperm(n, generator=g) for g in state.generators]).to(dev)
    k = len(perms)
    loss_sum = torch.zeros(k, device=dev)
    pred = torch.empty(k, n, dtype=torch.long, device=dev)
    batches = 0
    for start in range(0, n, batch_size):
        rows = state.drop_stopped()
        if not rows:
            return None
        if len(rows) < k:
            keep = torch.tensor(rows, device=dev)
            perms, loss_sum, pred = perms[keep], loss_sum[keep], pred[keep]
            k = len(rows)
        idx = perms[:, start : start + batch_size]
        b = idx.shape[1]
        if b == 1 and batches > 0:
            break  # as the single-run trainer: a last batch of one is skipped
        xb = x.index_select(0, idx.reshape(-1)).view(k, b, -1)
        yb = y.index_select(0, idx.reshape(-1))
        out = state.net(xb)
        losses = F.cross_entropy(out.reshape(k * b, -1), yb, reduction="none").view(k, b)
        losses = losses.mean(1)
        state.optimizer.zero_grad(set_to_none=True)
        # Slice i of the sum's gradient is the gradient of model i's own mean loss.
        losses.sum().backward()
        state.optimizer.step()
        loss_sum += losses.detach()
        torch.argmax(out.detach(), 2, out=pred[:, start : start + b])
        batches += 1
    seen = min(n, batches * batch_size)
    hits = (pred[:, :seen] == y[perms[:, :seen]]).sum(1)
    return loss_sum / batches, hits, batches


@torch.inference_mode()
def evaluate_stack(net: StackedNet, x: torch.Tensor,
                   y: torch.Tensor) -> tuple[list[float], list[float]]:
    """Each member's mean cross-entropy and accuracy over a whole split."""
    k = net.k
    loss_sum = torch.zeros(k, device=x.device)
    correct = torch.zeros(k, device=x.device, dtype=torch.long)
    # The stack multiplies activations by k, so take proportionally fewer samples a time.
    chunk = max(64, EVAL_BATCH // k)
    for start in range(0, len(y), chunk):
        out = net(x[start : start + chunk])
        yb = y[start : start + chunk]
        b = len(yb)
        loss_sum += F.cross_entropy(out.reshape(k * b, -1), yb.repeat(k),
                                    reduction="none").view(k, b).sum(1)
        correct += (out.argmax(2) == yb).sum(1)
    n = len(y)
    return (loss_sum / n).tolist(), (correct.double() / n).tolist()


class BatchedFit:
    """k models trained as one stack; ``export`` hands out one member as if alone."""

    def __init__(self, models: Sequence[nn.Sequential], optimizer: OptimizerSpec,
                 generators: Sequence[torch.Generator], hooks: Sequence[Hooks]) -> None:
        self.models = list(models)
        self.state = _Batched(StackedNet(models), optimizer, hooks, generators)

    def export(self, member: int) -> tuple[nn.Module, torch.optim.Optimizer]:
        """Member ``member``'s model (weights as they stand) and optimizer with its state."""
        return self.models[member], self.state.export(member, self.models[member])

    def run(self, split: Split, epochs: int, batch_size: int) -> list[Outcome]:
        """Train; each member's outcome, as ``trainer.fit`` gives it alone."""
        state, net = self.state, self.state.net
        for epoch in range(1, epochs + 1):
            t0 = time.perf_counter()
            trained = _epoch(state, split.x_train, split.y_train, batch_size)
            if trained is None:
                break
            loss, hits, _ = trained
            test_loss, test_acc = evaluate_stack(net, split.x_test, split.y_test)
            seconds = time.perf_counter() - t0
            n = len(split.y_train)
            diverged = []
            for row, (h, lo, hit, tl, ta) in enumerate(zip(
                    state.hooks, loss.tolist(), hits.tolist(), test_loss, test_acc,
                    strict=True)):
                result = EpochResult(epoch, lo, hit / n, tl, ta, seconds)
                h.on_epoch_end(result)
                if not is_finite(result):
                    diverged.append(row)
            state.leave(diverged, "diverged")
            if not state.members:
                break
        if state.members:
            net.write_back([self.models[m] for m in state.members])
        return [state.outcomes.get(m, "completed") for m in range(len(self.models))]


def fit_batched(
    models: Sequence[nn.Sequential],
    optimizer: OptimizerSpec,
    split: Split,
    epochs: int,
    batch_size: int,
    generators: Sequence[torch.Generator],
    hooks: Sequence[Hooks],
) -> list[Outcome]:
    """Train the k models together; each one's outcome, as ``trainer.fit`` gives it alone.

    A member whose hooks ask to stop leaves the stack before the next batch, and one whose
    loss stops being finite after its epoch is reported; the others go on. The trained
    weights of the members that completed are written back into their ``models``.
    """
    return BatchedFit(models, optimizer, generators, hooks).run(split, epochs, batch_size)
