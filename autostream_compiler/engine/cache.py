"""The cache: an action cache (step key -> output digests) over a content-addressed blob store.

Every write goes to a temp file in the cache and is renamed into place, so a reader never sees a
half-written entry; an action is recorded only after all its outputs are stored.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from autostream_compiler.digests import file_digest
from autostream_compiler.errors import BuildError


class Store:
    """A local cache directory: `objects/ab/<digest>`, `actions/ab/<key>.json`, `tmp/`."""

    def __init__(self, root: Path, verify: bool = False):
        self.root = Path(root)
        self.verify = verify
        self.objects = self.root / "objects"
        self.actions = self.root / "actions"
        self.tmp = self.root / "tmp"
        for d in (self.objects, self.actions, self.tmp):
            d.mkdir(parents=True, exist_ok=True)

    def object_path(self, digest: str) -> Path:
        """Where the blob with this digest lives."""
        return self.objects / digest[:2] / digest

    def workdir(self) -> Path:
        """A fresh scratch folder on the cache's file system (so outputs can be renamed in)."""
        return Path(tempfile.mkdtemp(dir=self.tmp, prefix="step-"))

    def put_file(self, src: Path) -> dict:
        """Move a finished file into the store; return {"digest", "size"}."""
        digest = file_digest(src)
        size = src.stat().st_size
        dest = self.object_path(digest)
        if not (dest.is_file() and dest.stat().st_size == size):
            dest.parent.mkdir(parents=True, exist_ok=True)
            tmp = dest.with_name(f".{digest}.{os.getpid()}.tmp")
            try:
                os.link(src, tmp)
            except OSError:
                shutil.copyfile(src, tmp)
            os.replace(tmp, dest)
        return {"digest": digest, "size": size}

    def path(self, digest: str, verify: bool = False) -> Path:
        """The stored blob; with `verify`, check its bytes against the digest (a bad blob is removed)."""
        path = self.object_path(digest)
        if not path.is_file():
            raise BuildError(f"cache object {digest[:12]} is missing from {self.objects}; run the build again")
        if verify and file_digest(path) != digest:
            path.unlink(missing_ok=True)
            raise BuildError(f"cache object {digest[:12]} was corrupt and has been removed; run the build again")
        return path

    def get_action(self, key: str) -> dict | None:
        """The recorded outputs of a step key, if they are all still stored; else None."""
        path = self.actions / key[:2] / f"{key}.json"
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
            outputs = record["outputs"]
            for out in outputs.values():
                blob = self.object_path(out["digest"])
                if not blob.is_file() or blob.stat().st_size != out["size"]:
                    return None
            return record
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError):
            path.unlink(missing_ok=True)  # a damaged entry is dropped; the step simply runs again
            return None

    def put_action(self, key: str, record: dict) -> None:
        """Record a step's outputs (after they are stored)."""
        path = self.actions / key[:2] / f"{key}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{key}.", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(record, f, sort_keys=True)
        os.replace(tmp, path)
