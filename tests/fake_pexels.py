"""A fake Pexels API on 127.0.0.1: photo search (/v1/search), video search (/videos/search) and the
files their results link to (/files/...), all on the fake itself. Photos are real JPEGs of one colour
per id; every video file is the same real 3 s MP4 made once with ffmpeg. Tests set the results, queue
replies per endpoint (a status, headers, a body or an empty result list) and read the requests."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import tempfile
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from functools import cache
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from helpers import LocalServer, send_reply
from PIL import Image

PHOTO_IDS = (101, 102, 103)
VIDEO_IDS = (201, 202, 203)
VIDEO_DURATIONS = {201: 3, 202: 8, 203: 14}
VIDEO_SIZES = ((640, 360, "sd"), (1280, 720, "hd"), (1920, 1080, "hd"), (3840, 2160, "uhd"))
PHOTO_SIZES = {"landscape": (1280, 853), "portrait": (853, 1280), "square": (1000, 1000)}


@dataclass
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None  # None: the normal answer (or a JSON error for a failure status)
    results: list | None = None  # a search's results instead of the fake's ([] for none found)
    delay: float = 0.0


def color(asset_id: int) -> tuple[int, int, int]:
    """The distinct solid colour of a photo id."""
    return (asset_id * 67) % 256, (asset_id * 151) % 256, (asset_id * 29 + 90) % 256


def jpeg(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), rgb).save(out, format="JPEG", quality=90)
    return out.getvalue()


@cache
def mp4() -> bytes:
    """A 3 s 640x360 25 fps H.264 test pattern with a 440 Hz AAC tone, made once per test process."""
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        import imageio_ffmpeg

        ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "clip.mp4"
        argv = [ffmpeg, "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25", "-f", "lavfi"]
        argv += ["-i", "sine=frequency=440:duration=3", "-t", "3", "-pix_fmt", "yuv420p", "-c:v", "libx264"]
        argv += ["-preset", "ultrafast", "-c:a", "aac", "-shortest", "-movflags", "+faststart", str(out)]
        subprocess.run(argv, check=True, capture_output=True, timeout=60)
        return out.read_bytes()


class FakePexels(LocalServer):
    """`url` is the API base (for AUTOSTREAM_PEXELS_URL). `photos` / `videos`: the results served (None:
    the default three, photos sized by the requested orientation); `key`: when set, other keys get 401.
    `search_replies` / `file_replies`: queued replies; `requests` / `file_requests`: what arrived."""

    def __init__(self, key: str | None = None):
        self.key = key
        self.photos: list[dict] | None = None
        self.videos: list[dict] | None = None
        self.search_replies: deque[Reply] = deque()
        self.file_replies: deque[Reply] = deque()
        self.requests: list[dict] = []
        self.file_requests: list[dict] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                url = urlsplit(self.path)
                request = {
                    "path": url.path,
                    "query": {k: v[0] for k, v in parse_qs(url.query).items()},
                    "headers": {k.lower(): v for k, v in self.headers.items()},
                }
                if url.path in ("/v1/search", "/videos/search"):
                    fake.requests.append(request)
                    self._search(request)
                elif url.path.startswith("/files/"):
                    fake.file_requests.append(request)
                    self._file(url.path)
                else:
                    self._send(404, b'{"error":"not found"}', "application/json")

            def _search(self, request: dict) -> None:
                reply = fake.search_replies.popleft() if fake.search_replies else Reply()
                time.sleep(reply.delay)
                if reply.status == 200 and fake.key is not None and request["headers"].get("authorization") != fake.key:
                    reply = Reply(401)
                if reply.status != 200 or reply.body is not None:
                    body = reply.body if reply.body is not None else json.dumps({"error": "fake"}).encode()
                    self._send(reply.status, body, "application/json", reply.headers)
                    return
                query = request["query"]
                kind = "photos" if request["path"] == "/v1/search" else "videos"
                results = reply.results
                if results is None:
                    results = fake.default(kind, query.get("orientation", "landscape"))
                per_page = int(query.get("per_page", 15))
                page = int(query.get("page", 1))
                body = {
                    kind: results[(page - 1) * per_page : page * per_page],
                    "page": page,
                    "per_page": per_page,
                    "total_results": len(results),
                }
                limits = {"X-Ratelimit-Limit": "20000", "X-Ratelimit-Remaining": "19999"}
                limits["X-Ratelimit-Reset"] = str(int(time.time()) + 3600)
                self._send(200, json.dumps(body).encode(), "application/json", {**limits, **reply.headers})

            def _file(self, path: str) -> None:
                reply = fake.file_replies.popleft() if fake.file_replies else Reply()
                time.sleep(reply.delay)
                if reply.status != 200 or reply.body is not None:
                    body = reply.body if reply.body is not None else b"fake failure"
                    self._send(reply.status, body, "application/octet-stream", reply.headers)
                    return
                photo = re.fullmatch(r"/files/photos/(\d+)-\w+-(\d+)x(\d+)\.jpeg", path)
                if photo:
                    asset_id, width, height = (int(g) for g in photo.groups())
                    self._send(200, jpeg(width, height, color(asset_id)), "image/jpeg", reply.headers)
                elif re.fullmatch(r"/files/videos/\d+-\d+x\d+\.mp4", path):
                    self._send(200, mp4(), "video/mp4", reply.headers)
                else:
                    self._send(404, b"no such file", "text/plain")

            def _send(self, status: int, data: bytes, kind: str, headers: dict | None = None) -> None:
                send_reply(self, status, data, kind, headers)

            def log_message(self, *args):
                pass

        super().__init__(Handler)
        self.url = self.root

    def __enter__(self) -> FakePexels:
        # polls for shutdown every 10 ms, so each test's teardown is quick (LocalServer's default: 0.5 s)
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True).start()
        return self

    def default(self, kind: str, orientation: str) -> list[dict]:
        """The results served when a test set none: three photos (at the orientation's size) or videos."""
        if kind == "photos":
            chosen = self.photos
            return (
                chosen
                if chosen is not None
                else [self.photo(i, *PHOTO_SIZES.get(orientation, PHOTO_SIZES["landscape"])) for i in PHOTO_IDS]
            )
        return self.videos if self.videos is not None else [self.video(i, VIDEO_DURATIONS[i]) for i in VIDEO_IDS]

    def photo(self, asset_id: int, width: int = 1280, height: int = 853) -> dict:
        """A photo result whose src links are files of this fake (a JPEG of the id's colour)."""

        def link(variant: str, w: int, h: int) -> str:
            return f"{self.root}/files/photos/{asset_id}-{variant}-{max(w, 1)}x{max(h, 1)}.jpeg"

        return {
            "id": asset_id,
            "width": width,
            "height": height,
            "url": f"https://www.pexels.com/photo/fake-{asset_id}/",
            "photographer": f"Photographer {asset_id}",
            "photographer_url": f"https://www.pexels.com/@photographer-{asset_id}",
            "photographer_id": asset_id * 10,
            "avg_color": "#{:02X}{:02X}{:02X}".format(*color(asset_id)),
            "alt": f"fake photo {asset_id}",
            "src": {
                "original": link("original", width, height),
                "large2x": link("large2x", width, height),
                "large": link("large", width // 2, height // 2),
                "medium": link("medium", width // 4, height // 4),
                "small": link("small", width // 8, height // 8),
                "portrait": link("portrait", 800, 1200),
                "landscape": link("landscape", 1200, 627),
                "tiny": link("tiny", 280, 200),
            },
        }

    def video(self, asset_id: int, duration: int = 8, sizes: tuple = VIDEO_SIZES) -> dict:
        """A video result with one MP4 file per (width, height, quality) of `sizes`, all files of this fake."""
        files = [
            {
                "id": asset_id * 100 + n,
                "quality": quality,
                "file_type": "video/mp4",
                "width": w,
                "height": h,
                "fps": 25.0,
                "link": f"{self.root}/files/videos/{asset_id}-{w}x{h}.mp4",
            }
            for n, (w, h, quality) in enumerate(sizes)
        ]
        width, height = max(((w, h) for w, h, _ in sizes), default=(640, 360))
        return {
            "id": asset_id,
            "width": width,
            "height": height,
            "url": f"https://www.pexels.com/video/fake-{asset_id}/",
            "duration": duration,
            "image": f"{self.root}/files/photos/{asset_id}-preview-640x360.jpeg",
            "user": {
                "id": asset_id * 10,
                "name": f"Videographer {asset_id}",
                "url": f"https://www.pexels.com/@v{asset_id}",
            },
            "video_files": files,
            "video_pictures": [],
        }
