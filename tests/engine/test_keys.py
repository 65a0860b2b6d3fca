"""Keys come from what runs: the exact ffmpeg command of an ffmpeg step, the code (and engines) of
an in-process one. A change to either changes the affected steps' keys and nothing else; keys hold no
absolute paths, so a moved project or checkout reuses the whole cache."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import report_statuses, run_cli, small_spec, write_spec

from autostream_compiler.engine.pipeline import status
from autostream_compiler.engine.recipe import forget
from autostream_compiler.render import captions, ffmpeg, mix

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """A two-scene draft with a crossfade (so there is a transition), built once."""
    spec = small_spec()
    spec["scenes"] = spec["scenes"][:2]
    spec["transition"] = {"kind": "crossfade", "duration": 0.5}
    path = write_spec(tmp_path_factory.mktemp("keys"), spec)
    result = run_cli("build", path, "--profile", "draft", "--report", path.parent / "r.json")
    assert result.exit_code == 0, result.stderr
    return path


def _keys(path: Path) -> dict[str, str | None]:
    forget()  # code digests are worked out once per process; these tests patch constants in between
    return {step.label: step.key for step, _ in status(path, profile="draft")}


def _changed(before: dict, after: dict) -> set[str]:
    """Labels whose key changed; a step not keyed after (its input changed) counts as unchanged."""
    return {label for label, key in after.items() if key is not None and key != before[label]}


def test_status_after_a_build_keys_every_step(project):
    keys = _keys(project)
    assert all(keys.values()) and len(keys) == 2 * 5 + 1 + 4  # scenes (with a draft's level); one join; 4 once


def test_a_filter_string_changes_only_the_video_steps(project, monkeypatch):
    before = _keys(project)
    monkeypatch.setattr(ffmpeg, "TIMESCALE", ["-video_track_timescale", "30000"])
    assert _changed(before, _keys(project)) == {"segment scene 1", "segment scene 2", "transition scene 1"}
    reasons = {step.label: why for step, why in status(project, profile="draft")}
    assert reasons["segment scene 1"] == "its ffmpeg command changed" and reasons["tts scene 1"] == "up to date"


def test_an_x264_option_changes_only_the_video_steps(project, monkeypatch):
    before = _keys(project)
    monkeypatch.setattr(ffmpeg, "DRAFT_X264", [o.replace("28", "27") for o in ffmpeg.DRAFT_X264])
    assert _changed(before, _keys(project)) == {"segment scene 1", "segment scene 2", "transition scene 1"}


def test_an_ass_header_line_changes_only_the_captioned_bodies(project, monkeypatch):
    before = _keys(project)
    header = captions.ass_header
    monkeypatch.setattr(captions, "ass_header", lambda *a: header(*a).replace("WrapStyle: 2", "WrapStyle: 1"))
    assert _changed(before, _keys(project)) == {"segment scene 1", "segment scene 2"}


def test_the_code_of_an_in_process_action_is_in_its_key(project, monkeypatch):
    before = _keys(project)
    monkeypatch.setattr(mix, "TP_CEILING", mix.TP_CEILING - 0.5)  # a constant the audio mix reads
    assert _changed(before, _keys(project)) == {"audio"}
    forget()
    reasons = {step.label: why for step, why in status(project, profile="draft")}
    assert reasons["audio"] == "its code or engine version changed"
    monkeypatch.undo()
    from autostream_compiler.providers import procedural

    draw = procedural.draw
    monkeypatch.setattr(procedural, "draw", lambda *a: draw(*a))  # other code draws the pictures
    assert _changed(before, _keys(project)) == {"image scene 1", "image scene 2"}


def test_keys_hold_no_paths_a_moved_project_and_checkout_reuse_the_cache(project, tmp_path):
    cache = project.parent / ".autostream" / "cache"
    checkout = tmp_path / "elsewhere" / "checkout"
    for part in ("autostream_compiler", "templates"):
        shutil.copytree(ROOT / part, checkout / part, ignore=shutil.ignore_patterns("__pycache__"))
    moved = shutil.copytree(
        project.parent, tmp_path / "moved" / "project", ignore=shutil.ignore_patterns(".autostream")
    )
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    argv = [sys.executable, "-m", "autostream_compiler", "build", str(moved / project.name), "--profile", "draft"]
    done = subprocess.run(
        [*argv, "--cache-dir", str(cache), "--report", str(tmp_path / "r.json")],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert "nothing to do" in done.stdout
    assert set(report_statuses(tmp_path / "r.json").values()) == {"cached"}
    keys = {s["key"] for s in json.loads((tmp_path / "r.json").read_text())["steps"]}
    assert keys == {s["key"] for s in json.loads((project.parent / "r.json").read_text())["steps"]}


def test_identical_steps_in_one_build_run_once(tmp_path):
    spec = small_spec()
    spec["scenes"] = [spec["scenes"][0], dict(spec["scenes"][0])]  # the same narration and picture twice
    path = write_spec(tmp_path, spec)
    result = run_cli("build", path, "--profile", "draft", "-j", "2", "--report", tmp_path / "r.json")
    assert result.exit_code == 0, result.stderr
    statuses = report_statuses(tmp_path / "r.json")
    for kind in ("tts", "align", "image", "segment"):
        assert sorted([statuses[(kind, 0)], statuses[(kind, 1)]]) == ["built", "cached"], kind


def test_keys_do_not_depend_on_the_process_umask_or_hash_seed(tmp_path):
    """Every action's code digest and engines, computed by fresh processes set up differently."""
    script = (
        "import json, sys; from autostream_compiler.engine import actions; "
        "from autostream_compiler.engine.recipe import action_identity as a; "
        "print(json.dumps({n: a(getattr(actions, n), p) for n, p in [('tts_piper', 'piper'), ('tts_edge', 'edge'), "
        "('tts_espeak', 'espeak'), ('tts_recorded', 'recorded'), ('align', 'whisper'), ('image_chain', 'procedural'), "
        "('image_file', 'file'), ('timeline', 'autostream'), ('level', 'autostream'), ('audio', 'ffmpeg'), "
        "('title_card', 'card')]}))"
    )
    seen = set()
    for umask, seed in (("022", "0"), ("002", "1"), ("077", "2")):
        shell = f'umask {umask} && exec {sys.executable} -c "$0"'
        done = subprocess.run(
            ["sh", "-c", shell, script],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
            cwd=tmp_path,
        )
        assert done.returncode == 0, done.stderr
        seen.add(done.stdout)
        assert '"ffmpeg": "ffmpeg version' in done.stdout  # the audio mix and Edge's decode run ffmpeg
    assert len(seen) == 1


def test_the_scene_families_a_picture_may_draw_are_in_its_key(project, monkeypatch):
    """The families are a table of drawing functions: their code reaches the picture steps' keys."""
    from autostream_compiler.providers import scenery

    before = _keys(project)
    monkeypatch.setitem(scenery._PAINTERS, "sea", scenery._PAINTERS["mountains"])
    assert _changed(before, _keys(project)) == {"image scene 1", "image scene 2"}
