"""Keys hash declared inputs; the store writes atomically and drops what is damaged."""

from pathlib import Path

import pytest

from autostream_compiler.digests import digest, file_digest
from autostream_compiler.engine.cache import Store
from autostream_compiler.engine.plan import plan
from autostream_compiler.errors import BuildError
from autostream_compiler.expand.graph import build_graph
from autostream_compiler.expand.offline import offline_drafts
from autostream_compiler.specfile.models import Spec
from autostream_compiler.specfile.style import builtin_styles_dir, load_style


def test_digest_is_order_independent_and_float_stable():
    assert digest({"a": 1, "b": [1.0, "x"]}) == digest({"b": [1.0000000001, "x"], "a": 1})
    assert digest({"a": 1}) != digest({"a": 2})
    assert digest({"a": 0.1 + 0.2}) == digest({"a": 0.3})
    with pytest.raises(TypeError):
        digest({"a": object()})


def _keys(narrations: list[str], tmp_path: Path) -> dict[str, str]:
    spec = Spec.model_validate(
        {"version": 1, "title": "T", "scenes": [{"narration": n, "visual": f"picture of {n}"} for n in narrations]}
    )
    style, _ = load_style(builtin_styles_dir() / "documentary.yaml")
    steps = plan(build_graph(spec, style, "T", offline_drafts(spec, 150, 10)), tmp_path)
    store = Store(tmp_path / "cache")
    keyed = {}
    for s in steps:
        if s.kind in ("tts", "image"):  # keys of steps without upstream outputs
            keyed[f"{s.kind}:{spec.scenes[s.scene].narration}"] = digest(s.recipe(store))
    return keyed


def test_inserting_a_scene_keeps_the_other_scenes_keys(tmp_path):
    before = _keys(["One.", "Two.", "Three."], tmp_path)
    after = _keys(["One.", "Inserted.", "Two.", "Three."], tmp_path)
    for name, key in before.items():
        assert after[name] == key
    assert len(after) == len(before) + 2


def test_store_put_get_and_damaged_entries(tmp_path):
    store = Store(tmp_path / "cache")
    src = store.workdir() / "out.bin"
    src.write_bytes(b"hello video")
    out = store.put_file(src)
    assert out == {"digest": file_digest(store.object_path(out["digest"])), "size": 11}
    assert store.get_action("k" * 64) is None
    store.put_action("k" * 64, {"outputs": {"video": out}})
    assert store.get_action("k" * 64)["outputs"]["video"] == out
    assert not list(store.actions.rglob("*.tmp")) and not list(store.objects.rglob("*.tmp"))

    # A blob whose size is wrong makes the action a miss; a corrupt blob is found and removed.
    blob = store.object_path(out["digest"])
    blob.write_bytes(b"hello VIDEO")
    with pytest.raises(BuildError, match="corrupt"):
        store.path(out["digest"], verify=True)
    assert not blob.exists()
    assert store.get_action("k" * 64) is None

    # A damaged action record is dropped.
    record = store.actions / "jj" / ("j" * 64 + ".json")
    record.parent.mkdir(parents=True)
    record.write_text("{not json")
    assert store.get_action("j" * 64) is None and not record.exists()


def test_a_key_in_a_step_error_or_warning_is_redacted(tmp_path, monkeypatch):
    from autostream_compiler.engine.runner import Result, Step, run_steps

    monkeypatch.setenv("HF_TOKEN", "hf_secret_value_42")

    def leaky_warning(ctx):
        out = ctx.workdir / "x.txt"
        out.write_text("x")
        return Result({"x": out}, warnings=["server said: bad token hf_secret_value_42"])

    def leaky_error(ctx):
        raise BuildError("upstream echoed Bearer hf_secret_value_42")

    warned, failed = Step("image", 0, "hf", {}, leaky_warning), Step("image", 1, "hf", {"n": 1}, leaky_error)
    run_steps([warned, failed], Store(tmp_path / "cache"), 1)
    assert (warned.status, warned.warnings) == ("built", ["server said: bad token ***"])
    assert (failed.status, failed.error) == ("failed", "upstream echoed Bearer ***")


def test_an_interrupt_inside_mkstemp_leaves_no_temp_file(tmp_path, monkeypatch):
    """Ctrl-C can land after mkstemp made the file but before it returned its name."""
    import tempfile

    from autostream_compiler import atomic

    made = tempfile.mkstemp

    def interrupted(**kwargs):
        made(**kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(atomic.tempfile, "mkstemp", interrupted)
    with pytest.raises(KeyboardInterrupt):
        atomic.write_text(tmp_path / "video.lock.yaml", "scenes: []\n")
    assert list(tmp_path.iterdir()) == []
