"""Child processes of a build (ffmpeg): tracked so that `stop_all` can end every one at once, and on
Linux bound to the build's life so that not even `kill -9` of the build leaves one running.

On Linux each child asks the kernel for SIGKILL when its parent dies (prctl PR_SET_PDEATHSIG), set
in the child between fork and exec. The kernel counts the *thread* that forked the child as its
parent, so the signal also fires when that thread ends while the process lives on; `run` forks and
then waits for its child in the same thread and reaps it before it returns or raises, so the forking
thread always outlives its child and the signal only ever fires when the whole process dies.

Elsewhere (macOS, the BSDs, Windows) there is no such request: children stay in the build's process
group, so a Ctrl-C at the terminal, or a signal to the group, reaches them too, and `stop_all` kills
every tracked one; but a child outlives a `kill -9` of the build alone and runs to its end (a Job
object with KILL_ON_JOB_CLOSE would cover it on Windows; macOS has no equivalent short of a watchdog).
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable

from autostream_compiler.errors import ToolError

_lock = threading.Lock()
_live: set[subprocess.Popen] = set()
_stopping = threading.Event()

_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def _find_prctl() -> Callable[..., int] | None:
    """libc's prctl with its argument types set, or None off Linux (or where it cannot be found)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None).prctl  # the symbols already loaded into this process: libc's
    except (OSError, AttributeError):
        return None
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    prctl.restype = ctypes.c_int
    return prctl


# Resolved once, at import, never in a forked child: between fork and exec the child may only do what
# needs no lock another thread could have held at the fork (no dlopen/dlsym, no imports).
_prctl = _find_prctl()


def _die_with(parent: int) -> Callable[[], None] | None:
    """The preexec_fn that makes a child get SIGKILL when `parent` dies, or None where that can't be asked."""
    if _prctl is None:
        return None
    prctl, kill, getppid, exit_now = _prctl, signal.SIGKILL.value, os.getppid, os._exit

    def in_child() -> None:  # runs in the forked child, just before exec: calls only, nothing imported
        prctl(_PR_SET_PDEATHSIG, kill, 0, 0, 0)
        if getppid() != parent:  # the parent died before the request was made: nobody will send it
            exit_now(1)

    return in_child


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
            preexec_fn=_die_with(os.getpid()),  # dies with this process (Linux)
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
