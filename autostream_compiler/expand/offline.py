"""The offline expander: a script or written scenes become drafts, no model needed."""

from __future__ import annotations

import re

from autostream_compiler.expand.graph import Draft
from autostream_compiler.specfile.models import Spec

_NOT_SENTENCE_END = ("Dr.", "Mr.", "Mrs.", "Ms.", "St.", "Mt.", "e.g.", "i.e.", "vs.", "No.", "Jr.", "Sr.")
_SENTENCE_BREAK = re.compile(r"(?<=[.!?…])[\"'”’)]*\s+(?=[\"'“‘(]*[A-Z0-9])")

VERSION = 2


def sentences(text: str) -> list[str]:
    """Split text into sentences, keeping titles and abbreviations inside their sentence."""
    out: list[str] = []
    for piece in _SENTENCE_BREAK.split(" ".join(text.split())):
        if out and out[-1].endswith(_NOT_SENTENCE_END):
            out[-1] += " " + piece
        else:
            out.append(piece)
    return [s for s in out if s]


def shortened(text: str, limit: int) -> str:
    """`text` whole when it fits in `limit` characters, else cut at a word and ended with "…"."""
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


def group_sentences(text: str, max_words: float) -> list[str]:
    """Group a text's sentences into runs of at most about `max_words` words (one sentence may exceed it)."""
    groups: list[str] = []
    current: list[str] = []
    count = 0
    for sentence in sentences(text):
        n = len(sentence.split())
        if current and count + n > max_words:
            groups.append(" ".join(current))
            current, count = [], 0
        current.append(sentence)
        count += n
    if current:
        groups.append(" ".join(current))
    return groups


def split_script(script: str, words_per_minute: int, scene_seconds: float) -> list[str]:
    """Group a script's sentences into scenes of about `scene_seconds` each; blank lines force a break."""
    target = words_per_minute * scene_seconds / 60
    return [
        scene
        for paragraph in re.split(r"\n\s*\n", script.strip())
        for scene in group_sentences(paragraph, target * 1.25)
    ]


def offline_inputs(spec: Spec, words_per_minute: int, scene_seconds: float) -> dict:
    """What the offline expansion reads."""
    if spec.scenes is not None:
        return {"provider": "offline", "version": VERSION, "scenes": [s.model_dump() for s in spec.scenes]}
    return {
        "provider": "offline",
        "version": VERSION,
        "script": spec.script,
        "speakers": sorted(spec.speakers or {}),
        "words_per_minute": words_per_minute,
        "scene_seconds": scene_seconds,
    }


def offline_drafts(spec: Spec, words_per_minute: int, scene_seconds: float) -> list[Draft]:
    """The spec's own scenes, or its script split by speaker turns, sentences and pacing."""
    if spec.scenes is not None:
        return [
            Draft(
                s.narration,
                s.visual or s.narration,
                s.image,
                speaker=s.speaker,
                audio=s.audio,
                video=s.video,
                video_audio=s.video_audio,
                stock=s.stock,
                voice=s.voice,
                motion=s.motion,
                transition=s.transition,
            )
            for s in spec.scenes
        ]
    return [
        Draft(text, text, speaker=speaker)
        for speaker, turn in speaker_turns(spec.script or "", list(spec.speakers or {}))
        for text in split_script(turn, words_per_minute, scene_seconds)
    ]


def speaker_turns(script: str, speakers: list[str]) -> list[tuple[str | None, str]]:
    """A script cut where a line starts with a speaker's name and a colon (`Ada: Hello.`).

    Text before the first tagged line has no speaker. Without speakers the script is one turn.
    """
    if not speakers:
        return [(None, script)]
    names = "|".join(re.escape(n) for n in sorted(speakers, key=len, reverse=True))
    turns: list[tuple[str | None, list[str]]] = [(None, [])]
    for line in script.splitlines():
        tagged = re.match(rf"^\s*({names})\s*:\s*(.*)$", line, flags=re.IGNORECASE)
        if tagged:
            name = next(n for n in speakers if n.lower() == tagged.group(1).lower())
            turns.append((name, [tagged.group(2)]))
        else:
            turns[-1][1].append(line)
    return [(who, "\n".join(lines).strip()) for who, lines in turns if "\n".join(lines).strip()]
