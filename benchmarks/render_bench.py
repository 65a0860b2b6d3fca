"""Render benchmark: autostream against a MoviePy reference and the encode floor, on one fixed timeline.

Run: `.venv/bin/python benchmarks/render_bench.py [--quick] [--transition cut|crossfade]`. Writes
benchmarks/results/render.json (`--quick`: render.quick.json) and prints a table.

The timeline: 6 scenes, about 60 s, from fixed inputs made afresh in a temp project folder: six
procedural pictures (`procedural.draw` of each scene's family, fixed seeds), six takes spoken by piper
(seeded, so the same bytes every run) and the word timings piper gives for them. For each resolution
(1080p30 and 720p30):

- autostream: a spec whose scenes use the pictures as `image:` and the takes as `audio:`, built with
  the CLI in a fresh cache; then every action record that is not an input (tts, align, image) is
  deleted from the cache and the spec built again. That second build is the render: its wall time
  and the peak resident memory of its whole process tree.
- MoviePy: benchmarks/moviepy_reference.py, the way the original Gradio app rendered (ImageClip zoom,
  TextClip captions from the same word timings, CompositeVideoClip, concatenate, write_videofile
  with libx264 veryfast, 2 threads, AAC), as its own process, measured the same way.
- encode floor: autostream's output decoded and encoded again with autostream's own x264 settings,
  video only: what any renderer of these frames has to spend at least.

Then a long timeline (the 6 scenes repeated to 60, 10 minutes, at the first resolution; each scene
with its own camera move so every segment is rendered) gives autostream's peak memory for length.
Every run is a real process; memory is sampled every 0.1 s from /proc as build_bench.py does.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import wave
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TypeVar

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"
if not Path(sys.executable).with_name("autostream").exists() and VENV_PYTHON.exists() and __name__ == "__main__":
    os.execv(str(VENV_PYTHON), [str(VENV_PYTHON), __file__, *sys.argv[1:]])  # the project's venv

import yaml  # noqa: E402 - after the re-exec into the venv above
from build_bench import _tree_memory_mb, steps_by_kind  # noqa: E402

AUTOSTREAM = Path(sys.executable).with_name("autostream")
T = TypeVar("T")
FONT = ROOT / "autostream_compiler" / "fonts" / "Inter-Bold.otf"

VOICE = "en_US-joe-medium"
LENGTH_SCALE = 1.15  # piper a little slower than its default: the six takes and pauses last about 60 s
PALETTE = ["#0B1426", "#1D3557", "#457B9D", "#E76F51", "#F4A261", "#F1FAEE"]  # documentary's, pinned
PAUSE = 0.6
FPS = 30
NARRATION = [
    (
        "Deep beneath our feet, the mantle moves slowly, carrying heat upward from the core. "
        "Where the crust grows thin, that heat begins to melt the rock above."
    ),
    (
        "Molten rock is lighter than the solid stone around it, so it rises through cracks "
        "and slowly gathers in large chambers a few kilometres below the surface."
    ),
    (
        "As more magma arrives, pressure in the chamber builds. Gases dissolved in the melt, "
        "mostly water and carbon dioxide, wait for a chance to escape."
    ),
    (
        "When the rock above finally gives way, the gases expand violently. The eruption can "
        "hurl ash and stone high into the sky within a few minutes."
    ),
    (
        "Not every volcano explodes. Runny basalt flows out gently in glowing rivers, building "
        "broad shields like the islands of Hawaii over thousands of years."
    ),
    (
        "Over time, ash and lava slowly turn into fertile soil. Many of the richest farmlands on "
        "Earth still lie in the quiet shadow of sleeping volcanoes."
    ),
]
SIZES = {"720p": (1280, 720), "1080p": (1920, 1080)}
INPUT_KINDS = {"tts", "align", "image"}  # kept in the cache; every other kind is render work
LONG_MOVES = ["zoom_in", "zoom_out", "pan_left", "pan_right", "pan_up", "pan_down"]
# Caption look of the MoviePy reference, from the documentary style's (size, outline, bottom margin).
CAPTION_SIZE, OUTLINE, BOTTOM, HIGHLIGHT = 0.055, 0.0035, 0.08, "#FFD166"
DISTURBED = 0.1  # a run during which other processes used more of the cores than this is made again
TARGETS = {  # issue 15
    "speedup_vs_moviepy_1080p": ">= 7",
    "ratio_to_floor_1080p": "<= 1.4",
    "ratio_to_floor_720p": "<= 1.6",
    "peak_memory_mb": "<= 1024",
}


def _x264() -> list[str]:
    """autostream's own libx264 options (its final profile), so the floor follows them if they change."""
    from autostream_compiler.render.ffmpeg import X264

    return list(X264)


@dataclass
class Run:
    """One measured process: wall seconds, peak resident memory of its whole tree in MB, the CPU seconds
    it used, and the CPU seconds the rest of the machine used meanwhile (other people's work)."""

    wall: float
    peak_mb: float
    cpu: float
    other_cpu: float
    waited: float | None = 0.0  # for the machine to get quiet first; None: it did not
    tries: int = 1  # runs made to get this one (see least_disturbed)

    @property
    def other_load(self) -> float:
        """Share of all cores that other processes used during the run."""
        return self.other_cpu / (self.wall * (os.cpu_count() or 1))


@dataclass
class Patience:
    """How timed runs cope with other people's work on a shared machine."""

    wait: float = 900  # seconds to wait for idle cores before each timed run (0: do not wait)
    tries: int = 3  # runs at most, while other processes take more than DISTURBED of the cores


def least_disturbed(attempt: Callable[[], tuple[Run, T]], patience: Patience) -> tuple[Run, T]:
    """Make a timed run again while others disturbed it, up to `patience.tries` runs; the least disturbed."""
    best: tuple[Run, T] | None = None
    for k in range(1, max(1, patience.tries) + 1):
        run, detail = attempt()
        run.tries = k
        if best is None or run.other_load < best[0].other_load:
            best = (run, detail)
        if run.other_load <= DISTURBED:
            break
        print(f"  disturbed: other processes used {run.other_load:.0%} of the cores", flush=True)
    assert best is not None
    return best


def _busy_cpu_seconds() -> float:
    """CPU seconds the whole machine has spent busy since boot (from /proc/stat)."""
    user, nice, system, _idle, _iowait, irq, softirq, steal = (
        int(v) for v in Path("/proc/stat").read_text().split()[1:9]
    )
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def wait_quiet(limit: float, share: float = 0.15, window: float = 3.0) -> float | None:
    """Wait until the rest of the machine uses under `share` of the cores for `window` seconds, at most
    `limit` seconds; return the seconds waited, or None when it never got quiet."""
    cores, start = os.cpu_count() or 1, time.perf_counter()
    while True:
        before = _busy_cpu_seconds()
        time.sleep(window)
        if (_busy_cpu_seconds() - before) / (window * cores) < share:
            return round(time.perf_counter() - start - window, 1)
        if time.perf_counter() - start > limit:
            return None


def measure(argv: list[str], log: Path, cwd: Path | None = None, env: dict | None = None, wait: float = 0) -> Run:
    """Run a command to the end, sampling its process tree's memory every 0.1 s; exit on failure. With
    `wait`, first wait up to that many seconds for the rest of the machine to be idle."""
    waited = wait_quiet(wait) if wait > 0 else 0.0
    with open(log, "w") as err:
        busy, own = _busy_cpu_seconds(), resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
        peak = 0.0
        while proc.poll() is None:
            peak = max(peak, _tree_memory_mb(proc.pid)[0])  # resident sets summed
            time.sleep(0.1)
        wall = time.perf_counter() - start
        done = resource.getrusage(resource.RUSAGE_CHILDREN)  # the tree's processes, once reaped
        cpu = done.ru_utime + done.ru_stime - own.ru_utime - own.ru_stime
        other = max(0.0, _busy_cpu_seconds() - busy - cpu)
    if proc.returncode != 0:
        sys.exit(f"failed ({proc.returncode}): {' '.join(argv)}\n{log.read_text()[-4000:]}")
    return Run(wall, peak, cpu, other, waited)


def probe_seconds(video: Path) -> float:
    """Duration of a media file by ffprobe."""
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", str(video)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return float(out.strip())


def scene_frames(seconds: float) -> int:
    """Frames of a scene: its narration plus the pause, rounded up (autostream's rule for a cut)."""
    return max(1, math.ceil(round((seconds + PAUSE) * FPS, 6)))


# --- fixed inputs --------------------------------------------------------------------------------


def make_inputs(project: Path) -> list[dict]:
    """Draw the six pictures and speak the six takes into the project; return the scenes with word timings."""
    from autostream_compiler.digests import file_digest
    from autostream_compiler.providers import families, piper_tts, procedural

    (project / "images").mkdir(parents=True)
    (project / "takes").mkdir()
    scenes = []
    for i, text in enumerate(NARRATION, start=1):
        image, take = f"images/scene{i}.png", f"takes/scene{i}.wav"
        procedural.draw(families.choose(text), i, PALETTE, 1920, 1080).save(project / image)
        entries = text.split()
        speech = piper_tts.synthesize(entries, VOICE, LENGTH_SCALE)
        with wave.open(str(project / take), "wb") as f:
            f.setnchannels(1)
            f.setsampwidth(2)
            f.setframerate(speech.sample_rate)
            f.writeframes(speech.samples.astype("int16").tobytes())
        scenes.append(
            {
                "narration": text,
                "image": image,
                "audio": take,
                "audio_seconds": len(speech.samples) / speech.sample_rate,
                "words": [[w, round(s, 4), round(e, 4)] for w, (s, e) in zip(entries, speech.timings)],
                "sha256": {"image": file_digest(project / image), "audio": file_digest(project / take)},
            }
        )
    return scenes


def write_spec(
    project: Path, name: str, resolution: str, scenes: list[dict], transition: dict, moves: list[dict] | None = None
) -> Path:
    """A spec over the fixed inputs; `moves` gives each scene its own camera move (the long timeline)."""
    spec = {
        "version": 1,
        "title": "Render benchmark",
        "style": "documentary",
        "format": {"aspect": "16:9", "resolution": resolution, "fps": FPS},
        "pacing": {"pause": PAUSE},
        "motion": {"preset": "zoom_in"},  # like the reference's zoom on every scene
        "transition": transition,
        "output": f"out/{name}.mp4",
        "scenes": [
            {
                "narration": s["narration"],
                "image": s["image"],
                "audio": s["audio"],
                **({"motion": moves[i]} if moves else {}),
            }
            for i, s in enumerate(scenes)
        ],
    }
    path = project / f"{name}.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False, width=120), encoding="utf-8")
    return path


# --- the three renders ---------------------------------------------------------------------------


def drop_render_actions(cache: Path) -> dict[str, int]:
    """Delete the cached action records of every non-input step; count them by kind."""
    dropped: dict[str, int] = {}
    for record in (cache / "actions").rglob("*.json"):
        kind = json.loads(record.read_text(encoding="utf-8")).get("kind")
        if kind not in INPUT_KINDS:
            record.unlink()
            dropped[kind] = dropped.get(kind, 0) + 1
    return dict(sorted(dropped.items()))


def autostream_render(spec: Path, cache: Path, logs: Path, patience: Patience, warm: bool = True) -> dict:
    """Build once to fill the cache (when `warm`), drop the render records, time the build that renders."""
    argv = [str(AUTOSTREAM), "build", str(spec), "--cache-dir", str(cache), "--report"]
    cold = measure([*argv, str(logs / f"{spec.stem}.cold.json")], logs / f"{spec.stem}.cold.log") if warm else None

    def attempt() -> tuple[Run, tuple[dict, dict]]:
        dropped = drop_render_actions(cache)
        report_path = logs / f"{spec.stem}.render.json"
        run = measure([*argv, str(report_path)], logs / f"{spec.stem}.render.log", wait=patience.wait)
        return run, (dropped, json.loads(report_path.read_text(encoding="utf-8")))

    run, (dropped, report) = least_disturbed(attempt, patience)
    built = steps_by_kind(report)
    video = Path(report["output"])
    return {
        "run": run,
        "video": video,
        "cold_build_seconds": round(cold.wall, 2) if cold else None,
        "records_dropped": dropped,
        "steps_built": built,
        "notes": report.get("warnings", []),
    }


def moviepy_render(plan_path: Path, out: Path, logs: Path, patience: Patience) -> Run:
    """The MoviePy reference as its own process, with the system's ffmpeg (as autostream uses)."""
    env = {**os.environ, "FFMPEG_BINARY": shutil.which("ffmpeg") or "ffmpeg-imageio"}
    argv = [sys.executable, str(HERE / "moviepy_reference.py"), str(plan_path), str(out)]
    return least_disturbed(
        lambda: (measure(argv, logs / f"{out.stem}.log", cwd=out.parent, env=env, wait=patience.wait), None), patience
    )[0]


def moviepy_plan(scenes: list[dict], project: Path, resolution: str, transition: dict) -> dict:
    """What the reference renders: the same pictures, takes, word timings, scene lengths and caption look."""
    width, height = SIZES[resolution]
    overlap = 0 if transition["kind"] == "cut" else round(transition.get("duration", 0.5) * FPS)
    return {
        "width": width,
        "height": height,
        "fps": FPS,
        "font": str(FONT),
        "font_px": round(CAPTION_SIZE * height),
        "stroke_px": max(1, round(OUTLINE * height)),
        "bottom_px": round(BOTTOM * height),
        "highlight": HIGHLIGHT,
        "transition": {"kind": transition["kind"], "seconds": overlap / FPS},
        "ffmpeg_params": ["-crf", "20", "-profile:v", "high"],
        "scenes": [
            {
                "image": str(project / s["image"]),
                "audio": str(project / s["audio"]),
                "seconds": scene_frames(s["audio_seconds"]) / FPS,
                "words": s["words"],
            }
            for s in scenes
        ],
    }


def encode_floor(video: Path, out: Path, logs: Path, patience: Patience) -> Run:
    """Decode a video and encode its frames again with autostream's x264 options, video only."""
    argv = ["ffmpeg", "-nostdin", "-y", "-v", "error", "-i", str(video), "-map", "0:v:0", "-an", *_x264(), str(out)]
    return least_disturbed(lambda: (measure(argv, logs / f"{out.stem}.log", wait=patience.wait), None), patience)[0]


# --- figures -------------------------------------------------------------------------------------


def figures(run: Run, seconds: float, moviepy: Run | None, floor: Run | None) -> dict:
    """Wall time, × real time, ratios to MoviePy and to the floor, peak memory, and how busy the cores were."""
    capacity = run.wall * (os.cpu_count() or 1)
    return {
        "wall_seconds": round(run.wall, 2),
        "video_seconds": round(seconds, 2),
        "x_real_time": round(seconds / run.wall, 2),
        "ratio_to_moviepy": round(run.wall / moviepy.wall, 3) if moviepy else None,
        "ratio_to_floor": round(run.wall / floor.wall, 2) if floor else None,
        "peak_memory_mb": round(run.peak_mb, 1),
        "cpu_seconds": round(run.cpu, 1),
        "cores_used": round(run.cpu / capacity, 2),  # share of all cores this run kept busy
        "other_load": round(run.other_load, 2),  # share of all cores used by other processes meanwhile
        "waited_for_quiet_seconds": run.waited,
        "tries": run.tries,
    }


def _git_commit() -> str:
    """HEAD, marked `+dirty` when the package differs from it (read-only git calls)."""
    git = ["git", "--no-optional-locks", "-C", str(ROOT)]
    head = subprocess.run(
        [*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    dirty = subprocess.run([*git, "diff", "--quiet", "HEAD", "--", "autostream_compiler"], check=False).returncode != 0
    return f"{head}+dirty" if dirty else head


def _versions() -> dict:
    """The ffmpeg build, and MoviePy's version (None when it is not installed)."""
    from importlib.metadata import PackageNotFoundError, version

    ffmpeg = subprocess.run(["ffmpeg", "-version"], capture_output=True, text=True, check=False).stdout.split("\n")[0]
    try:
        moviepy = version("moviepy")
    except PackageNotFoundError:
        moviepy = None
    return {"ffmpeg": ffmpeg, "moviepy": moviepy}


def print_table(results: dict) -> None:
    """The figures as a plain table, then the targets."""
    head = (
        f"{'format':7} {'renderer':13} {'wall s':>8} {'× real':>7} {'/MoviePy':>9} {'/floor':>7} {'peak MB':>8} "
        f"{'cores':>6} {'other':>6}"
    )
    print(head)
    print("-" * len(head))
    rows = [
        (res, name, runs[name])
        for res, runs in results["runs"].items()
        for name in ("autostream", "moviepy", "encode_floor")
        if name in runs
    ]
    long = results["long_timeline"]
    rows.append((long["format"], "autostream", long))
    for res, name, f in rows:
        ratio_m = f"{f['ratio_to_moviepy']:.3f}" if f["ratio_to_moviepy"] is not None else "-"
        ratio_f = f"{f['ratio_to_floor']:.2f}" if f["ratio_to_floor"] is not None else "-"
        print(
            f"{res:7} {name:13} {f['wall_seconds']:8.1f} {f['x_real_time']:7.2f} {ratio_m:>9} {ratio_f:>7} "
            f"{f['peak_memory_mb']:8.0f} {f['cores_used']:6.0%} {f['other_load']:6.0%}"
            + (f"   ({long['scenes']} scenes, {long['video_seconds']:.0f} s)" if f is long else "")
        )
    print()
    for name, check in results["checks"].items():
        print(f"{name}: {check['value']} (target {check['target']}) {'met' if check['met'] else 'MISSED'}")


def checks(results: dict) -> dict:
    """Each figure against its target (reported, never asserted)."""
    out = {}
    for res, runs in results["runs"].items():
        a = runs["autostream"]
        if runs.get("moviepy") and res == "1080p":
            speedup = round(runs["moviepy"]["wall_seconds"] / a["wall_seconds"], 1)
            out["speedup_vs_moviepy_1080p"] = {
                "value": speedup,
                "target": TARGETS["speedup_vs_moviepy_1080p"],
                "met": speedup >= 7,
            }
        limit = TARGETS[f"ratio_to_floor_{res}"]
        out[f"ratio_to_floor_{res}"] = {
            "value": a["ratio_to_floor"],
            "target": limit,
            "met": a["ratio_to_floor"] <= float(limit.split()[-1]),
        }
        out[f"peak_memory_mb_{res}"] = {
            "value": a["peak_memory_mb"],
            "target": TARGETS["peak_memory_mb"],
            "met": a["peak_memory_mb"] <= 1024,
        }
    long = results["long_timeline"]
    out["peak_memory_mb_long"] = {
        "value": long["peak_memory_mb"],
        "target": TARGETS["peak_memory_mb"],
        "met": long["peak_memory_mb"] <= 1024,
    }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="720p only, no MoviePy, a 2-minute long timeline")
    parser.add_argument(
        "--transition",
        choices=["cut", "crossfade"],
        default="cut",
        help="between scenes, in both autostream and MoviePy (default: cut, as the seed app)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temp folder (outputs, logs, reports)")
    parser.add_argument(
        "--wait",
        type=float,
        default=900,
        metavar="SECONDS",
        help="before each timed run, wait up to this long for other processes to leave the cores "
        "idle (default 900; 0: do not wait)",
    )
    parser.add_argument(
        "--tries", type=int, default=3, help="runs at most per figure while other processes disturb it (default 3)"
    )
    args = parser.parse_args()
    resolutions = ["720p"] if args.quick else ["1080p", "720p"]
    patience = Patience(args.wait, args.tries)
    repeats = 2 if args.quick else 10
    transition = {"kind": "cut"} if args.transition == "cut" else {"kind": args.transition, "duration": 0.5}
    if not args.quick and _versions()["moviepy"] is None:
        sys.exit("moviepy is not installed; see benchmarks/README.md (or run with --quick)")

    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="autostream-render-bench-"))
    project, logs = work / "project", work / "logs"
    logs.mkdir(parents=True)
    print(f"inputs: drawing 6 pictures and speaking 6 takes into {project}", flush=True)
    scenes = make_inputs(project)
    results: dict = {
        "date": date.today().isoformat(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "autostream": _git_commit(),
        **_versions(),
        "timeline": {
            "scenes": len(scenes),
            "fps": FPS,
            "pause": PAUSE,
            "transition": transition,
            "narration_seconds": round(sum(s["audio_seconds"] for s in scenes), 2),
            "inputs_sha256": {f"scene{i + 1}": s["sha256"] for i, s in enumerate(scenes)},
        },
        "encoder": {
            "autostream_and_floor": _x264(),
            "moviepy": "libx264 -preset veryfast -crf 20 -profile:v high -threads 2, aac",
        },
        "runs": {},
        "render_steps": {},
        "warnings": [],
    }

    for res in resolutions:
        print(f"{res}: autostream (warm build, then the timed render)", flush=True)
        spec = write_spec(project, f"bench-{res}", res, scenes, transition)
        a = autostream_render(spec, work / f"cache-{res}", logs, patience)
        seconds = probe_seconds(a["video"])
        print(f"{res}: encode floor", flush=True)
        floor = encode_floor(a["video"], work / f"floor-{res}.mp4", logs, patience)
        moviepy = None
        if not args.quick:
            print(f"{res}: MoviePy reference (slow)", flush=True)
            plan = work / f"moviepy-{res}.json"
            plan.write_text(json.dumps(moviepy_plan(scenes, project, res, transition), indent=1), encoding="utf-8")
            out = work / f"moviepy-{res}.mp4"
            moviepy = moviepy_render(plan, out, logs, patience)
            moviepy_seconds = probe_seconds(out)
            if abs(moviepy_seconds - seconds) > 0.1:
                results["warnings"].append(
                    f"{res}: MoviePy's video lasts {moviepy_seconds:.2f} s, autostream's {seconds:.2f} s"
                )
        runs = {"autostream": figures(a["run"], seconds, moviepy, floor)}
        if moviepy:
            runs["moviepy"] = figures(moviepy, moviepy_seconds, moviepy, floor)
        runs["encode_floor"] = figures(floor, seconds, moviepy, floor)
        results["runs"][res] = runs
        results["render_steps"][res] = {
            "cold_build_seconds": a["cold_build_seconds"],
            "records_dropped": a["records_dropped"],
            "steps_built": a["steps_built"],
        }
        rebuilt = sorted(INPUT_KINDS & set(a["steps_built"]))
        if rebuilt:
            results["warnings"].append(f"{res}: the timed build ran input steps too ({', '.join(rebuilt)})")
        results["warnings"] += [f"{res}: autostream: {w}" for w in a["notes"]]

    res = resolutions[0]
    count = len(scenes) * repeats
    print(f"{res}: long timeline, {count} scenes (render only)", flush=True)
    moves = [
        {
            "preset": LONG_MOVES[(i + i // len(scenes)) % len(LONG_MOVES)],
            "strength": round(0.05 + 0.005 * (i // len(scenes)), 3),
        }
        for i in range(count)
    ]
    spec = write_spec(project, f"long-{res}", res, scenes * repeats, transition, moves)
    long = autostream_render(spec, work / f"cache-{res}", logs, patience, warm=False)  # inputs: the 6 scenes'
    long_seconds = probe_seconds(long["video"])
    results["long_timeline"] = {
        "format": res,
        "scenes": count,
        **figures(long["run"], long_seconds, None, None),
        "steps_built": long["steps_built"],
    }
    if long["steps_built"].get("segment", {}).get("count", 0) != count:
        results["warnings"].append(
            f"long timeline: {long['steps_built'].get('segment', {}).get('count', 0)} "
            f"segments rendered for {count} scenes"
        )
    rebuilt = sorted(INPUT_KINDS & set(long["steps_built"]))
    if rebuilt:
        results["warnings"].append(f"long timeline: input steps ran too ({', '.join(rebuilt)})")

    timed = [(f"{res} {name}", f) for res, runs in results["runs"].items() for name, f in runs.items()]
    for name, f in [*timed, ("long timeline", results["long_timeline"])]:
        if f["other_load"] > DISTURBED or f["waited_for_quiet_seconds"] is None:
            results["warnings"].append(
                f"{name}: other processes used {f['other_load']:.0%} of the cores meanwhile; its time is inflated"
            )
    results["checks"] = checks(results)
    results["targets"] = TARGETS
    results["benchmark_seconds"] = round(time.perf_counter() - started, 1)
    dest = HERE / "results" / ("render.quick.json" if args.quick else "render.json")
    dest.parent.mkdir(exist_ok=True)
    dest.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print()
    print_table(results)
    for warning in results["warnings"]:
        print(f"warning: {warning}")
    print(f"\nwritten to {dest} ({results['benchmark_seconds']:.0f} s)")
    if args.keep:
        print(f"kept {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
