"""A fake OpenAI-compatible chat server on 127.0.0.1 for the real groq and openai SDKs to talk to.

Tests queue replies (an answer's text, an HTTP error, a delay); every request is recorded. With no
reply queued the server answers 500, which the test then sees fail.
"""

from __future__ import annotations

import json
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler

from helpers import LocalServer


@dataclass
class Reply:
    status: int = 200
    content: str | None = None
    body: dict | None = None
    headers: dict = field(default_factory=dict)
    delay: float = 0.0


@dataclass
class Request:
    path: str
    headers: dict
    body: dict


class FakeLLM(LocalServer):
    """Start with `with FakeLLM() as fake:`; `fake.url` is the server root."""

    def __init__(self):
        self.replies: deque[Reply] = deque()
        self.requests: list[Request] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("content-length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                fake.requests.append(Request(self.path, dict(self.headers), body))
                reply = fake.replies.popleft() if fake.replies else Reply(500, body={"error": "no reply queued"})
                time.sleep(reply.delay)
                if not self.path.endswith("/chat/completions"):
                    reply = Reply(404, body={"error": {"message": f"no route {self.path}"}})
                payload = reply.body if reply.body is not None else _completion(body.get("model"), reply.content)
                data = json.dumps(payload).encode()
                try:
                    self.send_response(reply.status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(data)))
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout test)

            def log_message(self, *args):
                pass

        super().__init__(Handler)
        self.url = self.root

    def answer(self, content: str | dict, **kw) -> None:
        """Queue a 200 reply whose message content is `content` (a dict is sent as JSON)."""
        text = content if isinstance(content, str) else json.dumps(content)
        self.replies.append(Reply(content=text, **kw))

    def error(self, status: int, message: str = "error", **kw) -> None:
        """Queue an HTTP error in the OpenAI error format."""
        self.replies.append(Reply(status, body={"error": {"message": message, "type": "test"}}, **kw))


def _completion(model: str | None, content: str | None) -> dict:
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 0,
        "model": model or "test",
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }
