"""Test helpers: throwaway projects written from dicts, the CLI run in-process, ffprobe figures."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import yaml
from click.testing import CliRunner

from autostream_compiler.cli import main

OUTSIDE = (
    "GROQ_",
    "OPENAI_",
    "HF_",
    "POLLINATIONS_",
    "PEXELS_",
    "AUTOSTREAM_",
    "HUGGING",
)  # keys and endpoints of the developer's shell


def write_spec(folder: Path, spec: dict, name: str = "video.yaml") -> Path:
    """Write a spec dict as YAML into folder."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return path


def run_cli(*args: str):
    """Run `autostream ARGS` in-process; returns click's Result (exit_code, stdout, stderr)."""
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def ffprobe(path: Path) -> dict:
    """ffprobe's JSON of a media file: streams, format and chapters."""
    out = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-print_format",
            "json",
            "-show_streams",
            "-show_format",
            "-count_frames",
            str(path),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(out)


def report_statuses(path: Path) -> dict[tuple[str, int | None], str]:
    """(kind, scene) -> status from a build report."""
    data = json.loads(path.read_text())
    return {(s["kind"], s["scene"]): s["status"] for s in data["steps"]}


def frame_hashes(video: Path, streams: tuple[str, ...] = ("v", "a")) -> list[str]:
    """ffmpeg's framemd5 of every decoded frame of these streams (timestamps, sizes and hashes)."""
    maps = [arg for kind in streams for arg in ("-map", f"0:{kind}")]
    out = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(video), *maps, "-f", "framemd5", "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [line for line in out.splitlines() if not line.startswith("#")]


def two_scene_spec() -> dict:
    """small_spec's first two scenes, libx264 (no hardware-encoder probe in each of many processes)."""
    spec = small_spec()
    spec["scenes"] = spec["scenes"][:2]
    spec["encoder"] = "libx264"
    return spec


def small_spec() -> dict:
    """A three-scene spec that builds in seconds."""
    return {
        "version": 1,
        "title": "Test video",
        "format": {"aspect": "16:9", "resolution": "720p", "fps": 24},
        "pacing": {"words_per_minute": 170, "pause": 0.5},
        "transition": {"kind": "cut"},  # joins are tested in tests/func/test_render.py
        "scenes": [
            {"narration": "The first scene starts in 1883.", "visual": "a red sunrise"},
            {"narration": "Then the second one costs $5.", "visual": "a quiet harbour"},
            {"narration": "Finally, we end here.", "visual": "a mountain at night"},
        ],
    }


def send_reply(handler: BaseHTTPRequestHandler, status: int, data: bytes, kind: str, headers: dict | None = None):
    """Answer a fake server's request (a client that hung up is no error of the fake's)."""
    try:
        handler.send_response(status)
        handler.send_header("content-type", kind)
        handler.send_header("content-length", str(len(data)))
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(data)
    except (BrokenPipeError, ConnectionResetError):
        pass


class LocalServer:
    """An HTTP server on 127.0.0.1 (random port) run in a thread by `with`; `root` is its URL."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]):
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.root = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self):
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


class Watching:
    """`autostream watch SPEC --serve 127.0.0.1:0` as a real process, by `with`: its preview URL, its
    status and its output lines; it is stopped with SIGTERM at the end (or by `stop`)."""

    def __init__(self, spec: Path, *args: str):
        import sys

        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "autostream_compiler",
                "watch",
                str(spec),
                "--serve",
                "127.0.0.1:0",
                "--debounce",
                "100",
                *args,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=spec.parent,
        )
        self.lines: list[str] = []
        first = self.proc.stdout.readline()
        self.lines.append(first)
        assert first.startswith("preview at http://127.0.0.1:"), first
        self.url = first.split()[-1].rstrip("/")
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line)

    def __enter__(self) -> Watching:
        return self

    def __exit__(self, *exc) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def get(self, path: str) -> tuple[int, bytes, dict]:
        """GET a path of the server: status code, body and headers."""
        import urllib.error
        import urllib.request

        try:
            with urllib.request.urlopen(self.url + path, timeout=10) as resp:
                return resp.status, resp.read(), dict(resp.headers)
        except urllib.error.HTTPError as err:
            return err.code, err.read(), dict(err.headers)

    def status(self) -> dict:
        return json.loads(self.get("/status.json")[1])

    def wait_for(self, build: int, timeout: float = 120) -> dict:
        """The status once `build` builds have finished (and no build is running)."""
        import time

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, "".join(self.lines)
            status = self.status()
            if status["build"] >= build and status["state"] != "building":
                return status
            time.sleep(0.05)
        raise AssertionError(f"build {build} not finished in {timeout} s:\n{''.join(self.lines)}")

    def stop(self, sig: int | None = None) -> tuple[int, float]:
        """Send SIGTERM (or `sig`); the exit code and the seconds it took to exit."""
        import signal
        import time

        started = time.monotonic()
        self.proc.send_signal(sig or signal.SIGTERM)
        code = self.proc.wait(timeout=30)
        seconds = time.monotonic() - started
        self.reader.join(5)  # every line it printed is in `lines`
        return code, seconds

    def count(self, text: str) -> int:
        """How many output lines so far contain `text`."""
        return sum(text in line for line in list(self.lines))


@contextmanager
def tmpfs(path: Path, options: str):
    """A small tmpfs mounted at path for the block (root only); yields False when it cannot be mounted."""
    path.mkdir(parents=True)
    mounted = (
        os.geteuid() == 0
        and shutil.which("mount")
        and subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], capture_output=True).returncode
        == 0
    )
    try:
        yield bool(mounted)
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(path)], check=True)  # lazy: this process may still hold its lock


# --- the studio ---


@dataclass
class Running:
    url: str
    workspace: Path
    process: subprocess.Popen

    def client(self, **kwargs):
        from gradio_client import Client

        return Client(self.url, verbose=False, download_files=str(self.workspace.parent / "downloads"), **kwargs)


def start_studio(workspace: Path, *args: str, env: dict | None = None) -> Running:
    """`autostream studio --port 0` in its own process; returns once it printed its address."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(OUTSIDE)}
    process = subprocess.Popen(
        [sys.executable, "-m", "autostream_compiler", "studio", "--port", "0", "--workspace", str(workspace), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**clean, **(env or {})},
        cwd=workspace.parent,
    )
    first = process.stdout.readline()
    if not first.startswith("studio at http://127.0.0.1:"):
        process.kill()
        raise AssertionError(f"studio did not start: {first!r} {process.stderr.read()}")
    return Running(first.split(" at ", 1)[1].strip(), workspace, process)


def stop_studio(running: Running) -> None:
    running.process.terminate()
    try:
        running.process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        running.process.kill()
        running.process.wait()


# --- Redis and workers ---


def free_port() -> int:
    """A loopback port nobody listens on now."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_redis(folder: Path) -> tuple[subprocess.Popen, str]:
    """Debian's redis-server on a free 127.0.0.1 port, nothing saved; returns it and its URL."""
    import redis

    port = free_port()
    argv = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    process = subprocess.Popen([*argv, "--dir", str(folder)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    for _ in range(100):
        try:
            client.ping()
            return process, url
        except redis.ConnectionError:
            threading.Event().wait(0.05)
    process.kill()
    raise AssertionError("redis-server did not start")


@dataclass
class Worker:
    """An `autostream worker` process (its own process group) and its name (host:pid)."""

    process: subprocess.Popen
    name: str


def start_worker(folder: Path, broker: str, cache: str, *args: str, env: dict | None = None) -> Worker:
    """`autostream worker` in its own folder (its local cache there); returns once it said its name."""
    folder.mkdir(parents=True, exist_ok=True)
    clean = {k: v for k, v in os.environ.items() if not k.startswith(OUTSIDE)}
    process = subprocess.Popen(
        [sys.executable, "-m", "autostream_compiler", "worker", "--broker", broker, "--cache", cache, *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**clean, **(env or {})},
        cwd=folder,
        start_new_session=True,
    )
    first = process.stderr.readline()
    if not first.startswith("worker "):
        process.kill()
        raise AssertionError(f"worker did not start: {first!r}")
    threading.Thread(target=process.stderr.read, daemon=True).start()  # its step lines: never a full pipe
    return Worker(process, first.split()[1].rstrip(":"))


def stop_worker(worker: Worker) -> None:
    if worker.process.poll() is None:
        os.killpg(worker.process.pid, 15)
        try:
            worker.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(worker.process.pid, 9)
            worker.process.wait()


# --- documents ---


def print_pdf(html: str, out: Path) -> Path:
    """A PDF of an HTML text printed by Debian's headless Chromium (CSS page breaks make pages);
    skips the test where there is no Chromium."""
    import pytest

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("needs Chromium (apt-get install chromium; .ci/run installs it)")
    out.parent.mkdir(parents=True, exist_ok=True)
    page = out.with_suffix(".html")
    page.write_text(html, encoding="utf-8")
    argv = [chromium, "--headless", "--no-sandbox", f"--print-to-pdf={out}", "--no-pdf-header-footer", page.name]
    subprocess.run(argv, cwd=out.parent, capture_output=True, timeout=60, check=True)
    page.unlink()
    return out


def pages_html(pages: list[tuple[str, list[str]]]) -> str:
    """An HTML document of pages (heading, paragraphs), one printed page each."""
    body = "".join(
        f'<div style="page-break-after:always"><h1>{title}</h1>{"".join(f"<p>{p}</p>" for p in paragraphs)}</div>'
        for title, paragraphs in pages
    )
    return f"<html><head><style>body{{font-family:sans-serif;font-size:13pt}}</style></head><body>{body}</body></html>"
