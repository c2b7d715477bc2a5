"""Datasets distributed as four IDX files: where they come from, how they are found and checked.

The files live in ``<data_dir>/<dataset>/`` under their distributed names, gzipped
(``train-images-idx3-ubyte.gz``) or not (``train-images-idx3-ubyte``). Files already
there are used as they are, so an offline user can drop them in; missing ones are
downloaded from the mirrors and kept there, verified against their SHA-256.
"""

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from backend.training.download import DownloadError, download
from backend.training.idx import IdxError, read_idx

log = logging.getLogger(__name__)

# A short line for people: "downloading mnist 40%".
Progress = Callable[[str], None]


class DatasetUnavailable(RuntimeError):
    """The files are neither in the data directory nor downloadable."""


@dataclass(frozen=True)
class IdxFile:
    name: str  # as distributed, gzipped
    sha256: str
    size: int

    @property
    def plain_name(self) -> str:
        return self.name.removesuffix(".gz")


@dataclass(frozen=True)
class IdxDataset:
    name: str
    mirrors: tuple[str, ...]
    train_images: IdxFile
    train_labels: IdxFile
    test_images: IdxFile
    test_labels: IdxFile
    image_shape: tuple[int, int] = (28, 28)
    num_classes: int = 10

    @property
    def files(self) -> tuple[IdxFile, IdxFile, IdxFile, IdxFile]:
        return self.train_images, self.train_labels, self.test_images, self.test_labels

    def load(self, data_dir: Path, mirrors: Sequence[str] | None, progress: Progress,
             timeout: float) -> tuple[np.ndarray, np.ndarray, int]:
        """Images as uint8 rows and labels, training set first; and the training set's size."""
        folder = data_dir / self.name
        paths = self._fetch(folder, list(mirrors or self.mirrors), progress, timeout)
        try:
            arrays = [read_idx(p) for p in paths]
        except IdxError as exc:
            raise DatasetUnavailable(f"{exc}; replace it or delete it to download it again") \
                from None
        tr_x, tr_y, te_x, te_y = arrays
        for images, labels, img_file, lbl_file in ((tr_x, tr_y, paths[0], paths[1]),
                                                   (te_x, te_y, paths[2], paths[3])):
            # Checked here, where the file can be named, rather than as a shape error mid-run.
            if images.dtype != np.uint8 or images.shape[1:] != self.image_shape:
                raise DatasetUnavailable(
                    f"{img_file}: expected {self.image_shape[0]}x{self.image_shape[1]} uint8 "
                    f"images, found {images.dtype} of shape {images.shape}")
            if labels.ndim != 1 or len(images) != len(labels):
                raise DatasetUnavailable(
                    f"{lbl_file}: {labels.shape} labels for {len(images)} images")
            if len(labels) and not 0 <= labels.min() <= labels.max() < self.num_classes:
                raise DatasetUnavailable(
                    f"{lbl_file}: labels must lie in 0..{self.num_classes - 1}")
        x = np.concatenate([tr_x.reshape(len(tr_x), -1), te_x.reshape(len(te_x), -1)])
        return x, np.concatenate([tr_y, te_y]).astype(np.int64), len(tr_y)

    def _fetch(self, folder: Path, mirrors: list[str], progress: Progress,
               timeout: float) -> list[Path]:
        found = {f: _local(folder, f) for f in self.files}
        missing = [f for f, p in found.items() if p is None]
        if not missing:
            return [p for p in found.values() if p is not None]
        log.info("dataset %s: %d of 4 files missing in %s; downloading", self.name,
                 len(missing), folder)
        report = _PercentReporter(self.name, sum(f.size for f in missing), progress)
        for f in missing:
            try:
                found[f] = download([m.rstrip("/") + "/" + f.name for m in mirrors],
                                    folder / f.name, f.sha256, report.file_progress,
                                    timeout)
            except DownloadError as exc:
                raise DatasetUnavailable(
                    f"dataset {self.name} is not in {folder} and could not be downloaded "
                    f"({exc}). Put the four files "
                    f"{', '.join(x.name for x in self.files)} (gzipped or not) in "
                    f"{folder} and run again") from None
            report.file_done(f.size)
        return [p for p in found.values() if p is not None]


def _local(folder: Path, f: IdxFile) -> Path | None:
    for candidate in (folder / f.name, folder / f.plain_name):
        if candidate.is_file():
            return candidate
    return None


class _PercentReporter:
    """Turns per-file byte counts into one whole-percent note for the whole dataset."""

    def __init__(self, name: str, total: int, progress: Progress) -> None:
        self.name, self.total, self.progress = name, max(total, 1), progress
        self.finished = 0
        self.last = -1

    def file_progress(self, done: int, _size: int | None) -> None:
        self._emit(self.finished + done)

    def file_done(self, size: int) -> None:
        self.finished += size
        self._emit(self.finished)

    def _emit(self, done: int) -> None:
        pct = min(100, done * 100 // self.total)
        if pct == self.last:
            return
        if pct // 10 != self.last // 10:
            log.info("downloading dataset %s %d%%", self.name, pct)
        self.last = pct
        self.progress(f"downloading dataset {pct}%")


# SHA-256 sums and sizes as published by TensorFlow Datasets' url_checksums and
# torchvision for the canonical files.
MNIST = IdxDataset(
    "mnist",
    ("https://ossci-datasets.s3.amazonaws.com/mnist/",
     "https://storage.googleapis.com/cvdf-datasets/mnist/"),
    IdxFile("train-images-idx3-ubyte.gz",
            "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609", 9_912_422),
    IdxFile("train-labels-idx1-ubyte.gz",
            "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c", 28_881),
    IdxFile("t10k-images-idx3-ubyte.gz",
            "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6", 1_648_877),
    IdxFile("t10k-labels-idx1-ubyte.gz",
            "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6", 4_542),
)
FASHION_MNIST = IdxDataset(
    "fashion-mnist",
    ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
     "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/"),
    IdxFile("train-images-idx3-ubyte.gz",
            "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84", 26_421_880),
    IdxFile("train-labels-idx1-ubyte.gz",
            "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845", 29_515),
    IdxFile("t10k-images-idx3-ubyte.gz",
            "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073", 4_422_102),
    IdxFile("t10k-labels-idx1-ubyte.gz",
            "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5", 5_148),
)
KMNIST = IdxDataset(
    "kmnist",
    ("https://codh.rois.ac.jp/kmnist/dataset/kmnist/",
     "http://codh.rois.ac.jp/kmnist/dataset/kmnist/"),
    IdxFile("train-images-idx3-ubyte.gz",
            "51467d22d8cc72929e2a028a0428f2086b092bb31cfb79c69cc0a90ce135fde4", 18_165_135),
    IdxFile("train-labels-idx1-ubyte.gz",
            "e38f9ebcd0f3ebcdec7fc8eabdcdaef93bb0df8ea12bee65224341c8183d8e17", 29_497),
    IdxFile("t10k-images-idx3-ubyte.gz",
            "edd7a857845ad6bb1d0ba43fe7e794d164fe2dce499a1694695a792adfac43c5", 3_041_136),
    IdxFile("t10k-labels-idx1-ubyte.gz",
            "20bb9a0ef54c7db3efc55a92eef5582c109615df22683c380526788f98e42a1c", 5_120),
)
