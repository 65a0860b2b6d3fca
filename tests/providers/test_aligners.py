"""whisper and whisperx aligners: word timings from piper's audio, checked against piper's own."""

from __future__ import annotations

import sys
import time
import wave
from pathlib import Path
from types import SimpleNamespace

import pytest

from autostream_compiler.errors import BuildError
from autostream_compiler.providers import piper_tts, whisper_align, whisperx_align

# "In 1883, Krakatoa erupted with a roar heard 3,000 miles away. Ash circled the globe for two
# years." with a silent word: one entry per displayed word, holding what is spoken for it.
HISTORY = [
    "In",
    "eighteen eighty-three,",
    "Krakatoa",
    "erupted",
    "with",
    "a",
    "roar",
    "heard",
    "three thousand",
    "miles",
    "away.",
    "",
    "Ash",
    "circled",
    "the",
    "globe",
    "for",
    "two",
    "years.",
]
# piper says one pair of made-up names; the narration spells another, so whisper's words cannot
# match them (given the script as a prompt, tiny.en spells made-up names it hears right).
SPOKEN = ["The", "explorer", "Zorvexil", "Quembrathune", "sailed", "north", "in", "nineteen oh two."]
WRITTEN = SPOKEN[:2] + ["Bob", "Smith"] + SPOKEN[4:]


def speak(entries: list[str], path: Path) -> tuple[Path, float, list[tuple[float, float]]]:
    """Synthesize entries with piper into a WAV; returns it, its duration and piper's timings."""
    speech = piper_tts.synthesize(entries, "en_US-joe-medium", 1.0)
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(speech.sample_rate)
        wav.writeframes(speech.samples.tobytes())
    return path, len(speech.samples) / speech.sample_rate, speech.timings


@pytest.fixture(scope="module")
def whisper_model() -> None:
    """Load the packaged tiny.en once for the module."""
    start = time.perf_counter()
    whisper_align.load_model()
    print(f"\nwhisper tiny.en loaded in {time.perf_counter() - start:.2f} s")


@pytest.fixture(scope="module")
def history(tmp_path_factory) -> tuple[Path, float, list[tuple[float, float]]]:
    return speak(HISTORY, tmp_path_factory.mktemp("audio") / "history.wav")


def assert_ordered(timings: list[tuple[float, float]], n: int, duration: float) -> None:
    assert len(timings) == n
    last = 0.0
    for start, end in timings:
        assert last <= start <= end <= duration
        last = end


def check_agreement(name: str, aligner, history, **options) -> None:
    """Align piper's audio; starts must agree with piper's on average within 0.15 s."""
    audio, duration, piper = history
    start = time.perf_counter()
    timings = aligner.align(audio, HISTORY, duration, **options)
    elapsed = time.perf_counter() - start
    assert_ordered(timings, len(HISTORY), duration)
    diff = sum(abs(t[0] - p[0]) for t, p in zip(timings, piper)) / len(HISTORY)
    print(f"\n{name}: mean start difference to piper {diff:.3f} s, {elapsed:.2f} s to align {duration:.1f} s of audio")
    assert diff < 0.15


def test_whisper_agrees_with_piper(whisper_model, history) -> None:
    check_agreement("whisper", whisper_align, history)


def test_whisper_interpolates_words_it_does_not_hear(whisper_model, tmp_path) -> None:
    audio, duration, piper = speak(SPOKEN, tmp_path / "names.wav")
    timings = whisper_align.align(audio, WRITTEN, duration)
    assert_ordered(timings, len(WRITTEN), duration)
    for entry, got, want in zip(WRITTEN, timings, piper):
        print(f"{entry:>8} whisper {got[0]:5.2f}-{got[1]:5.2f} piper {want[0]:5.2f}-{want[1]:5.2f}")
    # The unmatched names share the time before "sailed", close to where piper spoke them.
    for got, want in zip(timings[2:4], piper[2:4]):
        assert got[1] > got[0] and abs(got[0] - want[0]) < 0.3


def test_whisper_missing_model_is_one_line(tmp_path, history) -> None:
    audio, duration, _ = history
    with pytest.raises(BuildError) as error:
        whisper_align.align(audio, HISTORY, duration, model=str(tmp_path / "no-model"))
    assert "no-model" in str(error.value) and "\n" not in str(error.value)


def test_whisper_unreadable_audio_is_one_line(tmp_path) -> None:
    audio = tmp_path / "narration.wav"
    audio.write_text("not audio")
    with pytest.raises(BuildError) as error:
        whisper_align.align(audio, HISTORY, 5.0)
    assert "narration.wav" in str(error.value) and "\n" not in str(error.value)


def test_whisper_english_model_refuses_other_languages(whisper_model, history) -> None:
    audio, duration, _ = history
    with pytest.raises(BuildError, match="multilingual"):
        whisper_align.align(audio, HISTORY, duration, language="fr")


def test_whisperx_missing_names_the_fix(monkeypatch, history) -> None:
    monkeypatch.setitem(sys.modules, "whisperx", None)  # makes `import whisperx` fail
    audio, duration, _ = history
    with pytest.raises(BuildError, match=r"autostream-compiler\[whisperx\]"):
        whisperx_align.align(audio, HISTORY, duration)


def test_whisperx_maps_its_words_onto_entries(monkeypatch, history) -> None:
    """With a fake whisperx that returns piper's word timings, the entries get piper's timings."""
    audio, duration, piper = history
    seen = {}

    def align(segments, model, metadata, samples, device):
        seen.update(segments=segments, rate=len(samples) / duration)
        words = [{"word": w, "start": s, "end": e} for entry, (s, e) in zip(HISTORY, piper) for w in entry.split()]
        return {"segments": segments, "word_segments": words}

    fake = SimpleNamespace(load_align_model=lambda *args, **kwargs: (None, {}), align=align)
    monkeypatch.setitem(sys.modules, "whisperx", fake)
    timings = whisperx_align.align(audio, HISTORY, duration, model=str(audio.parent))
    assert seen["segments"] == [{"text": " ".join(" ".join(HISTORY).split()), "start": 0.0, "end": duration}]
    assert round(seen["rate"]) == 16000
    assert max(abs(t[i] - p[i]) for t, p in zip(timings, piper) for i in (0, 1)) < 0.002


def test_whisperx_agrees_with_piper(history) -> None:
    pytest.importorskip("whisperx", reason="whisperx is not installed (an optional extra)")
    check_agreement("whisperx", whisperx_align, history)
