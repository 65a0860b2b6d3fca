"""One error hierarchy: user errors exit 2, build failures exit 1."""

from __future__ import annotations

import errno

from autostream_compiler.env import redact


class AutostreamError(Exception):
    """Base of every error autostream reports to a user as one line. `inputs`: the files the failed
    command read or tried to read (a watcher watches them for the fix)."""

    exit_code = 1
    inputs: frozenset = frozenset()


class UserError(AutostreamError):
    """Bad input from the user: a spec, a style, a path or an option. Exit code 2."""

    exit_code = 2


class SpecError(UserError):
    """A spec (or style) file is invalid; carries every problem found, one per line."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


class BuildError(AutostreamError):
    """A build step failed. Exit code 1. `result` is the failed build's BuildResult when there was one."""

    def __init__(self, message: str, result=None, inputs=frozenset()):
        super().__init__(message)
        self.result = result
        self.inputs = inputs


class ToolError(BuildError):
    """An external tool (ffmpeg) failed; the message holds the tail of its stderr."""


def message_lines(exc: AutostreamError) -> list[str]:
    """An error as printed to a user: its lines with secrets redacted, `error: ` before each unless
    it is a spec's list of problems (those name their file first)."""
    prefix = "" if isinstance(exc, SpecError) else "error: "
    return [f"{prefix}{line}" for line in redact(str(exc)).splitlines()]


def write_failed(
    where: str,
    exc: OSError,
    full: str = "free some space and build again",
    denied: str = "make the folder writable or choose another path",
    other: str = "check the path and build again",
) -> AutostreamError:
    """One line for something autostream could not write (`where`: an output, the lock, the cache
    folder): why, and the fix for a full disk, a refusal, or anything else."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return BuildError(f"{where}: no space left on the device; {full}")
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return UserError(f"{where}: cannot write there ({exc.strerror}); {denied}")
    detail = f" ({exc.filename})" if exc.filename and str(exc.filename) not in where else ""
    return BuildError(f"{where}: cannot write it ({exc.strerror or exc}){detail}; {other}")
