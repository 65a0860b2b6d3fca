"""whisperx: word timings for known narration by forced alignment (wav2vec2 through whisperx).

An optional extra (it pulls torch). Offline use needs the models in place beforehand: `model` is the
directory whisperx loads the alignment model from (for English, torchaudio's WAV2VEC2_ASR_BASE_960H
checkpoint; for other languages, a Hugging Face cache), and nltk's `punkt_tab` must be installed
(`python -m nltk.downloader punkt_tab`), or whisperx downloads both on first use.
"""

from __future__ import annotations

import threading
from functools import cache
from pathlib import Path

from autostream_compiler.errors import BuildError
from autostream_compiler.providers.tts import align_entries, word_units
from autostream_compiler.providers.whisper_align import MS, clamp, load_audio

NAME = "whisperx"

_lock = threading.Lock()  # one alignment at a time: each already uses both cores


def align(
    audio: Path, entries: list[str], duration: float, model: str | None = None, language: str = "en"
) -> list[tuple[float, float]]:
    """One (start, end) in seconds per entry (what is spoken for each displayed word), in order and
    within [0, duration]. `model` is the alignment model directory (None: whisperx's default)."""
    whisperx = _whisperx()
    samples = load_audio(audio)
    text = " ".join(" ".join(entries).split())
    with _lock:
        align_model, metadata = _model(language, model)
        try:
            result = whisperx.align(
                [{"text": text, "start": 0.0, "end": duration}],
                align_model,
                metadata,
                samples,
                "cpu",
            )
        except RuntimeError as e:  # e.g. nltk's punkt_tab could not be downloaded
            raise BuildError(f"whisperx: alignment of {audio} failed: {e}") from e
    stream = [
        (u, round(w["start"] * MS), round(w["end"] * MS))
        for w in result["word_segments"]
        if "start" in w and "end" in w
        for u in word_units(w["word"])
    ]
    return clamp(align_entries([word_units(e) for e in entries], stream, MS), duration)


def _whisperx():
    try:
        import whisperx
    except ImportError as e:
        raise BuildError(
            "whisperx is not installed; pip install autostream-compiler[whisperx], or use align: whisper"
        ) from e
    return whisperx


@cache
def _model(language: str, model_dir: str | None):
    """The alignment model and its metadata for a language, kept for the life of the process."""
    try:
        return _whisperx().load_align_model(language, device="cpu", model_dir=model_dir)
    except (OSError, ValueError) as e:
        raise BuildError(
            f"whisperx: cannot load the {language!r} alignment model ({e}); "
            "set the align model to a directory holding it"
        ) from e
