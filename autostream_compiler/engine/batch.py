"""Batch builds: many specs planned into one step graph, run over one cache and one executor.

All specs are resolved and planned first, then one `run_steps` runs the steps of every spec: steps
with equal keys (the same narration or picture in two specs) run once and the others share the
result, the pool stays busy across specs, and a spec is finished (video placed, sidecars written)
as soon as its last step is final. A spec that fails to load or plan, or whose steps fail, is that
spec's failure; the others still build.

A folder is searched recursively for specs: `*.yaml`/`*.yml` files that are a mapping with
`version` and one of `topic`, `script` or `scenes` (a file that is not valid YAML counts too, so its
error is reported), skipping lock files (`*.lock.yaml`), dot-folders (`.git`, `.autostream`) and
`out/` folders. Specs named one by one are always built.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from autostream_compiler.atomic import write_if_changed
from autostream_compiler.engine.pipeline import (
    build_report,
    check_cited,
    choose_render,
    finish,
    first_inputs,
    open_executor,
    open_store,
    output_path,
    save_state,
)
from autostream_compiler.engine.plan import plan
from autostream_compiler.engine.runner import Reporter, Silent, Step, run_steps
from autostream_compiler.errors import AutostreamError, SpecError, UserError
from autostream_compiler.expand import Resolved, resolve
from autostream_compiler.expand.lock import lock_path
from autostream_compiler.render import ffmpeg
from autostream_compiler.specfile import load_spec
from autostream_compiler.specfile.loader import named_files
from autostream_compiler.specfile.yamlfile import read_yaml

SPEC_CONTENT = ("topic", "script", "scenes")
SKIPPED_FOLDERS = ("out",)  # besides every dot-folder (.git, .autostream)


# --- which specs ---------------------------------------------------------------------------------


def is_spec_data(data: object) -> bool:
    """Whether parsed YAML is a spec: a mapping with `version` and one of `topic`, `script`, `scenes`."""
    return isinstance(data, dict) and "version" in data and any(key in data for key in SPEC_CONTENT)


def _looks_like_spec(path: Path) -> bool:
    """A YAML file in a searched folder is a spec when its data is one, or when it does not parse
    (a broken spec is reported as that spec's failure rather than silently left out)."""
    try:
        return is_spec_data(read_yaml(path)[0])  # bounded: an alias bomb in a folder is refused, not expanded
    except SpecError:
        return path.is_file()


def _yaml_files(folder: Path) -> list[Path]:
    """The YAML files under a folder, sorted, outside dot-folders and `out/`, lock files left out."""
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in SKIPPED_FOLDERS)
        for name in sorted(files):
            if name.endswith((".yaml", ".yml")) and not name.endswith((".lock.yaml", ".lock.yml")):
                if not name.startswith("."):
                    found.append(Path(root) / name)
    return found


def find_specs(paths: list[Path]) -> list[Path]:
    """The specs to build: files as given, folders searched; each once, in the order first named."""
    specs: dict[Path, Path] = {}
    for path in paths:
        if path.is_dir():
            found = [p for p in _yaml_files(path) if _looks_like_spec(p)]
            if not found:
                raise UserError(
                    f"{path}: no specs in this folder (a spec is a .yaml file with `version` and one of "
                    "`topic`, `script` or `scenes`)"
                )
        elif path.is_file():
            found = [path]
        else:
            raise UserError(f"{path}: no such spec file or folder")
        for spec in found:
            specs.setdefault(spec.resolve(), spec)
    return list(specs.values())


# --- which changed -------------------------------------------------------------------------------


def _git(args: list[str], where: Path) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(["git", *args], cwd=where, capture_output=True, text=True)
    except FileNotFoundError:
        raise UserError("--changed-since needs git, and it is not on PATH; install git") from None


def changed_files(ref: str, where: Path) -> set[Path]:
    """Files (absolute) that differ between commit REF and the working tree of the repository holding
    `where`: committed since, staged, unstaged, and untracked (not ignored) files."""
    if ref.startswith("-"):
        raise UserError(f"--changed-since {ref}: not a git revision; give a branch, tag or commit")
    top = _git(["rev-parse", "--show-toplevel"], where)
    if top.returncode != 0:
        raise UserError(f"--changed-since: {where} is not inside a git repository; build without it")
    root = Path(top.stdout.strip())
    commit = _git(["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], root)
    if commit.returncode != 0:
        raise UserError(
            f"--changed-since {ref}: no such commit in {root}; give a branch, tag or commit "
            "(in CI, fetch it first: `git fetch origin main`, or check out with fetch-depth: 0)"
        )
    diff = _git(["diff", "--name-only", "--no-renames", "-z", commit.stdout.strip(), "--"], root)
    untracked = _git(["ls-files", "--others", "--exclude-standard", "-z"], root)
    for done in (diff, untracked):
        if done.returncode != 0:
            raise UserError(f"--changed-since {ref}: git failed: {done.stderr.strip().splitlines()[-1:]}")
    names = [n for n in (diff.stdout + untracked.stdout).split("\0") if n]
    return {(root / name).resolve() for name in names}


def spec_files(spec_path: Path) -> set[Path] | None:
    """What a spec's video is made from: the spec, its lock, its style file and the files it names
    (pictures, recordings, music); None when the spec does not load (then it is built, and fails)."""
    try:
        spec = load_spec(spec_path)
    except AutostreamError:
        return None
    files = {spec_path, lock_path(spec_path), *named_files(spec, spec_path.parent)}
    return {f.resolve() for f in files}


def split_changed(specs: list[Path], changed: set[Path]) -> tuple[list[Path], list[Path]]:
    """The specs to build (any of their files changed, or they do not load) and the ones to skip."""
    build, skip = [], []
    for spec in specs:
        files = spec_files(spec)
        (build if files is None or files & changed else skip).append(spec)
    return build, skip


# --- building ------------------------------------------------------------------------------------


@dataclass
class SpecBuild:
    """One spec of a batch: where its video went, how it ended, its steps."""

    spec: Path
    output: Path | None = None
    status: str = "failed"  # built | failed
    steps: list[Step] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0  # from the start of the batch until this spec was final

    def count(self, status: str) -> int:
        """How many of its steps ended with this status."""
        return sum(s.status == status for s in self.steps)

    def line(self) -> str:
        """Its progress line: counts, seconds, and the output or the error."""
        if self.status == "built":
            counts = f"{self.count('built')} built, {self.count('cached')} cached, {self.seconds:.1f}s"
            return f"{self.spec} -> {self.output} ({counts})"
        return f"{self.spec}: FAILED ({self.seconds:.1f}s): {self.error}"

    def report(self) -> dict:
        """Its entry in the batch report: spec, output, status, steps (as in a single build's report)."""
        entry = {"spec": str(self.spec), "output": str(self.output) if self.output else None, "status": self.status}
        entry |= {k: v for k, v in build_report(self.output or Path(), self.steps, self.notes).items() if k != "output"}
        if self.error:
            entry["error"] = self.error
        return entry


@dataclass
class _Planned:
    build: SpecBuild
    resolved: Resolved
    inputs: set[Path]
    left: int  # its steps not final yet


def _one_line(exc: AutostreamError) -> str:
    lines = str(exc).splitlines() or [type(exc).__name__]
    more = f" (and {len(lines) - 1} more problems)" if len(lines) > 1 else ""
    return lines[0] + more


class _Batch:
    """A reporter over the batch's graph: forwards to the user's reporter, and finishes each spec as
    its last step becomes final (on the coordinating thread)."""

    def __init__(self, inner: Reporter, place: Callable[[_Planned], None]):
        self.inner, self.place = inner, place
        self.owner: dict[int, _Planned] = {}

    def plan(self, steps: list[Step]) -> None:
        self.inner.plan(steps)

    def step_started(self, step: Step) -> None:
        self.inner.step_started(step)

    def step_done(self, step: Step) -> None:
        self.inner.step_done(step)
        planned = self.owner[id(step)]
        planned.left -= 1
        if planned.left == 0:
            self.place(planned)

    def note(self, message: str) -> None:
        self.inner.note(message)


def common_folder(specs: list[Path]) -> Path:
    """The deepest folder holding every spec (where a batch's default cache goes)."""
    return Path(os.path.commonpath([str(s.resolve().parent) for s in specs]))


def build_specs(
    specs: list[Path],
    output: Path | None = None,
    cache_dir: Path | None = None,
    jobs: int | None = None,
    refresh: bool = False,
    reporter: Reporter | None = None,
    profile: str = "final",
    verify: bool = False,
    on_done: Callable[[SpecBuild], None] = lambda _: None,
    cache: str | None = None,
    cache_endpoint: str | None = None,
    executor: str = "local",
    broker: str | None = None,
    strict: bool = False,
) -> list[SpecBuild]:
    """Build several specs as one graph over one cache (`cache_dir`, else $AUTOSTREAM_CACHE_DIR, else
    `.autostream/cache` in the folder holding them all; reading through the shared `cache` URL when
    given; on the Celery workers of `broker` with `executor="celery"`); `on_done` hears of each spec once it is final.
    Never raises for one spec's failure: it is that spec's `SpecBuild`."""
    ffmpeg.probe_version()
    ffmpeg.ffmpeg_version()  # no ffmpeg is the command's error (exit 2), not each spec's
    reporter = reporter or Silent()
    started = time.perf_counter()
    store = open_store(cache_dir, common_folder(specs), verify, cache, cache_endpoint)
    results = [SpecBuild(spec) for spec in specs]

    def done(result: SpecBuild) -> None:
        result.seconds = time.perf_counter() - started
        on_done(result)

    def place(planned: _Planned) -> None:
        result = planned.build
        try:
            finish(planned.resolved, store, result.steps, result.output, result.notes, planned.inputs)
            save_state(store, planned.resolved.spec_path, profile, result.steps)
        except AutostreamError as exc:
            result.error = _one_line(exc)
        failed = [s for s in result.steps if s.status == "failed"]
        if failed:
            first = next((s for s in failed if not (s.error or "").startswith("not run")), failed[0])
            result.error = f"{len(failed)} of {len(result.steps)} steps failed; first: {first.label}: {first.error}"
        result.status = "failed" if result.error else "built"
        done(result)

    batch = _Batch(reporter, place)
    planned: list[_Planned] = []
    outputs: dict[Path, Path] = {}
    for result in results:
        try:
            resolved = resolve(result.spec, refresh=refresh, log=reporter.note, sources_root=store.root / "sources")
            if strict:
                check_cited(resolved)
            render, result.notes = choose_render(resolved, profile)
            result.output = output_path(resolved, output, profile)
            other = outputs.setdefault(result.output.resolve(), result.spec)
            if other is not result.spec:
                clash = f"{result.spec}: writes {result.output} as {other} does; give one of them another `output`"
                raise UserError(clash)
            result.steps = plan(resolved.graph, resolved.spec_path.parent, render)
        except AutostreamError as exc:
            result.error = _one_line(exc)
            done(result)
            continue
        inputs = first_inputs(result.spec) | resolved.files | {p for s in result.steps for p in s.files.values()}
        planned.append(_Planned(result, resolved, inputs, len(result.steps)))
        batch.owner |= {id(step): planned[-1] for step in result.steps}
    steps = [step for p in planned for step in p.build.steps]
    if steps:
        reporter.plan(steps)
        jobs = jobs or os.cpu_count() or 1
        run_steps(steps, store, jobs, batch, open_executor(executor, broker, jobs, store))
    return results


def batch_report(results: list[SpecBuild], skipped: list[Path]) -> dict:
    """The JSON report of a batch: one entry per spec built or tried, and the specs skipped as unchanged."""
    return {"specs": [r.report() for r in results], "skipped": [str(s) for s in skipped]}


def _outcome(result: SpecBuild) -> str:
    return str(result.output) if result.status == "built" else result.error or ""


def summary_lines(results: list[SpecBuild], skipped: list[Path], ref: str | None) -> list[str]:
    """The table printed after a batch, one row per spec, and a last line with the totals."""
    rows = [
        (str(r.spec), r.status, str(r.count("built")), str(r.count("cached")), f"{r.seconds:.1f}", _outcome(r))
        for r in results
    ]
    head = ("spec", "status", "built", "cached", "seconds", "output or error")
    widths = [max(len(row[i]) for row in [head, *rows]) for i in range(5)]
    lines = []
    for row in [head, *rows]:
        cells = [row[0].ljust(widths[0]), row[1].ljust(widths[1])] + [row[i].rjust(widths[i]) for i in (2, 3, 4)]
        lines.append("  ".join([*cells, row[5]]).rstrip())
    failed = sum(r.status == "failed" for r in results)
    total = f"{len(results)} specs: {len(results) - failed} built, {failed} failed"
    if ref is not None:
        total += f"; {len(skipped)} unchanged since {ref}, skipped"
    return [*lines, total]


def select_specs(
    paths: list[Path], changed_since: str | None = None, output: Path | None = None
) -> tuple[list[Path], list[Path]]:
    """The specs under `paths` to build, and the ones skipped as unchanged since the git ref
    `changed_since`; UserError for a command that cannot work (a missing path, `-o` with several)."""
    if output and (len(paths) != 1 or paths[0].is_dir()):
        raise UserError(
            "-o/--output names one video; with several specs each goes to its spec's `output` "
            "(else out/<stem>.mp4 beside it)"
        )
    specs = find_specs(paths)
    if changed_since is None:
        return specs, []
    return split_changed(specs, changed_files(changed_since, common_folder(specs)))


def write_report(path: Path, results: list[SpecBuild], skipped: list[Path]) -> None:
    """Write the batch's JSON report (rewritten only when it changed)."""
    write_if_changed(Path(path), json.dumps(batch_report(results, skipped), indent=2) + "\n")
