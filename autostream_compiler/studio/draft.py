"""From the studio's form to a spec: the form's choices as spec keys, the expansion (the model for a
topic, the splitter for a script) written out as `scenes:`, and the scene table kept in step with the
spec's YAML text."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from autostream_compiler.errors import AutostreamError, SpecError, UserError
from autostream_compiler.expand import resolve
from autostream_compiler.expand.lock import lock_path
from autostream_compiler.expand.offline import sentences
from autostream_compiler.specfile.yamlfile import read_yaml
from autostream_compiler.studio.workspace import Workspace, slugify

COLUMNS = ["narration", "visual", "picture", "motion"]  # the scene table; `picture` is a scene's `image`
CITED = "sources"  # a fifth column, shown only: the passages each scene cites (from the draft or the lock)
ASPECTS = ["16:9", "9:16", "1:1", "4:5"]
RESOLUTIONS = ["720p", "1080p", "1440p", "2160p"]
CAPTION_STYLES = ["karaoke", "pop", "line", "none"]
MOTIONS = ["", "zoom_in", "zoom_out", "pan_left", "pan_right", "pan_up", "pan_down", "none"]


def form_spec(
    title: str = "",
    topic: str = "",
    script: str = "",
    style: str = "",
    voice: str = "",
    aspect: str = "",
    resolution: str = "",
    length: float | None = None,
    captions: str = "",
) -> dict[str, Any]:
    """The spec the form describes (before expansion): only what the user chose, the style decides the rest."""
    topic, script = (topic or "").strip(), (script or "").strip()
    if bool(topic) == bool(script):
        raise UserError("write a topic or paste a script (one of the two)")
    spec: dict[str, Any] = {"version": 1}
    if title and title.strip():
        spec["title"] = title.strip()
    if style:
        spec["style"] = style
    if voice:
        spec["voice"] = voice
    fmt = {k: v for k, v in (("aspect", aspect), ("resolution", resolution)) if v}
    if fmt:
        spec["format"] = fmt
    if captions:
        spec["captions"] = {"style": captions}
    if topic:
        if length:
            spec["pacing"] = {"target_duration": float(length)}
        spec["topic"] = topic
    else:
        spec["script"] = script
    return spec


def expand_scenes(
    workspace: Workspace, spec: dict, log: Callable[[str], None] = lambda _: None, files: dict[str, Path] | None = None
) -> tuple[dict, list[str]]:
    """The spec with its topic or script expanded into `scenes:` (narration and visual of each), as
    `autostream expand` would write them, and what each scene cites; the title the model proposed
    when the form had none. `files` (name relative to the spec -> file) are the documents its
    `sources` name, indexed in the workspace's cache."""
    workspace.check_style(spec.get("style", ""))
    folder = workspace.scratch_folder()
    try:  # named after its first sentence: the title when neither the form nor the model gives one
        first = (sentences(spec.get("topic") or spec.get("script") or "") or [""])[0]
        path = folder / f"{slugify(' '.join(first.split()[:8]))}.yaml"
        path.write_text(dump(spec), encoding="utf-8")
        for name, file in (files or {}).items():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(file, folder / name)
        try:
            resolved = resolve(path, log=log, sources_root=workspace.cache / "sources")
        except SpecError as exc:
            raise SpecError([line.replace(str(path), "draft") for line in exc.problems]) from None
        except UserError as exc:
            raise UserError(str(exc).replace(str(path), "draft").replace(str(lock_path(path)), "draft")) from None
    finally:
        workspace.remove_scratch(folder)
    graph = resolved.graph
    out = {"version": 1, "title": spec.get("title") or graph.title}
    out |= {k: v for k, v in spec.items() if k not in ("version", "title", "topic", "script", "pacing")}
    pacing = {k: v for k, v in spec.get("pacing", {}).items() if k != "target_duration"}
    if pacing:
        out["pacing"] = pacing
    out["scenes"] = [_scene(s.narration, s.visual, s.speaker) for s in graph.scenes]
    return out, [cited(s.sources) for s in graph.scenes]


def cited(sources) -> str:
    """A scene's citations as the table shows them: `report.pdf p. 3, p. 7; notes.md p. 1`."""
    from autostream_compiler.expand.scenegraph import cited_pages

    pages = cited_pages(sources or [])
    return "; ".join(f"{file} " + ", ".join(f"p. {n}" for n in found) for file, found in pages.items())


def lock_citations(lock: Path, spec: dict) -> list[str]:
    """What each scene of a spec cites, from the job's lock (matched by narration; "" for a scene the
    lock does not have yet)."""
    from autostream_compiler.expand.lock import read_lock

    try:
        locked = read_lock(lock)
    except AutostreamError:
        return []
    if locked is None:
        return []
    by_text = {" ".join(s.narration.split()): cited(s.sources) for s in locked.graph.scenes}
    scenes = [s for s in spec.get("scenes") or [] if isinstance(s, dict)]
    return [by_text.get(" ".join(str(s.get("narration") or "").split()), "") for s in scenes]


def _scene(narration: str, visual: str, speaker: str | None) -> dict:
    scene = {"narration": narration}
    if visual != narration:
        scene["visual"] = visual
    if speaker:
        scene["speaker"] = speaker
    return scene


def dump(spec: dict) -> str:
    """A spec as YAML text, keys in the order written."""
    return yaml.safe_dump(spec, sort_keys=False, allow_unicode=True, width=100)


def parse(text: str, name: str = "spec") -> dict:
    """A spec's YAML text as data (bounded like any spec file); SpecError when it is not a mapping."""
    data, _ = read_yaml(Path(name), text)
    if not isinstance(data, dict):
        raise SpecError([f"{name}:1:1: a spec is a YAML mapping with `version: 1`, `title` and a `script` or `scenes`"])
    return data


def table(spec: dict, sources: list[str] | None = None) -> list[list[str]]:
    """The scene table's rows: narration, visual, picture, motion of each scene, and what it cites."""
    rows = []
    scenes = [s for s in spec.get("scenes") or [] if isinstance(s, dict)]
    for i, scene in enumerate(scenes):
        motion = scene.get("motion") if isinstance(scene.get("motion"), dict) else {}
        rows.append(
            [
                str(scene.get("narration") or ""),
                str(scene.get("visual") or ""),
                f"video {scene['video']}" if scene.get("video") else _picture(scene.get("image")),
                str(motion.get("preset") or ""),
                (sources or [])[i] if i < len(sources or []) else "",
            ]
        )
    return rows


def _picture(image) -> str:
    """A scene's `image` in the picture column: a file, or `page 3` / `page auto` / `page 3 of report.pdf`
    / `figure of page 3` (its largest picture)."""
    if isinstance(image, dict):
        shown = f"{'figure of ' if image.get('figure') else ''}page {image.get('page', 'auto')}"
        return shown + (f" of {image['file']}" if image.get("file") else "")
    return str(image or "")


def _image(text: str):
    """The picture column back as a scene's `image` (`video PATH`: its `video`, as {"video": PATH})."""
    clip = re.fullmatch(r"video\s+(.+)", text.strip())
    if clip:
        return {"video": clip[1].strip()}
    found = re.fullmatch(r"(figure of\s+)?page\s+(auto|\d+)(?:\s+of\s+(.+))?", text.strip())
    if not found:
        return text
    page = found[2] if found[2] == "auto" else int(found[2])
    image = {"page": page, **({"file": found[3].strip()} if found[3] else {})}
    return {**image, "figure": True} if found[1] else image


def with_table(spec: dict, rows: list[list[Any]]) -> dict:
    """The spec with its scenes taken from the table; a scene's other keys (voice, transition...)
    stay with it by position, empty rows are dropped."""
    old = [s if isinstance(s, dict) else {} for s in spec.get("scenes") or []]
    scenes = []
    for i, row in enumerate(rows):
        narration, visual, picture, motion = ([str(c or "").strip() for c in row] + [""] * 4)[:4]
        if not (narration or visual or picture):
            continue
        kept = old[i] if i < len(old) else {}
        shown = _image(picture) if picture else ""
        if not (isinstance(shown, dict) and "video" in shown):  # a clip's sound setting goes with the clip
            kept = {k: v for k, v in kept.items() if k != "video_audio"}
        scene = {k: v for k, v in kept.items() if k not in COLUMNS + ["image", "video"]}
        scene = {"narration": narration, **scene}
        if visual:
            scene["visual"] = visual
        if isinstance(shown, dict) and "video" in shown:
            scene["video"] = shown["video"]
        elif shown:
            scene["image"] = shown
        moved = {k: v for k, v in (scene.pop("motion", None) or {}).items() if k != "preset"}
        if motion:
            moved["preset"] = motion
        if moved:
            scene["motion"] = moved
        scenes.append(scene)
    out = {k: v for k, v in spec.items() if k not in ("topic", "script")}
    out["scenes"] = scenes
    return out
