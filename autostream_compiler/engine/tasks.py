"""A step as plain data a worker can run, and a worker running it (as Bazel's remote execution does:
the action by digest, its inputs by digest in the shared cache, its outputs back there).

The coordinator keys and prepares each step as always; `describe` turns it into JSON: an ffmpeg
step's exact command (its inputs as blob digests or files of the package), or an in-process step's
action by name with its parameters and the digests of its inputs. `run_task` on a worker fetches the
inputs from the shared cache, checks that what it would run is what the coordinator keyed (the
same code, engines and ffmpeg: else a clear failure, never a cache entry made by other code),
runs it and stores the outputs there. No secret travels: workers read keys from their own environment.
"""

from __future__ import annotations

import copy
import time
from functools import partial
from importlib import import_module
from pathlib import Path

from autostream_compiler.digests import digest
from autostream_compiler.engine.cache import Store
from autostream_compiler.engine.recipe import PACKAGE_DIR, Command, action_identity, version_of
from autostream_compiler.engine.runner import Outcome, Result, Step, StepContext, perform, run_command
from autostream_compiler.env import redact
from autostream_compiler.errors import AutostreamError, BuildError

ACTIONS = "autostream_compiler.engine.actions"  # the only module a task may name a function of
NETWORK_PROVIDERS = {"edge", "hf", "pollinations"}  # steps that wait on a service rather than a core
QUEUES = {"cpu": "autostream.cpu", "network": "autostream.network"}


def queue_of(step: Step) -> str:
    """`network` for steps that wait on an online service (many may run at once), else `cpu`."""
    return "network" if step.provider in NETWORK_PROVIDERS else "cpu"


def describe(step: Step, store: Store) -> dict:
    """A keyed, prepared step as JSON-ready data: what it runs and its inputs by digest (the user's
    files it reads are stored in the shared cache first)."""
    task = {"key": step.key, "runs": step.runs, "kind": step.kind, "label": step.label, "cache": store.remote.shown}
    if step.prepared is not None:
        command = step.prepared
        task["command"] = {
            "argv": command.argv[1:],  # the worker runs its own ffmpeg (the same version: checked)
            "outputs": command.outputs,
            "writes": command.writes,
            "links": {name: _link(Path(path), store) for name, path in command.links.items()},
            "record": command.record,
            "if_missing": command.if_missing,
        }
        return task
    action = step.action
    function = action.func if isinstance(action, partial) else action
    task["action"] = {
        "function": f"{function.__module__}:{function.__qualname__}",
        "kwargs": dict(action.keywords) if isinstance(action, partial) else {},
        "provider": step.provider,
        "params": step.params,
        "inputs": {name: dep.outputs for name, dep in step.deps.items()},
        "files": {name: store.put_file(path) for name, path in step.files.items()},
    }
    return task


def _link(path: Path, store: Store) -> dict:
    """A command's linked input: a blob by digest, or a file or folder of the package by its place."""
    if path.parent.parent == store.objects:
        return {"blob": path.name, "size": path.stat().st_size}
    if path.resolve().is_relative_to(PACKAGE_DIR):
        return {"package": path.resolve().relative_to(PACKAGE_DIR).as_posix()}
    return {"blob": (stored := store.put_file(path))["digest"], "size": stored["size"]}


def task_inputs(task: dict) -> list[str]:
    """The digests of the blobs a described step reads."""
    if "command" in task:
        return [link["blob"] for link in task["command"]["links"].values() if "blob" in link]
    action = task["action"]
    return [blob["digest"] for outputs in action["inputs"].values() for blob in outputs.values()] + [
        blob["digest"] for blob in action["files"].values()
    ]


def run_task(task: dict, store: Store, worker: str) -> dict:
    """Run a described step on this worker against the shared cache; the outcome as JSON-ready data
    (with `recorded`: whether the cache holds it under the step's key). Never raises."""
    start = time.perf_counter()
    store = _own_session(store)
    try:
        if task["cache"] != store.remote.shown:
            raise BuildError(
                f"worker {worker} uses the cache {store.remote.shown} but the build uses {task['cache']}; "
                "start the worker with the build's --cache"
            )
        found = store.lookup(task["key"])  # another build (or a redelivered task) made it meanwhile
        if found is not None:
            record, _ = found
            outcome = Outcome("cached", 0.0, record["outputs"], record.get("meta", {}), source="remote")
        else:
            work = _command_work(task, store) if "command" in task else _action_work(task, store)
            outcome = perform(task["key"], task["kind"], task["label"], work, store)
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


def _mismatch(task: dict, worker_has: str) -> BuildError:
    return BuildError(
        f"{task['label']}: this worker would run other code than the build keyed ({worker_has}); "
        "install the same autostream-compiler and ffmpeg on the workers as on the machine that builds"
    )


def _command_work(task: dict, store: Store):
    """An ffmpeg step's run on this worker: its inputs fetched, its command checked against the key."""
    from autostream_compiler.render.ffmpeg import ffmpeg_exe, ffmpeg_version

    spec = task["command"]
    links = {}
    for name, link in spec["links"].items():
        links[name] = store.ensure(link["blob"], link["size"]) if "blob" in link else PACKAGE_DIR / link["package"]
    command = Command(
        [ffmpeg_exe(), *spec["argv"]], spec["outputs"], spec["writes"], links, spec["record"], spec["if_missing"]
    )
    if digest({"command": command.recipe()}) != task["runs"]:
        raise _mismatch(task, f"{ffmpeg_version()}, autostream-compiler {version_of('autostream-compiler')}")
    return lambda workdir: run_command(command, workdir, task["label"])


def _action_work(task: dict, store: Store):
    """An in-process step's run on this worker: its function (of the actions module only), its inputs
    fetched, its code and engines checked against the key."""
    spec = task["action"]
    module, _, name = spec["function"].partition(":")
    if module != ACTIONS or not name.isidentifier():
        raise BuildError(f"{task['label']}: a task may only name a function of {ACTIONS}, not {spec['function']}")
    function = getattr(import_module(module), name, None)
    if function is None:
        raise _mismatch(task, f"no {spec['function']}")
    action = partial(function, **spec["kwargs"]) if spec["kwargs"] else function
    if digest(action_identity(action, spec["provider"])) != task["runs"]:
        raise _mismatch(task, f"autostream-compiler {version_of('autostream-compiler')}")
    inputs = {
        dep: {out: store.ensure(blob["digest"], blob["size"]) for out, blob in outputs.items()}
        for dep, outputs in spec["inputs"].items()
    }
    files = {name: store.ensure(blob["digest"], blob["size"]) for name, blob in spec["files"].items()}

    def work(workdir: Path) -> Result:
        return action(StepContext(task["label"], spec["provider"], spec["params"], inputs, files, workdir))

    return work


def outcome_of(data: dict) -> Outcome:
    """A worker's outcome from its JSON data."""
    return Outcome(**{name: data.get(name) for name in Outcome.__dataclass_fields__ if name in data})
