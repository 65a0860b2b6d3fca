"""Where scenes and transitions sit on the final timeline, in whole frames.

A transition of `t` frames overlaps the last `t` frames of a scene with the first `t` of the next.
A scene's narration starts after the transition into it and ends before the one out of it, so
voices never overlap and captions are not cut by a wipe. Each scene is rendered as its body (what
no transition covers) and each join as its own clip, so the video is still joined by stream copy
and an edited scene re-renders at most its two joins.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from autostream_compiler.render.timeline import scene_frames

XFADE = {
    "crossfade": "fade",
    "fade_black": "fadeblack",
    "slide_left": "slideleft",
    "slide_right": "slideright",
    "slide_up": "slideup",
    "slide_down": "slidedown",
    "wipe_left": "wipeleft",
    "wipe_right": "wiperight",
    "wipe_up": "wipeup",
    "wipe_down": "wipedown",
}


def join_frames(kind: str, duration: float, fps: int) -> int:
    """Frames a transition overlaps (0 for a cut or a duration under half a frame)."""
    return 0 if kind == "cut" else round(duration * fps)


def scene_length(duration: float, pause: float, fps: int, head: int, tail: int) -> int:
    """Frames a scene spans, transitions included: the transition in (`head`), then its narration
    and pause, long enough that the narration ends before the transition out (`tail`) begins."""
    spoken = math.ceil(round(duration * fps, 6))
    return head + max(scene_frames(duration, pause, fps), spoken + tail, tail + 1)


class Placement(NamedTuple):
    """A scene on the timeline: first frame, frames spanned, and its transition frames (the
    narration starts at `start + head`)."""

    start: int
    frames: int
    head: int
    tail: int


def place(durations: list[float], joins: list[int], pause: float, fps: int) -> list[Placement]:
    """Each scene's placement; `joins[i]` is the transition after scene i (len(durations) - 1 of them)."""
    out: list[Placement] = []
    start = 0
    for i, duration in enumerate(durations):
        head = joins[i - 1] if i > 0 else 0
        tail = joins[i] if i < len(joins) else 0
        frames = scene_length(duration, pause, fps, head, tail)
        out.append(Placement(start, frames, head, tail))
        start += frames - tail
    return out


def total_frames(placements: list[Placement]) -> int:
    """Frames of the whole video."""
    last = placements[-1]
    return last.start + last.frames
