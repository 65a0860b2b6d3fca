"""Steps and the runner: dependency order, bounded parallelism, cache lookups, statuses."""

from __future__ import annotations

import shutil
import time
import traceback
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

from autostream_compiler.digests import digest
from autostream_compiler.engine.cache import Store
from autostream_compiler.env import redact
from autostream_compiler.errors import AutostreamError


@dataclass
class StepContext:
    """What a step's action gets: a scratch folder and the paths of its inputs."""

    workdir: Path
    inputs: dict[str, dict[str, Path]]
    files: dict[str, Path]


@dataclass(eq=False)
class Step:
    """One node of the build graph. Its key hashes declared inputs only, never live objects."""

    kind: str
    scene: int | None
    version: int
    provider: str
    params: dict
    action: Callable[[StepContext, Step], dict[str, Path]]
    deps: dict[str, Step] = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)
    file_digests: dict[str, str] = field(default_factory=dict)
    key: str | None = None
    outputs: dict[str, dict] = field(default_factory=dict)
    status: str | None = None  # built | cached | failed
    seconds: float = 0.0
    error: str | None = None
    traceback: str | None = None
    record: dict = field(default_factory=dict)  # kept with the outputs in the cache (e.g. which provider)
    warnings: list[str] = field(default_factory=list)
    cacheable: bool = True  # an action clears it when its result should be made again next build

    @property
    def label(self) -> str:
        """How the step is named to a user: `tts scene 3` (1-based) or `mux`."""
        return self.kind if self.scene is None else f"{self.kind} scene {self.scene + 1}"

    def compute_key(self) -> str:
        """sha256 of kind, version, provider, parameters, local file digests and upstream outputs."""
        return digest(
            {
                "kind": self.kind,
                "version": self.version,
                "provider": self.provider,
                "params": self.params,
                "files": self.file_digests,
                "upstream": {name: {o: v["digest"] for o, v in dep.outputs.items()} for name, dep in self.deps.items()},
            }
        )


def _from_cache(step: Step, store: Store) -> bool:
    """Key a step whose inputs are all known; take its outputs from the cache when it holds them."""
    step.key = step.compute_key()
    record = store.get_action(step.key)
    if record is None:
        return False
    step.outputs, step.record, step.status = record["outputs"], record.get("meta", {}), "cached"
    return True


def _ready(step: Step) -> bool:
    return all(d.status in ("built", "cached") for d in step.deps.values())


def resolve_cached(steps: list[Step], store: Store) -> None:
    """Key every step whose inputs are known and mark the ones the cache already holds (no running)."""
    for step in steps:  # steps are in dependency order
        if _ready(step):
            _from_cache(step, store)


def run_steps(steps: list[Step], store: Store, jobs: int, on_done: Callable[[Step], None] = lambda s: None) -> None:
    """Run steps in dependency order, `jobs` at a time; a failure fails only its dependants."""
    pending = [s for s in steps]
    running: dict[Future, Step] = {}
    pool = ThreadPoolExecutor(max_workers=max(1, jobs))
    try:
        while pending or running:
            progressed = True
            while progressed:
                progressed = False
                for step in list(pending):
                    if any(d.status == "failed" for d in step.deps.values()):
                        bad = next(d for d in step.deps.values() if d.status == "failed")
                        step.status, step.error = "failed", f"not run: {bad.label} failed"
                    elif _ready(step):
                        if not _from_cache(step, store):
                            running[pool.submit(_execute, step, store)] = step
                            pending.remove(step)
                            continue
                    else:
                        continue
                    pending.remove(step)
                    on_done(step)
                    progressed = True
            if running:
                done, _ = wait(list(running), return_when=FIRST_COMPLETED)
                for future in done:
                    on_done(running.pop(future))
    except BaseException:  # Ctrl-C, or a watcher stopping: steps not started yet never start
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


def _execute(step: Step, store: Store) -> None:
    start = time.perf_counter()
    workdir = store.workdir()
    try:
        ctx = StepContext(
            workdir=workdir,
            inputs={
                name: {o: store.path(v["digest"], verify=True) for o, v in dep.outputs.items()}
                for name, dep in step.deps.items()
            },
            files=step.files,
        )
        produced = step.action(ctx, step)
        step.outputs = {name: store.put_file(path) for name, path in produced.items()}
        if step.cacheable:
            store.put_action(step.key, {"kind": step.kind, "outputs": step.outputs, "meta": step.record})
        step.status = "built"
    except AutostreamError as exc:
        step.status, step.error = "failed", str(exc)
        step.traceback = traceback.format_exc()
    except Exception as exc:  # noqa: BLE001 - a step's crash is reported as that step's failure
        step.status, step.error = "failed", f"{type(exc).__name__}: {exc}"
        step.traceback = traceback.format_exc()
    finally:
        step.error = step.error and redact(step.error)  # a provider may echo a key back in its error
        step.warnings = [redact(w) for w in step.warnings]
        step.seconds = time.perf_counter() - start
        shutil.rmtree(workdir, ignore_errors=True)
