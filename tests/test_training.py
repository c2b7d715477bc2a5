"""The trainer's semantics on small real data: reproducible, and the notebook's loss/accuracy."""


import pytest
import torch
import torch.nn.functional as F

from backend.schemas import MLPSpec, OptimizerSpec
from backend.training.architecture import build_model
from backend.training.data import load_split
from backend.training.optim import build_optimizer
from backend.training.trainer import EpochResult, evaluate, fit, train_one_epoch


class Recorder:
    def __init__(self, stop_after_batches: int | None = None) -> None:
        self.results: list[EpochResult] = []
        self.calls = 0
        self.stop_after = stop_after_batches

    def on_epoch_end(self, result: EpochResult) -> None:
        self.results.append(result)

    def should_stop(self) -> bool:
        self.calls += 1
        return self.stop_after is not None and self.calls > self.stop_after


def _train(seed: int, epochs: int = 2, opt: str = "adam") -> list[EpochResult]:
    split = load_split("digits")
    torch.manual_seed(seed)
    model = build_model(MLPSpec(kind="mlp", hidden=[16, 16]), (64,), 10)
    optimizer = build_optimizer(OptimizerSpec(name=opt, lr=0.01), model.parameters())
    rec = Recorder()
    outcome = fit(model, optimizer, split, epochs, 64, torch.Generator().manual_seed(seed), rec)
    assert outcome == "completed"
    return rec.results


def test_same_seed_same_metrics_on_cpu() -> None:
    a, b = _train(seed=3), _train(seed=3)
    strip = [(r.epoch, r.train_loss, r.train_acc, r.test_loss, r.test_acc) for r in a]
    assert strip == [(r.epoch, r.train_loss, r.train_acc, r.test_loss, r.test_acc) for r in b]


def test_different_seed_different_metrics() -> None:
    assert _train(seed=3)[0].train_loss != _train(seed=4)[0].train_loss


def test_training_learns_the_digits() -> None:
    results = _train(seed=0, epochs=5)
    assert [r.epoch for r in results] == [1, 2, 3, 4, 5]
    assert results[-1].train_loss < results[0].train_loss
    assert results[-1].test_acc > 0.85


def test_epoch_loss_is_mean_of_batch_losses_like_the_notebook() -> None:
    """Replay the epoch by hand, notebook style, with the same shuffle and weights."""
    split = load_split("digits")
    spec = MLPSpec(kind="mlp", hidden=[8])
    torch.manual_seed(0)
    model = build_model(spec, (64,), 10)
    twin = build_model(spec, (64,), 10)
    twin.load_state_dict(model.state_dict())
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    twin_opt = torch.optim.SGD(twin.parameters(), lr=0.05)

    loss, acc = train_one_epoch(model, opt, split.x_train, split.y_train, 64,
                                torch.Generator().manual_seed(5), Recorder())

    perm = torch.randperm(len(split.y_train), generator=torch.Generator().manual_seed(5))
    running, correct, batches = 0.0, 0, 0
    for start in range(0, len(perm), 64):
        idx = perm[start : start + 64]
        out = twin(split.x_train[idx])
        batch_loss = F.cross_entropy(out, split.y_train[idx])
        twin_opt.zero_grad()
        batch_loss.backward()
        twin_opt.step()
        running += batch_loss.item()
        correct += (out.argmax(1) == split.y_train[idx]).sum().item()
        batches += 1
    assert batches == -(-len(perm) // 64)  # the last, smaller batch is kept
    assert loss == pytest.approx(running / batches, rel=1e-5)
    assert acc == pytest.approx(correct / len(perm))

    test_loss, test_acc = evaluate(model, split.x_test, split.y_test)
    with torch.no_grad():
        out = twin.eval()(split.x_test)
    assert test_acc == pytest.approx((out.argmax(1) == split.y_test).float().mean().item())
    assert test_loss == pytest.approx(F.cross_entropy(out, split.y_test).item(), rel=1e-5)


def test_stop_request_ends_within_one_batch() -> None:
    split = load_split("digits")
    model = build_model(MLPSpec(kind="mlp", hidden=[8]), (64,), 10)
    opt = build_optimizer(OptimizerSpec(), model.parameters())
    rec = Recorder(stop_after_batches=3)
    assert fit(model, opt, split, 5, 64, torch.Generator().manual_seed(0), rec) == "stopped"
    assert rec.calls == 4 and rec.results == []


def test_split_is_stratified_80_20_and_fixed() -> None:
    split = load_split("mnist-5k")
    assert (len(split.y_train), len(split.y_test)) == (4000, 1000)
    assert split.x_train.shape[1] == 784 and 0.0 <= float(split.x_train.min())
    assert float(split.x_train.max()) <= 1.0
    assert torch.bincount(split.y_test).tolist() == [100] * 10
