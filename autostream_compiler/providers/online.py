"""Online image generators: Hugging Face Inference (SDXL-Flash by default) and Pollinations.

Each call has a timeout and bounded retries with backoff on rate limits, server errors, timeouts,
lost connections and unreadable images. A failure raises ProviderError with one line; the image
step then falls back to the next provider of the chain. `with_retries` is that loop for any provider
(the Pexels client uses it too).
"""

from __future__ import annotations

import io
import math
import os
import time
from collections.abc import Callable, Sequence
from typing import TypeVar
from urllib.parse import quote

from PIL import Image

from autostream_compiler.env import public_url, redact
from autostream_compiler.errors import BuildError

HF_DEFAULT_MODEL = "sd-community/sdxl-flash"
POLLINATIONS_URL = "https://image.pollinations.ai"
_RETRY_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}
_REFUSED = "{where} refused the token (HTTP {status}); check HF_TOKEN / POLLINATIONS_API_TOKEN"

T = TypeVar("T")


class ProviderError(BuildError):
    """One provider could not produce an image (after its retries)."""


def generation_size(width: int, height: int, pixels: int = 1024 * 1024) -> tuple[int, int]:
    """About one megapixel in the frame's aspect, sides multiples of 64 (what SDXL-class models like)."""
    scale = math.sqrt(pixels / (width * height))
    return max(64, round(width * scale / 64) * 64), max(64, round(height * scale / 64) * 64)


def hf_image(
    prompt: str, seed: int, width: int, height: int, model: str | None, timeout: float, retries: int
) -> Image.Image:
    """text_to_image through huggingface_hub's InferenceClient (HF_TOKEN; AUTOSTREAM_HF_BASE_URL)."""
    from huggingface_hub import InferenceClient

    base_url = os.environ.get("AUTOSTREAM_HF_BASE_URL")
    token = os.environ.get("HF_TOKEN")
    if base_url:
        client = InferenceClient(base_url=base_url, token=token, timeout=timeout)
    else:
        client = InferenceClient(model=model or HF_DEFAULT_MODEL, token=token, timeout=timeout)
    w, h = generation_size(width, height)
    where = f"hf ({public_url(base_url) if base_url else model or HF_DEFAULT_MODEL})"

    steps = {"num_inference_steps": 6} if (model or HF_DEFAULT_MODEL) == HF_DEFAULT_MODEL else {}  # a Flash model

    def call() -> Image.Image:
        return client.text_to_image(prompt, width=w, height=h, seed=seed % 2**31, **steps)

    return with_retries(call, where, retries, _usable)


def pollinations_image(
    prompt: str, seed: int, width: int, height: int, model: str | None, timeout: float, retries: int
) -> Image.Image:
    """Pollinations' image endpoint (POLLINATIONS_API_TOKEN optional; AUTOSTREAM_POLLINATIONS_URL)."""
    import httpx

    base = os.environ.get("AUTOSTREAM_POLLINATIONS_URL", POLLINATIONS_URL).rstrip("/")
    token = os.environ.get("POLLINATIONS_API_TOKEN")
    w, h = generation_size(width, height)
    params = {"width": w, "height": h, "seed": seed % 2**31, "nologo": "true", "model": model or "flux"}  # its own
    headers = {"Authorization": f"Bearer {token}"} if token else {}

    def call() -> Image.Image:
        reply = httpx.get(
            f"{base}/prompt/{quote(prompt, safe='')}",
            params=params,
            headers=headers,
            timeout=timeout,
            follow_redirects=True,
        )
        reply.raise_for_status()
        return _decode(reply.content)

    return with_retries(call, f"pollinations ({public_url(base)})", retries, _usable)


def _decode(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()  # a truncated picture fails here, inside the retries
    return image


def _usable(image: Image.Image) -> Image.Image:
    if image.width < 16 or image.height < 16:
        raise ValueError(f"a {image.width}x{image.height} image")
    return image.convert("RGB")


def backoff(exc: Exception, attempt: int) -> float:
    """Seconds to wait before the next attempt: the server's Retry-After (up to 30 s), else 0.5 s doubling."""
    return _retry_after(exc) or 0.5 * 2**attempt


def with_retries(
    call: Callable[[], T],
    where: str,
    retries: int,
    check: Callable[[T], T] | None = None,
    *,
    refused: str = _REFUSED,
    wait: Callable[[Exception, int], float] = backoff,
    secrets: Sequence[str] = (),
) -> T:
    """`check(call())` with up to `retries` more attempts on rate limits, server errors, timeouts, lost
    connections and anything `check` rejects; 401/403 stop at once with `refused` (formatted with `where`
    and `status`). Failures raise ProviderError in one line, secret values (and `secrets`) masked."""
    for attempt in range(retries + 1):
        try:
            value = call()
            return check(value) if check is not None else value
        except Exception as exc:  # noqa: BLE001 - every failure is either retried or reported in one line
            status = _status(exc)
            if status in (401, 403):
                raise ProviderError(_mask(refused.format(where=where, status=status), secrets)) from None
            if status is not None and status not in _RETRY_STATUS:
                raise ProviderError(_mask(f"{where} failed (HTTP {status}): {_short(exc)}", secrets)) from None
            if attempt == retries:
                what = f"HTTP {status}" if status else _short(exc)
                raise ProviderError(_mask(f"{where} failed after {retries + 1} attempts ({what})", secrets)) from None
            time.sleep(wait(exc, attempt))
    raise AssertionError("unreachable")


def _mask(text: str, secrets: Sequence[str]) -> str:
    text = redact(text)
    for value in secrets:
        if value and len(value) >= 4:
            text = text.replace(value, "***")
    return text


def _status(exc: Exception) -> int | None:
    """The HTTP status of a failed call (huggingface_hub and httpx errors carry the response)."""
    response = getattr(exc, "response", None)
    return getattr(response, "status_code", None)


def _retry_after(exc: Exception) -> float | None:
    response = getattr(exc, "response", None)
    value = getattr(response, "headers", {}).get("retry-after") if response is not None else None
    try:
        return min(float(value), 30.0) if value else None
    except ValueError:
        return None


def _short(exc: Exception) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return f"{type(exc).__name__}: {text}"[:160]
