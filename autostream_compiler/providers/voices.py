"""Voice names: `provider:voice_id` or a bare id that only one provider offers."""

from __future__ import annotations

from typing import NamedTuple

from autostream_compiler.errors import UserError


class Voice(NamedTuple):
    """A resolved voice: which TTS provider speaks it and its id there."""

    provider: str
    id: str


# Voices each built-in TTS provider can speak on this install (offline, shipped by PyPI packages).
VOICES: dict[str, tuple[str, ...]] = {
    "piper": ("en_US-joe-medium",),
}


def resolve_voice(name: str) -> Voice:
    """Turn a voice name from a spec or style into a Voice, or raise a UserError saying the choices."""
    provider, _, voice_id = name.rpartition(":")
    known = ", ".join(f"{p}:{v}" for p, vs in VOICES.items() for v in vs)
    if provider:
        if provider not in VOICES:
            raise UserError(f"unknown TTS provider {provider!r} in voice {name!r}; use one of {known}")
        if voice_id not in VOICES[provider]:
            raise UserError(f"{provider} has no voice {voice_id!r}; use one of {known}")
        return Voice(provider, voice_id)
    matches = [p for p, vs in VOICES.items() if voice_id in vs]
    if len(matches) != 1:
        raise UserError(f"unknown voice {name!r}; use one of {known}")
    return Voice(matches[0], voice_id)
