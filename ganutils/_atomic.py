"""Atomic writes: a reader (or a parallel notebook) sees the old file or the new one, never half of one.

The one helper behind every cache and report file ganutils writes (history JSON, image caches, classifier
weights, download markers): write to a temporary name in the same folder, then ``os.replace`` it into place
(atomic on POSIX and Windows within one file system). The temporary name is unique per process and call, so
two processes writing the same file never share one; an error deletes it and leaves the old file untouched.

- ``write_bytes(path, data)``, ``write_text(path, text)``, ``write_json(path, obj, **json_dumps_kwargs)``
- ``replacing(path, suffix="")``: a context manager giving the temporary path, for writers that need a file
  name (``np.save``, ``model.save_weights``); ``suffix`` is what that writer insists on (``".npy"``,
  ``".weights.h5"``).
All create the parent folder and return the final path.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from pathlib import Path

__all__ = ["replacing", "write_bytes", "write_text", "write_json"]


@contextlib.contextmanager
def replacing(path, suffix=""):
    """Yield a temporary path beside ``path``; on normal exit it replaces ``path``, on error it is deleted."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}-{secrets.token_hex(4)}{suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_bytes(path, data) -> Path:
    """Write ``data`` (bytes) to ``path`` atomically."""
    with replacing(path) as tmp:
        with open(tmp, "wb") as f:
            f.write(data)
    return Path(path)


def write_text(path, text, encoding="utf-8") -> Path:
    """Write ``text`` to ``path`` atomically (UTF-8 by default)."""
    return write_bytes(path, text.encode(encoding))


def write_json(path, obj, **kwargs) -> Path:
    """Write ``json.dumps(obj, **kwargs)`` to ``path`` atomically. ``TypeError`` for objects JSON cannot hold
    (raised before anything is written)."""
    return write_text(path, json.dumps(obj, **kwargs))
