"""Styles: data files that give a video its look, voice and pacing defaults."""

from __future__ import annotations

import hashlib
import sys
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from jinja2 import StrictUndefined, TemplateError
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from autostream_compiler.errors import SpecError, UserError
from autostream_compiler.providers.voices import resolve_voice
from autostream_compiler.render.captions import fonts
from autostream_compiler.specfile.yamlfile import problem, read_yaml, shorten, validate

Aspect = Literal["16:9", "9:16", "1:1", "4:5"]
Resolution = Literal["720p", "1080p", "1440p", "2160p"]
MotionPreset = Literal["zoom_in", "zoom_out", "pan_left", "pan_right", "pan_up", "pan_down", "none"]
TransitionKind = Literal[
    "cut",
    "crossfade",
    "fade_black",
    "slide_left",
    "slide_right",
    "slide_up",
    "slide_down",
    "wipe_left",
    "wipe_right",
    "wipe_up",
    "wipe_down",
]
CaptionStyle = Literal["karaoke", "pop", "line", "none"]
CaptionPosition = Literal["bottom", "middle", "top"]
HEX_PATTERN = r"^#[0-9A-Fa-f]{6}$"  # a colour as #RRGGBB
HexColor = Annotated[str, Field(pattern=HEX_PATTERN)]
TEMPLATE_LENGTH = 20_000  # characters of one prompt template


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True, allow_inf_nan=False)


class StyleFormat(_Strict):
    """Default frame shape and rate."""

    aspect: Aspect = "16:9"
    """Default aspect ratio."""
    resolution: Resolution = "1080p"
    """Default resolution."""
    fps: int = Field(default=30, ge=24, le=60)
    """Default frames per second."""


class StylePacing(_Strict):
    """Default pacing."""

    words_per_minute: int = Field(default=150, ge=80, le=260)
    """Default speaking rate."""
    pause: float = Field(default=0.6, ge=0, le=5)
    """Default seconds of silence after each scene."""
    scene_seconds: float = Field(default=10, ge=3, le=60)
    """Target length of a scene, for splitting a script and for asking a model."""
    max_scene_seconds: float = Field(default=16, ge=3, le=120)
    """Longest a model-written scene may run before it is split."""
    target_duration: float = Field(default=60, ge=5, le=1800)
    """Default video length in seconds that a model writes for."""


DEFAULT_SYSTEM_PROMPT = (
    "You write narration for short narrated videos made of still pictures with a slow camera move. "
    "Write for the ear: short, concrete sentences, one idea per scene, no lists, no stage directions."
)
DEFAULT_USER_PROMPT = (
    "Write a video about: {{ topic }}.\n"
    '{% if title %}Its title is "{{ title }}".\n{% endif %}'
    "Length: about {{ target_words }} words of narration in total, in about {{ scene_count }} scenes of "
    "about {{ scene_words }} words each (spoken at {{ words_per_minute }} words per minute, "
    "{{ target_duration }} seconds in all)."
)


class Prompts(_Strict):
    """Jinja2 templates of the messages a language model gets for a `topic`.

    Variables: topic, title (may be empty), target_duration, target_words, scene_count, scene_words,
    scene_seconds, words_per_minute. autostream appends the JSON answer format to the system prompt.
    """

    system: str = Field(default=DEFAULT_SYSTEM_PROMPT, max_length=TEMPLATE_LENGTH)
    """The system message: voice, tone and audience."""
    user: str = Field(default=DEFAULT_USER_PROMPT, max_length=TEMPLATE_LENGTH)
    """The user message: what to write and how long."""


class Motion(_Strict):
    """Ken Burns camera moves over each scene's picture."""

    presets: list[MotionPreset] = Field(default_factory=lambda: ["zoom_in", "zoom_out"], min_length=1, max_length=64)
    """Moves to vary between across scenes (picked per scene from its content)."""
    strength: float = Field(default=0.08, ge=0, le=0.3)
    """How far the camera zooms or pans, as a fraction of the frame."""


class Transition(_Strict):
    """How one scene gives way to the next."""

    kind: TransitionKind = "cut"
    """cut, crossfade, fade_black, slide_left/right/up/down or wipe_left/right/up/down."""
    duration: float = Field(default=0.5, ge=0, le=3)
    """Seconds the two scenes overlap (ignored for a cut)."""


class Captions(_Strict):
    """Burned-in subtitle look."""

    style: CaptionStyle = "karaoke"
    """`karaoke` (lines with the spoken word highlighted), `pop` (a few large words at a time), `line`
    (classic subtitles, a sentence at a time) or `none`."""
    position: CaptionPosition = "bottom"
    """Where the text block sits: bottom, middle or top (inside the platform's safe area)."""
    words_per_line: int | None = Field(default=None, ge=1, le=20)
    """Most words on one line (pop: default 3); lines also break to fit the frame."""
    box: bool = False
    """A translucent box behind the text instead of an outline only."""
    box_color: str = Field(default="#000000", pattern=HEX_PATTERN)
    """Colour of the box (drawn at 60% opacity)."""
    shadow: float = Field(default=0.6, ge=0, le=3)
    """Drop shadow distance, as a multiple of the outline width."""
    font: str = Field(default="Inter-Bold.otf", max_length=200)
    """Font file shipped with autostream (autostream_compiler/fonts)."""
    size: float = Field(default=0.055, gt=0.01, le=0.2)
    """Font size as a fraction of the frame height."""
    color: HexColor = Field(default="#FFFFFF", pattern=HEX_PATTERN)
    """Text colour."""
    highlight: HexColor = Field(default="#FFD166", pattern=HEX_PATTERN)
    """Colour of the word being spoken."""
    outline: HexColor = Field(default="#000000", pattern=HEX_PATTERN)
    """Outline and shadow colour."""
    outline_width: float = Field(default=0.0035, ge=0, le=0.02)
    """Outline thickness as a fraction of the frame height."""
    bottom: float = Field(default=0.08, ge=0, le=0.5)
    """Bottom margin of bottom-placed captions, as a fraction of the frame height (at least the
    platform's safe area; top captions keep the platform's top margin)."""
    max_lines: int = Field(default=2, ge=1, le=3)
    """Most lines shown at once."""


class Style(_Strict):
    """A style: look, voice and pacing defaults, and the prompt templates."""

    name: str = Field(max_length=200)
    """Style name."""
    description: str = Field(default="", max_length=2000)
    """One line on what the style is for."""
    format: StyleFormat = Field(default_factory=StyleFormat)
    """Default format."""
    voice: str = Field(default="piper:en_US-joe-medium", max_length=200)
    """Default narrator voice."""
    pacing: StylePacing = Field(default_factory=StylePacing)
    """Default pacing."""
    palette: list[HexColor] = Field(min_length=3, max_length=64)
    """Colours of the procedural pictures, darkest first."""
    cards: bool = False
    """Typographic cards: each scene's key phrase set large over its offline picture."""
    stock: Literal["photo", "video"] = "photo"
    """What the `pexels` image provider fetches: photos, or video clips (motion footage)."""
    image_prompt: str = Field(default="{{ visual }}", max_length=TEMPLATE_LENGTH)
    """Jinja2 template of a scene's image prompt; variables: visual, narration, title."""
    prompts: Prompts = Field(default_factory=Prompts)
    """Message templates for a language model writing from a `topic`."""
    motion: Motion = Field(default_factory=Motion)
    """Camera moves."""
    captions: Captions = Field(default_factory=Captions)
    """Subtitle look."""
    transition: Transition = Field(default_factory=Transition)
    """Default transition between scenes."""
    loudness: float = Field(default=-14, ge=-36, le=-6)
    """Integrated loudness of the final mix, in LUFS."""
    _path: Path = PrivateAttr(default=Path("style"))

    def templates(self) -> dict[str, str]:
        """This style's templates by name: "image_prompt", "prompts.system", "prompts.user"."""
        return {
            "image_prompt": self.image_prompt,
            "prompts.system": self.prompts.system,
            "prompts.user": self.prompts.user,
        }

    def render(self, template: str, **variables: object) -> str:
        """Render one of this style's templates (a name from `templates()`)."""
        return render_template(self.templates()[template], f"{self._path}: {template}", **variables)


def builtin_styles_dir() -> Path:
    """Folder of the built-in styles (package data when installed, templates/styles in a checkout)."""
    here = Path(__file__).resolve().parent.parent
    packaged = here / "templates" / "styles"
    return packaged if packaged.is_dir() else here.parent / "templates" / "styles"


def builtin_style_names() -> list[str]:
    """Names of the built-in styles."""
    return sorted(p.stem for p in builtin_styles_dir().glob("*.yaml"))


def style_path(ref: str, spec_dir: Path) -> Path:
    """Resolve a spec's `style` value to a file: a built-in name or a path relative to the spec."""
    if ref.endswith((".yaml", ".yml")) or "/" in ref:
        return spec_dir / ref
    path = builtin_styles_dir() / f"{ref}.yaml"
    if not path.is_file():
        names = ", ".join(builtin_style_names())
        raise UserError(f"unknown style {shorten(ref)!r}; use one of {names} or a path to a .yaml style file")
    return path


def font_problem(name: str) -> str:
    """The message for a caption font autostream does not ship."""
    return f"font {shorten(name)!r} is not shipped with autostream; use one of {', '.join(fonts())}"


def load_style(path: Path) -> tuple[Style, str]:
    """Load and validate a style file; return it with the sha256 of its bytes."""
    data, positions = read_yaml(path)
    style = validate(Style, data, positions, path)
    problems = []
    for where, source in style.templates().items():
        try:
            _compiled(source)
        except TemplateError as exc:
            message = f"invalid template ({_one_line(exc)}); fix the Jinja2 syntax"
            problems.append(problem(path, positions, tuple(where.split(".")), message))
    if style.captions.font not in fonts():
        problems.append(problem(path, positions, ("captions", "font"), font_problem(style.captions.font)))
    try:
        resolve_voice(style.voice)
    except UserError as exc:
        problems.append(problem(path, positions, ("voice",), str(exc)))
    if problems:
        raise SpecError(problems)
    style._path = path
    return style, hashlib.sha256(path.read_bytes()).hexdigest()


MAX_OUTPUT = 100_000  # characters a template may produce (a prompt is a few hundred)
MAX_STEPS = 200_000  # lines of template code one rendering may run (a loop over 1000 scenes is ~5000)


class _Sandbox(SandboxedEnvironment):
    """Jinja's sandbox (no unsafe attributes), and no huge powers or repetitions either."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context, operator: str, left, right):
        if operator == "**" and isinstance(right, (int, float)) and abs(right) > 64:
            raise SecurityError(f"power {right} is too large (at most 64)")
        if operator == "*":
            seq, times = (left, right) if isinstance(left, (str, list, tuple)) else (right, left)
            if isinstance(seq, (str, list, tuple)) and isinstance(times, int) and len(seq) * times > MAX_OUTPUT:
                raise SecurityError(f"repeating {len(seq)} items {times} times is too large")
        return super().call_binop(context, operator, left, right)


_ENV = _Sandbox(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)


@lru_cache(maxsize=64)
def _compiled(source: str):
    """A template compiled once per process (a style's image prompt renders once per scene)."""
    return _ENV.from_string(source)


def render_template(source: str, where: str, **variables: object) -> str:
    """Render a template in a sandbox; an unknown variable is an error that names `where`."""
    try:
        return _bounded(_compiled(source), variables).strip()
    except Exception as exc:  # TemplateError, SecurityError, or an error inside an expression (1/0)
        names = ", ".join(sorted(variables))
        raise UserError(f"{where}: template failed ({_one_line(exc)}); use only the variables {names}") from None


def _bounded(template, variables: dict) -> str:
    """Render, stopping a template that runs more than MAX_STEPS lines or writes more than MAX_OUTPUT
    characters (a style file may come from anyone: the studio takes them)."""
    steps = 0

    def count(frame, event, arg):
        nonlocal steps
        if event == "line":
            steps += 1
            if steps > MAX_STEPS:
                raise SecurityError(f"it runs more than {MAX_STEPS:,} steps")
        return count

    def trace(frame, event, arg):  # only the template's own code is counted
        return count if frame.f_code.co_filename == "<template>" else None

    pieces, size = [], 0
    previous = sys.gettrace()
    sys.settrace(trace)
    try:
        for piece in template.generate(**variables):
            size += len(piece)
            if size > MAX_OUTPUT:
                raise SecurityError(f"it writes more than {MAX_OUTPUT:,} characters")
            pieces.append(piece)
    finally:
        sys.settrace(previous)
    return "".join(pieces)


def _one_line(exc: Exception) -> str:
    """An exception's message on one short line."""
    return shorten(" ".join(str(exc).split()) or type(exc).__name__, 200)
