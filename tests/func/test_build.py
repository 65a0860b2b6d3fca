"""End to end through the CLI: a real build (piper, procedural images, ffmpeg) checked with ffprobe,
the words file against the audio, report statuses on rebuild and after edits."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
import yaml
from helpers import ffprobe, frame_hashes, report_statuses, run_cli, small_spec, write_spec


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A built three-scene project; the tests below edit it in order."""
    spec = small_spec()
    root = tmp_path_factory.mktemp("proj")
    path = write_spec(root, spec)
    result = run_cli("build", path, "--cache-dir", root / "cache", "--report", root / "r1.json")
    assert result.exit_code == 0, result.stderr
    return {"root": root, "spec": spec, "path": path}


def _build(project, report: str, *extra):
    root = project["root"]
    result = run_cli("build", project["path"], "--cache-dir", root / "cache", "--report", root / report, *extra)
    return result, report_statuses(root / report)


def _edit(project, scene: int, **fields):
    project["spec"]["scenes"][scene].update(fields)
    write_spec(project["root"], project["spec"])


def _built(statuses) -> set:
    return {k for k, v in statuses.items() if v == "built"}


def _pcm(path: Path, rate: int = 16000) -> np.ndarray:
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-f", "s16le", "-ac", "1", "-ar", str(rate), "-"],
        capture_output=True,
        check=True,
    ).stdout
    return np.frombuffer(raw, dtype=np.int16).astype(np.float32)


def test_first_build_makes_the_video_and_sidecars(project):
    root = project["root"]
    video = root / "out" / "video.mp4"
    statuses = report_statuses(root / "r1.json")
    assert set(statuses.values()) == {"built"}
    assert len(statuses) == 3 * 4 + 4  # per scene tts, align, image, segment; timeline, audio, mux, thumbnail
    assert "transition" not in {kind for kind, _ in statuses}  # this spec cuts
    report = json.loads((root / "r1.json").read_text())
    assert report["output"] == str(video)
    assert all(len(s["key"]) == 64 and s["seconds"] >= 0 for s in report["steps"])

    info = ffprobe(video)
    [v] = [s for s in info["streams"] if s["codec_type"] == "video"]
    [a] = [s for s in info["streams"] if s["codec_type"] == "audio"]
    assert (v["codec_name"], v["width"], v["height"], v["r_frame_rate"], v["pix_fmt"]) == (
        "h264",
        1280,
        720,
        "24/1",
        "yuv420p",
    )
    assert a["codec_name"] == "aac"
    assert abs(float(v["duration"]) - float(a["duration"])) < 0.05
    assert int(v["nb_read_frames"]) == round(float(v["duration"]) * 24)

    words = json.loads((root / "out" / "video.words.json").read_text())
    for i, scene in enumerate(project["spec"]["scenes"]):
        assert " ".join(w["text"] for w in words if w["scene"] == i) == scene["narration"]
    assert all(w["start"] <= w["end"] for w in words)
    assert all(a["start"] <= b["start"] for a, b in zip(words, words[1:]))
    assert words[-1]["end"] < float(v["duration"])
    year = next(w for w in words if w["text"] == "1883.")
    assert year["end"] - year["start"] > 0.6  # shown while "eighteen eighty-three" is spoken

    srt = (root / "out" / "video.srt").read_text()
    assert srt.startswith("1\n00:00:00,") and "1883." in srt and "$5." in srt
    lock = yaml.safe_load((root / "video.lock.yaml").read_text())
    assert lock["schema"] == 3 and lock["graph"]["scenes"][0]["spoken"][-1] == "eighteen eighty-three."


def test_word_times_match_the_narration_audio(project):
    root = project["root"]
    rate = 16000
    pcm = _pcm(root / "out" / "video.mp4", rate)
    words = json.loads((root / "out" / "video.words.json").read_text())

    def rms(start: float, end: float) -> float:
        seg = pcm[int(start * rate) : int(end * rate)]
        return float(np.sqrt(np.mean(seg**2))) if len(seg) else 0.0

    spoken = [rms(w["start"], w["end"]) for w in words if w["end"] - w["start"] > 0.08]
    # The pause after each scene's last word, before the next scene's first word, is silence.
    gaps = []
    for a, b in zip(words, words[1:]):
        if a["scene"] != b["scene"]:
            gaps.append(rms(a["end"] + 0.1, b["start"] - 0.1))
    assert len(gaps) == 2
    assert min(spoken) > 300
    assert max(gaps) < 30
    assert np.median(spoken) > 50 * max(max(gaps), 1)


def test_unchanged_rebuild_runs_nothing_and_leaves_outputs_untouched(project):
    root = project["root"]
    files = [root / "out" / n for n in ("video.mp4", "video.srt", "video.words.json")] + [root / "video.lock.yaml"]
    before = [f.stat().st_mtime_ns for f in files]
    result, statuses = _build(project, "r2.json")
    assert result.exit_code == 0 and "nothing to do" in result.stdout
    assert set(statuses.values()) == {"cached"}
    assert [f.stat().st_mtime_ns for f in files] == before
    status = run_cli("status", project["path"], "--cache-dir", root / "cache")
    assert "up to date: nothing to build" in status.stdout


def test_narration_edit_rebuilds_only_that_scene_and_the_joins(project):
    _edit(project, 1, narration="Then the second one costs $7.")
    status = run_cli("status", project["path"], "--cache-dir", project["root"] / "cache")
    lines = {" ".join(line.split()) for line in status.stdout.splitlines()}
    assert "* tts scene 2 narration of scene 2 changed" in lines
    assert "* align scene 2 after tts scene 2 runs" in lines
    assert "image scene 2 up to date" in lines
    assert "6 of 16 steps would run" in lines
    result, statuses = _build(project, "r3.json")
    assert result.exit_code == 0, result.stderr
    assert _built(statuses) == {
        ("tts", 1),
        ("align", 1),
        ("segment", 1),
        ("timeline", None),
        ("audio", None),
        ("mux", None),
    }


def test_visual_edit_rebuilds_only_that_image_segment_and_mux(project):
    _edit(project, 2, visual="a glacier at noon")
    result, statuses = _build(project, "r4.json")
    assert result.exit_code == 0, result.stderr
    assert _built(statuses) == {("image", 2), ("segment", 2), ("mux", None)}


def test_a_hand_edit_of_the_lock_is_kept_and_rebuilt_incrementally(project):
    root = project["root"]
    lock_file = root / "video.lock.yaml"
    text = lock_file.read_text()
    assert "- Finally," in text
    lock_file.write_text(text.replace("- Finally,", "- At last,"))
    result, statuses = _build(project, "r5.json")
    assert result.exit_code == 0, result.stderr
    assert _built(statuses) == {
        ("tts", 2),
        ("align", 2),
        ("segment", 2),
        ("timeline", None),
        ("audio", None),
        ("mux", None),
    }
    assert "- At last," in lock_file.read_text()
    lock_file.write_text(text)  # back to what the spec gives, for the tests below
    result, statuses = _build(project, "r6.json")
    assert set(statuses.values()) == {"cached"}  # the earlier outputs are all still in the cache


def test_clean_build_gives_the_same_frames_as_the_incremental_one(project):
    root = project["root"]
    clean = root / "clean.mp4"
    result = run_cli("build", project["path"], "--cache-dir", root / "cache2", "-o", clean, "--jobs", "1")
    assert result.exit_code == 0, result.stderr
    incremental = frame_hashes(root / "out" / "video.mp4", ("v",))
    assert len(incremental) > 48
    assert frame_hashes(clean, ("v",)) == incremental
    assert np.array_equal(_pcm(clean), _pcm(root / "out" / "video.mp4"))


def test_a_failed_step_fails_its_dependants_only_and_exits_1(project):
    root = project["root"]
    (root / "broken.png").write_bytes(b"this is not an image")
    _edit(project, 0, image="broken.png")
    before = (root / "out" / "video.mp4").read_bytes()
    result, statuses = _build(project, "r7.json")
    assert result.exit_code == 1
    assert "error: 4 of 16 steps failed; first: image scene 1:" in result.stderr
    assert "Traceback" not in result.stderr
    assert statuses[("image", 0)] == statuses[("segment", 0)] == statuses[("mux", None)] == "failed"
    assert statuses[("thumbnail", None)] == "failed"  # the title card is drawn on the first picture
    assert statuses[("tts", 0)] == "cached" and statuses[("audio", None)] == "cached"
    assert (root / "out" / "video.mp4").read_bytes() == before  # the last good video stays
    assert not list((root / "cache").rglob("*.tmp")) and not list((root / "cache" / "tmp").glob("*/step-*"))
