"""Trainboard's trainer against the notebook's loop, in one process, alternating epochs.

    python -m benchmarks.trainer            # both tables, 3 timed epochs each
    python -m benchmarks.trainer --quick    # 2 epochs, seeds 1 and 5: a smoke run

Data: the 4,000 training digits of ``mnist-5k`` tiled 14 times to the notebook's 56,000
samples; the 1,000 held-out digits for test accuracy. Seconds are medians over epochs.

Table 1, one row per notebook model: the notebook's loop (its ``CustomDataset`` building
two tensors per sample, ``DataLoader(batch_size=64, shuffle=True)``, ``loss.item()`` after
every batch, its ``test()`` in eval mode) against ``trainer.fit``, each epoch timed with
its test evaluation. Both start from the same weights and see different shuffles.

Table 2, k seeds of the 3-layer relu MLP with SGD: total seconds for ``fit_batched``
(stacked ``baddbmm``), ``fit`` one seed after another, and ``torch.func`` ``vmap`` +
``grad``, plus throughput in model-epochs per second against the notebook's loop.
"""

import argparse
import copy
import os
import statistics
import time
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call, grad_and_value, stack_module_state, vmap

from backend.presets import CONV_NET
from backend.schemas import MLPSpec, ModelSpec, OptimizerSpec
from backend.training.architecture import build_model
from backend.training.batched import fit_batched
from backend.training.data import DATASETS, Split, load_split
from backend.training.optim import build_optimizer
from backend.training.threads import training_threads
from backend.training.trainer import EpochResult, fit, resolve_device

MLP = MLPSpec(kind="mlp", hidden=[32, 32], activation="relu")
BN_MLP = MLPSpec(kind="mlp", hidden=[32, 32], activation="relu", batchnorm=True)
MODELS: list[tuple[str, ModelSpec, OptimizerSpec]] = [
    ("3-layer relu MLP, SGD 0.01", MLP, OptimizerSpec(name="sgd", lr=0.01)),
    ("BatchNorm MLP, Adam 0.01", BN_MLP, OptimizerSpec(name="adam", lr=0.01)),
    ("conv net, Adam 0.01", CONV_NET, OptimizerSpec(name="adam", lr=0.01)),
]
BATCH = 64


# --- the notebook, as it was -------------------------------------------------


class CustomDataset(torch.utils.data.Dataset):
    def __init__(self, X: np.ndarray, y: np.ndarray) -> None:
        self.X, self.y = X, y

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        x = torch.from_numpy(self.X[index]).float()
        y = torch.from_numpy(np.array(self.y[index])).long()
        return x, y

    def __len__(self) -> int:
        return len(self.X)


class NotebookTrainer:
    def __init__(self, split: Split, model: nn.Module, optimizer: torch.optim.Optimizer,
                 device: torch.device) -> None:
        train = CustomDataset(split.x_train.numpy(), split.y_train.numpy())
        test = CustomDataset(split.x_test.numpy(), split.y_test.numpy())
        self.trainloader = torch.utils.data.DataLoader(train, batch_size=BATCH, shuffle=True)
        self.testloader = torch.utils.data.DataLoader(test, batch_size=BATCH, shuffle=False)
        self.model, self.optimizer, self.device = model, optimizer, device
        self.criterion = nn.CrossEntropyLoss()

    def train(self) -> float:
        self.model.train()
        running_loss = 0.0
        for inputs, labels in self.trainloader:
            inputs, labels = inputs.to(self.device), labels.to(self.device)
            self.optimizer.zero_grad()
            outputs = self.model(inputs)
            loss = self.criterion(outputs, labels)
            loss.backward()
            self.optimizer.step()
            running_loss += loss.item()
        return running_loss / len(self.trainloader)

    def test(self) -> float:
        self.model.eval()
        correct = 0
        for inputs, labels in self.testloader:
            inputs, labels = inputs.to(self.device), labels.to(self.device)
            pred = self.model(inputs).max(1, keepdim=True)[1]
            correct += pred.eq(labels.view_as(pred)).sum().item()
        return correct / len(self.testloader.dataset)


def notebook_optimizer(spec: OptimizerSpec, model: nn.Module) -> torch.optim.Optimizer:
    cls = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam}[spec.name]
    return cls(model.parameters(), lr=spec.lr)


# --- helpers -----------------------------------------------------------------


class Recorder:
    def __init__(self) -> None:
        self.results: list[EpochResult] = []

    def on_epoch_end(self, result: EpochResult) -> None:
        self.results.append(result)

    def should_stop(self) -> bool:
        return False


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(device: torch.device, f: Callable[[], object]) -> float:
    sync(device)
    t0 = time.perf_counter()
    f()
    sync(device)
    return time.perf_counter() - t0


def tiled_split(device: torch.device, tiles: int) -> Split:
    s = load_split("mnist-5k")
    return Split(s.x_train.repeat(tiles, 1).to(device), s.y_train.repeat(tiles).to(device),
                 s.x_test.to(device), s.y_test.to(device))


def build(spec: ModelSpec, seed: int, device: torch.device) -> nn.Sequential:
    info = DATASETS["mnist-5k"]
    torch.manual_seed(seed)
    return build_model(spec, info.input_shape, info.num_classes).to(device)


# --- table 1 -----------------------------------------------------------------


def compare_model(spec: ModelSpec, opt: OptimizerSpec, split: Split, cpu_split: Split,
                  epochs: int, device: torch.device,
                  threads: tuple[int, int]) -> dict[str, float]:
    """Median seconds per epoch of the notebook's loop and of Trainboard's, and accuracies."""
    model = build(spec, 0, device)
    twin = copy.deepcopy(model)
    notebook = NotebookTrainer(cpu_split, twin, notebook_optimizer(opt, twin), device)
    optimizer = build_optimizer(opt, model.parameters())
    gen, rec = torch.Generator().manual_seed(0), Recorder()
    nb_s, tb_s = [], []
    torch.manual_seed(0)  # the DataLoader's shuffle
    for e in range(1, epochs + 1):
        torch.set_num_threads(threads[0])
        nb_s.append(timed(device, notebook.train))
        torch.set_num_threads(threads[1])
        tb_s.append(timed(device, lambda e=e: fit(model, optimizer, split, e, BATCH, gen,
                                                  rec, start_epoch=e - 1)))
    torch.set_num_threads(threads[0])
    nb_acc = notebook.test()
    torch.set_num_threads(threads[1])
    return {"nb": statistics.median(nb_s), "tb": statistics.median(tb_s),
            "nb_acc": nb_acc, "tb_acc": rec.results[-1].test_acc}


# --- table 2 -----------------------------------------------------------------


def seeds_fused(seeds: list[int], split: Split, epochs: int, device: torch.device) -> None:
    models = [build(MLP, s, device) for s in seeds]
    gens = [torch.Generator().manual_seed(s) for s in seeds]
    fit_batched(models, MODELS[0][2], split, epochs, BATCH, gens, [Recorder() for _ in seeds])


def seeds_alone(seeds: list[int], split: Split, epochs: int, device: torch.device) -> None:
    for s in seeds:
        model = build(MLP, s, device)
        opt = build_optimizer(MODELS[0][2], model.parameters())
        fit(model, opt, split, epochs, BATCH, torch.Generator().manual_seed(s), Recorder())


def seeds_vmap(seeds: list[int], split: Split, epochs: int, device: torch.device) -> None:
    """torch.func's recipe: stack_module_state + functional_call + vmap(grad)."""
    models = [build(MLP, s, device) for s in seeds]
    params, buffers = stack_module_state(models)  # type: ignore[arg-type]
    base = copy.deepcopy(models[0]).to("meta")

    def loss_of(p: dict, b: dict, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(functional_call(base, (p, b), (x,)), y)

    step = vmap(grad_and_value(loss_of))
    leaves = list(params.values())
    opt = build_optimizer(MODELS[0][2], leaves)
    gens = [torch.Generator().manual_seed(s) for s in seeds]
    x, y, n = split.x_train, split.y_train, len(split.y_train)
    for _ in range(epochs):
        perms = torch.stack([torch.randperm(n, generator=g) for g in gens]).to(device)
        for start in range(0, n, BATCH):
            idx = perms[:, start : start + BATCH]
            grads, _loss = step(params, buffers, x[idx], y[idx])
            for p in leaves:
                p.grad = None
            for name, p in params.items():
                p.grad = grads[name]
            opt.step()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--epochs", type=int, default=3, help="timed epochs per measurement")
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 5, 20])
    ap.add_argument("--device", default="auto")
    ap.add_argument("--threads", type=int, default=0,
                    help="torch threads for Trainboard; 0: what the worker would choose now "
                    "(the cores other processes leave free)")
    ap.add_argument("--notebook-threads", type=int, default=None,
                    help="torch threads for the notebook's loop (default: as --threads)")
    ap.add_argument("--tiles", type=int, default=14, help="copies of the 4,000 digits")
    ap.add_argument("--no-vmap", action="store_true", help="skip the vmap column")
    ap.add_argument("--quick", action="store_true", help="2 epochs, seeds 1 and 5")
    ap.add_argument("--notebook-s", type=float, default=None,
                    help="skip table 1 and take this as the notebook's MLP s/epoch")
    args = ap.parse_args()
    if args.quick:
        args.epochs, args.seeds = 2, [1, 5]
    tb_threads = training_threads(args.threads, torch.get_num_threads())
    threads = (args.notebook_threads or tb_threads, tb_threads)
    torch.set_num_threads(tb_threads)
    device = resolve_device(args.device)
    cpu_split = tiled_split(torch.device("cpu"), args.tiles)
    split = tiled_split(device, args.tiles)
    print(f"device {device}, torch threads: notebook {threads[0]}, Trainboard {threads[1]}; "
          f"{len(split.y_train):,} training samples, batch {BATCH}, median of {args.epochs} "
          f"epochs; load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}\n")

    print("| model | notebook s/epoch | Trainboard s/epoch | speed-up | Trainboard epochs/s "
          "| notebook test acc | Trainboard test acc |")
    print("|---|---|---|---|---|---|---|")
    nb_mlp = args.notebook_s or 0.0
    for name, spec, opt in [] if args.notebook_s else MODELS:
        r = compare_model(spec, opt, split, cpu_split, args.epochs, device, threads)
        nb_mlp = nb_mlp or r["nb"]
        print(f"| {name} | {r['nb']:.3f} | {r['tb']:.3f} | {r['nb'] / r['tb']:.2f}x | "
              f"{1 / r['tb']:.1f} | {r['nb_acc']:.3f} | {r['tb_acc']:.3f} |", flush=True)

    print(f"\n| seeds | fused s | one after another s | vmap+grad s | fused / one seed fused "
          f"| fused model-epochs/s vs notebook ({args.epochs} epochs each) |")
    print("|---|---|---|---|---|---|")
    single = 0.0
    for k in args.seeds:
        seeds = list(range(k))
        def run(how: Callable[..., None], seeds: list[int] = seeds) -> float:
            return timed(device, lambda: how(seeds, split, args.epochs, device))

        fused, alone = run(seeds_fused), run(seeds_alone)
        vm = float("nan") if args.no_vmap else run(seeds_vmap)
        single = single or (fused if k == 1 else 0.0)
        rel = f"{fused / single:.2f}x" if single else "-"
        speed = (k * args.epochs / fused) * nb_mlp
        print(f"| {k} | {fused:.2f} | {alone:.2f} | {vm:.2f} | {rel} | {speed:.2f}x |",
              flush=True)
    print(f"\nload average at the end {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
