"""The studio's workspace: one folder per job holding `<slug>.yaml`, `<slug>.lock.yaml` and `out/`,
the user's pictures and music beside them, and the shared build cache. Every name that comes from a
user (a job name, an uploaded file's name) is sanitised, and every path a spec names must stay
inside the workspace, so the studio never writes or reads outside it and its cache."""

from __future__ import annotations

import json
import re
import shutil
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from autostream_compiler import children
from autostream_compiler.atomic import copy_file, write_text
from autostream_compiler.errors import SpecError, UserError
from autostream_compiler.specfile import Spec
from autostream_compiler.specfile.loader import load_spec, named_files
from autostream_compiler.specfile.style import builtin_style_names, style_path

SLUG_LENGTH = 60
PICTURE_BYTES = 25 * 2**20  # an uploaded picture
AUDIO_BYTES = 100 * 2**20  # an uploaded music bed
PICTURE_TYPES = (".jpg", ".jpeg", ".png", ".webp")
AUDIO_TYPES = (".mp3", ".wav", ".flac", ".ogg", ".m4a", ".aac", ".opus")
DOCUMENT_BYTES = 100 * 2**20  # an uploaded document
DOCUMENT_TYPES = (".pdf", ".md", ".markdown", ".html", ".htm", ".txt")
STATE = "studio.json"  # in a job's out/: how its last build ended


def slugify(name: str) -> str:
    """A job's folder and file name: lower-case ASCII letters, digits and dashes ("untitled" when none)."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:SLUG_LENGTH].strip("-")
    return slug or "untitled"


RESERVED = {"styles"}  # workspace folders that are not jobs


def job_slug(name: str | None, text: str = "") -> str:
    """A job's name: the one given, else the spec's title, as a slug that is not a reserved folder."""
    slug = slugify(name or title_of(text) or "untitled")
    return f"{slug}-job" if slug in RESERVED else slug


def safe_filename(name: str, allowed: tuple[str, ...]) -> str:
    """An uploaded file's name, kept to letters, digits, `-`, `_` and one known extension."""
    base = Path(name.replace("\\", "/")).name
    stem, suffix = Path(base).stem, Path(base).suffix.lower()
    if suffix not in allowed:
        raise UserError(f"{shown_name(base)}: not a {' / '.join(allowed)} file; upload one of those types")
    return f"{slugify(stem)}{suffix}"


def shown_name(name: str, limit: int = 60) -> str:
    """A user's file name as quoted in a message: printable and not too long."""
    text = "".join(c if c.isprintable() else "?" for c in name)
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


def title_of(text: str) -> str | None:
    """The top-level `title:` of a spec's text, without parsing it (the job is named before the
    spec is checked, so that a broken spec's error names its file)."""
    found = re.search(r"^title:[ \t]*(.+?)[ \t]*$", text, re.MULTILINE)
    if not found:
        return None
    return found.group(1).strip("'\"") or None


@dataclass
class Job:
    """A job as the Jobs list shows it."""

    slug: str
    title: str
    state: str  # new | built | failed | cancelled (the studio shows `building` for a live one)
    video: Path | None
    finished: str | None  # ISO time of the last build's end
    error: str | None


class Workspace:
    """The studio's folder of jobs and its build cache."""

    def __init__(self, root: Path, cache: Path | None = None):
        self.root = Path(root).resolve()
        self.cache = Path(cache).resolve() if cache else self.root / ".cache"
        self.scratch = self.root / ".studio"  # the web server's uploads and copies (Gradio's temp folder)

    def create(self) -> None:
        """Make the workspace's folders; a clear line when it cannot."""
        try:
            for folder in (self.root, self.cache, self.scratch, self.root / "styles"):
                folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UserError(
                f"{self.root}: cannot create the workspace ({exc.strerror}); choose another --workspace"
            ) from None

    def folder(self, slug: str) -> Path:
        """A job's folder; the slug is checked again so a crafted name never leaves the workspace."""
        if slug != job_slug(slug):
            raise UserError(f"{shown_name(slug)} is not a job name; use letters, digits and dashes")
        return self.root / slug

    def spec(self, slug: str) -> Path:
        return self.folder(slug) / f"{slug}.yaml"

    def video(self, slug: str, profile: str = "final") -> Path:
        return self.folder(slug) / "out" / (f"{slug}.draft.mp4" if profile == "draft" else f"{slug}.mp4")

    def display(self, text: str) -> str:
        """A message with the workspace's absolute path left out (the page shows job-relative names)."""
        return text.replace(f"{self.root}/", "").replace(str(self.root), ".")

    def styles(self) -> list[str]:
        """Style choices: the built-in names, then the workspace's own style files (`styles/*.yaml`)."""
        own = sorted(p.name for p in (self.root / "styles").glob("*.yaml") if p.is_file())
        return builtin_style_names() + [f"../styles/{name}" for name in own]

    # --- specs ---------------------------------------------------------------------------------------

    def check(self, text: str, slug: str) -> Spec:
        """Validate a spec's text as job `slug`'s spec; SpecError/UserError with the CLI's lines, the
        file named `<slug>/<slug>.yaml`."""
        folder = self.folder(slug)
        try:
            spec = load_spec(Path(slug) / f"{slug}.yaml", text=text, folder=folder)
        except SpecError as exc:
            raise SpecError([self.display(line) for line in exc.problems]) from None
        named = named_files(spec, folder)
        if spec.style in builtin_style_names():
            named.discard(style_path(spec.style, folder))
        outside = sorted(self.display(str(path)) for path in named if not _inside(path, self.root))
        if outside:
            raise UserError(
                f"{slug}/{slug}.yaml: {outside[0]} is outside the studio's workspace; "
                "upload the file or use a built-in style"
            )
        return spec

    def save(self, text: str, slug: str | None = None) -> str:
        """Check a spec's text and save it as its job's spec (atomically); returns the job's slug.
        The job is `slug`, else named after the spec's title. Nothing is written when it is invalid."""
        slug = job_slug(slug, text)
        folder = self.folder(slug)
        self.check(text, slug)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            write_text(self.spec(slug), text if text.endswith("\n") else text + "\n")
        except OSError as exc:
            raise UserError(f"{slug}/{slug}.yaml: cannot save it ({exc.strerror}); check the workspace") from None
        return slug

    # --- uploads -------------------------------------------------------------------------------------

    def add_picture(self, slug: str, upload: Path, name: str | None = None) -> str:
        """Copy an uploaded picture into the job's `pictures/` after checking that it decodes; returns
        its path relative to the spec."""
        filename = safe_filename(name or upload.name, PICTURE_TYPES)
        _check_size(upload, name or upload.name, PICTURE_BYTES)
        from PIL import Image

        try:
            with Image.open(upload) as picture:
                picture.load()
        except Exception:  # noqa: BLE001 - any decoder error means the same to the user
            raise UserError(
                f"{shown_name(name or upload.name)}: not a picture this studio can read; upload a JPEG, PNG or WebP"
            ) from None
        return self._keep(slug, upload, f"pictures/{filename}")

    def add_music(self, slug: str, upload: Path, name: str | None = None) -> str:
        """Copy an uploaded music file into the job's `music/` after checking that ffmpeg decodes its
        audio; returns its path relative to the spec."""
        filename = safe_filename(name or upload.name, AUDIO_TYPES)
        _check_size(upload, name or upload.name, AUDIO_BYTES)
        from autostream_compiler.render.ffmpeg import ffmpeg_exe

        done = children.run([ffmpeg_exe(), "-v", "error", "-i", str(upload), "-map", "0:a:0", "-f", "null", "-"])
        if done.returncode != 0:
            raise UserError(
                f"{shown_name(name or upload.name)}: no audio that ffmpeg can decode; upload an MP3, WAV, FLAC or OGG"
            )
        return self._keep(slug, upload, f"music/{filename}")

    def document_name(self, upload: Path) -> str:
        """An uploaded document's file name in a job's `sources/` (checked: a known type, not too large;
        what it holds is checked when it is read)."""
        _check_size(upload, upload.name, DOCUMENT_BYTES)
        return safe_filename(upload.name, DOCUMENT_TYPES)

    def add_document(self, slug: str, upload: Path, relative: str) -> str:
        """Copy an uploaded document into the job's folder at `relative` (under `sources/`)."""
        return self._keep(slug, upload, relative)

    def _keep(self, slug: str, upload: Path, relative: str) -> str:
        target = self.folder(slug) / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        copy_file(upload, target)
        return relative

    # --- jobs ----------------------------------------------------------------------------------------

    def jobs(self) -> list[Job]:
        """Every job folder with a spec, most recently changed first."""
        found = []
        for folder in self.root.iterdir():
            spec = folder / f"{folder.name}.yaml"
            if folder.name.startswith(".") or folder.name in RESERVED or not spec.is_file():
                continue
            state = self.state(folder.name)
            video = self.video(folder.name)
            found.append(
                (
                    max(spec.stat().st_mtime, video.stat().st_mtime if video.is_file() else 0),
                    Job(
                        folder.name,
                        title_of(spec.read_text(encoding="utf-8", errors="replace")) or folder.name,
                        state.get("state", "new"),
                        video if video.is_file() else None,
                        state.get("finished"),
                        state.get("error"),
                    ),
                )
            )
        return [job for _, job in sorted(found, key=lambda pair: pair[0], reverse=True)]

    def state(self, slug: str) -> dict:
        """How the job's last build ended: {state, error, finished, seconds, profile}; {} before any."""
        try:
            return json.loads((self.folder(slug) / "out" / STATE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}

    def record(self, slug: str, state: str, error: str | None, seconds: float, profile: str) -> None:
        """Write how a build ended (atomically)."""
        finished = datetime.now(timezone.utc).replace(microsecond=0).isoformat()
        entry = {"state": state, "error": error, "finished": finished, "seconds": round(seconds, 2), "profile": profile}
        out = self.folder(slug) / "out"
        out.mkdir(parents=True, exist_ok=True)
        write_text(out / STATE, json.dumps(entry, indent=2) + "\n")

    def remember(self, settings: dict) -> None:
        """Keep the form's choices for the next visit."""
        self.scratch.mkdir(parents=True, exist_ok=True)
        write_text(self.scratch / "settings.json", json.dumps(settings, indent=2) + "\n")

    def remembered(self) -> dict:
        """The form's choices as last kept; {} before any."""
        try:
            saved = json.loads((self.scratch / "settings.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return saved if isinstance(saved, dict) else {}

    def scratch_folder(self) -> Path:
        """A fresh folder for a draft, beside the job folders so that a workspace style
        (`../styles/x.yaml`) is found from it as from a job (removed by the caller)."""
        folder = self.root / f".draft-{uuid.uuid4().hex}"
        folder.mkdir(parents=True)
        return folder

    def remove_scratch(self, folder: Path) -> None:
        if folder.parent == self.root and folder.name.startswith(".draft-"):
            shutil.rmtree(folder, ignore_errors=True)

    def check_style(self, style: str) -> None:
        """Only the built-in styles and the workspace's own are offered; anything else (a path to any
        file on the server) is refused before it is read."""
        if style and style not in self.styles():
            raise UserError(
                f"style {shown_name(style)} is not a built-in or workspace style; use one of {', '.join(self.styles())}"
            )


def _inside(path: Path, root: Path) -> bool:
    try:
        return path.resolve().is_relative_to(root)
    except (OSError, ValueError):
        return False


def _check_size(upload: Path, name: str, limit: int) -> None:
    size = upload.stat().st_size
    if size > limit:
        raise UserError(f"{shown_name(name)}: {size / 2**20:.0f} MB is too large; upload at most {limit // 2**20} MB")
    if size == 0:
        raise UserError(f"{shown_name(name)}: the file is empty; upload it again")
