"""Child processes of a build (ffmpeg), tracked so that `stop_all` can end every one at once."""

from __future__ import annotations

import subprocess
import threading

from autostream_compiler.errors import ToolError

_lock = threading.Lock()
_live: set[subprocess.Popen] = set()
_stopping = threading.Event()


def run(
    argv: list[str], *, cwd=None, input: bytes | None = None, timeout: float | None = None
) -> subprocess.CompletedProcess:
    """Run argv to its end with stdout and stderr captured (bytes); stdin is `input` or nothing.

    Raises ToolError once `stop_all` was called, and subprocess.TimeoutExpired (the child killed)
    after `timeout` seconds."""
    with _lock:
        if _stopping.is_set():
            raise ToolError(f"{argv[0]} not started: stopping")
        proc = subprocess.Popen(
            argv,
            cwd=cwd,
            stdin=subprocess.DEVNULL if input is None else subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        _live.add(proc)
        if _stopping.is_set():  # stop_all ran while this one started: it may not have seen it
            proc.kill()
    try:
        out, err = proc.communicate(input, timeout=timeout)
    except BaseException:
        proc.kill()
        proc.communicate()
        raise
    finally:
        with _lock:
            _live.discard(proc)
    return subprocess.CompletedProcess(argv, proc.returncode, out, err)


def stop_all() -> None:
    """Kill every running child and refuse new ones (safe to call from a signal handler)."""
    _stopping.set()
    for proc in list(_live):
        proc.kill()
