"""The cache: an action cache (step key -> output digests) over a content-addressed blob store.

A cache folder holds `objects/ab/<digest>` (blobs named by the sha256 of their bytes),
`actions/ab/<key>.json` (what a step key produced), `state/*.json` (what the latest build of each
spec ran; written by the build) and `tmp/<owner>/` (one folder per process using the cache).

It is safe for threads, processes and machines sharing the folder (NFS with working locks too):
- Every file is written under a unique temp name (mkstemp) in its destination folder, tagged with
  its writer's owner id, and renamed into place: a reader never sees a partial file, and writers of
  the same blob all succeed (a blob that appears meanwhile holds the same bytes).
- An action is recorded only after its blobs are stored, and a record whose blob is missing or of
  another size is a miss; so removing a record and then its blobs (as `cache gc` does) is safe for
  readers: a build that loses the race runs the step again.
- Each process holds an exclusive flock on `tmp/<owner>/owner.lock` for its whole life; the kernel
  releases it when the process dies, even by kill -9. A folder whose lock can be taken belongs to a
  dead process: opening a Store removes it and the dead owner's temp files, never a live owner's.
- An action record's mtime is its last use (touched on every hit and put): `cache gc` evicts the
  least recently used first. The owner lock's mtime is touched whenever a process opens the cache
  (each build does): what was used after it is in use by that process, and gc keeps it.
"""

from __future__ import annotations

import atexit
import errno
import fcntl
import json
import os
import re
import secrets
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from autostream_compiler.atomic import replace_with
from autostream_compiler.digests import file_digest
from autostream_compiler.errors import AutostreamError, BuildError, UserError, write_failed

OWNER_LOCK = "owner.lock"
OWNER_ID = re.compile(r"[A-Za-z0-9_-]{1,40}-[0-9]+-[0-9a-f]{8}")
if TYPE_CHECKING:
    from autostream_compiler.engine.remote import RemoteCache

REGISTERING = 60.0  # seconds a new owner folder may lack its lock file (between mkdir and open)


def temp_owner(name: str) -> str | None:
    """The owner id tagged in a cache temp file's name (`.<digest>.<owner>.<random>.tmp`), if any."""
    if not (name.startswith(".") and name.endswith(".tmp")):
        return None
    parts = name[1:-4].split(".")
    return parts[1] if len(parts) == 3 and OWNER_ID.fullmatch(parts[1]) else None


def is_temp(name: str) -> bool:
    """Whether a file name in objects/, actions/ or state/ is a temp file (of any writer, any version)."""
    return name.startswith(".") and name.endswith(".tmp")


# --- owners: one per process and cache, alive while its flock is held -----------------------------


@dataclass
class Owner:
    """This process's registration in one cache: `tmp/<id>/` with an flock held on its lock file."""

    id: str
    folder: Path
    fd: int
    pid: int

    @property
    def lock(self) -> Path:
        return self.folder / OWNER_LOCK

    def intact(self) -> bool:
        """Whether the folder and the locked file are still the ones on disk (not removed meanwhile)."""
        try:
            on_disk, held = os.stat(self.lock), os.fstat(self.fd)
        except OSError:
            return False
        return (on_disk.st_ino, on_disk.st_dev) == (held.st_ino, held.st_dev)


_owners: dict[str, Owner] = {}
_owners_lock = threading.Lock()


def _host() -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "-", socket.gethostname())[:40] or "host"


def _register(tmp: Path) -> Owner:
    """Make and lock a new owner folder in tmp/ (a sweeper may take a half-made one for a dead one's:
    then try another name)."""
    for _ in range(20):
        owner_id = f"{_host()}-{os.getpid()}-{secrets.token_hex(4)}"
        folder = tmp / owner_id
        folder.mkdir(parents=True)
        try:
            fd = os.open(folder / OWNER_LOCK, os.O_RDWR | os.O_CREAT, 0o666)
        except FileNotFoundError:
            continue
        owner = Owner(owner_id, folder, fd, os.getpid())
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        if owner.intact():
            return owner
        os.close(fd)
    raise OSError(errno.EAGAIN, "could not register in the cache's tmp folder", str(tmp))


def owner_for(tmp: Path) -> Owner:
    """This process's owner in a cache's tmp folder (made on first use), its stamp touched now."""
    key = str(tmp.resolve())
    with _owners_lock:
        owner = _owners.get(key)
        if owner is None or owner.pid != os.getpid() or not owner.intact():
            if owner is not None and owner.pid == os.getpid():
                os.close(owner.fd)
            owner = _owners[key] = _register(tmp)
        os.utime(owner.lock)
        return owner


def own_owner_ids() -> set[str]:
    """The owner ids of this process (in any cache): never swept, never asked for their lock."""
    return {o.id for o in list(_owners.values()) if o.pid == os.getpid()}


def _release_all() -> None:
    """At exit: remove this process's owner folders (its step folders should be gone already)."""
    for owner in list(_owners.values()):
        if owner.pid != os.getpid():
            continue
        _clear_owner_folder(owner.folder)
        os.close(owner.fd)
    _owners.clear()


def _forget_in_child() -> None:
    """After fork: the child is not the parent's owner (its inherited descriptors are closed, which
    leaves the parent's lock held)."""
    global _owners_lock
    for owner in _owners.values():
        try:
            os.close(owner.fd)
        except OSError:
            pass
    _owners.clear()
    _owners_lock = threading.Lock()


atexit.register(_release_all)
os.register_at_fork(after_in_child=_forget_in_child)


def owner_folders(tmp: Path) -> list[Path]:
    """The owner folders in a cache's tmp/ (live or dead)."""
    try:
        return [p for p in tmp.iterdir() if OWNER_ID.fullmatch(p.name) and p.is_dir()]
    except FileNotFoundError:
        return []


def _open_lock(path: Path) -> int:
    """Open another owner's lock file to try its lock (read-write where allowed: NFS locks need it)."""
    try:
        return os.open(path, os.O_RDWR)
    except PermissionError:
        return os.open(path, os.O_RDONLY)


def remove_path(entry: Path) -> None:
    """Remove a file or a folder tree (whatever is left of it)."""
    if entry.is_dir() and not entry.is_symlink():
        shutil.rmtree(entry, ignore_errors=True)
    else:
        entry.unlink(missing_ok=True)


def _registering(folder: Path) -> bool:
    """Whether a folder without its lock file may be an owner registering right now (made in the last
    minute) rather than what is left of a dead one."""
    try:
        return time.time() - folder.stat().st_mtime < REGISTERING
    except FileNotFoundError:
        return False


def is_live(folder: Path) -> bool:
    """Whether a process still holds the folder's owner lock (this process's own owners count as live)."""
    if folder.name in own_owner_ids():
        return True
    try:
        fd = _open_lock(folder / OWNER_LOCK)
    except FileNotFoundError:
        return _registering(folder)
    except OSError:
        return True  # cannot tell: treat as live
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)  # releases the lock if we took it
    return False


def remove_dead_owner(folder: Path) -> bool:
    """Remove a dead owner's folder, holding its lock meanwhile; False (nothing removed) when it is live."""
    if folder.name in own_owner_ids():
        return False
    lock = folder / OWNER_LOCK
    try:
        fd = _open_lock(lock)
    except FileNotFoundError:
        if _registering(folder):
            return False
        shutil.rmtree(folder, ignore_errors=True)
        return True
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return False
    try:
        _clear_owner_folder(folder)
    finally:
        os.close(fd)
    return True


def _clear_owner_folder(folder: Path) -> None:
    """Remove an owner folder whose lock the caller holds: its contents, then the lock, then itself."""
    try:
        for entry in folder.iterdir():
            if entry.name != OWNER_LOCK:
                remove_path(entry)
        (folder / OWNER_LOCK).unlink(missing_ok=True)
        folder.rmdir()
    except OSError:
        pass


def temp_files(root: Path) -> list[Path]:
    """Every temp file in a cache's objects/, actions/ and state/ folders."""
    found = []
    for top in (root / "objects", root / "actions"):
        for sub in _subfolders(top):
            found += _temps_in(sub)
    return found + _temps_in(root / "state")


def _subfolders(top: Path) -> list[Path]:
    try:
        return [p for p in top.iterdir() if p.is_dir()]
    except FileNotFoundError:
        return []


def _temps_in(folder: Path) -> list[Path]:
    try:
        return [p for p in folder.iterdir() if is_temp(p.name)]
    except (FileNotFoundError, NotADirectoryError):
        return []


def sweep(root: Path) -> list[Path]:
    """Remove the owner folders of dead processes and their owners' temp files; the paths removed."""
    removed = [f for f in owner_folders(root / "tmp") if remove_dead_owner(f)]
    if removed:
        dead = {f.name for f in removed}
        for path in temp_files(root):
            if temp_owner(path.name) in dead:
                path.unlink(missing_ok=True)
                removed.append(path)
    return removed


# --- the store -------------------------------------------------------------------------------------


def cache_root(cache_dir: Path | None = None, near: Path | None = None) -> Path:
    """`--cache-dir`, else $AUTOSTREAM_CACHE_DIR, else `.autostream/cache` in `near` (a spec's folder;
    the current folder when None)."""
    if cache_dir:
        return Path(cache_dir)
    env = os.environ.get("AUTOSTREAM_CACHE_DIR")
    return Path(env) if env else (near or Path.cwd()) / ".autostream" / "cache"


def sources_root(cache_dir: Path | None, spec_path: Path) -> Path:
    """Where the index of a spec's `sources` lives: `sources/` in its cache."""
    return cache_root(cache_dir, Path(spec_path).resolve().parent) / "sources"


_NETWORK_FS = {"nfs", "nfs4", "cifs", "smb3", "smbfs", "9p", "ceph", "glusterfs", "lustre", "gpfs", "afs", "sshfs"}


def on_network_fs(path: Path) -> bool:
    """Whether a folder is on a network or FUSE file system (its blobs are verified when read)."""
    try:
        mounts = Path("/proc/mounts").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False  # not Linux: only --verify turns it on
    kind = fs_type(str(path.resolve() if path.exists() else path), mounts)
    return kind in _NETWORK_FS or kind.startswith("fuse")


def fs_type(target: str, mounts: str) -> str:
    """The file system type of an absolute path, from the text of /proc/mounts (the deepest mount)."""
    best, kind = "", ""
    for line in mounts.splitlines():
        fields = line.split()
        if len(fields) >= 3:
            point = fields[1].replace("\\040", " ")
            if (target == point or target.startswith(point.rstrip("/") + "/")) and len(point) >= len(best):
                best, kind = point, fields[2]
    return kind


def write_error(root: Path, exc: OSError) -> AutostreamError:
    """One line for a failed write into the cache folder: which folder, why, and the fix."""
    return write_failed(
        f"cache folder {root}",
        exc,
        full=f"free some (e.g. `autostream cache gc --max-size 1GB --cache-dir {root}`) or point --cache-dir at "
        "another disk",
        denied="make it writable, or give another folder with --cache-dir or AUTOSTREAM_CACHE_DIR",
        other="check the folder, or give another with --cache-dir",
    )


def touch(path: Path) -> None:
    """Mark a cache entry as used now (its mtime is its last use); a read-only cache is left alone."""
    try:
        os.utime(path)
    except OSError:
        pass


def _move_or_copy(src: Path, tmp: str, move: bool) -> None:
    """Fill a temp name with src's bytes: moved when it is a step's output in the cache's tmp/ (same
    file system, and nothing else refers to it), else copied, so the blob is never an alias of a file
    someone may change."""
    if move:
        try:
            os.replace(src, tmp)
            return
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                raise
    with open(src, "rb") as fsrc, open(tmp, "wb") as fdst:
        shutil.copyfileobj(fsrc, fdst)


def _inside(path: Path, folder: Path) -> bool:
    try:
        return Path(path).resolve().is_relative_to(folder.resolve())
    except OSError:
        return False


_DIGEST = re.compile(r"[0-9A-Za-z_-]{16,128}")  # sha256 hex digests in practice; never a path


def is_cache_name(name: object) -> bool:
    """Whether a digest or key from a record or a task can name a file in the cache (never a path)."""
    return isinstance(name, str) and _DIGEST.fullmatch(name) is not None


def _checked(digest: str) -> str:
    """A digest or key as a file name, or BuildError: a name from a record or a task never leaves the
    cache folder."""
    if not is_cache_name(digest):
        raise BuildError(f"not a cache digest: {str(digest)[:80]!r}")
    return digest


class Store:
    """A local cache directory: `objects/ab/<digest>`, `actions/ab/<key>.json`, `tmp/<owner>/`.

    With `verify`, every blob read is checked against its digest (a corrupt one is removed and its
    step runs again), as for a cache that is not local. With a `remote` cache, the store is its
    read-through copy: a local miss is looked up there, and what is stored here is uploaded."""

    def __init__(self, root: Path, verify: bool = False, remote: RemoteCache | None = None):
        self.remote = remote
        self.root = Path(root).absolute()  # steps link to blobs from their own folders
        self.objects = self.root / "objects"
        self.actions = self.root / "actions"
        self.tmp = self.root / "tmp"
        self.verify = verify or on_network_fs(self.root)  # another machine may have written what we read
        self._verified: dict[str, tuple[int, int, int]] = {}  # digest -> (inode, size, mtime) hashed good
        if self.root.exists() and not self.root.is_dir():
            raise UserError(f"cache folder {self.root} is a file; give a folder with --cache-dir")
        try:
            for d in (self.objects, self.actions, self.tmp):
                d.mkdir(parents=True, exist_ok=True)
            self.owner = owner_for(self.tmp)
        except OSError as exc:
            raise write_error(self.root, exc) from None
        try:
            sweep(self.root)
        except OSError:
            pass  # another process may be sweeping the same leftovers

    def object_path(self, digest: str) -> Path:
        """Where the blob with this digest lives (BuildError for what is not a digest)."""
        return self.objects / _checked(digest)[:2] / digest

    def action_path(self, key: str) -> Path:
        """Where the record of a step key lives."""
        return self.actions / _checked(key)[:2] / f"{key}.json"

    def workdir(self) -> Path:
        """A fresh scratch folder in this process's owner folder, on the cache's file system (so outputs
        can be moved in); removed with the owner folder if the process dies."""
        try:
            return Path(tempfile.mkdtemp(dir=self.owner.folder, prefix="step-"))
        except FileNotFoundError:  # the owner folder was removed under us (e.g. the cache deleted): register anew
            try:
                self.objects.mkdir(parents=True, exist_ok=True)
                self.actions.mkdir(parents=True, exist_ok=True)
                self.owner = owner_for(self.tmp)
                return Path(tempfile.mkdtemp(dir=self.owner.folder, prefix="step-"))
            except OSError as exc:
                raise write_error(self.root, exc) from None
        except OSError as exc:
            raise write_error(self.root, exc) from None

    def _publish(self, dest: Path, fill: Callable[[str], None]) -> None:
        """Write dest through a unique owner-tagged temp file beside it, renamed into place."""
        replace_with(dest, fill, tag=self.owner.id)

    def put_file(self, src: Path) -> dict:
        """Store a finished file, moved in from a workdir (else copied); return {"digest", "size"}.
        Idempotent: the same bytes stored meanwhile, by this or another process, are fine."""
        digest = file_digest(src)
        size = Path(src).stat().st_size
        dest = self.object_path(digest)
        try:
            if dest.stat().st_size == size:
                touch(dest)  # a running build uses it now: gc keeps it until the action is recorded
                self._upload(digest, dest)
                return {"digest": digest, "size": size}
        except FileNotFoundError:
            pass
        try:
            move = _inside(src, self.tmp)
            self._publish(dest, lambda tmp: _move_or_copy(Path(src), tmp, move))
        except OSError as exc:
            raise write_error(self.root, exc) from None
        self._upload(digest, dest)
        return {"digest": digest, "size": size}

    def _upload(self, digest: str, blob: Path) -> None:
        """Send a stored blob to the remote cache (if any, and unless it has it)."""
        if self.remote is not None:
            self.remote.put_blob(digest, blob)

    def _good(self, digest: str, path: Path, st: os.stat_result) -> bool:
        """Whether the blob's bytes match its digest (hashed once per file version per store)."""
        seen = (st.st_ino, st.st_size, st.st_mtime_ns)
        if self._verified.get(digest) == seen:
            return True
        if file_digest(path) != digest:
            return False
        self._verified[digest] = seen
        return True

    def path(self, digest: str, verify: bool | None = None) -> Path:
        """The stored blob; verified against its digest when `verify` (None: the store's setting) —
        a corrupt blob is removed."""
        path = self.object_path(digest)
        try:
            st = path.stat()
        except FileNotFoundError:
            missing = f"cache object {digest[:12]} is missing from {self.objects}; run the build again"
            raise BuildError(missing) from None
        if (self.verify if verify is None else verify) and not self._good(digest, path, st):
            path.unlink(missing_ok=True)
            raise BuildError(f"cache object {digest[:12]} was corrupt and has been removed; run the build again")
        return path

    def lookup(self, key: str) -> tuple[dict, str] | None:
        """A step key's record and where it came from (`local`, or `remote` when the remote cache had
        it and its blobs were downloaded here), or None."""
        record = self.get_action(key)
        if record is not None:
            return record, "local"
        if self.remote is not None and (record := self._fetch(key)) is not None:
            return record, "remote"
        return None

    def _fetch(self, key: str) -> dict | None:
        """Copy a record and its blobs from the remote cache into this one: blobs first (each verified
        while downloading), the record last; None when any blob is missing or bad there."""
        record = self.remote.get_action(key)
        if record is None:
            return None
        if not all(self._download(out["digest"], out["size"]) for out in record["outputs"].values()):
            return None
        self.put_action(key, record, upload=False)
        return record

    def ensure(self, digest: str, size: int) -> Path:
        """The stored blob, downloaded from the remote cache first when it is not here (a worker's
        inputs, a coordinator's outputs from a worker); BuildError when neither has it."""
        if self.remote is not None and not self._download(digest, size):
            raise BuildError(
                f"cache object {digest[:12]} is in neither {self.objects} nor the remote cache "
                f"{self.remote.shown}; run the build again"
            )
        return self.path(digest)

    def _download(self, digest: str, size: int) -> bool:
        """Make sure a blob is here: already stored (and intact), else downloaded and verified; False
        when the remote cache lacks it or holds other bytes."""
        blob = self.object_path(digest)
        try:
            st = blob.stat()
            if st.st_size == size and (not self.verify or self._good(digest, blob, st)):
                return True
        except FileNotFoundError:
            pass

        def fill(tmp: str) -> None:
            if not self.remote.download(digest, size, tmp):
                raise FileNotFoundError(digest)

        try:
            self._publish(blob, fill)
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise write_error(self.root, exc) from None
        return True

    def get_action(self, key: str) -> dict | None:
        """The recorded outputs of a step key if they are all still stored here (and, with verify,
        intact); else None. A hit marks the record as used now."""
        path = self.action_path(key)
        try:
            record = json.loads(path.read_bytes())
            for out in record["outputs"].values():
                blob = self.object_path(out["digest"])
                st = blob.stat()
                if st.st_size != out["size"]:
                    return None
                if self.verify and not self._good(out["digest"], blob, st):
                    blob.unlink(missing_ok=True)  # never used: the step runs again and stores it anew
                    path.unlink(missing_ok=True)
                    return None
        except FileNotFoundError:
            return None
        except (ValueError, KeyError, TypeError, AttributeError, BuildError):
            path.unlink(missing_ok=True)  # a damaged entry is dropped; the step simply runs again
            return None
        except OSError:
            return None
        touch(path)
        return record

    def put_action(self, key: str, record: dict, upload: bool = True) -> None:
        """Record a step's outputs (after they are stored), here and in the remote cache."""
        data = json.dumps(record, sort_keys=True).encode()

        def fill(tmp: str) -> None:
            with open(tmp, "wb") as f:
                f.write(data)

        try:
            self._publish(self.action_path(key), fill)
        except OSError as exc:
            raise write_error(self.root, exc) from None
        if upload and self.remote is not None:
            self.remote.put_action(key, record)
