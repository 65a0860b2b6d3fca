"""The preview server of `autostream watch --serve`: one page, the build status, the latest video.

Routes are matched exactly; no request path is ever joined to a folder, so nothing but the page,
the status and the videos the watcher hands over can be read. Videos are served from the build
cache's content-addressed copy, which never changes, so a browser's range requests always read the
bytes of the build it asked for, even while the next build replaces the output file.
"""

from __future__ import annotations

import errno
import json
import re
import socket
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote, urlsplit

from autostream_compiler.errors import UserError

PAGE = Path(__file__).with_name("preview.html")
_RANGE = re.compile(r"bytes=(\d{0,18})-(\d{0,18})")
_LOOPBACK = {"127.0.0.1", "::1", "localhost"}
_KEEPALIVE = 15.0  # seconds between SSE comments, so proxies and browsers keep the stream open


class Preview:
    """What the page shows, shared by the watcher (writer) and the server threads (readers)."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._version = 0
        self._closed = False
        self._status = {"state": "building", "build": 0, "video": None, "error": None, "steps": [], "scenes": []}
        self._videos: dict[str, Path] = {}  # URL -> file, for the latest video and the one before it

    def building(self) -> None:
        """A build started."""
        self._update(state="building", error=None, steps=[])

    def done(self, video: Path, name: str, steps: list[dict], scenes: list[dict]) -> None:
        """A build finished: `video` holds its bytes (never rewritten), `name` is the file name shown."""
        build = self._status["build"] + 1
        url = f"/video/{build}/{quote(name)}"
        with self._changed:
            self._videos = {u: p for u, p in self._videos.items() if u == self._status["video"]}
            self._videos[url] = video
        self._update(state="done", build=build, video=url, error=None, steps=steps, scenes=scenes)

    def failed(self, error: str, steps: list[dict]) -> None:
        """A build failed; the last good video stays on the page."""
        self._update(state="failed", build=self._status["build"] + 1, error=error, steps=steps)

    def close(self) -> None:
        """Wake every waiting event stream so it ends."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()

    def status(self) -> tuple[int, str]:
        """The version (bumped on every change) and the status as JSON."""
        with self._changed:
            return self._version, json.dumps(self._status)

    def video(self, url: str) -> Path | None:
        """The file behind a video URL the status named (the latest or the one before), else None."""
        with self._changed:
            return self._videos.get(url)

    def wait(self, version: int, timeout: float) -> bool:
        """Block until the status moves past `version`, the preview closes or `timeout` passes;
        False once closed."""
        with self._changed:
            self._changed.wait_for(lambda: self._version != version or self._closed, timeout)
            return not self._closed

    def _update(self, **fields) -> None:
        with self._changed:
            self._status.update(fields)
            self._version += 1
            self._changed.notify_all()


class _Handler(BaseHTTPRequestHandler):
    server: PreviewServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the stdlib's name
        pass  # the terminal belongs to the build output

    def do_HEAD(self) -> None:
        self.do_GET(body=False)

    def do_GET(self, body: bool = True) -> None:
        path = self.path.split("?", 1)[0]
        preview = self.server.preview
        try:
            if not self._host_allowed():
                self._send(HTTPStatus.FORBIDDEN, "text/plain; charset=utf-8", b"forbidden host\n", body)
            elif path == "/":
                self._send(HTTPStatus.OK, "text/html; charset=utf-8", PAGE.read_bytes(), body)
            elif path == "/status.json":
                self._send(HTTPStatus.OK, "application/json", preview.status()[1].encode(), body)
            elif path == "/events" and body:
                self._events(preview)
            elif video := preview.video(path):
                self._file(video, body)
            else:
                self._send(HTTPStatus.NOT_FOUND, "text/plain; charset=utf-8", b"not found\n", body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the browser went away (a seek or a reload)

    def _host_allowed(self) -> bool:
        """On a loopback address, answer only requests for a loopback name: a web page elsewhere
        cannot then read the preview through a DNS name rebound to 127.0.0.1."""
        if self.server.server_address[0] not in _LOOPBACK:
            return True  # the user chose to serve other machines
        try:
            return urlsplit(f"//{self.headers.get('Host', '')}").hostname in _LOOPBACK
        except ValueError:  # not a host name at all
            return False

    def _send(self, status: HTTPStatus, kind: str, data: bytes, body: bool, headers: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if body:
            self.wfile.write(data)

    def _events(self, preview: Preview) -> None:
        """Server-sent events: the status now, then again on every change."""
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.close_connection = True
        version = -1
        while True:
            now, status = preview.status()
            if now != version:
                version = now
                self.wfile.write(f"data: {status}\n\n".encode())
            else:
                self.wfile.write(b": keep-alive\n\n")
            self.wfile.flush()
            if not preview.wait(version, _KEEPALIVE):
                return

    def _file(self, path: Path, body: bool) -> None:
        """A file, whole or one byte range of it (browsers seek with ranges)."""
        try:
            f = path.open("rb")
        except OSError:
            self._send(HTTPStatus.NOT_FOUND, "text/plain; charset=utf-8", b"not found\n", body)
            return
        with f:
            size = path.stat().st_size
            start, end, status = 0, size - 1, HTTPStatus.OK
            match = _RANGE.fullmatch((self.headers.get("Range") or "").strip())
            first, last = match.groups() if match else ("", "")
            if first and last and int(first) > int(last) or not first and not last:
                match = None  # no range, several, or an invalid one: the whole file (RFC 9110 14.2)
            if match:
                if first:
                    start, end = int(first), min(int(last), size - 1) if last else size - 1
                else:
                    start = max(0, size - int(last))
                if start >= size or start > end:
                    self._send(
                        HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE,
                        "text/plain; charset=utf-8",
                        b"",
                        body,
                        {"Content-Range": f"bytes */{size}"},
                    )
                    return
                status = HTTPStatus.PARTIAL_CONTENT
            self.send_response(status)
            self.send_header("Content-Type", "video/mp4")
            self.send_header("Accept-Ranges", "bytes")
            self.send_header("Content-Length", str(end - start + 1))
            self.send_header("Cache-Control", "no-store")
            if status == HTTPStatus.PARTIAL_CONTENT:
                self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
            self.end_headers()
            if not body:
                return
            f.seek(start)
            left = end - start + 1
            while left > 0:
                block = f.read(min(left, 1 << 16))
                if not block:
                    break
                self.wfile.write(block)
                left -= len(block)


class PreviewServer(ThreadingHTTPServer):
    """The preview's HTTP server; `serve()` runs it in a background thread."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], preview: Preview):
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)
        self.preview = preview

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{f'[{host}]' if ':' in host else host}:{port}/"

    def serve(self) -> None:
        """Answer requests in a background thread until `stop()`."""
        threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True, name="preview-server"
        ).start()

    def stop(self) -> None:
        """Stop answering, end the event streams and close the socket."""
        self.preview.close()
        self.shutdown()
        self.server_close()


def parse_address(value: str) -> tuple[str, int]:
    """`[HOST:]PORT` (default host 127.0.0.1) for `--serve`; UserError when it is not one."""
    host, _, port = value.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        raise UserError(f"--serve {value!r}: expected [HOST:]PORT, e.g. --serve 8765 or --serve 0.0.0.0:8765")
    return host, int(port)


def start(address: tuple[str, int], preview: Preview) -> PreviewServer:
    """Listen on `address` and serve in the background; UserError when the address cannot be used."""
    try:
        server = PreviewServer(address, preview)
    except OSError as exc:
        host, port = address
        fix = (
            "choose another port, e.g. --serve 8766"
            if exc.errno in (errno.EADDRINUSE, errno.EACCES)
            else "use an address of this machine, e.g. --serve 127.0.0.1:8765 or --serve 0.0.0.0:8765"
        )
        raise UserError(f"--serve: cannot listen on {host}:{port} ({exc.strerror or exc}); {fix}") from None
    server.serve()
    return server
