"""Load a spec file: parse, validate, check the files it names."""

from __future__ import annotations

from pathlib import Path

from autostream_compiler.errors import SpecError, UserError
from autostream_compiler.providers.voices import resolve_voice
from autostream_compiler.render.captions import fonts
from autostream_compiler.specfile.models import NARRATION_LENGTH, Spec
from autostream_compiler.specfile.style import font_problem, style_path
from autostream_compiler.specfile.yamlfile import problem, read_yaml, shorten, validate


def load_spec(path: Path, text: str | None = None, folder: Path | None = None) -> Spec:
    """Read and validate a spec; raise SpecError with every problem found, each with its place.

    `text`: the spec's text when it is not in the file (yet): the studio checks an edit before it
    saves it. `folder`: where its relative paths point, when `path` is only its name in messages."""
    path = Path(path)
    data, positions = read_yaml(path, text)
    if not isinstance(data, dict):
        raise SpecError([f"{path}:1:1: a spec is a YAML mapping with `version: 1`, `title` and a `script` or `scenes`"])
    version = data.get("version")
    if version is not None and version != 1:
        raise SpecError(
            [
                problem(
                    path,
                    positions,
                    ("version",),
                    f"unsupported spec version {shorten(repr(version))}; this autostream reads `version: 1`",
                )
            ]
        )
    spec = validate(Spec, data, positions, path)
    folder = path.parent if folder is None else folder
    found = _size_problems(spec) + _file_problems(spec, folder)
    problems = [problem(path, positions, loc, msg) for loc, msg in found]
    if problems:
        error = SpecError(problems)
        error.inputs = frozenset(named_files(spec, folder))  # watch them: the fix may be a new file
        raise error
    return spec


def source_paths(spec: Spec) -> list[str]:
    """The documents of the spec's `sources`, as written (paths or URLs)."""
    return [entry if isinstance(entry, str) else entry.path for entry in spec.sources or []]


def named_files(spec: Spec, root: Path) -> set[Path]:
    """The files of the user's a valid spec names (found or not): a style file, pictures,
    recordings, music, an aligner model's config, source documents."""
    names = [scene.image for scene in spec.scenes or [] if isinstance(scene.image, str)]
    names += [name for scene in spec.scenes or [] for name in (scene.audio, scene.video)]
    names += [spec.music.path if spec.music else None, f"{spec.align_model}/config.json" if spec.align_model else None]
    names += [path for path in source_paths(spec) if "://" not in path]
    files = {root / name for name in names if name}
    try:
        files.add(style_path(spec.style, root))
    except UserError:
        pass
    return files


def _size_problems(spec: Spec) -> list[tuple[tuple, str]]:
    """The narration as a whole is bounded (each field is bounded by the model)."""
    total = sum(len(s.narration) for s in spec.scenes or [])
    if total > NARRATION_LENGTH:
        return [
            (
                ("scenes",),
                f"the scenes' narration is {total:,} characters long; a spec takes at most {NARRATION_LENGTH:,} "
                "(about 2 hours spoken): split the video into several specs",
            )
        ]
    return []


def _file_problems(spec: Spec, root: Path) -> list[tuple[tuple, str]]:
    out = []
    try:
        why = _missing(style_path(spec.style, root))
        if why:
            fix = "fix the path or use a built-in style name"
            out.append((("style",), f"style file {shorten(spec.style)!r} {why}; {fix}"))
    except UserError as exc:
        out.append((("style",), str(exc)))
    if spec.captions.font is not None and spec.captions.font not in fonts():
        out.append((("captions", "font"), font_problem(spec.captions.font)))
    voices = [(("voice",), spec.voice)] + [
        (("speakers", n, "voice"), s.voice) for n, s in (spec.speakers or {}).items()
    ]
    voices += [(("scenes", i, "voice"), s.voice) for i, s in enumerate(spec.scenes or [])]
    for where, name in voices:
        if name is not None:
            try:
                resolve_voice(name)
            except UserError as exc:
                out.append((where, str(exc)))
    names = list(spec.speakers or {})
    for i, scene in enumerate(spec.scenes or []):
        if scene.speaker is not None and scene.speaker not in names:
            known = ", ".join(names) if names else "none are defined"
            out.append(
                (
                    ("scenes", i, "speaker"),
                    f"unknown speaker {shorten(scene.speaker)!r} ({known}); add it under `speakers` or fix the name",
                )
            )
        for key in ("image", "audio", "video"):
            value = getattr(scene, key)
            msg = isinstance(value, str) and local_file_problem(root, value)
            if msg:
                out.append((("scenes", i, key), msg))
            elif key == "video" and value:
                msg = clip_problem(root / value, value)
                if msg:
                    out.append((("scenes", i, key), msg))
        if not isinstance(scene.image, str) and scene.image is not None and not spec.sources:
            out.append((("scenes", i, "image"), "a page needs documents: add them under `sources:`"))
    for i, path in enumerate(source_paths(spec)):
        msg = "://" not in path and local_file_problem(root, path)
        if msg:
            where = ("sources", i) if isinstance(spec.sources[i], str) else ("sources", i, "path")
            out.append((where, msg))
    if spec.music is not None:
        msg = local_file_problem(root, spec.music.path)
        if msg:
            out.append((("music", "path"), msg))
    if spec.align == "native" and any(s.audio for s in spec.scenes or []):
        out.append((("align",), "recorded `audio` brings no word timings; use align: auto, whisper or whisperx"))
    why = spec.align_model is not None and _missing(root / spec.align_model, folder=True)
    if why:
        out.append(
            (
                ("align_model",),
                f"model folder {shorten(spec.align_model)!r} {why} (looked in {root}); "
                "fix the path or remove `align_model` to use the packaged Whisper model",
            )
        )
    return out


def clip_problem(path: Path, name: str) -> str | None:
    """Why a scene's clip cannot be shown (it holds no readable video), or None when it can."""
    from autostream_compiler.render.clips import probe

    try:
        probe(path)
    except ValueError as exc:
        return f"{shorten(name)!r} cannot be shown: {exc}; use an MP4, MOV or WebM video"
    return None


def _missing(path: Path, folder: bool = False) -> str | None:
    """Why `path` is not an existing file (or folder): "not found" or what the file system said; None when it is."""
    try:
        found = path.is_dir() if folder else path.is_file()
    except OSError as exc:
        return f"cannot be read ({exc.strerror})"
    return None if found else "not found"


def local_file_problem(root: Path, name: str) -> str | None:
    """Why `name` is not a usable file inside `root`, or None when it is."""
    shown = repr(shorten(name))
    try:
        target = (root / name).resolve()
        if not target.is_relative_to(root.resolve()):
            return f"{shown} is outside the spec's folder; move the file next to the spec and use a relative path"
        if not target.is_file():
            return f"file {shown} not found (looked in {root}); fix the path or add the file"
    except OSError as exc:
        return f"cannot read {shown} ({exc.strerror}); fix the path or its permissions"
    except ValueError:  # a NUL character (a hand-edited lock; a spec's paths are checked by the model)
        return f"{shown} is not a usable path (it contains a NUL character); fix the path"
    return None
