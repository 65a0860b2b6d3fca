"""The lock file beside a spec: the resolved scene graph, reused while the expansion inputs are unchanged."""

from __future__ import annotations

from pathlib import Path

import yaml

from autostream_compiler.expand.scenegraph import SCHEMA_VERSION, LockFile, Provenance, SceneGraph
from autostream_compiler.spec.yamlfile import read_yaml, validate

_HEADER = (
    "# autostream lock file for {spec}: the resolved scene graph. Commit it with the spec.\n"
    "# Hand edits are kept and rebuilt incrementally until the spec's expansion inputs change.\n"
)


def lock_path(spec_path: Path) -> Path:
    """`<spec stem>.lock.yaml` beside the spec."""
    return spec_path.with_name(f"{spec_path.stem}.lock.yaml")


def read_lock(path: Path) -> LockFile | None:
    """The lock at `path`, validated (errors name the lock's lines), or None when there is none."""
    if not path.is_file():
        return None
    data, positions = read_yaml(path)
    return validate(LockFile, data, positions, path)


def render_lock(spec_path: Path, inputs_digest: str, provenance: Provenance, graph: SceneGraph) -> str:
    """The lock file text: fixed key order, stable formatting."""
    lock = LockFile(schema=SCHEMA_VERSION, inputs_digest=inputs_digest, expanded_by=provenance, graph=graph)
    data = lock.model_dump(mode="json", by_alias=True, exclude_none=True)
    body = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100, default_flow_style=False)
    return _HEADER.format(spec=spec_path.name) + body
