"""The spec, version 1: what a user writes in a YAML file."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from autostream_compiler.specfile.style import (  # the literal types styles and specs share
    HEX_PATTERN,
    Aspect,
    CaptionPosition,
    CaptionStyle,
    MotionPreset,
    Resolution,
    TransitionKind,
)

NAME_LENGTH = 200  # a title, voice, model id, font or speaker name
PATH_LENGTH = 1024  # a path a user writes (file systems allow 255 bytes per name)
TEXT_LENGTH = 20_000  # a topic, or one scene's picture description
NARRATION_LENGTH = 100_000  # the narration of one spec, script or scenes together (about 2 hours spoken)


def _usable_path(value: str) -> str:
    """A path as a user wrote it, refused before it reaches the file system when no file system takes it."""
    if "\x00" in value:
        raise ValueError("a path cannot contain a NUL character; fix the path")
    if len(value) > PATH_LENGTH:
        raise ValueError(f"a path of {len(value):,} characters is too long; use at most {PATH_LENGTH}")
    if any(len(part.encode("utf-8", "surrogatepass")) > 255 for part in value.replace("\\", "/").split("/")):
        raise ValueError("a file or folder name in this path is longer than 255 bytes; shorten it")
    return value


FilePath = Annotated[str, AfterValidator(_usable_path)]
"""A path relative to the spec (or a style name), checked for what no file system accepts."""
Name = Annotated[str, Field(max_length=NAME_LENGTH)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True, allow_inf_nan=False)


class Format(_Strict):
    """Frame shape and rate of the output video. Unset fields take the style's defaults."""

    aspect: Aspect | None = None
    """Aspect ratio: "16:9" (landscape), "9:16" (vertical shorts), "1:1" (square) or "4:5" (portrait feed)."""
    resolution: Resolution | None = None
    """Size of the short side: 720p, 1080p, 1440p or 2160p."""
    fps: int | None = Field(default=None, ge=24, le=60)
    """Frames per second, 24 to 60."""


class Pacing(_Strict):
    """How fast the narration is spoken and how long the breath between scenes is."""

    words_per_minute: int | None = Field(default=None, ge=80, le=260)
    """Speaking rate, 80 to 260 words per minute."""
    pause: float | None = Field(default=None, ge=0, le=5)
    """Seconds of silence after each scene, 0 to 5."""
    pitch: int | None = Field(default=None, ge=-50, le=50)
    """Voice pitch offset in Hz, -50 to 50 (Edge voices)."""
    target_duration: float | None = Field(default=None, ge=5, le=1800)
    """Length of the video in seconds that the model is asked to write for (with `topic`)."""
    max_scene_seconds: float | None = Field(default=None, ge=3, le=120)
    """Longest a model-written scene may run; longer ones are split at sentence ends."""


LlmProvider = Literal["groq", "openai", "offline"]


class Llm(_Strict):
    """The language model that turns a `topic` into scenes."""

    provider: LlmProvider = "groq"
    """`groq` (needs GROQ_API_KEY), `openai` (OpenAI or any compatible server: Ollama, vLLM, llama.cpp,
    LM Studio; set `base_url`) or `offline` (no model: needs a `script` or `scenes`)."""
    model: str | None = Field(default=None, min_length=1, max_length=NAME_LENGTH)
    """Model id; default llama-3.3-70b-versatile on groq, gpt-4o-mini on openai."""
    temperature: float = Field(default=0.7, ge=0, le=2)
    """Sampling temperature, 0 to 2."""
    base_url: str | None = Field(default=None, pattern=r"^https?://", max_length=PATH_LENGTH)
    """API endpoint, e.g. http://127.0.0.1:11434/v1 for Ollama; default $GROQ_BASE_URL / $OPENAI_BASE_URL."""
    timeout: float = Field(default=60, gt=0, le=600)
    """Seconds to wait for one answer."""
    max_retries: int = Field(default=2, ge=0, le=10)
    """Retries with backoff on rate limits (429), server errors (5xx), timeouts and lost connections."""
    repairs: int = Field(default=2, ge=0, le=5)
    """How many times an invalid answer is sent back to the model with the validation errors."""


ImageProvider = Literal["hf", "pollinations", "pexels", "procedural"]
Stock = Literal["photo", "video"]
ClipSound = Literal["mute", "duck"]
Aligner = Literal["auto", "native", "whisper", "whisperx"]


class Images(_Strict):
    """Where generated pictures come from."""

    providers: list[ImageProvider] | None = Field(default=None, min_length=1)
    """Fallback chain tried in order: `hf` (Hugging Face Inference, HF_TOKEN), `pollinations`, `pexels`
    (stock photos and clips, PEXELS_API_KEY), `procedural` (offline scene families chosen by meaning).
    Default: [hf, pollinations, procedural] when HF_TOKEN is set, else [procedural]."""
    stock: Stock | None = None
    """What `pexels` fetches: `photo` or `video` (motion footage, muted); default the style's, else photo."""
    cards: bool | None = None
    """Typographic cards: each scene's key phrase set large over its offline picture; default the style's."""
    model: str | None = Field(default=None, min_length=1, max_length=NAME_LENGTH)
    """Hugging Face text-to-image model id; default sd-community/sdxl-flash."""
    timeout: float = Field(default=60, gt=0, le=600)
    """Seconds to wait for one picture."""
    retries: int = Field(default=2, ge=0, le=10)
    """Retries with backoff per provider on rate limits, server errors, timeouts and bad images."""


class Speaker(_Strict):
    """A voice in a multi-speaker video."""

    voice: Name
    """The speaker's voice, e.g. "edge:en-GB-SoniaNeural", "piper:en_US-joe-medium", "espeak:en-us"."""
    color: str | None = Field(default=None, pattern=HEX_PATTERN)
    """Subtitle colour of this speaker's lines; default the style's."""
    show_name: bool = False
    """Show the speaker's name before their lines in the subtitles."""


class MotionSpec(_Strict):
    """The camera move over a scene's picture."""

    preset: MotionPreset | None = None
    """zoom_in, zoom_out, pan_left, pan_right, pan_up, pan_down or none; default: the style's, varied by scene."""
    strength: float | None = Field(default=None, ge=0, le=0.3)
    """How far the camera moves, as a fraction of the frame (0 to 0.3)."""


class TransitionSpec(_Strict):
    """How a scene gives way to the next."""

    kind: TransitionKind | None = None
    """cut, crossfade, fade_black, slide_left/right/up/down or wipe_left/right/up/down."""
    duration: float | None = Field(default=None, ge=0, le=3)
    """Seconds of overlap, 0 to 3."""


class CaptionsSpec(_Strict):
    """Subtitle look; unset fields take the style's."""

    style: CaptionStyle | None = None
    """karaoke (default), pop, line or none."""
    font: Name | None = None
    """A font shipped with autostream (see `autostream fonts`)."""
    position: CaptionPosition | None = None
    """bottom, middle or top."""
    size: float | None = Field(default=None, gt=0.01, le=0.2)
    """Text height as a fraction of the frame height."""
    color: str | None = Field(default=None, pattern=HEX_PATTERN)
    """Text colour."""
    highlight: str | None = Field(default=None, pattern=HEX_PATTERN)
    """Colour of the spoken word (karaoke, pop)."""
    words_per_line: int | None = Field(default=None, ge=1, le=20)
    """Most words on one line."""
    box: bool | None = None
    """A translucent box behind the text."""


class Music(_Strict):
    """A music bed under the narration."""

    path: FilePath
    """Audio file relative to the spec (inside its folder); looped or trimmed to the video."""
    volume: float = Field(default=0.25, ge=0, le=1)
    """Music level before ducking, as a linear gain (0 to 1)."""
    duck: float = Field(default=12, ge=0, le=40)
    """How many dB the music dips under the narration (0: no ducking)."""
    fade_in: float = Field(default=1.0, ge=0, le=30)
    """Seconds of fade-in at the start."""
    fade_out: float = Field(default=2.0, ge=0, le=30)
    """Seconds of fade-out at the end."""


PAGES_PATTERN = r"^\s*[1-9][0-9]*(\s*-\s*[1-9][0-9]*)?(\s*,\s*[1-9][0-9]*(\s*-\s*[1-9][0-9]*)?)*\s*$"


class SourceSpec(_Strict):
    """A document the video is grounded in, with the pages to read."""

    path: FilePath
    """The document (PDF, Markdown, HTML or text) relative to the spec, or an http(s) URL."""
    pages: str | None = Field(default=None, pattern=PAGES_PATTERN)
    """Pages to read, 1-based and inclusive: "3-12", "5" or "1-3, 7" (default: all)."""


class Retrieval(_Strict):
    """How passages of the `sources` are found for the scenes."""

    top_k: int = Field(default=8, ge=1, le=50)
    """Passages given to the model (or cited per scene) for each query."""
    embedder: Name = "wordllama"
    """`wordllama` (offline, inside its wheel), a local model folder relative to the spec
    (sentence-transformers or fastembed), or `openai:MODEL` (an OpenAI-compatible /v1/embeddings)."""
    base_url: str | None = Field(default=None, pattern=r"^https?://", max_length=PATH_LENGTH)
    """The embeddings server of `openai:MODEL` (default: $OPENAI_BASE_URL, else OpenAI)."""
    show_pages: bool = False
    """Show each cited scene's page (the passage highlighted) instead of a generated picture."""
    chip: bool = False
    """Draw a citation chip ("report.pdf, p. 12") on cited scenes."""
    card: float = Field(default=4, ge=0, le=30)
    """Seconds of the closing sources card (the cited files and pages) after the last scene; 0: none."""


class PageImage(_Strict):
    """A page of a source document as a scene's picture."""

    page: Annotated[int, Field(ge=1)] | Literal["auto"]
    """The 1-based page, or `auto`: the page of the passage the scene cites."""
    file: FilePath | None = None
    """Which source (as written in `sources`; default: the cited one, else the first)."""
    figure: bool = False
    """Show the largest picture embedded in that page instead of the whole page."""


class SceneSpec(_Strict):
    """One scene written out by the user."""

    narration: str = Field(min_length=1, max_length=NARRATION_LENGTH)
    """What the narrator says in this scene, as it should appear in the subtitles."""
    visual: str | None = Field(default=None, max_length=TEXT_LENGTH)
    """Image prompt for this scene's picture; defaults to the narration."""
    image: FilePath | PageImage | None = None
    """A local image file used instead of a generated one (relative to the spec, inside its folder),
    or a page of a source document: {page: auto} (the cited page) or {page: 12, file: report.pdf}."""
    video: FilePath | None = None
    """A video clip shown instead of a picture (relative to the spec, inside its folder): scaled and
    cropped to the frame, trimmed or looped to the scene's length (slowed a little when slightly short)."""
    video_audio: ClipSound | None = None
    """The clip's own sound: `mute` (default) or `duck` (kept under the narration, lowered while it speaks)."""
    stock: Stock | None = None
    """What `pexels` fetches for this scene: a `photo` or a `video` clip (default: `images.stock`)."""
    audio: FilePath | None = None
    """A recorded narration of this scene (WAV, MP3, FLAC...) used instead of TTS and aligned to the
    narration text; relative to the spec, inside its folder."""
    speaker: Name | None = None
    """Who speaks this scene: a name from `speakers`."""
    voice: Name | None = None
    """This scene's voice, overriding the speaker's and the spec's."""
    motion: MotionSpec | None = None
    """This scene's camera move."""
    transition: TransitionSpec | None = None
    """The transition after this scene (into the next)."""

    @model_validator(mode="after")
    def _has_words(self) -> SceneSpec:
        if not self.narration.split():
            raise ValueError("`narration` has only spaces; write what the narrator says")
        if self.visual is not None and not self.visual.split():
            raise ValueError("`visual` has only spaces; write what the picture shows or remove `visual`")
        if self.video is not None and self.image is not None:
            raise ValueError("give `image` or `video`, not both; remove one")
        if self.video_audio is not None and self.video is None:
            raise ValueError("`video_audio` is for a scene's own clip; add `video: clips/your.mp4` or remove it")
        return self


class Spec(_Strict):
    """An autostream video spec."""

    version: Literal[1]
    """Spec format version; this autostream reads version 1."""
    title: str | None = Field(default=None, min_length=1, max_length=NAME_LENGTH)
    """Title of the video; with a `topic` the model may propose one, else the spec's file name is used."""
    style: FilePath = "documentary"
    """A built-in style name (see `autostream styles`) or a path to a style YAML file."""
    voice: Name | None = None
    """Narrator voice as provider:id — "piper:en_US-joe-medium" (offline), "edge:en-GB-SoniaNeural"
    (online), "espeak:en-us" (offline, many languages) — or a bare id that only one provider has;
    default from the style. `autostream voices` lists them."""
    speakers: dict[Name, Speaker] | None = None
    """Named voices for dialogue: scenes say `speaker: name`, script lines start with `Name:`."""
    align: Aligner = "auto"
    """Word timings: `native` (the TTS's own), `whisper` (faster-whisper, offline), `whisperx` (forced
    alignment, optional extra), or `auto` (native when the TTS gives timings, else whisper)."""
    align_model: FilePath | None = None
    """Local model folder for the aligner (a CTranslate2 Whisper model, or whisperx's model_dir);
    relative to the spec. Default: the packaged Whisper tiny.en."""
    images: Images = Field(default_factory=Images)
    """Picture providers and their fallback chain."""
    captions: CaptionsSpec = Field(default_factory=CaptionsSpec)
    """Subtitle style, font, position and colours."""
    motion: MotionSpec = Field(default_factory=MotionSpec)
    """Camera move for every scene (default: the style's, varied across scenes)."""
    transition: TransitionSpec = Field(default_factory=TransitionSpec)
    """Transition between scenes (default: the style's)."""
    music: Music | None = None
    """A music bed, ducked under the narration."""
    loudness: float | None = Field(default=None, ge=-36, le=-6)
    """Integrated loudness of the final mix in LUFS (default -14, true peak at most -1 dBTP)."""
    encoder: Literal["auto", "libx264"] = "auto"
    """H.264 encoder: `auto` uses a working hardware encoder when ffmpeg has one, else libx264."""
    thumbnail: float | None = Field(default=None, ge=0)
    """Seconds into the video for the thumbnail frame; unset: a title card in the style's look."""
    output: FilePath | None = None
    """Output MP4 path relative to the spec; default out/<spec stem>.mp4."""
    seed: int = Field(default=0, ge=-(2**63), lt=2**63)
    """Seed mixed into every scene's image seed; change it to get different pictures."""
    format: Format = Field(default_factory=Format)
    """Aspect, resolution and frame rate."""
    pacing: Pacing = Field(default_factory=Pacing)
    """Speaking rate and pauses."""
    topic: str | None = Field(default=None, max_length=TEXT_LENGTH)
    """What the video is about, for a language model to write the scenes (see `llm`).
    Give one of `topic`, `script` or `scenes`."""
    llm: Llm = Field(default_factory=Llm)
    """The model that writes scenes from a `topic`."""
    sources: list[FilePath | SourceSpec] | None = Field(default=None, min_length=1, max_length=200)
    """Documents the video is grounded in: paths (or {path, pages}); each scene cites passages of them."""
    retrieval: Retrieval = Field(default_factory=Retrieval)
    """How passages of the sources are found."""
    script: str | None = Field(default=None, max_length=NARRATION_LENGTH)
    """Free narration text, split into scenes by sentences and pacing. Give one of `topic`, `script` or `scenes`."""
    scenes: list[SceneSpec] | None = Field(default=None, min_length=1, max_length=1000)
    """The scenes written out one by one. Give one of `topic`, `script` or `scenes`."""

    @model_validator(mode="after")
    def _one_content(self) -> Spec:
        given = [k for k in ("topic", "script", "scenes") if getattr(self, k) is not None]
        if len(given) != 1:
            which = " and ".join(f"`{k}`" for k in given) if given else "none"
            raise ValueError(f"give exactly one of `topic`, `script` or `scenes` (found {which})")
        for key in ("topic", "script"):
            value = getattr(self, key)
            if value is not None and not value.strip():
                raise ValueError(f"`{key}` is empty; write the {'subject' if key == 'topic' else 'narration'} text")
        return self
