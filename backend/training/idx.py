"""The IDX file format of MNIST and its relatives, gzipped or not.

An IDX file is a 4-byte magic number (two zero bytes, a type code, the number of
dimensions), one big-endian uint32 per dimension, then the values in C order.
"""

import gzip
import struct
import zlib
from pathlib import Path

import numpy as np

# Type codes of the format; every value is stored big-endian.
_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODES = {dt: code for code, dt in _DTYPES.items()}
_GZIP_MAGIC = b"\x1f\x8b"


class IdxError(ValueError):
    """The file is not a well-formed IDX file."""


def _raw_bytes(path: Path) -> bytes:
    data = path.read_bytes()
    # Sniff rather than trust the name: users rename and (un)zip files by hand.
    if data[:2] == _GZIP_MAGIC:
        try:
            return gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise IdxError(f"{path}: broken gzip data ({exc})") from None
    return data


def read_idx(path: Path) -> np.ndarray:
    """The array stored in ``path``, in native byte order."""
    data = _raw_bytes(path)
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _DTYPES:
        raise IdxError(f"{path}: not an IDX file (bad magic number)")
    dtype, ndim = _DTYPES[data[2]], data[3]
    header = 4 + 4 * ndim
    if ndim == 0 or len(data) < header:
        raise IdxError(f"{path}: truncated IDX header")
    shape = struct.unpack(f">{ndim}I", data[4:header])
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(data) - header != expected:
        raise IdxError(f"{path}: shape {shape} needs {expected} bytes of data, "
                       f"found {len(data) - header}")
    return np.frombuffer(data, dtype=dtype, offset=header).reshape(shape).astype(
        dtype.newbyteorder("="), copy=False)


def encode_idx(array: np.ndarray) -> bytes:
    """``array`` as the bytes of an IDX file (used to make small datasets, e.g. in tests)."""
    dtype = array.dtype.newbyteorder(">") if array.dtype.itemsize > 1 else array.dtype
    if dtype not in _CODES:
        raise IdxError(f"IDX cannot store {array.dtype}")
    return (bytes([0, 0, _CODES[dtype], array.ndim])
            + struct.pack(f">{array.ndim}I", *array.shape)
            + np.ascontiguousarray(array, dtype=dtype).tobytes())


def write_idx(path: Path, array: np.ndarray, gz: bool = False) -> None:
    body = encode_idx(array)
    path.write_bytes(gzip.compress(body) if gz else body)
