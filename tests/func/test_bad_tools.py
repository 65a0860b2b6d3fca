"""Missing or crashing ffmpeg: a real build prints one clear error line, exits 2 (nothing to run) or 1 (a
step failed), and leaves no half-written video beside the spec and no temp files in the cache.

Each build is a real `python -m autostream_compiler build` process: ffmpeg is looked up once per process.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import run_cli, small_spec, tmpfs, write_spec

VERSION = '[ "$1" = -version ] && { echo "ffmpeg version 0-fake"; exit 0; }\n'  # steps' keys name the version
FAKES = {
    # a SIGSEGV, as a broken build of ffmpeg or a bad driver gives
    "segfault": "#!/bin/sh\n" + VERSION + "kill -SEGV $$\n",
    # exit 1 after binary noise and terminal escapes on stderr
    "garbage": "#!/bin/sh\n"
    + VERSION
    + "head -c 2000 /dev/urandom >&2\nprintf '\\n\\033[31mnoise\\001\\n' >&2\nexit 1\n",
    # crashes whatever it is asked, even for its version
    "broken": "#!/bin/sh\nkill -SEGV $$\n",
}
EXPECTED = {
    "segfault": "ffmpeg (segment scene 1) failed: crashed (SIGSEGV)",
    "garbage": "ffmpeg (segment scene 1) failed: exit code 1; its output is not text",
}


def _project(root: Path) -> Path:
    spec = small_spec()
    spec["scenes"] = spec["scenes"][:1]
    return write_spec(root / "project", spec)


def _build(spec: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "autostream_compiler", "build", str(spec), "--profile", "draft"],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=300,
    )


def _fake_ffmpeg(folder: Path, kind: str) -> str:
    """A PATH whose first `ffmpeg` is the fake of `kind`."""
    folder.mkdir()
    exe = folder / "ffmpeg"
    exe.write_text(FAKES[kind])
    exe.chmod(0o755)
    return f"{folder}{os.pathsep}{os.environ['PATH']}"


def _error_lines(result: subprocess.CompletedProcess) -> list[str]:
    assert "Traceback" not in result.stderr + result.stdout
    assert all(c.isprintable() or c in "\n" for c in result.stderr), result.stderr
    return [line for line in result.stderr.splitlines() if line.startswith("error:")]


def _cache_temp_files(project: Path) -> list[Path]:
    """Files in the cache that are not finished entries: anything under tmp/, or named like a temp file."""
    cache = project / ".autostream" / "cache"
    if not cache.exists():
        return []
    return [
        p
        for p in cache.rglob("*")
        if p.is_file() and ("tmp" in p.relative_to(cache).parts[:-1] or "tmp" in p.name or p.name.startswith("."))
    ]


def _out_files(project: Path) -> dict[str, bytes]:
    out = project / "out"
    return {p.name: p.read_bytes() for p in out.iterdir()} if out.exists() else {}


def test_missing_ffmpeg_is_one_line_before_any_step(tmp_path):
    spec = _project(tmp_path)
    empty = tmp_path / "no-tools"
    empty.mkdir()
    result = _build(spec, PATH=str(empty), IMAGEIO_FFMPEG_EXE=str(tmp_path / "nowhere" / "ffmpeg"))
    assert result.returncode == 2, result.stderr
    [line] = _error_lines(result)
    assert line == (
        f"error: no ffmpeg found: none on PATH, and IMAGEIO_FFMPEG_EXE='{tmp_path}/nowhere/ffmpeg' is not an "
        "executable file; install ffmpeg (apt-get install ffmpeg) or fix IMAGEIO_FFMPEG_EXE"
    )
    assert "built" not in result.stderr  # refused before any step ran
    assert _out_files(spec.parent) == {}
    assert _cache_temp_files(spec.parent) == []


@pytest.mark.parametrize("kind", sorted(EXPECTED))
def test_a_crashing_ffmpeg_fails_the_build_cleanly(tmp_path, kind):
    spec = _project(tmp_path)
    result = _build(spec, PATH=_fake_ffmpeg(tmp_path / "fake", kind))
    assert result.returncode == 1, result.stderr
    [line] = _error_lines(result)
    assert re.fullmatch(rf"error: \d+ of \d+ steps failed; first: segment scene 1: {re.escape(EXPECTED[kind])}", line)
    assert _out_files(spec.parent) == {}  # no video, no sidecars, no temp files
    assert _cache_temp_files(spec.parent) == []


def test_an_ffmpeg_that_does_not_run_at_all_is_one_line_before_any_step(tmp_path):
    spec = _project(tmp_path)
    fake = _fake_ffmpeg(tmp_path / "fake", "broken")
    result = _build(spec, PATH=fake)
    assert result.returncode == 1, result.stderr
    [line] = _error_lines(result)
    assert line == f"error: {tmp_path}/fake/ffmpeg does not run (crashed (SIGSEGV)); reinstall ffmpeg"
    assert "built" not in result.stderr
    assert _out_files(spec.parent) == {} and _cache_temp_files(spec.parent) == []


def test_a_crash_keeps_the_previous_video_and_the_next_build_recovers(tmp_path):
    spec = _project(tmp_path)
    assert _build(spec).returncode == 0
    before = _out_files(spec.parent)
    assert "video.draft.mp4" in before

    spec.write_text(spec.read_text().replace("The first scene starts in 1883.", "The first scene starts in 1884."))
    result = _build(spec, PATH=_fake_ffmpeg(tmp_path / "fake", "segfault"))
    assert result.returncode == 1
    [line] = _error_lines(result)
    assert "crashed (SIGSEGV)" in line
    assert _out_files(spec.parent) == before  # the last good video and its sidecars, untouched
    assert _cache_temp_files(spec.parent) == []

    again = _build(spec)  # the real ffmpeg again: the cache holds nothing half-made
    assert again.returncode == 0, again.stderr
    assert _out_files(spec.parent)["video.draft.mp4"] != before["video.draft.mp4"]
    assert _cache_temp_files(spec.parent) == []


def test_an_output_folder_that_cannot_be_written_is_one_line_and_nothing_half_written(tmp_path):
    spec = small_spec()
    spec["scenes"] = spec["scenes"][:1]
    path = write_spec(tmp_path / "project", spec)
    with tmpfs(tmp_path / "readonly", "ro,size=1m") as mounted:
        if not mounted:
            pytest.skip("needs a tmpfs mount (root without mount rights ignores file modes)")
        result = run_cli("build", path, "--profile", "draft", "-o", tmp_path / "readonly" / "video.mp4")
        assert result.exit_code == 2, result.stderr
        [line] = [line for line in result.stderr.splitlines() if line.startswith("error:")]
        assert "readonly/video.mp4: cannot write there" in line and "Traceback" not in result.stderr
    with tmpfs(tmp_path / "full", "size=48k") as mounted:  # smaller than the video
        assert mounted
        result = run_cli("build", path, "--profile", "draft", "-o", tmp_path / "full" / "video.mp4")
        assert result.exit_code == 1, result.stderr
        assert "full/video.mp4: no space left on the device" in result.stderr and "Traceback" not in result.stderr
        assert os.listdir(tmp_path / "full") == []  # no temp file, no partial video


def test_temp_files_a_killed_writer_left_beside_the_outputs_go_at_the_next_build(tmp_path):
    spec = _project(tmp_path)
    out = spec.parent / "out"
    out.mkdir()
    stale, fresh = out / ".video.draft.mp4.k1ll3d.tmp", out / ".video.draft.srt.wr1t1ng.tmp"
    for temp in (stale, fresh):
        temp.write_bytes(b"half a video")
    os.utime(stale, (1, 1))  # long ago: its writer is gone
    result = run_cli("build", spec, "--profile", "draft")
    assert result.exit_code == 0, result.stderr
    assert not stale.exists() and fresh.exists()  # a recent one may be another build's, mid-write
