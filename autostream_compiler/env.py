"""The environment: keys from the process or a `.env` beside the spec, and keeping them out of output."""

from __future__ import annotations

import os
from pathlib import Path

SECRET_ENV = ("GROQ_API_KEY", "OPENAI_API_KEY", "HF_TOKEN", "POLLINATIONS_API_TOKEN")


def load_env_file(folder: Path) -> None:
    """Take variables from `folder/.env` that the environment does not set already."""
    path = folder / ".env"
    if not path.is_file():
        return
    from dotenv import dotenv_values

    for name, value in dotenv_values(path).items():
        if value is not None and name not in os.environ:
            os.environ[name] = value


def redact(text: str) -> str:
    """`text` with the value of every secret environment variable replaced by ***."""
    for name in SECRET_ENV:
        value = os.environ.get(name, "")
        if len(value) >= 4:
            text = text.replace(value, "***")
    return text
