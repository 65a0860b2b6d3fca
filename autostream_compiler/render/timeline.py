"""Pure timing decisions: scene lengths in frames, caption cues, words on the final timeline."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

_SENTENCE_END = (".", "!", "?", "…", ":", ";")


class TimedWord(NamedTuple):
    """A displayed word and when it is spoken, in seconds."""

    text: str
    start: float
    end: float


class Cue(NamedTuple):
    """Words shown together: line by line indices into the word list, a time span and a size factor."""

    lines: list[list[int]]
    start: float
    end: float
    scale: float


class SafeArea(NamedTuple):
    """Margins in pixels that captions keep clear of."""

    left: int
    right: int
    bottom: int
    top: int


def scene_frames(duration: float, pause: float, fps: int) -> int:
    """Frames a scene lasts: its narration plus the pause, rounded up to whole frames."""
    return max(1, math.ceil(round((duration + pause) * fps, 6)))


def safe_area(aspect: str, width: int, height: int, bottom: float) -> SafeArea:
    """Caption margins in pixels: `bottom` (a fraction of the height) above the bottom edge, and
    title-safe 5% elsewhere; 9:16 keeps clear of the platform's controls (at least 20% at the bottom,
    10% at the top and sides)."""
    side, floor, top = (0.1, 0.2, 0.1) if aspect == "9:16" else (0.05, 0.05, 0.05)
    return SafeArea(round(width * side), round(width * side), round(height * max(bottom, floor)), round(height * top))


def layout_cues(
    words: list[TimedWord],
    measure: Callable[[str], float],
    max_width: float,
    max_lines: int,
    scene_end: float,
    max_gap: float = 0.9,
    hold: float = 0.6,
    max_words: int | None = None,
) -> list[Cue]:
    """Group words into caption cues of at most `max_lines` lines that fit `max_width`, with at
    most `max_words` words on a line.

    A cue ends after a sentence, at a long silence, or when the lines are full. A word too wide
    for a line alone gets a cue scaled down to fit.
    """
    groups: list[list[list[int]]] = []
    lines: list[list[int]] = []
    for i, word in enumerate(words):
        if lines:
            prev = words[lines[-1][-1]]
            if prev.text.endswith(_SENTENCE_END) or word.start - prev.end > max_gap:
                groups.append(lines)
                lines = []
        room = bool(lines) and (max_words is None or len(lines[-1]) < max_words)
        if room and measure(" ".join(words[j].text for j in lines[-1] + [i])) <= max_width:
            lines[-1].append(i)
        elif lines and len(lines) < max_lines:
            lines.append([i])
        else:
            if lines:
                groups.append(lines)
            lines = [[i]]
    if lines:
        groups.append(lines)
    cues: list[Cue] = []
    for n, group in enumerate(groups):
        first, last = words[group[0][0]], words[group[-1][-1]]
        nxt = words[groups[n + 1][0][0]].start if n + 1 < len(groups) else scene_end
        widest = max(measure(" ".join(words[j].text for j in line)) for line in group)
        scale = min(1.0, max_width / widest) if widest > 0 else 1.0
        cues.append(Cue(group, first.start, max(first.start, min(last.end + hold, nxt, scene_end)), scale))
    return cues


def shift(words: list[TimedWord], offset: float, scene: int) -> list[dict]:
    """Words of one scene on the final timeline, as the words file lists them."""
    return [
        {"text": w.text, "start": round(w.start + offset, 3), "end": round(w.end + offset, 3), "scene": scene}
        for w in words
    ]
