"""Build steps on Celery workers over Redis: the coordinator's executor and the worker.

The build command stays the coordinator: it keeps the graph, keys each step, and sends each ready
one (see `tasks.describe`) to a queue: `autostream.network` for steps that wait on a service,
`autostream.cpu` for the rest. A worker runs it against the shared cache and pushes the outcome onto
the build's reply list; the coordinator then takes the outputs into its local copy of the cache.

Losing a worker loses no build: tasks are acknowledged late (`acks_late`,
`task_reject_on_worker_lost`, prefetch 1), each worker keeps a heartbeat key alive in Redis, and a
task whose worker's heartbeat is gone is sent again (up to `ATTEMPTS` times) for another worker.
Outputs are content-addressed, so a step that ends up running twice stores the same bytes. A broker
that stops answering fails the steps in flight with one line within `BROKER_WAIT` seconds.

Keys in Redis (besides Celery's queues): `autostream:worker:<name>` (heartbeat, JSON: queues,
concurrency, cache), `autostream:task:<id>` (the worker running a task) and
`autostream:replies:<build>` (outcomes, JSON).
"""

from __future__ import annotations

import json
import os
import socket
import sys
import threading
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from autostream_compiler.engine.cache import Store
from autostream_compiler.engine.runner import LocalExecutor, Outcome, Step
from autostream_compiler.engine.tasks import QUEUES, describe, outcome_of, queue_of, run_task, task_inputs
from autostream_compiler.env import public_url, redact
from autostream_compiler.errors import AutostreamError, BuildError, UserError

TASK = "autostream.run_step"
HEARTBEAT_EVERY = 2.0  # seconds between a worker's heartbeats
HEARTBEAT_TTL = 10  # seconds a heartbeat lives: a worker silent this long is gone, its tasks go elsewhere
ATTEMPTS = 3  # times a step is sent before its lost workers fail it
LOST_AFTER = 5.0  # seconds a step may have ended on a live worker with no reply before it is sent again
LOST_UNSEEN_AFTER = 30.0  # seconds a step may be in no queue and on no worker before it is sent again
BROKER_WAIT = 10.0  # seconds the broker may stop answering before the steps in flight fail
NO_WORKER_WAIT = 30.0  # seconds a queue may have no live worker before its steps fail ($AUTOSTREAM_WORKER_WAIT)
REPLY_TTL = 24 * 3600


def broker_url(url: str | None) -> str:
    """`--broker`, else $AUTOSTREAM_BROKER: a redis:// (or rediss://) URL; UserError (exit 2) otherwise."""
    url = (url or os.environ.get("AUTOSTREAM_BROKER") or "").strip()
    if not url:
        raise UserError("--executor celery needs a broker: give --broker redis://HOST:PORT/0 or set AUTOSTREAM_BROKER")
    parts, shown = urlsplit(url), public_url(url)
    try:
        db = parts.path.strip("/")
        if parts.scheme not in ("redis", "rediss") or not parts.hostname or (db and not db.isdigit()):
            raise ValueError
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        raise UserError(
            f"--broker {shown}: not a Redis URL; give redis://HOST:PORT/N (the workers use Redis)"
        ) from None
    return url


def _imports():
    try:
        import celery
        import redis
    except ImportError:
        raise UserError(
            "--executor celery and `autostream worker` need Celery: pip install 'autostream-compiler[distributed]'"
        ) from None
    return celery, redis


def connect(url: str):
    """A Redis client of the broker, checked to answer; BuildError (exit 1) naming it when it does not."""
    _, redis = _imports()
    client = redis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=10, health_check_interval=15)
    try:
        client.ping()
    except redis.RedisError as exc:
        raise _broker_error(url, exc) from None
    return client


def _broker_error(url: str, exc: BaseException) -> BuildError:
    why = redact(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
    return BuildError(
        f"broker {public_url(url)}: {why.rstrip('.')}; start Redis there or fix --broker/AUTOSTREAM_BROKER"
    )


def celery_app(url: str):
    """The Celery app of a broker, with the delivery guarantees a lost worker needs."""
    celery, _ = _imports()
    app = celery.Celery("autostream", broker=url, set_as_current=False)
    app.conf.update(
        task_acks_late=True,  # a task is acknowledged once it is done, so a lost one is delivered again
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,  # a busy worker holds no queued steps another could run
        task_ignore_result=True,  # outcomes come back on the build's reply list
        task_serializer="json",
        accept_content=["json"],
        task_default_queue=QUEUES["cpu"],
        broker_connection_timeout=5,
        broker_connection_retry_on_startup=True,
        task_publish_retry_policy={"max_retries": 3, "interval_start": 0, "interval_step": 1, "interval_max": 2},
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,
        worker_cancel_long_running_tasks_on_connection_loss=False,
    )
    app.task(name=TASK, bind=True, ignore_result=True)(_run_step)
    return app


# --- the coordinator ---------------------------------------------------------------------------


@dataclass
class _Sent:
    """A step sent to the workers: its future, and the tasks it has been sent as."""

    step: Step
    store: Store
    future: Future
    queue: str
    since: float = field(default_factory=time.monotonic)
    tasks: list[str] = field(default_factory=list)
    held_by: str | None = None  # the worker last seen running it
    gone: float | None = None  # when it was last seen neither queued, running nor answered


class CeleryExecutor:
    """Sends ready steps to Celery workers and collects their outcomes; steps that read files only
    this machine has (`Step.local_only`) run here on `jobs` threads."""

    slots = None  # the workers' queues order the steps

    def __init__(self, broker: str, jobs: int):
        self.url = broker
        self.redis = connect(broker)
        self.app = celery_app(broker)
        self.replies = f"autostream:replies:{uuid.uuid4().hex}"
        self.local = LocalExecutor(jobs)
        self.fetching = ThreadPoolExecutor(max_workers=4, thread_name_prefix="fetch")
        self.sent: dict[str, _Sent] = {}  # task id -> the sent step (several ids when sent again)
        self.shared: set[str] = set()  # digests known to be in the shared cache
        self.files: dict[str, dict] = {}  # the user's files stored for tasks: digest -> {digest, size}
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.broken: BuildError | None = None
        self.monitor = threading.Thread(target=self._monitor, name="celery-replies", daemon=True)
        self.monitor.start()

    def submit(self, step: Step, store: Store) -> Future:
        if step.local_only:
            return self.local.submit(step, store)
        future: Future = Future()
        if store.remote is None:
            future.set_result(Outcome("failed", 0.0, error="--executor celery needs a shared cache: give --cache URL"))
            return future
        sent = _Sent(step, store, future, queue_of(step))
        task = self._task(sent)
        if task is not None:
            self._send(sent, task)
        return future

    def _task(self, sent: _Sent) -> dict | None:
        """The step described for a worker, its inputs in the shared cache; None (the step failed) when
        they cannot be put there."""
        step, store = sent.step, sent.store
        try:
            task = describe(step, self._stored_files(step, store))
            task["cache"] = store.remote.url.shown
            self._share_inputs(task, store)
            return task
        except AutostreamError as exc:
            error = str(exc)
        except Exception as exc:  # noqa: BLE001 - a file gone mid-build fails this step, never the build
            error = redact(f"{type(exc).__name__}: {exc}")
        self._settle(sent, Outcome("failed", 0.0, error=error))
        return None

    def _stored_files(self, step: Step, store: Store) -> dict[str, dict]:
        """The user's files a step reads, stored in the caches (once per file version), checked to be the
        bytes its key was made from."""
        stored = {}
        for name, path in step.files.items():
            known = step.file_digests.get(name)
            if known not in self.files:
                self.files[known] = store.put_file(path)
                if self.files[known]["digest"] != known:
                    del self.files[known]
                    raise BuildError(f"{path} changed during the build; build again")
                self.shared.add(known)
            stored[name] = self.files[known]
        return stored

    def _share_inputs(self, task: dict, store: Store) -> None:
        """Upload the step's inputs the shared cache may lack: outputs this machine had cached before it
        used the shared cache (those of workers, and files stored for a task, are there already)."""
        for blob in task_inputs(task):
            if blob not in self.shared:
                remote = store.remote.session()  # one failed upload fails this step, not the rest
                if not remote.put_blob(blob, store.path(blob)):
                    raise BuildError(remote.warnings[-1])
                self.shared.add(blob)

    def _send(self, sent: _Sent, task: dict) -> None:
        """Publish a task for the step (again, after a lost worker); a dead broker fails the step."""
        if self.broken is not None:
            self._settle(sent, Outcome("failed", 0.0, error=str(self.broken)))
            return
        task_id = uuid.uuid4().hex
        with self.lock:
            sent.tasks.append(task_id)
            self.sent[task_id] = sent
        try:
            self.app.send_task(TASK, args=[task, self.replies], task_id=task_id, queue=QUEUES[sent.queue])
        except Exception as exc:  # noqa: BLE001 - kombu's connection errors have no common base
            self._settle(sent, Outcome("failed", 0.0, error=str(_broker_error(self.url, exc))))

    def _settle(self, sent: _Sent, outcome: Outcome) -> None:
        with self.lock:
            for task_id in sent.tasks:
                self.sent.pop(task_id, None)
        if not sent.future.done():
            sent.future.set_result(outcome)

    def _monitor(self) -> None:
        """Take outcomes off the reply list as they come; every second, look for lost workers."""
        _, redis = _imports()
        checked, failing = time.monotonic(), None
        while not self.stopped.is_set():
            try:
                item = self.redis.blpop([self.replies], timeout=1)
                failing = None
                if item is not None:
                    self._received(json.loads(item[1]))
                if time.monotonic() - checked >= 1:
                    checked = time.monotonic()
                    self._check_workers()
            except redis.RedisError as exc:
                failing = failing or time.monotonic()
                if time.monotonic() - failing >= BROKER_WAIT:
                    self._fail_all(_broker_error(self.url, exc))
                    failing = None
                self.stopped.wait(0.5)
            except Exception as exc:  # noqa: BLE001 - e.g. a garbled reply: fail the steps, never hang the build
                self._fail_all(BuildError(redact(f"celery executor: {type(exc).__name__}: {exc}")))

    def _received(self, data: dict) -> None:
        with self.lock:
            sent = self.sent.get(data.get("task", ""))
        if sent is None or sent.future.done():
            return  # a step already settled (sent twice, both ran)
        with self.lock:
            for task_id in sent.tasks:
                self.sent.pop(task_id, None)
        self.fetching.submit(self._take_outputs, sent, data)

    def _take_outputs(self, sent: _Sent, data: dict) -> None:
        """Bring a finished step's outputs into the local copy of the cache, then settle it."""
        outcome = outcome_of(data)
        try:
            if outcome.status != "failed":
                for blob in outcome.outputs.values():
                    sent.store.ensure(blob["digest"], blob["size"])
                    self.shared.add(blob["digest"])
                if data.get("recorded"):
                    record = {"kind": sent.step.kind, "outputs": outcome.outputs, "meta": outcome.record}
                    sent.store.put_action(sent.step.key, record, upload=False)
            if outcome.status == "cached":
                outcome.source = "remote"
        except AutostreamError as exc:
            outcome = Outcome("failed", outcome.seconds, error=str(exc), worker=outcome.worker)
        except Exception as exc:  # noqa: BLE001 - never leave a future unsettled
            outcome = Outcome("failed", outcome.seconds, error=redact(f"{type(exc).__name__}: {exc}"))
        if not sent.future.done():
            sent.future.set_result(outcome)

    def _check_workers(self) -> None:
        """Send again the steps whose worker's heartbeat stopped, or that no worker holds and no queue
        has (a reply lost with a worker, a task a worker dropped); fail those no live worker would take."""
        with self.lock:
            pending = dict(self.sent)
        if not pending:
            return
        ids = list(pending)
        running = [r.decode() if r else None for r in self.redis.mget([f"autostream:task:{i}" for i in ids])]
        alive = live_workers(self.redis)
        queued = {queue: self.redis.llen(name) for queue, name in QUEUES.items()}
        now = time.monotonic()
        for task_id, worker in zip(ids, running):
            sent = pending[task_id]
            if sent.future.done() or task_id != sent.tasks[-1]:
                continue
            if worker is not None:
                sent.held_by, sent.gone = worker, None
                if worker not in alive:
                    self._lost(sent, f"its worker {worker} stopped")
            elif not any(QUEUES[sent.queue] in w.get("queues", []) for w in alive.values()):
                if now - sent.since >= _no_worker_wait():
                    self._settle(sent, Outcome("failed", 0.0, error=self._no_worker(sent.queue)))
            elif sent.held_by is not None or queued[sent.queue] == 0:
                sent.gone = sent.gone or now  # started and ended with no reply, or in no queue: lost
                if now - sent.gone >= (LOST_AFTER if sent.held_by else LOST_UNSEEN_AFTER):
                    self._lost(sent, f"no answer from {sent.held_by or 'any worker'}")
            else:
                sent.since, sent.gone = now, None

    def _lost(self, sent: _Sent, why: str) -> None:
        if len(sent.tasks) >= ATTEMPTS:
            error = f"lost {len(sent.tasks)} times ({why}); check the workers' logs"
            self._settle(sent, Outcome("failed", 0.0, error=error))
            return
        task = self._task(sent)
        if task is not None:
            sent.since, sent.held_by, sent.gone = time.monotonic(), None, None
            self._send(sent, task)

    def _no_worker(self, queue: str) -> str:
        return (
            f"no worker takes {QUEUES[queue]} on {public_url(self.url)} (waited {_no_worker_wait():g} s); start one: "
            f"autostream worker --broker {public_url(self.url)} --cache URL"
        )

    def _fail_all(self, error: BuildError) -> None:
        self.broken = error
        with self.lock:
            pending = {id(s): s for s in self.sent.values()}.values()
        for sent in list(pending):
            self._settle(sent, Outcome("failed", 0.0, error=str(error)))

    def shutdown(self, cancel: bool = False) -> None:
        self.local.shutdown(cancel)
        if cancel:
            with self.lock:
                ids = list(self.sent)
            if ids:
                try:
                    self.app.control.revoke(ids)  # the queued ones never start
                except Exception:  # noqa: BLE001 - the broker may be what failed
                    pass
        self.stopped.set()
        try:
            self.redis.rpush(self.replies, "{}")  # wakes the monitor from its wait at once
        except Exception:  # noqa: BLE001 - the broker may be what failed: the wait ends within a second
            pass
        self.monitor.join(timeout=3)
        self.fetching.shutdown(wait=not cancel, cancel_futures=cancel)
        try:
            self.redis.delete(self.replies)
            self.redis.close()
        except Exception:  # noqa: BLE001
            pass


def _no_worker_wait() -> float:
    try:
        return float(os.environ.get("AUTOSTREAM_WORKER_WAIT") or NO_WORKER_WAIT)
    except ValueError:
        return NO_WORKER_WAIT


def live_workers(client) -> dict[str, dict]:
    """The workers whose heartbeat is alive: name -> what they said of themselves."""
    names = list(client.scan_iter(match="autostream:worker:*", count=1000))
    found = {}
    for name, value in zip(names, client.mget(names) if names else []):
        try:
            info = json.loads(value) if value is not None else None
        except ValueError:
            continue  # not a heartbeat of ours
        if isinstance(info, dict):
            found[name.decode().removeprefix("autostream:worker:")] = info
    return found


# --- the worker --------------------------------------------------------------------------------


@dataclass
class _Worker:
    name: str
    store: Store
    redis: object


_worker: _Worker | None = None  # set in a worker process by `start_worker`


def _run_step(celery_task, task: dict, replies: str) -> None:
    """The Celery task: run one described step and push its outcome onto the build's reply list (a
    failure here is a failed outcome too: the build always hears back while this worker lives)."""
    me = _worker
    if me is None:
        raise RuntimeError("autostream tasks run only in `autostream worker`")
    task_id = celery_task.request.id
    try:
        me.redis.set(f"autostream:task:{task_id}", me.name, ex=REPLY_TTL)
        data = run_task(task, me.store, me.name)
    except BaseException as exc:  # noqa: BLE001 - still answer, then let Celery see it
        data = {"status": "failed", "seconds": 0.0, "worker": me.name, "error": redact(f"{type(exc).__name__}: {exc}")}
        _reply(me, replies, {**data, "task": task_id})
        raise
    data["task"] = task_id
    line = f"{task.get('label')}: {data['status']} in {data['seconds']:.1f}s"
    print(line if data["status"] != "failed" else f"{line}: {data['error']}", file=sys.stderr, flush=True)
    _reply(me, replies, data)


def _reply(me: _Worker, replies: str, data: dict) -> None:
    """Push an outcome onto a build's reply list (a few tries through a broker blip), then drop the
    task's running marker."""
    for attempt in range(5):
        try:
            pipe = me.redis.pipeline()
            pipe.rpush(replies, json.dumps(data))
            pipe.expire(replies, REPLY_TTL)
            pipe.delete(f"autostream:task:{data['task']}")
            pipe.execute()
            return
        except Exception:  # noqa: BLE001 - the coordinator sends it again if this never lands
            time.sleep(0.5 * (attempt + 1))


def worker_name() -> str:
    """This worker process's name: host:pid."""
    return f"{socket.gethostname()}:{os.getpid()}"


def start_worker(broker: str, store: Store, concurrency: int, queues: list[str]) -> None:
    """Run a Celery worker for build steps until it is stopped (Ctrl-C or SIGTERM finish the steps
    it runs first); its heartbeat says it is alive and which queues it takes."""
    global _worker
    client = connect(broker)
    app = celery_app(broker)
    name = worker_name()
    _worker = _Worker(name, store, client)
    info = json.dumps({"queues": [QUEUES[q] for q in queues], "concurrency": concurrency, "cache": store.remote.shown})
    stop = threading.Event()

    def beat() -> None:
        while not stop.is_set():
            try:
                client.set(f"autostream:worker:{name}", info, ex=HEARTBEAT_TTL)
            except Exception:  # noqa: BLE001 - the broker may be restarting; Celery says so in its log
                pass
            stop.wait(HEARTBEAT_EVERY)

    threading.Thread(target=beat, name="heartbeat", daemon=True).start()
    print(
        f"worker {name}: queues {', '.join(QUEUES[q] for q in queues)}; {concurrency} at once; "
        f"cache {store.remote.shown}; broker {public_url(broker)}",
        file=sys.stderr,
        flush=True,
    )
    argv = [
        "--quiet",  # no banner: the line above says what this worker is
        "worker",
        "--pool",
        "threads",
        "--concurrency",
        str(concurrency),
        "--queues",
        ",".join(QUEUES[q] for q in queues),
    ]
    argv += ["--hostname", f"autostream-{os.getpid()}@{socket.gethostname()}", "--loglevel", "WARNING"]
    argv += ["--without-gossip", "--without-mingle"]
    try:
        app.worker_main(argv)
    finally:
        stop.set()
        try:
            client.delete(f"autostream:worker:{name}")
        except Exception:  # noqa: BLE001
            pass
