"""Fuzzed spec and style files: hypothesis strategies that mutate valid ones, one in-process run of
`autostream status` and `autostream expand` on a case, and the properties every run must keep.

Used by tests/specfile/test_fuzz.py (a few hundred cases) and benchmarks/fuzz.py (the long run).
"""

from __future__ import annotations

import copy
import datetime
import os
import re
import shutil
import signal
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner
from helpers import small_spec
from hypothesis import strategies as st

from autostream_compiler.cli import main

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "specs" / "examples"
STYLES = ROOT / "templates" / "styles"
HARD_LIMIT = 30  # seconds one command may run before the harness stops it (a hang, not a slow run)
LONGEST_LINE = 1500  # characters of one output line
CANARY = Path(tempfile.gettempdir()) / "autostream-fuzz-canary"  # absolute paths the fuzzer writes into specs

# What a user must never see: a traceback or the repr of a Python exception or object.
RAW = re.compile(
    r"Traceback|\[Errno|\bobject at 0x|<class '|\b[A-Z]\w*(?:Error|Exception|Warning)\b[:(]|\bdatetime\.\w+\("
)


@dataclass(frozen=True)
class Case:
    """A project to write and the commands to run in it."""

    files: tuple[tuple[str, bytes], ...]  # (name, content) in the project folder
    spec: str  # the spec's file name among them
    steps: tuple[str, ...]  # what was mutated, for reading a failure

    def __repr__(self) -> str:
        sizes = ", ".join(f"{name} ({len(data):,} bytes)" for name, data in self.files)
        return f"Case({' | '.join(self.steps)}; {sizes})"


@dataclass
class Outcome:
    """What the runs of one case did."""

    exit_codes: dict[str, int] = field(default_factory=dict)  # command -> exit code
    seconds: float = 0.0  # the slowest command
    violations: list[str] = field(default_factory=list)


# ---------------------------------------------------------------- the valid documents mutated


def _load(path: Path) -> Any:
    return yaml.load(path.read_bytes(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def spec_bases() -> list[tuple[str, Any, tuple[tuple[str, bytes, Any], ...]]]:
    """(file name, data, files beside it as (name, bytes, data)) of each valid spec: the test helper's and
    the examples (with their locks)."""
    bases = [("video.yaml", small_spec(), ())]
    for path in sorted(EXAMPLES.glob("*.yaml")):
        if path.name.endswith(".lock.yaml"):
            continue
        lock = path.with_name(f"{path.stem}.lock.yaml")
        beside = ((lock.name, lock.read_bytes(), _load(lock)),) if lock.is_file() else ()
        bases.append((path.name, _load(path), beside))
    return bases


def style_bases() -> list[Any]:
    """The data of each built-in style."""
    return [_load(p) for p in sorted(STYLES.glob("*.yaml"))]


_SPECS = spec_bases()
_STYLES = style_bases()

# ---------------------------------------------------------------- values and data mutations

PATHS = [
    "../outside.png",
    "../../etc/passwd",
    "/etc/passwd",
    str(CANARY / "video.mp4"),
    str(CANARY / "style.yaml"),
    "~/x.yaml",
    "a" * 300 + ".png",
    "a/" * 600 + "x.yaml",
    "a" * 200_000,
    "out/../../x.mp4",
    ".",
    "",
    " ",
    "\x00.yaml",
    "my.yaml\x00",
    "con.yaml",
    "文件.png",
    "out",
    "video.yaml",
    ".autostream/cache",
]
SIZES = [1_000, 100_000, 1_000_000]
ODDITIES = [
    datetime.date(2024, 1, 1),
    datetime.datetime(2024, 1, 1, 12, 30),
    b"binary \x00 bytes",
    {1, 2},
    10**20,
    -(10**20),
    2**63,
    -(2**63) - 1,
    10**4000,
    float("inf"),
    float("-inf"),
    float("nan"),
    -0.0,
    1e308,
    5e-324,
    "2024-01-01",
    "yes",
    "~",
    "0x1F",
    "1:20",
    "#FFD166",
    "piper:en_US-joe-medium",
    "espeak:xx",
    "edge:",
    ":",
    "Inter-Bold.otf",
    "{{ visual }} {{ nope }}",
    "{% for %}",
    "{{ 1/0 }}",
]
FIELDS = [
    "version",
    "title",
    "style",
    "voice",
    "speakers",
    "align",
    "align_model",
    "images",
    "captions",
    "motion",
    "transition",
    "music",
    "loudness",
    "encoder",
    "thumbnail",
    "output",
    "seed",
    "format",
    "pacing",
    "topic",
    "llm",
    "script",
    "scenes",
    "narration",
    "image",
    "audio",
    "speaker",
    "palette",
    "font",
    "name",
    "prompts",
]


def _nested(depth: int, as_dict: bool) -> Any:
    value: Any = "bottom"
    for _ in range(depth):
        value = {"k": value} if as_dict else [value]
    return value


def values() -> st.SearchStrategy:
    """Values of the wrong type, odd text, huge or negative numbers, paths no file system takes, deep nesting."""
    text = st.text(max_size=40)
    return st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(),
        text,
        text.map(lambda s: f"{s}\x00{s}"),
        st.sampled_from(SIZES).map(lambda n: "x" * n),
        st.sampled_from(PATHS),
        st.sampled_from(ODDITIES),
        st.tuples(st.sampled_from([5, 30, 45, 120]), st.booleans()).map(lambda a: _nested(*a)),
        st.lists(st.one_of(st.integers(), text), max_size=4),
        st.dictionaries(text, st.one_of(st.integers(), text), max_size=3),
    )


def _like(value: Any) -> st.SearchStrategy:
    """Another value of the same type: other text (any script, controls), numbers in and out of range."""
    if isinstance(value, bool):
        return st.booleans()
    if isinstance(value, int):
        return st.integers(-1000, 100_000)
    if isinstance(value, float):
        return st.floats(-100, 10_000, allow_nan=False)
    spoken = st.text("0123456789$€%#+&.,-–:/ stndrhkmg°CO", min_size=1, max_size=120)  # what the narrator reads out
    return st.one_of(
        st.text(min_size=1, max_size=80),
        st.text(st.characters(codec="utf-8"), max_size=300),
        spoken,
        st.sampled_from(["9" * 70, "1" + "0" * 5000, "$" + "9" * 40 + ".5", "#" * 3000 + "1", "1" + "0" * 40 + "th"]),
    )


def _paths(data: Any, here: tuple = ()) -> list[tuple]:
    """Every place in a document: the path of keys and indexes that leads to it, the top level last
    (hypothesis favours the first)."""
    out = []
    if isinstance(data, dict):
        for k, v in data.items():
            out += _paths(v, here + (k,))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            out += _paths(v, here + (i,))
    return out + [here]


def _get(data: Any, path: tuple) -> Any:
    for part in path:
        data = data[part]
    return data


def _set(data: Any, path: tuple, value: Any) -> Any:
    if not path:
        return value
    _get(data, path[:-1])[path[-1]] = value
    return data


@st.composite
def mutated(draw, base: Any) -> tuple[Any, list[str]]:
    """A deep copy of `base` with one to three changes: a value replaced, a key removed, added or made
    a non-text key, a list repeated many times."""
    data = copy.deepcopy(base)
    steps = []
    for _ in range(draw(st.sampled_from([1, 1, 2, 3]))):
        path = draw(st.sampled_from(_paths(data)))
        target = _get(data, path) if path else data
        kind = draw(st.sampled_from(["set", "set", "like", "like", "like", "delete", "add", "key", "repeat"]))
        if kind == "like" and isinstance(target, (str, bool, int, float)):
            data = _set(data, path, draw(_like(target)))
        elif kind == "delete" and path:
            del _get(data, path[:-1])[path[-1]]
        elif kind == "add" and isinstance(target, dict):
            name = draw(st.one_of(st.sampled_from(FIELDS), st.text(max_size=12)))
            target[name] = draw(values())
        elif kind == "key" and isinstance(target, dict) and target:
            old = draw(st.sampled_from(sorted(target, key=str)))
            new = draw(st.sampled_from([1, None, True, 2.5, (1, 2), datetime.date(2024, 1, 1)]))
            target[new] = target.pop(old)
        elif kind == "repeat" and isinstance(target, list) and target:
            _set(data, path, target * draw(st.sampled_from([2, 50, 1001, 5000])))
        else:
            kind = "set"
            data = _set(data, path, draw(values()))
        steps.append(f"{kind} {'.'.join(map(str, path)) or '(top)'}")
    return data, steps


# ---------------------------------------------------------------- text mutations

SNIPPETS = list(":-[]{}!|>'\"%@`#\\\t\x00\r\ufeff\x85\u2028\x1b\U0001f3ac") + [
    "- ",
    "&a ",
    "*a",
    "? ",
    "<<: ",
    "---\n",
    "...\n",
]
TAGS = [
    f"!!{t} "
    for t in "python/object/apply:os.system binary timestamp int float bool null str set omap map seq merge".split()
]
TAGS += ["!foo ", "!<tag:yaml.org,2002:int> "]
TEXT_KINDS = (
    "tab cut insert duplicate swap tag bomb merge nest digits crlf bom documents directive recursive utf16 bytes"
)
DIRECTIVES = ["%YAML 1.1\n---\n", "%YAML 9.9\n---\n", "%TAG !e! tag:e.com,2000:\n---\n"]


def alias_bomb(levels: int, width: int, merge: bool = False) -> str:
    """Keys a0..a<levels>, each a list of `width` aliases of the one before: width**levels values. With
    `merge`, each is a mapping that merges (`<<`) the one before `width` times over a0's 1000 keys."""
    if merge:
        keys = ", ".join(f"k{i}: {i}" for i in range(1000))
        lines = [f"a0: &a0 {{{keys}}}"]
        lines += [f"a{i}: &a{i} {{<<: [" + ", ".join([f"*a{i - 1}"] * width) + "]}" for i in range(1, levels + 1)]
    else:
        lines = ['a0: &a0 ["lol"]']
        lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]" for i in range(1, levels + 1)]
    return "\n".join(lines) + "\n"


@st.composite
def text_mutations(draw, text: str) -> tuple[bytes, list[str]]:
    """The YAML text with zero to two changes: tabs, a cut, special characters, duplicate lines, tags,
    an alias bomb, merges, deep flow nesting, huge numbers, other encodings or invalid UTF-8."""
    steps = []
    encoding = "utf-8"
    for _ in range(draw(st.sampled_from([0, 0, 1, 2]))):
        lines = text.split("\n")
        at = draw(st.integers(0, max(len(text) - 1, 0)))
        row = draw(st.integers(0, max(len(lines) - 1, 0)))
        kind = draw(st.sampled_from(TEXT_KINDS.split()))
        if kind == "tab":
            lines[row] = "\t" + lines[row].lstrip(" ")
            text = "\n".join(lines)
        elif kind == "cut":
            text = text[:at]
        elif kind == "insert":
            text = text[:at] + draw(st.sampled_from(SNIPPETS)) + text[at:]
        elif kind == "duplicate":
            lines.insert(row, lines[row])
            text = "\n".join(lines)
        elif kind == "swap":
            other = draw(st.integers(0, len(lines) - 1))
            lines[row], lines[other] = lines[other], lines[row]
            text = "\n".join(lines)
        elif kind == "tag":
            if ": " not in lines[row]:
                continue
            key, value = lines[row].split(": ", 1)
            lines[row] = f"{key}: {draw(st.sampled_from(TAGS))}{value}"
            text = "\n".join(lines)
        elif kind == "bomb":
            levels, width, merge = draw(st.integers(2, 9)), draw(st.integers(2, 9)), draw(st.booleans())
            use = draw(st.sampled_from(["", f"title: *a{levels}\n", f"scenes: *a{levels}\n"]))
            text = alias_bomb(levels, width, merge) + use + text
            kind = f"{'merge ' if merge else ''}bomb {levels}x{width}"
        elif kind == "merge":
            text = "defaults: &d {title: Merged, seed: 3, style: documentary}\n<<: *d\n" + text
        elif kind == "nest":
            depth = draw(st.sampled_from([50, 1000, 100_000]))
            text = "deep: " + "[" * depth + "]" * depth + "\n" + text
            kind = f"nest {depth}"
        elif kind == "digits":
            text = f"seed: {'9' * draw(st.sampled_from([30, 5000]))}\n" + text
        elif kind == "crlf":
            text = text.replace("\n", "\r\n")
        elif kind == "bom":
            text = "\ufeff" + text
        elif kind == "documents":
            text = text + "\n---\n" + text
        elif kind == "directive":
            text = draw(st.sampled_from(DIRECTIVES)) + text
        elif kind == "recursive":
            text = "loop: &loop [*loop, {k: *loop}]\n" + text
        elif kind == "utf16":
            encoding = "utf-16"
        steps.append(kind)
    data = text.encode(encoding, errors="surrogatepass")
    if "bytes" in steps:
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.sampled_from([b"\xff\xfe", b"\xc3\x28", b"\xed\xa0\x80", b"\x80"])) + data[at:]
    return data, steps


_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def _dump(data: Any, flow: bool) -> str:
    return yaml.dump(data, Dumper=_DUMPER, sort_keys=False, allow_unicode=True, default_flow_style=flow, width=100)


@st.composite
def cases(draw) -> Case:
    """A valid spec, at times with its lock and a local style `my.yaml` beside it; one or more of these files
    mutated as data and as text."""
    name, spec, beside = draw(st.sampled_from(_SPECS))
    locks = [lock for lock in beside if draw(st.booleans())]
    originals = {n: raw for n, raw, _ in locks}
    docs = {name: spec} | {n: data for n, _, data in locks}
    if draw(st.booleans()):
        docs[name] = {**spec, "style": "my.yaml"}
        docs["my.yaml"] = draw(st.sampled_from(_STYLES))
    targets = draw(st.sets(st.sampled_from(sorted(docs)), min_size=1))
    steps = [name] + [f"with {n}" for n in docs if n != name]
    files = {}
    for doc_name, doc in docs.items():
        if doc_name not in targets:
            files[doc_name] = originals.get(doc_name) or _dump(doc, False).encode("utf-8")
            continue
        doc, changes = draw(mutated(doc))
        steps += [f"{doc_name}: {c}" for c in changes]
        files[doc_name], changes = draw(text_mutations(_dump(doc, draw(st.booleans()))))
        steps += [f"{doc_name} text: {c}" for c in changes]
    return Case(tuple(files.items()), name, tuple(steps))


# ---------------------------------------------------------------- one run and its properties


class Overtime(BaseException):
    """A command ran past HARD_LIMIT seconds (a BaseException, so no `except Exception` in the code swallows it)."""


def _alarm(signum, frame):
    raise Overtime(f"still running after {HARD_LIMIT} s")


@contextmanager
def _hard_limit(seconds: int):
    """Interrupt the main thread with Overtime after `seconds` (SIGALRM)."""
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@contextmanager
def _inside(folder: Path):
    """Run with `folder` as the working directory, so a stray relative write lands where it is seen."""
    before = os.getcwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(before)


def run_case(case: Case, commands: tuple[str, ...] = ("status", "expand")) -> Outcome:
    """Write the case into <tmp>/project, run each command in-process on it (cwd <tmp>), check the properties."""
    outcome = Outcome()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        project = root / "project"
        project.mkdir()
        for name, data in case.files:
            (project / name).write_bytes(data)
        with _inside(root):
            for command in commands:
                started = time.perf_counter()
                try:
                    with _hard_limit(HARD_LIMIT):
                        result = CliRunner().invoke(main, [command, str(project / case.spec)], catch_exceptions=True)
                except Overtime as exc:
                    outcome.violations.append(f"{command}: {exc}")
                    continue
                finally:
                    outcome.seconds = max(outcome.seconds, time.perf_counter() - started)
                outcome.exit_codes[command] = result.exit_code
                outcome.violations += _violations(command, result)
        strays = sorted(p.name for p in root.iterdir() if p.name != "project")
        if strays:
            outcome.violations.append(f"files written outside the project folder: {strays}")
    if CANARY.exists():
        outcome.violations.append(f"{CANARY} was written")
        shutil.rmtree(CANARY, ignore_errors=True)
    return outcome


def _violations(command: str, result) -> list[str]:
    out = []
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        out.append(f"{command}: raised {type(result.exception).__name__}: {str(result.exception)[:200]}")
    if result.exit_code not in (0, 1, 2):
        out.append(f"{command}: exit code {result.exit_code}")
    text = result.output
    raw = RAW.search(text)
    if raw:
        start = max(raw.start() - 100, 0)
        out.append(f"{command}: raw Python in the output: {text[start : raw.end() + 100]!r}")
    longest = max((len(line) for line in text.splitlines()), default=0)
    if longest > LONGEST_LINE:
        out.append(f"{command}: an output line of {longest:,} characters")
    return out
