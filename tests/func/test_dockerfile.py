"""The Dockerfile's install steps without Docker: its COPY lines laid out in a folder as in the image,
its pip steps run in a clean venv, then the installed `autostream` answers and its default command
(the studio) serves the page. Slow (a full install from the package index): one test, one venv."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "Dockerfile"
PYTHON_STEP = ("pip ", "python ")  # RUN steps that install Python packages; apt-get and useradd are skipped


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of a Dockerfile, continuation lines joined, comments dropped."""
    steps: list[tuple[str, str]] = []
    pending = ""
    for line in text.splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        whole = (pending + line).strip()
        pending = ""
        name, _, args = whole.partition(" ")
        steps.append((name.upper(), args.strip()))
    return steps


def exec_form(args: str) -> list[str]:
    """The JSON array of an ENTRYPOINT or CMD."""
    value = json.loads(args)
    assert isinstance(value, list), f"use the exec form (a JSON array): {args}"
    return value


def inside(root: Path, image_path: str, workdir: str) -> Path:
    """Where an image path lies in the folder laid out as the image."""
    absolute = image_path if image_path.startswith("/") else f"{workdir.rstrip('/')}/{image_path}"
    return root / absolute.lstrip("/")


def env_pairs(args: str) -> dict[str, str]:
    """An ENV instruction's variables (`ENV A=1 B=2` or `ENV A 1`)."""
    words = shlex.split(args)
    if "=" not in words[0]:
        return {words[0]: " ".join(words[1:])}
    return dict(word.split("=", 1) for word in words)


def replace_option(argv: list[str], option: str, value: str) -> list[str]:
    """argv with OPTION's value replaced (the option must be there)."""
    assert option in argv, f"the default command lacks {option}: {argv}"
    at = argv.index(option) + 1
    return argv[:at] + [value] + argv[at + 1 :]


def first_line(proc: subprocess.Popen, timeout: float) -> str:
    """The first line a process prints, or '' when it prints none before it exits or the timeout."""
    got: list[str] = []
    reader = threading.Thread(target=lambda: got.append(proc.stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    return got[0].strip() if got else ""


def run(argv, env, cwd, timeout=120) -> subprocess.CompletedProcess:
    """A command's exit code and output, in the venv's environment."""
    return subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def test_the_dockerfile_installs_a_working_cli_and_studio(tmp_path):
    steps = instructions(DOCKERFILE.read_text(encoding="utf-8"))
    names = [name for name, _ in steps]
    args_of = {name: args for name, args in steps}  # the last of each, as Docker uses
    apt = " ".join(args for name, args in steps if name == "RUN" and "apt-get install" in args)
    assert {"ffmpeg", "espeak-ng"} <= set(apt.split()), "the image needs ffmpeg and espeak-ng from apt"
    user = args_of.get("USER", "root")
    assert user not in ("root", "0"), "the image runs as a non-root user"
    assert names.index("USER") > max(i for i, (n, a) in enumerate(steps) if n == "RUN" and a.startswith(PYTHON_STEP))
    assert "7860" in args_of["EXPOSE"].split()
    command = exec_form(args_of["ENTRYPOINT"]) + exec_form(args_of["CMD"])
    assert command[:2] == ["autostream", "studio"], command
    assert command[command.index("--host") + 1] == "0.0.0.0" and command[command.index("--port") + 1] == "7860"

    # A clean venv stands for the image's Python; the image's paths lie under root
    root, venv = tmp_path / "image", tmp_path / "venv"
    made = subprocess.run([sys.executable, "-m", "venv", str(venv)], capture_output=True, text=True)
    if made.returncode != 0:
        pytest.skip(f"python -m venv is unavailable here: {made.stderr.strip()[-300:]}")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV", "CONDA"))}
    env.update(PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}", VIRTUAL_ENV=str(venv))

    workdir = "/"
    for name, args in steps:
        if name == "WORKDIR":
            workdir = args if args.startswith("/") else f"{workdir.rstrip('/')}/{args}"
            inside(root, workdir, "/").mkdir(parents=True, exist_ok=True)
        elif name == "ENV":
            for key, value in env_pairs(args).items():
                env[key] = str(inside(root, value, "/")) if value.startswith("/") else value
        elif name == "COPY":
            *sources, dest = [word for word in shlex.split(args) if not word.startswith("--")]
            target = inside(root, dest, workdir)
            for source in sources:
                origin = REPO / source
                to = target / origin.name if dest.endswith("/") or len(sources) > 1 else target
                to.parent.mkdir(parents=True, exist_ok=True)
                if origin.is_dir():
                    shutil.copytree(origin, to, ignore=shutil.ignore_patterns("__pycache__"), dirs_exist_ok=True)
                else:
                    shutil.copy2(origin, to)
        elif name == "RUN" and args.startswith(PYTHON_STEP):
            done = run(["sh", "-c", args], env, inside(root, workdir, "/"), timeout=1800)
            assert done.returncode == 0, f"RUN {args}\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    cwd = inside(root, workdir, "/")
    cwd.mkdir(parents=True, exist_ok=True)
    bin_autostream = venv / "bin" / "autostream"
    assert bin_autostream.exists(), "the pip steps installed no `autostream` command"

    version = re.search(r'^version = "(.+)"', (REPO / "pyproject.toml").read_text(encoding="utf-8"), re.M)[1]
    shown = run([str(bin_autostream), "--version"], env, cwd)
    assert shown.returncode == 0 and version in shown.stdout, shown.stdout + shown.stderr
    checked = run([str(venv / "bin" / "python"), "-m", "pip", "check"], env, cwd)
    assert checked.returncode == 0, f"installed packages lack requirements:\n{checked.stdout}"
    helped = run([str(bin_autostream), "studio", "--help"], env, cwd)
    assert helped.returncode == 0 and "--workspace" in helped.stdout, helped.stdout + helped.stderr
    extras = "import celery, redis, s3fs, lancedb, wordllama, pypdfium2, pypdf"  # workers, documents
    imported = run([str(venv / "bin" / "python"), "-c", extras], env, cwd)
    assert imported.returncode == 0, "the image needs the distributed and docs extras: " + imported.stderr

    # The image's default command, on a local free port and a temp workspace
    argv = replace_option(command, "--host", "127.0.0.1")
    argv = replace_option(argv, "--port", "0")
    argv = replace_option(argv, "--workspace", str(tmp_path / "workspace"))
    argv[0] = str(bin_autostream)
    errors = (tmp_path / "studio.err").open("w")
    proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=errors, text=True)
    try:
        line = first_line(proc, timeout=180)
        assert line.startswith("studio at http://127.0.0.1:"), (line, (tmp_path / "studio.err").read_text()[-3000:])
        url = line.removeprefix("studio at ")
        local = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # 127.0.0.1, never a proxy
        with local.open(url, timeout=60) as page:
            assert page.status == 200
            assert "autostream studio" in page.read().decode("utf-8", "replace")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        errors.close()
    assert (tmp_path / "workspace").is_dir()
