"""Resolution: written scenes (drafts) + spec + style -> the scene graph, with no model involved.

Everything here is deterministic, so a change of a field that does not feed the expansion (format,
voice, captions, ...) re-resolves the locked scenes without asking a model again.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from autostream_compiler.errors import UserError
from autostream_compiler.expand.scenegraph import (
    Citation,
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
from autostream_compiler.specfile.loader import source_paths
from autostream_compiler.specfile.models import MotionSpec, PageImage, Spec, TransitionSpec
from autostream_compiler.specfile.style import Style

_SHORT_SIDE = {"720p": 720, "1080p": 1080, "1440p": 1440, "2160p": 2160}


@dataclass
class Draft:
    """A written scene: what is said and what is shown. `spoken` is worked out when None; `voice`
    overrides the speaker's and the spec's."""

    narration: str
    visual: str
    image: str | PageImage | None = None
    spoken: list[str] | None = None
    speaker: str | None = None
    audio: str | None = None
    voice: str | None = None
    motion: MotionSpec | None = None
    transition: TransitionSpec | None = None
    sources: list[Citation] | None = None
    video: str | None = None
    video_audio: str | None = None
    stock: str | None = None


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
        cards=(style.cards if spec.images.cards is None else spec.images.cards) or None,
        align=spec.align,
        align_model=spec.align_model,
        speakers={name: SpeakerLook(color=s.color, show_name=s.show_name) for name, s in speakers.items()},
        music=spec.music,
        loudness=style.loudness if spec.loudness is None else spec.loudness,
        thumbnail=spec.thumbnail,
        chip=spec.retrieval.chip or None,
        card=spec.retrieval.card if spec.retrieval.card and any(d.sources for d in drafts) else None,
        scenes=[_scene(i, d, spec, style, title) for i, d in enumerate(drafts)],
    )


def drafts_of(graph: SceneGraph) -> list[Draft]:
    """The written scenes of a graph (a lock's, with any hand edits)."""
    return [
        Draft(
            s.narration,
            s.visual,
            _locked_image(s.image),
            list(s.spoken),
            s.speaker,
            s.audio,
            video=s.image.path if s.image.provider == "clip" else None,
            video_audio=s.image.video_audio,
            sources=s.sources,
        )
        for s in graph.scenes
    ]


def _locked_image(image: ImageSource) -> str | PageImage | None:
    if image.provider == "file":
        return image.path
    if image.provider == "page":
        return PageImage(page=image.page, file=image.path, figure=bool(image.figure))
    return None


def _layered(*models) -> dict:
    """The fields the given models set (not None), later models winning: the spec's, then a scene's."""
    return {k: v for m in models if m for k, v in m.model_dump(exclude_none=True).items()}


def _scene(index: int, draft: Draft, spec: Spec, style: Style, title: str) -> Scene:
    narration = " ".join(draft.narration.split())
    visual = " ".join(draft.visual.split())
    seed = scene_seed(spec.seed, visual)
    prompt = style.render("image_prompt", visual=visual, narration=narration, title=title)
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
        image=_image(index, draft, spec, prompt, seed, style.stock),
        motion=SceneMotion(
            preset=move.get("preset", presets[seed % len(presets)]),
            strength=move.get("strength", style.motion.strength),
        ),
        transition=style.transition.model_copy(update=join),
        sources=draft.sources or None,
    )


def _pdf(file: str) -> bool:
    """Whether a source's pages can be shown: a PDF file beside the spec."""
    return file.lower().endswith(".pdf") and "://" not in file


def _image(index: int, draft: Draft, spec: Spec, prompt: str, seed: int, style_stock: str) -> ImageSource:
    """A scene's picture: generated, a file, or a page of a source PDF (the cited one for `page: auto`,
    and for every scene citing a PDF with `retrieval.show_pages`)."""
    wanted = draft.image
    if draft.video:
        return ImageSource(provider="clip", prompt=prompt, seed=seed, path=draft.video, video_audio=draft.video_audio)
    if isinstance(wanted, str):
        return ImageSource(provider="file", prompt=prompt, seed=seed, path=wanted)
    shown = [c for c in draft.sources or [] if _pdf(c.file)]  # the cited pages that can be shown
    if wanted is None and not (spec.retrieval.show_pages and shown):
        stock = draft.stock or spec.images.stock or style_stock
        return ImageSource(provider="generated", prompt=prompt, seed=seed, stock="video" if stock == "video" else None)
    wanted = wanted or PageImage(page="auto", file=shown[0].file)
    named = source_paths(spec)
    if not named:
        raise UserError(f"scenes[{index}].image: a page needs the spec's `sources`; add the document under `sources:`")
    cited = [c for c in shown if wanted.file in (None, c.file)]
    figure = wanted.figure or None
    if wanted.page == "auto":
        if not cited:
            raise UserError(
                f"scenes[{index}].image: page: auto, but the scene cites no page of a PDF; give a page number "
                "(page: 3) or narration that the sources back"
            )
        first = cited[0]
        return ImageSource(
            provider="page",
            prompt=prompt,
            seed=seed,
            path=first.file,
            page=first.page,
            highlight=first.text,
            figure=figure,
        )
    file = wanted.file or (cited[0].file if cited else named[0])
    if file not in named:
        raise UserError(
            f"scenes[{index}].image.file: {file} is not one of the spec's sources; use one of {', '.join(named)}"
        )
    if not _pdf(file):
        raise UserError(f"scenes[{index}].image: pages are shown from PDFs in the spec's folder; {file} is not one")
    marked = next((c.text for c in cited if c.file == file and c.page == wanted.page), None)
    return ImageSource(
        provider="page", prompt=prompt, seed=seed, path=file, page=wanted.page, highlight=marked, figure=figure
    )
