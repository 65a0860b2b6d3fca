"""The spec, version 1: what a user writes in a YAML file."""

from __future__ import annotations

from typing import Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, model_validator

Aspect = Literal["16:9", "9:16", "1:1"]
Resolution = Literal["720p", "1080p"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)


class Format(_Strict):
    """Frame shape and rate of the output video. Unset fields take the style's defaults."""

    aspect: Optional[Aspect] = None
    """Aspect ratio: "16:9" (landscape), "9:16" (vertical shorts) or "1:1" (square)."""
    resolution: Optional[Resolution] = None
    """Size of the short side: 720p or 1080p."""
    fps: Optional[int] = Field(default=None, ge=12, le=60)
    """Frames per second, 12 to 60."""


class Pacing(_Strict):
    """How fast the narration is spoken and how long the breath between scenes is."""

    words_per_minute: Optional[int] = Field(default=None, ge=80, le=260)
    """Speaking rate, 80 to 260 words per minute."""
    pause: Optional[float] = Field(default=None, ge=0, le=5)
    """Seconds of silence after each scene, 0 to 5."""


class SceneSpec(_Strict):
    """One scene written out by the user."""

    narration: str = Field(min_length=1)
    """What the narrator says in this scene, as it should appear in the subtitles."""
    visual: Optional[str] = None
    """Image prompt for this scene's picture; defaults to the narration."""
    image: Optional[str] = None
    """A local image file used instead of a generated one; relative to the spec, inside its folder."""


class Spec(_Strict):
    """An autostream video spec."""

    version: Literal[1]
    """Spec format version; this autostream reads version 1."""
    title: str = Field(min_length=1)
    """Title of the video."""
    style: str = "documentary"
    """A built-in style name (see `autostream styles`) or a path to a style YAML file."""
    voice: Optional[str] = None
    """Narrator voice, e.g. "piper:en_US-joe-medium" or just "en_US-joe-medium"; default from the style."""
    output: Optional[str] = None
    """Output MP4 path relative to the spec; default out/<spec stem>.mp4."""
    seed: int = 0
    """Seed mixed into every scene's image seed; change it to get different pictures."""
    format: Format = Field(default_factory=Format)
    """Aspect, resolution and frame rate."""
    pacing: Pacing = Field(default_factory=Pacing)
    """Speaking rate and pauses."""
    script: Optional[str] = None
    """Free narration text, split into scenes by sentences and pacing. Give this or `scenes`."""
    scenes: Optional[list[SceneSpec]] = Field(default=None, min_length=1)
    """The scenes written out one by one. Give this or `script`."""

    @model_validator(mode="after")
    def _one_content(self) -> "Spec":
        if (self.script is None) == (self.scenes is None):
            raise ValueError("give exactly one of `script` or `scenes`")
        if self.script is not None and not self.script.strip():
            raise ValueError("`script` is empty; write the narration text")
        return self
