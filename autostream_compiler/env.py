"""The environment: keys from the process or a `.env` beside the spec, and keeping them out of output."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

SECRET_ENV = (
    "GROQ_API_KEY",
    "OPENAI_API_KEY",
    "HF_TOKEN",
    "POLLINATIONS_API_TOKEN",
    "PEXELS_API_KEY",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
)


_from_file: dict[str, str] = {}  # variables a `.env` set, so a later load (watch) can update them


_STARTED = dict(os.environ)  # as the process began, before any library changed it
_SET_BY_LIBRARIES = ("LD_LIBRARY_PATH",)  # OpenCV's loader rewrites it for itself when cv2 is imported


def process_env() -> dict[str, str]:
    """The variables this process was started with, without the ones a `.env` added (the file itself
    is watched as a file); those libraries rewrite for themselves on import, as they were at start."""
    env = {
        name: value
        for name, value in os.environ.items()
        if _from_file.get(name) != value and name not in _SET_BY_LIBRARIES
    }
    return env | {name: _STARTED[name] for name in _SET_BY_LIBRARIES if name in _STARTED}


def load_env_file(folder: Path) -> None:
    """Take variables from `folder/.env` that the environment does not set already. Loading again
    (a watcher, after the file changed) updates or removes the ones an earlier load set."""
    path = folder / ".env"
    values: dict[str, str] = {}
    if path.is_file():
        from dotenv import dotenv_values

        values = {name: value for name, value in dotenv_values(path).items() if value is not None}
    previous = dict(_from_file)
    _from_file.clear()
    for name, value in previous.items():
        if name not in values and os.environ.get(name) == value:
            del os.environ[name]
    for name, value in values.items():
        if name not in os.environ or os.environ[name] == previous.get(name):
            os.environ[name] = value
            _from_file[name] = value


def redact(text: str) -> str:
    """`text` with the value of every secret environment variable replaced by ***."""
    for name in SECRET_ENV:
        value = os.environ.get(name, "")
        if len(value) >= 4:
            text = text.replace(value, "***")
    return text


def public_url(url: str) -> str:
    """A URL as it may be printed: scheme, host, port and path; never credentials or a query (and never
    an error, whatever the URL holds)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}{parts.path}"
