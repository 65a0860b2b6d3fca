"""`autostream watch`: build a spec, then build it again whenever a file it reads changes.

The file-system callback (a watchdog thread) only records that something happened in a watched
folder. The loop waits until events stop for `debounce` seconds, compares the watched files'
contents with what the last build read, and builds incrementally when they differ; so saves that
change nothing, the lock the build writes itself and editors' temp files cause no build, and an
editor that saves by writing a temp file and renaming it over the spec is seen like any write.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import ObservedWatch

from autostream_compiler import children
from autostream_compiler.digests import file_digest
from autostream_compiler.engine.cache import cache_root
from autostream_compiler.engine.cache_gc import WATCH_MAX_SIZE, collect
from autostream_compiler.engine.pipeline import BuildResult, build, first_inputs
from autostream_compiler.errors import AutostreamError, BuildError, message_lines
from autostream_compiler.expand.lock import lock_path
from autostream_compiler.preview import Preview

Snapshot = dict[Path, str | None]  # file -> content digest, None when missing
SETTLE_LIMIT = 10.0  # seconds: build anyway when a watched folder never goes quiet

logging.getLogger("watchdog").addHandler(logging.NullHandler())
logging.getLogger("watchdog").propagate = False  # its thread's races are not the user's business


def snapshot(files: set[Path]) -> Snapshot:
    """What the files hold now."""
    seen: Snapshot = {}
    for path in files:
        try:
            seen[path] = file_digest(path)
        except OSError:
            seen[path] = None
    return seen


def _watched_folder(path: Path) -> Path:
    """The folder to watch for a file: its own, or the nearest one that exists yet."""
    folder = path.parent
    while not folder.is_dir() and folder != folder.parent:
        folder = folder.parent
    return folder


class _Events(FileSystemEventHandler):
    """Sets `changed` on any event in the watched folders; the loop decides whether it matters."""

    def __init__(self, changed: threading.Event):
        self.changed = changed

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type not in ("opened", "closed_no_write"):
            self.changed.set()


class Watcher:
    """The watch loop: builds, watches the files the build read, waits for a change, builds again."""

    def __init__(
        self,
        spec: Path,
        build_options: dict,
        preview: Preview | None,
        debounce: float,
        say: Callable[[str], None],
        progress: Callable[[], object],
        cache_max_size: int | None = WATCH_MAX_SIZE,
    ):
        self.spec = Path(spec).absolute()
        self.cache_max_size = cache_max_size
        self.lock = lock_path(self.spec).absolute()
        self.options = build_options
        self.preview = preview
        self.debounce = debounce
        self.say = say
        self.progress = progress  # a new StepProgress for each build
        self.changed = threading.Event()
        self.observer = Observer()
        self.watches: dict[Path, ObservedWatch] = {}
        self.files = first_inputs(self.spec)  # then what each build read (its declared inputs)
        self.seen: Snapshot = {}  # what the last build read

    def run(self) -> None:
        """Build, then rebuild on every change, until interrupted (KeyboardInterrupt)."""
        self.observer.start()
        self._watch_folders()  # before the first build: a save during it is an event
        try:
            while True:
                before = snapshot(self.files)
                self._build()
                self._watch_folders()
                # what the build read is what was there before it ran; the lock is its own write
                self.seen = {
                    path: before.get(path, digest) if path != self.lock else digest
                    for path, digest in snapshot(self.files).items()
                }
                self._wait_for_change()
        finally:
            self.observer.stop()

    def _build(self) -> None:
        self.changed.clear()
        if self.preview:
            self.preview.building()
        started = time.perf_counter()
        result: BuildResult | None = None
        try:
            with self.progress() as progress:
                result = build(self.spec, reporter=progress, **self.options)
            self.files = set(result.inputs)
        except AutostreamError as exc:
            result = exc.result if isinstance(exc, BuildError) else None
            self.files = first_inputs(self.spec) | set(exc.inputs)
            lines = message_lines(exc)
            for line in lines:
                self.say(line)
            if self.preview:
                self.preview.failed("\n".join(lines), result.report()["steps"] if result else [])
        else:
            built = sum(s.status == "built" for s in result.steps)
            self.say(
                f"{result.output}  ({built} built, {len(result.steps) - built} cached, "
                f"{time.perf_counter() - started:.1f}s)"
            )
            if self.preview:
                scenes = [
                    {"title": title, "start": round(start, 3), "end": round(end, 3)}
                    for start, end, title in result.chapters
                ]
                self.preview.done(result.video_blob, result.output.name, result.report()["steps"], scenes)
        self._trim_cache()
        self.say(f"watching {len(self.files)} files for changes (Ctrl-C to stop)")

    def _trim_cache(self) -> None:
        """Keep the cache under the cap: every save adds files, the last few builds are what matter."""
        if self.cache_max_size is None:
            return
        try:
            report = collect(
                cache_root(self.options.get("cache_dir"), self.spec.resolve().parent), max_size=self.cache_max_size
            )
        except AutostreamError as exc:
            self.say(f"cache: not trimmed: {exc}")
            return
        if report.actions or report.objects or report.leftovers:
            self.say(f"cache: {report.summary()}")

    def _watch_folders(self) -> None:
        """Watch the folders of the current files (only the ones that changed since last time)."""
        folders = {_watched_folder(p) for p in self.files}
        for gone in set(self.watches) - folders:
            self.observer.unschedule(self.watches.pop(gone))
        for folder in folders - set(self.watches):
            self.watches[folder] = self.observer.schedule(_Events(self.changed), str(folder), recursive=False)

    def _wait_for_change(self) -> None:
        """Return once a watched file differs from what the last build read, after saves settle."""
        while True:
            if self.changed.is_set():  # events: wait until they stop (an editor mid-save)
                settle_until = time.monotonic() + SETTLE_LIMIT
                self.changed.clear()
                while self.changed.wait(self.debounce) and time.monotonic() < settle_until:
                    self.changed.clear()
            if snapshot(self.files) != self.seen:
                return
            self._watch_folders()  # a folder a missing file needs may exist now
            while not self.changed.wait(0.5):  # short waits keep Ctrl-C responsive
                pass


def watch(
    spec: Path,
    build_options: dict,
    serve: tuple[str, int] | None,
    debounce: float,
    say: Callable[..., None],
    progress: Callable[[], object],
    cache_max_size: int | None = WATCH_MAX_SIZE,
) -> None:
    """Run the watch loop (and the preview server) until SIGINT or SIGTERM; then stop every child
    process and return within 5 s, leaving no half-written file. `say(line, err=True)` prints. After
    each build the cache is trimmed to `cache_max_size` bytes (least recently used first)."""
    from autostream_compiler.preview import start

    preview = Preview() if serve else None
    server = start(serve, preview) if serve else None
    if server:
        say(f"preview at {server.url}", err=False)
    stopping_by = []

    def stop(signum, frame) -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # once is enough: the rest is cleanup
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stopping_by.append(time.monotonic())
        children.stop_all()  # ffmpeg ends now; steps not started never start
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        Watcher(spec, build_options, preview, debounce, say, progress, cache_max_size).run()
    except KeyboardInterrupt:
        pass
    finally:
        if server:
            server.stop()
    _finish_steps(deadline=(stopping_by[0] if stopping_by else time.monotonic()) + 4.0)
    say("stopped")


def _finish_steps(deadline: float) -> None:
    """Give steps still running in-process (a picture request, a synthesis) until `deadline`; then
    leave without them: nothing they write is visible until complete, so nothing is half-written."""
    others = [t for t in threading.enumerate() if t is not threading.current_thread() and not t.daemon]
    for thread in others:
        thread.join(max(0.0, deadline - time.monotonic()))
    if any(t.is_alive() for t in others):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
