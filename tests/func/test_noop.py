"""The no-op fast path: a build that would change nothing is answered from the last build's
fingerprint (the engine is never called), with the same report as a full no-op; any change to what
a build reads or places still leads to a real build."""

from __future__ import annotations

import json
import time

import pytest
from helpers import report_statuses, run_cli, small_spec, write_spec
from PIL import Image

from autostream_compiler.engine import pipeline
from autostream_compiler.specfile.style import builtin_styles_dir


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A built three-scene project with its own style file and a picture of its own in scene 1."""
    root = tmp_path_factory.mktemp("noop")
    Image.new("RGB", (1280, 720), (200, 90, 30)).save(root / "photo.png")
    (root / "look.yaml").write_text((builtin_styles_dir() / "documentary.yaml").read_text(encoding="utf-8"))
    spec = small_spec() | {"style": "look.yaml"}
    spec["scenes"][0]["image"] = "photo.png"
    path = write_spec(root, spec)
    result = run_cli("build", path, "--cache-dir", root / "cache", "--report", root / "r0.json")
    assert result.exit_code == 0, result.stderr
    return {"root": root, "spec": spec, "path": path}


@pytest.fixture
def engine_calls(monkeypatch) -> list:
    """Counts the builds that reach the engine (a fast no-op never does)."""
    calls = []
    real = pipeline.build

    def counted(*args, **kwargs):
        calls.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(pipeline, "build", counted)
    return calls


def _build(project, report: str, *extra):
    root = project["root"]
    result = run_cli("build", project["path"], "--cache-dir", root / "cache", "--report", root / report, *extra)
    assert result.exit_code == 0, result.stderr
    return result, report_statuses(root / report)


def _settle(project) -> None:
    """A full no-op, which leaves the fingerprint (a build right after an edit cannot trust its stats)."""
    _, statuses = _build(project, "settle.json")
    assert set(statuses.values()) == {"cached"}


def _built(statuses) -> set:
    return {k for k, v in statuses.items() if v == "built"}


def test_a_fast_noop_writes_the_report_of_a_full_one_and_touches_nothing(project, engine_calls):
    root = project["root"]
    _settle(project)
    full = json.loads((root / "settle.json").read_text())
    outputs = sorted((root / "out").iterdir())
    before = [f.stat().st_mtime_ns for f in outputs]
    result, statuses = _build(project, "fast.json")
    assert engine_calls == [project["path"]]  # the settling build only
    assert "nothing to do" in result.stdout
    assert set(statuses.values()) == {"cached"}
    assert json.loads((root / "fast.json").read_text()) == full
    assert [f.stat().st_mtime_ns for f in sorted((root / "out").iterdir())] == before


def test_a_real_build_leaves_the_report_of_a_full_noop_for_the_next_one(project, engine_calls):
    root = project["root"]
    project["spec"]["scenes"][1]["narration"] = "Then the second one costs $6."
    write_spec(root, project["spec"])
    time.sleep(0.2)  # an edit right before a build is not trusted: it may have come while the build ran
    _, statuses = _build(project, "edit.json")
    assert ("tts", 1) in _built(statuses)
    _, statuses = _build(project, "fast.json")
    assert len(engine_calls) == 1 and set(statuses.values()) == {"cached"}
    for fingerprint in (root / "cache" / "noop").glob("*.json"):
        fingerprint.unlink()  # so the next no-op is a full one
    _build(project, "full.json")
    assert len(engine_calls) == 2
    assert json.loads((root / "fast.json").read_text()) == json.loads((root / "full.json").read_text())


@pytest.mark.parametrize(
    ("change", "rebuilt"),
    [
        ("spec", ("tts", 2)),
        ("image", ("image", 0)),
        ("style", ("segment", 1)),
        ("output", None),
        ("cache", ("mux", None)),
    ],
)
def test_a_change_after_a_fast_noop_is_built(project, engine_calls, change, rebuilt):
    root = project["root"]
    _settle(project)
    _build(project, "fast.json")
    assert len(engine_calls) == 1
    if change == "spec":
        project["spec"]["scenes"][2]["narration"] = "Finally, we end over here."
        write_spec(root, project["spec"])
    elif change == "image":
        Image.new("RGB", (1280, 720), (30, 90, 200)).save(root / "photo.png")
    elif change == "style":
        look = root / "look.yaml"
        look.write_text(look.read_text(encoding="utf-8").replace("#FFD166", "#FF8800"), encoding="utf-8")
    elif change == "output":
        (root / "out" / "video.srt").unlink()
    else:  # `cache gc` removed an entry
        mux = next(s["key"] for s in json.loads((root / "fast.json").read_text())["steps"] if s["kind"] == "mux")
        (root / "cache" / "actions" / mux[:2] / f"{mux}.json").unlink()
    _, statuses = _build(project, "changed.json")
    assert len(engine_calls) == 2
    if rebuilt is None:
        assert set(statuses.values()) == {"cached"}
        assert (root / "out" / "video.srt").is_file()
    else:
        assert rebuilt in _built(statuses)


def test_an_environment_variable_leads_to_a_full_build(project, engine_calls, monkeypatch):
    _settle(project)
    monkeypatch.setenv("AUTOSTREAM_TEST_SETTING", "1")
    _build(project, "env.json")
    assert len(engine_calls) == 2


def test_a_library_rewriting_the_loader_path_leaves_the_build_context_alone(tmp_path, monkeypatch):
    """OpenCV's loader rewrites LD_LIBRARY_PATH when a build draws a picture; the next no-op, in a
    process that has not imported it yet, must still find the fingerprint the build left."""
    from autostream_compiler.engine import fingerprint

    spec = write_spec(tmp_path, small_spec())
    before = fingerprint.context(spec, None, None, "final", False)
    monkeypatch.setenv("LD_LIBRARY_PATH", "/somewhere/cv2/../../lib64")
    assert fingerprint.context(spec, None, None, "final", False) == before
