"""Small MNIST-shaped IDX datasets made on the spot, and a registry entry that expects them."""

import gzip
import hashlib
import io
from dataclasses import dataclass

import numpy as np
import pytest

from backend.training import data
from backend.training.idx import encode_idx
from backend.training.idx_datasets import IdxDataset, IdxFile

NAMES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
         "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


@dataclass(frozen=True)
class TinyIdx:
    # Distributed (gzipped) file name -> gzipped bytes, in the order of NAMES.
    gz: dict[str, bytes]
    n_train: int
    n_test: int
    source: IdxDataset


def _images(labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """28x28 images whose class shows as a bright band of rows, over noise: learnable."""
    imgs = rng.integers(0, 60, size=(len(labels), 28, 28), dtype=np.uint8)
    for i, k in enumerate(labels):
        imgs[i, 2 * k + 4 : 2 * k + 7, 4:24] = 250
    return imgs


def make_tiny(n_train: int = 60, n_test: int = 40, seed: int = 0) -> TinyIdx:
    rng = np.random.default_rng(seed)
    y_tr = np.arange(n_train, dtype=np.uint8) % 10
    y_te = np.arange(n_test, dtype=np.uint8) % 10
    arrays = (_images(y_tr, rng), y_tr, _images(y_te, rng), y_te)
    gz = {}
    for name, array in zip(NAMES, arrays, strict=True):
        # mtime=0 so the same arrays give the same bytes (and checksum) every time.
        gz[name + ".gz"] = gzip.compress(encode_idx(array), mtime=0)
    files = [IdxFile(n, hashlib.sha256(b).hexdigest(), len(b)) for n, b in gz.items()]
    return TinyIdx(gz, n_train, n_test, IdxDataset("mnist", (), *files))


def plain(gz_bytes: bytes) -> bytes:
    return gzip.GzipFile(fileobj=io.BytesIO(gz_bytes)).read()


def use_as_mnist(monkeypatch: pytest.MonkeyPatch, tiny: TinyIdx) -> None:
    """Make the registry's ``mnist`` expect the tiny files' checksums (and forget loads)."""
    monkeypatch.setitem(data.DATASETS, "mnist", data.idx_info(tiny.source, "tiny mnist"))
    data.clear_cache()
