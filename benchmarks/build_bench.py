"""Build benchmark: cold build, no-op rebuild, one-scene edit and peak memory for the example spec.

Run: `make bench` (or `.venv/bin/python benchmarks/build_bench.py [SPEC]`). Prints the figures and
writes them to benchmarks/results/build.json. Each build runs as a real `autostream` process.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
AUTOSTREAM = Path(sys.executable).with_name("autostream")


def _tree_rss_mb(root: int) -> float:
    """Resident memory of a process and all its descendants, from /proc."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            parents[int(entry)] = int(stat[1])
            rss[int(entry)] = int(stat[21]) * resource.getpagesize()
        except (OSError, IndexError, ValueError):
            continue
    tree, frontier = {root}, [root]
    while frontier:
        pid = frontier.pop()
        for child, parent in parents.items():
            if parent == pid and child not in tree:
                tree.add(child)
                frontier.append(child)
    return sum(rss.get(pid, 0) for pid in tree) / 2**20


def _run(spec: Path, cache: Path, report: Path) -> tuple[float, float, dict]:
    """Wall seconds, peak resident memory in MB of the build's whole process tree, and the report."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        [str(AUTOSTREAM), "build", str(spec), "--cache-dir", str(cache), "--report", str(report)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    peak = 0.0
    while proc.poll() is None:
        peak = max(peak, _tree_rss_mb(proc.pid))
        time.sleep(0.1)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"build failed:\n{proc.stderr.read()}")
    return wall, peak, json.loads(report.read_text())


def main() -> None:
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "specs/examples/volcano-script.yaml"
    work = Path(tempfile.mkdtemp(prefix="autostream-bench-"))
    spec = work / source.name
    shutil.copy(source, spec)
    cache, out = work / "cache", work / "report.json"

    cold, cold_mem, _ = _run(spec, cache, out)
    noop, _, noop_report = _run(spec, cache, out)
    data = yaml.safe_load(spec.read_text())
    data["scenes"][2]["narration"] = data["scenes"][2]["narration"].replace("slowly", "steadily")
    spec.write_text(yaml.safe_dump(data, sort_keys=False))
    edit, _, edit_report = _run(spec, cache, out)

    video = work / "out" / f"{spec.stem}.mp4"
    duration = float(
        subprocess.run(
            ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", str(video)],
            capture_output=True,
            text=True,
        ).stdout
        or 0
    )
    results = {
        "spec": str(source.relative_to(ROOT)) if source.is_relative_to(ROOT) else str(source),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "video_seconds": round(duration, 2),
        "cold_build_seconds": round(cold, 2),
        "cold_x_real_time": round(duration / cold, 2) if cold else None,
        "noop_rebuild_seconds": round(noop, 3),
        "noop_steps_built": sum(s["status"] == "built" for s in noop_report["steps"]),
        "one_scene_edit_seconds": round(edit, 2),
        "one_scene_edit_share_of_cold": round(edit / cold, 3),
        "one_scene_edit_steps_built": sorted(
            f"{s['kind']}:{s['scene']}" for s in edit_report["steps"] if s["status"] == "built"
        ),
        "peak_memory_mb": round(cold_mem, 1),
        "targets": {
            "cold_x_real_time": ">= 1.5",
            "noop_rebuild_seconds": "<= 0.3",
            "one_scene_edit_share_of_cold": "<= 0.20",
            "peak_memory_mb": "<= 1024",
        },
    }
    dest = ROOT / "benchmarks" / "results" / "build.json"
    dest.parent.mkdir(exist_ok=True)
    dest.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    print(f"written to {dest}")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
