"""The build graph of a scene graph: which steps exist, their declared inputs, and what each does."""

from __future__ import annotations

import json
import wave
from functools import lru_cache
from pathlib import Path

import numpy as np

from autostream_compiler.build.keys import file_digest
from autostream_compiler.build.runner import Step, StepContext
from autostream_compiler.errors import UserError
from autostream_compiler.expand.scenegraph import Scene, SceneGraph
from autostream_compiler.expand.spoken import to_words
from autostream_compiler.providers import native_align, piper_tts, procedural
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
    speech = piper_tts.synthesize(p["spoken"], p["voice"], p["length_scale"])
    audio = _write_wav(ctx.workdir / "speech.wav", speech.samples, speech.sample_rate)
    timings = _write_json(ctx.workdir / "timings.json", {
        "sample_rate": speech.sample_rate, "samples": int(len(speech.samples)),
        "timings": [[round(s, 4), round(e, 4)] for s, e in speech.timings],
    })
    return {"audio": audio, "timings": timings}


def _align(ctx: StepContext, step: Step) -> dict[str, Path]:
    data = json.loads(ctx.inputs["tts"]["timings"].read_text(encoding="utf-8"))
    duration = data["samples"] / data["sample_rate"]
    words = native_align.align(step.params["words"], [tuple(t) for t in data["timings"]], duration)
    return {"words": _write_json(ctx.workdir / "words.json", {
        "duration": duration, "words": [w._asdict() for w in words]})}


def _image(ctx: StepContext, step: Step) -> dict[str, Path]:
    from PIL import Image

    p = step.params
    if step.provider == "file":
        with Image.open(ctx.files["source"]) as src:
            picture = procedural.cover(src, p["width"], p["height"])
    else:
        picture = procedural.draw(p["prompt"], p["seed"], p["palette"], p["width"], p["height"])
    out = ctx.workdir / "image.png"
    picture.save(out, compress_level=1)
    return {"image": out}


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
        outline_px=cap["outline_width"] * p["height"], margins=tuple(area),
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
    rate = tracks[0][1]
    frames = [scene_frames(len(s) / r, pause, fps) for s, r in tracks]
    total = round(sum(frames) * rate / fps)
    master = np.zeros(total, dtype=np.int16)
    start_frame = 0
    for (samples, _), n in zip(tracks, frames):
        at = round(start_frame * rate / fps)
        master[at: at + len(samples)] = samples[: max(0, total - at)]
        start_frame += n
    wav = _write_wav(ctx.workdir / "narration.wav", master, rate)
    out = ctx.workdir / "narration.m4a"
    ffmpeg.run(ffmpeg.audio_argv(str(wav), str(out)), what="ffmpeg (audio)")
    return {"audio": out}


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
    voice = resolve_voice(scene.voice)
    tts = Step("tts", i, 2, voice.provider, {
        "voice": voice.id, "spoken": scene.spoken,
        "length_scale": piper_tts.length_scale(voice.id, graph.pacing.words_per_minute),
    }, _tts)
    align = Step("align", i, 1, native_align.NAME,
                 {"words": [w.text for w in to_words(scene.narration)]}, _align, deps={"tts": tts})
    size = {"width": fmt.width, "height": fmt.height}
    if scene.image.provider == "file":
        source = _local_file(spec_dir, scene.image.path or "", i)
        image = Step("image", i, 1, "file", size, _image, files={"source": source},
                     file_digests={"source": file_digest(source)})
    else:
        image = Step("image", i, 2, procedural.NAME, {
            **size, "prompt": scene.image.prompt, "seed": scene.image.seed, "palette": graph.palette,
        }, _image)
    captions = graph.captions.model_dump(mode="json")
    font = {"font": _font_digest(graph.captions.font)}
    segment = Step("segment", i, 1, "ffmpeg", {
        **size, "fps": fmt.fps, "aspect": fmt.aspect, "pause": graph.pacing.pause,
        "motion": scene.motion.model_dump(mode="json"), "captions": captions,
    }, _segment, deps={"image": image, "align": align}, file_digests=font)
    return tts, align, image, segment


def _local_file(spec_dir: Path, name: str, index: int) -> Path:
    from autostream_compiler.spec.loader import local_file_problem

    problem = local_file_problem(spec_dir, name)
    if problem:
        raise UserError(f"scene {index + 1} image: {problem}")
    return (spec_dir / name).resolve()
