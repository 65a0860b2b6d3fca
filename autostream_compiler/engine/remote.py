"""The shared cache: the local cache's action records and blobs mirrored on a folder or S3, via fsspec.

A remote cache holds the local layout (`objects/ab/<digest>`, `actions/ab/<key>.json`) under its
URL. The local cache is its read-through copy: a local miss reads the remote record, downloads its
blobs (each checked against its digest; a bad or missing one makes the whole record a miss), stores
them locally and then the record. A step that runs uploads its blobs first (skipping those already
there) and its record last, so a reader never sees a record whose blobs are not yet up.

fsspec and s3fs are imported only when a remote cache is used (the `distributed` extra).
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from autostream_compiler.engine.cache import is_cache_name
from autostream_compiler.env import public_url, redact
from autostream_compiler.errors import BuildError, UserError

CHUNK = 1 << 20


@dataclass(frozen=True)
class CacheUrl:
    """A parsed `--cache` value: `file` (a folder) or `s3` (a bucket), and the root path in it."""

    protocol: str
    root: str  # a folder path, or `bucket/prefix`
    shown: str  # how it is named to a user (no credentials)


def parse_cache_url(url: str) -> CacheUrl:
    """A `--cache` value: a folder path, `file://PATH` or `s3://BUCKET[/PREFIX]`; UserError (exit 2) otherwise."""
    text = url.strip()
    if not text:
        raise UserError("--cache is empty; give a folder, file://PATH or s3://BUCKET/PREFIX")
    if "://" not in text:
        return CacheUrl("file", str(Path(text).expanduser().absolute()), str(Path(text).expanduser().absolute()))
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme == "file":
        if parts.netloc not in ("", "localhost") or not parts.path:
            raise UserError(f"--cache {public_url(text)}: a file:// URL needs an absolute path (file:///srv/cache)")
        return CacheUrl("file", parts.path, f"file://{parts.path}")
    if scheme == "s3":
        bucket, prefix = parts.hostname or "", parts.path.strip("/")
        if not bucket or parts.query or parts.fragment:
            raise UserError(f"--cache {public_url(text)}: give an S3 cache as s3://BUCKET/PREFIX")
        root = f"{bucket}/{prefix}" if prefix else bucket
        return CacheUrl("s3", root, f"s3://{root}")
    raise UserError(f"--cache {public_url(text)}: unsupported scheme {scheme}://; use a folder, file://PATH or s3://")


def _unreachable(where: str, exc: BaseException, fix: str) -> BuildError:
    """One line for a remote cache that cannot be used: which one, why (no secrets), and the fix."""
    why = redact(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
    return BuildError(f"remote cache {where}: {why}; {fix}")


class RemoteCache:
    """Action records and blobs under a folder or S3 prefix, read and written through fsspec."""

    def __init__(self, url: str, endpoint: str | None = None):
        self.url = parse_cache_url(url)
        self.endpoint = endpoint or os.environ.get("AWS_ENDPOINT_URL") or None
        self.fs = self._filesystem()
        self.warnings: list[str] = []
        self.failed = False  # after an upload failed, the rest of the build stays local
        self.bad: set[str] = set()  # digests found corrupt remotely: uploaded again when rebuilt
        self._lock = threading.Lock()
        self._probe()

    def session(self) -> RemoteCache:
        """The same cache with its own failure state (a worker's task: one failed upload is that task's)."""
        mine = copy.copy(self)
        mine.warnings, mine.failed, mine.bad, mine._lock = [], False, set(), threading.Lock()
        return mine

    @property
    def shown(self) -> str:
        """The cache's URL as printed (and its endpoint, never credentials)."""
        return self.url.shown + (
            f" at {public_url(self.endpoint)}" if self.endpoint and self.url.protocol == "s3" else ""
        )

    def _filesystem(self):
        try:
            import fsspec
        except ImportError:
            raise UserError(
                f"--cache {self.url.shown} needs fsspec/s3fs: pip install 'autostream-compiler[distributed]'"
            ) from None
        if self.url.protocol == "file":
            return fsspec.filesystem("file", auto_mkdir=True)
        try:
            import s3fs  # noqa: F401 - fsspec finds it by name; said here when it is missing
        except ImportError:
            raise UserError(
                f"--cache {self.url.shown} needs s3fs: pip install 'autostream-compiler[distributed]'"
            ) from None
        client = {"endpoint_url": self.endpoint} if self.endpoint else {}
        config = {"retries": {"max_attempts": 2}, "connect_timeout": 5, "read_timeout": 60}
        return fsspec.filesystem("s3", client_kwargs=client, config_kwargs=config, skip_instance_cache=True)

    def _probe(self) -> None:
        """Check the cache can be reached before any step runs (an unreachable or denied one is a clear error)."""
        if self.url.protocol == "file":
            try:
                os.makedirs(self.url.root, exist_ok=True)
                if not os.access(self.url.root, os.W_OK | os.X_OK):
                    raise PermissionError("cannot write there")
            except OSError as exc:
                raise _unreachable(self.shown, exc, "make the folder writable or give another with --cache") from None
            return
        bucket = self.url.root.split("/", 1)[0]
        try:
            self.fs.ls(bucket, refresh=True)
        except FileNotFoundError:
            raise BuildError(
                f"remote cache {self.shown}: bucket {bucket} does not exist; create it or fix --cache"
            ) from None
        except PermissionError as exc:
            raise _unreachable(
                self.shown, exc, "check AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY and the bucket's policy"
            ) from None
        except Exception as exc:  # noqa: BLE001 - botocore's connection errors have no common base with OSError
            if "Credentials" in type(exc).__name__:
                raise _unreachable(self.shown, exc, "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY") from None
            raise _unreachable(
                self.shown, exc, "check the endpoint (AWS_ENDPOINT_URL or --cache-endpoint) and the network"
            ) from None

    def _object(self, digest: str) -> str:
        return f"{self.url.root}/objects/{digest[:2]}/{digest}"

    def _action(self, key: str) -> str:
        return f"{self.url.root}/actions/{key[:2]}/{key}.json"

    # --- reading -----------------------------------------------------------------------------------

    def get_action(self, key: str) -> dict | None:
        """The remote record of a step key, or None (missing, damaged, or the cache unreachable: then
        the rest of the build stays local, with a note)."""
        if self.failed:
            return None
        try:
            data = self.fs.cat_file(self._action(key))
        except FileNotFoundError:
            return None
        except Exception as exc:  # noqa: BLE001 - any failure to read is a miss: the step runs here
            self._warn(exc, "reading")
            return None
        try:
            record = json.loads(data)
            outputs = record["outputs"]
            if all(is_cache_name(o["digest"]) and isinstance(o["size"], int) for o in outputs.values()):
                return record
        except (ValueError, KeyError, TypeError, AttributeError):
            pass
        return None

    def download(self, digest: str, size: int, dest: str) -> bool:
        """Download a blob into the file `dest`, hashing it as it comes; False when it is missing,
        of another size or its bytes do not match its digest (then it is uploaded again when rebuilt)."""
        hasher, got = hashlib.sha256(), 0
        try:
            with self.fs.open(self._object(digest), "rb") as src, open(dest, "wb") as out:
                while chunk := src.read(CHUNK):
                    hasher.update(chunk)
                    got += len(chunk)
                    out.write(chunk)
        except Exception:  # noqa: BLE001 - missing or unreadable: a miss
            return False
        if got != size or hasher.hexdigest() != digest:
            with self._lock:
                self.bad.add(digest)
            return False
        return True

    # --- writing -----------------------------------------------------------------------------------

    def _warn(self, exc: BaseException, doing: str = "upload") -> None:
        """Note the first failure (a report note) and use the remote cache no more in this build."""
        with self._lock:
            if not self.failed:
                self.failed = True
                why = redact(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
                self.warnings.append(
                    f"remote cache {self.shown}: {doing} failed ({why}); the rest of this build used the "
                    "local cache only"
                )

    def put_blob(self, digest: str, path: Path) -> bool:
        """Upload a blob unless the remote has it; False when the upload failed (a warning says so)."""
        if self.failed:
            return False
        dest = self._object(digest)
        try:
            with self._lock:
                again = digest in self.bad
            if not again and self.fs.exists(dest):
                return True
            self._write(dest, lambda f: _copy_into(path, f))
            with self._lock:
                self.bad.discard(digest)
            return True
        except Exception as exc:  # noqa: BLE001 - a failed upload leaves the build local, never fails it
            self._warn(exc)
            return False

    def put_action(self, key: str, record: dict) -> None:
        """Upload a step's record (after its blobs)."""
        if self.failed:
            return
        data = json.dumps(record, sort_keys=True).encode()
        try:
            self._write(self._action(key), lambda f: f.write(data))
        except Exception as exc:  # noqa: BLE001
            self._warn(exc)

    def _write(self, dest: str, fill) -> None:
        """Write a remote file whole: on S3 one PUT (atomic per object); in a folder a temp file renamed in."""
        if self.url.protocol == "s3":
            with self.fs.open(dest, "wb") as f:
                fill(f)
            return
        folder, name = dest.rsplit("/", 1)
        tmp = f"{folder}/.{name}.{uuid.uuid4().hex[:12]}.tmp"
        try:
            with self.fs.open(tmp, "wb") as f:
                fill(f)
            os.replace(tmp, dest)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)


def _copy_into(path: Path, out) -> None:
    with open(path, "rb") as src:
        while chunk := src.read(CHUNK):
            out.write(chunk)


def open_remote(url: str | None, endpoint: str | None = None) -> RemoteCache | None:
    """The remote cache of `--cache URL`, else $AUTOSTREAM_CACHE, else None (a local-only build)."""
    url = url or os.environ.get("AUTOSTREAM_CACHE") or None
    return RemoteCache(url, endpoint) if url else None
