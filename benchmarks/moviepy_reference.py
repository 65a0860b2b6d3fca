"""The MoviePy reference render of the render benchmark, done the way the original Gradio app did it.

Per scene: an ImageClip with a resize-over-time zoom, TextClip captions timed from the scene's word
timings (a line at a time, the spoken word overdrawn in the highlight colour), a CompositeVideoClip
with the scene's narration; the scenes concatenated (cut, or crossfade with CrossFadeIn) and written
by `write_videofile` with libx264 veryfast, 2 threads, AAC.

Run by render_bench.py as its own process, so its wall time and memory are measured like autostream's:
`python benchmarks/moviepy_reference.py PLAN.json OUT.mp4`. PLAN is the JSON that render_bench.py
writes (frame size, fps, caption look, and per scene: image, audio, seconds, words). Needs moviepy
(benchmark-only; see benchmarks/README.md).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageFont

WORDS_PER_LINE = 6
ZOOM_PER_SECOND = 0.04  # the seed app's `lambda t: 1 + 0.04 * t`


def caption_lines(words: list[list], scene_seconds: float) -> list[tuple[list[list], float, float]]:
    """Words grouped into lines (at most WORDS_PER_LINE, broken after a sentence end), each with the
    span it is shown: from its first word to the next line's first word (the last: to the scene end)."""
    lines: list[list[list]] = [[]]
    for word in words:
        lines[-1].append(word)
        if len(lines[-1]) >= WORDS_PER_LINE or word[0].endswith((".", "!", "?")):
            lines.append([])
    lines = [line for line in lines if line]
    out = []
    for i, line in enumerate(lines):
        end = lines[i + 1][0][1] if i + 1 < len(lines) else scene_seconds
        out.append((line, line[0][1], max(end, line[0][1] + 1 / 30)))
    return out


def scene_clip(scene: dict, plan: dict):
    """One scene: the zooming picture, its captions and its narration."""
    from moviepy import AudioFileClip, CompositeVideoClip, ImageClip, TextClip

    width, height, seconds = plan["width"], plan["height"], scene["seconds"]
    picture = Image.open(scene["image"]).convert("RGB")
    scale = max(width / picture.width, height / picture.height)
    picture = picture.resize((round(picture.width * scale), round(picture.height * scale)), Image.LANCZOS)
    left, top = (picture.width - width) // 2, (picture.height - height) // 2
    frame = np.asarray(picture.crop((left, top, left + width, top + height)))
    zoom = ImageClip(frame).with_duration(seconds).resized(lambda t: 1 + ZOOM_PER_SECOND * t).with_position("center")

    layers = [zoom]
    text = {
        "font": plan["font"],
        "font_size": plan["font_px"],
        "stroke_color": "black",
        "stroke_width": plan["stroke_px"],
        "margin": (0, plan["font_px"] // 4),
    }  # room for descenders
    measure = ImageFont.truetype(plan["font"], plan["font_px"]).getlength
    for line, start, end in caption_lines(scene["words"], seconds):
        sentence = " ".join(w[0] for w in line)
        base = TextClip(text=sentence, color="white", **text)
        x, y = (width - base.w) // 2, height - plan["bottom_px"] - base.h
        layers.append(base.with_start(start).with_duration(end - start).with_position((x, y)))
        for k, (word, w_start, _) in enumerate(line):
            offset = measure(" ".join(w[0] for w in line[:k]) + (" " if k else ""))
            lit = TextClip(text=word, color=plan["highlight"], **text)
            until = line[k + 1][1] if k + 1 < len(line) else end  # lit until the next word starts
            layers.append(
                lit.with_start(w_start)
                .with_duration(max(until - w_start, 1 / 30))
                .with_position((x + round(offset), y))
            )
    return (
        CompositeVideoClip(layers, size=(width, height))
        .with_duration(seconds)
        .with_audio(AudioFileClip(scene["audio"]))
    )


def render(plan: dict, out: Path) -> None:
    """Compose every scene, join them and encode the video."""
    from moviepy import concatenate_videoclips, vfx

    clips = [scene_clip(scene, plan) for scene in plan["scenes"]]
    kind, overlap = plan["transition"]["kind"], plan["transition"]["seconds"]
    if kind == "crossfade" and overlap > 0:
        clips = [clips[0]] + [c.with_effects([vfx.CrossFadeIn(overlap)]) for c in clips[1:]]
        video = concatenate_videoclips(clips, method="compose", padding=-overlap)
    else:
        video = concatenate_videoclips(clips)
    video.write_videofile(
        str(out),
        codec="libx264",
        preset="veryfast",
        fps=plan["fps"],
        threads=2,
        audio_codec="aac",
        ffmpeg_params=plan["ffmpeg_params"],
        logger=None,
    )


def main() -> None:
    if len(sys.argv) != 3:
        sys.exit("usage: moviepy_reference.py PLAN.json OUT.mp4")
    render(json.loads(Path(sys.argv[1]).read_text(encoding="utf-8")), Path(sys.argv[2]))


if __name__ == "__main__":
    main()
