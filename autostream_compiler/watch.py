"""`autostream watch`: build a spec, then build it again whenever a file it reads changes.

The file-system callback (a watchdog thread) only records that something happened in a watched
folder. The loop waits until events stop for `debounce` seconds, compares the watched files'
contents with what the last build read, and builds incrementally when they differ; so saves that
change nothing, the lock the build writes itself and editors' temp files cause no build, and an
editor that saves by writing a temp file and renaming it over the spec is seen like any write.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Callable, Optional

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from autostream_compiler import children
from autostream_compiler.build.keys import file_digest
from autostream_compiler.build.pipeline import BuildResult, build
from autostream_compiler.errors import AutostreamError, BuildError, message_lines
from autostream_compiler.expand.lock import lock_path
from autostream_compiler.preview import Preview

Snapshot = dict[str, Optional[str]]  # path -> content digest (None: missing); folder -> its listing


def snapshot(files: set[Path], folders: bool) -> Snapshot:
    """What the watched files hold now, and (`folders`) which names their folders list."""
    seen: Snapshot = {}
    for path in files:
        try:
            seen[str(path)] = file_digest(path)
        except OSError:
            seen[str(path)] = None
    if folders:  # after a failure: a file the spec names may not exist yet
        for folder in {p.parent for p in files}:
            try:
                seen[f"{folder}{os.sep}"] = "\n".join(sorted(os.listdir(folder)))
            except OSError:
                seen[f"{folder}{os.sep}"] = None
    return seen


class _Events(FileSystemEventHandler):
    """Sets `changed` on any event in the watched folders; the loop decides whether it matters."""

    def __init__(self, changed: threading.Event):
        self.changed = changed

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type not in ("opened", "closed_no_write"):
            self.changed.set()


class Watcher:
    """The watch loop: builds, watches the files the build read, waits for a change, builds again."""

    def __init__(self, spec: Path, build_options: dict, preview: Optional[Preview], debounce: float,
                 say: Callable[[str], None], progress: Callable[[], object]):
        self.spec = Path(spec).absolute()
        self.options = build_options
        self.preview = preview
        self.debounce = debounce
        self.say = say
        self.progress = progress  # a new StepProgress for each build
        self.changed = threading.Event()
        self.observer = Observer()
        self.folders: set[Path] = set()
        self.files = {self.spec, lock_path(self.spec).absolute()}
        self.failed = False
        self.builds = 0

    def run(self) -> None:
        """Build, then rebuild on every change, until interrupted (KeyboardInterrupt)."""
        self.observer.start()
        try:
            while True:
                seen = snapshot(self.files, folders=False)
                self._build()
                self._watch(seen)
                self._wait_for_change()
        finally:
            self.observer.stop()
            self.observer.join(2)

    def _build(self) -> None:
        self.changed.clear()
        if self.preview:
            self.preview.building()
        started = time.perf_counter()
        result: Optional[BuildResult] = None
        try:
            with self.progress() as progress:
                result = build(self.spec, on_plan=progress.plan, on_done=progress.done, log=progress.note,
                               **self.options)
        except AutostreamError as exc:
            self.failed = True
            result = exc.result if isinstance(exc, BuildError) else None
            lines = message_lines(exc)
            for line in lines:
                self.say(line)
            if self.preview:
                self.preview.failed("\n".join(lines), result.report()["steps"] if result else [])
        else:
            self.failed = False
            built = sum(s.status == "built" for s in result.steps)
            self.say(f"{result.output}  ({built} built, {len(result.steps) - built} cached, "
                     f"{time.perf_counter() - started:.1f}s)")
            if self.preview:
                scenes = [{"title": title, "start": round(start, 3), "end": round(end, 3)}
                          for start, end, title in result.chapters]
                self.preview.done(result.video_blob, result.output.name, result.report()["steps"], scenes)
        self.builds += 1
        if result is not None:
            self.files = result.inputs | {self.spec}
        self.say(f"watching {len(self.files)} files for changes (Ctrl-C to stop)")

    def _watch(self, before_build: Snapshot) -> None:
        """Watch the folders of the current files; remember what the build read."""
        folders = {p.parent for p in self.files if p.parent.is_dir()}
        if folders != self.folders:
            self.observer.unschedule_all()
            for folder in folders:
                self.observer.schedule(_Events(self.changed), str(folder), recursive=False)
            self.folders = folders
        now = snapshot(self.files, folders=self.failed)
        lock = str(lock_path(self.spec).absolute())
        # what the build read is what was there before it ran; only the lock is the build's own write
        self.seen = {path: before_build.get(path, digest) if path != lock else digest for path, digest in now.items()}

    def _wait_for_change(self) -> None:
        """Return once events have settled and a watched file differs from what the build read."""
        while True:
            while not self.changed.wait(0.5):  # short waits keep Ctrl-C responsive
                pass
            self.changed.clear()
            while self.changed.wait(self.debounce):  # events still coming: an editor mid-save
                self.changed.clear()
            if snapshot(self.files, folders=self.failed) != self.seen:
                return


def watch(spec: Path, build_options: dict, serve: Optional[tuple[str, int]], debounce: float,
          say: Callable[[str], None], progress: Callable[[], object]) -> None:
    """Run the watch loop (and the preview server) until SIGINT or SIGTERM; then stop every child
    process, leave no half-written file and return within a few seconds."""
    from autostream_compiler.preview import start

    preview = Preview() if serve else None
    server = start(serve, preview) if serve else None
    if server:
        say(f"preview at {server.url}")

    def stop(signum, frame) -> None:
        children.stop_all()  # ffmpeg ends now; steps not started never start
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        Watcher(spec, build_options, preview, debounce, say, progress).run()
    except KeyboardInterrupt:
        pass
    finally:
        if server:
            server.stop()
    _finish_steps(deadline=time.monotonic() + 3.0)
    say("stopped")


def _finish_steps(deadline: float) -> None:
    """Give steps still running in-process (a picture request, a synthesis) until `deadline`; then
    leave without them: nothing they write is visible until complete, so nothing is half-written."""
    for thread in threading.enumerate():
        if thread is not threading.current_thread() and not thread.daemon:
            thread.join(max(0.0, deadline - time.monotonic()))
    if any(t.is_alive() and not t.daemon for t in threading.enumerate() if t is not threading.current_thread()):
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        os._exit(0)
