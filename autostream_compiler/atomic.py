"""Atomic file writes: a temp file beside the target, renamed into place; never half-written."""

from __future__ import annotations

import glob
import os
import secrets
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from autostream_compiler.errors import write_failed

_umask = os.umask(0)
os.umask(_umask)


def replace_with(path: Path, fill: Callable[[str], None], tag: str | None = None) -> None:
    """Write `path` through a unique temp file beside it, filled by `fill(temp_name)` and renamed into
    place: a reader sees the old file or the new one, never part of one, and a failure leaves no temp
    file. `tag` goes into the temp file's name (`.<stem>.<tag>.*.tmp`) to say whose it is."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # a prefix of our own, so that a Ctrl-C landing inside mkstemp (file made, name not yet returned)
    # still finds the file to remove
    prefix = (f".{path.name.split('.')[0]}.{tag}." if tag else f".{path.name}.") + secrets.token_hex(4)
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=prefix, suffix=".tmp")
        os.close(fd)
        fill(tmp)
        os.chmod(tmp, 0o666 & ~_umask)
        os.replace(tmp, path)
    except BaseException:
        for left in path.parent.glob(f"{glob.escape(prefix)}*.tmp"):
            left.unlink(missing_ok=True)
        raise


def _write(path: Path, fill: Callable[[str], None]) -> None:
    try:
        replace_with(path, fill)
    except OSError as exc:
        raise write_failed(str(path), exc) from None


def write_text(path: Path, text: str) -> None:
    """Write text to path atomically."""
    _write(Path(path), lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def write_bytes(path: Path, data: bytes) -> None:
    """Write bytes to path atomically."""
    _write(Path(path), lambda tmp: Path(tmp).write_bytes(data))


def copy_file(src: Path, path: Path) -> None:
    """Copy a file to path atomically."""
    _write(Path(path), lambda tmp: shutil.copyfile(src, tmp))


def write_if_changed(path: Path, text: str) -> bool:
    """Atomically write text unless the file already holds exactly that; True when written."""
    try:
        if Path(path).read_text(encoding="utf-8") == text:
            return False
    except (OSError, UnicodeDecodeError):  # missing, or not a readable text file: writing says what is wrong
        pass
    write_text(path, text)
    return True


STALE = 600.0  # seconds after which a temp file beside an output is a dead writer's (a write takes seconds)


def sweep_temps(path: Path) -> None:
    """Remove temp files that writers of `path` killed mid-write left beside it (older than STALE)."""
    path = Path(path)
    try:
        for temp in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
            if time.time() - temp.stat().st_mtime > STALE:
                temp.unlink(missing_ok=True)
    except OSError:
        pass  # a folder we cannot list or clean is no reason to fail a build
