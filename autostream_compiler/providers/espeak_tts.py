"""espeak-ng: offline formant TTS in many languages, with word timings from its word events.

The library and its data come from the `espeakng-loader` wheel and are driven through ctypes.
"""

from __future__ import annotations

import _ctypes
import ctypes
import threading
from bisect import bisect_right
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from itertools import accumulate
from pathlib import Path

import espeakng_loader
import numpy as np

from autostream_compiler.errors import BuildError
from autostream_compiler.providers.tts import Speech

NAME = "espeak"
SAMPLE_RATE = 22050
SILENCE = 100  # samples at or below this amplitude count as silence when trimming a word's end

# Constants from espeak-ng's speak_lib.h.
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INITIALIZE_DONT_EXIT = 0x8000
_EVENT_LIST_TERMINATED = 0
_EVENT_WORD = 1
_RATE = 1
_POS_CHARACTER = 1
_CHARS_UTF8 = 1

_lock = threading.Lock()  # espeak-ng keeps its state in globals: one load at a time


class _Event(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),  # 1-based, in characters of the input
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),  # milliseconds from the start of the text
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", ctypes.c_char * 8),
    ]


class _Voice(ctypes.Structure):
    _fields_ = [
        ("name", ctypes.c_char_p),
        ("languages", ctypes.c_void_p),  # (priority byte, NUL-terminated name)*, then a 0 byte
        ("identifier", ctypes.c_char_p),  # voice file under espeak-ng-data/lang, e.g. "gmw/en-US"
        ("gender", ctypes.c_ubyte),
        ("age", ctypes.c_ubyte),
        ("variant", ctypes.c_ubyte),
        ("xx1", ctypes.c_ubyte),
        ("score", ctypes.c_int),
        ("spare", ctypes.c_void_p),
    ]


_Callback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event))


@contextmanager
def _engine() -> Iterator[ctypes.CDLL]:
    """The shipped libespeak-ng, freshly loaded and initialised with the shipped data for synchronous
    synthesis, and unloaded afterwards.

    espeak-ng keeps synthesis state in C statics that nothing resets (the pitch flutter phase, the
    voicing cycle count), so a library kept loaded speaks the same text slightly differently each
    time; a fresh load starts from the same state, for a few milliseconds.
    """
    lib = ctypes.CDLL(espeakng_loader.get_library_path())
    try:
        _declare(lib)
        data = espeakng_loader.get_data_path()
        rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, data.encode(), _INITIALIZE_DONT_EXIT)
        if rate != SAMPLE_RATE:
            raise BuildError(f"espeak-ng failed to start with its data in {data} (got {rate})")
        try:
            yield lib
        finally:
            lib.espeak_Terminate()
    finally:
        _ctypes.dlclose(lib._handle)


def _declare(lib: ctypes.CDLL) -> None:
    """Argument and result types of the functions used."""
    lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
    lib.espeak_ListVoices.argtypes = [ctypes.c_void_p]
    lib.espeak_ListVoices.restype = ctypes.POINTER(ctypes.POINTER(_Voice))
    lib.espeak_SetSynthCallback.argtypes = [_Callback]
    lib.espeak_SetSynthCallback.restype = None
    lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
    lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
    lib.espeak_Synth.argtypes = [
        ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
        ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p,
    ]  # fmt: skip


@cache
def _voice_files() -> dict[str, str]:
    """Voice file identifier for each language code, preferring the voice that ranks it first.

    Voices whose pronunciation dictionary is missing from the shipped data are left out.
    """
    best: dict[str, tuple[int, str]] = {}
    with _lock, _engine() as lib:
        listed = lib.espeak_ListVoices(None)
        i = 0
        while listed[i]:
            voice = listed[i].contents
            i += 1
            identifier = voice.identifier.decode()
            languages = list(_languages(voice))
            if not _has_dictionary(identifier, languages[0][1]):
                continue
            for priority, language in languages:
                if language not in best or priority < best[language][0]:
                    best[language] = (priority, identifier)
    return {language: identifier for language, (_, identifier) in best.items()}


def _languages(voice: _Voice) -> Iterator[tuple[int, str]]:
    """A voice's (priority, language code) pairs, in the order of its voice file."""
    address = voice.languages
    while priority := ctypes.string_at(address, 1)[0]:
        name = ctypes.string_at(address + 1)
        yield priority, name.decode()
        address += len(name) + 2


def _has_dictionary(identifier: str, language: str) -> bool:
    """Whether the dictionary a voice loads (its `dictionary` line, else its first language before
    any '-', as espeak-ng decides) is in the shipped data."""
    data = Path(espeakng_loader.get_data_path())
    lines = (data / "lang" / identifier).read_text(encoding="utf-8", errors="replace").splitlines()
    named = [line.split()[1] for line in lines if line.startswith("dictionary ")]
    return (data / f"{named[0] if named else language.split('-')[0]}_dict").is_file()


def voices() -> tuple[str, ...]:
    """Language codes espeak-ng can speak with the shipped data (e.g. "en-us", "de"), sorted."""
    return tuple(sorted(_voice_files()))


def synthesize(entries: list[str], voice_id: str, words_per_minute: int) -> Speech:
    """Speak the entries (one per displayed word, each possibly several spoken words or empty) with
    one (start, end) in seconds per entry."""
    entries = [e.strip() for e in entries]
    text = " ".join(e for e in entries if e)
    identifier = _voice_files().get(voice_id)
    if identifier is None:
        raise BuildError(f"espeak has no voice {voice_id!r}; `autostream voices` lists them")
    with _lock, _engine() as lib:
        samples, words = _speak(lib, text, identifier, words_per_minute)
    return Speech(samples, SAMPLE_RATE, _timings(entries, _entry_starts(entries, words), samples))


def _speak(
    lib: ctypes.CDLL, text: str, identifier: str, words_per_minute: int
) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Samples of the spoken text and its word events as (0-based character index, milliseconds)."""
    chunks: list[bytes] = []
    words: list[tuple[int, int]] = []

    def collect(wav: ctypes._Pointer[ctypes.c_short], count: int, events: ctypes._Pointer[_Event]) -> int:
        if wav and count:
            chunks.append(ctypes.string_at(wav, count * 2))
        i = 0
        while events[i].type != _EVENT_LIST_TERMINATED:
            if events[i].type == _EVENT_WORD:
                words.append((events[i].text_position - 1, events[i].audio_position))
            i += 1
        return 0

    callback = _Callback(collect)  # kept alive until espeak_Synth returns: synthesis is synchronous
    lib.espeak_SetSynthCallback(callback)
    data = text.encode()
    _check(lib.espeak_SetVoiceByName(identifier.encode()), identifier)
    _check(lib.espeak_SetParameter(_RATE, words_per_minute, 0), identifier)
    _check(
        lib.espeak_Synth(data, len(data) + 1, 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None),
        identifier,
    )
    return np.frombuffer(b"".join(chunks), dtype=np.int16), words


def _check(status: int, identifier: str) -> None:
    if status != 0:
        raise BuildError(f"espeak-ng failed to speak with voice {identifier} (error {status})")


def _entry_starts(entries: list[str], words: list[tuple[int, int]]) -> list[int | None]:
    """Where each entry starts, in ms: its first word event, else the first event on the space just
    before it (espeak-ng reports a word there after a '.' that does not end a sentence, or for a
    decimal number), else None (an empty entry, or one spoken together with its neighbour)."""
    spoken = [i for i, e in enumerate(entries) if e]
    begins = []
    position = 0
    for i in spoken:
        begins.append(position)
        position += len(entries[i]) + 1
    inside: dict[int, int] = {}
    before: dict[int, int] = {}
    for char, ms in words:
        k = bisect_right(begins, char) - 1
        if k >= 0 and char < begins[k] + len(entries[spoken[k]]):
            inside.setdefault(spoken[k], ms)
        elif k + 1 < len(spoken):
            before.setdefault(spoken[k + 1], ms)
    return [inside.get(i, before.get(i)) for i in range(len(entries))]


def _timings(entries: list[str], starts_ms: list[int | None], samples: np.ndarray) -> list[tuple[float, float]]:
    """One (start, end) in seconds per entry: a timed entry runs to the next one's start (or the end
    of the audio) less trailing silence, and shares that span, by length, with the untimed entries
    that follow it."""
    starts: list[int | None] = []
    latest = 0
    for ms in starts_ms:
        if ms is not None:
            latest = max(latest, ms * SAMPLE_RATE // 1000)
        starts.append(None if ms is None else latest)
    cuts = [i for i, s in enumerate(starts) if i == 0 or s is not None]
    out: list[tuple[float, float]] = []
    for a, b in zip(cuts, cuts[1:] + [len(entries)]):
        lo = starts[a] or 0
        hi = starts[b] if b < len(entries) else len(samples)
        hi = lo + _voiced_length(samples[lo:hi])
        weights = list(accumulate((len(e) for e in entries[a:b]), initial=0))
        edges = [lo + (hi - lo) * w // max(weights[-1], 1) for w in weights]
        out += [(s / SAMPLE_RATE, e / SAMPLE_RATE) for s, e in zip(edges, edges[1:])]
    return out


def _voiced_length(segment: np.ndarray) -> int:
    """Length of a segment without its trailing silence."""
    loud = np.flatnonzero(np.abs(segment.astype(np.int32)) > SILENCE)
    return int(loud[-1]) + 1 if loud.size else 0
