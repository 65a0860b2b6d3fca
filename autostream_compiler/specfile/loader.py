"""Load a spec file: parse, validate, check the files it names."""

from __future__ import annotations

from pathlib import Path

from autostream_compiler.errors import SpecError, UserError
from autostream_compiler.providers.voices import resolve_voice
from autostream_compiler.specfile.models import Spec
from autostream_compiler.specfile.style import style_path
from autostream_compiler.specfile.yamlfile import problem, read_yaml, validate


def load_spec(path: Path) -> Spec:
    """Read and validate a spec; raise SpecError with every problem found, each with its place."""
    path = Path(path)
    data, positions = read_yaml(path)
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
                    f"unsupported spec version {version!r}; this autostream reads `version: 1`",
                )
            ]
        )
    spec = validate(Spec, data, positions, path)
    problems = [problem(path, positions, loc, msg) for loc, msg in _file_problems(spec, path.parent)]
    if problems:
        error = SpecError(problems)
        error.inputs = frozenset(named_files(spec, path.parent))  # watch them: the fix may be a new file
        raise error
    return spec


def named_files(spec: Spec, root: Path) -> set[Path]:
    """The files of the user's a valid spec names (found or not): a style file, pictures,
    recordings, music, an aligner model's config."""
    names = [scene.image for scene in spec.scenes or []] + [scene.audio for scene in spec.scenes or []]
    names += [spec.music.path if spec.music else None, f"{spec.align_model}/config.json" if spec.align_model else None]
    files = {root / name for name in names if name}
    try:
        files.add(style_path(spec.style, root))
    except UserError:
        pass
    return files


def _file_problems(spec: Spec, root: Path) -> list[tuple[tuple, str]]:
    out = []
    try:
        style_file = style_path(spec.style, root)
        if not style_file.is_file():
            out.append((("style",), f"style file {spec.style!r} not found; fix the path or use a built-in style name"))
    except UserError as exc:
        out.append((("style",), str(exc)))
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
                    f"unknown speaker {scene.speaker!r} ({known}); add it under `speakers` or fix the name",
                )
            )
        for key in ("image", "audio"):
            msg = getattr(scene, key) and local_file_problem(root, getattr(scene, key))
            if msg:
                out.append((("scenes", i, key), msg))
    if spec.music is not None:
        msg = local_file_problem(root, spec.music.path)
        if msg:
            out.append((("music", "path"), msg))
    if spec.align == "native" and any(s.audio for s in spec.scenes or []):
        out.append((("align",), "recorded `audio` brings no word timings; use align: auto, whisper or whisperx"))
    if spec.align_model is not None and not (root / spec.align_model).is_dir():
        out.append(
            (
                ("align_model",),
                f"model folder {spec.align_model!r} not found (looked in {root}); "
                "fix the path or remove `align_model` to use the packaged Whisper model",
            )
        )
    return out


def local_file_problem(root: Path, name: str) -> str | None:
    """Why `name` is not a usable file inside `root`, or None when it is."""
    target = (root / name).resolve()
    if not target.is_relative_to(root.resolve()):
        return f"{name!r} is outside the spec's folder; move the file next to the spec and use a relative path"
    if not target.is_file():
        return f"file {name!r} not found (looked in {root}); fix the path or add the file"
    return None
