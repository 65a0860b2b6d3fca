"""Pexels stock media: a photo or a video clip that matches a scene's visual, with its credit line.

The search terms come from the visual (stop words and prompt boilerplate dropped); the pick among the
top results follows the seed, so a build is repeatable. Searches and downloads share online.py's
bounded retries with backoff (429 honours Retry-After / X-Ratelimit-Reset, briefly); a refused key
stops at once. Every failure is a one-line ProviderError that never holds the key.

Environment: PEXELS_API_KEY (required), AUTOSTREAM_PEXELS_URL (the API base; tests and proxies).
"""

from __future__ import annotations

import io
import os
import re
import time
from dataclasses import dataclass, field
from typing import Any

from autostream_compiler.env import public_url
from autostream_compiler.providers.online import ProviderError, _retry_after, with_retries

NAME = "pexels"
PEXELS_URL = "https://api.pexels.com"
PER_PAGE = 15
TOP = 5  # seeds vary the pick among this many of the first results
MAX_WAIT = 5.0  # the longest a rate limit's reset is waited for, per attempt
BACKOFF = 0.5  # seconds before the first retry when the server names no time; doubles per attempt
KINDS = ("photo", "video")

_REFUSED = "pexels refused the key (HTTP {status}); check PEXELS_API_KEY"

STOP_WORDS = frozenset(
    """
    a an the this that these those some any each every all both either neither another other such
    of in on at to for with without from by into onto over under above below behind beside besides near
    between among through across along around against during before after while until upon within toward
    towards off up down out about as like than then there here where when which who whom whose what how
    and or but nor so yet not no only just very too also even still again ever
    is are was were be been being am has have had do does did can could will would shall should may might must
    it its it's they them their theirs he him his she her hers we us our you your i me my mine
    one's someone something somewhere
    showing shows show featuring features depicting depicts seen visible scene view of
    """.split()
)

STYLE_WORDS = frozenset(
    """
    cinematic cinematography photorealistic photo-realistic realistic hyperrealistic hyper-realistic
    hyperrealism realism detailed hyper-detailed ultra-detailed highly intricate sharp focus crisp
    quality masterpiece award-winning trending artstation octane unreal render rendered rendering
    3d cgi bokeh hdr hd uhd fhd dslr lens lenses photo photograph photography photographic picture image
    footage clip stock style aesthetic film grain grainy lighting lit shot shots closeup close-up
    wide-angle telephoto macro dof composition epic stunning beautiful gorgeous breathtaking dramatic
    professional vivid vibrant colorful colourful color-graded colour-graded graded moody atmospheric
    ultra hyper super high resolution res definition detail details sharpness
    """.split()
)

STYLE_PHRASES = (
    "shallow depth of field",
    "depth of field",
    "rule of thirds",
    "golden ratio",
    "unreal engine",
    "octane render",
    "trending on artstation",
    "high detail",
    "highly detailed",
    "ultra detailed",
    "award winning",
    "best quality",
    "wide angle",
    "close up",
    "film still",
    "color graded",
    "colour graded",
    "studio lighting",
    "volumetric lighting",
    "natural light",
)

_PHRASES = re.compile(r"\b(?:" + "|".join(re.escape(p) for p in STYLE_PHRASES) + r")\b")
_WORD = re.compile(r"[^\W_]+(?:['’\-][^\W_]+)*")
_TECHNICAL = re.compile(r"^(?:\d+(?:mm|k|p|fps|x)|f\d+(?:\.\d+)?|iso\d+|\d+)$")  # 35mm, 8k, 1080p, f1.8, 100


@dataclass(frozen=True)
class Asset:
    """A downloaded Pexels photo or video with what its credit needs."""

    kind: str  # "photo" | "video"
    id: int  # Pexels id
    page_url: str  # the asset's pexels.com page
    author: str  # photographer / user name
    author_url: str
    data: bytes = field(repr=False)  # the downloaded file: JPEG/PNG for photos, MP4 for videos
    width: int
    height: int
    duration: float | None = None  # videos, in seconds

    def credit(self) -> str:
        """One Markdown line crediting the author and Pexels."""
        name = re.sub(r"([\[\]])", r"\\\1", self.author.strip() or "an unknown author")
        who = f"[{name}]({self.author_url})" if self.author_url else name
        return f"{self.kind.capitalize()} by {who} on [Pexels]({self.page_url})"


def search_terms(visual: str, limit: int = 6) -> str:
    """Search terms from a visual: its content words in order, without stop words, style boilerplate or punctuation."""
    text = _PHRASES.sub(" ", visual.lower().replace("’", "'"))
    words: list[str] = []
    for match in _WORD.finditer(text):
        word = match.group().strip("'-")
        word = word[:-2] if word.endswith("'s") else word
        if (
            len(word) < 2
            or word in STOP_WORDS
            or word in STYLE_WORDS
            or _TECHNICAL.match(word.replace("/", ""))
            or word in words
        ):
            continue
        words.append(word)
        if len(words) == limit:
            break
    return " ".join(words)


def orientation(width: int, height: int) -> str:
    """Pexels' orientation for a frame: "square" within 10 % of 1:1, else "landscape" or "portrait"."""
    if width <= 0 or height <= 0:
        raise ValueError(f"a {width}x{height} frame has no orientation")
    if max(width, height) <= 1.1 * min(width, height):
        return "square"
    return "landscape" if width > height else "portrait"


def pick(results: list[dict[str, Any]], seed: int, min_duration: float = 0) -> dict[str, Any]:
    """The seed's result among the top ones (videos at least `min_duration` long first, when there are any)."""
    if not results:
        raise ValueError("no results to pick from")
    if min_duration > 0:
        results = [r for r in results if _number(r.get("duration")) >= min_duration] or results
    return results[seed % min(len(results), TOP)]


def video_file(files: list[dict[str, Any]], width: int, height: int) -> dict[str, Any] | None:
    """The MP4 whose short side is the smallest that still covers the frame's (up to 1080), else the largest."""
    mp4s = [
        f
        for f in files
        if f.get("link")
        and _number(f.get("width")) > 0
        and _number(f.get("height")) > 0
        and (f.get("file_type") == "video/mp4" or str(f.get("link")).split("?")[0].lower().endswith(".mp4"))
    ]
    if not mp4s:
        return None

    def short(f: dict[str, Any]) -> float:
        return min(_number(f["width"]), _number(f["height"]))

    def size(f: dict[str, Any]) -> tuple[float, float, str]:
        return short(f), _number(f["width"]) * _number(f["height"]), str(f.get("id", ""))

    need = min(width, height, 1080)
    enough = [f for f in mp4s if short(f) >= need]
    return min(enough, key=size) if enough else max(mp4s, key=size)


def fetch(
    kind: str,
    visual: str,
    seed: int,
    width: int,
    height: int,
    timeout: float,
    retries: int,
    min_duration: float = 0,
) -> Asset:
    """Search Pexels for the visual and download the seed's pick among the top results (a "photo" or "video")."""
    import httpx

    if kind not in KINDS:
        raise ValueError(f"pexels kind must be one of {', '.join(KINDS)}, not {kind!r}")
    key = os.environ.get("PEXELS_API_KEY", "").strip()
    if not key:
        raise ProviderError("pexels needs PEXELS_API_KEY; set it, or drop pexels from images.providers")
    query = search_terms(visual)
    if not query:
        raise ProviderError(f"pexels has no search terms in the visual '{visual.strip()[:80]}'")
    base = os.environ.get("AUTOSTREAM_PEXELS_URL", PEXELS_URL).rstrip("/")
    url = f"{base}/v1/search" if kind == "photo" else f"{base}/videos/search"
    params = {"query": query, "orientation": orientation(width, height), "per_page": PER_PAGE, "page": 1}
    retry = {"refused": _REFUSED, "wait": _wait, "secrets": (key,)}

    with httpx.Client(timeout=timeout, follow_redirects=True) as client:

        def search() -> list[dict[str, Any]]:
            reply = client.get(url, params=params, headers={"Authorization": key})
            reply.raise_for_status()
            found = reply.json().get("photos" if kind == "photo" else "videos")
            if not isinstance(found, list):
                raise ValueError(f"a reply without {kind}s")
            return [r for r in found if isinstance(r, dict)]

        results = with_retries(search, f"pexels ({public_url(url)})", retries, **retry)
        if not results:
            raise ProviderError(f"pexels found no {kind} for '{query}'")
        chosen = pick(results, seed, min_duration if kind == "video" else 0)
        if kind == "photo":
            src = chosen.get("src") or {}
            link = src.get("large2x") or src.get("original")
            if not link:
                raise ProviderError(f"pexels photo {chosen.get('id')} has no download link")
            file = None
        else:
            file = video_file(chosen.get("video_files") or [], width, height)
            if file is None:
                raise ProviderError(f"pexels video {chosen.get('id')} has no MP4 file")
            link = file["link"]

        def download() -> bytes:
            reply = client.get(link)  # a CDN link: the key is not sent
            reply.raise_for_status()
            return reply.content

        check = _photo if kind == "photo" else _mp4
        data = with_retries(download, f"pexels ({public_url(link)})", retries, check, **retry)

    if kind == "photo":
        w, h = _photo_size(data)
        author, author_url, duration = chosen.get("photographer"), chosen.get("photographer_url"), None
    else:
        w, h = int(_number(file["width"])), int(_number(file["height"]))
        user = chosen.get("user") or {}
        author, author_url, duration = user.get("name"), user.get("url"), _number(chosen.get("duration")) or None
    return Asset(
        kind=kind,
        id=int(chosen.get("id") or 0),
        page_url=str(chosen.get("url") or ""),
        author=str(author or ""),
        author_url=str(author_url or ""),
        data=data,
        width=w,
        height=h,
        duration=duration,
    )


def _photo(data: bytes) -> bytes:
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        image.load()  # a truncated picture fails here, inside the retries
        if image.width < 16 or image.height < 16:
            raise ValueError(f"a {image.width}x{image.height} image")
    return data


def _photo_size(data: bytes) -> tuple[int, int]:
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        return image.size


def _mp4(data: bytes) -> bytes:
    if len(data) < 12 or data[4:8] != b"ftyp":
        raise ValueError(f"not an MP4 ({len(data)} bytes starting {data[:12]!r})")
    return data


def _wait(exc: Exception, attempt: int) -> float:
    """Retry-After, else a 429's X-Ratelimit-Reset (both up to MAX_WAIT), else BACKOFF doubling."""
    after = _retry_after(exc)
    if after is not None:
        return min(after, MAX_WAIT)
    response = getattr(exc, "response", None)
    reset = getattr(response, "headers", {}).get("x-ratelimit-reset") if response is not None else None
    if reset and getattr(response, "status_code", None) == 429:
        try:
            return max(0.0, min(float(reset) - time.time(), MAX_WAIT))
        except ValueError:
            pass
    return BACKOFF * 2**attempt


def _number(value: Any) -> float:
    try:
        return float(value) if value is not None and not isinstance(value, bool) else 0.0
    except (TypeError, ValueError):
        return 0.0
