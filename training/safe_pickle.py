"""Load pickled label files without letting them run code.

`pickle.load` will call any importable function a file names, so a label file from the internet is a program.
Our label pickles (First Impressions V2 annotations) are plain data: dicts of strings to numbers, written by
Python 2. This loader builds containers, strings and numbers only; any other global the file asks for is
refused before it is imported. The single exception is NumPy's numeric scalar (a float64 stored as dtype + raw
bytes), which is data, not code, and which Python 2 era label files commonly hold instead of a plain float.
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path
from typing import Any

import numpy as np

from training.cli import UserError


class UnsafePickleError(UserError):
    """A pickle file could not be read as plain data (it asks for code, or it is not a readable pickle)."""


# NumPy kinds we accept for scalars: bool, signed/unsigned int, float.
_NUMERIC_KINDS = frozenset("biuf")


def _numeric_dtype(*args: Any) -> np.dtype:
    """Rebuilds a pickled `numpy.dtype`, accepting numeric dtypes only."""
    dtype = np.dtype(*args)
    if dtype.kind not in _NUMERIC_KINDS:
        raise pickle.UnpicklingError(f"refused: it asks for the non-numeric NumPy dtype {dtype!s}")
    return dtype


def _numeric_scalar(dtype: np.dtype, data: bytes | str = b"") -> np.generic:
    """Rebuilds a pickled NumPy scalar from its dtype and raw bytes (Python 2 strings arrive as latin-1 text)."""
    if not isinstance(dtype, np.dtype) or dtype.kind not in _NUMERIC_KINDS:
        raise pickle.UnpicklingError("refused: it asks for a NumPy scalar that is not a number")
    raw = data.encode("latin1") if isinstance(data, str) else bytes(data)
    if len(raw) != dtype.itemsize:
        raise pickle.UnpicklingError(f"holds a NumPy {dtype!s} scalar of {len(raw)} bytes, not {dtype.itemsize}")
    return np.frombuffer(raw, dtype=dtype)[0]


# (module, name) → the safe stand-in we build instead. NumPy 1.x pickles name numpy.core, NumPy 2.x numpy._core.
_ALLOWED_GLOBALS = {
    ("numpy", "dtype"): _numeric_dtype,
    ("numpy.core.multiarray", "scalar"): _numeric_scalar,
    ("numpy._core.multiarray", "scalar"): _numeric_scalar,
}


class _PlainDataUnpickler(pickle.Unpickler):
    """An unpickler whose `find_class` hands out nothing but the numeric NumPy stand-ins above."""

    def find_class(self, module: str, name: str) -> Any:
        allowed = _ALLOWED_GLOBALS.get((module, name))
        if allowed is None:
            raise pickle.UnpicklingError(f"refused: it tries to load {module}.{name}")
        return allowed


def load_plain_pickle(path: str | Path) -> Any:
    """Reads a pickle that may only hold plain data (dicts, lists, tuples, strings, numbers).

    Python 2 pickles are read with `encoding="latin1"`, the documented way to load them in Python 3.

    Args:
        path: The pickle file.

    Returns:
        The unpickled object.

    Raises:
        UnsafePickleError: The file is missing, is not a pickle, is truncated, or asks to load a function or class
            (for example `os.system`); nothing the file names is imported or run.
    """
    path = Path(path)
    if not path.is_file():
        raise UnsafePickleError(f"{path}: no such pickle file.")
    payload = path.read_bytes()
    try:
        return _PlainDataUnpickler(io.BytesIO(payload), encoding="latin1").load()
    except pickle.UnpicklingError as error:
        message = str(error)
        if message.startswith("refused"):
            raise UnsafePickleError(f"{path}: pickle {message}, and only plain data is allowed.") from None
        raise UnsafePickleError(f"{path}: not a readable pickle ({message}).") from None
    except (EOFError, ValueError, TypeError, IndexError, KeyError, AttributeError, OverflowError, MemoryError) as error:
        # What a truncated or garbled stream raises part-way through; none of it means code ran.
        reason = str(error) or type(error).__name__
        raise UnsafePickleError(f"{path}: not a readable pickle ({reason}).") from None
