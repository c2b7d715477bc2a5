"""The IDX reader against files written both ways, and against broken ones."""

from pathlib import Path

import numpy as np
import pytest

from backend.training.idx import IdxError, encode_idx, read_idx, write_idx


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("array", [
    np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4),
    np.array([7, 0, 9], dtype=np.uint8),
    np.array([[1.5, -2.0]], dtype=np.float32),
    np.array([-3, 40000], dtype=np.int32),
])
def test_round_trip(tmp_path: Path, array: np.ndarray, gz: bool) -> None:
    path = tmp_path / ("a.idx.gz" if gz else "a.idx")
    write_idx(path, array, gz=gz)
    back = read_idx(path)
    assert back.shape == array.shape and back.dtype == array.dtype.newbyteorder("=")
    assert np.array_equal(back, array)


def test_mnist_header_layout(tmp_path: Path) -> None:
    """The bytes MNIST's train-images file starts with: magic 0x00000803, then N, 28, 28."""
    raw = encode_idx(np.zeros((5, 28, 28), dtype=np.uint8))
    assert raw[:16] == bytes.fromhex("00000803" "00000005" "0000001c" "0000001c")
    assert len(raw) == 16 + 5 * 28 * 28


@pytest.mark.parametrize(("raw", "reason"), [
    (b"PK\x03\x04 a zip file", "bad magic"),
    (bytes.fromhex("00000803") + b"\x00\x00", "truncated"),
    (bytes.fromhex("00000801" "00000004") + b"\x01\x02", "needs 4 bytes"),
    (b"\x1f\x8b\x08\x00 not really gzip", "broken gzip"),
])
def test_broken_files_are_named_with_the_reason(tmp_path: Path, raw: bytes, reason: str) -> None:
    path = tmp_path / "broken"
    path.write_bytes(raw)
    with pytest.raises(IdxError, match=reason) as err:
        read_idx(path)
    assert str(path) in str(err.value)
