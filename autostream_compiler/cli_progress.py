"""Live progress of a build on the terminal (rich), one line per finished step."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from autostream_compiler.engine.runner import Step
from autostream_compiler.env import redact

_STYLE = {"built": "green", "cached": "dim", "failed": "bold red"}


class StepProgress:
    """A progress bar over all steps; built and failed steps are printed as they finish (a Reporter)."""

    def __init__(self, debug: bool = False):
        self.console = Console(stderr=True, highlight=False)
        self.debug = debug
        self.progress = Progress(
            TextColumn("building"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=self.console,
            transient=True,
        )
        self.task = None

    def __enter__(self) -> StepProgress:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.progress.__exit__(*exc)

    def note(self, message: str) -> None:
        """Print a line above the bar (expansion progress, warnings)."""
        self.progress.console.print(message, markup=False, soft_wrap=True)

    def plan(self, steps: list[Step]) -> None:
        """Start the bar for this many steps."""
        self.task = self.progress.add_task("build", total=len(steps))

    def step_started(self, step: Step) -> None:
        """Steps are shown when they finish."""

    def step_done(self, step: Step) -> None:
        """Record one finished step."""
        self.progress.advance(self.task)
        if step.status == "cached":
            return
        line = f"[{_STYLE[step.status]}]{step.status:<7}[/] {step.label:<18} {step.seconds:6.2f}s"
        if step.error:
            line += f"  {escape(step.error)}"
        self.progress.console.print(line, markup=True)
        for warning in step.warnings:
            self.progress.console.print(
                f"[yellow]warning[/] {step.label}: {escape(warning)}", markup=True, highlight=False
            )
        if self.debug and step.traceback:
            self.progress.console.print(redact(step.traceback), markup=False)
