"""Seed repeats trained as one stack equal each seed trained alone."""

from pathlib import Path

import pytest
import torch
from torch import nn

from backend.presets import CONV_NET
from backend.schemas import MLPSpec, ModelSpec, OptimizerSpec
from backend.training.architecture import build_model
from backend.training.batched import BatchedFit, batch_blocker, fit_batched
from backend.training.checkpoint import read_checkpoint, restore, save_checkpoint
from backend.training.data import load_split
from backend.training.optim import build_optimizer
from backend.training.trainer import EpochResult, fit

SPEC = MLPSpec(kind="mlp", hidden=[16, 12], activation="tanh")
SEEDS = [3, 4, 5]


class Recorder:
    def __init__(self, stop_after_epochs: int | None = None) -> None:
        self.results: list[EpochResult] = []
        self.stop_after = stop_after_epochs

    def on_epoch_end(self, result: EpochResult) -> None:
        self.results.append(result)

    def should_stop(self) -> bool:
        return self.stop_after is not None and len(self.results) >= self.stop_after


def _model(seed: int, spec: ModelSpec = SPEC) -> nn.Sequential:
    torch.manual_seed(seed)
    return build_model(spec, (64,), 10)


def _alone(seed: int, opt: OptimizerSpec, epochs: int, batch: int,
           ) -> tuple[list[EpochResult], nn.Sequential]:
    model, rec = _model(seed), Recorder()
    optimizer = build_optimizer(opt, model.parameters())
    assert "completed" == fit(model, optimizer, load_split("digits"), epochs, batch,
               torch.Generator().manual_seed(seed), rec)
    return rec.results, model


def _assert_same(a: list[EpochResult], b: list[EpochResult]) -> None:
    assert [r.epoch for r in a] == [r.epoch for r in b]
    for x, y in zip(a, b, strict=True):
        for field in ("train_loss", "train_acc", "test_loss", "test_acc"):
            assert getattr(x, field) == pytest.approx(getattr(y, field), abs=1e-5), field


@pytest.mark.parametrize(("opt", "batch"), [
    (OptimizerSpec(name="adam", lr=0.01, weight_decay=0.001), 64),
    # 1,437 training digits in batches of 359: the last batch of one is skipped, as alone.
    (OptimizerSpec(name="sgd", lr=0.1, momentum=0.9), 359),
])
def test_fused_seeds_equal_each_seed_trained_alone(opt: OptimizerSpec, batch: int) -> None:
    models = [_model(s) for s in SEEDS]
    recs = [Recorder() for _ in SEEDS]
    done = fit_batched(models, opt, load_split("digits"), 3, batch,
                       [torch.Generator().manual_seed(s) for s in SEEDS], recs)
    assert done == ["completed"] * 3
    for seed, rec, fused_model in zip(SEEDS, recs, models, strict=True):
        results, alone_model = _alone(seed, opt, 3, batch)
        _assert_same(rec.results, results)
        for p, q in zip(fused_model.parameters(), alone_model.parameters(), strict=True):
            torch.testing.assert_close(p, q, atol=1e-5, rtol=1e-4)
    # Different seeds really are different models.
    assert recs[0].results[-1].train_loss != recs[1].results[-1].train_loss


def test_a_stopped_member_leaves_and_the_others_are_unchanged() -> None:
    opt = OptimizerSpec(name="adam", lr=0.01)
    recs = [Recorder(), Recorder(stop_after_epochs=1), Recorder()]
    done = fit_batched([_model(s) for s in SEEDS], opt, load_split("digits"), 3, 64,
                       [torch.Generator().manual_seed(s) for s in SEEDS], recs)
    assert done == ["completed", "stopped", "completed"]
    assert [r.epoch for r in recs[1].results] == [1]
    for seed in (SEEDS[0], SEEDS[2]):
        results, _ = _alone(seed, opt, 3, 64)
        _assert_same(recs[SEEDS.index(seed)].results, results)


def test_all_members_stopping_ends_the_pass() -> None:
    recs = [Recorder(stop_after_epochs=0) for _ in SEEDS]
    done = fit_batched([_model(s) for s in SEEDS], OptimizerSpec(), load_split("digits"), 2,
                       64, [torch.Generator().manual_seed(s) for s in SEEDS], recs)
    assert done == ["stopped"] * 3 and all(r.results == [] for r in recs)


@pytest.mark.parametrize(("spec", "reason"), [
    (MLPSpec(kind="mlp", batchnorm=True), "BatchNorm"),
    (MLPSpec(kind="mlp", dropout=0.2), "dropout"),
    (CONV_NET, "conv2d"),
])
def test_layers_that_cannot_be_stacked_are_named(spec: ModelSpec, reason: str) -> None:
    assert reason in (batch_blocker(spec) or "")


def test_linear_activation_nets_can_be_stacked() -> None:
    assert batch_blocker(MLPSpec(kind="mlp", hidden=[8, 8], activation="leaky_relu")) is None


def test_a_diverging_member_leaves_and_the_others_are_unchanged() -> None:
    opt = OptimizerSpec(name="adam", lr=0.01)
    models = [_model(s) for s in SEEDS]
    with torch.no_grad():
        models[0][-1].bias.fill_(float("nan"))  # its loss is NaN from the first batch
    recs = [Recorder() for _ in SEEDS]
    done = fit_batched(models, opt, load_split("digits"), 2, 64,
                       [torch.Generator().manual_seed(s) for s in SEEDS], recs)
    assert done == ["diverged", "completed", "completed"]
    assert [r.epoch for r in recs[0].results] == [1]
    for i in (1, 2):
        results, _ = _alone(SEEDS[i], opt, 2, 64)
        _assert_same(recs[i].results, results)


def test_a_member_checkpoint_resumes_alone_as_if_never_batched(tmp_path: Path) -> None:
    """Checkpoint seed 4 after epoch 1 of a batched pass; resumed alone, its epoch 2 is the
    batched one's (and so the never-interrupted single run's)."""
    opt, split, path = OptimizerSpec(name="adam", lr=0.01), load_split("digits"), tmp_path / "c"
    generators = [torch.Generator().manual_seed(s) for s in SEEDS]

    class Saving(Recorder):
        def on_epoch_end(self, result: EpochResult) -> None:
            super().on_epoch_end(result)
            if result.epoch == 1:
                model, optimizer = fitter.export(1)
                save_checkpoint(path, 1, {}, model, optimizer, generators[1])

    recs = [Recorder(), Saving(), Recorder()]
    fitter = BatchedFit([_model(s) for s in SEEDS], opt, generators, recs)
    assert fitter.run(split, 2, 64) == ["completed"] * 3

    model = _model(99)  # other weights, overwritten by the checkpoint
    optimizer = build_optimizer(opt, model.parameters())
    generator = torch.Generator()
    state = read_checkpoint(path, {})
    assert state is not None and restore(state, model, optimizer, generator) == 1
    resumed = Recorder()
    assert fit(model, optimizer, split, 2, 64, generator, resumed, start_epoch=1) == "completed"
    _assert_same(resumed.results, recs[1].results[1:])
    _assert_same(resumed.results, _alone(SEEDS[1], opt, 2, 64)[0][1:])
