"""The checked-in JSON Schemas are generated from the models; a stale file fails here."""

from autostream_compiler.specfile.schema import SCHEMAS_DIR, schemas


def test_checked_in_schemas_are_current():
    for name, text in schemas().items():
        on_disk = (SCHEMAS_DIR / name).read_text(encoding="utf-8")
        assert on_disk == text, f"schemas/{name} is stale: run `make schemas`"


def test_spec_schema_documents_every_field():
    import json

    spec = json.loads(schemas()["spec.schema.json"])
    assert spec["additionalProperties"] is False
    for name, prop in spec["properties"].items():
        assert prop.get("description"), f"spec field {name} has no description"
