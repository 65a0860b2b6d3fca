"""Studio benchmark: from pressing Build to the video playing in a browser, the studio's overhead over
`autostream build`, and the studio's memory, for the offline 6-scene example.

Run: `.venv/bin/python benchmarks/studio_bench.py [--repeats 3] [--wait 300] [--keep]`. Takes about
9 minutes on 2 cores. Prints the figures and writes benchmarks/results/studio.json. Every studio is a
real `autostream studio --port 0` process with a fresh workspace and cache (cold builds); the example
spec and its lock are copied into the job's folder first (`<slug>/<slug>.yaml`, `.lock.yaml`).

1. Build → playing: Playwright on Debian's Chromium opens the page, types the spec into the YAML editor,
   picks the profile (draft, then final) and clicks Build; the clock stops when `#studio-video video`
   has the job's video as its src and, after a muted play(), currentTime > 0.5. A CLI draft build of
   the same spec is timed for reference.
2. Overhead: the same cold final build as `python -m autostream_compiler build` and through the studio's
   `/build` API (gradio_client, submit to result), `--repeats` times each, interleaved CLI, API, API,
   CLI…; the overhead is the ratio of the medians. Target ≤ 10 %.
3. Memory: the studio's process tree (resident, sampled every 0.1 s from /proc as build_bench.py does)
   idle after the page loaded (target ≤ 400 MB), and during each build with the build's children, and
   the studio process alone.

Each studio run also says where its time went (the build child's lifetime, from the samples) and its CPU
(the build process with its ffmpeg children, the studio process, the browser, this harness). Before each
timed run the harness waits (up to `--wait` seconds) for the rest of the machine to leave the cores idle,
and records the share of the cores other processes used during the run (`other_load`).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))  # this checkout's autostream_compiler, as the studio's processes import it

from render_bench import (  # noqa: E402 - benchmarks/ is on the path when run as a script
    DISTURBED,
    Run,
    _busy_cpu_seconds,
    _git_commit,
    _versions,
    measure,
    probe_seconds,
    wait_quiet,
)

from autostream_compiler.studio.workspace import slugify, title_of  # noqa: E402

EXAMPLE = ROOT / "specs" / "examples" / "volcano-script.yaml"
CHROMIUM = "/usr/bin/chromium"
OVERHEAD_TARGET = 0.10
IDLE_TARGET_MB = 400.0
TIMEOUT = 900  # seconds for one build, at most
_OUTSIDE = ("GROQ_", "OPENAI_", "HF_", "POLLINATIONS_", "AUTOSTREAM_", "HUGGING")  # no keys: offline
PLAYING = """(pattern) => {
  const v = document.querySelector('#studio-video video');
  const b = window.__bench || (window.__bench = {});
  if (!v || !new RegExp(pattern).test(v.currentSrc || v.getAttribute('src') || '')) return false;
  if (b.src === undefined) b.src = performance.now();
  if (v.paused && !b.playing_asked) {
    b.playing_asked = performance.now();
    v.muted = true;
    v.play().catch(() => { b.playing_asked = undefined; });
  }
  if (v.currentTime > 0.5 && !v.paused) { b.played = performance.now(); return true; }
  return false;
}"""


def _env() -> dict[str, str]:
    """The environment of every process here: no model or provider keys, this checkout's package."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(_OUTSIDE)}
    return {**clean, "PYTHONPATH": str(ROOT), "GRADIO_ANALYTICS_ENABLED": "False"}


def _snapshot() -> dict[int, tuple[int, int, float, float]]:
    """Every process from /proc: (parent, resident bytes, its own CPU seconds, CPU seconds with the children
    it reaped). One scan per sample, as cheap as build_bench's `_tree_memory_mb` that samples the CLI's builds,
    so the harness costs the studio's runs no more than the CLI's."""
    tick, page = os.sysconf("SC_CLK_TCK"), resource.getpagesize()
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            own = (int(stat[11]) + int(stat[12])) / tick
            found[int(entry)] = (int(stat[1]), int(stat[21]) * page, own, own + (int(stat[13]) + int(stat[14])) / tick)
        except (OSError, IndexError, ValueError):
            continue
    return found


def _tree(root: int, procs: dict[int, tuple[int, int, float, float]]) -> set[int]:
    """A process and all its descendants."""
    children: dict[int, list[int]] = {}
    for pid, (parent, *_) in procs.items():
        children.setdefault(parent, []).append(pid)
    tree, frontier = {root}, [root]
    while frontier:
        for child in children.get(frontier.pop(), []):
            if child not in tree:
                tree.add(child)
                frontier.append(child)
    return tree & procs.keys()


def _is_build(pid: int) -> bool:
    try:
        return b"autostream_compiler\x00build" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


@dataclass
class Cpu:
    """CPU seconds used so far by this harness's whole process tree (`ours`: the studio, its builds, the
    browser), the studio's tree (with the builds it reaped), the studio process alone, and this process."""

    ours: float
    studio_tree: float
    studio: float
    harness: float

    @classmethod
    def now(cls, studio: int) -> Cpu:
        procs = _snapshot()
        return cls(
            sum(procs[p][3] for p in _tree(os.getpid(), procs)),
            sum(procs[p][3] for p in _tree(studio, procs)),
            procs[studio][2] if studio in procs else 0.0,
            procs[os.getpid()][2],
        )


@dataclass
class Sampler:
    """Samples a studio every 0.1 s in a thread: its tree's peak resident memory (MB), its own, and when its
    build child (`autostream_compiler build`) ran (perf_counter times); and where the CPU went meanwhile,
    with the machine's busy seconds to tell other people's work apart."""

    pid: int
    tree_peak: float = 0.0
    own_peak: float = 0.0
    child_start: float | None = None
    child_end: float | None = None
    _stop: threading.Event = field(default_factory=threading.Event)

    def __enter__(self) -> Sampler:
        self._busy, self._cpu = _busy_cpu_seconds(), Cpu.now(self.pid)
        self._started = time.perf_counter()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_) -> None:
        self._stop.set()
        self._thread.join()
        self.wall = time.perf_counter() - self._started
        end = Cpu.now(self.pid)
        self.busy = _busy_cpu_seconds() - self._busy
        self.cpu = Cpu(*(getattr(end, k) - getattr(self._cpu, k) for k in ("ours", "studio_tree", "studio", "harness")))

    def cpu_figures(self) -> dict:
        """CPU seconds of the build process (with its ffmpeg children), of the studio process, of the browser
        (whatever else of this harness's tree), of the harness itself, and the share of the cores that
        other people's processes used meanwhile."""
        cpu, cores = self.cpu, os.cpu_count() or 1
        return {
            "cpu_seconds_build_process": round(cpu.studio_tree - cpu.studio, 1),
            "cpu_seconds_studio": round(cpu.studio, 1),
            "cpu_seconds_browser": round(max(0.0, cpu.ours - cpu.studio_tree - cpu.harness), 1),
            "cpu_seconds_harness": round(cpu.harness, 1),
            "other_load": round(max(0.0, self.busy - cpu.ours) / (self.wall * cores), 3),
        }

    def _run(self) -> None:
        while not self._stop.is_set():
            now = time.perf_counter()
            procs = _snapshot()
            self.tree_peak = max(self.tree_peak, sum(procs[p][1] for p in _tree(self.pid, procs)) / 2**20)
            self.own_peak = max(self.own_peak, procs.get(self.pid, (0, 0))[1] / 2**20)
            if any(parent == self.pid and _is_build(pid) for pid, (parent, *_) in procs.items()):
                self.child_start = self.child_start or now
                self.child_end = None
            elif self.child_start and self.child_end is None:
                self.child_end = now
            self._stop.wait(0.1)


@dataclass
class Studio:
    """A running `autostream studio` with its own workspace and cache."""

    url: str
    workspace: Path
    process: subprocess.Popen
    startup_seconds: float

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_studio(work: Path) -> Studio:
    """`autostream studio --port 0` on a fresh workspace and cache under `work`; returns once it printed
    its address."""
    work.mkdir(parents=True)
    argv = [sys.executable, "-m", "autostream_compiler", "studio", "--port", "0", "--concurrency", "1"]
    argv += ["--workspace", str(work / "ws"), "--cache-dir", str(work / "cache")]
    start = time.perf_counter()
    with open(work / "studio.log", "w") as log:
        process = subprocess.Popen(
            argv,
            cwd=work,
            env=_env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            start_new_session=True,  # only the harness stops it (signals to its process group do not)
        )
    first = process.stdout.readline()
    if not first.startswith("studio at http://"):
        process.kill()
        sys.exit(f"studio did not start: {first!r}\n{(work / 'studio.log').read_text()[-4000:]}")
    threading.Thread(target=process.stdout.read, daemon=True).start()  # never let its stdout fill up
    return Studio(first.split(" at ", 1)[1].strip(), work / "ws", process, time.perf_counter() - start)


def place_job(folder: Path, text: str) -> str:
    """Copy the example spec and its lock into the job folder the studio will use; returns the slug."""
    slug = slugify(title_of(text) or "untitled")
    job = folder / slug
    job.mkdir(parents=True, exist_ok=True)
    (job / f"{slug}.yaml").write_text(text, encoding="utf-8")
    lock = EXAMPLE.with_name(EXAMPLE.name.removesuffix(".yaml") + ".lock.yaml")
    if lock.is_file():
        shutil.copy(lock, job / f"{slug}.lock.yaml")
    return slug


def idle_memory(pid: int, seconds: float = 5.0) -> tuple[float, float]:
    """Peak resident memory of an idle process tree over `seconds`, and of the process alone (MB)."""
    with Sampler(pid) as sampler:
        time.sleep(seconds)
    return round(sampler.tree_peak, 1), round(sampler.own_peak, 1)


def _built_steps(report: dict) -> int:
    return sum(step["status"] == "built" for step in report["steps"])


# --- 1. Build → playing in the browser ----------------------------------------------------------------


def browser_run(work: Path, text: str, profile: str, wait: float, measure_idle: bool) -> dict:
    """One cold build from the page: type the spec, pick the profile, click Build, wait for the video to
    play. Returns its figures (and the idle studio's memory when `measure_idle`)."""
    from playwright.sync_api import expect, sync_playwright

    studio = start_studio(work)
    slug = place_job(studio.workspace, text)
    figures: dict = {"profile": profile, "studio_startup_seconds": round(studio.startup_seconds, 2)}
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            figures["chromium"] = browser.version
            page = browser.new_context().new_page()
            page.set_default_timeout(60_000)
            started = time.perf_counter()
            page.goto(studio.url)
            editor = page.locator(".cm-content")
            expect(editor).to_be_visible(timeout=60_000)
            page.wait_for_load_state("networkidle")
            figures["page_load_seconds"] = round(time.perf_counter() - started, 2)
            if measure_idle:
                time.sleep(2)  # the page's load events have been answered
                figures["idle_tree_mb"], figures["idle_studio_mb"] = idle_memory(studio.process.pid)
            editor.click()
            page.keyboard.press("Control+A")
            page.keyboard.insert_text(text)
            expect(page.get_by_text("✓ the spec is valid")).to_be_visible(timeout=60_000)
            page.get_by_label(profile, exact=True).check()
            video = f"{slug}.draft.mp4" if profile == "draft" else f"{slug}.mp4"
            figures["waited_for_quiet_seconds"] = wait_quiet(wait) if wait > 0 else 0.0
            with Sampler(studio.process.pid) as sampler:
                clicked_js = page.evaluate("performance.now()")
                t0 = time.perf_counter()
                page.get_by_role("button", name="Build", exact=True).click()
                wait_playing(page, video, studio, t0 + TIMEOUT)
                wall = time.perf_counter() - t0
            marks = page.evaluate("window.__bench")
            figures.update(
                build_to_playing_seconds=round(wall, 2),
                click_to_build_process_seconds=_since(sampler.child_start, t0),
                build_process_seconds=_between(sampler.child_start, sampler.child_end),
                build_process_end_to_video_src_seconds=round(
                    (marks["src"] - clicked_js) / 1000 - (sampler.child_end - t0), 2
                )
                if sampler.child_end
                else None,
                video_src_to_playing_seconds=round((marks["played"] - marks["src"]) / 1000, 2),
                during_build_tree_mb=round(sampler.tree_peak, 1),
                during_build_studio_mb=round(sampler.own_peak, 1),
                **sampler.cpu_figures(),
            )
            figures["idle_after_build_tree_mb"], figures["idle_after_build_studio_mb"] = idle_memory(
                studio.process.pid, 3.0
            )
            browser.close()
        saved = (studio.workspace / slug / f"{slug}.yaml").read_text(encoding="utf-8")
        if saved.strip() != text.strip():
            sys.exit(f"the studio built another spec than the one typed into the editor ({work})")
        out = studio.workspace / slug / "out" / video
        figures["video_seconds"] = round(probe_seconds(out), 2)
        figures["steps_built"] = _built_steps(json.loads((out.parent / f"{slug}.report.json").read_text()))
    finally:
        studio.stop()
    return figures


def wait_playing(page, video: str, studio: Studio, deadline: float) -> None:
    """Wait until the page plays `video` (see PLAYING); exit at once when the studio stopped meanwhile."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    while True:
        try:
            page.wait_for_function(PLAYING, arg=video.replace(".", r"\.") + "$", timeout=5_000)
            return
        except PlaywrightTimeout:
            if studio.process.poll() is not None:
                sys.exit(f"the studio stopped (exit code {studio.process.returncode}) before the video played")
            if time.perf_counter() > deadline:
                sys.exit(f"the video did not play within {TIMEOUT} s of pressing Build")


def _since(mark: float | None, t0: float) -> float | None:
    return round(mark - t0, 2) if mark else None


def _between(start: float | None, end: float | None) -> float | None:
    return round(end - start, 2) if start and end else None


# --- 2. Overhead: CLI against the /build API -------------------------------------------------------------


def cli_run(work: Path, text: str, profile: str, wait: float) -> dict:
    """`python -m autostream_compiler build` of the job's spec in a fresh cache, laid out as the studio
    lays out a job."""
    work.mkdir(parents=True)
    slug = place_job(work, text)
    spec = f"{slug}/{slug}.yaml"
    argv = [sys.executable, "-m", "autostream_compiler", "build", spec, "--cache-dir", "cache"]
    argv += ["--profile", profile, "--report", "report.json"]
    run: Run = measure(argv, work / "build.log", cwd=work, env=_env(), wait=wait)
    report = json.loads((work / "report.json").read_text())
    return {
        "wall_seconds": round(run.wall, 2),
        "peak_tree_mb": round(run.peak_mb, 1),
        "cpu_seconds_build_process": round(run.cpu, 1),
        "other_load": round(run.other_load, 3),
        "waited_for_quiet_seconds": run.waited,
        "steps_built": _built_steps(report),
        "video": str(work / slug / "out" / (f"{slug}.draft.mp4" if profile == "draft" else f"{slug}.mp4")),
    }


def api_run(work: Path, text: str, wait: float, profile: str = "final") -> dict:
    """The same cold build through a fresh studio's API, from submit to result: `/build` (final), or for
    the draft profile `/build_job`, the page's Build button without a browser."""
    from gradio_client import Client

    studio = start_studio(work)
    slug = place_job(studio.workspace, text)
    try:
        client = Client(studio.url, verbose=False, download_files=str(work / "downloads"), analytics_enabled=False)
        waited = wait_quiet(wait) if wait > 0 else 0.0
        with Sampler(studio.process.pid) as sampler:
            t0 = time.perf_counter()
            if profile == "final":
                video = client.submit(text, api_name="/build").result(timeout=TIMEOUT)[0]
            else:
                video = client.submit("", text, profile, api_name="/build_job").result(timeout=TIMEOUT)[3]
            wall = time.perf_counter() - t0
        state = json.loads((studio.workspace / slug / "out" / "studio.json").read_text())
        report = json.loads((studio.workspace / slug / "out" / f"{slug}.report.json").read_text())
    finally:
        studio.stop()
    return {
        "wall_seconds": round(wall, 2),
        "submit_to_build_process_seconds": _since(sampler.child_start, t0),
        "build_process_seconds": _between(sampler.child_start, sampler.child_end),
        "build_process_end_to_result_seconds": round(wall - (sampler.child_end - t0), 2) if sampler.child_end else None,
        "studio_recorded_build_seconds": state["seconds"],
        "during_build_tree_mb": round(sampler.tree_peak, 1),
        "during_build_studio_mb": round(sampler.own_peak, 1),
        **sampler.cpu_figures(),
        "waited_for_quiet_seconds": waited,
        "steps_built": _built_steps(report),
        "video": video,
    }


def _sha256(path: str) -> str:
    import hashlib

    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


# --- the run -------------------------------------------------------------------------------------------


def _check(value: float, target: str, met: bool) -> dict:
    return {"value": value, "target": target, "met": met}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="CLI and /build API runs each (default 3)")
    parser.add_argument(
        "--wait",
        type=float,
        default=300,
        metavar="SECONDS",
        help="before each timed run, wait up to this long for idle cores (default 300; 0: do not wait)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temp folder (workspaces, logs, videos)")
    args = parser.parse_args()
    if not Path(CHROMIUM).is_file():
        sys.exit(f"needs Debian's Chromium at {CHROMIUM} (apt-get install chromium)")
    text = EXAMPLE.read_text(encoding="utf-8")
    work = Path(tempfile.mkdtemp(prefix="autostream-studio-bench-"))
    started = time.perf_counter()
    results: dict = {
        "date": date.today().isoformat(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "load_average_at_start": Path("/proc/loadavg").read_text().split()[:3],
        "autostream": _git_commit(),
        "ffmpeg": _versions()["ffmpeg"],
        "gradio": _package_version("gradio"),
        "spec": str(EXAMPLE.relative_to(ROOT)),
    }
    try:
        browser = {}
        for profile in ("draft", "final"):
            print(f"browser, {profile}: type the spec, Build, wait for the video to play", flush=True)
            browser[profile] = browser_run(work / f"browser-{profile}", text, profile, args.wait, profile == "draft")
            print(f"  {browser[profile]['build_to_playing_seconds']} s", flush=True)
        print("cli, draft (for reference)", flush=True)
        cli_draft = cli_run(work / "cli-draft", text, "draft", args.wait)
        cli_draft.pop("video")
        print(f"  {cli_draft['wall_seconds']} s", flush=True)
        print("api (/build_job, the page's handler without a browser), draft (for reference)", flush=True)
        api_draft = api_run(work / "api-draft", text, args.wait, "draft")
        api_draft.pop("video")
        print(f"  {api_draft['wall_seconds']} s", flush=True)
        cli, api = [], []
        for n in range(args.repeats):
            order = ("cli", "api") if n % 2 == 0 else ("api", "cli")
            for kind in order:
                print(f"{kind} {n + 1}, final", flush=True)
                if kind == "cli":
                    cli.append(cli_run(work / f"cli-{n + 1}", text, "final", args.wait))
                else:
                    api.append(api_run(work / f"api-{n + 1}", text, args.wait))
                print(f"  {(cli if kind == 'cli' else api)[-1]['wall_seconds']} s", flush=True)
        same_video = len({_sha256(r.pop("video")) for r in cli + api}) == 1
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    cli_median = statistics.median(r["wall_seconds"] for r in cli)
    api_median = statistics.median(r["wall_seconds"] for r in api)
    overhead = round(api_median / cli_median - 1, 3)
    idle = browser["draft"]["idle_tree_mb"]
    results.update(
        {
            "browser": browser,
            "cli_draft": cli_draft,
            "api_draft": api_draft,
            "overhead": {
                "cli_final": cli,
                "api_final": api,
                "cli_median_seconds": round(cli_median, 2),
                "api_median_seconds": round(api_median, 2),
                "api_over_cli": overhead,
                "same_video_bytes": same_video,
            },
            "checks": {
                "studio_overhead": _check(overhead, f"<= {OVERHEAD_TARGET}", overhead <= OVERHEAD_TARGET),
                "idle_studio_tree_mb": _check(idle, f"<= {IDLE_TARGET_MB:.0f}", idle <= IDLE_TARGET_MB),
            },
            "load_average_at_end": Path("/proc/loadavg").read_text().split()[:3],
            "total_seconds": round(time.perf_counter() - started),
            "warnings": [
                f"{name}: other processes used {load:.0%} of the cores"
                for name, load in _loads(browser, cli_draft, api_draft, cli, api)
                if load > DISTURBED
            ],
        }
    )
    out = ROOT / "benchmarks" / "results" / "studio.json"
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps(results, indent=2, ensure_ascii=False))
    print(f"written to {out.relative_to(ROOT)}" + (f"; workspaces kept in {work}" if args.keep else ""))


def _loads(
    browser: dict, cli_draft: dict, api_draft: dict, cli: list[dict], api: list[dict]
) -> list[tuple[str, float]]:
    named = [(f"browser {p}", f["other_load"]) for p, f in browser.items()]
    named += [("cli draft", cli_draft["other_load"]), ("api draft", api_draft["other_load"])]
    named += [(f"cli {n + 1}", r["other_load"]) for n, r in enumerate(cli)]
    return named + [(f"api {n + 1}", r["other_load"]) for n, r in enumerate(api)]


def _package_version(name: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return None


if __name__ == "__main__":
    main()
