"""Online image generators: Hugging Face Inference (SDXL-Flash by default) and Pollinations.

Each call has a timeout and bounded retries with backoff on rate limits, server errors, timeouts,
lost connections and unreadable images. A failure raises ProviderError with one line; the image
step then falls back to the next provider of the chain.
"""

from __future__ import annotations

import io
import math
import os
import time
from collections.abc import Callable
from urllib.parse import quote

from PIL import Image

from autostream_compiler.env import public_url, redact
from autostream_compiler.errors import BuildError

HF_DEFAULT_MODEL = "sd-community/sdxl-flash"
POLLINATIONS_URL = "https://image.pollinations.ai"
_RETRY_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}


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

    return _with_retries(call, where, retries)


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

    return _with_retries(call, f"pollinations ({public_url(base)})", retries)


def _decode(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()  # a truncated picture fails here, inside the retries
    return image


def _with_retries(call: Callable[[], Image.Image], where: str, retries: int) -> Image.Image:
    for attempt in range(retries + 1):
        try:
            image = call()
            if image.width < 16 or image.height < 16:
                raise ValueError(f"a {image.width}x{image.height} image")
            return image.convert("RGB")
        except Exception as exc:  # noqa: BLE001 - every failure is either retried or reported in one line
            status = _status(exc)
            if status in (401, 403):
                raise ProviderError(
                    f"{where} refused the token (HTTP {status}); check HF_TOKEN / POLLINATIONS_API_TOKEN"
                ) from None
            if status is not None and status not in _RETRY_STATUS:
                raise ProviderError(redact(f"{where} failed (HTTP {status}): {_short(exc)}")) from None
            if attempt == retries:
                what = f"HTTP {status}" if status else _short(exc)
                raise ProviderError(redact(f"{where} failed after {retries + 1} attempts ({what})")) from None
            time.sleep(_retry_after(exc) or 0.5 * 2**attempt)
    raise AssertionError("unreachable")


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
