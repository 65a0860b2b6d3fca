"""edge: Microsoft Edge's online neural voices (the read-aloud service) through edge-tts, with word
timings from the service's WordBoundary events."""

from __future__ import annotations

import asyncio
import os
import re

import numpy as np

from autostream_compiler.errors import BuildError
from autostream_compiler.providers.tts import Speech, align_entries, word_units
from autostream_compiler.render.ffmpeg import ffmpeg_exe, run

NAME = "edge"
BASE_WPM = 150  # estimate: words per minute of Edge neural voices at rate +0% (English prose)
URL_ENV = "AUTOSTREAM_EDGE_TTS_URL"  # replaces the service's websocket URL (tests, proxies)
SAMPLE_RATE = 24000  # the service sends audio-24khz-48kbitrate-mono-mp3
TICKS_PER_SECOND = 10_000_000  # WordBoundary offsets and durations count 100 ns ticks
TIMEOUT = 60.0  # seconds for one synthesis, retries included
ATTEMPTS = 3
BACKOFF = (0.5, 1.0)  # seconds to wait before the second and third attempts

_KNOWN_VOICES = (
    "en-US-AriaNeural",
    "en-US-GuyNeural",
    "en-US-JennyNeural",
    "en-US-ChristopherNeural",
    "en-US-EmmaNeural",
    "en-US-AndrewNeural",
    "en-GB-SoniaNeural",
    "en-GB-RyanNeural",
    "en-AU-NatashaNeural",
    "en-AU-WilliamNeural",
    "en-CA-ClaraNeural",
    "en-IN-NeerjaNeural",
    "de-DE-KatjaNeural",
    "de-DE-ConradNeural",
    "fr-FR-DeniseNeural",
    "fr-FR-HenriNeural",
    "es-ES-ElviraNeural",
    "es-ES-AlvaroNeural",
    "es-MX-DaliaNeural",
    "it-IT-ElsaNeural",
    "pt-BR-FranciscaNeural",
    "nl-NL-ColetteNeural",
    "ja-JP-NanamiNeural",
    "zh-CN-XiaoxiaoNeural",
)
# language, optional script (sr-Latn-RS), region, optional dialect (zh-CN-liaoning-...), name
_VOICE_SHAPE = re.compile(r"[a-z]{2,3}(-[A-Z][a-z]{3})?-[A-Z]{2}(-[a-z]+)?-[A-Z][A-Za-z]*Neural")


def known_voices() -> tuple[str, ...]:
    """Common Edge voices (listing them all needs the network: `edge-tts --list-voices`)."""
    return _KNOWN_VOICES


def valid_voice(voice_id: str) -> bool:
    """Whether a voice id has the shape of an Edge voice name, like en-US-AriaNeural."""
    return _VOICE_SHAPE.fullmatch(voice_id) is not None


def rate_percent(words_per_minute: int) -> str:
    """edge-tts's rate option ("+20%", "-10%") that gives a speaking rate."""
    return f"{round((words_per_minute / BASE_WPM - 1) * 100):+d}%"


def endpoint() -> str:
    """The websocket URL edge-tts connects to: AUTOSTREAM_EDGE_TTS_URL, else the service's own.

    edge-tts appends "&ConnectionId=…&Sec-MS-GEC=…" to it, so an override without a query string
    gets the service's query ("?TrustedClientToken=…") added.
    """
    from edge_tts import constants

    override = os.environ.get(URL_ENV, "").strip()
    if not override:
        return constants.WSS_URL
    return override if "?" in override else f"{override}?{constants.WSS_URL.split('?', 1)[1]}"


def synthesize(entries: list[str], voice_id: str, words_per_minute: int, pitch: int = 0) -> Speech:
    """Speak the entries (one per displayed word, each possibly several spoken words or empty), at a
    speaking rate and a pitch offset in Hz."""
    if not valid_voice(voice_id):
        raise BuildError(f"edge-tts: {voice_id!r} is not an Edge voice name, like en-US-AriaNeural")
    try:
        import edge_tts  # noqa: F401 - an optional dependency, checked before any work
    except ImportError:
        raise BuildError("edge-tts: the package is not installed; pip install edge-tts") from None
    text = " ".join(e for e in entries if e.strip())
    if not text:
        return Speech(np.zeros(0, dtype=np.int16), SAMPLE_RATE, [(0.0, 0.0)] * len(entries))
    mp3, boundaries = asyncio.run(_fetch(text, voice_id, rate_percent(words_per_minute), f"{pitch:+d}Hz"))
    samples = _decode(mp3)
    stream = [
        (unit, start * SAMPLE_RATE // TICKS_PER_SECOND, end * SAMPLE_RATE // TICKS_PER_SECOND)
        for said, start, end in boundaries
        for unit in word_units(said)
    ]
    if not stream:  # some voices and service states send no word boundaries: leave it to an aligner
        return Speech(samples, SAMPLE_RATE, None)
    return Speech(
        samples, SAMPLE_RATE, align_entries([word_units(e) for e in entries], stream, SAMPLE_RATE, total=len(samples))
    )


async def _fetch(text: str, voice_id: str, rate: str, pitch: str) -> tuple[bytes, list[tuple[str, int, int]]]:
    """MP3 bytes and word boundaries (text, start, end in ticks), with retries and a time limit."""
    import aiohttp
    from edge_tts import communicate
    from edge_tts.exceptions import EdgeTTSException, NoAudioReceived

    url = endpoint()
    communicate.WSS_URL = url  # edge-tts reads this module global on every connection
    where = url.split("?", 1)[0]
    fix = f"check the network or {URL_ENV}"

    async def attempts() -> tuple[bytes, list[tuple[str, int, int]]]:
        for attempt in range(ATTEMPTS):
            if attempt:
                await asyncio.sleep(BACKOFF[attempt - 1])
            try:
                return await _speak(text, voice_id, rate, pitch)
            except (aiohttp.ClientError, OSError, EdgeTTSException) as exc:
                failure = exc
        if isinstance(failure, NoAudioReceived):
            raise BuildError(
                f"edge-tts: {where} sent no audio after {ATTEMPTS} attempts; is "
                f"{voice_id!r} an Edge voice (edge-tts --list-voices)? else {fix}"
            )
        raise BuildError(f"edge-tts: cannot reach {where} after {ATTEMPTS} attempts ({_describe(failure)}); {fix}")

    try:
        return await asyncio.wait_for(attempts(), TIMEOUT)
    except asyncio.TimeoutError:
        raise BuildError(f"edge-tts: no complete answer from {where} within {TIMEOUT:g} s; {fix}") from None


async def _speak(text: str, voice_id: str, rate: str, pitch: str) -> tuple[bytes, list[tuple[str, int, int]]]:
    import edge_tts

    speech = edge_tts.Communicate(text, voice_id, rate=rate, pitch=pitch, boundary="WordBoundary")
    audio = bytearray()
    boundaries: list[tuple[str, int, int]] = []
    async for chunk in speech.stream():
        if chunk["type"] == "audio":
            audio += chunk["data"]
        elif chunk["type"] == "WordBoundary":
            boundaries.append((chunk["text"], chunk["offset"], chunk["offset"] + chunk["duration"]))
    return bytes(audio), boundaries


def _describe(exc: BaseException) -> str:
    """One line about a failure, without the URL's query string (it carries tokens)."""
    status = getattr(exc, "status", None)
    if isinstance(status, int):
        return f"HTTP {status}"
    cause = getattr(exc, "os_error", None)  # aiohttp's connection errors wrap the socket's
    text = " ".join(str(cause or exc).split()) or type(exc).__name__
    return re.sub(r"\?[^\s'\"]*", "", text)


def _decode(mp3: bytes) -> np.ndarray:
    """Mono int16 samples at SAMPLE_RATE from MP3 bytes, decoded by ffmpeg."""
    argv = [
        ffmpeg_exe(),
        "-hide_banner",
        "-loglevel",
        "error",
        "-f",
        "mp3",
        "-i",
        "pipe:0",
        "-f",
        "s16le",
        "-ac",
        "1",
        "-ar",
        str(SAMPLE_RATE),
        "pipe:1",
    ]
    return np.frombuffer(run(argv, what="ffmpeg (decoding edge-tts audio)", input=mp3).stdout, dtype=np.int16)
