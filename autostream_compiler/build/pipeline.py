"""`build` and `status`: the phases from a spec file to the video and its sidecars."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

from autostream_compiler.atomic import copy_file, write_if_changed
from autostream_compiler.build.cache import Store
from autostream_compiler.build.keys import digest, file_digest
from autostream_compiler.build.runner import Step, resolve_cached, run_steps
from autostream_compiler.build.steps import plan, read_words, scene_cues
from autostream_compiler.errors import BuildError
from autostream_compiler.expand import Resolved, resolve
from autostream_compiler.render.subtitles import srt_document
from autostream_compiler.render.timeline import scene_frames, shift

_LABELS = {"spoken": "narration", "words": "narration text", "prompt": "visual", "seed": "image seed",
           "length_scale": "pacing", "voice": "voice", "palette": "style palette", "captions": "caption style",
           "motion": "motion", "pause": "pause", "fps": "frame rate", "width": "format", "height": "format",
           "words_per_minute": "pacing", "pitch": "pitch", "providers": "image providers", "model": "model",
           "language": "language"}


@dataclass
class BuildResult:
    """What a build produced."""

    output: Path
    steps: list[Step]
    lock: str


def cache_root(spec_path: Path, cache_dir: Optional[Path]) -> Path:
    """`--cache-dir`, else AUTOSTREAM_CACHE_DIR, else `.autostream/cache` beside the spec."""
    if cache_dir:
        return Path(cache_dir)
    env = os.environ.get("AUTOSTREAM_CACHE_DIR")
    return Path(env) if env else spec_path.resolve().parent / ".autostream" / "cache"


def output_path(resolved: Resolved, output: Optional[Path]) -> Path:
    """`-o`, else the spec's `output` (relative to the spec), else out/<stem>.mp4 beside the spec."""
    if output:
        return Path(output)
    base = resolved.spec_path.parent
    return base / (resolved.spec.output or f"out/{resolved.spec_path.stem}.mp4")


def build(spec_path: Path, output: Optional[Path] = None, report: Optional[Path] = None,
          cache_dir: Optional[Path] = None, jobs: Optional[int] = None, refresh: bool = False,
          on_plan: Callable[[list[Step]], None] = lambda s: None,
          on_done: Callable[[Step], None] = lambda s: None,
          log: Callable[[str], None] = lambda m: None) -> BuildResult:
    """Build a spec into its MP4, `.srt` and `.words.json`, rebuilding only steps whose inputs changed."""
    resolved = resolve(Path(spec_path), refresh=refresh, log=log)
    store = Store(cache_root(resolved.spec_path, cache_dir))
    steps = plan(resolved.graph, resolved.spec_path.parent)
    on_plan(steps)
    run_steps(steps, store, jobs or os.cpu_count() or 1, on_done)
    out = output_path(resolved, output)
    failed = [s for s in steps if s.status == "failed"]
    if not failed:
        _place(store.path(steps[-1].outputs["video"]["digest"]), out)
        _write_sidecars(resolved, steps, store, out)
    _save_state(store, resolved.spec_path, steps)
    if report:
        write_if_changed(Path(report), json.dumps(_report(out, steps), indent=2) + "\n")
    if failed:
        first = next(s for s in failed if not (s.error or "").startswith("not run"))
        raise BuildError(f"{len(failed)} of {len(steps)} steps failed; first: {first.label}: {first.error}")
    return BuildResult(out, steps, resolved.lock)


def _report(out: Path, steps: list[Step]) -> dict:
    rows = []
    for s in steps:
        row = {"kind": s.kind, "scene": s.scene, "status": s.status, "seconds": round(s.seconds, 3), "key": s.key,
               "provider": s.record.get("provider", s.provider)}
        if s.warnings:
            row["warnings"] = s.warnings
        if s.error:
            row["error"] = s.error
        rows.append(row)
    return {"output": str(out), "steps": rows}


def _place(blob: Path, out: Path) -> None:
    """Copy the built video to its output path unless the same bytes are already there."""
    if out.is_file() and out.stat().st_size == blob.stat().st_size and file_digest(out) == blob.name:
        return
    copy_file(blob, out)


def _write_sidecars(resolved: Resolved, steps: list[Step], store: Store, out: Path) -> None:
    """`<stem>.srt` (subtitles as shown) and `<stem>.words.json` (every word on the final timeline)."""
    graph = resolved.graph
    fps, pause = graph.format.fps, graph.pacing.pause
    aligns = [s for s in steps if s.kind == "align"]
    segments = {s.scene: s for s in steps if s.kind == "segment"}
    words_out: list[dict] = []
    cues: list[tuple[float, float, list[str]]] = []
    offset_frames = 0
    for align in aligns:
        duration, words = read_words(store.path(align.outputs["words"]["digest"]))
        frames = scene_frames(duration, pause, fps)
        offset = offset_frames / fps
        words_out += shift(words, offset, align.scene)
        params = segments[align.scene].params
        label = params["captions"].get("label")
        for c in scene_cues(words, params, frames / fps):
            lines = [" ".join(words[i].text for i in line) for line in c.lines]
            cues.append((c.start + offset, c.end + offset, [f"{label}: {lines[0]}", *lines[1:]] if label else lines))
        offset_frames += frames
    write_if_changed(out.with_suffix(".srt"), srt_document(cues))
    write_if_changed(out.with_suffix(".words.json"), json.dumps(words_out, indent=1) + "\n")


# --- status --------------------------------------------------------------------------------------

def _state_path(store: Store, spec_path: Path) -> Path:
    return store.root / "state" / f"{digest(str(spec_path.resolve()))[:16]}.json"


def _save_state(store: Store, spec_path: Path, steps: list[Step]) -> None:
    state = {s.label: {"key": s.key, "params": s.params, "files": s.file_digests,
                       "upstream": {n: d.key for n, d in s.deps.items()}} for s in steps if s.key}
    write_if_changed(_state_path(store, spec_path), json.dumps(state, sort_keys=True) + "\n")


def status(spec_path: Path, cache_dir: Optional[Path] = None) -> list[tuple[Step, str]]:
    """Each step with why it would run, or "up to date"; writes nothing."""
    resolved = resolve(Path(spec_path), write=False)
    store = Store(cache_root(resolved.spec_path, cache_dir))
    steps = plan(resolved.graph, resolved.spec_path.parent)
    resolve_cached(steps, store)
    try:
        last = json.loads(_state_path(store, resolved.spec_path).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        last = {}
    return [(s, _reason(s, last.get(s.label))) for s in steps]


def _reason(step: Step, last: Optional[dict]) -> str:
    if step.status == "cached":
        return "up to date"
    if step.key is None:
        waiting = next(d for d in step.deps.values() if d.status != "cached")
        return f"after {waiting.label} runs"
    if last is None:
        return "not in cache"
    changed = sorted({_LABELS.get(k, k) for k in set(step.params) | set(last["params"])
                      if step.params.get(k) != last["params"].get(k)})
    if step.file_digests != last.get("files"):
        changed.append("local file")
    where = "" if step.scene is None else f" of scene {step.scene + 1}"
    if changed:
        return ", ".join(changed) + where + " changed"
    moved = [d.label for n, d in step.deps.items() if d.key != last.get("upstream", {}).get(n)]
    if moved:
        return "input from " + ", ".join(moved) + " changed"
    return "not in cache (removed since the last build)"
