"""native: the aligner that takes the TTS engine's own word timings."""

from __future__ import annotations

from autostream_compiler.render.timeline import TimedWord

NAME = "native"


def align(texts: list[str], timings: list[tuple[float, float]], duration: float) -> list[TimedWord]:
    """Pair displayed words with the TTS timings, clamped to the audio and kept in order."""
    if len(texts) != len(timings):
        raise ValueError(f"{len(texts)} words but {len(timings)} timings")
    out: list[TimedWord] = []
    last = 0.0
    for text, (start, end) in zip(texts, timings):
        start = min(max(start, last), duration)
        end = min(max(end, start), duration)
        out.append(TimedWord(text, round(start, 3), round(end, 3)))
        last = start
    return out
