"""Cache housekeeping: `cache info` (what the cache holds) and `cache gc` (bound it, least recently used first).

What gc removes:
- always: the tmp/ folders and temp files of dead processes (their lock is free), and damaged
  action records;
- after a grace period of an hour: blobs that no action record names (a build stores a step's blobs
  just before it records the step), temp files of unknown writers and old-style step folders;
- with `--older-than AGE`: every action record not used for AGE, then the blobs no remaining record
  names;
- with `--max-size SIZE`: action records, least recently used first (a record's mtime is its last
  use), each with the blobs no remaining record names, until the cache fits in SIZE.

What gc never removes (the protection rule):
1. what the latest build of a spec needs: the action keys in `state/*.json` (written by each build,
   one per spec and profile) of every spec whose file still exists, and the blobs they name;
2. what a running autostream process is using: each process holds a lock in `tmp/<owner>/` for its
   life and touches it whenever it opens the cache (each build does), and every record or blob used
   after the oldest such stamp is kept, as is everything in a live process's tmp folder.
So the cache may stay above `--max-size` when pinned entries alone exceed it; the summary says so.

Removal is safe for concurrent readers: a record is removed (after checking it was not used since
the scan) before its blobs, and a build that finds a record whose blob is gone runs the step again.
"""

from __future__ import annotations

import json
import math
import os
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from autostream_compiler.engine.cache import (
    OWNER_LOCK,
    is_live,
    is_temp,
    own_owner_ids,
    owner_folders,
    remove_dead_owner,
    remove_path,
    temp_owner,
    write_error,
)
from autostream_compiler.errors import UserError

GRACE = 3600.0  # seconds an unreferenced blob or an unknown temp file is left alone (a build may be mid-step)
# watch's default cap. Measured on specs/examples/volcano-script.yaml (56 s, 6 scenes): a cold build
# stores 26 MB as a 360p draft (17 MB of it the six 1080p pictures) and 49 MB as a 1080p final; an
# edit of one scene's narration adds about 4 MB to a draft (its speech, segment and joins, the audio
# and the joined video). 1 GB keeps a few hundred such draft edits, the last ~20 cold final builds of a
# one-minute video, or the last few of a ten-minute one.
WATCH_MAX_SIZE = 1_000_000_000

_UNITS = {"": 1, "B": 1, "K": 10**3, "KB": 10**3, "M": 10**6, "MB": 10**6, "G": 10**9, "GB": 10**9, "T": 10**12}
_UNITS["TB"] = 10**12
_AGES = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


# --- options -------------------------------------------------------------------------------------


def parse_size(text: str, option: str = "--max-size") -> int:
    """Bytes from `500MB`, `2GB`, `1.5TB`, `800KB` or plain bytes (decimal units: 1 GB = 1000 MB)."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*", text)
    unit = match and match.group(2).upper()
    if not match or unit not in _UNITS:
        raise UserError(
            f"{option} {text!r}: not a size; write a number with B, KB, MB, GB or TB, e.g. 500MB or 2GB "
            "(decimal units: 1 GB = 1000 MB)"
        )
    size = float(match.group(1)) * _UNITS[unit]
    if not math.isfinite(size) or size > 2**63:
        raise UserError(f"{option} {text[:40]!r}: too large; give a size up to a few TB, e.g. 2TB")
    return int(size)


def parse_age(text: str, option: str = "--older-than") -> float:
    """Seconds from `30d`, `12h`, `90m`, `45s` or `2w`."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*", text, re.IGNORECASE)
    if not match:
        raise UserError(
            f"{option} {text!r}: not an age; write a number with s, m, h, d or w (seconds, minutes, hours, "
            "days, weeks), e.g. 12h or 30d"
        )
    return float(match.group(1)) * _AGES[match.group(2).lower()]


def format_size(size: float) -> str:
    """`512 B`, `12.3 MB`, `1.2 GB` (decimal units)."""
    for unit, factor in (("TB", 10**12), ("GB", 10**9), ("MB", 10**6), ("KB", 10**3)):
        if abs(size) >= factor:
            return f"{size / factor:.1f} {unit}"
    return f"{int(size)} B"


# --- scanning ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """A file (or folder) of the cache: its size and last use (mtime; ns for re-checking)."""

    path: Path
    size: int
    used: float
    stamp: int = 0
    kind: str = ""  # for leftovers: dead (a dead process's folder), temp, damaged, stray


@dataclass
class Scan:
    """What a cache holds, as gc decides on it."""

    now: float
    actions: dict[str, Entry] = field(default_factory=dict)
    refs: dict[str, frozenset[str]] = field(default_factory=dict)  # key -> digests its record names
    blobs: dict[str, Entry] = field(default_factory=dict)
    leftovers: list[Entry] = field(default_factory=list)
    other: int = 0  # bytes gc never removes: state files, live processes' folders and temp files
    live: dict[str, float] = field(default_factory=dict)  # running process (owner id) -> its stamp
    pinned: set[str] = field(default_factory=set)
    pinned_specs: int = 0  # specs (any profile) whose latest build pins entries

    @property
    def total(self) -> int:
        return (
            sum(e.size for e in self.actions.values())
            + sum(e.size for e in self.blobs.values())
            + sum(e.size for e in self.leftovers)
            + self.other
        )


def _entry(path: Path, kind: str = "") -> Entry:
    st = path.stat()
    return Entry(path, st.st_size, st.st_mtime, st.st_mtime_ns, kind)


def _tree(path: Path, kind: str) -> Entry:
    """A folder as one entry: the bytes of its files, its newest mtime."""
    st = path.stat()
    size, newest, stamp = 0, st.st_mtime, st.st_mtime_ns
    for base, _, files in os.walk(path):
        for name in files:
            try:
                st = os.lstat(os.path.join(base, name))
            except OSError:
                continue
            size += st.st_size
            newest = max(newest, st.st_mtime)
    return Entry(path, size, newest, stamp, kind)


def _listing(folder: Path) -> list[Path]:
    try:
        return sorted(folder.iterdir())
    except (FileNotFoundError, NotADirectoryError):
        return []


def check_root(root: Path) -> bool:
    """Whether root holds a cache (False when there is no folder); a folder that is not a cache is refused."""
    if not root.exists():
        return False
    if not (root / "objects").is_dir() or not (root / "actions").is_dir():
        raise UserError(
            f"{root} is not an autostream cache (it has no objects/ and actions/ folders); give the cache "
            "folder with --cache-dir (a build's default is .autostream/cache beside its spec)"
        )
    return True


def scan(root: Path, read_records: bool = True, grace: float = GRACE) -> Scan:
    """Stat everything in the cache; with `read_records`, also read which blobs each action names."""
    found = Scan(now=time.time())
    old = found.now - grace

    owners = set(owner_folders(root / "tmp"))
    for folder in owners:
        try:
            if is_live(folder):
                entry = _tree(folder, "live")
                found.other += entry.size
                lock = folder / OWNER_LOCK
                found.live[folder.name] = lock.stat().st_mtime if lock.exists() else entry.used
            else:
                found.leftovers.append(_tree(folder, "dead"))
        except FileNotFoundError:
            continue  # its process ended meanwhile
    for path in _listing(root / "tmp"):
        if path in owners:
            continue
        try:
            entry = _tree(path, "stray") if path.is_dir() else _entry(path, "stray")
        except FileNotFoundError:
            continue
        if path.name.startswith("step-") and entry.used < old:  # step folders of autostream before owners
            found.leftovers.append(entry)
        else:
            found.other += entry.size
    live = found.live.keys()
    specs: set[str] = set()

    def temp(path: Path) -> None:
        try:
            entry = _entry(path, "temp")
        except FileNotFoundError:
            return
        owner = temp_owner(path.name)
        if owner in live or (owner is None and entry.used >= old):
            found.other += entry.size
        else:
            found.leftovers.append(entry)

    for sub in _listing(root / "objects"):
        for path in _listing(sub):
            if is_temp(path.name):
                temp(path)
            elif not path.name.startswith(".") and path.is_file():
                try:
                    found.blobs[path.name] = _entry(path)
                except FileNotFoundError:
                    pass
    for sub in _listing(root / "actions"):
        for path in _listing(sub):
            if is_temp(path.name):
                temp(path)
            elif path.suffix == ".json" and not path.name.startswith("."):
                _scan_action(found, path, read_records)
    for path in _listing(root / "state"):
        if is_temp(path.name):
            temp(path)
        elif path.suffix == ".json":
            try:
                found.other += path.stat().st_size
                state = json.loads(path.read_bytes())
                if Path(state["spec"]).is_file():
                    found.pinned |= {step["key"] for step in state["steps"].values() if step.get("key")}
                    specs.add(state["spec"])
            except (OSError, ValueError, KeyError, TypeError, AttributeError):
                pass  # a state file gc cannot read pins nothing
    found.pinned_specs = len(specs)
    return found


def _scan_action(found: Scan, path: Path, read_records: bool) -> None:
    try:
        entry = _entry(path)
        if read_records:
            record = json.loads(path.read_bytes())
            found.refs[path.stem] = frozenset(out["digest"] for out in record["outputs"].values())
    except FileNotFoundError:
        return
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        found.leftovers.append(Entry(entry.path, entry.size, entry.used, entry.stamp, "damaged"))
        return
    found.actions[path.stem] = entry


# --- deciding ------------------------------------------------------------------------------------


@dataclass
class Plan:
    """What gc removes: action keys (least recently used first), blob digests and leftovers."""

    actions: list[str]
    blobs: list[str]
    leftovers: list[Entry]
    size_after: int


def plan(found: Scan, max_size: int | None = None, older_than: float | None = None, grace: float = GRACE) -> Plan:
    """Decide what to remove under the protection rule (see the module docstring); changes nothing."""
    bound = min(found.live.values(), default=math.inf)  # used after this: a running process may need it
    refs = Counter(d for digests in found.refs.values() for d in digests if d in found.blobs)
    size = found.total - sum(e.size for e in found.leftovers)
    blobs: list[str] = []

    def free_blob(d: str) -> None:
        nonlocal size
        blobs.append(d)
        size -= found.blobs[d].size

    for d, blob in found.blobs.items():
        if refs[d] == 0 and blob.used < min(bound, found.now - grace):
            free_blob(d)
    evicted: list[str] = []
    candidates = sorted(
        (k for k, e in found.actions.items() if k not in found.pinned and e.used < bound),
        key=lambda k: (found.actions[k].used, k),
    )
    for key in candidates:
        stale = older_than is not None and found.actions[key].used < found.now - older_than
        if not stale and (max_size is None or size <= max_size):
            break
        evicted.append(key)
        size -= found.actions[key].size
        for d in found.refs.get(key, ()):
            if d in found.blobs:
                refs[d] -= 1
                if refs[d] == 0 and found.blobs[d].used < bound:
                    free_blob(d)
    return Plan(evicted, blobs, list(found.leftovers), size)


# --- removing ------------------------------------------------------------------------------------


@dataclass
class GcReport:
    """What a gc removed (or, dry, would remove) and what is left."""

    root: Path
    dry_run: bool
    actions: int
    objects: int
    leftovers: int
    freed: int
    size_after: int
    max_size: int | None = None
    pinned_specs: int = 0
    running: int = 0

    @property
    def over_cap(self) -> bool:
        return self.max_size is not None and self.size_after > self.max_size

    def summary(self) -> str:
        """One line: what was freed, the size now, and why it is still above the cap if it is."""
        parts = [
            f"{n} {what if n == 1 else what + 's'}"
            for n, what in ((self.actions, "action"), (self.objects, "object"), (self.leftovers, "leftover"))
            if n
        ]
        if parts:
            listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
            freed = format_size(self.freed)
            line = f"would remove {listed}: would free {freed}" if self.dry_run else f"removed {listed}: freed {freed}"
        else:
            line = "nothing to remove"
        line += f"; the cache {'would be' if self.dry_run and parts else 'is'} {format_size(self.size_after)}"
        if self.over_cap:
            n, running = self.pinned_specs, self.running
            held = [f"the latest build{'s' * (n != 1)} of {n} spec{'s' * (n != 1)}"]
            if running:
                held.append(f"{running} running autostream process{'es' * (running != 1)}")
            line += (
                f", above --max-size {format_size(self.max_size)}: the rest is needed by {' and '.join(held)} "
                "and is never removed"
            )
        return line


def apply(found: Scan, decided: Plan) -> tuple[int, int, int, int]:
    """Remove what was decided: records first (each re-checked as unused since the scan), then the
    blobs no kept record names, then leftovers. Returns (actions, objects, leftovers, bytes) removed."""
    freed = 0
    removed: set[str] = set()
    for key in decided.actions:
        entry = found.actions[key]
        try:
            if entry.path.stat().st_mtime_ns != entry.stamp:
                continue  # used meanwhile: keep it and its blobs
            entry.path.unlink()
        except FileNotFoundError:
            continue
        removed.add(key)
        freed += entry.size
    users: dict[str, list[str]] = {}
    for key in decided.actions:
        for d in found.refs.get(key, ()):
            users.setdefault(d, []).append(key)
    blobs = 0
    for d in decided.blobs:
        entry = found.blobs[d]
        if any(k not in removed for k in users.get(d, ())):
            continue
        try:
            if entry.path.stat().st_mtime_ns != entry.stamp:
                continue  # stored again meanwhile
            entry.path.unlink()
        except FileNotFoundError:
            continue
        blobs += 1
        freed += entry.size
    leftovers = 0
    for entry in decided.leftovers:
        if entry.kind == "dead":
            if not remove_dead_owner(entry.path):
                continue
        elif entry.path.exists():
            remove_path(entry.path)
        else:
            continue
        leftovers += 1
        freed += entry.size
    return len(removed), blobs, leftovers, freed


def collect(
    root: Path, max_size: int | None = None, older_than: float | None = None, dry_run: bool = False
) -> GcReport:
    """Garbage-collect a cache folder (see the module docstring for what goes and what stays)."""
    root = Path(root).absolute()
    if not check_root(root):
        return GcReport(root, dry_run, 0, 0, 0, 0, 0, max_size)
    found = scan(root)
    decided = plan(found, max_size, older_than)
    if dry_run:
        counts = (
            len(decided.actions),
            len(decided.blobs),
            len(decided.leftovers),
            found.total - decided.size_after,
        )
    else:
        try:
            counts = apply(found, decided)
        except OSError as exc:  # a read-only cache, say
            raise write_error(root, exc) from None
    size_after = found.total - counts[3]
    others = len(found.live.keys() - own_owner_ids())
    return GcReport(root, dry_run, *counts, size_after, max_size, found.pinned_specs, others)


# --- info ----------------------------------------------------------------------------------------


@dataclass
class CacheInfo:
    """What `cache info` prints."""

    root: Path
    exists: bool
    size: int = 0
    objects: int = 0
    object_bytes: int = 0
    actions: int = 0
    oldest: float | None = None
    newest: float | None = None
    pinned: int = 0
    pinned_specs: int = 0
    running: int = 0
    leftovers: int = 0
    leftover_bytes: int = 0

    def lines(self) -> list[str]:
        """The report, a fact per line."""
        if not self.exists:
            return [f"{self.root}: no cache here yet (nothing has been built with this cache folder)"]

        def when(t: float) -> str:
            return time.strftime("%Y-%m-%d %H:%M", time.localtime(t))

        used = f", last used {when(self.oldest)} (oldest) to {when(self.newest)} (newest)" if self.actions else ""
        lines = [
            f"{self.root}: {format_size(self.size)}",
            f"  objects    {self.objects} ({format_size(self.object_bytes)})",
            f"  actions    {self.actions}{used}",
            f"  pinned     {self.pinned} action{'s' * (self.pinned != 1)} needed by the latest "
            f"build{'s' * (self.pinned_specs != 1)} of {self.pinned_specs} spec{'s' * (self.pinned_specs != 1)} "
            "(gc keeps them)"
            if self.pinned_specs
            else "  pinned     nothing (no latest build of an existing spec is recorded here)",
            f"  running    {self.running} process{'es' * (self.running != 1)} using the cache",
        ]
        if self.leftovers:
            lines.append(
                f"  leftovers  {self.leftovers} ({format_size(self.leftover_bytes)}): "
                "`autostream cache gc` removes them"
            )
        return lines


def info(root: Path) -> CacheInfo:
    """Size, objects, actions, first and last use, pins, running processes and leftovers of a cache."""
    root = Path(root).absolute()
    if not check_root(root):
        return CacheInfo(root, False)
    found = scan(root, read_records=False)
    uses = [e.used for e in found.actions.values()]
    return CacheInfo(
        root=root,
        exists=True,
        size=found.total,
        objects=len(found.blobs),
        object_bytes=sum(e.size for e in found.blobs.values()),
        actions=len(found.actions),
        oldest=min(uses, default=None),
        newest=max(uses, default=None),
        pinned=len(found.pinned & found.actions.keys()),
        pinned_specs=found.pinned_specs,
        running=len(found.live),
        leftovers=len(found.leftovers),
        leftover_bytes=sum(e.size for e in found.leftovers),
    )
