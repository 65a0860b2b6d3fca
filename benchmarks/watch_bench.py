"""Watch benchmark: from saving a one-word edit to the new video being served by the preview.

Run: `.venv/bin/python benchmarks/watch_bench.py`. Copies the 6-scene example (and its lock) into a
temp folder, starts `autostream watch SPEC --serve 127.0.0.1:0` (draft profile, default 300 ms
debounce) as a real process and waits for its first build. Then, once per scene, it replaces one
word of that scene's narration in the spec file and measures the time from the write to the end of
downloading the new video from the URL that /status.json names. Prints the figures and writes
benchmarks/results/watch.json. Target on this 2-core machine: every edit within 3 s.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
AUTOSTREAM = Path(sys.executable).with_name("autostream")
EXAMPLE = ROOT / "specs" / "examples" / "volcano-script.yaml"
EDITS = [
    ("soften", "loosen"),
    ("melts", "turns"),
    ("gathering", "pooling"),
    ("bursts", "blasts"),
    ("stack", "pile"),
    ("closely", "carefully"),
]  # one word of each scene, in order
TARGET_SECONDS = 3.0


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=30) as resp:
        return resp.read()


def _wait(root: str, build: int, timeout: float = 300) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = json.loads(_get(root + "/status.json"))
        if status["build"] >= build and status["state"] != "building":
            return status
        time.sleep(0.01)
    raise SystemExit(f"build {build} did not finish within {timeout} s")


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="autostream-watch-bench-"))
    spec = work / EXAMPLE.name
    shutil.copy(EXAMPLE, spec)
    shutil.copy(EXAMPLE.with_suffix(".lock.yaml"), work)
    proc = subprocess.Popen(
        [str(AUTOSTREAM), "watch", str(spec), "--serve", "127.0.0.1:0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=work,
    )
    try:
        root = proc.stdout.readline().split()[-1].rstrip("/")
        started = time.perf_counter()
        first = _wait(root, 1)
        cold = time.perf_counter() - started
        if first["state"] != "done":
            raise SystemExit(f"first build failed: {first['error']}")
        edits = []
        for n, (old, new) in enumerate(EDITS, start=2):
            text = spec.read_text(encoding="utf-8")
            assert text.count(old) == 1, old
            time.sleep(0.5)  # let the watcher settle after the previous build
            t0 = time.perf_counter()
            spec.write_text(text.replace(old, new), encoding="utf-8")
            status = _wait(root, n)
            built_at = time.perf_counter() - t0
            size = len(_get(root + status["video"]))
            served = time.perf_counter() - t0
            if status["state"] != "done":
                raise SystemExit(f"build {n} failed: {status['error']}")
            edits.append(
                {
                    "scene": n - 1,
                    "word": f"{old} -> {new}",
                    "seconds_to_served": round(served, 2),
                    "seconds_to_status_done": round(built_at, 2),
                    "video_bytes": size,
                    "built": sorted(
                        f"{s['kind']}" + (f" {s['scene'] + 1}" if s["scene"] is not None else "")
                        for s in status["steps"]
                        if s["status"] == "built"
                    ),
                    "step_seconds": round(sum(s["seconds"] for s in status["steps"]), 2),
                }
            )
            print(
                f"edit scene {n - 1} ({old} -> {new}): served after {served:.2f} s "
                f"({len(edits[-1]['built'])} steps built)",
                flush=True,
            )
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)
    times = [e["seconds_to_served"] for e in edits]
    results = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "spec": str(EXAMPLE.relative_to(ROOT)),
        "profile": "draft",
        "debounce_ms": 300,
        "first_build_seconds": round(cold, 2),
        "edits": edits,
        "median_seconds": round(statistics.median(times), 2),
        "max_seconds": round(max(times), 2),
        "target_seconds": TARGET_SECONDS,
        "target_met": max(times) <= TARGET_SECONDS,
    }
    out = ROOT / "benchmarks" / "results" / "watch.json"
    out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(
        f"first build {cold:.1f} s; edit to served: median {results['median_seconds']} s, "
        f"max {results['max_seconds']} s (target {TARGET_SECONDS} s) -> {out.relative_to(ROOT)}"
    )


if __name__ == "__main__":
    main()
