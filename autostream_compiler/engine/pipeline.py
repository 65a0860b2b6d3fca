"""`build` and `status`: the phases from a spec file to the video and its sidecars."""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from autostream_compiler.atomic import copy_file, sweep_temps, write_if_changed
from autostream_compiler.digests import digest, file_digest
from autostream_compiler.engine import fingerprint
from autostream_compiler.engine.actions import read_timeline, read_words, scene_cues
from autostream_compiler.engine.cache import Store, cache_root, sources_root
from autostream_compiler.engine.plan import Render, plan
from autostream_compiler.engine.runner import (
    Executor,
    LocalExecutor,
    Reporter,
    Silent,
    Step,
    resolve_cached,
    run_steps,
)
from autostream_compiler.errors import AutostreamError, BuildError, UserError
from autostream_compiler.expand import Resolved, resolve
from autostream_compiler.expand.lock import lock_path
from autostream_compiler.providers import families
from autostream_compiler.render import ffmpeg
from autostream_compiler.render.sequence import Placement
from autostream_compiler.render.subtitles import srt_document, vtt_document
from autostream_compiler.render.timeline import shift

_LABELS = {
    "spoken": "narration",
    "words": "narration text",
    "prompt": "visual",
    "seed": "image seed",
    "length_scale": "pacing",
    "voice": "voice",
    "palette": "style palette",
    "captions": "caption style",
    "motion": "motion",
    "pause": "pause",
    "fps": "frame rate",
    "width": "format",
    "height": "format",
    "words_per_minute": "pacing",
    "pitch": "pitch",
    "providers": "image providers",
    "model": "model",
    "language": "language",
    "joins": "transitions",
    "chapters": "chapter titles",
    "codec": "encoder settings",
    "music": "music",
    "loudness": "loudness",
    "title": "title",
    "pieces": "scenes",
    "kind": "transition",
    "frames": "transition length",
    "at": "thumbnail time",
}


@dataclass
class BuildResult:
    """What a build produced."""

    output: Path
    steps: list[Step]
    lock: str
    notes: list[str]
    chapters: list[tuple[float, float, str]]  # (start, end, title) of each scene in the video
    video_blob: Path | None = None  # the cache's copy of the video (never rewritten)
    inputs: frozenset[Path] = frozenset()  # the files the build read: the spec, its lock, style, pictures...

    def report(self) -> dict:
        """The JSON build report: the output, notes and every step's status."""
        return build_report(self.output, self.steps, self.notes)


def output_path(resolved: Resolved, output: Path | None, profile: str = "final") -> Path:
    """`-o`, else the spec's `output` (relative to the spec), else out/<stem>.mp4 beside the spec;
    a draft goes to `<name>.draft.mp4` beside it so it never replaces the final video."""
    if output:
        return Path(output)
    path = resolved.spec_path.parent / (resolved.spec.output or f"out/{resolved.spec_path.stem}.mp4")
    return path.with_suffix(".draft.mp4") if profile == "draft" else path


def choose_render(resolved: Resolved, profile: str) -> tuple[Render, list[str]]:
    """The frame size and encoder of a build, with a note when `encoder: auto` found no hardware one."""
    ffmpeg.ffmpeg_version()  # no ffmpeg (exit 2) or one that does not run (exit 1): said before any step runs
    notes = []
    encoder = "libx264"
    if resolved.spec.encoder == "auto":
        found, tried = ffmpeg.hardware_encoder()
        if found:
            encoder = found
        else:
            what = f"tried {', '.join(tried)}" if tried else "ffmpeg lists none"
            notes.append(f"encoder: no working hardware H.264 encoder ({what}); using libx264")
    return Render.of(resolved.graph, profile, encoder), notes


def build(
    spec_path: Path,
    output: Path | None = None,
    report: Path | None = None,
    cache_dir: Path | None = None,
    jobs: int | None = None,
    refresh: bool = False,
    reporter: Reporter | None = None,
    profile: str = "final",
    verify: bool = False,
    cache: str | None = None,
    cache_endpoint: str | None = None,
    executor: str = "local",
    broker: str | None = None,
    strict: bool = False,
) -> BuildResult:
    """Build a spec into its MP4 and sidecars (`.srt`, `.vtt`, `.words.json`, `.thumb.png`),
    rebuilding only steps whose inputs changed. `verify` checks every blob taken from the cache
    against its digest (a damaged one is dropped and its step runs again). `cache` (else
    $AUTOSTREAM_CACHE) is a shared cache URL the local cache reads through and uploads to; with
    `executor="celery"` the steps run on the workers of `broker` (else $AUTOSTREAM_BROKER) through it.

    The files the build read or tried to read are its result's `inputs`, or the error's when it
    fails, so a watcher knows what to watch. A build that leaves every step in the cache leaves a
    fingerprint too, so the CLI can answer the next no-op without planning (`fingerprint.replay`)."""
    started_ns = time.time_ns()
    ffmpeg.probe_version()  # answers while the spec is read
    families.prefetch()  # the model that picks offline pictures' families loads meanwhile too
    spec_path = Path(spec_path)
    reporter = reporter or Silent()
    inputs = first_inputs(spec_path)
    try:
        sources = sources_root(cache_dir, spec_path)
        resolved = resolve(spec_path, refresh=refresh, log=reporter.note, sources_root=sources)
        inputs |= resolved.files
        if strict:
            check_cited(resolved)
        store = open_store(cache_dir, resolved.spec_path.resolve().parent, verify, cache, cache_endpoint)
        render, notes = choose_render(resolved, profile)  # notes go to the report
        steps = plan(resolved.graph, resolved.spec_path.parent, render)
        inputs |= {path for step in steps for path in step.files.values()}
        reporter.plan(steps)
        jobs = jobs or os.cpu_count() or 1
        run_steps(steps, store, jobs, reporter, open_executor(executor, broker, jobs, store))
        if store.remote is not None:
            notes += store.remote.warnings
        result = finish(resolved, store, steps, output_path(resolved, output, profile), notes, inputs)
        save_state(store, resolved.spec_path, profile, steps)
        if report:
            write_if_changed(Path(report), json.dumps(result.report(), indent=2) + "\n")
        if not (store.verify or store.remote or resolved.spec.sources):
            ctx = fingerprint.context(spec_path, output, cache_dir, profile, strict)
            state = _state_path(store, resolved.spec_path, profile)
            _leave_fingerprint(resolved, store, result, ctx, state, started_ns)
    except AutostreamError as exc:
        exc.inputs = inputs | set(exc.inputs)
        raise
    failed = [s for s in steps if s.status == "failed"]
    if failed:
        first = next(s for s in failed if not (s.error or "").startswith("not run"))
        message = f"{len(failed)} of {len(steps)} steps failed; first: {first.label}: {first.error}"
        raise BuildError(message, result=result, inputs=inputs)
    return result


def _leave_fingerprint(
    resolved: Resolved, store: Store, result: BuildResult, ctx: dict, state: Path, started_ns: int
) -> None:
    """Let the next no-op skip planning (`fingerprint`): what the build read, the ffmpeg it ran, and
    what it placed (a lock it wrote holds what it used, so it counts as placed, not read)."""
    wrote_lock = set() if resolved.lock == "current" else {lock_path(resolved.spec_path)}
    read = (result.inputs - wrote_lock) | {Path(ffmpeg.ffmpeg_exe())}
    placed = [*_outputs(result.output), state, *wrote_lock]
    fingerprint.remember(store, ctx, result.steps, read, placed, result.report(), started_ns)


def open_store(
    cache_dir: Path | None, near: Path, verify: bool = False, cache: str | None = None, endpoint: str | None = None
) -> Store:
    """The local cache, reading through the shared one of `cache` or $AUTOSTREAM_CACHE when given
    (fsspec is imported only then); an unreachable shared cache is an error before any step runs."""
    remote = None
    if cache or os.environ.get("AUTOSTREAM_CACHE"):
        from autostream_compiler.engine.remote import open_remote

        remote = open_remote(cache, endpoint)
    return Store(cache_root(cache_dir, near), verify=verify, remote=remote)


def check_cited(resolved: Resolved) -> None:
    """`--strict`: every scene of a spec with `sources` cites at least one passage (BuildError otherwise)."""
    if not resolved.spec.sources:
        return
    bare = [str(n) for n, scene in enumerate(resolved.graph.scenes, 1) if not scene.sources]
    if bare:
        raise BuildError(
            f"{resolved.spec_path}: scene{'s' if len(bare) > 1 else ''} {', '.join(bare)} cite no passage of the "
            "sources (--strict); rewrite them from the documents or add the document that backs them"
        )


def open_executor(kind: str, broker: str | None, jobs: int, store: Store) -> Executor:
    """Where steps run: `local` threads (`jobs` at once), or `celery` workers on `broker` (else
    $AUTOSTREAM_BROKER), which need the shared cache to hand over inputs and outputs."""
    if kind == "local":
        return LocalExecutor(jobs)
    from autostream_compiler.engine.celery_exec import CeleryExecutor, broker_url

    url = broker_url(broker)
    if store.remote is None:
        raise UserError(
            "--executor celery needs a shared cache the workers use too: give --cache URL (or set AUTOSTREAM_CACHE)"
        )
    return CeleryExecutor(url, jobs)


def first_inputs(spec_path: Path) -> set[Path]:
    """What a build reads before it knows more: the spec, its lock and the `.env` beside it."""
    return {spec_path, lock_path(spec_path), spec_path.parent / ".env"}


def finish(resolved: Resolved, store: Store, steps: list[Step], out: Path, notes: list[str], inputs: set[Path]):
    """Place the video, thumbnail and sidecars beside the spec when every step succeeded."""
    result = BuildResult(out, steps, resolved.lock, notes, [], None, frozenset(inputs))
    for path in (lock_path(resolved.spec_path), *_outputs(out)):
        sweep_temps(path)  # what a build killed while writing them left
    if any(s.status == "failed" for s in steps):
        return result
    once = {s.kind: s for s in steps if s.scene is None}  # timeline, audio, mux, thumbnail
    result.video_blob = store.path(once["mux"].outputs["video"]["digest"])
    _place(result.video_blob, out)
    _place(store.path(once["thumbnail"].outputs["image"]["digest"]), out.with_suffix(".thumb.png"))
    placed, result.chapters = read_timeline(store.path(once["timeline"].outputs["timeline"]["digest"]))
    _write_sidecars(resolved, steps, store, placed, out)
    return result


def _outputs(out: Path) -> list[Path]:
    """The files a build places: the video and its sidecars."""
    suffixes = (".thumb.png", ".srt", ".vtt", ".words.json", ".sources.md", ".credits.md")
    return [out, *(out.with_suffix(suffix) for suffix in suffixes)]


def build_report(out: Path, steps: list[Step], notes: list[str]) -> dict:
    rows = []
    for s in steps:
        row = {
            "kind": s.kind,
            "scene": s.scene,
            "status": s.status,
            "seconds": round(s.seconds, 3),
            "key": s.key,
            "provider": s.record.get("provider", s.provider),
        }
        details = {k: v for k, v in s.record.items() if k != "provider"}
        if details:
            row["details"] = details
        if s.status == "cached":
            row["from"] = s.source or "local"
        if s.worker:
            row["worker"] = s.worker
        if s.warnings:
            row["warnings"] = s.warnings
        if s.error:
            row["error"] = s.error
        rows.append(row)
    return {"output": str(out), "notes": notes, "steps": rows}


def _place(blob: Path, out: Path) -> None:
    """Copy the built video to its output path unless the same bytes are already there."""
    if out.is_file() and out.stat().st_size == blob.stat().st_size and file_digest(out) == blob.name:
        return
    copy_file(blob, out)


def _write_sidecars(resolved: Resolved, steps: list[Step], store: Store, placed: list[Placement], out: Path) -> None:
    """`<stem>.srt` and `.vtt` (subtitles as shown) and `<stem>.words.json` (every word on the final
    timeline), given where each scene sits on the timeline."""
    fps = resolved.graph.format.fps
    aligns = [s for s in steps if s.kind == "align"]
    segments = {s.scene: s for s in steps if s.kind == "segment"}
    words_out: list[dict] = []
    cues: list[tuple[float, float, list[str]]] = []
    for align, spot in zip(aligns, placed, strict=True):
        duration, words = read_words(store.path(align.outputs["words"]["digest"]))
        offset = (spot.start + spot.head) / fps
        words_out += shift(words, offset, align.scene)
        params = segments[align.scene].params
        label = params["captions"].get("label")
        sentences = {**params, "captions": {**params["captions"], "style": "line"}}  # full subtitles, any style
        for c in scene_cues(words, sentences, (spot.frames - spot.head - spot.tail) / fps):
            lines = [" ".join(words[i].text for i in line) for line in c.lines]
            cues.append((c.start + offset, c.end + offset, [f"{label}: {lines[0]}", *lines[1:]] if label else lines))
    write_if_changed(out.with_suffix(".srt"), srt_document(cues))
    write_if_changed(out.with_suffix(".vtt"), vtt_document(cues))
    write_if_changed(out.with_suffix(".words.json"), json.dumps(words_out, indent=1) + "\n")
    scenes, notes = resolved.graph.scenes, out.with_suffix(".sources.md")
    if any(scene.sources for scene in scenes):
        from autostream_compiler.sources.pages import sources_markdown

        cited = [(s.narration, [c.model_dump() for c in s.sources or []]) for s in scenes]
        write_if_changed(notes, sources_markdown(resolved.graph.title, cited))
    else:
        notes.unlink(missing_ok=True)  # of an earlier build that cited sources
    credits = [(s.scene, s.record["credit"]) for s in steps if s.kind == "image" and s.record.get("credit")]
    if credits:
        write_if_changed(out.with_suffix(".credits.md"), credits_markdown(resolved.graph.title, credits))
    else:
        out.with_suffix(".credits.md").unlink(missing_ok=True)  # of an earlier build that used stock media


def credits_markdown(title: str, credits: list[tuple[int, str]]) -> str:
    """`<stem>.credits.md`: who made the stock photos and clips each scene shows, as their licence asks."""
    lines = [f"# Credits: {title}", "", "Stock media from [Pexels](https://www.pexels.com):", ""]
    lines += [f"- Scene {scene + 1}: {credit}" for scene, credit in credits]
    return "\n".join(lines) + "\n"


# --- status --------------------------------------------------------------------------------------


def _state_path(store: Store, spec_path: Path, profile: str) -> Path:
    return store.root / "state" / f"{digest([str(spec_path.resolve()), profile])[:16]}.json"


def save_state(store: Store, spec_path: Path, profile: str, steps: list[Step]) -> None:
    """What the latest build of a spec (per profile) ran: `status` explains changes against it and
    `cache gc` keeps what it needs."""
    state = {
        "spec": str(spec_path.resolve()),
        "profile": profile,
        "steps": {
            s.label: {
                "key": s.key,
                "runs": s.runs,
                "params": s.params,
                "files": s.file_digests,
                "upstream": {n: d.key for n, d in s.deps.items()},
            }
            for s in steps
            if s.key
        },
    }
    write_if_changed(_state_path(store, spec_path, profile), json.dumps(state, sort_keys=True) + "\n")


def status(
    spec_path: Path,
    cache_dir: Path | None = None,
    profile: str = "final",
    cache: str | None = None,
    cache_endpoint: str | None = None,
) -> list[tuple[Step, str]]:
    """Each step with why it would run, or "up to date"; writes nothing beside the spec (opening the
    cache registers this process in it and clears what dead processes left; with a shared cache,
    what it holds is downloaded into the local one, as a build would)."""
    resolved = resolve(Path(spec_path), write=False, sources_root=sources_root(cache_dir, spec_path))
    store = open_store(cache_dir, resolved.spec_path.resolve().parent, cache=cache, endpoint=cache_endpoint)
    steps = plan(resolved.graph, resolved.spec_path.parent, choose_render(resolved, profile)[0])
    resolve_cached(steps, store)
    try:
        last = json.loads(_state_path(store, resolved.spec_path, profile).read_text(encoding="utf-8"))["steps"]
    except (FileNotFoundError, ValueError, KeyError, TypeError):
        last = {}
    return [(s, _reason(s, last.get(s.label))) for s in steps]


def _reason(step: Step, last: dict | None) -> str:
    if step.status == "cached":
        return "up to date"
    if step.key is None:
        waiting = next(d for d in step.deps.values() if d.status != "cached")
        return f"after {waiting.label} runs"
    if last is None:
        return "not in cache"
    changed = sorted(
        {
            _LABELS.get(k, k)
            for k in set(step.params) | set(last["params"])
            if step.params.get(k) != last["params"].get(k)
        }
    )
    if step.file_digests != last.get("files"):
        changed.append("local file")
    where = "" if step.scene is None else f" of scene {step.scene + 1}"
    if changed:
        return ", ".join(changed) + where + " changed"
    moved = [d.label for n, d in step.deps.items() if d.key != last.get("upstream", {}).get(n)]
    if moved:
        return "input from " + ", ".join(moved) + " changed"
    if step.runs != last.get("runs"):
        what = "ffmpeg command" if step.command else "code or engine version"
        return f"its {what} changed"
    return "not in cache (removed since the last build)"
