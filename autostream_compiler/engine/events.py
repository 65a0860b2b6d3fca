"""Build events as JSON lines, for programs that follow a build (the studio, CI dashboards).

One object per line, flushed at once, each with an `event` field:
- `{"event": "plan", "total": N, "steps": [{"label", "kind", "scene"}]}` once the steps are known;
- `{"event": "started", "label", "kind", "scene"}` when a step starts running (cached ones never do);
- `{"event": "done", "label", "kind", "scene", "status", "seconds", "from"?, "worker"?, "error"?, "warnings"?}`
  when a step is final (`built`, `cached` or `failed`; a cached one says `from`: `local` or `remote`);
- `{"event": "note", "message"}` for expansion progress and warnings.
`scene` is 0-based, or null for a whole-video step. Secrets are redacted from every text.
"""

from __future__ import annotations

import json
import threading
from typing import TextIO

from autostream_compiler.engine.runner import Step
from autostream_compiler.env import redact


def _step(step: Step) -> dict:
    return {"label": step.label, "kind": step.kind, "scene": step.scene}


class JsonEvents:
    """A Reporter writing each event as one JSON line to a text stream."""

    def __init__(self, stream: TextIO):
        self.stream = stream
        self.lock = threading.Lock()

    def _emit(self, event: dict) -> None:
        with self.lock:
            self.stream.write(json.dumps(event) + "\n")
            self.stream.flush()

    def plan(self, steps: list[Step]) -> None:
        self._emit({"event": "plan", "total": len(steps), "steps": [_step(s) for s in steps]})

    def step_started(self, step: Step) -> None:
        self._emit({"event": "started", **_step(step)})

    def step_done(self, step: Step) -> None:
        event = {"event": "done", **_step(step), "status": step.status, "seconds": round(step.seconds, 3)}
        if step.status == "cached":
            event["from"] = step.source or "local"
        if step.worker:
            event["worker"] = step.worker
        if step.error:
            event["error"] = redact(step.error)
        if step.warnings:
            event["warnings"] = [redact(w) for w in step.warnings]
        self._emit(event)

    def note(self, message: str) -> None:
        self._emit({"event": "note", "message": redact(message)})
