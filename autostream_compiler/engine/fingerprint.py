"""The no-op fast path: a build that would find every step in the cache and place the same files is
answered from a fingerprint of the last build, without reading the spec or planning.

After a successful build whose every step is in the cache, `remember` writes `noop/<key>.json` in
the cache: the stats (size, mtime, ctime) of every file the build read, of the files it placed and
of the package's own files and installed distributions; the sizes of the cache entries it used;
the options, working folder, Python and environment it ran with; and the report a no-op writes.
`replay` (which imports nothing heavy) checks all of that and, when nothing differs, writes that
report; any difference, or a file it cannot stat, means a real build. Stats rather than digests
keep the check in milliseconds; ctime cannot be set back by hand, so an edit is always seen. As
with git's racy index, a file whose ctime is not clearly before the build started is not trusted
(it may have changed after the build read it, within one tick of the file system's clock): such a
build leaves no fingerprint, and the next no-op, a full one, leaves it.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from autostream_compiler.atomic import write_if_changed
from autostream_compiler.digests import digest
from autostream_compiler.engine.cache import touch
from autostream_compiler.env import process_env

if TYPE_CHECKING:
    from autostream_compiler.engine.cache import Store
    from autostream_compiler.engine.runner import Step

FOLDER = "noop"
FINE_TICK_NS = 100_000_000  # more than a tick of the kernel's coarse clock, which stamps files
COARSE_TICK_NS = 2_000_000_000  # file systems that keep whole seconds (FAT keeps two)
_PACKAGE_DIR = Path(__file__).resolve().parent.parent
_SYSTEM_PACKAGES = Path("/var/lib/dpkg/status")  # changes when apt upgrades ffmpeg's libraries, not its binary
_SHELL_VARS = frozenset({"_", "OLDPWD", "SHLVL"})  # the shell's bookkeeping, read by no build


def context(spec: Path, output: Path | None, cache_dir: Path | None, profile: str, strict: bool) -> dict:
    """What besides files decides a build's result: its options, the folder relative paths start
    from, the Python and the modules it imports, the environment, the ffmpeg on PATH."""
    env = {name: value for name, value in process_env().items() if name not in _SHELL_VARS}
    return {
        "spec": str(Path(spec).resolve()),
        "output": None if output is None else str(output),
        "cache_dir": None if cache_dir is None else str(cache_dir),
        "profile": profile,
        "strict": strict,
        "cwd": os.getcwd(),
        "python": [sys.executable, sys.version, *sys.path],
        "env": digest(sorted(env.items())),
        "ffmpeg": shutil.which("ffmpeg"),
    }


def fingerprint_path(root: Path, ctx: dict) -> Path:
    """Where the fingerprint of builds of one spec to one output with one profile lives in the cache `root`."""
    return root / FOLDER / f"{digest([ctx['spec'], ctx['output'], ctx['cwd'], ctx['profile']])[:16]}.json"


def replay(root: Path, ctx: dict, report: Path | None) -> dict | None:
    """The report of the last build when a build now would change nothing (written to `report` as a
    build writes it, and the cache entries marked as used); None when anything differs."""
    try:
        saved = json.loads(fingerprint_path(root, ctx).read_bytes())
        if saved["context"] != ctx:
            return None
        if any(_stat(path) != stat for path, stat in saved["files"].items()):
            return None
        entries = {**saved["actions"], **saved["blobs"]}
        if any(_size(path) != size for path, size in entries.items()):
            return None
        result = saved["report"]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    for path in saved["actions"]:
        touch(path)  # as a cache hit does: `cache gc` removes least recently used entries first
    if report:
        write_if_changed(report, json.dumps(result, indent=2) + "\n")
    return result


def remember(
    store: Store,
    ctx: dict,
    steps: list[Step],
    read: Iterable[Path],
    placed: Iterable[Path],
    report: dict,
    started_ns: int,
) -> None:
    """Write the fingerprint of a finished build when a build now would find every step in the cache
    and no file it read changed after it started (`started_ns`); else remove an older one."""
    path = fingerprint_path(store.root, ctx)
    entries = _entries(store, steps)
    files = {str(p): _stat(p) for p in [*_expand([*read, _PACKAGE_DIR]), *_site_folders(), _SYSTEM_PACKAGES]}
    if entries is None or any(_racy(stat, started_ns) for stat in files.values()):
        path.unlink(missing_ok=True)
        return
    files |= {str(p): _stat(p) for p in placed}
    saved = {"context": ctx, "files": files, **entries, "report": noop_report(report)}
    path.parent.mkdir(parents=True, exist_ok=True)
    write_if_changed(path, json.dumps(saved) + "\n")


def noop_report(report: dict) -> dict:
    """The report of a build that finds every step in the cache: each step `cached` from `local` in
    no time, without the warnings or worker of the run that made it."""
    rows = []
    for row in report["steps"]:
        row = {k: v for k, v in row.items() if k not in ("warnings", "worker", "error")}
        rows.append({**row, "status": "cached", "seconds": 0.0, "from": "local"})
    return {**report, "steps": rows}


def _entries(store: Store, steps: list[Step]) -> dict | None:
    """The sizes of the action records and blobs a no-op would take from the cache; None when a step
    is not recorded there (a failed or uncacheable one runs again)."""
    actions, blobs = {}, {}
    for step in steps:
        if step.status not in ("built", "cached") or step.key is None:
            return None
        record = store.action_path(step.key)
        actions[str(record)] = _size(record)
        if actions[str(record)] is None:
            return None
        for out in step.outputs.values():
            blobs[str(store.object_path(out["digest"]))] = out["size"]
    return {"actions": actions, "blobs": blobs}


def _site_folders() -> list[Path]:
    """The site-packages folders: installing or upgrading a distribution replaces its dist-info
    folder there, which changes the folder's mtime (step keys hold the versions of engines)."""
    return [Path(p) for p in sys.path if Path(p).name in ("site-packages", "dist-packages")]


def _expand(paths: Iterable[Path]) -> list[Path]:
    """The paths, with every file and folder under the folders among them (a folder's stats do not
    change when a file in it is rewritten)."""
    found = []
    for path in paths:
        if not os.path.isdir(path):
            found.append(path)
            continue
        for folder, dirs, names in os.walk(path):
            dirs[:] = [d for d in dirs if d != "__pycache__"]
            found += [Path(folder), *(Path(folder, name) for name in names)]
    return found


def _racy(stat: list[int] | None, started_ns: int) -> bool:
    """Whether a file's last change (ctime) may have come after `started_ns`, given its file
    system's clock: whole-second stamps mean a coarse one."""
    if stat is None:
        return False
    changed = stat[2]
    tick = COARSE_TICK_NS if changed % 1_000_000_000 == 0 else FINE_TICK_NS
    return changed >= started_ns - tick


def _stat(path) -> list[int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns]


def _size(path) -> int | None:
    try:
        return os.stat(path).st_size
    except OSError:
        return None
