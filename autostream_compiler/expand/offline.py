"""The offline expander: a script or written scenes become a scene graph, no model needed."""

from __future__ import annotations

import hashlib
import re

from autostream_compiler.expand.scenegraph import (
    FrameFormat,
    ImageSource,
    Pacing,
    Scene,
    SceneGraph,
    SceneMotion,
)
from autostream_compiler.expand.spoken import to_words
from autostream_compiler.providers.voices import resolve_voice
from autostream_compiler.spec.models import SceneSpec, Spec
from autostream_compiler.spec.style import Style, render_template

_SHORT_SIDE = {"720p": 720, "1080p": 1080}
_NOT_SENTENCE_END = ("Dr.", "Mr.", "Mrs.", "Ms.", "St.", "Mt.", "e.g.", "i.e.", "vs.", "No.", "Jr.", "Sr.")
_SENTENCE_BREAK = re.compile(r"(?<=[.!?…])[\"'”’)]*\s+(?=[\"'“‘(]*[A-Z0-9])")


def frame_format(aspect: str, resolution: str, fps: int) -> FrameFormat:
    """Pixel size for an aspect and resolution (the short side is the resolution)."""
    short = _SHORT_SIDE[resolution]
    w, h = (int(x) for x in aspect.split(":"))
    long = short * max(w, h) // min(w, h)
    width, height = (long, short) if w >= h else (short, long)
    return FrameFormat(aspect=aspect, width=width, height=height, fps=fps)


def sentences(text: str) -> list[str]:
    """Split text into sentences, keeping titles and abbreviations inside their sentence."""
    out: list[str] = []
    for piece in _SENTENCE_BREAK.split(" ".join(text.split())):
        if out and out[-1].endswith(_NOT_SENTENCE_END):
            out[-1] += " " + piece
        else:
            out.append(piece)
    return [s for s in out if s]


def split_script(script: str, words_per_minute: int, scene_seconds: float) -> list[str]:
    """Group a script's sentences into scenes of about `scene_seconds` each; blank lines force a break."""
    target = words_per_minute * scene_seconds / 60
    scenes: list[str] = []
    for paragraph in re.split(r"\n\s*\n", script.strip()):
        current: list[str] = []
        count = 0
        for sentence in sentences(paragraph):
            n = len(sentence.split())
            if current and count + n > target * 1.25:
                scenes.append(" ".join(current))
                current, count = [], 0
            current.append(sentence)
            count += n
        if current:
            scenes.append(" ".join(current))
    return scenes


def scene_seed(spec_seed: int, visual: str) -> int:
    """A scene's image seed: from its picture's description, not its position."""
    return int(hashlib.sha256(f"{spec_seed}:{visual}".encode()).hexdigest()[:8], 16)


def expand_offline(spec: Spec, style: Style) -> SceneGraph:
    """Resolve a spec and its style into a scene graph without any model."""
    pacing = Pacing(
        words_per_minute=spec.pacing.words_per_minute or style.pacing.words_per_minute,
        pause=style.pacing.pause if spec.pacing.pause is None else spec.pacing.pause,
    )
    written = spec.scenes or [
        SceneSpec(narration=text)
        for text in split_script(spec.script or "", pacing.words_per_minute, style.pacing.scene_seconds)
    ]
    voice = resolve_voice(spec.voice or style.voice)
    scenes = [_scene(s, spec, style, f"{voice.provider}:{voice.id}") for s in written]
    return SceneGraph(
        title=spec.title,
        format=frame_format(
            spec.format.aspect or style.format.aspect,
            spec.format.resolution or style.format.resolution,
            spec.format.fps or style.format.fps,
        ),
        pacing=pacing,
        palette=style.palette,
        captions=style.captions,
        motion=style.motion,
        scenes=scenes,
    )


def _scene(written: SceneSpec, spec: Spec, style: Style, voice: str) -> Scene:
    narration = " ".join(written.narration.split())
    visual = " ".join((written.visual or narration).split())
    seed = scene_seed(spec.seed, visual)
    prompt = render_template(style.image_prompt, visual=visual, narration=narration, title=spec.title)
    if written.image:
        image = ImageSource(provider="file", prompt=prompt, seed=seed, path=written.image)
    else:
        image = ImageSource(provider="procedural", prompt=prompt, seed=seed)
    presets = style.motion.presets
    return Scene(
        narration=narration,
        spoken=[w.spoken for w in to_words(narration)],
        voice=voice,
        image=image,
        motion=SceneMotion(preset=presets[seed % len(presets)], strength=style.motion.strength),
    )
