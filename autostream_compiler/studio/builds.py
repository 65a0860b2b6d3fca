"""Studio builds: `autostream build` of a job's spec in a child process, followed through the JSON
events it writes (`--events -`), cancellable at any time.

A child process rather than a thread: cancelling is killing it (its ffmpeg children die with it, and
the cache keeps every step that finished), a crash cannot take the studio down, the memory a build
uses is given back when it ends, and the studio builds exactly what `autostream build` builds.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from autostream_compiler.errors import UserError
from autostream_compiler.studio.workspace import Workspace, job_slug

POLL = 0.5  # seconds between progress updates while nothing happens (a cancel lands within this)
LOG_LINES = 400  # the log keeps this many last lines


@dataclass
class Progress:
    """Where a build is: counts of final steps by status, what is running, the log so far."""

    total: int = 0
    built: int = 0
    cached: int = 0
    failed: int = 0
    running: list[str] = field(default_factory=list)
    log: list[str] = field(default_factory=list)
    seconds: float = 0.0
    state: str = "starting"  # starting | building | built | failed | cancelled
    error: str | None = None
    lines: int = 0  # lines ever added to the log (it keeps only the last LOG_LINES)

    @property
    def done(self) -> int:
        return self.built + self.cached + self.failed

    def line(self) -> str:
        """One line for a progress bar: counts, current step and time."""
        if self.state == "starting":
            return f"reading the spec… {self.seconds:.0f}s"
        current = f" · {', '.join(self.running[:3])}" if self.running else ""
        return f"{self.built} built, {self.cached} cached of {self.total}{current} · {self.seconds:.1f}s"

    def add(self, *lines: str) -> None:
        """Append lines to the log."""
        self.log += lines
        self.lines += len(lines)
        del self.log[:-LOG_LINES]

    def take(self, event: dict) -> None:
        """Apply one build event."""
        kind = event.get("event")
        if kind == "plan":
            self.total, self.state = int(event["total"]), "building"
        elif kind == "started":
            self.running.append(event["label"])
        elif kind == "done":
            label, status = event["label"], event["status"]
            if label in self.running:
                self.running.remove(label)
            setattr(self, status, getattr(self, status) + 1)
            if status != "cached":
                line = f"{status:<7} {label:<18} {event.get('seconds', 0):6.2f}s"
                line += f"  on {event['worker']}" if event.get("worker") else ""
                self.add(line + (f"  {event['error']}" if event.get("error") else ""))
            self.add(*(f"warning {label}: {w}" for w in event.get("warnings", [])))
        elif kind == "note":
            self.add(event["message"])


class Build:
    """One running build of a job."""

    def __init__(self, workspace: Workspace, slug: str, profile: str = "final"):
        self.workspace, self.slug, self.profile = workspace, slug, profile
        self.progress = Progress()
        self.cancelled = threading.Event()
        self.finished = False
        self.finishing = threading.Lock()
        self.started = time.monotonic()
        out = workspace.video(slug, profile)
        argv = [
            sys.executable,
            "-m",
            "autostream_compiler",
            "build",
            f"{slug}/{slug}.yaml",  # named as `autostream build` run in the workspace names it in errors
            "-o",
            str(out.relative_to(workspace.root)),
            "--report",
            f"{slug}/out/{slug}.report.json",
            "--cache-dir",
            str(workspace.cache),
            "--profile",
            profile,
            "--events",
            "-",
        ]
        self.process = subprocess.Popen(
            argv,
            cwd=workspace.root,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            errors="replace",
            start_new_session=True,  # its own process group: cancel reaches its ffmpeg children too
        )
        self.events: queue.Queue[dict | None] = queue.Queue()
        self.stderr: list[str] = []
        threading.Thread(target=self._read_events, daemon=True).start()
        self._stderr_reader = threading.Thread(target=self._read_stderr, daemon=True)
        self._stderr_reader.start()

    def _read_events(self) -> None:
        for line in self.process.stdout:
            if line.startswith("{"):
                try:
                    self.events.put(json.loads(line))
                except ValueError:
                    pass
        self.events.put(None)

    def _read_stderr(self) -> None:
        self.stderr = self.process.stderr.readlines()

    def follow(self) -> Iterator[Progress]:
        """Progress after each event, and every POLL seconds while none comes; the last one is final
        (state built, failed or cancelled) and is recorded in the job's `out/studio.json`."""
        while True:
            try:
                event = self.events.get(timeout=POLL)
            except queue.Empty:
                self.progress.seconds = time.monotonic() - self.started
                yield self.progress
                continue
            if event is None:
                break
            self.progress.take(event)
            self.progress.seconds = time.monotonic() - self.started
            yield self.progress
        self.process.wait()
        self._stderr_reader.join()
        self._finish()
        yield self.progress

    def _finish(self) -> None:
        """Record how the build ended, once (the follower and a stop may both get here)."""
        with self.finishing:
            if self.finished:
                return
            self.finished = True
        progress = self.progress
        progress.seconds = time.monotonic() - self.started
        progress.running = []
        if self.process.returncode == 0:
            progress.state = "built"
        elif self.cancelled.is_set():
            progress.state, progress.error = "cancelled", "cancelled; the finished steps are kept in the cache"
        else:
            progress.state, progress.error = "failed", self._error()
        if progress.error:
            progress.add(progress.error)
        self.workspace.record(self.slug, progress.state, progress.error, progress.seconds, self.profile)

    def _error(self) -> str:
        """The CLI's own error lines (`error: …`, or a spec's `file:line:col: …` problems); never a
        traceback or a library's warning."""
        spec = f"{self.slug}/{self.slug}.yaml:"
        lines = [line.rstrip("\n") for line in self.stderr]
        errors = [line.removeprefix("error: ") for line in lines if line.startswith(("error: ", spec))]
        if errors:
            return "\n".join(errors[-20:])
        return (
            f"the build stopped unexpectedly (exit code {self.process.returncode}); run "
            f"`autostream --debug build {self.slug}/{self.slug}.yaml` in the workspace to see why"
        )

    def stop(self) -> None:
        """End the build if it still runs (its follower went away: a cancelled request) and record
        how it ended, unless its follower already did."""
        self.cancel()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass  # SIGKILL was sent; the reader threads finish when it is gone
        self._stderr_reader.join(timeout=5)
        self._finish()

    def cancel(self) -> None:
        """Stop the build now: the child and its ffmpeg processes are killed; steps that finished stay
        in the cache, outputs are never left half-written (they are renamed into place). A no-op once
        it has ended."""
        if self.process.poll() is None:
            self.cancelled.set()
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


class Builds:
    """The builds running now, by job; at most one per job."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running: dict[str, Build] = {}

    def start(self, workspace: Workspace, text: str, job: str | None, profile: str) -> Build:
        """Save a spec's text as its job's spec and start building it; refused (nothing saved) while
        that job builds."""
        slug = job_slug(job, text)
        with self.lock:
            if slug in self.running:
                raise UserError(f"{slug} is already building; wait for it or cancel it")
            workspace.save(text, slug)
            build = self.running[slug] = Build(workspace, slug, profile)
            return build

    def end(self, build: Build) -> None:
        """Forget a build that ended, or stop one whose follower went away (a cancelled request)."""
        build.stop()
        with self.lock:
            if self.running.get(build.slug) is build:
                del self.running[build.slug]

    def cancel(self, slug: str) -> bool:
        """Cancel job `slug`'s build; False when none runs."""
        with self.lock:
            build = self.running.get(slug)
        if build is None:
            return False
        build.cancel()
        return True

    def cancel_all(self) -> None:
        with self.lock:
            builds = list(self.running.values())
        for build in builds:
            build.cancel()
