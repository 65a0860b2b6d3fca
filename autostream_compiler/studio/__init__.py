"""`autostream studio`: the web studio (Gradio, an optional extra) over the same compiler.

Every video the studio makes is a spec file and its lock in a job folder of the workspace, built by
`autostream build` in a child process, so what the studio makes can be committed and rebuilt with the
CLI. Builds wait in Gradio's queue, `concurrency` at a time, with their position shown.
"""

from __future__ import annotations

import os
import signal
import socket
import threading
from collections.abc import Callable
from pathlib import Path

from autostream_compiler.errors import UserError

AUTH_ENV = "AUTOSTREAM_STUDIO_AUTH"
EXTRA = "pip install 'autostream-compiler[studio]'"


def parse_auth(value: str | None) -> list[tuple[str, str]] | None:
    """`user:password`, several comma-separated, as Gradio's login pairs; None when unset."""
    if not value or not value.strip():
        return None
    pairs = []
    for item in value.split(","):
        user, sep, password = item.strip().partition(":")
        if not sep or not user or not password:
            raise UserError(f"{AUTH_ENV}: each login is user:password (several separated by commas); fix the variable")
        pairs.append((user, password))
    return pairs


def free_port(host: str) -> int:
    """A port nobody listens on now (for `--port 0`)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def use_workers(broker: str | None, cache: str | None) -> None:
    """Send the studio's builds to the Celery workers of `broker` through the shared `cache` (else
    $AUTOSTREAM_BROKER and $AUTOSTREAM_CACHE): both are checked now, and the builds (child processes)
    take them from the environment, so no URL with a password shows in a process list."""
    from autostream_compiler.engine.celery_exec import broker_url, connect
    from autostream_compiler.engine.remote import open_remote

    url = broker_url(broker)
    connect(url).close()
    remote = open_remote(cache)
    if remote is None:
        raise UserError("studio --executor celery needs the workers' shared cache: give --cache URL")
    os.environ.update(
        AUTOSTREAM_EXECUTOR="celery", AUTOSTREAM_BROKER=url, AUTOSTREAM_CACHE=cache or os.environ["AUTOSTREAM_CACHE"]
    )


def serve(
    host: str,
    port: int,
    workspace: Path,
    cache_dir: Path | None,
    concurrency: int,
    say: Callable[[str], None],
    workers: tuple[str, str] | None = None,
) -> None:
    """Run the studio until interrupted; `say` gets the address line first. With `workers` (a broker
    URL and a shared cache URL, both checked to answer first), builds run on Celery workers."""
    from autostream_compiler.env import load_env_file
    from autostream_compiler.studio.workspace import Workspace

    auth = parse_auth(os.environ.get(AUTH_ENV))
    ws = Workspace(workspace, cache_dir)
    ws.create()
    load_env_file(Path.cwd())  # keys for the model and online providers, never shown on the page
    if workers is not None:
        use_workers(*workers)
    # Gradio keeps uploads and copies of what it serves in its temp folder: inside the workspace
    os.environ["GRADIO_TEMP_DIR"] = str(ws.scratch / "gradio")
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    try:
        import gradio  # noqa: F401
    except ImportError:
        raise UserError(f"the studio needs Gradio: {EXTRA}") from None
    from autostream_compiler.providers.voices import PROVIDERS, voices
    from autostream_compiler.studio.app import Studio, create_app

    studio = Studio(ws, concurrency)
    app = create_app(studio, [f"{p}:{v}" for p in PROVIDERS for v in voices(p)])
    app.queue(default_concurrency_limit=4)
    port = port or free_port(host)
    try:
        app.launch(
            server_name=host,
            server_port=port,
            auth=auth,
            prevent_thread_lock=True,
            quiet=True,
            show_error=False,
            allowed_paths=[str(ws.root)],  # the jobs' videos and downloads, served where they are
            blocked_paths=[str(ws.cache), str(ws.root / ".env"), str(Path.cwd() / ".env")],  # keys stay private
            max_file_size="100mb",
            ssr_mode=False,
            footer_links=["api"],
        )
    except OSError as exc:
        raise UserError(f"cannot listen on {host}:{port} ({exc}); choose another --port") from None
    shown = f"[{host}]" if ":" in host else host
    say(f"studio at http://{shown}:{port}/")
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        if signal.getsignal(sig) is not signal.SIG_IGN:  # started in the background (nohup, &): keep ignoring
            signal.signal(sig, lambda *_: stop.set())
    try:
        stop.wait()
    finally:
        studio.builds.cancel_all()
        app.close()
