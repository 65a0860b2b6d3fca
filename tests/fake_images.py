"""Fake image endpoints on 127.0.0.1: a Hugging Face text-to-image URL (POST) and Pollinations
(GET /prompt/...). Tests queue failures per endpoint; with none queued each answers a PNG of its colour."""

from __future__ import annotations

import io
import json
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler

from helpers import LocalServer, send_reply
from PIL import Image


@dataclass
class Reply:
    status: int = 200
    body: bytes | None = None  # None: a PNG of the endpoint's colour at the requested size
    delay: float = 0.0


@dataclass
class Endpoint:
    color: tuple[int, int, int]
    replies: deque = field(default_factory=deque)
    requests: list = field(default_factory=list)


def png(width: int, height: int, color: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, format="PNG")
    return out.getvalue()


class FakeImages(LocalServer):
    """`hf_url` is the text-to-image URL, `pollinations_url` the Pollinations base."""

    def __init__(self):
        self.hf = Endpoint((200, 30, 30))
        self.pollinations = Endpoint((30, 30, 200))
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))) or b"{}")
                params = body.get("parameters", {})
                self._answer(
                    fake.hf,
                    {"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body},
                    params.get("width", 64),
                    params.get("height", 64),
                )

            def do_GET(self):
                from urllib.parse import parse_qs, unquote, urlsplit

                url = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                request = {
                    "path": url.path,
                    "prompt": unquote(url.path.removeprefix("/pollinations/prompt/")),
                    "query": query,
                    "headers": {k.lower(): v for k, v in self.headers.items()},
                }
                self._answer(fake.pollinations, request, int(query.get("width", 64)), int(query.get("height", 64)))

            def _answer(self, endpoint: Endpoint, request: dict, width: int, height: int):
                endpoint.requests.append(request)
                reply = endpoint.replies.popleft() if endpoint.replies else Reply()
                time.sleep(reply.delay)
                data = reply.body if reply.body is not None else png(width, height, endpoint.color)
                send_reply(self, reply.status, data, "image/png" if reply.status == 200 else "application/json")

            def log_message(self, *args):
                pass

        super().__init__(Handler)
        self.hf_url = f"{self.root}/hf/models/sdxl"
        self.pollinations_url = f"{self.root}/pollinations"
