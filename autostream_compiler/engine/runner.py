"""Steps and the runner: keys, dependency order, bounded parallelism, cache lookups, statuses.

Actions run on worker threads and return what they made; only the coordinating thread changes a
step, so a step is never half-updated and the reporter sees each step once, when it is final.
"""

from __future__ import annotations

import ctypes
import errno
import shutil
import time
import traceback
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from autostream_compiler.digests import digest
from autostream_compiler.engine.cache import Store, write_error
from autostream_compiler.engine.recipe import Command, action_identity
from autostream_compiler.env import redact
from autostream_compiler.errors import AutostreamError, BuildError


@dataclass
class StepContext:
    """What an action gets: its step's declared inputs, the paths of its upstream outputs, a scratch folder."""

    label: str
    provider: str
    params: dict
    inputs: dict[str, dict[str, Path]]
    files: dict[str, Path]
    workdir: Path | None = None  # None while a command is only being prepared (nothing is written then)


@dataclass
class Result:
    """What an action made: its output files, facts for the report, warnings, and whether the
    outputs may be reused by later builds (a fallback picture is not)."""

    outputs: dict[str, Path]
    record: dict = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    cacheable: bool = True


@dataclass(eq=False)
class Step:
    """One node of the build graph. Its key hashes what it runs and its declared inputs, never live objects.

    An in-process step has an `action`, keyed by the digest of its code and the versions of the
    engines it uses; an ffmpeg step has a `command` that prepares the exact ffmpeg run from its
    inputs, keyed by that run itself (argv, the files it writes first, the ffmpeg version).
    """

    kind: str
    scene: int | None
    provider: str
    params: dict
    action: Callable[[StepContext], Result] | None = None
    command: Callable[[StepContext], Command] | None = None
    deps: dict[str, Step] = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)  # the user's files it reads
    file_digests: dict[str, str] = field(default_factory=dict)  # their digests, and of packaged data it reads
    key: str | None = None
    prepared: Command | None = None
    runs: str | None = None  # digest of what it runs (its command, or its code and engines)
    outputs: dict[str, dict] = field(default_factory=dict)
    status: str | None = None  # built | cached | failed
    source: str | None = None  # of a cached step: local | remote (the shared cache)
    worker: str | None = None  # the worker (host:pid) that ran it, when a worker did
    local_only: bool = False  # reads files only this machine has (a model folder): never sent to a worker
    seconds: float = 0.0
    error: str | None = None
    traceback: str | None = None
    record: dict = field(default_factory=dict)  # kept with the outputs in the cache (e.g. which provider)
    warnings: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        """How the step is named to a user: `tts scene 3` (1-based) or `mux`."""
        return self.kind if self.scene is None else f"{self.kind} scene {self.scene + 1}"

    def context(self, store: Store, workdir: Path | None = None) -> StepContext:
        """The action's view of this step, its upstream outputs read from the store."""
        inputs = {name: {o: store.path(v["digest"]) for o, v in dep.outputs.items()} for name, dep in self.deps.items()}
        return StepContext(self.label, self.provider, self.params, inputs, self.files, workdir)

    def recipe(self, store: Store) -> dict:
        """Everything that decides this step's outputs, as plain data (what its key hashes)."""
        if self.command is not None:
            self.prepared = self.command(self.context(store))
            run = {"command": self.prepared.recipe()}
        else:
            run = action_identity(self.action, self.provider)
        self.runs = digest(run)
        upstream = {name: {o: v["digest"] for o, v in dep.outputs.items()} for name, dep in self.deps.items()}
        return recipe_of(self.kind, self.provider, self.params, self.file_digests, upstream, run)


def recipe_of(kind: str, provider: str, params: dict, files: dict, upstream: dict, run: dict) -> dict:
    """A step's recipe (what its key hashes): what it is, its parameters, the digests of the files it
    reads and of its upstream outputs, and what runs (a worker rebuilds it to check a task's key)."""
    return {"kind": kind, "provider": provider, "params": params, "files": files, "upstream": upstream, **run}


class Reporter(Protocol):
    """Who hears about a build: the plan, each step as it starts running and once it is final, and
    notes along the way."""

    def plan(self, steps: list[Step]) -> None: ...

    def step_started(self, step: Step) -> None: ...

    def step_done(self, step: Step) -> None: ...

    def note(self, message: str) -> None: ...


class Silent:
    """A reporter that tells no one."""

    def plan(self, steps: list[Step]) -> None:
        pass

    def step_started(self, step: Step) -> None:
        pass

    def step_done(self, step: Step) -> None:
        pass

    def note(self, message: str) -> None:
        pass


def _key(step: Step, store: Store) -> bool:
    """Key a step whose inputs are all known; False (the step failed) when its command cannot be prepared."""
    try:
        step.key = digest(step.recipe(store))
        return True
    except AutostreamError as exc:
        error, trace = str(exc), traceback.format_exc()
    except Exception as exc:  # noqa: BLE001 - an input it cannot read fails this step, not the build
        error, trace = f"{type(exc).__name__}: {exc}", traceback.format_exc()
    step.status, step.error, step.traceback = "failed", redact(error), trace
    return False


def _from_cache(step: Step, store: Store) -> bool:
    """Take a keyed step's outputs from the cache when it holds them."""
    found = store.lookup(step.key)
    if found is None:
        return False
    record, step.source = found
    step.outputs, step.record, step.status = record["outputs"], record.get("meta", {}), "cached"
    return True


def _ready(step: Step) -> bool:
    return all(d.status in ("built", "cached") for d in step.deps.values())


def resolve_cached(steps: list[Step], store: Store) -> None:
    """Key every step whose inputs are known and mark the ones the cache already holds (no running)."""
    for step in steps:  # steps are in dependency order
        if _ready(step) and _key(step, store):
            _from_cache(step, store)


class Executor(Protocol):
    """Where steps run: `submit` starts one (its future gives an `Outcome`); `shutdown` ends the executor
    (with `cancel`, steps not started yet never start). `slots`: how many steps it runs at once (the
    runner submits no more, so the next to run is chosen by priority when a slot frees), or None when
    its queue is elsewhere (workers)."""

    slots: int | None

    def submit(self, step: Step, store: Store) -> Future: ...

    def shutdown(self, cancel: bool = False) -> None: ...


class LocalExecutor:
    """Steps run on this machine's threads, `jobs` at a time."""

    def __init__(self, jobs: int):
        self.slots = max(1, jobs)
        self.pool = ThreadPoolExecutor(max_workers=self.slots)

    def submit(self, step: Step, store: Store) -> Future:
        return self.pool.submit(execute, step, store)

    def shutdown(self, cancel: bool = False) -> None:
        self.pool.shutdown(wait=not cancel, cancel_futures=cancel)


def run_steps(
    steps: list[Step], store: Store, jobs: int, reporter: Reporter | None = None, executor: Executor | None = None
) -> None:
    """Run steps in dependency order on `executor` (else `jobs` threads here); a failure fails only its
    dependants. Steps with the same key run once: the others wait for it and share its outputs.
    The executor is shut down when the steps are done."""
    reporter = reporter or Silent()
    executor = executor or LocalExecutor(jobs)
    pending = list(steps)
    running: dict[Future, Step] = {}
    finished: dict[str, Step] = {}  # key -> the step of this build that ran it
    missed: set[Step] = set()  # ready steps the cache does not hold, waiting for a slot

    def settle(step: Step) -> None:
        pending.remove(step)
        if step.key and step.status == "built":
            finished.setdefault(step.key, step)
        reporter.step_done(step)

    try:
        while pending or running:
            progressed = True
            while progressed:
                progressed = False
                for step in sorted(pending, key=_priority):
                    bad = next((d for d in step.deps.values() if d.status == "failed"), None)
                    if bad is not None:
                        step.status, step.error = "failed", f"not run: {bad.label} failed"
                    elif not _ready(step):
                        continue
                    elif step.key is None and not _key(step, store):
                        pass  # failed while preparing its command
                    elif any(other.key == step.key for other in running.values()):
                        continue  # the same work is under way: share it when it lands
                    elif step.key in finished:
                        _share(step, finished[step.key])
                    elif step in missed or not _from_cache(step, store):
                        missed.add(step)
                        if executor.slots is not None and len(running) >= executor.slots:
                            continue  # it waits here, where the priority orders it, not in a queue
                        running[executor.submit(step, store)] = step
                        pending.remove(step)
                        reporter.step_started(step)
                        continue
                    settle(step)
                    progressed = True
            if running:
                done, _ = wait(list(running), return_when=FIRST_COMPLETED)
                for future in done:
                    step = running.pop(future)
                    _apply(step, future.result())
                    pending.append(step)
                    settle(step)
    except BaseException:  # Ctrl-C, or a watcher stopping: steps not started yet never start
        executor.shutdown(cancel=True)
        raise
    executor.shutdown()


_RANK = {"segment": 2, "transition": 3}  # scene steps: the rest (tts, image, align, level) are 1


def _priority(step: Step) -> tuple[int, float]:
    """Which ready step takes a free slot first. Whole-video steps (timeline, audio, mux): after an
    edit the audio mix is the longest way to the video, and waiting behind scene encodes would add
    their time to it. Then what feeds the renders (narration, pictures, timings), so the audio mix can
    start early; then the scene encodes, longest first; the short joins last, where they fill the
    cores while the last encodes finish instead of a long encode running alone at the end."""
    if step.scene is None:
        return 0, 0.0
    align = step.deps.get("align") if step.kind == "segment" else None
    return _RANK.get(step.kind, 1), -(align.record.get("duration", 0.0) if align else 0.0)


def _share(step: Step, twin: Step) -> None:
    """A step identical to one this build already ran takes its outputs."""
    step.outputs, step.record, step.warnings, step.status = twin.outputs, twin.record, twin.warnings, "cached"
    step.source = "local"


@dataclass
class Outcome:
    """What running a step gave, as plain data (a worker sends it back as JSON)."""

    status: str
    seconds: float
    outputs: dict[str, dict] = field(default_factory=dict)
    record: dict = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    error: str | None = None
    traceback: str | None = None
    worker: str | None = None
    source: str | None = None  # a step a worker found already cached: where from


def _apply(step: Step, outcome: Outcome) -> None:
    step.status, step.seconds, step.outputs = outcome.status, outcome.seconds, outcome.outputs
    step.record, step.warnings = outcome.record, outcome.warnings
    step.error, step.traceback = outcome.error, outcome.traceback
    step.worker, step.source = outcome.worker, outcome.source


def execute(step: Step, store: Store) -> Outcome:
    """Run one step here (its prepared ffmpeg command, or its action) and store its outputs; never raises."""
    if step.prepared is not None:
        return perform(
            step.key, step.kind, step.label, lambda workdir: run_command(step.prepared, workdir, step.label), store
        )
    return perform(step.key, step.kind, step.label, lambda workdir: step.action(step.context(store, workdir)), store)


try:
    _LIBC = ctypes.CDLL(None)
except (OSError, TypeError):  # no C library to ask (Windows)
    _LIBC = None


def _give_back_freed_memory() -> None:
    """Hand back to the system the heap an in-process step freed: glibc keeps it for reuse, and a
    synthesis (piper's buffers) or a picture (its float planes) frees 100-300 MB that the encodes
    running next need more than this process does. Elsewhere than glibc, nothing."""
    trim = getattr(_LIBC, "malloc_trim", None)
    if trim is not None:
        trim(0)


def perform(key: str, kind: str, label: str, work: Callable[[Path], Result], store: Store) -> Outcome:
    """Run `work` in a scratch folder and store its outputs (then the key's action record); never raises."""
    start = time.perf_counter()
    workdir = store.workdir()
    try:
        result = work(workdir)
        outputs = {name: store.put_file(path) for name, path in result.outputs.items()}
        warnings = [redact(w) for w in result.warnings]  # a provider may echo a key back
        if result.cacheable:
            store.put_action(key, {"kind": kind, "outputs": outputs, "meta": result.record})
        return Outcome("built", time.perf_counter() - start, outputs, result.record, warnings)
    except AutostreamError as exc:
        error, trace = str(exc), traceback.format_exc()
    except OSError as exc:
        full = exc.errno in (errno.ENOSPC, errno.EDQUOT)  # the step's folder is in the cache
        error = str(write_error(store.root, exc)) if full else f"{type(exc).__name__}: {exc}"
        trace = traceback.format_exc()
    except Exception as exc:  # noqa: BLE001 - a step's crash is reported as that step's failure
        error, trace = f"{type(exc).__name__}: {exc}", traceback.format_exc()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        _give_back_freed_memory()  # here, so that the long-lived processes of workers do it too
    return Outcome("failed", time.perf_counter() - start, error=redact(error), traceback=redact(trace))


def run_command(command: Command, workdir: Path, label: str) -> Result:
    """Lay out a command's files in `workdir`, run it there and collect its outputs."""
    from autostream_compiler.render import ffmpeg

    for name, text in command.writes.items():
        (workdir / name).write_text(text, encoding="utf-8")
    for name, target in command.links.items():
        (workdir / name).symlink_to(target, target_is_directory=Path(target).is_dir())
    ffmpeg.run(command.argv, cwd=workdir, what=f"ffmpeg ({label})")
    outputs = {name: workdir / file for name, file in command.outputs.items()}
    missing = [file for file in outputs.values() if not file.is_file()]
    if missing:
        raise BuildError(command.if_missing or f"ffmpeg ({label}) wrote no {missing[0].name}")
    return Result(outputs, dict(command.record))
