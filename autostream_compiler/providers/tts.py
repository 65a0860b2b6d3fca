"""What every TTS engine gives back, and the sequence alignment that maps its timed units (phonemes,
words) onto the narration's entries (one entry per displayed word, holding what is spoken for it)."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

import numpy as np


@dataclass
class Speech:
    """Synthesized narration: mono int16 samples and, when the engine knows them, one (start, end) in
    seconds per entry (None when it gives no timings: an aligner works them out)."""

    samples: np.ndarray
    sample_rate: int
    timings: list[tuple[float, float]] | None


def word_units(text: str) -> list[str]:
    """Words of a text normalised for matching: lower case, letters, digits and apostrophes only."""
    return [w for w in (re.sub(r"[^\w']", "", t.lower()).strip("'") for t in text.split()) if w]


def align_entries(
    entry_units: list[list[str]], stream: list[tuple[str, int, int]], rate: int, total: int | None = None
) -> list[tuple[float, float]]:
    """Map each entry's units (phonemes or words) onto a timed stream of units (unit, start, end in
    samples at `rate`) by sequence alignment; entries that match nothing share the time between their
    matched neighbours (the last ones share the time up to `total` samples, by default the stream's
    end). Returns one (start, end) in seconds per entry, in order."""
    flat: list[str] = []
    owner: list[int] = []
    for i, units in enumerate(entry_units):
        flat += units
        owner += [i] * len(units)
    spans: list[list[int] | None] = [None] * len(entry_units)
    matcher = difflib.SequenceMatcher(None, flat, [p for p, _, _ in stream], autojunk=False)
    for block in matcher.get_matching_blocks():
        for k in range(block.size):
            i = owner[block.a + k]
            _, start, end = stream[block.b + k]
            span = spans[i]
            spans[i] = [start, end] if span is None else [min(span[0], start), max(span[1], end)]
    if total is None:
        total = stream[-1][2] if stream else 0
    return [(s / rate, e / rate) for s, e in _fill_gaps(spans, total)]


def _fill_gaps(spans: list[list[int] | None], total: int) -> list[tuple[int, int]]:
    """Give unmatched entries a share of the time between their matched neighbours; keep order."""
    out: list[tuple[int, int]] = []
    i = 0
    while i < len(spans):
        if spans[i] is not None:
            s, e = spans[i]
            prev_end = out[-1][1] if out else 0
            s = max(s, prev_end)
            out.append((s, max(s, e)))
            i += 1
            continue
        j = i
        while j < len(spans) and spans[j] is None:
            j += 1
        lo = out[-1][1] if out else 0
        hi = spans[j][0] if j < len(spans) else total
        hi = max(hi, lo)
        n = j - i
        for k in range(n):
            out.append((lo + (hi - lo) * k // n, lo + (hi - lo) * (k + 1) // n))
        i = j
    return out
