"""A topic spec built end to end: one model call through the real groq SDK (fake server), then
builds from the lock that make no request at all, and no trace of the API key anywhere."""

from __future__ import annotations

import json

from fake_llm import FakeLLM
from helpers import ffprobe, report_statuses, run_cli, write_spec

KEY = "gsk_live_NeverPrintMe_9f8e7d6c5b4a"
ANSWER = {
    "title": "Lava in a minute",
    "scenes": [
        {
            "narration": "Deep below the ground, rock grows so hot that it softens and flows. We call this "
            "melted rock magma, and it is lighter than the stone around it.",
            "visual": "glowing magma under the crust",
        },
        {
            "narration": "Magma rises through cracks and gathers in chambers. When the pressure becomes too "
            "great, it bursts out as lava, ash and gas.",
            "visual": "a volcano erupting at night",
        },
    ],
}


def test_topic_to_video_with_one_model_call(tmp_path, monkeypatch):
    spec = {
        "version": 1,
        "topic": "Why volcanoes erupt",
        "style": "shorts",
        "format": {"resolution": "720p"},
        "pacing": {"target_duration": 20},
        "llm": {"provider": "groq", "model": "llama-3.1-8b-instant"},
    }
    path = write_spec(tmp_path, spec)
    with FakeLLM() as fake:
        monkeypatch.setenv("GROQ_BASE_URL", fake.url)
        monkeypatch.setenv("GROQ_API_KEY", KEY)
        fake.answer(ANSWER)
        first = run_cli("build", path, "--report", tmp_path / "r1.json")
        assert first.exit_code == 0, first.stderr
        again = run_cli("build", path, "--report", tmp_path / "r2.json")
        assert again.exit_code == 0, again.stderr
        assert len(fake.requests) == 1
        assert set(report_statuses(tmp_path / "r2.json").values()) == {"cached"}

        spec["format"]["fps"] = 24  # does not feed the model: rebuilt from the lock without a request
        write_spec(tmp_path, spec)
        third = run_cli("build", path, "--report", tmp_path / "r3.json")
        assert third.exit_code == 0, third.stderr
        assert len(fake.requests) == 1

    assert {k for k, v in report_statuses(tmp_path / "r3.json").items() if v == "built"} == {
        ("segment", i) for i in range(4)
    } | {("timeline", None), ("audio", None), ("mux", None)}
    lock = (tmp_path / "video.lock.yaml").read_text()
    assert "provider: groq" in lock and "model: llama-3.1-8b-instant" in lock

    info = ffprobe(tmp_path / "out" / "video.mp4")
    [v] = [s for s in info["streams"] if s["codec_type"] == "video"]
    assert (v["width"], v["height"], v["r_frame_rate"]) == (720, 1280, "24/1")  # shorts, 9:16
    words = json.loads((tmp_path / "out" / "video.words.json").read_text())
    spoken = " ".join(w["text"] for w in words)
    assert spoken == " ".join(s["narration"] for s in ANSWER["scenes"])
    assert len({w["scene"] for w in words}) == 4  # each scene is longer than 6 s at 185 wpm: split in two

    for file in tmp_path.rglob("*"):
        if file.is_file():
            assert KEY.encode() not in file.read_bytes(), file
