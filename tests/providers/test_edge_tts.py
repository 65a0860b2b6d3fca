"""edge provider: the real edge-tts client against a fake Edge websocket server."""

from __future__ import annotations

import time

import pytest
from fake_edge import FakeEdge, Reply, piper_reply

from autostream_compiler.errors import BuildError
from autostream_compiler.providers import edge_tts as edge

# "The railway opened in 1883. It was slow." with a silent word: one entry per displayed word.
ENTRIES = ["The", "railway", "opened", "in", "eighteen eighty-three.", "", "It", "was", "slow."]
VOICE = "en-US-AriaNeural"


@pytest.fixture(scope="module")
def reply() -> Reply:
    return piper_reply(ENTRIES)


def sent_spans(reply: Reply) -> list[tuple[float, float] | None]:
    """Per entry, from the first to the last WordBoundary the fake sent for it (None if silent)."""
    words = iter(reply.words)
    spans: list[tuple[float, float] | None] = []
    for entry in ENTRIES:
        mine = [next(words) for _ in entry.split()]
        spans.append((mine[0][1], mine[-1][2]) if mine else None)
    return spans


def test_speaks_entries_with_word_timings(reply, monkeypatch):
    with FakeEdge(reply) as fake:
        monkeypatch.setenv("AUTOSTREAM_EDGE_TTS_URL", fake.url)
        speech = edge.synthesize(ENTRIES, VOICE, 150)
    assert speech.sample_rate == 24000
    assert abs(len(speech.samples) / 24000 - reply.duration) < 0.03
    assert len(speech.timings) == len(ENTRIES)
    starts = [s for s, _ in speech.timings]
    assert starts == sorted(starts) and all(s <= e for s, e in speech.timings)
    for got, sent in zip(speech.timings, sent_spans(reply)):
        if sent is not None:
            assert got == pytest.approx(sent, abs=0.05)
    silent = ENTRIES.index("")
    before, gap, after = speech.timings[silent - 1 : silent + 2]
    assert before[1] <= gap[0] <= gap[1] <= after[0]


def test_spoken_number_maps_to_its_entry(reply, monkeypatch):
    with FakeEdge(reply) as fake:
        monkeypatch.setenv("AUTOSTREAM_EDGE_TTS_URL", fake.url)
        timings = edge.synthesize(ENTRIES, VOICE, 150).timings
    said = {w: (s, e) for w, s, e in reply.words}
    number = timings[ENTRIES.index("eighteen eighty-three.")]
    assert number == pytest.approx((said["eighteen"][0], said["eighty-three"][1]), abs=0.05)
    assert timings[ENTRIES.index("It")][0] == pytest.approx(said["It"][0], abs=0.05)


def test_request_asks_for_word_boundaries_at_the_rate(reply, monkeypatch):
    with FakeEdge(reply) as fake:
        monkeypatch.setenv("AUTOSTREAM_EDGE_TTS_URL", fake.url)
        edge.synthesize(ENTRIES, VOICE, 180)
    [request] = fake.requests
    config, ssml = request.messages
    assert "Path:speech.config" in config and '"wordBoundaryEnabled":"true"' in config
    assert "Path:ssml" in ssml and "rate='+20%'" in ssml and "(en-US, AriaNeural)" in ssml
    assert request.path.startswith("/edge/v1?TrustedClientToken=")
    assert "&ConnectionId=" in request.path and "&Sec-MS-GEC=" in request.path


def test_rate_and_endpoint(monkeypatch):
    from edge_tts import constants

    assert [edge.rate_percent(w) for w in (150, 180, 120, 100)] == ["+0%", "+20%", "-20%", "-33%"]
    monkeypatch.delenv("AUTOSTREAM_EDGE_TTS_URL", raising=False)
    assert edge.endpoint() == constants.WSS_URL
    monkeypatch.setenv("AUTOSTREAM_EDGE_TTS_URL", "ws://host:1/edge/v1")
    assert edge.endpoint() == "ws://host:1/edge/v1?" + constants.WSS_URL.split("?")[1]
    monkeypatch.setenv("AUTOSTREAM_EDGE_TTS_URL", "ws://host:1/tts?key=x")
    assert edge.endpoint() == "ws://host:1/tts?key=x"


def test_failing_server_is_retried_then_reported(monkeypatch):
    with FakeEdge(mode="http500") as fake:
        monkeypatch.setenv("AUTOSTREAM_EDGE_TTS_URL", fake.url)
        with pytest.raises(BuildError) as failure:
            edge.synthesize(ENTRIES, VOICE, 150)
    message = str(failure.value)
    assert fake.connections == 3
    assert "\n" not in message and "?" not in message and "Token" not in message
    assert f"cannot reach {fake.url} after 3 attempts (HTTP 500)" in message
    assert "AUTOSTREAM_EDGE_TTS_URL" in message


def test_closed_port_is_reported_plainly(monkeypatch):
    monkeypatch.setattr(edge, "BACKOFF", (0.05, 0.05))
    with FakeEdge() as fake:
        url = fake.url  # nothing listens there once the fake has stopped
    monkeypatch.setenv("AUTOSTREAM_EDGE_TTS_URL", url)
    with pytest.raises(BuildError) as failure:
        edge.synthesize(ENTRIES, VOICE, 150)
    message = str(failure.value)
    assert f"cannot reach {url} after 3 attempts (" in message and "Connect call failed" in message
    assert "SSLContext" not in message


@pytest.mark.parametrize("mode, voice", [("ok", "en-US-NobodyNeural"), ("no_audio", VOICE)])
def test_no_audio_names_the_voice(reply, monkeypatch, mode, voice):
    monkeypatch.setattr(edge, "BACKOFF", (0.05, 0.05))
    with FakeEdge(reply, mode=mode) as fake:
        monkeypatch.setenv("AUTOSTREAM_EDGE_TTS_URL", fake.url)
        with pytest.raises(BuildError, match=f"sent no audio after 3 attempts; is '{voice}'"):
            edge.synthesize(ENTRIES, voice, 150)
    assert fake.connections == 3


def test_hanging_server_times_out(reply, monkeypatch):
    monkeypatch.setattr(edge, "TIMEOUT", 1.0)
    with FakeEdge(reply, mode="hang") as fake:
        monkeypatch.setenv("AUTOSTREAM_EDGE_TTS_URL", fake.url)
        began = time.monotonic()
        with pytest.raises(BuildError, match="no complete answer from .* within 1 s; .*AUTOSTREAM"):
            edge.synthesize(ENTRIES, VOICE, 150)
    assert time.monotonic() - began < 3
    assert fake.connections == 1


def test_voices_and_silence(monkeypatch):
    assert all(edge.valid_voice(v) for v in edge.known_voices())
    rare = ("zh-CN-liaoning-XiaobeiNeural", "sr-Latn-RS-NicholasNeural", "fil-PH-AngeloNeural")
    for name in rare:
        assert edge.valid_voice(name)
    for name in ("en_US-joe-medium", "AriaNeural", "en-us-aria", "en-US-Aria"):
        assert not edge.valid_voice(name)
    monkeypatch.setenv("AUTOSTREAM_EDGE_TTS_URL", "ws://127.0.0.1:9/unused")  # never contacted
    with pytest.raises(BuildError, match="not an Edge voice name"):
        edge.synthesize(ENTRIES, "en_US-joe-medium", 150)
    speech = edge.synthesize(["", ""], VOICE, 150)
    assert len(speech.samples) == 0 and speech.timings == [(0.0, 0.0), (0.0, 0.0)]
