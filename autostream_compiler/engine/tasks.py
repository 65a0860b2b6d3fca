"""A step as plain data a worker can run, and a worker running it (as Bazel's remote execution does:
the action by digest, its inputs by digest in the shared cache, its outputs back there).

A task names the step's function (one of `STEP_FUNCTIONS`, never anything else), its parameters and
the digests of the files and upstream outputs it reads. The worker fetches those from the shared
cache, prepares the step itself (an ffmpeg step's command, or an in-process action) and rebuilds
its key from what it would run: a task whose key does not follow from it (other code, engines or
ffmpeg on the worker, or a forged message) is refused with a clear failure, so no cache entry is
ever made under a key by other work. No secret travels: workers read keys from their own environment.
"""

from __future__ import annotations

import copy
import time
from functools import partial
from pathlib import Path

from autostream_compiler.digests import digest
from autostream_compiler.engine import actions
from autostream_compiler.engine.cache import Store
from autostream_compiler.engine.recipe import action_identity, version_of
from autostream_compiler.engine.runner import Outcome, Step, StepContext, perform, recipe_of, run_command
from autostream_compiler.env import redact
from autostream_compiler.errors import AutostreamError, BuildError

STEP_FUNCTIONS = {  # what a task may name: the steps of a plan, and nothing else
    f.__name__: f
    for f in (
        actions.tts_piper,
        actions.tts_edge,
        actions.tts_espeak,
        actions.tts_recorded,
        actions.align,
        actions.image_file,
        actions.image_clip,
        actions.image_chain,
        actions.image_page,
        actions.timeline,
        actions.level,
        actions.audio,
        actions.title_card,
        actions.sources_card,
        actions.segment,
        actions.transition,
        actions.mux,
        actions.thumbnail_frame,
        actions.closing,
    )
}
NETWORK_PROVIDERS = {"edge", "hf", "pollinations", "pexels"}  # steps that wait on a service rather than a core
QUEUES = {"cpu": "autostream.cpu", "network": "autostream.network"}


def queue_of(step: Step) -> str:
    """`network` for steps that wait on an online service (many may run at once), else `cpu`."""
    return "network" if step.provider in NETWORK_PROVIDERS else "cpu"


def describe(step: Step, stored: dict[str, dict]) -> dict:
    """A keyed step as JSON-ready data: its function by name, its parameters, and what it reads by
    digest (`stored`: the user's files it reads, as stored in the shared cache)."""
    fn = step.command or step.action
    function = fn.func if isinstance(fn, partial) else fn
    return {
        "key": step.key,
        "kind": step.kind,
        "label": step.label,
        "function": function.__name__,
        "kwargs": dict(fn.keywords) if isinstance(fn, partial) else {},
        "provider": step.provider,
        "params": step.params,
        "file_digests": step.file_digests,
        "files": stored,
        "inputs": {name: dep.outputs for name, dep in step.deps.items()},
    }


def task_inputs(task: dict) -> list[str]:
    """The digests of the blobs a described step reads."""
    upstream = [blob["digest"] for outputs in task["inputs"].values() for blob in outputs.values()]
    return upstream + [blob["digest"] for blob in task["files"].values()]


def same_cache(a: str, b: str) -> bool:
    """Whether two `--cache` values name one shared cache (a folder however written; a bucket and
    prefix whatever the endpoint is called from where)."""
    from autostream_compiler.engine.remote import parse_cache_url

    x, y = parse_cache_url(a), parse_cache_url(b)
    return (x.protocol, x.root.rstrip("/")) == (y.protocol, y.root.rstrip("/"))


def run_task(task: dict, store: Store, worker: str) -> dict:
    """Run a described step on this worker against the shared cache; the outcome as JSON-ready data
    (with `recorded`: whether the cache holds it under the step's key). Never raises."""
    start = time.perf_counter()
    store = _own_session(store)
    try:
        if not same_cache(task["cache"], store.remote.url.shown):
            raise BuildError(
                f"worker {worker} uses the cache {store.remote.shown} but the build uses {task['cache']}; "
                "start the worker with the build's --cache"
            )
        found = store.lookup(task["key"])  # another build (or a task sent twice) made it meanwhile
        if found is not None:
            record, where = found
            if where == "local":  # make sure the shared cache has it too: the build takes it from there
                _share(store, task["key"], record)
            outcome = Outcome("cached", 0.0, record["outputs"], record.get("meta", {}), source="remote")
        else:
            outcome = perform(task["key"], task["kind"], task["label"], _work(task, store), store)
            if store.remote.failed:  # the coordinator could not fetch what stayed here
                outcome = Outcome("failed", outcome.seconds, error=f"worker {worker}: {store.remote.warnings[0]}")
    except AutostreamError as exc:
        outcome = Outcome("failed", time.perf_counter() - start, error=str(exc))
    except Exception as exc:  # noqa: BLE001 - the coordinator hears of every task, even one that crashed here
        outcome = Outcome("failed", time.perf_counter() - start, error=redact(f"{type(exc).__name__}: {exc}"))
    outcome.worker = worker
    data = {name: getattr(outcome, name) for name in Outcome.__dataclass_fields__}
    data["recorded"] = outcome.status != "failed" and store.get_action(task["key"]) is not None
    return data


def _own_session(store: Store) -> Store:
    """The worker's store for one task: the same folders, its remote cache's failure state its own
    (one failed upload fails that task, not the worker's later ones)."""
    mine = copy.copy(store)
    mine.remote = store.remote.session()
    return mine


def _share(store: Store, key: str, record: dict) -> None:
    """Upload a record this worker had only locally (its blobs first)."""
    for blob in record["outputs"].values():
        if not store.remote.put_blob(blob["digest"], store.path(blob["digest"])):
            raise BuildError(store.remote.warnings[-1])
    store.remote.put_action(key, record)


def _work(task: dict, store: Store):
    """What the worker runs for a task: its step function prepared from its inputs (fetched from the
    shared cache), once the key it would make is the task's key."""
    fn = STEP_FUNCTIONS.get(str(task["function"]))
    if fn is None:
        raise BuildError(f"{task['label']}: {task['function']!r} is not a step of autostream; refusing it")
    kwargs = dict(task["kwargs"])
    if kwargs.get("model") is not None:  # a model folder is on the building machine only
        raise BuildError(f"{task['label']}: a step with a local model folder runs where the spec is")
    inputs = {
        dep: {out: store.ensure(blob["digest"], blob["size"]) for out, blob in outputs.items()}
        for dep, outputs in task["inputs"].items()
    }
    files = {name: store.ensure(blob["digest"], blob["size"]) for name, blob in task["files"].items()}
    ctx = StepContext(task["label"], task["provider"], task["params"], inputs, files)
    if fn in _COMMANDS:
        command = fn(ctx)
        run, work = {"command": command.recipe()}, lambda workdir: run_command(command, workdir, task["label"])
    else:
        action = partial(fn, **kwargs) if kwargs else fn
        run = action_identity(action, task["provider"])

        def work(workdir: Path):
            return action(StepContext(task["label"], task["provider"], task["params"], inputs, files, workdir))

    upstream = {dep: {out: blob["digest"] for out, blob in outputs.items()} for dep, outputs in task["inputs"].items()}
    key = digest(recipe_of(task["kind"], task["provider"], task["params"], task["file_digests"], upstream, run))
    if key != task["key"]:
        raise BuildError(
            f"{task['label']}: this worker would make other outputs than the build keyed (its autostream-compiler "
            f"{version_of('autostream-compiler')}, its engines or its ffmpeg differ); install the same versions "
            "on the workers as on the machine that builds"
        )
    return work


_COMMANDS = {actions.segment, actions.transition, actions.mux, actions.thumbnail_frame, actions.closing}


def outcome_of(data: dict) -> Outcome:
    """A worker's outcome from its JSON data."""
    return Outcome(**{name: data.get(name) for name in Outcome.__dataclass_fields__ if name in data})
