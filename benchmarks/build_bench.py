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
from typing import NamedTuple

import yaml

ROOT = Path(__file__).resolve().parent.parent
AUTOSTREAM = Path(sys.executable).with_name("autostream")


def _tree_memory_mb(root: int) -> tuple[float, float]:
    """Memory of a process and all its descendants, from /proc, in MB: the sum of their resident sets
    (shared libraries counted once per process) and of their proportional sets (counted once)."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                parents[int(entry)] = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    tree, frontier = {root}, [root]
    while frontier:
        pid = frontier.pop()
        for child, parent in parents.items():
            if parent == pid and child not in tree:
                tree.add(child)
                frontier.append(child)
    rss = pss = 0
    for pid in tree:
        try:
            fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:])
            rss, pss = rss + int(fields["Rss"].split()[0]), pss + int(fields["Pss"].split()[0])
        except (OSError, KeyError, ValueError):
            continue  # ended meanwhile
    return rss / 1024, pss / 1024


TARGETS = {  # issue 15
    "cold_x_real_time": ">= 1.5",
    "noop_rebuild_seconds": "<= 0.3",
    "one_scene_edit_share_of_cold": "<= 0.20",
    "peak_memory_mb": "<= 1024",
    "peak_memory_pss_mb": "<= 1024",
}


def _meets(value: float, target: str) -> bool:
    sign, bound = target.split()
    return value >= float(bound) if sign == ">=" else value <= float(bound)


class Run(NamedTuple):
    wall: float  # seconds
    cpu: float  # seconds of CPU of the build and every process it ran
    peak_rss: float  # MB, the most the whole process tree held at once (resident sets summed)
    peak_pss: float  # MB, the same with shared pages counted once
    report: dict


def _run(spec: Path, cache: Path, report: Path) -> Run:
    """One real `autostream build` process: its times, its process tree's peak memory and its report."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.Popen(
        [str(AUTOSTREAM), "build", str(spec), "--cache-dir", str(cache), "--report", str(report)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    peak_rss = peak_pss = 0.0
    while proc.poll() is None:
        rss, pss = _tree_memory_mb(proc.pid)
        peak_rss, peak_pss = max(peak_rss, rss), max(peak_pss, pss)
        time.sleep(0.1)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        sys.exit(f"build failed:\n{proc.stderr.read()}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Run(wall, cpu, peak_rss, peak_pss, json.loads(report.read_text()))


def steps_by_kind(report: dict) -> dict:
    """Steps built, by kind: how many and their seconds summed (steps run two at a time)."""
    kinds: dict[str, dict] = {}
    for step in report["steps"]:
        if step["status"] == "built":
            kind = kinds.setdefault(step["kind"], {"count": 0, "seconds": 0.0})
            kind["count"] += 1
            kind["seconds"] = round(kind["seconds"] + step["seconds"], 2)
    return kinds


def main() -> None:
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "specs/examples/volcano-script.yaml"
    work = Path(tempfile.mkdtemp(prefix="autostream-bench-"))
    spec = work / source.name
    shutil.copy(source, spec)
    cache, out = work / "cache", work / "report.json"

    cold = _run(spec, cache, out)
    noop = _run(spec, cache, out)
    data = yaml.safe_load(spec.read_text())
    data["scenes"][2]["narration"] = data["scenes"][2]["narration"].replace("slowly", "steadily")
    spec.write_text(yaml.safe_dump(data, sort_keys=False))
    edit = _run(spec, cache, out)

    video = work / "out" / f"{spec.stem}.mp4"
    duration = float(
        subprocess.run(
            ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", str(video)],
            capture_output=True,
            text=True,
        ).stdout
        or 0
    )
    cores = os.cpu_count() or 1
    results = {
        "spec": str(source.relative_to(ROOT)) if source.is_relative_to(ROOT) else str(source),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "video_seconds": round(duration, 2),
        "cold_build_seconds": round(cold.wall, 2),
        "cold_x_real_time": round(duration / cold.wall, 2) if cold.wall else None,
        # the schedule: CPU the cold build used, and core-seconds no process of it ran on
        "cold_cpu_seconds": round(cold.cpu, 1),
        "cold_cores_busy": round(cold.cpu / cold.wall, 2),
        "cold_idle_core_seconds": round(max(0.0, cores * cold.wall - cold.cpu), 1),
        "cold_steps": steps_by_kind(cold.report),
        "noop_rebuild_seconds": round(noop.wall, 3),
        "noop_steps_built": sum(s["status"] == "built" for s in noop.report["steps"]),
        "one_scene_edit_seconds": round(edit.wall, 2),
        "one_scene_edit_share_of_cold": round(edit.wall / cold.wall, 3),
        "one_scene_edit_cpu_seconds": round(edit.cpu, 1),
        "one_scene_edit_steps_built": sorted(
            f"{s['kind']}:{s['scene']}" for s in edit.report["steps"] if s["status"] == "built"
        ),
        "one_scene_edit_steps": steps_by_kind(edit.report),
        "peak_memory_mb": round(cold.peak_rss, 1),
        "peak_memory_pss_mb": round(cold.peak_pss, 1),
        "targets": TARGETS,
    }
    results["checks"] = {
        name: {"value": results[name], "target": target, "met": _meets(results[name], target)}
        for name, target in TARGETS.items()
    }
    dest = ROOT / "benchmarks" / "results" / "build.json"
    dest.parent.mkdir(exist_ok=True)
    dest.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    print(f"written to {dest}")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
