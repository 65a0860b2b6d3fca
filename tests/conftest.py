"""Every test starts from a clean environment: no developer keys or endpoints leak into a build, and
no digest of code a test patched outlives it."""

from __future__ import annotations

import os

import pytest

from autostream_compiler.engine.recipe import forget

_OUTSIDE = ("GROQ_", "OPENAI_", "HF_", "POLLINATIONS_", "AUTOSTREAM_", "HUGGING")


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch):
    for name in list(os.environ):
        if name.startswith(_OUTSIDE):
            monkeypatch.delenv(name)
    yield
    forget()  # a test that patched a constant leaves no digest of the patched code behind
