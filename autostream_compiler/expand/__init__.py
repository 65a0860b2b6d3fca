"""Expansion: spec + style -> scene graph, kept in the lock file while its inputs are unchanged."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from autostream_compiler.atomic import write_if_changed
from autostream_compiler.build.keys import digest
from autostream_compiler.expand.lock import lock_path, read_lock, render_lock
from autostream_compiler.expand.offline import expand_offline
from autostream_compiler.expand.scenegraph import Provenance, SceneGraph
from autostream_compiler.spec import Spec, load_spec
from autostream_compiler.spec.style import load_style, style_path

EXPANDER = ("offline", 1)


@dataclass
class Resolved:
    """A loaded spec and the scene graph it resolves to."""

    spec_path: Path
    spec: Spec
    graph: SceneGraph
    lock: str  # "current" (reused), "written" (expanded and saved) or "stale" (not saved)


def expansion_digest(spec: Spec, style_digest: str) -> str:
    """Digest of everything the expansion reads: the spec (but not its output path) and the style."""
    return digest({
        "spec": spec.model_dump(mode="json", exclude={"output"}),
        "style": style_digest,
        "expander": list(EXPANDER),
    })


def resolve(spec_path: Path, refresh: bool = False, write: bool = True) -> Resolved:
    """Load the spec and return its scene graph: from the lock when current, else expanded (and locked)."""
    spec_path = Path(spec_path)
    spec = load_spec(spec_path)
    style, style_digest = load_style(style_path(spec.style, spec_path.parent))
    want = expansion_digest(spec, style_digest)
    path = lock_path(spec_path)
    lock = None if refresh else read_lock(path)
    if lock is not None and lock.inputs_digest == want:
        return Resolved(spec_path, spec, lock.graph, "current")
    graph = expand_offline(spec, style)
    if not write:
        return Resolved(spec_path, spec, graph, "stale")
    write_if_changed(path, render_lock(spec_path, want, Provenance(provider=EXPANDER[0]), graph))
    return Resolved(spec_path, spec, graph, "written")
