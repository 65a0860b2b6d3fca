"""Resolution: written scenes (drafts) + spec + style -> the scene graph, with no model involved.

Everything here is deterministic, so a change of a field that does not feed the expansion (format,
voice, captions, ...) re-resolves the locked scenes without asking a model again.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from autostream_compiler.expand.scenegraph import (
    FrameFormat,
    ImageSource,
    Pacing,
    Scene,
    SceneGraph,
    SceneMotion,
    SpeakerLook,
)
from autostream_compiler.expand.spoken import to_words
from autostream_compiler.providers.voices import resolve_voice
from autostream_compiler.specfile.models import MotionSpec, Spec, TransitionSpec
from autostream_compiler.specfile.style import Style

_SHORT_SIDE = {"720p": 720, "1080p": 1080, "1440p": 1440, "2160p": 2160}


@dataclass
class Draft:
    """A written scene: what is said and what is shown. `spoken` is worked out when None; `voice`
    overrides the speaker's and the spec's."""

    narration: str
    visual: str
    image: str | None = None
    spoken: list[str] | None = None
    speaker: str | None = None
    audio: str | None = None
    voice: str | None = None
    motion: MotionSpec | None = None
    transition: TransitionSpec | None = None


def frame_format(aspect: str, resolution: str, fps: int) -> FrameFormat:
    """Pixel size for an aspect and resolution (the short side is the resolution)."""
    short = _SHORT_SIDE[resolution]
    w, h = (int(x) for x in aspect.split(":"))
    long = round(short * max(w, h) / min(w, h) / 2) * 2  # even, for yuv420p
    width, height = (long, short) if w >= h else (short, long)
    return FrameFormat(aspect=aspect, width=width, height=height, fps=fps)


def scene_seed(spec_seed: int, visual: str) -> int:
    """A scene's image seed: from its picture's description, not its position."""
    return int(hashlib.sha256(f"{spec_seed}:{visual}".encode()).hexdigest()[:8], 16)


def resolve_pacing(spec: Spec, style: Style) -> Pacing:
    """Speaking rate and pause: the spec's, else the style's."""
    return Pacing(
        words_per_minute=spec.pacing.words_per_minute or style.pacing.words_per_minute,
        pause=style.pacing.pause if spec.pacing.pause is None else spec.pacing.pause,
        pitch=spec.pacing.pitch or 0,
    )


def build_graph(spec: Spec, style: Style, title: str, drafts: list[Draft]) -> SceneGraph:
    """The fully resolved video for these scenes."""
    speakers = spec.speakers or {}
    return SceneGraph(
        title=title,
        format=frame_format(
            spec.format.aspect or style.format.aspect,
            spec.format.resolution or style.format.resolution,
            spec.format.fps or style.format.fps,
        ),
        pacing=resolve_pacing(spec, style),
        palette=style.palette,
        captions=style.captions.model_copy(update=spec.captions.model_dump(exclude_none=True)),
        motion=style.motion,
        images=spec.images,
        align=spec.align,
        align_model=spec.align_model,
        speakers={name: SpeakerLook(color=s.color, show_name=s.show_name) for name, s in speakers.items()},
        music=spec.music,
        loudness=style.loudness if spec.loudness is None else spec.loudness,
        thumbnail=spec.thumbnail,
        scenes=[_scene(d, spec, style, title) for d in drafts],
    )


def drafts_of(graph: SceneGraph) -> list[Draft]:
    """The written scenes of a graph (a lock's, with any hand edits)."""
    return [
        Draft(
            s.narration,
            s.visual,
            s.image.path if s.image.provider == "file" else None,
            list(s.spoken),
            s.speaker,
            s.audio,
        )
        for s in graph.scenes
    ]


def _layered(*models) -> dict:
    """The fields the given models set (not None), later models winning: the spec's, then a scene's."""
    return {k: v for m in models if m for k, v in m.model_dump(exclude_none=True).items()}


def _scene(draft: Draft, spec: Spec, style: Style, title: str) -> Scene:
    narration = " ".join(draft.narration.split())
    visual = " ".join(draft.visual.split())
    seed = scene_seed(spec.seed, visual)
    prompt = style.render("image_prompt", visual=visual, narration=narration, title=title)
    provider = "file" if draft.image else "generated"
    speaker = (spec.speakers or {}).get(draft.speaker or "")
    voice = resolve_voice(draft.voice or (speaker.voice if speaker else None) or spec.voice or style.voice)
    presets = style.motion.presets
    move, join = _layered(spec.motion, draft.motion), _layered(spec.transition, draft.transition)
    return Scene(
        narration=narration,
        spoken=draft.spoken if draft.spoken is not None else [w.spoken for w in to_words(narration)],
        visual=visual,
        voice=f"{voice.provider}:{voice.id}",
        speaker=draft.speaker,
        audio=draft.audio,
        image=ImageSource(provider=provider, prompt=prompt, seed=seed, path=draft.image),
        motion=SceneMotion(
            preset=move.get("preset", presets[seed % len(presets)]),
            strength=move.get("strength", style.motion.strength),
        ),
        transition=style.transition.model_copy(update=join),
    )
