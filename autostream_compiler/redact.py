"""Keep secrets out of what autostream prints or writes."""

from __future__ import annotations

import os

SECRET_ENV = ("GROQ_API_KEY", "OPENAI_API_KEY", "HF_TOKEN", "POLLINATIONS_API_TOKEN")


def redact(text: str) -> str:
    """`text` with the value of every secret environment variable replaced by ***."""
    for name in SECRET_ENV:
        value = os.environ.get(name, "")
        if len(value) >= 4:
            text = text.replace(value, "***")
    return text
