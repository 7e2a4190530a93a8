"""The IDX file format of (Fashion-)MNIST: read and write numpy arrays, gzipped or raw.

An IDX file is a 4-byte magic number (two zero bytes, a dtype code, the number of dimensions),
one big-endian uint32 per dimension, then the values in C order, multi-byte values big-endian.
Whether a file is gzipped is read from its first two bytes (1f 8b), never from its name.

>>> import numpy as np, tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), "demo-idx2-ubyte.gz")
>>> write_idx(path, np.arange(6, dtype=np.uint8).reshape(2, 3))
>>> read_idx(path)
array([[0, 1, 2],
       [3, 4, 5]], dtype=uint8)
"""
import gzip
import struct
import zlib
from pathlib import Path

import numpy as np

from minidl.errors import DatasetError
from minidl.files import write_bytes

# IDX dtype code -> big-endian numpy dtype, as the format stores values.
DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODES = {dtype.newbyteorder("="): code for code, dtype in DTYPES.items()}
_GZIP_MAGIC = b"\x1f\x8b"
_FIX = "delete it and download or copy it again"


def read_idx(path) -> np.ndarray:
    """Return the array stored in the IDX file at `path` (gzipped or raw), in native byte order.

    Raises DatasetError naming the file and the problem: missing, bad magic or dtype code,
    truncated or corrupt gzip, or a payload that does not match the declared dimensions.
    The whole file is checked before any array is returned; the result is writable and owns its
    memory (one copy, from the file's bytes).
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise DatasetError(f"IDX file {path} does not exist") from None
    except OSError as e:
        raise DatasetError(f"cannot read IDX file {path}: {e.strerror or e}") from None
    if data[:2] == _GZIP_MAGIC:
        try:
            data = gzip.decompress(data)
        except (EOFError, zlib.error, gzip.BadGzipFile, OSError) as e:
            raise DatasetError(
                f"IDX file {path} is a truncated or corrupt gzip file ({str(e) or type(e).__name__}); "
                f"{_FIX}"
            ) from None
    return _parse(path, data)


def _parse(path: Path, data: bytes) -> np.ndarray:
    """Return the array encoded by the decompressed IDX bytes `data` read from `path`."""
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise DatasetError(
            f"{path} is not an IDX file (bad magic number {data[:4].hex() or 'none'}: "
            f"an IDX file starts with two zero bytes); {_FIX}"
        )
    code, ndim = data[2], data[3]
    if code not in DTYPES:
        known = ", ".join(f"0x{c:02X}" for c in DTYPES)
        raise DatasetError(f"{path} has unknown IDX dtype code 0x{code:02X} (known: {known}); {_FIX}")
    if ndim < 1:
        raise DatasetError(f"{path} declares 0 dimensions; an IDX array has at least 1; {_FIX}")
    offset = 4 + 4 * ndim
    if len(data) < offset:
        raise DatasetError(
            f"{path} is truncated inside its header ({len(data)} bytes, header needs {offset}); {_FIX}"
        )
    shape = struct.unpack(f">{ndim}I", data[4:offset])
    dtype = DTYPES[code]
    expected = dtype.itemsize
    for n in shape:  # Python ints: a forged header cannot overflow
        expected *= n
    actual = len(data) - offset
    if actual != expected:
        what = "truncated" if actual < expected else "followed by trailing bytes"
        raise DatasetError(
            f"{path} is {what}: its header declares shape {shape} of {dtype.newbyteorder('=').name} "
            f"({expected} bytes of values) but it holds {actual}; {_FIX}"
        )
    # frombuffer is a read-only view of the bytes; astype makes the one copy (native, writable).
    values = np.frombuffer(data, dtype=dtype, offset=offset).reshape(shape)
    return values.astype(dtype.newbyteorder("="), copy=True)


def write_idx(path, array, compress=None) -> None:
    """Write `array` to `path` as an IDX file, gzipped when `compress` (None: the name ends in .gz).

    Only uint8, int8, int16, int32, float32 and float64 arrays with at least one dimension fit
    the format. The file appears atomically (written beside it, then renamed).
    """
    path = Path(path)
    array = np.asarray(array)
    code = _CODES.get(array.dtype.newbyteorder("="))
    if code is None:
        raise DatasetError(
            f"cannot write a {array.dtype} array to IDX file {path}: the format holds only "
            "uint8, int8, int16, int32, float32 and float64; convert it with .astype() first"
        )
    if array.ndim < 1 or array.ndim > 255 or any(n >= 2**32 for n in array.shape):
        raise DatasetError(
            f"cannot write an array of shape {array.shape} to IDX file {path}: "
            "it needs 1 to 255 dimensions, each below 2**32"
        )
    header = struct.pack(f">BBBB{array.ndim}I", 0, 0, code, array.ndim, *array.shape)
    data = header + array.astype(DTYPES[code], copy=False).tobytes(order="C")
    if compress is None:
        compress = path.name.endswith(".gz")
    if compress:
        data = gzip.compress(data, compresslevel=6, mtime=0)  # mtime 0: same array, same bytes
    write_bytes(path, data)
