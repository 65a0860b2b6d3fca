"""`build --events`: the build's own progress as JSON lines, what the studio follows."""

from __future__ import annotations

import json
import subprocess
import sys

from helpers import report_statuses, small_spec, write_spec


def _build(spec, report):
    done = subprocess.run(
        [sys.executable, "-m", "autostream_compiler", "build", str(spec), "--report", str(report), "--events", "-"],
        capture_output=True,
        text=True,
        check=True,
    )
    return [json.loads(line) for line in done.stdout.splitlines()], done.stderr


def test_events_follow_every_step_and_match_the_report(tmp_path):
    spec = write_spec(tmp_path, small_spec())
    report = tmp_path / "report.json"
    events, stderr = _build(spec, report)
    plan = events[0]
    assert plan["event"] == "plan" and plan["total"] == len(plan["steps"])
    statuses = report_statuses(report)
    assert len(statuses) == plan["total"]
    done = [e for e in events if e["event"] == "done"]
    assert {(e["kind"], e["scene"]): e["status"] for e in done} == statuses
    started = [e["label"] for e in events if e["event"] == "started"]
    assert sorted(started) == sorted(e["label"] for e in done if e["status"] == "built")
    for event in done:  # a step starts before it is done
        if event["status"] == "built":
            assert events.index(next(e for e in events if e.get("label") == event["label"])) < events.index(event)
    assert "built" in stderr and "\x1b" not in stderr  # the summary line, no progress bar drawing

    events, _ = _build(spec, report)  # nothing to do: every step is final at once, none starts
    assert {e["event"] for e in events} == {"plan", "done"}
    assert {e["status"] for e in events if e["event"] == "done"} == {"cached"}
