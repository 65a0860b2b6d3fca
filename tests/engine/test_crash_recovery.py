"""`kill -9` of a real build at ten points of its progress: no child outlives it, and the next build
reuses every finished step, redoes the rest, leaves no debris and makes the clean build's frames."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import frame_hashes, two_scene_spec, write_spec

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="children die with a build on Linux only")

BUILD = [sys.executable, "-m", "autostream_compiler", "build", "video.yaml", "--profile", "draft", "-j", "2"]
VIDEO = Path("out/video.draft.mp4")

# Where each build is killed: ("time", fraction of a clean build's wall time), ("steps", action records
# in the cache), ("ffmpeg", while the n-th ffmpeg child at work in the cache runs). The last point kills
# three builds in a row, each on top of what the one before left.
POINTS = {
    "time-0.1": [("time", 0.1)],
    "time-0.3": [("time", 0.3)],
    "time-0.5": [("time", 0.5)],
    "time-0.75": [("time", 0.75)],
    "steps-1": [("steps", 1)],
    "steps-4": [("steps", 4)],
    "steps-7": [("steps", 7)],
    "steps-9": [("steps", 9)],  # of ten or eleven
    "ffmpeg-2": [("ffmpeg", 2)],
    "three-kills": [("steps", 2), ("time", 0.3), ("ffmpeg", 1)],
}


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> tuple[list[str], float]:
    """A clean build into a fresh cache: its frames and how long it took (to place the time points)."""
    folder = tmp_path_factory.mktemp("clean")
    write_spec(folder, two_scene_spec())
    started = time.monotonic()
    subprocess.run(BUILD, cwd=folder, capture_output=True, check=True, timeout=300)
    return frame_hashes(folder / VIDEO), time.monotonic() - started


def _children(pid: int) -> list[int]:
    """The live child processes of pid (children of any of its threads)."""
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            found += [int(p) for p in task.read_text().split()]
        except OSError:
            continue
    return found


def _name(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def _exe(pid: int) -> str:
    """The program a process runs ("" once it has ended)."""
    try:
        return os.readlink(f"/proc/{pid}/exe")
    except OSError:
        return ""


def _args(pid: int) -> str:
    """A process's command line ("" once it has ended, or for a zombie)."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _uses(pid: int, folder: Path) -> bool:
    """Whether a live process works in folder or names it in its arguments (a zombie does neither)."""
    try:
        cwd = os.readlink(f"/proc/{pid}/cwd")
    except OSError:
        return False
    return cwd.startswith(str(folder)) or str(folder) in _args(pid)


def _processes_using(folder: Path) -> list[int]:
    """Live processes that work in folder or name it in their arguments."""
    return [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit() and _uses(int(p.name), folder)]


def _freeze(pid: int) -> bool:
    """Stop a process where it is (SIGSTOP); False when it has already ended."""
    try:
        os.kill(pid, signal.SIGSTOP)
        return True
    except ProcessLookupError:
        return False


def _kill_at(folder: Path, when: tuple[str, float], clean_seconds: float) -> int:
    """Start a build in folder and SIGKILL it at `when`; how many children it had then. Those children
    are frozen first, so that whether one survives does not depend on how much work it had left."""
    actions = folder / ".autostream" / "cache" / "actions"
    with open(folder / "killed.log", "ab") as log:
        build = subprocess.Popen(BUILD, cwd=folder, stdout=log, stderr=log)
    kind, amount = when
    started, seen, running = time.monotonic(), set(), False
    while build.poll() is None and time.monotonic() < started + 120 and not running:
        if kind == "time" and time.monotonic() - started >= amount * clean_seconds:
            break
        if kind == "steps" and len(list(actions.glob("*/*.json"))) >= amount:
            break
        if kind == "ffmpeg":
            for pid in set(_children(build.pid)) - seen:
                if _name(pid) == "ffmpeg" and _uses(pid, actions.parent):
                    seen.add(pid)
                    running = running or (len(seen) >= amount and _freeze(pid))  # killed while it runs
        time.sleep(0.005)
    # only children that run their tool: one frozen before setpriv made its request could never make it
    tools = [pid for pid in _children(build.pid) if _exe(pid) not in ("", _exe(build.pid), "/usr/bin/setpriv")]
    frozen = sum(_freeze(pid) for pid in tools)
    build.kill()
    build.wait()
    return frozen


def _survivors(project: Path) -> list[str]:
    """Processes still at work in the project (its cache included) once a dying child had its moment."""
    deadline = time.monotonic() + 5
    while (left := _processes_using(project)) and time.monotonic() < deadline:
        time.sleep(0.02)
    return [_args(pid)[:300] for pid in left]


# A process that runs a long child the way the runner does (from a worker thread that waits for it).
_PARENT = """
import sys, threading, time
from autostream_compiler import children
threading.Thread(target=children.run, args=(["sleep", "120"],), kwargs={"cwd": sys.argv[1]}).start()
time.sleep(120)
"""


def test_a_child_dies_with_its_parent_killed_by_sigkill(tmp_path):
    parent = subprocess.Popen([sys.executable, "-c", _PARENT, str(tmp_path)])
    try:
        deadline = time.monotonic() + 60
        while "sleep" not in [_name(pid) for pid in _children(parent.pid)]:  # forked, and exec'd
            assert time.monotonic() < deadline and parent.poll() is None
            time.sleep(0.01)
        parent.kill()
        parent.wait()
        assert not _survivors(tmp_path)
    finally:
        parent.kill()
        for pid in _processes_using(tmp_path):
            os.kill(pid, signal.SIGKILL)


@pytest.mark.parametrize("kills", POINTS.values(), ids=POINTS.keys())
def test_a_build_killed_anywhere_leaves_a_cache_the_next_build_trusts(tmp_path, clean, kills):
    frames, clean_seconds = clean
    write_spec(tmp_path, two_scene_spec())
    cache = tmp_path / ".autostream" / "cache"
    try:
        for when in kills:
            children = _kill_at(tmp_path, when, clean_seconds)
            assert children or when[0] != "ffmpeg", "the build ended before its ffmpeg child was seen"
            assert not _survivors(tmp_path), f"children of the build killed at {when} outlived it"
        finished = {p.stem for p in (cache / "actions").glob("*/*.json")}

        after = subprocess.run(
            [*BUILD, "--report", "report.json"], cwd=tmp_path, capture_output=True, text=True, timeout=300
        )
        assert after.returncode == 0, after.stderr
        steps = json.loads((tmp_path / "report.json").read_text())["steps"]
        assert finished <= {s["key"] for s in steps}
        for s in steps:
            assert s["status"] == ("cached" if s["key"] in finished else "built"), s
        assert frame_hashes(tmp_path / VIDEO) == frames

        # debris of the killed builds is swept by the next one
        assert not list((cache / "tmp").rglob("step-*")), "step folders of a dead build left in tmp/"
        assert not [p for d in ("objects", "actions") for p in (cache / d).rglob("*.tmp")], "temp files left"
    finally:
        for pid in _processes_using(tmp_path):  # a failed run leaves no frozen orphan behind
            os.kill(pid, signal.SIGKILL)
