"""What each step does: in-process actions (speech, alignment, pictures, the timeline, the audio mix,
the title card) return their outputs; ffmpeg steps (scene bodies, joins, the mux, a thumbnail frame)
prepare the exact command to run, which is also what their key hashes."""

from __future__ import annotations

import hashlib
import json
import shutil
import wave
from pathlib import Path

import numpy as np

from autostream_compiler.engine.recipe import Command
from autostream_compiler.engine.runner import Result, StepContext
from autostream_compiler.errors import BuildError, UserError
from autostream_compiler.providers import native_align, piper_tts, procedural
from autostream_compiler.providers.tts import Speech
from autostream_compiler.render import ffmpeg, mix
from autostream_compiler.render import loudness as r128
from autostream_compiler.render.captions import FONTS_DIR, caption_ass, caption_cues, chip_events
from autostream_compiler.render.mix import draft_master, master_audio
from autostream_compiler.render.sequence import XFADE, Placement, place, scene_length, total_frames
from autostream_compiler.render.timeline import Cue, TimedWord


def read_words(path: Path) -> tuple[float, list[TimedWord]]:
    """An align output: the narration's duration and its timed words."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return data["duration"], [TimedWord(w["text"], w["start"], w["end"]) for w in data["words"]]


def read_timeline(path: Path) -> tuple[list[Placement], list[tuple[float, float, str]]]:
    """A timeline output: where each scene sits, and the chapters (start, end, title) in seconds."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return [Placement(**s) for s in data["scenes"]], [tuple(c) for c in data["chapters"]]


def _write_json(path: Path, value) -> Path:
    path.write_text(json.dumps(value, sort_keys=True, indent=1), encoding="utf-8")
    return path


def _read_wav(path: Path) -> tuple[np.ndarray, int]:
    with wave.open(str(path), "rb") as f:
        return np.frombuffer(f.readframes(f.getnframes()), dtype=np.int16), f.getframerate()


def write_wav(path: Path, samples: np.ndarray, rate: int) -> Path:
    with wave.open(str(path), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(rate)
        f.writeframes(samples.astype(np.int16).tobytes())
    return path


# --- narration -----------------------------------------------------------------------------------


def _speech(ctx: StepContext, speech: Speech) -> Result:
    audio = write_wav(ctx.workdir / "speech.wav", speech.samples, speech.sample_rate)
    timings = None if speech.timings is None else [[round(s, 4), round(e, 4)] for s, e in speech.timings]
    info = {"sample_rate": speech.sample_rate, "samples": int(len(speech.samples)), "timings": timings}
    return Result({"audio": audio, "timings": _write_json(ctx.workdir / "timings.json", info)})


def tts_piper(ctx: StepContext) -> Result:
    p = ctx.params
    return _speech(ctx, piper_tts.synthesize(p["spoken"], p["voice"], p["length_scale"]))


def tts_edge(ctx: StepContext) -> Result:
    from autostream_compiler.providers import edge_tts

    p = ctx.params
    return _speech(ctx, edge_tts.synthesize(p["spoken"], p["voice"], p["words_per_minute"], p["pitch"]))


def tts_espeak(ctx: StepContext) -> Result:
    from autostream_compiler.providers import espeak_tts

    p = ctx.params
    return _speech(ctx, espeak_tts.synthesize(p["spoken"], p["voice"], p["words_per_minute"]))


def tts_recorded(ctx: StepContext) -> Result:
    samples, rate = _decode_audio(ctx.files["audio"], ctx.workdir / "recorded.wav")
    return _speech(ctx, Speech(samples, rate, None))


def _decode_audio(source: Path, out: Path, rate: int = 24000) -> tuple[np.ndarray, int]:
    """An audio file (a recorded narration, a voice at another rate) as mono 16-bit samples at `rate`,
    decoded and resampled (soxr) by ffmpeg into `out`."""
    argv = [ffmpeg.ffmpeg_exe(), "-v", "error", "-nostdin", "-y", "-i", str(source), "-vn", "-ac", "1"]
    argv += ["-c:a", "pcm_s16le", "-af", f"aresample=resampler=soxr:osr={rate}", str(out)]
    ffmpeg.run(argv, what=f"ffmpeg (reading {source.name})")
    return _read_wav(out)


def align(ctx: StepContext, spoken: list[str] = (), model: str | None = None, language: str = "en") -> Result:
    """Word timings of a narration: the engine's own, else whisper's or whisperx's matched to the text.
    (`model` is the aligner model's folder on this machine: the key holds the name the spec gives.)"""
    data = json.loads(ctx.inputs["tts"]["timings"].read_text(encoding="utf-8"))
    duration = data["samples"] / data["sample_rate"]
    aligner, warnings = ctx.provider, []
    if aligner == native_align.NAME and data["timings"] is None:
        aligner = "whisper"
        warnings.append("the voice gave no word timings; aligned with whisper instead")
    if aligner == native_align.NAME:
        timings = [tuple(t) for t in data["timings"]]
    elif aligner == "whisper":
        from autostream_compiler.providers import whisper_align

        timings = whisper_align.align(ctx.inputs["tts"]["audio"], list(spoken), duration, model, language)
    else:
        from autostream_compiler.providers import whisperx_align

        timings = whisperx_align.align(ctx.inputs["tts"]["audio"], list(spoken), duration, model, language)
    words = native_align.align(ctx.params["words"], timings, duration)
    out = _write_json(ctx.workdir / "words.json", {"duration": duration, "words": [w._asdict() for w in words]})
    return Result({"words": out}, {"provider": aligner, "duration": round(duration, 3)}, warnings)


# --- pictures ------------------------------------------------------------------------------------


def image_file(ctx: StepContext) -> Result:
    from PIL import Image

    with Image.open(ctx.files["source"]) as src:
        picture = procedural.cover(src, ctx.params["width"], ctx.params["height"])
    return _picture(ctx, picture, {})


def image_clip(ctx: StepContext) -> Result:
    """A scene's own video clip: kept as it is (segments cut it), with what it holds and a poster frame."""
    clip = ctx.workdir / "clip.mp4"
    shutil.copyfile(ctx.files["source"], clip)  # a clip may be large: copied, never read into memory
    try:
        return _clip_result(ctx, clip, {})
    except ValueError as exc:
        where = ctx.label.replace("image", "video")
        raise UserError(
            f"{where}: {ctx.params['file']} cannot be shown: {exc}; use an MP4, MOV or WebM video"
        ) from None


def _clip_result(ctx: StepContext, clip: Path, record: dict, warnings: list[str] = ()) -> Result:
    """A clip step's outputs: the clip, what it holds and its poster frame at the frame's size;
    ValueError when it holds no moving video."""
    from autostream_compiler.render import clips

    info = clips.probe(clip)
    frame = clips.poster(clip, min(1.0, info.duration / 2))
    result = _picture(ctx, procedural.cover(frame, ctx.params["width"], ctx.params["height"]), record, warnings)
    result.outputs |= {"clip": clip, "info": clips.write_info(ctx.workdir / "clip.json", info)}
    return result


def image_chain(
    ctx: StepContext,
    chain: list[str] = (),
    palette: list[str] = (),
    timeout: float = 60,
    retries: int = 2,
    rest: dict | None = None,
) -> Result:
    """The picture from the first provider of the chain that delivers. Each fallback is a warning,
    and a picture from a fallback is not cached, so the next build asks the first provider again
    (which is why the step's key holds only what the first provider reads: what the others read
    comes in `rest`)."""
    from autostream_compiler.providers import online, pexels

    p, warnings = {**(rest or {}), **ctx.params}, []
    for n, name in enumerate(chain):
        record = {"provider": name}
        try:
            if name == procedural.NAME:
                picture = procedural.draw(p["family"], p["seed"], list(palette), p["width"], p["height"])
                record["family"] = p["family"]
                if p.get("card"):
                    from autostream_compiler.render.card import phrase_card

                    card = p["card"]
                    plain = _picture(ctx, picture, record, warnings, "plain.png").outputs["image"]
                    picture = phrase_card(picture, card["text"], FONTS_DIR / card["font"], card["color"], card["area"])
                    result = _picture(ctx, picture, record, warnings)
                    result.outputs["plain"] = plain  # the picture without its card, for the title card
                    result.cacheable = not warnings
                    return result
            elif name == pexels.NAME:
                stock, seconds = p.get("stock", "photo"), p.get("seconds", 0)
                asset = pexels.fetch(stock, p["visual"], p["seed"], p["width"], p["height"], timeout, retries, seconds)
                record |= {
                    "asset": asset.id,
                    "kind": asset.kind,
                    "credit": asset.credit(),
                    "sha256": hashlib.sha256(asset.data).hexdigest(),
                }
                if asset.kind == "video":
                    result = _stock_clip(ctx, asset, record, warnings)
                    result.cacheable = not warnings
                    return result
                picture = procedural.cover(_decode_image(asset.data), p["width"], p["height"])
            else:
                generate = online.hf_image if name == "hf" else online.pollinations_image
                model = p.get("model") if name == "hf" else None
                made = generate(p["prompt"], p["seed"], p["width"], p["height"], model, timeout, retries)
                picture = procedural.cover(made, p["width"], p["height"])
        except online.ProviderError as exc:
            warnings.append(f"{exc}; falling back to {chain[n + 1]}" if n + 1 < len(chain) else str(exc))
            continue
        result = _picture(ctx, picture, record, warnings)
        result.cacheable = not warnings
        return result
    raise BuildError("no image provider delivered: " + " | ".join(warnings))


def _decode_image(data: bytes):
    import io

    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        return image.convert("RGB")


def _stock_clip(ctx: StepContext, asset, record: dict, warnings: list[str]) -> Result:
    """A stock clip kept as downloaded, probed like a scene's own (muted: its sound is never mixed)."""
    from autostream_compiler.providers.online import ProviderError

    clip = ctx.workdir / "clip.mp4"
    clip.write_bytes(asset.data)
    try:
        return _clip_result(ctx, clip, record, warnings)
    except ValueError as exc:
        raise ProviderError(f"pexels sent video {asset.id} that cannot be shown: {exc}") from None


def image_page(ctx: StepContext) -> Result:
    """A page of a source document at the frame's size, its cited passage highlighted; or, with
    `figure`, the largest picture in it (the page when it holds none)."""
    from autostream_compiler.sources.pages import render_figure, render_page

    p, source, warnings = ctx.params, ctx.files["source"], []
    size = (p["width"], p["height"], p["palette"])
    try:
        picture = render_figure(source, p["page"], *size) if p.get("figure") else None
        if p.get("figure") and picture is None:
            warnings.append(f"page {p['page']} of {p['file']} holds no picture; showing the page")
        if picture is None:
            picture = render_page(source, p["page"], p["highlight"], *size)
    except UserError as exc:  # named as the spec names it (on a worker the file is a cache blob)
        raise UserError(str(exc).replace(source.name, p["file"])) from None
    return _picture(ctx, picture, {"page": p["page"]}, warnings)


def _picture(ctx: StepContext, picture, record: dict, warnings: list[str] = (), name: str = "image.png") -> Result:
    out = ctx.workdir / name
    picture.save(out, compress_level=1)
    return Result({"image": out}, record, list(warnings))


# --- timeline and audio --------------------------------------------------------------------------


def timeline(ctx: StepContext) -> Result:
    """Where every scene sits (from its narration's length, the joins and the pause) and the
    chapters: decided here once; the audio, the mux and the sidecars read it."""
    p = ctx.params
    durations = []
    for i in range(len(p["chapters"])):
        data = json.loads(ctx.inputs[f"tts{i}"]["timings"].read_text(encoding="utf-8"))
        durations.append(data["samples"] / data["sample_rate"])
    placed = place(durations, p["joins"], p["pause"], p["fps"])
    chapters = chapter_marks(placed, p["chapters"], p["fps"])
    out = _write_json(ctx.workdir / "timeline.json", {"scenes": [s._asdict() for s in placed], "chapters": chapters})
    return Result({"timeline": out})


def chapter_marks(placed: list[Placement], titles: list[str], fps: int) -> list[tuple[float, float, str]]:
    """(start, end, title) in seconds for each scene; a scene starts halfway through the transition in."""
    starts = [spot.start + spot.head // 2 for spot in placed]
    ends = [*starts[1:], total_frames(placed)]
    return [(start / fps, end / fps, title) for start, end, title in zip(starts, ends, titles, strict=True)]


def level(ctx: StepContext) -> Result:
    """A take's loudness and true peak per 5 ms, measured once per take for the draft master."""
    samples, rate = _read_wav(ctx.inputs["tts"]["audio"])
    out = ctx.workdir / "level.npy"
    np.save(out, r128.take_ticks(samples, rate))
    return Result({"level": out})


def audio(ctx: StepContext) -> Result:
    """The narration of every scene at its place on the timeline, mixed and encoded once: a draft of
    narration alone (`draft`) from the scenes' `level` figures in one pass, else by the exact master."""
    p = ctx.params
    fps = p["fps"]
    placed, _ = read_timeline(ctx.inputs["timeline"]["timeline"])
    tracks = [_read_wav(ctx.inputs[f"tts{i}"]["audio"]) for i in range(len(placed))]
    rates = [r for _, r in tracks]
    rate = max(set(rates), key=rates.count)  # the most common rate
    tracks = [
        (t, r) if r == rate else _decode_audio(ctx.inputs[f"tts{i}"]["audio"], ctx.workdir / f"r{i}.wav", rate)
        for i, (t, r) in enumerate(tracks)
    ]
    total = round(total_frames(placed) * rate / fps)
    master = np.zeros(total, dtype=np.int16)
    levels = []  # each take's loudness ticks and its start (s), cut to its slot as the samples are
    for i, ((samples, _), spot) in enumerate(zip(tracks, placed)):
        at = round((spot.start + spot.head) * rate / fps)
        end = min(total, round((spot.start + spot.frames - spot.tail) * rate / fps))
        n = max(0, min(len(samples), end - at))  # a track keeps to its slot (resampling may add a sample)
        master[at : at + n] = samples[:n]
        if p.get("draft"):
            levels.append((np.load(ctx.inputs[f"level{i}"]["level"])[:, : -(-n * r128.TICKS // rate)], at / rate))
    wav = write_wav(ctx.workdir / "narration.wav", master, rate)
    out = ctx.workdir / "narration.m4a"
    music = {**p["music"], "path": str(ctx.files["music"])} if p["music"] else None
    sound = _clip_sound(ctx, placed, fps, rate, master) if p.get("sounds") else None
    if p.get("draft"):
        mixed = draft_master(wav, out, total / rate, r128.place(levels, total / rate), p["loudness"])
        mixed["estimated"] = True
    else:
        mixed = master_audio(wav, out, total / rate, music, p["loudness"], ctx.workdir, p["codec"], sound)
    record = {key: mixed[key] for key in ("integrated", "true_peak", "mode", "estimated") if key in mixed}
    return Result({"audio": out}, record)


def _clip_sound(ctx: StepContext, placed: list[Placement], fps: int, rate: int, narration: np.ndarray) -> Path:
    """The sound of the clips kept under the narration (`video_audio: duck`), each cut like its frames
    and placed where its scene plays, set under the narration and ducked while it speaks, as one mono
    WAV as long as the video."""
    from autostream_compiler.render import clips

    track = np.zeros(len(narration), dtype=np.int32)  # summed: two clips overlap in a crossfade
    for i in ctx.params["sounds"]:
        picture, spot = ctx.inputs[f"clip{i}"], placed[i]
        info = clips.read_info(picture["info"])
        if not info.audio:
            continue
        seconds = spot.frames / fps
        fit = clips.cut(info.duration, seconds)
        out = ctx.workdir / f"clip{i}.wav"
        argv = [ffmpeg.ffmpeg_exe(), "-v", "error", "-nostdin", "-y", *clips.input_args(fit, str(picture["clip"]))]
        argv += ["-vn", "-af", clips.audio_filter(fit, seconds, rate), "-c:a", "pcm_s16le", str(out)]
        ffmpeg.run(argv, what=f"ffmpeg (the sound of scene {i + 1}'s clip)")
        samples, _ = _read_wav(out)
        at = round(spot.start * rate / fps)
        n = max(0, min(len(samples), len(narration) - at))
        track[at : at + n] += samples[:n]
    sound = mix.duck_under(np.clip(track, -32768, 32767).astype(np.int16), narration, rate, mix.CLIP_DUCK)
    return write_wav(ctx.workdir / "clips.wav", sound, rate)


# --- video (ffmpeg commands) ---------------------------------------------------------------------


def scene_cues(words: list[TimedWord], params: dict, scene_end: float) -> list[Cue]:
    """Caption cues of a scene as its segment lays them out."""
    return caption_cues(words, params["captions"], params["width"], params["height"], params["aspect"], scene_end)


def _shot(ctx: StepContext, name: str, params: dict, first: str) -> tuple[ffmpeg.Shot, int, list[TimedWord]]:
    """A scene's shot for ffmpeg (its picture and move, or its clip cut to the scene), starting at its
    first frame (`first="start"`), after the transition in (`"body"`) or at the transition out
    (`"tail"`); the scene's length; its words."""
    duration, words = read_words(ctx.inputs[f"align{name}"]["words"])
    fps, head, tail = params["fps"], params["head"], params["tail"]
    frames = scene_length(duration, params["pause"], fps, head, tail)
    offset = {"start": 0, "body": head, "tail": frames - tail}[first]
    motion = params["motion"]
    picture = ctx.inputs[f"image{name}"]
    if "clip" in picture:
        from autostream_compiler.render import clips

        fit = clips.cut(clips.read_info(picture["info"]).duration, frames / fps)
        size = (params["width"], params["height"])
        return ffmpeg.Shot(f"clip{name}.mp4", None, frames, offset, "none", 0.0, size, tuple(fit)), frames, words
    size = (params["width"], params["height"]) if params.get("draft") else None
    shot = ffmpeg.Shot(f"image{name}.png", None, frames, offset, motion["preset"], motion["strength"], size)
    return shot, frames, words


def _link(ctx: StepContext, name: str, shot: ffmpeg.Shot) -> dict[str, Path]:
    """The file a shot names (its clip, or its picture), linked from the image input `name`."""
    return {shot.image: ctx.inputs[f"image{name}"]["clip" if shot.clip else "image"]}


def segment(ctx: StepContext) -> Command:
    """A scene's body: the frames no transition covers, with its captions (they start after the
    transition in and end before the one out)."""
    p = ctx.params
    shot, frames, words = _shot(ctx, "", p, "body")
    count = frames - p["head"] - p["tail"]
    writes = {}
    chip = p["captions"].get("chip")
    if p["captions"]["style"] != "none" or chip:
        lead = p["head"] / p["fps"]
        words = [TimedWord(w.text, w.start + lead, w.end + lead) for w in words]
        scene_end = (frames - p["tail"]) / p["fps"]
        cues = scene_cues(words, p, scene_end)
        ass = caption_ass(words, cues, p["captions"], p["width"], p["height"], p["aspect"])
        if chip:
            ass += "\n".join(chip_events(chip, p["captions"], p["width"], p["height"], p["aspect"], scene_end)) + "\n"
        writes["captions.ass"] = ass
        shot = shot._replace(ass="captions.ass")
    argv = ffmpeg.segment_argv(shot, count, p["fps"], "fonts", p["codec"], "segment.mp4")
    links = {**_link(ctx, "", shot), "fonts": FONTS_DIR}
    return Command(argv, {"video": "segment.mp4"}, writes, links, {"frames": count})


def transition(ctx: StepContext) -> Command:
    """A join: the last frames of scene a giving way to the first of scene b (no captions)."""
    p = ctx.params
    a, _, _ = _shot(ctx, "A", p["a"], "tail")
    b, _, _ = _shot(ctx, "B", p["b"], "start")
    argv = ffmpeg.transition_argv(a, b, p["frames"], p["a"]["fps"], XFADE[p["kind"]], "fonts", p["codec"], "join.mp4")
    return Command(argv, {"video": "join.mp4"}, links={**_link(ctx, "A", a), **_link(ctx, "B", b)})


def mux(ctx: StepContext) -> Command:
    """The pieces joined by stream copy, with the audio, the title and the chapters."""
    p = ctx.params
    links = {f"piece{i}.mp4": ctx.inputs[name]["video"] for i, name in enumerate(p["pieces"])}
    links["audio.m4a"] = ctx.inputs["audio"]["audio"]
    _, chapters = read_timeline(ctx.inputs["timeline"]["timeline"])
    writes = {
        "pieces.ffconcat": ffmpeg.concat_list([Path(name) for name in links if name.startswith("piece")]),
        "metadata.txt": ffmpeg.chapters_metadata(chapters, p["title"]),
    }
    argv = ffmpeg.mux_argv("pieces.ffconcat", "audio.m4a", "metadata.txt", "video.mp4")
    return Command(argv, {"video": "video.mp4"}, writes, links)


def thumbnail_frame(ctx: StepContext) -> Command:
    """The video's frame at the spec's `thumbnail:` time."""
    at = ctx.params["at"]
    argv = [ffmpeg.ffmpeg_exe(), "-v", "error", "-nostdin", "-y", "-ss", f"{at:.3f}", "-i", "video.mp4"]
    missing = f"thumbnail: no frame at {at:g} s; the video is shorter, choose an earlier time"
    return Command(
        [*argv, "-frames:v", "1", "thumb.png"],
        {"image": "thumb.png"},
        links={"video.mp4": ctx.inputs["video"]["video"]},
        if_missing=missing,
    )


def sources_card(ctx: StepContext) -> Result:
    """The closing card: the video's title and each cited file with its pages."""
    from autostream_compiler.sources.pages import sources_card as draw

    p = ctx.params
    cited = [(file, pages) for file, pages in p["cited"]]
    picture = draw(p["title"], cited, FONTS_DIR / p["font"], p["palette"], p["color"], p["width"], p["height"])
    return _picture(ctx, picture, {})


def closing(ctx: StepContext) -> Command:
    """The closing card as a video piece (still, no captions), encoded like the scenes for the join."""
    p = ctx.params
    size = (p["width"], p["height"]) if p.get("draft") else None
    shot = ffmpeg.Shot("card.png", None, p["frames"], 0, "none", 0.0, size)
    argv = ffmpeg.segment_argv(shot, p["frames"], p["fps"], "fonts", p["codec"], "closing.mp4")
    return Command(argv, {"video": "closing.mp4"}, links={"card.png": ctx.inputs["image"]["image"]})


def title_card(ctx: StepContext) -> Result:
    """A title card in the style's look over the first picture."""
    from autostream_compiler.render.card import title_card as draw

    p = ctx.params
    out = ctx.workdir / "thumb.png"
    picture = ctx.inputs["image"].get("plain", ctx.inputs["image"]["image"])  # not under a second text
    draw(picture, p["title"], FONTS_DIR / p["font"], p["color"], p["accent"], out)
    return Result({"image": out})
