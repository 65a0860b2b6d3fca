"""Voices of three engines, named speakers with their own voice and subtitle look, checked through
the CLI: report providers, sidecars, the video's audio."""

from __future__ import annotations

import json

from fake_edge import FakeEdge, piper_reply
from helpers import ffprobe, run_cli, write_spec

from autostream_compiler.expand.spoken import to_words


def _steps(report) -> dict:
    return {(s["kind"], s["scene"]): s for s in json.loads(report.read_text())["steps"]}


def _dialogue(**speakers) -> dict:
    return {
        "version": 1,
        "title": "Dialogue",
        "format": {"resolution": "720p", "fps": 24},
        "pacing": {"words_per_minute": 170, "pause": 0.3},
        "speakers": speakers,
        "script": "Ada: Volcanoes start deep underground.\nBen: How deep is deep?\nAda: About thirty kilometres down.",
    }


def test_speakers_take_turns_with_their_own_voices_and_look(tmp_path):
    spec = write_spec(
        tmp_path,
        _dialogue(
            Ada={"voice": "piper:en_US-joe-medium", "color": "#FF8800", "show_name": True},
            Ben={"voice": "espeak:en-gb"},
        ),
    )
    result = run_cli("build", spec, "--report", tmp_path / "r.json")
    assert result.exit_code == 0, result.stderr
    steps = _steps(tmp_path / "r.json")
    assert [steps[("tts", i)]["provider"] for i in range(3)] == ["piper", "espeak", "piper"]
    assert [steps[("align", i)]["provider"] for i in range(3)] == ["native"] * 3

    lock = (tmp_path / "video.lock.yaml").read_text()
    assert "speaker: Ada" in lock and "voice: espeak:en-gb" in lock
    srt = (tmp_path / "out" / "video.srt").read_text()
    assert "Ada: Volcanoes start deep underground." in srt and "Ada: About thirty kilometres down." in srt
    assert "\nHow deep is deep?" in srt and "Ben:" not in srt  # Ben's name is not shown
    words = json.loads((tmp_path / "out" / "video.words.json").read_text())
    assert [w["text"] for w in words if w["scene"] == 1] == ["How", "deep", "is", "deep?"]
    info = ffprobe(tmp_path / "out" / "video.mp4")
    v, a = (next(s for s in info["streams"] if s["codec_type"] == kind) for kind in ("video", "audio"))
    assert abs(float(v["duration"]) - float(a["duration"])) < 0.05


def test_an_edge_voice_through_the_real_client_mixed_with_piper(tmp_path, monkeypatch):
    spec = _dialogue(Ada={"voice": "edge:en-GB-SoniaNeural"}, Ben={"voice": "en_US-joe-medium"})
    entries = [w.spoken for w in to_words("Volcanoes start deep underground.")]
    reply = piper_reply(entries)
    spec["script"] = "Ada: Volcanoes start deep underground.\nBen: How deep is deep?"
    spec["pacing"]["pitch"] = -5
    path = write_spec(tmp_path, spec)
    with FakeEdge(reply, voices=("en-GB-SoniaNeural",)) as fake:
        monkeypatch.setenv("AUTOSTREAM_EDGE_TTS_URL", fake.url)
        result = run_cli("build", path, "--report", tmp_path / "r.json")
    ssml = next(m for m in fake.requests[0].messages if "Path:ssml" in m)
    assert "(en-GB, SoniaNeural)" in ssml and "pitch='-5Hz'" in ssml and "rate='+13%'" in ssml
    assert result.exit_code == 0, result.stderr
    steps = _steps(tmp_path / "r.json")
    assert steps[("tts", 0)]["provider"] == "edge" and steps[("tts", 1)]["provider"] == "piper"
    words = [w for w in json.loads((tmp_path / "out" / "video.words.json").read_text()) if w["scene"] == 0]
    sent = [(start, end) for _, start, end in reply.words]
    assert len(words) == len(sent) == 4
    assert all(abs(w["start"] - s) < 0.06 for w, (s, _) in zip(words, sent))
    info = ffprobe(tmp_path / "out" / "video.mp4")
    v, a = (next(s for s in info["streams"] if s["codec_type"] == kind) for kind in ("video", "audio"))
    assert abs(float(v["duration"]) - float(a["duration"])) < 0.05  # 24 kHz and 22.05 kHz joined in step


def test_voices_lists_every_provider():
    result = run_cli("voices")
    assert result.exit_code == 0
    assert "piper:en_US-joe-medium" in result.stdout and "edge:en-GB-SoniaNeural" in result.stdout
    assert "espeak:en-us" in result.stdout and "espeak:de" in result.stdout


def test_bad_voices_and_speakers_are_named_with_their_place(tmp_path):
    spec = _dialogue(Ada={"voice": "polly:Joanna"}, Ben={"voice": "espeak:xx-klingon"})
    del spec["script"]
    spec["scenes"] = [{"narration": "Hi.", "speaker": "Cleo"}, {"narration": "Yo.", "voice": "edge:nonsense"}]
    path = write_spec(tmp_path, spec)
    result = run_cli("build", path)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert any("speakers.Ada.voice: unknown TTS provider 'polly'" in line for line in lines), lines
    assert any("speakers.Ben.voice: espeak has no voice 'xx-klingon'" in line for line in lines), lines
    assert any("scenes[0].speaker: unknown speaker 'Cleo' (Ada, Ben)" in line for line in lines), lines
    assert any("scenes[1].voice: edge has no voice 'nonsense'" in line for line in lines), lines


def test_a_recorded_narration_is_aligned_by_whisper(tmp_path):
    import subprocess

    from autostream_compiler.providers import espeak_tts

    narration = "Lava cools into black rock, and new land is born."
    take = espeak_tts.synthesize([w.spoken for w in to_words(narration)], "en-us", 150)
    raw = tmp_path / "take.raw"
    raw.write_bytes(take.samples.tobytes())
    subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-f",
            "s16le",
            "-ar",
            str(take.sample_rate),
            "-ac",
            "1",
            "-i",
            str(raw),
            "-ar",
            "44100",
            "-ac",
            "2",
            str(tmp_path / "take.flac"),
        ],
        check=True,
    )  # a stereo 44.1 kHz take
    spec = {
        "version": 1,
        "title": "Takes",
        "format": {"resolution": "720p", "fps": 24},
        "scenes": [{"narration": narration, "audio": "take.flac"}, {"narration": "Then a narrator speaks."}],
    }
    path = write_spec(tmp_path, spec)
    result = run_cli("build", path, "--report", tmp_path / "r.json")
    assert result.exit_code == 0, result.stderr
    steps = _steps(tmp_path / "r.json")
    assert steps[("tts", 0)]["provider"] == "recorded" and steps[("align", 0)]["provider"] == "whisper"
    assert steps[("tts", 1)]["provider"] == "piper" and steps[("align", 1)]["provider"] == "native"
    words = [w for w in json.loads((tmp_path / "out" / "video.words.json").read_text()) if w["scene"] == 0]
    assert " ".join(w["text"] for w in words) == narration
    error = sum(abs(w["start"] - s) for w, (s, _) in zip(words, take.timings)) / len(words)
    assert error < 0.15, error  # whisper's times against the engine's own

    (tmp_path / "take.flac").write_bytes(b"")  # a broken recording fails that scene's step, in one line
    result = run_cli("build", path, "--report", tmp_path / "r2.json")
    assert result.exit_code == 1 and "take.flac" in result.stderr and "Traceback" not in result.output


def test_recorded_audio_cannot_use_native_timings(tmp_path):
    (tmp_path / "take.wav").write_bytes(b"RIFF")
    spec = {"version": 1, "title": "T", "align": "native", "scenes": [{"narration": "Hi.", "audio": "take.wav"}]}
    result = run_cli("build", write_spec(tmp_path, spec))
    assert result.exit_code == 2 and "align: recorded `audio` brings no word timings" in result.stderr
    assert "use align: auto" in result.stderr and str(tmp_path / "video.yaml") in result.stderr


def test_whisper_can_be_chosen_for_tts_audio_too(tmp_path):
    spec = {
        "version": 1,
        "title": "T",
        "align": "whisper",
        "format": {"resolution": "720p", "fps": 24},
        "scenes": [{"narration": "The first scene starts in 1883, on a quiet morning."}],
    }
    result = run_cli("build", write_spec(tmp_path, spec), "--report", tmp_path / "r.json")
    assert result.exit_code == 0, result.stderr
    assert _steps(tmp_path / "r.json")[("align", 0)]["provider"] == "whisper"
    year = next(w for w in json.loads((tmp_path / "out" / "video.words.json").read_text()) if w["text"] == "1883,")
    assert year["end"] - year["start"] > 0.5  # "eighteen eighty-three" spans one displayed word


def test_an_edge_voice_without_word_boundaries_is_aligned_by_whisper(tmp_path, monkeypatch):
    narration = "Volcanoes start deep underground."
    reply = piper_reply([w.spoken for w in to_words(narration)])
    sent = [(start, end) for _, start, end in reply.words]
    reply.words = []  # the service sent audio but no WordBoundary events
    spec = {
        "version": 1,
        "title": "T",
        "voice": "edge:en-US-AriaNeural",
        "format": {"resolution": "720p", "fps": 24},
        "scenes": [{"narration": narration}],
    }
    path = write_spec(tmp_path, spec)
    with FakeEdge(reply) as fake:
        monkeypatch.setenv("AUTOSTREAM_EDGE_TTS_URL", fake.url)
        result = run_cli("build", path, "--report", tmp_path / "r.json")
    assert result.exit_code == 0, result.stderr
    align = _steps(tmp_path / "r.json")[("align", 0)]
    assert align["provider"] == "whisper" and "no word timings" in align["warnings"][0]
    words = json.loads((tmp_path / "out" / "video.words.json").read_text())
    assert sum(abs(w["start"] - s) for w, (s, _) in zip(words, sent)) / len(words) < 0.15
