"""The final audio master: narration, music ducked under it, loudness-normalised, encoded to AAC.

Passes, one ffmpeg each: measure the mix (ebur128); when a constant gain would push the peaks over
the ceiling, measure the mix through gain and limiter until the loudness is on target (usually one or
two short passes); encode; measure the result for the build report. A draft of narration alone
(`draft_master`) takes its gain from the scenes' figures measured once per take (render/loudness.py)
and runs one pass: gain, limiter, encode; its report gives the figures expected, not measured."""

from __future__ import annotations

import json
import math
import re
import shutil
import wave
from collections.abc import Callable
from pathlib import Path

import numpy as np

from autostream_compiler.render import ffmpeg
from autostream_compiler.render import loudness as r128
from autostream_compiler.render.ffmpeg import ffmpeg_exe

RATE = 48000
TP_TARGET = -1.0  # dBTP promised in the output
TP_CEILING = -2.0  # dBFS the peaks are held under before the AAC encoder, which adds a little overshoot
DUCK_RATIO = 3.0  # gentle enough that louder and softer syllables duck by similar amounts
KEY_LEVEL = -6.0  # dBFS the narration's speech level is scaled to in the sidechain
# the fast coder encodes in half the time of the default two-loop search (0.9 s against 1.9 s for a
# minute of stereo); at 160 kb/s its loudness is within 0.1 LU and its peaks the same
AAC = ["-c:a", "aac", "-aac_coder", "fast", "-b:a", "160k", "-ar", str(RATE), "-ac", "2"]
DRAFT_AAC = ["-c:a", "aac", "-aac_coder", "fast", "-b:a", "96k", "-ar", str(RATE), "-ac", "2"]
# a draft of narration alone is mono, half the encoding (both speakers play it: its loudness is dual mono's)
DRAFT_VOICE_AAC = ["-c:a", "aac", "-aac_coder", "fast", "-b:a", "64k", "-ar", str(RATE), "-ac", "1"]
CLIP_DUCK = 12.0  # dB a clip's own sound (`video_audio: duck`) dips while the narration speaks
MUSIC_DEFAULTS = {"volume": 0.25, "duck": 12.0, "fade_in": 0.0, "fade_out": 0.0}


def audio_codec(profile: str) -> list[str]:
    """ffmpeg's audio codec options for a profile: drafts trade a little quality for speed."""
    return DRAFT_AAC if profile == "draft" else AAC


def speech_level(samples: np.ndarray, rate: int) -> float | None:
    """The narration's level while speaking, in dBFS RMS (gated 50 ms blocks); None when silent."""
    block = max(1, rate // 20)
    x = samples[: len(samples) // block * block].astype(np.float32) / 32768.0
    if x.size == 0:
        return None
    power = np.mean(x.reshape(-1, block) ** 2, axis=1)
    active = power[power > 10 ** (-60 / 10)]
    if active.size == 0:
        return None
    active = active[active > np.mean(active) * 10 ** (-20 / 10)]  # drop breaths and word tails
    return float(10 * np.log10(np.mean(active)))


def duck_options(level: float, duck: float) -> str:
    """sidechaincompress options that lower the music by about `duck` dB while the voice speaks."""
    level_sc = min(64.0, max(1 / 64, 10 ** ((KEY_LEVEL - level) / 20)))
    key = level + 20 * math.log10(level_sc)  # the speech level the compressor sees
    threshold = max(2**-10, 10 ** ((key - duck * DUCK_RATIO / (DUCK_RATIO - 1)) / 20))
    return f"threshold={threshold:.6f}:ratio={DUCK_RATIO:g}:attack=20:release=500:knee=1:level_sc={level_sc:.6f}"


def mix_graph(duration: float, music: dict | None, key: str | None, sound: int | None = None) -> str:
    """The filter graph from inputs 0 (narration), 1 (looped music) and `sound` (the clips' own sound,
    already ducked) to [mix]: 48 kHz stereo, exactly `duration` long; the music faded, scaled and,
    given sidechain options `key`, ducked under the voice."""
    n = round(duration * RATE)
    length = f"aresample={RATE},apad=whole_len={n},atrim=end_sample={n}"
    voice = "pan=stereo|c0=c0|c1=c0"  # the mono narration at full level on both sides
    if music is None and sound is None:
        return f"[0:a]{length},{voice}[mix]"
    graph, mixed = "", ["[voice]"]
    if music is None:
        graph += f"[0:a]{length},{voice}[voice];"
    else:
        chain = [length, "aformat=channel_layouts=stereo", "asetpts=N/SR/TB"]
        if music["fade_in"] > 0:
            chain.append(f"afade=t=in:st=0:d={music['fade_in']:g}")
        if music["fade_out"] > 0:
            chain.append(f"afade=t=out:st={max(0.0, duration - music['fade_out']):g}:d={music['fade_out']:g}")
        chain.append(f"volume={music['volume']:g}")
        graph += f"[1:a]{','.join(chain)}[bed];"
        if key:  # the sidechain is the mono narration, at the level speech_level() measured
            graph += (
                f"[0:a]{length},asplit=2[narration][key];[narration]{voice}[voice];"
                f"[bed][key]sidechaincompress={key}[ducked];"
            )
            mixed.append("[ducked]")
        else:
            graph += f"[0:a]{length},{voice}[voice];"
            mixed.append("[bed]")
    if sound is not None:
        graph = f"[{sound}:a]{length},{voice}[sound];" + graph
        mixed.append("[sound]")
    return graph + f"{''.join(mixed)}amix=inputs={len(mixed)}:duration=first:normalize=0[mix]"


def duck_under(sound: np.ndarray, voice: np.ndarray, rate: int, duck: float, below: float = 6.0) -> np.ndarray:
    """A clip's sound (int16, as long as the narration) set `below` dB under the narration's speech
    level and lowered `duck` dB more while the narration speaks (20 ms attack, 500 ms release)."""
    block = max(1, rate // 100)  # 10 ms
    count = len(voice) // block
    if count == 0 or not sound.any():
        return sound
    x = voice[: count * block].astype(np.float32).reshape(count, block) / 32768.0
    speaking = 10 * np.log10(np.mean(x * x, axis=1) + 1e-12) > -45
    gain_db = np.where(speaking, -duck, 0.0)
    smooth = np.empty(count, dtype=np.float32)
    level, down, up = 0.0, 1 - np.exp(-1 / 2), 1 - np.exp(-1 / 50)  # per 10 ms: attack 20 ms, release 500 ms
    for k, target in enumerate(gain_db):
        level += (target - level) * (down if target < level else up)
        smooth[k] = level
    gains = np.repeat(10 ** (smooth / 20), block)
    gains = np.concatenate([gains, np.full(len(sound) - len(gains), gains[-1])])[: len(sound)]
    speech = speech_level(voice, rate)
    present = sound[np.abs(sound) > 0].astype(np.float32) / 32768.0
    clip_level = 10 * np.log10(np.mean(present**2) + 1e-12) if present.size else None
    scale = 10 ** ((speech - below - clip_level) / 20) if speech is not None and clip_level is not None else 1.0
    return np.clip(sound.astype(np.float32) * gains * scale, -32768, 32767).astype(np.int16)


def linear_gain(measured: dict, loudness: float) -> str:
    """loudnorm in linear mode (a constant gain) given pass 1's figures, for a mix whose peaks stay
    under the ceiling after the gain."""
    lra = max(0.1, measured["lra"] or 0.0)  # loudnorm refuses linear mode for an LRA of 0
    return (
        f"loudnorm=I={loudness:g}:TP={TP_TARGET:g}:LRA={min(50.0, max(11.0, lra + 1)):g}"
        f":measured_I={measured['integrated']:g}:measured_TP={measured['true_peak']:g}"
        f":measured_LRA={lra:g}:measured_thresh={measured['threshold']:g}:linear=true:print_format=json"
    )


def limited_gain(gain: float) -> str:
    """A constant gain (dB) followed by a lookahead limiter holding the peaks under the ceiling."""
    return f"volume={gain:.2f}dB,alimiter=limit={10 ** (TP_CEILING / 20):.6f}:attack=5:release=50:level=0:latency=1"


def gain_for(target: float, gain: float, loudness: Callable[[float], float], within: float, tries: int) -> float:
    """The gain before the limiter that brings the mix to `target` loudness (within `within` LU), by
    the secant method from `gain`; `loudness(gain)` measures the limited mix. The more gain, the more
    loudness the limiter takes back."""
    tried: list[tuple[float, float]] = []
    for _ in range(tries):
        got = loudness(gain)
        if abs(got - target) <= within:
            break
        tried.append((gain, got))
        slope = 1.0
        if len(tried) > 1:
            (g0, i0), (g1, i1) = tried[-2:]
            slope = min(1.0, max(0.1, (i1 - i0) / (g1 - g0)))
        gain += (target - got) / slope
    return gain


def master_audio(
    narration: Path,
    out: Path,
    duration: float,
    music: dict | None,
    loudness: float,
    workdir: Path,
    codec: list[str] = AAC,
    sound: Path | None = None,
) -> dict:
    """Mix the narration WAV with optional ducked music, normalise to `loudness` LUFS (true peak at
    most -1 dBTP) and encode `out` as AAC 48 kHz stereo, exactly `duration` long; returns the
    output's measured loudness and peak, and how it was normalised."""
    workdir.mkdir(parents=True, exist_ok=True)
    with wave.open(str(narration), "rb") as f:
        level = speech_level(np.frombuffer(f.readframes(f.getnframes()), dtype=np.int16), f.getframerate())
    if music is not None:
        music = {**MUSIC_DEFAULTS, **{k: v for k, v in music.items() if v is not None}}
    key = duck_options(level, music["duck"]) if music and music["duck"] > 0 and level is not None else None
    inputs = ["-i", str(narration)]
    if music is not None:
        inputs += ["-stream_loop", "-1", "-i", str(music["path"])]
    if sound is not None:
        inputs += ["-i", str(sound)]
    graph = mix_graph(duration, music, key, None if sound is None else 2 if music else 1)
    base = [ffmpeg_exe(), "-nostdin", "-hide_banner", "-nostats", "-y", "-v", "info", *inputs]

    def analyse(chain: str) -> str:
        return _ffmpeg(
            [*base, "-filter_complex", f"{graph};[mix]{chain}[out]", "-map", "[out]", "-f", "null", "-"],
            "measuring loudness",
        )

    chain, mode = "anull", "none"
    if level is None:
        note = "narration is silent: loudness not normalised"
    else:
        measured = _ebur128(analyse("ebur128=peak=true"))
        i, tp = measured["integrated"], measured["true_peak"]
        if i is None or i <= -70:
            note = "the mix is too quiet to measure: loudness not normalised"
        elif tp + loudness - i <= TP_CEILING:
            chain, mode, note = linear_gain(measured, loudness), "linear", None
        else:  # a plain gain would break the ceiling: limit, and make up for the loudness the limiter takes

            def limited(gain: float) -> float:
                return _ebur128(analyse(f"{limited_gain(gain)},ebur128"))["integrated"]

            chain, mode, note = limited_gain(gain_for(loudness, loudness - i, limited, 0.2, 4)), "limited", None
    n = round(duration * RATE)
    scratch = workdir / "master.m4a"
    final = f"{graph};[mix]{chain},aresample={RATE},apad=whole_len={n},atrim=end_sample={n}[out]"
    stderr = _ffmpeg(
        [*base, "-filter_complex", final, "-map", "[out]", *codec, "-movflags", "+faststart", str(scratch)],
        "encoding the audio master",
    )
    if mode == "linear" and _loudnorm_json(stderr)["normalization_type"] != "linear":
        mode = "dynamic"
    shutil.move(scratch, out)
    figures = measure_loudness(out)
    return {
        "integrated": figures["integrated"],
        "true_peak": figures["true_peak"],
        "music": music is not None,
        "normalized": mode != "none",
        "mode": mode,
        "note": note,
    }


def draft_master(narration: Path, out: Path, duration: float, line: np.ndarray, target: float) -> dict:
    """Master narration alone in one ffmpeg pass from the timeline's loudness ticks (`r128.place`):
    the gain that brings them to `target` through the limiter is found in numpy, so no pass measures
    the mix, and the output is not measured again (its figures are the ones expected). Mono AAC,
    whose loudness is measured as dual mono (ebur128's `dualmono`): what both speakers play."""
    found = r128.integrated(line[0])
    peak = r128.true_peak(line)
    chain, mode, note, expected = "anull", "none", None, (found, peak)
    if found is None or peak is None:
        note = "narration is silent: loudness not normalised"
    elif peak + target - found <= TP_CEILING:
        gain = target - found
        chain, mode, expected = f"volume={gain:.2f}dB", "linear", (target, peak + gain)
    else:

        def limited(gain: float) -> float:
            return r128.integrated(r128.limited(line, gain, TP_CEILING))

        gain = gain_for(target, target - found, limited, 0.05, 8)
        chain, mode, expected = limited_gain(gain), "limited", (limited(gain), TP_CEILING)
    n = round(duration * RATE)
    graph = f"aresample={RATE},{chain},aresample={RATE},apad=whole_len={n},atrim=end_sample={n}"
    scratch = out.with_name("master.m4a")
    argv = [ffmpeg_exe(), "-nostdin", "-hide_banner", "-nostats", "-y", "-v", "error", "-i", str(narration)]
    _ffmpeg([*argv, "-af", graph, *DRAFT_VOICE_AAC, "-movflags", "+faststart", str(scratch)], "encoding the draft")
    shutil.move(scratch, out)
    figures = [None if v is None else round(v, 1) for v in expected]
    return {"integrated": figures[0], "true_peak": figures[1], "normalized": mode != "none", "mode": mode, "note": note}


def measure_loudness(path: Path) -> dict:
    """Integrated loudness (LUFS), its gating threshold, loudness range (LU) and true peak (dBTP) of
    an audio file, by ffmpeg's ebur128."""
    return _ebur128(
        _ffmpeg(
            [
                ffmpeg_exe(),
                "-nostdin",
                "-hide_banner",
                "-nostats",
                "-v",
                "info",
                "-i",
                str(path),
                "-filter_complex",
                "ebur128=peak=true",
                "-f",
                "null",
                "-",
            ],
            "measuring loudness",
        )
    )


def _ebur128(stderr: str) -> dict:
    """The figures of ebur128's summary; None for a figure of silence (-inf)."""
    summary = stderr[stderr.rfind("Summary:") :]
    figures = {}
    for name, label in (("integrated", "I"), ("threshold", "Threshold"), ("lra", "LRA"), ("true_peak", "Peak")):
        found = re.search(rf"\b{label}:\s+(-?inf|-?[\d.]+)", summary)  # the first Threshold is I's
        value = float(found.group(1)) if found else math.nan
        figures[name] = value if math.isfinite(value) else None
    return figures


def _loudnorm_json(stderr: str) -> dict:
    """The JSON block loudnorm prints at the end of a run."""
    start = stderr.rfind("{")
    return json.loads(stderr[start : stderr.index("}", start) + 1])


def _ffmpeg(argv: list[str], what: str) -> str:
    """Run ffmpeg and return its stderr (where loudnorm and ebur128 report); ToolError on failure."""
    return ffmpeg.run(argv, what=f"ffmpeg ({what})").stderr
