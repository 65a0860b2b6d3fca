"""Builds sharing one cache at the same time, as real processes: two builds, a watch and a build, and
identical steps within one build all succeed with whole outputs equal to a lone build's."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from helpers import Watching, ffprobe, frame_hashes, two_scene_spec, write_spec

BUILD = [sys.executable, "-m", "autostream_compiler", "build", "video.yaml", "--profile", "draft"]
SIDECARS = (".mp4", ".srt", ".vtt", ".words.json", ".thumb.png")
OUTPUTS = ["video.lock.yaml", *(f"out/video.draft{ext}" for ext in SIDECARS)]


def _start(argv: list[str], folder: Path) -> subprocess.Popen:
    """A build process in folder, its output captured."""
    return subprocess.Popen(argv, cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _keys(report: Path) -> dict[tuple[str, int | None], str]:
    """(kind, scene) -> key of every step of a build report, after checking none failed."""
    steps = json.loads(report.read_text())["steps"]
    assert all(s["status"] in ("built", "cached") for s in steps), steps
    return {(s["kind"], s["scene"]): s["key"] for s in steps}


@pytest.fixture(scope="module")
def alone(tmp_path_factory) -> Path:
    """The spec's folder after a build alone on a fresh cache (its outputs and report)."""
    folder = tmp_path_factory.mktemp("alone")
    write_spec(folder, two_scene_spec())
    subprocess.run([*BUILD, "--report", "report.json"], cwd=folder, capture_output=True, check=True, timeout=300)
    return folder


def _assert_whole_and_equal(folder: Path, alone: Path) -> None:
    """The lock and outputs beside the spec are whole (YAML, MP4) and equal a lone build's; no temp file left."""
    assert yaml.safe_load((folder / "video.lock.yaml").read_text(encoding="utf-8"))
    assert ffprobe(folder / "out" / "video.draft.mp4")["format"]["format_name"].startswith("mov,mp4")
    assert frame_hashes(folder / "out" / "video.draft.mp4") == frame_hashes(alone / "out" / "video.draft.mp4")
    for name in OUTPUTS:
        assert (folder / name).read_bytes() == (alone / name).read_bytes(), name
    assert not [p for p in folder.rglob("*") if p.name.endswith(".tmp") or p.name.startswith(".video.")]
    assert not list((folder / ".autostream" / "cache" / "tmp").rglob("step-*"))  # every step folder removed


def test_two_builds_of_one_spec_on_one_cache_at_once(tmp_path, alone):
    write_spec(tmp_path, two_scene_spec())
    runs = [_start([*BUILD, "--report", f"{name}.json"], tmp_path) for name in ("first", "second")]
    for run in runs:
        _, err = run.communicate(timeout=300)
        assert run.returncode == 0, err
    assert _keys(tmp_path / "first.json") == _keys(tmp_path / "second.json") == _keys(alone / "report.json")
    for name in ("first", "second"):  # both ran steps: they overlapped rather than one reusing the other's
        assert "built" in {s["status"] for s in json.loads((tmp_path / f"{name}.json").read_text())["steps"]}
    _assert_whole_and_equal(tmp_path, alone)


def test_a_watch_and_a_build_on_one_cache_at_once(tmp_path, alone):
    path = write_spec(tmp_path, two_scene_spec())
    build = _start([*BUILD, "--report", "build.json"], tmp_path)
    try:
        with Watching(path, "--profile", "draft") as watch:
            status = watch.wait_for(1)
            assert status["state"] == "done", status["error"]
            assert {s["key"] for s in status["steps"]} == set(_keys(alone / "report.json").values())
            _, err = build.communicate(timeout=300)
            assert build.returncode == 0, err
            assert watch.stop()[0] == 0
    finally:
        build.kill()
    assert _keys(tmp_path / "build.json") == _keys(alone / "report.json")
    _assert_whole_and_equal(tmp_path, alone)


def test_two_identical_scenes_in_one_build_both_succeed(tmp_path):
    spec = two_scene_spec()
    spec["scenes"] = [spec["scenes"][0], dict(spec["scenes"][0])]  # same narration, same picture
    write_spec(tmp_path, spec)
    run = subprocess.run([*BUILD, "-j", "2", "--report", "report.json"], cwd=tmp_path, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    keys = _keys(tmp_path / "report.json")
    for kind in ("tts", "align", "image", "segment"):
        assert keys[(kind, 0)] == keys[(kind, 1)], kind
    words = json.loads((tmp_path / "out" / "video.draft.words.json").read_text())
    first, second = ([w for w in words if w["scene"] == n] for n in (0, 1))
    assert first and [w["text"] for w in first] == [w["text"] for w in second]
    assert first[-1]["end"] < second[0]["start"]
    video = ffprobe(tmp_path / "out" / "video.draft.mp4")
    assert [s["codec_type"] for s in video["streams"]][:2] == ["video", "audio"]
    assert float(video["format"]["duration"]) >= second[-1]["end"]
