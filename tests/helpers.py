"""Test helpers: throwaway projects written from dicts, the CLI run in-process, ffprobe figures."""

from __future__ import annotations

import json
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import yaml
from click.testing import CliRunner

from autostream_compiler.cli import main


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
        ["ffprobe", "-v", "error", "-print_format", "json", "-show_streams", "-show_format",
         "-count_frames", str(path)],
        capture_output=True, text=True, check=True,
    ).stdout
    return json.loads(out)


def report_statuses(path: Path) -> dict[tuple[str, int | None], str]:
    """(kind, scene) -> status from a build report."""
    data = json.loads(path.read_text())
    return {(s["kind"], s["scene"]): s["status"] for s in data["steps"]}


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
