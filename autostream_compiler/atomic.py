"""Atomic file writes: a temp file beside the target, renamed into place; never half-written."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

_UMASK = os.umask(0)
os.umask(_UMASK)


def _replace_with(path: Path, fill) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        fill(tmp)
        os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text(path: Path, text: str) -> None:
    """Write text to path atomically."""
    _replace_with(Path(path), lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def write_bytes(path: Path, data: bytes) -> None:
    """Write bytes to path atomically."""
    _replace_with(Path(path), lambda tmp: Path(tmp).write_bytes(data))


def copy_file(src: Path, path: Path) -> None:
    """Copy a file to path atomically."""
    _replace_with(Path(path), lambda tmp: shutil.copyfile(src, tmp))


def write_if_changed(path: Path, text: str) -> bool:
    """Atomically write text unless the file already holds exactly that; True when written."""
    try:
        if Path(path).read_text(encoding="utf-8") == text:
            return False
    except (FileNotFoundError, UnicodeDecodeError):
        pass
    write_text(path, text)
    return True
