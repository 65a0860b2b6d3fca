"""A fake Edge read-aloud websocket server on 127.0.0.1 for the real edge-tts client to talk to.

It speaks the protocol as edge-tts parses it: after the client's `Path:speech.config` and
`Path:ssml` text messages it sends `Path:turn.start`, one `Path:audio.metadata` text message per
WordBoundary (edge-tts reads only the first entry of each), binary audio frames (2-byte big-endian
header length, header text ending in CRLF, MP3 bytes) and `Path:turn.end`. It accepts any path and
query; the provider connects to `fake.url` + "?TrustedClientToken=…&ConnectionId=…&Sec-MS-GEC=…".

Modes make it fail: "http500" refuses the handshake, "hang" never answers, "no_audio" sends an
empty turn. A voice not in `voices` gets the connection closed without audio.
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import tempfile
import threading
import uuid
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path

import numpy as np
from websockets.asyncio.server import ServerConnection, serve

from autostream_compiler.providers import piper_tts
from autostream_compiler.render.ffmpeg import ffmpeg_exe

TICKS_PER_SECOND = 10_000_000
AUDIO_FRAME = 4096  # MP3 bytes per binary message


@dataclass
class Reply:
    """What the fake speaks: MP3 bytes and word boundaries (text, start s, end s)."""

    mp3: bytes
    words: list[tuple[str, float, float]]
    duration: float  # seconds of the audio before MP3 encoding


@dataclass
class Request:
    """One websocket session: the path with its query, and the text messages received."""

    path: str
    messages: list[str] = field(default_factory=list)


def encode_mp3(samples: np.ndarray, rate: int) -> bytes:
    """MP3 in the service's format (24 kHz mono, 48 kbit/s) with a LAME header, so decoders trim
    the encoder delay and the audio keeps its timing."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "speech.mp3"
        subprocess.run(
            [
                ffmpeg_exe(),
                "-hide_banner",
                "-loglevel",
                "error",
                "-f",
                "s16le",
                "-ar",
                str(rate),
                "-ac",
                "1",
                "-i",
                "pipe:0",
                "-ar",
                "24000",
                "-c:a",
                "libmp3lame",
                "-b:a",
                "48k",
                str(out),
            ],
            input=samples.astype(np.int16).tobytes(),
            capture_output=True,
            check=True,
        )
        return out.read_bytes()


def piper_reply(entries: list[str]) -> Reply:
    """Speech for the entries from piper, with a WordBoundary per spoken word at piper's times (an
    entry's span shared evenly by its words; punctuation stripped, as the service does)."""
    speech = piper_tts.synthesize(entries, "en_US-joe-medium", 1.0)
    words: list[tuple[str, float, float]] = []
    for entry, (start, end) in zip(entries, speech.timings):
        said = [w.strip(".,;:!?\"'()") for w in entry.split()]
        step = (end - start) / max(len(said), 1)
        words += [(w, start + k * step, start + (k + 1) * step) for k, w in enumerate(said)]
    duration = len(speech.samples) / speech.sample_rate
    return Reply(encode_mp3(speech.samples, speech.sample_rate), words, duration)


class FakeEdge:
    """Start with `with FakeEdge(reply) as fake:`; `fake.url` is ws://127.0.0.1:PORT/edge/v1."""

    def __init__(self, reply: Reply | None = None, mode: str = "ok", voices: tuple[str, ...] = ("en-US-AriaNeural",)):
        self.reply = reply
        self.mode = mode
        self.voices = voices
        self.requests: list[Request] = []
        self.connections = 0  # handshakes attempted, refused ones included
        self.url = ""

    def __enter__(self) -> FakeEdge:
        ready = threading.Event()
        self._thread = threading.Thread(target=asyncio.run, args=(self._serve(ready),), daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("fake Edge server did not start")
        return self

    def __exit__(self, *exc) -> None:
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    async def _serve(self, ready: threading.Event) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with serve(self._session, "127.0.0.1", 0, process_request=self._handshake) as server:
            self.url = f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}/edge/v1"
            ready.set()
            await self._stop.wait()

    def _handshake(self, connection: ServerConnection, request):
        self.connections += 1
        if self.mode == "http500":
            return connection.respond(HTTPStatus.INTERNAL_SERVER_ERROR, "fake failure\n")
        return None

    async def _session(self, ws: ServerConnection) -> None:
        request = Request(ws.request.path)
        self.requests.append(request)
        for _ in range(2):  # speech.config, then ssml
            request.messages.append(await ws.recv())
        if self.mode == "hang":
            await ws.wait_closed()
            return
        voice = re.search(r"Voice \(([^,]+), ([^)]+)\)", request.messages[1])
        if voice is None or f"{voice[1]}-{voice[2]}" not in self.voices:
            await ws.close()
            return
        rid = uuid.uuid4().hex
        await ws.send(_text(rid, "turn.start", '{"context":{"serviceTag":"fake"}}'))
        if self.mode != "no_audio" and self.reply is not None:
            for word, start, end in self.reply.words:
                await ws.send(_text(rid, "audio.metadata", json.dumps(_boundary(word, start, end))))
            for i in range(0, len(self.reply.mp3), AUDIO_FRAME):
                await ws.send(_audio(rid, self.reply.mp3[i : i + AUDIO_FRAME]))
        await ws.send(_text(rid, "turn.end", "{}"))


def _text(request_id: str, path: str, body: str) -> str:
    return f"X-RequestId:{request_id}\r\nContent-Type:application/json; charset=utf-8\r\nPath:{path}\r\n\r\n{body}"


def _audio(request_id: str, mp3: bytes) -> bytes:
    # edge-tts reads the headers from the first `length` bytes of the message (length prefix
    # included) and the audio from byte length + 2: the header text must end in CRLF.
    header = f"X-RequestId:{request_id}\r\nContent-Type:audio/mpeg\r\nPath:audio\r\n".encode()
    return len(header).to_bytes(2, "big") + header + mp3


def _boundary(word: str, start: float, end: float) -> dict:
    offset = round(start * TICKS_PER_SECOND)
    return {
        "Metadata": [
            {
                "Type": "WordBoundary",
                "Data": {
                    "Offset": offset,
                    "Duration": round(end * TICKS_PER_SECOND) - offset,
                    "text": {"Text": word, "Length": len(word), "BoundaryType": "WordBoundary"},
                },
            }
        ]
    }
