"""The lock file beside a spec: the resolved scene graph, reused while the expansion inputs are unchanged."""

from __future__ import annotations

from pathlib import Path

import yaml

from autostream_compiler.errors import SpecError
from autostream_compiler.expand.scenegraph import SCHEMA_VERSION, Expansion, LockFile, SceneGraph
from autostream_compiler.expand.spoken import to_words
from autostream_compiler.specfile.yamlfile import read_yaml, shorten, validate

_HEADER = (
    "# autostream lock file for {spec}: the resolved scene graph. Commit it with the spec.\n"
    "# Hand edits are kept and rebuilt incrementally. A spec change that does not feed the expansion\n"
    "# (format, voice, style look) keeps the scenes' narration, spoken words and visuals.\n"
)


class _Dumper(yaml.SafeDumper):
    """Multi-line strings as literal blocks, so a changed prompt shows as changed lines in a diff."""


def _str(dumper: yaml.SafeDumper, value: str):
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def lock_path(spec_path: Path) -> Path:
    """`<spec stem>.lock.yaml` beside the spec."""
    return spec_path.with_name(f"{spec_path.stem}.lock.yaml")


def read_lock(path: Path) -> LockFile | None:
    """The lock at `path`, validated (errors name the lock's lines), or None when there is none or it
    is of an older format (it is then written anew). A scene without `spoken` gets it worked out."""
    if not path.is_file():
        return None
    data, positions = read_yaml(path)
    if not isinstance(data, dict):
        raise SpecError([f"{path}:1:1: not an autostream lock file; delete it, then run `autostream lock` on its spec"])
    schema = data.get("schema")
    if isinstance(schema, int) and schema < SCHEMA_VERSION:
        return None
    if isinstance(schema, int) and schema > SCHEMA_VERSION:
        raise SpecError(
            [
                f"{path}:1:1: schema: lock format {shorten(str(schema))} is newer than this autostream reads "
                f"({SCHEMA_VERSION}); upgrade autostream"
            ]
        )
    scenes = data["graph"].get("scenes") if isinstance(data.get("graph"), dict) else None
    for scene in scenes if isinstance(scenes, list) else []:
        if isinstance(scene, dict) and "spoken" not in scene and isinstance(scene.get("narration"), str):
            scene["spoken"] = [w.spoken for w in to_words(scene["narration"])]
    return validate(LockFile, data, positions, path)


def render_lock(spec_path: Path, inputs_digest: str, expansion: Expansion, graph: SceneGraph) -> str:
    """The lock file text: fixed key order, stable formatting."""
    lock = LockFile(schema=SCHEMA_VERSION, inputs_digest=inputs_digest, expansion=expansion, graph=graph)
    data = lock.model_dump(mode="json", by_alias=True, exclude_none=True)
    body = yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100, default_flow_style=False)
    return _HEADER.format(spec=spec_path.name) + body
