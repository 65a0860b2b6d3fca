"""The scene graph: the fully resolved video, written to the lock file. Nothing downstream reads the spec."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from autostream_compiler.specfile.models import Aligner, ClipSound, FilePath, Images, Music, Stock
from autostream_compiler.specfile.style import Aspect, Captions, HexColor, Motion, MotionPreset, Transition

SCHEMA_VERSION = 3


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True, allow_inf_nan=False)


class FrameFormat(_Strict):
    """Resolved output frame."""

    aspect: Aspect
    """Aspect ratio."""
    width: int = Field(gt=0, le=8192)
    """Width in pixels."""
    height: int = Field(gt=0, le=8192)
    """Height in pixels."""
    fps: int = Field(ge=12, le=60)
    """Frames per second."""


class ImageSource(_Strict):
    """Where a scene's picture comes from."""

    provider: Literal["generated", "file", "page", "clip"]
    """`generated` by the graph's image providers from the prompt and seed; `file` uses `path`; `page`
    shows `page` of the source document `path` with `highlight` marked; `clip` plays the video `path`."""
    prompt: str
    """The rendered image prompt."""
    seed: int = Field(ge=0, lt=2**32)
    """Seed of the generated picture."""
    path: FilePath | None = None
    """Local file, relative to the spec, when provider is `file`; the source as the spec names it for `page`."""
    page: int | None = Field(default=None, ge=1)
    """The 1-based page shown, for `page`."""
    highlight: str | None = None
    """The passage marked on the page, for `page`."""
    figure: bool | None = None
    """For `page`: the page's largest embedded picture instead of the whole page."""
    video_audio: ClipSound | None = None
    """For `clip`: its own sound muted (`mute`, the default) or ducked under the narration (`duck`)."""
    stock: Stock | None = None
    """For `generated`: `video` asks `pexels` for a clip instead of a photo."""


class Citation(_Strict):
    """A passage of a source document that backs a scene."""

    file: str
    """The source as the spec names it."""
    page: int = Field(ge=1)
    """1-based page."""
    text: str
    """The passage."""


def cited_pages(citations) -> dict[str, list[int]]:
    """Each cited file with its pages, in the order first cited."""
    pages: dict[str, list[int]] = {}
    for c in citations:
        found = pages.setdefault(c.file, [])
        if c.page not in found:
            found.append(c.page)
    return pages


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
    """What the narrator says for each displayed word, in order (numbers and symbols written out).
    Delete it after editing `narration` to have it worked out again."""
    visual: str = Field(min_length=1)
    """What the picture shows; the image prompt and seed are made from it."""
    voice: str
    """Voice as provider:id."""
    speaker: str | None = None
    """Who speaks: a name from the graph's `speakers`."""
    audio: FilePath | None = None
    """Recorded narration used instead of the voice (a file relative to the spec)."""
    image: ImageSource
    """The picture."""
    motion: SceneMotion
    """The camera move."""
    transition: Transition = Field(default_factory=Transition)
    """The transition into the next scene (unused after the last)."""
    sources: list[Citation] | None = None
    """The passages of the spec's `sources` this scene is grounded in."""

    @model_validator(mode="after")
    def _spoken_matches(self) -> Scene:
        from autostream_compiler.expand.spoken import to_words

        count = len(to_words(self.narration))
        if len(self.spoken) != count:
            raise ValueError(
                f"`spoken` has {len(self.spoken)} entries but `narration` has {count} words; "
                "delete `spoken` to have it worked out again, or give one entry per word"
            )
        return self


class Pacing(_Strict):
    """Resolved pacing."""

    words_per_minute: int = Field(ge=80, le=260)
    """Speaking rate."""
    pause: float = Field(ge=0, le=5)
    """Seconds of silence after each scene."""
    pitch: int = Field(default=0, ge=-50, le=50)
    """Voice pitch offset in Hz (Edge voices)."""


class SpeakerLook(_Strict):
    """How a speaker's lines look in the subtitles."""

    color: HexColor | None = None
    """Text colour of the speaker's lines (default the captions' colour)."""
    show_name: bool = False
    """Show the name before the speaker's lines."""


class SceneGraph(_Strict):
    """The resolved video."""

    title: str
    """Title of the video."""
    format: FrameFormat
    """Output frame."""
    pacing: Pacing
    """Speaking rate and pauses."""
    palette: list[HexColor] = Field(min_length=3)
    """Colours for procedural pictures."""
    captions: Captions
    """Subtitle look."""
    motion: Motion
    """Style motion settings the scenes were resolved from."""
    images: Images = Field(default_factory=Images)
    """Picture providers (the default chain is chosen at build time from the environment)."""
    align: Aligner = "auto"
    """Word timing source."""
    align_model: FilePath | None = None
    """Local aligner model folder."""
    speakers: dict[str, SpeakerLook] = Field(default_factory=dict)
    """Named speakers' subtitle look."""
    music: Music | None = None
    """Music bed (its path relative to the spec)."""
    loudness: float = Field(default=-14, ge=-36, le=-6)
    """Integrated loudness of the final mix in LUFS."""
    thumbnail: float | None = Field(default=None, ge=0)
    """Seconds into the video for the thumbnail; None for a title card."""
    chip: bool | None = None
    """Draw a citation chip on cited scenes."""
    cards: bool | None = None
    """Typographic cards: each scene's key phrase set large over its offline picture."""
    card: float | None = Field(default=None, gt=0, le=30)
    """Seconds of the closing sources card, when scenes cite sources."""
    scenes: list[Scene] = Field(min_length=1)
    """The scenes in order."""


class Expansion(_Strict):
    """How the scenes were written: the inputs' digest and provenance."""

    digest: str
    """sha256 of what feeds the expansion (content, rendered prompts, provider, model, temperature,
    seed, pacing targets). While the spec still gives it, the scenes are kept and no model is called."""
    provider: str
    """Who wrote the scenes: `offline` (split from the spec's script or scenes), `groq`, `openai`,
    or `answer-file` (an answer given with `autostream expand --answer`)."""
    model: str | None = None
    """Model id, when a model wrote them."""
    time: str | None = None
    """When a model wrote them (UTC, ISO 8601)."""
    source: str | None = None
    """The answer file, for `answer-file`."""
    title: str | None = None
    """The title the model proposed (used when the spec gives none)."""
    messages: list[dict[str, str]] | None = None
    """The messages the model was asked with (role and content)."""
    embedder: str | None = None
    """The embedder that indexed and searched the spec's `sources` (name, version, size)."""
    documents: dict[str, str] | None = None
    """The spec's sources as they were read (file as the spec names it -> sha256 of its bytes)."""


class LockFile(_Strict):
    """The lock file written beside a spec."""

    schema_: int = Field(alias="schema", ge=1, le=SCHEMA_VERSION)
    """Lock format version."""
    inputs_digest: str
    """sha256 of all the graph's inputs (spec and style): the lock is current while they still give it."""
    expansion: Expansion
    """How the scenes were written."""
    graph: SceneGraph
    """The resolved scene graph."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, use_attribute_docstrings=True)
