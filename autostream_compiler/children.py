"""Child processes of a build (ffmpeg): tracked so that `stop_all` can end every one at once, and on
Linux bound to the build's life so that not even `kill -9` of the build leaves one running.

On Linux each child is started through util-linux's `setpriv --pdeathsig KILL`, which asks the
kernel for SIGKILL when its parent dies (prctl PR_SET_PDEATHSIG) and then execs the tool; the
request survives the exec. The kernel counts the *thread* that forked the child as its parent, so
the signal would also fire if that thread ended while the process lives on; `run` starts its child
and waits for it in the same thread and reaps it before it returns or raises, so the forking thread
always outlives its child and the signal only fires when the whole process dies.

Why not a preexec_fn that calls prctl: running Python in the child between fork and exec deadlocks
when another thread holds a lock at the fork (it did, with whisper computing features on one thread
while the audio mix started ffmpeg on another). Python then cannot use its vfork/posix_spawn path
either. The wrapper leaves a window of a few microseconds (a parent killed between the fork and
setpriv's prctl) in which a child can outlive it.

Elsewhere (macOS, the BSDs, Windows), or without setpriv, children stay in the build's process
group, so a Ctrl-C at the terminal, or a signal to the group, reaches them too, and `stop_all` kills
every tracked one; but a child outlives a `kill -9` of the build alone and runs to its end.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading

from autostream_compiler.errors import ToolError

_lock = threading.Lock()
_live: set[subprocess.Popen] = set()
_stopping = threading.Event()

_SETPRIV = shutil.which("setpriv") if sys.platform.startswith("linux") else None
DIE_WITH_PARENT = [_SETPRIV, "--pdeathsig", "KILL", "--"] if _SETPRIV else []


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
            [*DIE_WITH_PARENT, *argv],  # dies with this process (Linux)
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
