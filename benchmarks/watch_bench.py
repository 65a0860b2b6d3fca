"""Watch benchmark: from saving a one-word edit to the new video being served by the preview.

Run: `.venv/bin/python benchmarks/watch_bench.py [--long]`. Copies the 6-scene example (and its
lock) into a temp folder (`--long`: an 18-scene, about 3-minute version of it, written there: the
six scenes three times, each copy's narration opened differently so every take is its own), starts
`autostream watch SPEC --serve 127.0.0.1:0` (draft profile, default 300 ms debounce) as a real
process and waits for its first build. Then, six times (once per scene; `--long`: two scenes of
each copy), it replaces one word of a scene's narration in the spec file and measures the time
from the write to the end of downloading the new video from the URL that /status.json names. Prints the figures
and writes benchmarks/results/watch.json (under "60s" or "3min", the other run's figures kept),
with the load average and cores. Targets on this 2-core machine (issue 15): median within 2 s for the 60 s spec,
within 3 s for the 3-minute one. Fully offline (piper voice, procedural pictures).
"""

from __future__ import annotations

import argparse
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

import yaml

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
TARGETS = {"60s": 2.0, "3min": 3.0}  # median seconds from saving an edit to the video served
OPENINGS = ["", "Remember: ", "Once more, "]  # each copy of the scenes in the long spec opens differently


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


def _long_spec(spec: Path) -> None:
    """The example's scenes three times over (about 3 minutes), one narration a line."""
    data = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    data["scenes"] = [
        {**scene, "narration": opening + scene["narration"]} for opening in OPENINGS for scene in data["scenes"]
    ]
    spec.write_text(yaml.safe_dump(data, sort_keys=False, width=1000), encoding="utf-8")


def _edited(text: str, scene: int, old: str, new: str) -> str:
    """The spec with one word of a scene's narration replaced (a narration is one line)."""
    lines = text.split("\n")
    at = [n for n, line in enumerate(lines) if "narration:" in line][scene]
    assert lines[at].count(old) == 1, (scene, old)
    lines[at] = lines[at].replace(old, new)
    return "\n".join(lines)


def _machine() -> dict:
    load = os.getloadavg()
    return {"cores": os.cpu_count(), "load_average_1_5_15": [round(x, 2) for x in load]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--long", action="store_true", help="the 18-scene, about 3-minute spec")
    args = parser.parse_args()
    length = "3min" if args.long else "60s"
    work = Path(tempfile.mkdtemp(prefix="autostream-watch-bench-"))
    spec = work / EXAMPLE.name
    if args.long:
        _long_spec(spec)
    else:
        shutil.copy(EXAMPLE, spec)
        shutil.copy(EXAMPLE.with_suffix(".lock.yaml"), work)
    before = _machine()
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
            scene = n - 2 + (6 * ((n - 2) % 3) if args.long else 0)  # long: spread over the three copies
            text = _edited(spec.read_text(encoding="utf-8"), scene, old, new)
            time.sleep(0.5)  # let the watcher settle after the previous build
            t0 = time.perf_counter()
            spec.write_text(text, encoding="utf-8")
            status = _wait(root, n)
            built_at = time.perf_counter() - t0
            size = len(_get(root + status["video"]))
            served = time.perf_counter() - t0
            if status["state"] != "done":
                raise SystemExit(f"build {n} failed: {status['error']}")
            edits.append(
                {
                    "scene": scene + 1,
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
                f"edit scene {scene + 1} ({old} -> {new}): served after {served:.2f} s "
                f"({len(edits[-1]['built'])} steps built)",
                flush=True,
            )
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)
    times = [e["seconds_to_served"] for e in edits]
    median = round(statistics.median(times), 2)
    results = {
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "machine_before": before,
        "machine_after": _machine(),
        "spec": str(EXAMPLE.relative_to(ROOT)) + (" x3 (18 scenes)" if args.long else ""),
        "scenes": 18 if args.long else 6,
        "profile": "draft",
        "debounce_ms": 300,
        "first_build_seconds": round(cold, 2),
        "edits": edits,
        "median_seconds": median,
        "max_seconds": round(max(times), 2),
        "target_median_seconds": TARGETS[length],
        "target_met": median <= TARGETS[length],
    }
    out = ROOT / "benchmarks" / "results" / "watch.json"
    saved = json.loads(out.read_text(encoding="utf-8")) if out.exists() else {}
    if "edits" in saved:  # the layout before --long: a run of the 60 s spec
        saved = {"60s": saved}
    out.write_text(json.dumps({**saved, length: results}, indent=2) + "\n", encoding="utf-8")
    print(
        f"{length}: first build {cold:.1f} s; edit to served: median {median} s, max {results['max_seconds']} s "
        f"(target median {TARGETS[length]} s: {'met' if results['target_met'] else 'not met'}) "
        f"-> {out.relative_to(ROOT)}"
    )


if __name__ == "__main__":
    main()
