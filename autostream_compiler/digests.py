"""Content keys: sha256 over canonical JSON of declared inputs."""

from __future__ import annotations

import hashlib
import json
import os
from functools import lru_cache
from typing import Any


def canonical(value: Any) -> Any:
    """Make a value hash-stable: floats become fixed decimal strings, tuples lists, keys strings."""
    if isinstance(value, bool) or value is None or isinstance(value, (int, str)):
        return value
    if isinstance(value, float):
        return f"{value:.6f}"
    if isinstance(value, dict):
        return {str(k): canonical(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [canonical(v) for v in value]
    raise TypeError(f"cannot hash a {type(value).__name__}; declare plain data as step inputs")


def digest(value: Any) -> str:
    """sha256 hex of the canonical JSON of a value (sorted keys, no whitespace)."""
    text = json.dumps(canonical(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def file_digest(path) -> str:
    """sha256 hex of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def stat_digest(path) -> str:
    """sha256 of a file, read again only when its size, mtime or inode changed (a watcher reads the
    same pictures and models on every build)."""
    st = os.stat(path)
    return _digest_of(str(path), st.st_size, st.st_mtime_ns, st.st_ino)


@lru_cache(maxsize=4096)
def _digest_of(path: str, size: int, mtime_ns: int, inode: int) -> str:
    return file_digest(path)
