"""The studio render through the CLI: transitions as their own steps, chapters, sidecars, thumbnail,
formats and profiles, caption styles, music and loudness — checked with ffprobe and the report."""

from __future__ import annotations

import json
import re
import subprocess

import pytest
import yaml
from helpers import ffprobe, report_statuses, run_cli, write_spec

from autostream_compiler.render import ffmpeg


def _spec(**extra) -> dict:
    return {
        "version": 1,
        "title": "Joins and chapters",
        "format": {"resolution": "720p", "fps": 24},
        "pacing": {"words_per_minute": 180, "pause": 0.4},
        "transition": {"kind": "crossfade", "duration": 0.5},
        "scenes": [
            {
                "narration": "The first scene starts here. It has two sentences.",
                "visual": "a red sunrise",
                "transition": {"kind": "wipe_left", "duration": 0.75},
            },
            {
                "narration": "The second scene follows.",
                "visual": "a quiet harbour",
                "motion": {"preset": "pan_up", "strength": 0.1},
            },
            {"narration": "And the third one ends it.", "visual": "a mountain at night"},
        ],
        **extra,
    }


def _build(root, spec: dict, report: str, *extra):
    path = write_spec(root, spec)
    result = run_cli("build", path, "--report", root / report, *extra)
    assert result.exit_code == 0, result.stderr
    return report_statuses(root / report)


def _built(statuses) -> set:
    return {k for k, v in statuses.items() if v == "built"}


def _streams(video):
    info = ffprobe(video)
    v, a = (next(s for s in info["streams"] if s["codec_type"] == kind) for kind in ("video", "audio"))
    return info, v, a


def _loudness(video) -> float:
    err = subprocess.run(
        ["ffmpeg", "-nostats", "-i", str(video), "-map", "0:a", "-af", "ebur128", "-f", "null", "-"],
        capture_output=True,
        text=True,
    ).stderr
    return float(re.findall(r"I:\s+(-?[\d.]+) LUFS", err)[-1])


def test_transitions_chapters_sidecars_and_edits_at_the_joins(tmp_path):
    spec = _spec()
    statuses = _build(tmp_path, spec, "r1.json")
    assert statuses[("transition", 0)] == statuses[("transition", 1)] == "built"
    report = json.loads((tmp_path / "r1.json").read_text())
    assert [s["provider"] for s in report["steps"] if s["kind"] == "transition"] == ["ffmpeg", "ffmpeg"]

    video = tmp_path / "out" / "video.mp4"
    info, v, a = _streams(video)
    assert abs(float(v["duration"]) - float(a["duration"])) < 0.05
    assert int(v["nb_read_frames"]) == round(float(v["duration"]) * 24)
    chapters = subprocess.run(
        ["ffprobe", "-v", "error", "-show_chapters", "-of", "json", str(video)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    titles = [c["tags"]["title"] for c in json.loads(chapters)["chapters"]]
    assert titles == ["The first scene starts here.", "The second scene follows.", "And the third one ends it."]
    data = video.read_bytes()
    assert data.index(b"moov") < data.index(b"mdat")  # +faststart
    vtt = (tmp_path / "out" / "video.vtt").read_text()
    assert vtt.startswith("WEBVTT\n\n00:00:00.") and "The second scene follows." in vtt
    assert (tmp_path / "out" / "video.thumb.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    lock = yaml.safe_load((tmp_path / "video.lock.yaml").read_text())["graph"]
    assert lock["scenes"][1]["motion"] == {"preset": "pan_up", "strength": 0.1}
    assert [s["transition"]["kind"] for s in lock["scenes"]][:2] == ["wipe_left", "crossfade"]
    words = json.loads((tmp_path / "out" / "video.words.json").read_text())
    starts = {w["scene"]: w["start"] for w in reversed(words)}
    assert all(starts[i] < starts[i + 1] for i in range(2))

    spec["scenes"][0]["transition"]["kind"] = "slide_right"  # same length: only that join
    assert _built(_build(tmp_path, spec, "r2.json")) == {("transition", 0), ("mux", None)}

    spec["scenes"][0]["transition"]["duration"] = 1.0  # longer: only its two scenes (scene 2 runs longer, so
    assert _built(_build(tmp_path, spec, "r3.json")) == {  # its camera move and its join out are re-timed)
        ("transition", 0),
        ("segment", 0),
        ("segment", 1),
        ("transition", 1),
        ("timeline", None),
        ("audio", None),
        ("mux", None),
    }

    spec["scenes"][1]["narration"] = "The second scene follows on."  # a middle scene: at most its two joins
    assert _built(_build(tmp_path, spec, "r4.json")) == {
        ("tts", 1),
        ("align", 1),
        ("segment", 1),
        ("transition", 0),
        ("transition", 1),
        ("timeline", None),
        ("audio", None),
        ("mux", None),
    }


@pytest.mark.parametrize(
    "aspect,resolution,fps,size",
    [
        ("4:5", "720p", 24, (720, 900)),
        ("9:16", "720p", 60, (720, 1280)),
        ("16:9", "1440p", 24, (2560, 1440)),
        ("1:1", "2160p", 25, (2160, 2160)),
    ],
)
def test_formats(tmp_path, aspect, resolution, fps, size):
    spec = {
        "version": 1,
        "title": "Format",
        "format": {"aspect": aspect, "resolution": resolution, "fps": fps},
        "scenes": [{"narration": "Hello there.", "visual": "a lake"}],
    }
    _build(tmp_path, spec, "r.json")
    _, v, a = _streams(tmp_path / "out" / "video.mp4")
    assert (v["width"], v["height"], v["r_frame_rate"], v["pix_fmt"]) == (*size, f"{fps}/1", "yuv420p")
    assert abs(float(v["duration"]) - float(a["duration"])) < 0.05


def test_draft_profile_is_small_fast_and_kept_apart(tmp_path):
    spec = _spec(format={"aspect": "16:9", "resolution": "1080p", "fps": 30})
    _build(tmp_path, spec, "r.json", "--profile", "draft")
    assert not (tmp_path / "out" / "video.mp4").exists()
    _, v, _ = _streams(tmp_path / "out" / "video.draft.mp4")
    assert (v["width"], v["height"], v["r_frame_rate"]) == (640, 360, "30/1")
    assert (tmp_path / "out" / "video.draft.srt").exists()


def test_encoder_auto_uses_hardware_or_says_why_not(tmp_path):
    _build(tmp_path, _spec(), "r.json")
    notes = json.loads((tmp_path / "r.json").read_text())["notes"]
    if ffmpeg.hardware_encoder()[0] is None:
        assert len(notes) == 1 and "using libx264" in notes[0]
    else:
        assert notes == []


def test_music_is_ducked_and_the_mix_meets_the_loudness_target(tmp_path):
    subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=220:duration=2",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=330:duration=2",
            "-filter_complex",
            "amix=inputs=2",
            str(tmp_path / "bed.mp3"),
        ],
        check=True,
    )
    spec = _spec(music={"path": "bed.mp3", "volume": 0.3, "duck": 12, "fade_in": 0.5, "fade_out": 1})
    _build(tmp_path, spec, "r.json")
    audio = next(s for s in json.loads((tmp_path / "r.json").read_text())["steps"] if s["kind"] == "audio")
    assert abs(audio["details"]["integrated"] + 14) <= 1 and audio["details"]["true_peak"] <= -0.9
    assert abs(_loudness(tmp_path / "out" / "video.mp4") + 14) <= 1  # measured on the delivered file

    spec["loudness"] = -20
    _build(tmp_path, spec, "r2.json")
    assert abs(_loudness(tmp_path / "out" / "video.mp4") + 20) <= 1

    (tmp_path / "gone").mkdir()
    spec["music"]["path"] = "../bed.mp3"
    result = run_cli("build", write_spec(tmp_path / "gone", spec))
    assert result.exit_code == 2 and "music.path" in result.stderr and "outside the spec's folder" in result.stderr


def test_pop_captions_for_shorts_and_a_hostile_narration_kept_literal(tmp_path):
    hostile = 'He wrote {\\b1}bold{\\b0} and \\N in 50% "quotes", café.'
    spec = {
        "version": 1,
        "title": "Shorts",
        "style": "shorts",
        "format": {"resolution": "720p"},
        "captions": {"style": "pop", "words_per_line": 2},
        "scenes": [{"narration": hostile, "visual": "a neon street"}],
    }
    _build(tmp_path, spec, "r.json")
    srt = (tmp_path / "out" / "video.srt").read_text()
    text = [" ".join(block.splitlines()[2:]) for block in srt.strip().split("\n\n")]  # drop number and times
    assert " ".join(text) == hostile
    _, v, _ = _streams(tmp_path / "out" / "video.mp4")
    assert (v["width"], v["height"]) == (720, 1280)


def test_colours_come_out_as_the_picture_has_them(tmp_path):
    """Pictures are converted with the BT.601 matrix (the one ffmpeg's libass blends captions with)
    and the stream is tagged so; untagged, browsers show HD video as BT.709: every colour ~10 levels off."""
    from PIL import Image

    colour = (0xE7, 0x6F, 0x51)
    Image.new("RGB", (1280, 720), colour).save(tmp_path / "flat.png")
    spec = {
        "version": 1,
        "title": "Colour",
        "format": {"resolution": "720p", "fps": 24},
        "captions": {"style": "none"},
        "motion": {"preset": "none"},
        "scenes": [{"narration": "Orange.", "visual": "flat", "image": "flat.png"}],
    }
    for profile in ("final", "draft"):
        _build(tmp_path, spec, "r.json", "--profile", profile)
        video = tmp_path / "out" / ("video.mp4" if profile == "final" else "video.draft.mp4")
        _, v, _ = _streams(video)
        assert (v["color_space"], v["color_primaries"], v["color_transfer"], v["color_range"]) == (
            "smpte170m",
            "bt709",
            "bt709",
            "tv",
        )
        rgb = subprocess.run(
            [
                "ffmpeg",
                "-v",
                "error",
                "-i",
                str(video),
                "-frames:v",
                "1",
                "-vf",
                "scale=in_color_matrix=bt601:in_range=tv,format=rgb24",
                "-f",
                "rawvideo",
                "-",
            ],
            capture_output=True,
            check=True,
        ).stdout
        centre = (len(rgb) // 3 // 2) * 3
        assert all(abs(rgb[centre + i] - colour[i]) <= 3 for i in range(3)), list(rgb[centre : centre + 3])


def _dual_mono(video) -> tuple[float, float]:
    """Integrated loudness and true peak of a video's audio as both speakers play it."""
    err = subprocess.run(
        ["ffmpeg", "-nostats", "-i", str(video), "-map", "0:a", "-af", "ebur128=peak=true:dualmono=true", "-f", "null",
         "-"],
        capture_output=True,
        text=True,
    ).stderr  # fmt: skip
    summary = err[err.rfind("Summary:") :]
    return float(re.search(r"I:\s+(-?[\d.]+)", summary)[1]), float(re.search(r"Peak:\s+(-?[\d.]+)", summary)[1])


def test_a_draft_masters_from_each_scenes_level_and_an_edit_measures_only_its_scene(tmp_path):
    spec = _spec(captions={"style": "none"})
    statuses = _build(tmp_path, spec, "r1.json", "--profile", "draft")
    assert {statuses[("level", i)] for i in range(3)} == {"built"}
    audio = next(s for s in json.loads((tmp_path / "r1.json").read_text())["steps"] if s["kind"] == "audio")
    assert audio["details"]["estimated"] is True and audio["details"]["mode"] in ("linear", "limited")
    video = tmp_path / "out" / "video.draft.mp4"
    integrated, peak = _dual_mono(video)
    assert abs(integrated + 14) <= 1 and peak <= -1.0
    assert abs(audio["details"]["integrated"] - integrated) <= 0.5

    spec["scenes"][1]["narration"] = "The second scene comes next."
    statuses = _build(tmp_path, spec, "r2.json", "--profile", "draft")
    assert [statuses[("level", i)] for i in range(3)] == ["cached", "built", "cached"]
    assert statuses[("tts", 1)] == statuses[("audio", None)] == statuses[("mux", None)] == "built"
    integrated, peak = _dual_mono(video)
    assert abs(integrated + 14) <= 1 and peak <= -1.0

    spec["loudness"] = -23  # the final master is the exact two-pass one, and measures its output
    _build(tmp_path, spec, "r3.json")
    audio = next(s for s in json.loads((tmp_path / "r3.json").read_text())["steps"] if s["kind"] == "audio")
    assert "estimated" not in audio["details"] and abs(_loudness(tmp_path / "out" / "video.mp4") + 23) <= 1
