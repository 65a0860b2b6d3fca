"""The `autostream` command: thin click commands over the core functions."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from autostream_compiler.errors import AutostreamError, UserError, message_lines


class _Group(click.Group):
    """Turns AutostreamError into one clean message and its exit code; --debug shows the traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except AutostreamError as exc:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            for line in message_lines(exc):
                click.echo(line, err=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)


@click.group(cls=_Group)
@click.option("--debug", is_flag=True, help="Show tracebacks.")
@click.version_option(package_name="autostream-compiler", prog_name="autostream")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """autostream: compile YAML video specs into narrated MP4s, rebuilding only what changed."""
    ctx.obj = {"debug": debug}


_spec_arg = click.argument("spec", type=click.Path(path_type=Path, dir_okay=False))
_cache_opt = click.option(
    "--cache-dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Cache folder (default: $AUTOSTREAM_CACHE_DIR, else .autostream/cache beside the spec; for the cache "
    "commands, in the current folder).",
)
_jobs_opt = click.option(
    "-j", "--jobs", type=click.IntRange(1, 64), help="Steps run at once (default: the number of cores)."
)


def _remote_opts(command):
    """`--cache URL` and `--cache-endpoint URL`: the shared cache the local one reads through."""
    command = click.option(
        "--cache-endpoint",
        metavar="URL",
        help="S3 endpoint of an s3:// cache (default: $AWS_ENDPOINT_URL, else AWS).",
    )(command)
    return click.option(
        "--cache",
        "cache_url",
        metavar="URL",
        help="Shared cache: a folder, file://PATH or s3://BUCKET/PREFIX (default: $AUTOSTREAM_CACHE); "
        "--cache-dir stays its local copy. Needs the `distributed` extra.",
    )(command)


def _executor_opts(command):
    """`--executor local|celery` and `--broker URL`: where the steps run."""
    command = click.option(
        "--broker",
        metavar="URL",
        help="Redis of the Celery workers, redis://HOST:PORT/N (default: $AUTOSTREAM_BROKER).",
    )(command)
    return click.option(
        "--executor",
        type=click.Choice(["local", "celery"]),
        default="local",
        show_default=True,
        envvar="AUTOSTREAM_EXECUTOR",
        help="Where steps run: here, or on `autostream worker`s through --broker (needs --cache, the "
        "workers' shared cache, and the `distributed` extra).",
    )(command)


_verify_opt = click.option(
    "--verify",
    is_flag=True,
    help="Check every file taken from the cache against its digest (a damaged one is rebuilt); "
    "always on for a cache on a network file system.",
)


def _profile_opt(default: str):
    """`--profile final|draft`, with the command's default."""
    return click.option(
        "--profile",
        type=click.Choice(["final", "draft"]),
        default=default,
        show_default=True,
        help="draft: 360p and the fastest encoder settings, written to <name>.draft.mp4 (for previews).",
    )


@main.command()
@click.argument("specs", nargs=-1, required=True, metavar="SPEC...", type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False), help="Output MP4 path (one spec).")
@click.option(
    "--report",
    type=click.Path(path_type=Path, dir_okay=False),
    help='Write a JSON build report here (several specs: {"specs": [{"spec", "output", "status", "steps"}]}).',
)
@_cache_opt
@_jobs_opt
@click.option(
    "--refresh",
    is_flag=True,
    help="Write the scenes anew even when the lock is current (asks the model again for a topic; "
    "hand edits in the lock are dropped).",
)
@_profile_opt("final")
@_verify_opt
@_remote_opts
@_executor_opts
@click.option(
    "--strict",
    is_flag=True,
    help="Fail (exit 1) when a scene of a spec with `sources` cites no passage of them.",
)
@click.option(
    "--events",
    type=click.File("w", lazy=False),
    metavar="FILE",
    help="Write the build's events (plan, steps starting and finishing, notes) as JSON lines to FILE "
    "(- for stdout) instead of drawing the progress bar.",
)
@click.option(
    "--changed-since",
    metavar="GIT_REF",
    help="Build only the specs whose spec, lock, style or named files changed since this git commit "
    "(uncommitted and untracked changes count); for CI.",
)
@click.pass_context
def build(
    ctx: click.Context,
    specs,
    output,
    report,
    cache_dir,
    jobs,
    refresh,
    profile,
    verify,
    cache_url,
    cache_endpoint,
    executor,
    broker,
    strict,
    events,
    changed_since,
) -> None:
    """Build SPEC into a video (plus .srt and .words.json beside it).

    Several specs, or a folder (every spec in it), build in one run over one cache: steps they share
    run once, each spec gets a line when it is done, and a table ends the run (exit 1 if one failed)."""
    if len(specs) > 1 or changed_since is not None or specs[0].is_dir():
        options = {"output": output, "cache_dir": cache_dir, "jobs": jobs, "refresh": refresh}
        options |= {"profile": profile, "verify": verify, "cache": cache_url, "cache_endpoint": cache_endpoint}
        options |= {"executor": executor, "broker": broker, "strict": strict}
        _build_batch(ctx, list(specs), report, events, changed_since, options)
        return
    spec = specs[0]
    started = time.perf_counter()
    if not (refresh or verify or cache_url or executor != "local" or events):
        unchanged = _unchanged(spec, output, report, cache_dir, profile, strict)
        if unchanged is not None:
            click.echo(f"{unchanged}  (nothing to do, {time.perf_counter() - started:.1f}s)")
            return

    from autostream_compiler.engine.pipeline import build as run_build

    with _progress(ctx, events) as progress:
        result = run_build(
            spec,
            output=output,
            report=report,
            cache_dir=cache_dir,
            jobs=jobs,
            refresh=refresh,
            reporter=progress,
            profile=profile,
            verify=verify,
            cache=cache_url,
            cache_endpoint=cache_endpoint,
            executor=executor,
            broker=broker,
            strict=strict,
        )
    built = sum(s.status == "built" for s in result.steps)
    remote = sum(s.status == "cached" and s.source == "remote" for s in result.steps)
    from_remote = f" ({remote} from the shared cache)" if remote else ""
    summary = (
        f"{built} built, {len(result.steps) - built} cached{from_remote}" if built else "nothing to do" + from_remote
    )
    line = f"{result.output}  ({summary}, {time.perf_counter() - started:.1f}s)"
    click.echo(line, err=_events_on_stdout(events))


def _unchanged(spec: Path, output, report, cache_dir, profile: str, strict: bool) -> str | None:
    """The output of the last build of `spec` when building it again would change nothing (its
    report is written again), else None: a no-op is answered without loading the build engine."""
    from autostream_compiler.engine import fingerprint
    from autostream_compiler.engine.cache import cache_root

    ctx = fingerprint.context(spec, output, cache_dir, profile, strict)
    found = fingerprint.replay(cache_root(cache_dir, spec.resolve().parent), ctx, report)
    return None if found is None else found["output"]


def _progress(ctx: click.Context, events):
    """What hears about a build: `--events` as JSON lines, else the terminal's progress bar."""
    from contextlib import nullcontext

    from autostream_compiler.cli_progress import StepProgress
    from autostream_compiler.engine.events import JsonEvents

    return nullcontext(JsonEvents(events)) if events else StepProgress(debug=ctx.obj["debug"])


def _events_on_stdout(events) -> bool:
    """With `--events -` stdout carries the events, so the command's own lines go to stderr."""
    return events is not None and events.name == "<stdout>"


def _build_batch(ctx: click.Context, specs: list[Path], report, events, changed_since, options: dict) -> None:
    """`build` of several specs (or a folder): a line per spec as it ends, a table, exit 1 if one failed."""
    from autostream_compiler.engine.batch import build_specs, select_specs, summary_lines, write_report
    from autostream_compiler.errors import BuildError

    to_stderr = _events_on_stdout(events)
    todo, skipped = select_specs(specs, changed_since, options["output"])
    for spec in skipped:
        click.echo(f"{spec}: unchanged since {changed_since}, skipped", err=True)
    results = []
    if todo:
        with _progress(ctx, events) as progress:
            results = build_specs(todo, reporter=progress, on_done=lambda done: progress.note(done.line()), **options)
    if report:
        write_report(report, results, skipped)
    if not results:
        click.echo(f"nothing changed since {changed_since}: {len(skipped)} specs skipped", err=to_stderr)
        return
    for line in summary_lines(results, skipped, changed_since):
        click.echo(line, err=to_stderr)
    failed = [str(r.spec) for r in results if r.status == "failed"]
    if failed:
        raise BuildError(f"{len(failed)} of {len(results)} specs failed: {', '.join(failed)}")


@main.command()
@_spec_arg
@click.option(
    "--serve",
    metavar="[HOST:]PORT",
    is_flag=False,
    flag_value="127.0.0.1:8765",
    help="Serve a live preview page (default 127.0.0.1:8765; port 0 picks a free one).",
)
@_profile_opt("draft")
@_cache_opt
@_jobs_opt
@click.option(
    "--debounce",
    type=click.IntRange(0, 10000),
    default=300,
    show_default=True,
    metavar="MS",
    help="Wait until files have been quiet this long before building.",
)
@click.option(
    "--cache-max-size",
    metavar="SIZE",
    help="After each build, trim the cache to SIZE, least recently used first (default 1GB: the last few builds).",
)
@_verify_opt
@_remote_opts
@click.pass_context
def watch(
    ctx: click.Context,
    spec: Path,
    serve,
    profile,
    cache_dir,
    jobs,
    debounce,
    cache_max_size,
    verify,
    cache_url,
    cache_endpoint,
) -> None:
    """Build SPEC, then rebuild it whenever it or a file it uses changes (Ctrl-C stops)."""
    from autostream_compiler.cli_progress import StepProgress
    from autostream_compiler.engine.cache_gc import WATCH_MAX_SIZE, parse_size
    from autostream_compiler.preview import parse_address
    from autostream_compiler.watch import watch as run_watch

    address = parse_address(serve) if serve is not None else None
    if not spec.is_file():
        raise UserError(f"{spec}: no such spec file; give the path of a .yaml spec")
    options = {"cache_dir": cache_dir, "jobs": jobs, "profile": profile, "verify": verify}
    options |= {"cache": cache_url, "cache_endpoint": cache_endpoint}
    run_watch(
        spec,
        options,
        address,
        debounce / 1000,
        lambda line, err=True: click.echo(line, err=err),
        lambda: StepProgress(debug=ctx.obj["debug"]),
        WATCH_MAX_SIZE if cache_max_size is None else parse_size(cache_max_size, "--cache-max-size"),
    )


@main.command()
@_spec_arg
@_cache_opt
@_profile_opt("final")
@_remote_opts
def status(spec: Path, cache_dir, profile, cache_url, cache_endpoint) -> None:
    """List the steps a build of SPEC would run, and why."""
    from autostream_compiler.engine.cache import sources_root
    from autostream_compiler.engine.pipeline import status as get_status
    from autostream_compiler.expand import sources_status

    for line in sources_status(spec, sources_root(cache_dir, spec)):
        click.echo(f"sources: {line}")
    rows = get_status(spec, cache_dir=cache_dir, profile=profile, cache=cache_url, cache_endpoint=cache_endpoint)
    pending = [(s, why) for s, why in rows if why != "up to date"]
    for step, why in rows:
        mark = "  " if why == "up to date" else "* "
        click.echo(f"{mark}{step.label:<18} {why}")
    click.echo(f"{len(pending)} of {len(rows)} steps would run" if pending else "up to date: nothing to build")


def _say(message: str) -> None:
    click.echo(message, err=True)


@main.command()
@_spec_arg
@click.option(
    "--refresh", is_flag=True, help="Write the scenes anew (ask the model again) even when the lock is current."
)
@click.option(
    "--answer",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Take the scenes from this JSON file, in the form a model is asked for, instead of asking one.",
)
def expand(spec: Path, refresh: bool, answer) -> None:
    """Resolve SPEC into its lock file (<stem>.lock.yaml) and list the scenes, without building."""
    from autostream_compiler.expand import resolve

    _print_graph(resolve(spec, refresh=refresh, answer=answer, log=_say))


@main.command("lock")
@_spec_arg
@click.option("--check", is_flag=True, help="Write nothing; exit 1 when the lock is missing or out of date (for CI).")
def lock_command(spec: Path, check: bool) -> None:
    """Bring SPEC's lock file up to date (calling a model only when its scenes are stale), or --check it."""
    from autostream_compiler.expand import load_inputs, lock_status, resolve
    from autostream_compiler.expand.lock import lock_path

    if not check:
        _print_graph(resolve(spec, log=_say))
        return
    inputs = load_inputs(spec)
    state, _ = lock_status(inputs)
    path = lock_path(spec)
    again = "asks the model again" if inputs.spec.topic is not None else "writes it again"
    verdict = {
        "current": f"{path}: current",
        "scenes-current": f"{path}: out of date (the spec or style changed outside what the scenes were written "
        f"from); `autostream lock {spec}` updates it without calling a model",
        "stale": f"{path}: out of date (the scenes were written from other inputs); `autostream lock {spec}` {again}",
        "missing": f"{path}: missing; `autostream lock {spec}` writes it",
        "old-format": f"{path}: written by an older autostream; `autostream lock {spec}` writes it anew "
        "(hand edits in it are not carried over)",
    }[state]
    click.echo(verdict, err=state != "current")
    if state != "current":
        sys.exit(1)


def _print_graph(resolved) -> None:
    from autostream_compiler.expand.lock import lock_path
    from autostream_compiler.expand.spoken import to_words

    graph = resolved.graph
    wpm, pause = graph.pacing.words_per_minute, graph.pacing.pause
    total = 0.0
    for i, scene in enumerate(graph.scenes, 1):
        seconds = len(to_words(scene.narration)) * 60 / wpm + pause
        total += seconds
        text = scene.narration if len(scene.narration) <= 72 else scene.narration[:71] + "…"
        click.echo(f"{i:3}  {seconds:5.1f}s  {_printable(text)}")
    click.echo(
        f'{lock_path(resolved.spec_path)}: {resolved.lock}; "{_printable(graph.title)}", '
        f"{len(graph.scenes)} scenes, about {total:.0f} s"
    )


def _printable(text: str) -> str:
    """User text for the terminal: control characters (an escape sequence in a spec) shown as `?`."""
    return "".join(c if c.isprintable() else "?" for c in text)


@main.command()
@click.argument("name", required=False)
def styles(name) -> None:
    """List the built-in styles, or print the file of style NAME (a start for your own)."""
    from autostream_compiler.specfile.style import builtin_style_names, load_style, style_path

    if name:
        if name not in builtin_style_names():
            raise UserError(f"no built-in style {name!r}; use one of {', '.join(builtin_style_names())}")
        click.echo(style_path(name, Path.cwd()).read_text(encoding="utf-8"), nl=False)
        return
    for style_name in builtin_style_names():
        style, _ = load_style(style_path(style_name, Path.cwd()))
        fmt, pacing = style.format, style.pacing
        click.echo(
            f"{style_name:<12} {fmt.aspect:>5} {fmt.resolution:>6} {fmt.fps:>3}fps "
            f"{pacing.words_per_minute:>4} wpm  {style.description}"
        )


@main.command("voices")
@click.argument("provider", required=False, type=click.Choice(["piper", "edge", "espeak"]))
def voices_command(provider) -> None:
    """List the voices each TTS provider offers here (piper and espeak offline, edge online)."""
    from autostream_compiler.providers.voices import PROVIDERS, voices

    notes = {
        "piper": "offline, neural",
        "edge": "online; common voices, any Edge neural voice name works",
        "espeak": "offline, many languages",
    }
    for name in [provider] if provider else PROVIDERS:
        found = voices(name)
        click.echo(f"{name} ({notes[name]}): {len(found)} voices")
        for voice_id in found:
            click.echo(f"  {name}:{voice_id}")


@main.command()
def fonts() -> None:
    """List the caption fonts shipped with autostream (all under the SIL Open Font License)."""
    from autostream_compiler.render.captions import fonts as shipped

    for name in shipped():
        click.echo(name)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0: every interface).")
@click.option(
    "--port", type=click.IntRange(0, 65535), default=7860, show_default=True, help="Port; 0 picks a free one."
)
@click.option(
    "--workspace",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("studio"),
    show_default=True,
    help="Folder of the studio's jobs: one folder per video with its spec, lock and out/.",
)
@click.option(
    "--cache-dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Build cache shared by the jobs (default: .cache in the workspace).",
)
@click.option(
    "--concurrency", type=click.IntRange(1, 64), default=1, show_default=True, help="Builds run at once; others wait."
)
@_executor_opts
@click.option(
    "--cache",
    "cache_url",
    metavar="URL",
    help="With --executor celery: the workers' shared cache (default: $AUTOSTREAM_CACHE).",
)
def studio(host, port, workspace, cache_dir, concurrency, executor, broker, cache_url) -> None:
    """The web studio: draft, edit and build videos in a browser (Gradio; needs the `studio` extra).

    Logins for a public deployment: AUTOSTREAM_STUDIO_AUTH=user:password (several comma-separated).
    With --executor celery the builds run on `autostream worker`s, shared by every studio user."""
    from autostream_compiler.studio import serve

    workers = (broker, cache_url) if executor == "celery" else None
    serve(host, port, workspace, cache_dir, concurrency, lambda line: click.echo(line), workers)


@main.command()
@click.option(
    "--broker", metavar="URL", help="Redis to take steps from, redis://HOST:PORT/N (default: $AUTOSTREAM_BROKER)."
)
@click.option(
    "--cache",
    "cache_url",
    metavar="URL",
    help="The shared cache of the builds: a folder, file://PATH or s3://BUCKET/PREFIX (default: $AUTOSTREAM_CACHE).",
)
@click.option("--cache-endpoint", metavar="URL", help="S3 endpoint of an s3:// cache (default: $AWS_ENDPOINT_URL).")
@_cache_opt
@click.option(
    "-c",
    "--concurrency",
    type=click.IntRange(1, 256),
    help="Steps run at once (default: the number of cores; 16 for a worker of the network queue only).",
)
@click.option(
    "-Q",
    "--queues",
    default="cpu,network",
    show_default=True,
    metavar="LIST",
    help="Queues to take steps from: cpu (pictures, renders, the mix), network (online voices and pictures).",
)
def worker(broker, cache_url, cache_endpoint, cache_dir, concurrency, queues) -> None:
    """Run build steps for `autostream build --executor celery` (a Celery worker; needs the `distributed`
    extra). Keys for online providers come from this machine's environment, never from the build."""
    import os

    from autostream_compiler.engine.celery_exec import QUEUES, broker_url, start_worker
    from autostream_compiler.engine.pipeline import open_store

    names = [q.strip() for q in queues.split(",") if q.strip()]
    unknown = [q for q in names if q not in QUEUES]
    if unknown or not names:
        raise UserError(
            f"--queues {queues}: unknown queue {unknown[0] if unknown else '(none)'}; use cpu, network or both"
        )
    from autostream_compiler.env import load_env_file

    load_env_file(Path.cwd())  # keys for online providers, as a build reads them
    url = broker_url(broker)
    if not (cache_url or os.environ.get("AUTOSTREAM_CACHE")):
        raise UserError("a worker needs the builds' shared cache: give --cache URL (or set AUTOSTREAM_CACHE)")
    store = open_store(cache_dir, Path.cwd(), cache=cache_url, endpoint=cache_endpoint)
    start_worker(url, store, concurrency or (16 if names == ["network"] else os.cpu_count() or 1), names)


# --- cache ---------------------------------------------------------------------------------------


@main.group("cache")
def cache_group() -> None:
    """Show what the build cache holds, or bound it (least recently used entries go first)."""


@cache_group.command("info")
@_cache_opt
def cache_info(cache_dir) -> None:
    """Size, objects, actions, first and last use, and what gc keeps."""
    from autostream_compiler.engine.cache import cache_root
    from autostream_compiler.engine.cache_gc import info

    for line in info(cache_root(cache_dir)).lines():
        click.echo(line)


@cache_group.command("gc")
@click.option(
    "--max-size",
    metavar="SIZE",
    help="Remove least recently used entries until the cache fits: 500MB, 2GB, 800KB, 1TB or bytes "
    "(decimal: 1 GB = 1000 MB).",
)
@click.option("--older-than", metavar="AGE", help="Remove entries not used for AGE: 45s, 90m, 12h, 30d, 2w.")
@click.option("--dry-run", is_flag=True, help="Print what would be removed; change nothing.")
@_cache_opt
def cache_gc(max_size, older_than, dry_run, cache_dir) -> None:
    """Shrink the cache, least recently used entries first.

    Also removes what dead processes left behind. Never removed: what the latest build of an existing
    spec needs, and what a running build or watch is using (so the cache may stay above --max-size)."""
    from autostream_compiler.engine.cache import cache_root
    from autostream_compiler.engine.cache_gc import collect, parse_age, parse_size

    size = parse_size(max_size) if max_size is not None else None
    age = parse_age(older_than) if older_than is not None else None
    click.echo(collect(cache_root(cache_dir), max_size=size, older_than=age, dry_run=dry_run).summary())
