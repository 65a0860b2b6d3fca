"""The audio master, measured on its output: length, loudness, true peak, ducking, fades, looping."""

from __future__ import annotations

import subprocess
import time
import wave
from pathlib import Path

import numpy as np
import pytest
from helpers import ffprobe

from autostream_compiler.providers import piper_tts
from autostream_compiler.render import loudness, mix

RATE = 48000
SPEECH_AT = (1.0, 6.0)  # seconds where the sentence starts; it lasts about 3 s, so 4.3-5.8 s is a gap
BAND = (12000, 14500)  # Hz: the test music lives here; piper's 22.05 kHz speech has nothing above 11 kHz
NOTES = (12500, 13000, 13500, 12800)


@pytest.fixture(scope="module")
def sentence() -> tuple[np.ndarray, int]:
    speech = piper_tts.synthesize(
        ["Hello", "there,", "this", "is", "a", "test", "of", "the", "music."], "en_US-joe-medium", 1.0
    )
    return speech.samples, speech.sample_rate


def _narration(path: Path, sentence, duration: float, starts=SPEECH_AT) -> Path:
    samples, rate = sentence
    track = np.zeros(round(duration * rate), dtype=np.int16)
    for start in starts:
        at = round(start * rate)
        track[at : at + len(samples)] = samples[: len(track) - at]
    with wave.open(str(path), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(rate)
        f.writeframes(track.tobytes())
    return path


def _music(path: Path, seconds: float) -> Path:
    """A melody of four high notes, half a second each, in the music band."""
    notes = "+".join(f"sin(2*PI*{f}*t)*between(mod(t,2),{i / 2},{i / 2 + 0.5})" for i, f in enumerate(NOTES))
    subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            f"aevalsrc='0.5*({notes})':s=44100:d={seconds}",
            "-ac",
            "2",
            str(path),
        ],
        check=True,
    )
    return path


def _band_db(path: Path, window: float = 0.25) -> np.ndarray:
    """Level (dB) of the music band in consecutive windows of the decoded file."""
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-ac", "1", "-ar", str(RATE), "-f", "f32le", "-"],
        capture_output=True,
        check=True,
    ).stdout
    x = np.frombuffer(raw, dtype=np.float32)
    spectrum = np.fft.rfft(x)
    freq = np.fft.rfftfreq(len(x), 1 / RATE)
    spectrum[(freq < BAND[0]) | (freq > BAND[1])] = 0
    y = np.fft.irfft(spectrum, len(x))
    n = round(window * RATE)
    return 10 * np.log10(np.mean(y[: len(y) // n * n].reshape(-1, n) ** 2, axis=1) + 1e-12)


def _power_mean(levels: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(10 ** (levels / 10))))


def _check_stream(path: Path, duration: float, channels: int = 2) -> None:
    probe = ffprobe(path)
    [stream] = probe["streams"]
    assert (stream["codec_name"], stream["sample_rate"], stream["channels"]) == ("aac", "48000", channels)
    assert float(stream["start_time"]) == 0
    assert abs(float(stream["duration"]) - duration) <= 1024 / RATE


# --- pure decisions -------------------------------------------------------------------------------


def test_speech_level_is_the_level_while_speaking():
    rate = 24000
    tone = (0.5 * 32767 * np.sin(2 * np.pi * 220 * np.arange(rate) / rate)).astype(np.int16)
    with_pauses = np.concatenate([np.zeros(rate, np.int16), tone, np.zeros(3 * rate, np.int16)])
    assert mix.speech_level(with_pauses, rate) == pytest.approx(-9.03, abs=0.05)  # a sine's RMS, pauses ignored
    assert mix.speech_level(np.zeros(rate, np.int16), rate) is None


def test_duck_options_put_the_speech_level_duck_db_over_the_curve():
    options = dict(kv.split("=") for kv in mix.duck_options(-20.0, 12.0).split(":"))
    key = -20 + 20 * np.log10(float(options["level_sc"]))
    reduction = (key - 20 * np.log10(float(options["threshold"]))) * (1 - 1 / float(options["ratio"]))
    assert reduction == pytest.approx(12.0, abs=0.01)
    assert (options["attack"], options["release"]) == ("20", "500")


def test_graph_without_music_only_fits_the_narration():
    graph = mix.mix_graph(2.5, None, None)
    assert graph == ("[0:a]aresample=48000,apad=whole_len=120000,atrim=end_sample=120000,pan=stereo|c0=c0|c1=c0[mix]")


# --- the master, measured -------------------------------------------------------------------------


@pytest.mark.parametrize("loudness, with_music", [(-14, True), (-14, False), (-23, True), (-23, False)])
def test_master_reaches_the_loudness_under_the_peak_ceiling(tmp_path, sentence, loudness, with_music):
    narration = _narration(tmp_path / "narration.wav", sentence, 10.0)
    music = {"path": str(_music(tmp_path / "music.mp3", 4.0))} if with_music else None
    out = tmp_path / "master.m4a"
    figures = mix.master_audio(narration, out, 10.0, music, loudness, tmp_path / "work")
    _check_stream(out, 10.0)
    measured = mix.measure_loudness(out)
    assert abs(measured["integrated"] - loudness) <= 1.0
    assert measured["true_peak"] <= -1.0 + 0.1
    assert (figures["integrated"], figures["true_peak"]) == (measured["integrated"], measured["true_peak"])
    assert (figures["music"], figures["normalized"], figures["note"]) == (with_music, True, None)
    assert figures["mode"] == ("limited" if loudness == -14 else "linear")  # speech peaks need a limiter at -14
    assert {p.name for p in (tmp_path / "work").iterdir()} <= {"master.m4a"}


def test_music_ducks_under_speech_and_recovers_in_the_gap(tmp_path, sentence):
    narration = _narration(tmp_path / "narration.wav", sentence, 10.0)
    music = _music(tmp_path / "music.wav", 12.0)
    samples, rate = sentence
    voice = np.zeros(40, dtype=bool)  # 0.25 s windows wholly inside the sentence, away from its edges
    for start in SPEECH_AT:
        voice[int(start / 0.25) + 2 : int((start + len(samples) / rate) / 0.25) - 1] = True
    gap = slice(int(4.8 / 0.25), int(5.8 / 0.25))  # 1 s after the sentence: the release is over
    depth = {}
    for duck in (12, 0):
        out = tmp_path / f"duck{duck}.m4a"
        mix.master_audio(narration, out, 10.0, {"path": str(music), "duck": duck}, -14, tmp_path / "work")
        band = _band_db(out)
        depth[duck] = _power_mean(band[gap]) - float(np.median(band[voice]))
    assert 6.0 <= depth[12] <= 18.0  # ducked by about 12 dB under speech
    assert depth[0] < 3.0  # without ducking only the peak limiter moves the music


def test_music_fades_in_and_out(tmp_path, sentence):
    narration = _narration(tmp_path / "narration.wav", sentence, 8.0, starts=(3.0,))
    music = {"path": str(_music(tmp_path / "music.flac", 20.0)), "fade_in": 1.0, "fade_out": 1.0, "duck": 0}
    out = tmp_path / "master.m4a"
    mix.master_audio(narration, out, 8.0, music, -14, tmp_path / "work")
    band = _band_db(out, window=0.2)
    full = _power_mean(band[int(1.2 / 0.2) : int(2.8 / 0.2)])  # music alone, faded in, before the voice
    assert full - band[0] >= 10.0
    assert full - band[-1] >= 10.0
    _check_stream(out, 8.0)  # a long music file is trimmed


def test_short_music_loops_to_the_end(tmp_path, sentence):
    narration = _narration(tmp_path / "narration.wav", sentence, 9.0, starts=(1.0,))
    music = {"path": str(_music(tmp_path / "music.ogg", 1.5)), "duck": 0, "volume": 0.5}
    out = tmp_path / "master.m4a"
    mix.master_audio(narration, out, 9.0, music, -14, tmp_path / "work")
    band = _band_db(out, window=0.5)
    assert band[-4:].min() >= _power_mean(band[:2]) - 3.0  # still playing 6 s after the file ended
    _check_stream(out, 9.0)


def test_silent_narration_is_not_normalised(tmp_path):
    silence = tmp_path / "silence.wav"
    with wave.open(str(silence), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(24000)
        f.writeframes(np.zeros(24000 * 3, np.int16).tobytes())
    out = tmp_path / "master.m4a"
    alone = mix.master_audio(silence, out, 3.0, None, -14, tmp_path / "work")
    assert alone["normalized"] is False and "silent" in alone["note"]
    assert alone["integrated"] <= -69 and alone["true_peak"] is None
    _check_stream(out, 3.0)
    music = {"path": str(_music(tmp_path / "music.mp3", 3.0)), "volume": 0.25}
    with_music = mix.master_audio(silence, out, 3.0, music, -14, tmp_path / "work")
    assert with_music["normalized"] is False and with_music["music"] is True
    assert -40 < with_music["integrated"] < -14  # the music at its own volume, not pushed to -14
    _check_stream(out, 3.0)


def test_a_minute_masters_in_a_few_seconds(tmp_path, sentence):
    starts = [1.0 + 5 * i for i in range(11)]
    narration = _narration(tmp_path / "narration.wav", sentence, 60.0, starts=starts)
    music = {"path": str(_music(tmp_path / "music.mp3", 25.0)), "fade_in": 2.0, "fade_out": 3.0}
    out = tmp_path / "master.m4a"
    began = time.monotonic()
    figures = mix.master_audio(narration, out, 60.0, music, -14, tmp_path / "work")
    assert time.monotonic() - began < 12.0  # about 3 s on 2 idle cores
    assert abs(figures["integrated"] + 14) <= 1.0 and figures["true_peak"] <= -0.9
    _check_stream(out, 60.0)


# --- the draft master: one pass from the scenes' loudness ticks ----------------------------------


def _dual_mono_loudness(path: Path) -> dict:
    """ebur128's figures of a mono file played on both speakers."""
    argv = ["ffmpeg", "-nostats", "-i", str(path), "-af", "ebur128=peak=true:dualmono=true", "-f", "null", "-"]
    return mix._ebur128(subprocess.run(argv, capture_output=True, text=True, check=True).stderr)


def _ticks(sentence, starts, duration: float):
    samples, rate = sentence
    take = loudness.take_ticks(samples, rate)
    return loudness.place([(take, start) for start in starts], duration)


def test_take_ticks_measure_as_ebur128_does(tmp_path, sentence):
    starts = [1.0, 6.0, 11.0]
    narration = _narration(tmp_path / "narration.wav", sentence, 15.0, starts=starts)
    line = _ticks(sentence, starts, 15.0)
    out = tmp_path / "plain.m4a"
    subprocess.run(  # the mix as the master lays it out (both channels), unchanged, losslessly
        ["ffmpeg", "-v", "error", "-y", "-i", str(narration), "-filter_complex", mix.mix_graph(15.0, None, None),
         "-map", "[mix]", "-c:a", "pcm_s16le", str(out.with_suffix(".wav"))],
        check=True,
    )  # fmt: skip
    measured = mix.measure_loudness(out.with_suffix(".wav"))
    assert abs(loudness.integrated(line[0]) - measured["integrated"]) <= 0.2
    assert abs(loudness.true_peak(line) - measured["true_peak"]) <= 0.3


@pytest.mark.parametrize("target", [-14, -23])
def test_draft_master_reaches_the_loudness_under_the_peak_ceiling(tmp_path, sentence, target):
    starts = [1.0, 6.0]
    narration = _narration(tmp_path / "narration.wav", sentence, 10.0, starts=starts)
    out = tmp_path / "draft.m4a"
    figures = mix.draft_master(narration, out, 10.0, _ticks(sentence, starts, 10.0), target)
    _check_stream(out, 10.0, channels=1)
    measured = _dual_mono_loudness(out)
    assert abs(measured["integrated"] - target) <= 1.0
    assert measured["true_peak"] <= -1.0
    assert figures["mode"] == ("limited" if target == -14 else "linear")
    assert abs(figures["integrated"] - measured["integrated"]) <= 0.5  # expected, not measured: close
    assert not (tmp_path / "master.m4a").exists()


def test_silent_draft_is_not_normalised(tmp_path):
    narration = _narration(tmp_path / "narration.wav", (np.zeros(100, dtype=np.int16), 22050), 3.0, starts=[])
    silent = loudness.place([(loudness.take_ticks(np.zeros(22050, dtype=np.int16), 22050), 0.5)], 3.0)
    figures = mix.draft_master(narration, tmp_path / "draft.m4a", 3.0, silent, -14)
    assert (figures["mode"], figures["integrated"]) == ("none", None) and "silent" in figures["note"]
    _check_stream(tmp_path / "draft.m4a", 3.0, channels=1)
