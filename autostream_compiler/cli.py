"""The `autostream` command: thin click commands over the core functions."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from autostream_compiler.errors import AutostreamError, SpecError


class _Group(click.Group):
    """Turns AutostreamError into one clean message and its exit code; --debug shows the traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except AutostreamError as exc:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            prefix = "error: " if not isinstance(exc, SpecError) else ""
            for line in str(exc).splitlines():
                click.echo(f"{prefix}{line}", err=True)
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
_cache_opt = click.option("--cache-dir", type=click.Path(path_type=Path, file_okay=False),
                          help="Cache folder (default: .autostream/cache beside the spec, or $AUTOSTREAM_CACHE_DIR).")


@main.command()
@_spec_arg
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False), help="Output MP4 path.")
@click.option("--report", type=click.Path(path_type=Path, dir_okay=False), help="Write a JSON build report here.")
@_cache_opt
@click.option("-j", "--jobs", type=click.IntRange(1, 64), help="Steps run at once (default: the number of cores).")
@click.option("--refresh", is_flag=True, help="Expand the spec again even when the lock file is current.")
@click.pass_context
def build(ctx: click.Context, spec: Path, output, report, cache_dir, jobs, refresh) -> None:
    """Build SPEC into a video (plus .srt and .words.json beside it)."""
    from autostream_compiler.build.pipeline import build as run_build
    from autostream_compiler.cli_progress import StepProgress

    started = time.perf_counter()
    with StepProgress(debug=ctx.obj["debug"]) as progress:
        result = run_build(spec, output=output, report=report, cache_dir=cache_dir, jobs=jobs,
                           refresh=refresh, on_plan=progress.plan, on_done=progress.done)
    built = sum(s.status == "built" for s in result.steps)
    summary = f"{built} built, {len(result.steps) - built} cached" if built else "nothing to do"
    click.echo(f"{result.output}  ({summary}, {time.perf_counter() - started:.1f}s)")


@main.command()
@_spec_arg
@_cache_opt
def status(spec: Path, cache_dir) -> None:
    """List the steps a build of SPEC would run, and why."""
    from autostream_compiler.build.pipeline import status as get_status

    rows = get_status(spec, cache_dir=cache_dir)
    pending = [(s, why) for s, why in rows if why != "up to date"]
    for step, why in rows:
        mark = "  " if why == "up to date" else "* "
        click.echo(f"{mark}{step.label:<18} {why}")
    click.echo(f"{len(pending)} of {len(rows)} steps would run" if pending else "up to date: nothing to build")
