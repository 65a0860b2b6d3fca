"""A scene's own video clip (`video:`): scaled and cropped to the frame, trimmed, slowed a little or
looped to the scene's length with no frozen tail, its sound muted or ducked under the narration,
captions on top, and cached by the clip's bytes."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
from helpers import ffprobe, frame_hashes, report_statuses, run_cli, write_spec

from autostream_compiler.render import clips

FPS = 24


def make_clip(path: Path, seconds: float, size: str = "640x360", rate: int = 25, tone: int = 440) -> Path:
    """A moving test pattern (every frame differs) with a loud sine tone."""
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc2=size={size}:rate={rate}:duration={seconds}",
         "-f", "lavfi", "-i", f"sine=frequency={tone}:duration={seconds}:sample_rate=48000",
         "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(path)],
        check=True,
    )  # fmt: skip
    return path


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    folder = tmp_path_factory.mktemp("clips")
    (folder / "clips").mkdir()
    make_clip(folder / "clips" / "long.mp4", 8)
    make_clip(folder / "clips" / "short.mp4", 1.2, size="480x640")  # portrait into landscape: cropped
    spec = {
        "version": 1,
        "title": "Clips",
        "encoder": "libx264",
        "format": {"aspect": "16:9", "resolution": "720p", "fps": FPS},
        "pacing": {"words_per_minute": 170, "pause": 1.5},
        "transition": {"kind": "crossfade", "duration": 0.5},  # joins of clips and pictures
        "scenes": [
            {"narration": "The harbour wakes before dawn.", "video": "clips/long.mp4", "video_audio": "duck"},
            {"narration": "Boats slip out one by one into the grey water.", "video": "clips/short.mp4"},
            {"narration": "Then the sun comes up.", "visual": "a sunrise over the sea"},
        ],
    }
    path = write_spec(folder, spec)
    result = run_cli("build", path, "--report", folder / "r.json")
    assert result.exit_code == 0, result.stderr
    return path, folder / "out" / "video.mp4", json.loads((folder / "r.json").read_text())


def _chapters(video: Path) -> list[tuple[float, float]]:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-print_format", "json", "-show_chapters", str(video)],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return [(float(c["start_time"]), float(c["end_time"])) for c in json.loads(out)["chapters"]]


def test_clip_scenes_fill_their_length_at_the_frame_size(built):
    _, video, report = built
    images = [s for s in report["steps"] if s["kind"] == "image"]
    assert [s["provider"] for s in images] == ["clip", "clip", "procedural"]
    stream = next(s for s in ffprobe(video)["streams"] if s["codec_type"] == "video")
    assert (stream["width"], stream["height"]) == (1280, 720)
    ends = _chapters(video)
    assert int(stream["nb_read_frames"]) == round(ends[-1][1] * FPS)  # every frame of every scene is there


def test_no_clip_scene_freezes(built):
    """Trimmed or looped, every frame of a clip scene moves; a frozen tail would repeat one frame."""
    _, video, _ = built
    hashes = [line.split(",")[-1].strip() for line in frame_hashes(video, ("v",))]
    for start, end in _chapters(video)[:2]:
        frames = hashes[round(start * FPS) : round(end * FPS)]
        repeats = sum(a == b for a, b in zip(frames, frames[1:]))
        assert repeats <= len(frames) // 10, (start, repeats, len(frames))  # 25 fps shown at 24: none repeat


def test_the_clip_sound_is_ducked_or_muted_as_asked(built):
    """Scene 1 keeps its clip's tone under the narration (heard in its pause), scene 2 mutes it."""
    _, video, _ = built
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(video), "-map", "0:a", "-ac", "1", "-ar", "8000", "-f", "s16le", "-"],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    samples = np.frombuffer(raw, dtype=np.int16).astype(np.float32)
    words = json.loads(video.with_suffix(".words.json").read_text())
    chapters = _chapters(video)

    def tone(scene: int) -> float:
        """The 440 Hz level in the scene's pause (after its last word, before the next scene)."""
        last = max(w["end"] for w in words if w["scene"] == scene)
        part = samples[int((last + 0.3) * 8000) : int((chapters[scene][1] - 0.2) * 8000)]
        spectrum = np.abs(np.fft.rfft(part * np.hanning(len(part))))
        freqs = np.fft.rfftfreq(len(part), 1 / 8000)
        return float(spectrum[(freqs > 430) & (freqs < 450)].max() / len(part))

    assert tone(0) > 20 * max(tone(1), 1e-3)


def test_a_clip_is_cached_by_its_bytes(built):
    path, _, _ = built
    again = run_cli("build", path, "--report", path.parent / "r2.json")
    assert again.exit_code == 0, again.stderr
    assert set(report_statuses(path.parent / "r2.json").values()) == {"cached"}
    make_clip(path.parent / "clips" / "short.mp4", 1.2, size="480x640", tone=660)  # other bytes
    again = run_cli("build", path, "--report", path.parent / "r3.json")
    assert again.exit_code == 0, again.stderr
    statuses = report_statuses(path.parent / "r3.json")
    assert statuses[("image", 1)] == "built" and statuses[("image", 0)] == "cached"


def test_cut_trims_slows_a_little_or_loops():
    assert clips.cut(8, 3.5) == clips.Cut(1.0, False)
    slowed = clips.cut(3.2, 3.6)
    assert not slowed.loop and slowed.speed == pytest.approx(3.2 / 3.6) and slowed.speed >= 1 / clips.SLOW_LIMIT
    assert clips.cut(1.2, 3.6) == clips.Cut(1.0, True)


def test_bad_clip_keys_are_one_line_errors(tmp_path):
    base = {"version": 1, "title": "x", "scenes": [{"narration": "Hello there."}]}
    cases = [
        ({"video": "missing.mp4"}, "file 'missing.mp4' not found"),
        ({"video": "../outside.mp4"}, "outside the spec's folder"),
        ({"video_audio": "duck"}, "`video_audio` is for a scene's own clip"),
        ({"video": "a.mp4", "image": "b.png"}, "give `image` or `video`, not both"),
        ({"video": "a.mp4", "video_audio": "loud"}, "video_audio"),
        ({"video": "b.png"}, "'b.png' cannot be shown: it holds a single picture, not a moving video"),
    ]
    make_clip(tmp_path / "a.mp4", 0.5)
    from PIL import Image

    Image.new("RGB", (64, 36), "red").save(tmp_path / "b.png")
    for extra, expected in cases:
        spec = {**base, "scenes": [{**base["scenes"][0], **extra}]}
        result = run_cli("build", write_spec(tmp_path, spec))
        assert result.exit_code == 2, (extra, result.stderr)
        assert expected in result.stderr and "Traceback" not in result.stderr, (extra, result.stderr)


def test_a_file_that_is_no_video_is_named_in_one_line(tmp_path):
    (tmp_path / "clip.mp4").write_text("not a video")
    spec = {"version": 1, "title": "x", "scenes": [{"narration": "Hello there.", "video": "clip.mp4"}]}
    result = run_cli("build", write_spec(tmp_path, spec))
    assert result.exit_code == 2, result.stderr
    assert "scenes[0].video: 'clip.mp4' cannot be shown" in result.stderr and "Traceback" not in result.stderr


def test_workers_may_run_every_step_of_a_clip_scene(built):
    """A Celery worker runs only the step functions it knows: a clip's steps are among them."""
    from autostream_compiler.engine import tasks
    from autostream_compiler.engine.plan import plan
    from autostream_compiler.expand import resolve

    path, _, _ = built
    for step in plan(resolve(path).graph, path.parent):
        fn = step.action or step.command
        name = getattr(fn, "func", fn).__name__
        assert tasks.STEP_FUNCTIONS.get(name) is getattr(fn, "func", fn), step.label


def test_a_clip_whose_sound_outlasts_its_picture_is_cut_by_its_picture(tmp_path):
    """Matroska gives no track duration: the clip's length is its last frame's, so it loops in time."""
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=0.8",
         "-f", "lavfi", "-i", "sine=frequency=440:duration=3", "-c:v", "libx264", "-preset", "ultrafast",
         "-pix_fmt", "yuv420p", "-c:a", "aac", str(tmp_path / "clip.mkv")],
        check=True,
    )  # fmt: skip
    assert clips.probe(tmp_path / "clip.mkv").duration == pytest.approx(0.8, abs=0.05)
    spec = {
        "version": 1,
        "title": "Mkv",
        "encoder": "libx264",
        "format": {"resolution": "720p", "fps": FPS},
        "pacing": {"words_per_minute": 170, "pause": 0.3},
        "scenes": [{"narration": "A short clip loops under a longer line.", "video": "clip.mkv"}],
    }
    path = write_spec(tmp_path, spec)
    result = run_cli("build", path)
    assert result.exit_code == 0, result.stderr
    video = tmp_path / "out" / "video.mp4"
    stream = next(s for s in ffprobe(video)["streams"] if s["codec_type"] == "video")
    assert int(stream["nb_read_frames"]) == round(_chapters(video)[-1][1] * FPS)
    hashes = [line.split(",")[-1].strip() for line in frame_hashes(video, ("v",))]
    assert sum(a == b for a, b in zip(hashes, hashes[1:])) <= len(hashes) // 10
