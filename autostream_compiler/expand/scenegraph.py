"""The scene graph: the fully resolved video, written to the lock file. Nothing downstream reads the spec."""

from __future__ import annotations

from typing import Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, model_validator

from autostream_compiler.spec.style import Captions, Motion, MotionPreset

SCHEMA_VERSION = 1


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)


class FrameFormat(_Strict):
    """Resolved output frame."""

    aspect: Literal["16:9", "9:16", "1:1"]
    """Aspect ratio."""
    width: int = Field(gt=0)
    """Width in pixels."""
    height: int = Field(gt=0)
    """Height in pixels."""
    fps: int = Field(ge=12, le=60)
    """Frames per second."""


class ImageSource(_Strict):
    """Where a scene's picture comes from."""

    provider: Literal["procedural", "file"]
    """`procedural` draws one offline from the prompt and seed; `file` uses `path`."""
    prompt: str
    """The rendered image prompt."""
    seed: int = Field(ge=0)
    """Seed of the generated picture."""
    path: Optional[str] = None
    """Local file, relative to the spec, when provider is `file`."""


class SceneMotion(_Strict):
    """The camera move over this scene's picture."""

    preset: MotionPreset
    """Which move."""
    strength: float = Field(ge=0, le=0.3)
    """How far, as a fraction of the frame."""


class Scene(_Strict):
    """One scene: what is said, shown and how."""

    narration: str = Field(min_length=1)
    """Display text, as the subtitles show it."""
    spoken: list[str]
    """What the narrator says for each displayed word, in order (numbers and symbols written out)."""
    voice: str
    """Voice as provider:id."""
    image: ImageSource
    """The picture."""
    motion: SceneMotion
    """The camera move."""

    @model_validator(mode="after")
    def _spoken_matches(self) -> "Scene":
        from autostream_compiler.expand.spoken import to_words

        count = len(to_words(self.narration))
        if len(self.spoken) != count:
            raise ValueError(
                f"`spoken` has {len(self.spoken)} entries but `narration` has {count} words; "
                "give one entry per word (an empty string for a silent one)"
            )
        return self


class Pacing(_Strict):
    """Resolved pacing."""

    words_per_minute: int = Field(ge=80, le=260)
    """Speaking rate."""
    pause: float = Field(ge=0, le=5)
    """Seconds of silence after each scene."""


class SceneGraph(_Strict):
    """The resolved video."""

    title: str
    """Title of the video."""
    format: FrameFormat
    """Output frame."""
    pacing: Pacing
    """Speaking rate and pauses."""
    palette: list[str] = Field(min_length=3)
    """Colours for procedural pictures."""
    captions: Captions
    """Subtitle look."""
    motion: Motion
    """Style motion settings the scenes were resolved from."""
    scenes: list[Scene] = Field(min_length=1)
    """The scenes in order."""


class Provenance(_Strict):
    """Who expanded the spec into this graph."""

    provider: str
    """Expander: offline, or an LLM provider."""
    model: Optional[str] = None
    """LLM model id, when a model wrote it."""


class LockFile(_Strict):
    """The lock file written beside a spec."""

    schema_: int = Field(alias="schema", ge=1, le=SCHEMA_VERSION)
    """Lock format version."""
    inputs_digest: str
    """sha256 of the expansion inputs: the lock is current while the spec and style still give this digest."""
    expanded_by: Provenance
    """What produced the graph."""
    graph: SceneGraph
    """The resolved scene graph."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, use_attribute_docstrings=True)
