"""A real studio process on a free loopback port, driven the way users and scripts drive it."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

_OUTSIDE = ("GROQ_", "OPENAI_", "HF_", "POLLINATIONS_", "AUTOSTREAM_", "HUGGING")


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
    clean = {k: v for k, v in os.environ.items() if not k.startswith(_OUTSIDE)}
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


@pytest.fixture(scope="module")
def studio(tmp_path_factory):
    """One studio for a test module, builds one at a time (`--concurrency 1`)."""
    running = start_studio(tmp_path_factory.mktemp("studio") / "ws", "--concurrency", "1")
    yield running
    stop_studio(running)
