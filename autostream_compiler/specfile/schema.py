"""JSON Schemas generated from the models into schemas/: `python -m autostream_compiler.specfile.schema`."""

from __future__ import annotations

import json
from pathlib import Path

from autostream_compiler.expand.scenegraph import LockFile
from autostream_compiler.specfile.models import Spec

SCHEMAS_DIR = Path(__file__).resolve().parent.parent.parent / "schemas"


def schemas() -> dict[str, str]:
    """File name -> schema text, for the spec and the lock file."""
    out = {}
    for name, model, title in (
        ("spec.schema.json", Spec, "autostream spec v1"),
        ("lock.schema.json", LockFile, "autostream lock file"),
    ):
        schema = model.model_json_schema(by_alias=True)
        schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": title, **schema}
        out[name] = json.dumps(schema, indent=2, sort_keys=True) + "\n"
    return out


if __name__ == "__main__":
    for name, text in schemas().items():
        (SCHEMAS_DIR / name).write_text(text, encoding="utf-8")
        print(SCHEMAS_DIR / name)
