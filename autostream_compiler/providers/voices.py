"""Voice names: `provider:voice_id`, or a bare id that only one provider offers."""

from __future__ import annotations

from typing import NamedTuple

from autostream_compiler.errors import UserError

PROVIDERS = ("piper", "edge", "espeak")
PIPER_VOICES = ("en_US-joe-medium",)  # shipped by PyPI packages, offline


class Voice(NamedTuple):
    """A resolved voice: which TTS provider speaks it and its id there."""

    provider: str
    id: str


def voices(provider: str) -> tuple[str, ...]:
    """The voices a provider offers here (for edge: common ones; any Edge neural voice name works)."""
    if provider == "piper":
        return PIPER_VOICES
    if provider == "edge":
        from autostream_compiler.providers import edge_tts

        return edge_tts.known_voices()
    from autostream_compiler.providers import espeak_tts

    return espeak_tts.voices()


def _has(provider: str, voice_id: str) -> bool:
    if provider == "edge":
        from autostream_compiler.providers import edge_tts

        return edge_tts.valid_voice(voice_id)
    return voice_id in voices(provider)


def resolve_voice(name: str) -> Voice:
    """Turn a voice name from a spec or style into a Voice, or raise a UserError saying the choices."""
    provider, _, voice_id = name.rpartition(":")
    hint = "see `autostream voices`"
    if provider:
        if provider not in PROVIDERS:
            raise UserError(f"unknown TTS provider {provider!r} in voice {name!r}; use {', '.join(PROVIDERS)} ({hint})")
        if not _has(provider, voice_id):
            raise UserError(f"{provider} has no voice {voice_id!r}; {hint}")
        return Voice(provider, voice_id)
    matches = [p for p in PROVIDERS if _has(p, voice_id)]
    if len(matches) != 1:
        which = f"offered by {' and '.join(matches)}; write provider:{voice_id}" if matches else hint
        raise UserError(f"unknown voice {name!r}; {which}" if not matches else f"voice {name!r} is {which}")
    return Voice(matches[0], voice_id)


def speak(name: str, text: str, words_per_minute: int = 150):
    """Say `text` with a voice (a sample to listen to); returns the Speech."""
    voice = resolve_voice(name)
    words = text.split()
    if voice.provider == "piper":
        from autostream_compiler.providers import piper_tts

        return piper_tts.synthesize(words, voice.id, piper_tts.length_scale(voice.id, words_per_minute))
    if voice.provider == "edge":
        from autostream_compiler.providers import edge_tts

        return edge_tts.synthesize(words, voice.id, words_per_minute)
    from autostream_compiler.providers import espeak_tts

    return espeak_tts.synthesize(words, voice.id, words_per_minute)
