"""YAML files validated against pydantic models, every error reported with file:line:column."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from autostream_compiler.errors import SpecError

Loc = tuple[Any, ...]
M = TypeVar("M", bound=BaseModel)

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_CONSTRUCT = yaml.constructor.SafeConstructor()

MAX_BYTES = 4 * 1024 * 1024  # a spec, style or lock file larger than this is refused before parsing
MAX_NODES = 200_000  # values after expanding aliases (a spec has hundreds, the lock of a 2-hour video ~50,000)
MAX_DEPTH = 40  # levels of nesting (a spec uses five)

_TAG = "tag:yaml.org,2002:"
_NUMBERS = {_TAG + "null", _TAG + "bool", _TAG + "int", _TAG + "float"}


def read_yaml(path: Path, text: str | None = None) -> tuple[Any, dict[Loc, tuple[int, int]]]:
    """Parse a YAML file (or `text`, named `path` in messages) into plain data plus a map from field
    path to (line, column), 1-based.

    Bounded: files over MAX_BYTES, more than MAX_NODES values after expanding aliases (an alias bomb)
    and nesting deeper than MAX_DEPTH are refused with one line each. Keys are text; dates are kept as
    the text written; tags other than YAML's plain types are refused.
    """
    if text is None:
        text = _read_text(path)
    elif len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise SpecError([f"{path}: larger than {MAX_BYTES // 2**20} MB; autostream reads YAML files up to that size"])
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.reader.ReaderError as exc:
        line, col = _line_col(text, exc.position)
        char = f"U+{exc.character:04X}" if isinstance(exc.character, int) else repr(exc.character)
        raise SpecError([f"{path}:{line}:{col}: invalid YAML: character {char} is not allowed; remove it"]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{mark.line + 1}:{mark.column + 1}" if mark else "1:1"
        problem = " ".join((getattr(exc, "problem", None) or str(exc)).split())
        raise SpecError([f"{path}:{where}: invalid YAML: {problem}; fix the syntax there"]) from None
    except RecursionError:
        raise SpecError([f"{path}:1:1: invalid YAML: nested too deeply; use at most {MAX_DEPTH} levels"]) from None
    walk = _Walk(path)
    data = walk.value(node, (), 0) if node is not None else None
    if walk.problems:
        raise SpecError(walk.problems)
    return data, walk.positions


def _read_text(path: Path) -> str:
    """The file's text: at most MAX_BYTES, UTF-8; SpecError naming the file otherwise."""
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise SpecError([f"{path}: file not found; check the path"]) from None
    except IsADirectoryError:
        raise SpecError([f"{path}: is a folder; give the path of a YAML file"]) from None
    except OSError as exc:
        why = exc.strerror or type(exc).__name__
        raise SpecError([f"{path}: cannot read ({why}); check the path and its permissions"]) from None
    except ValueError:  # a NUL character in the path
        raise SpecError([f"{shorten(str(path))}: not a usable path (it contains a NUL character)"]) from None
    if len(raw) > MAX_BYTES:
        raise SpecError([f"{path}: larger than {MAX_BYTES // 2**20} MB; autostream reads YAML files up to that size"])
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start].decode("utf-8", errors="replace")
        line, col = _line_col(before, len(before))
        if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
            raise SpecError([f"{path}:1:1: saved as UTF-16; save the file as UTF-8"]) from None
        byte = raw[exc.start]
        raise SpecError([f"{path}:{line}:{col}: not UTF-8 text (byte 0x{byte:02X}); save the file as UTF-8"]) from None


def _line_col(text: str, position: int) -> tuple[int, int]:
    """1-based line and column of a character offset."""
    position = min(max(position, 0), len(text))
    line_start = text.rfind("\n", 0, position) + 1
    return text.count("\n", 0, position) + 1, position - line_start + 1


_TOO_MANY = (
    f"too many YAML nodes after expanding aliases (more than {MAX_NODES:,}); an alias (*name) repeated inside "
    "repeated aliases multiplies the document: write the values out or use fewer aliases"
)
_TOO_DEEP = f"nested more than {MAX_DEPTH} levels deep (or an alias inside itself); flatten it"


class _Stop(Exception):
    """Ends a walk at a node that makes the rest unreadable (too many nodes, too deep): one problem for all."""

    def __init__(self, node: yaml.Node, loc: Loc, message: str):
        super().__init__(message)
        self.node, self.loc, self.message = node, loc, message


class _Walk:
    """One pass over a composed YAML node graph, expanding aliases: plain data, positions and problems."""

    def __init__(self, path: Path):
        self.path = path
        self.positions: dict[Loc, tuple[int, int]] = {}
        self.problems: list[str] = []
        self.count = 0

    def value(self, node: yaml.Node, loc: Loc, depth: int) -> Any:
        """The plain value of a node (None after a problem, which is recorded)."""
        try:
            return self._value(node, loc, depth)
        except _Stop as stop:
            self.problems = [f"{self._at(stop.node)}: {_dotted(stop.loc)}: {stop.message}"]
            return None

    def _value(self, node: yaml.Node, loc: Loc, depth: int) -> Any:
        self._count(node, loc, depth)
        self.positions[loc] = (node.start_mark.line + 1, node.start_mark.column + 1)
        if isinstance(node, yaml.MappingNode):
            if node.tag != _TAG + "map":
                return self._unsupported_tag(node, loc)
            return self._mapping(node, loc, depth)
        if isinstance(node, yaml.SequenceNode):
            if node.tag != _TAG + "seq":
                return self._unsupported_tag(node, loc)
            return [self._value(v, loc + (i,), depth + 1) for i, v in enumerate(node.value)]
        return self._scalar(node, loc)

    def _count(self, node: yaml.Node, loc: Loc, depth: int, values: int = 1) -> None:
        self.count += values
        if self.count > MAX_NODES:
            raise _Stop(node, loc, _TOO_MANY)
        if depth > MAX_DEPTH:
            raise _Stop(node, loc, _TOO_DEEP)

    def _mapping(self, node: yaml.MappingNode, loc: Loc, depth: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        merged, explicit = self._pairs(node, loc, depth)
        given = {self._key_text(k) for k, _ in explicit}
        for key_node, value_node in merged:  # `<<: *defaults`: keys written out win
            key = self._key_text(key_node)
            if key is not None and key not in given and key not in out:
                out[key] = self._value(value_node, loc + (key,), depth + 1)
        for key_node, value_node in explicit:
            key = self._key(key_node, loc)
            if key is None:
                continue
            if key in out:  # merged keys never clash: they give way to the keys written out
                self._problem(key_node, loc + (key,), "duplicate key; keep only one")
            self.positions[loc + (key, "__key__")] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            out[key] = self._value(value_node, loc + (key,), depth + 1)
        return out

    def _pairs(self, node: yaml.MappingNode, loc: Loc, depth: int) -> tuple[list, list]:
        """(merged, explicit) key/value node pairs of a mapping; `<<` merges mappings (or a list of them)."""
        merged, explicit = [], []
        for key_node, value_node in node.value:
            if key_node.tag != _TAG + "merge":
                explicit.append((key_node, value_node))
                continue
            sources = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
            for source in sources:
                self._count(source, loc, depth + 1)
                if not isinstance(source, yaml.MappingNode):
                    self._problem(source, loc, "`<<` merges a mapping (or a list of mappings); fix its value")
                    continue
                inner_merged, inner = self._pairs(source, loc, depth + 1)
                self._count(source, loc, depth + 1, len(inner) + len(inner_merged))  # merges of merges multiply too
                merged += inner + inner_merged
        return merged, explicit

    def _key_text(self, node: yaml.Node) -> str | None:
        """A key's text when it is a plain string key, else None."""
        if isinstance(node, yaml.ScalarNode) and node.tag == _TAG + "str":
            return node.value
        return None

    def _key(self, node: yaml.Node, loc: Loc) -> str | None:
        """A mapping key as text; a problem (and None) for a key YAML reads as something else."""
        key = self._key_text(node)
        if key is not None:
            return key
        if isinstance(node, yaml.ScalarNode):
            kind = node.tag.rsplit(":", 1)[-1] if node.tag.startswith(_TAG) else node.tag
            text = shorten(node.value)
            self._problem(node, loc, f"key {text!r} is read as {kind}, not text; put it in quotes")
        else:
            self._problem(node, loc, "a key must be text, not a list or mapping; fix the key")
        return None

    def _scalar(self, node: yaml.ScalarNode, loc: Loc) -> Any:
        tag = node.tag
        if tag == _TAG + "str" or tag == _TAG + "timestamp":  # a date where text is meant: keep what was written
            return node.value
        if tag not in _NUMBERS:
            return self._unsupported_tag(node, loc)
        try:
            return getattr(_CONSTRUCT, "construct_yaml_" + tag[len(_TAG) :])(node)
        except (ValueError, KeyError) as exc:
            if "digits" in str(exc):
                why = f"a number of {len(node.value):,} digits is too long"
            else:
                why = f"{shorten(node.value)!r} is not a valid {tag[len(_TAG) :]}"
            self._problem(node, loc, f"{why}; change the value")
            return None

    def _unsupported_tag(self, node: yaml.Node, loc: Loc) -> None:
        tag = node.tag.replace(_TAG, "!!")
        self._problem(node, loc, f"YAML tag {shorten(tag)} is not supported here; remove it and write plain values")
        return None

    def _at(self, node: yaml.Node) -> str:
        return f"{self.path}:{node.start_mark.line + 1}:{node.start_mark.column + 1}"

    def _problem(self, node: yaml.Node, loc: Loc, message: str) -> None:
        self.problems.append(f"{self._at(node)}: {_dotted(loc)}: {message}")


def shorten(text: str, limit: int = 60) -> str:
    """Text cut to `limit` characters (with its length noted), for repeating a user's value in a message."""
    return text if len(text) <= limit else f"{text[: limit - 1]}… ({len(text):,} characters)"


def _dotted(loc: Loc) -> str:
    if len(loc) > 12:  # deep in an alias bomb: the start and the end
        return _dotted(loc[:6]) + "…" + _dotted(loc[-5:]).lstrip(".")
    out = ""
    for part in loc:
        name = shorten(part if isinstance(part, str) and part.isprintable() else repr(part), 40)
        out += f"[{part}]" if isinstance(part, int) else (f".{name}" if out else name)
    return out or "(top level)"


def place(path: Path, positions: dict[Loc, tuple[int, int]], loc: Loc, key: bool = False) -> str:
    """`file:line:col` of the deepest known part of `loc` (its key when `key` is set)."""
    if key and loc + ("__key__",) in positions:
        line, col = positions[loc + ("__key__",)]
        return f"{path}:{line}:{col}"
    while loc not in positions and loc:
        loc = loc[:-1]
    line, col = positions.get(loc, (1, 1))
    return f"{path}:{line}:{col}"


def problem(path: Path, positions: dict, loc: Loc, message: str) -> str:
    """One error line: `file:line:col: field.path: message`."""
    return f"{place(path, positions, loc)}: {_dotted(loc)}: {message}"


def validate(model: type[M], data: Any, positions: dict, path: Path) -> M:
    """Validate data against a model; raise SpecError listing every problem with its place."""
    try:
        return model.model_validate(data if data is not None else {})
    except ValidationError as exc:
        raise SpecError([_describe(err, model, data, positions, path) for err in exc.errors()]) from None


def _data_loc(loc: Loc, data: Any) -> Loc:
    """An error's place as a path into the data: pydantic's own steps ("[key]", "function-after[...]") dropped,
    a user's key kept even when it holds brackets."""
    out, here = [], data
    for part in loc:
        if (isinstance(here, dict) and part in here) or (
            isinstance(here, list) and isinstance(part, int) and 0 <= part < len(here)
        ):
            out.append(part)
            here = here[part]
        elif not (isinstance(part, str) and "[" in part):
            out.append(part)
            here = None
    return tuple(out)


def _describe(err: dict, model: type[BaseModel], data: Any, positions: dict, path: Path) -> str:
    loc = _data_loc(err["loc"], data)
    kind = err["type"]
    if kind == "extra_forbidden" and loc:
        allowed = ", ".join(_fields_at(model, loc[:-1])) or "none"
        where = place(path, positions, loc, key=True)
        return f"{where}: {_dotted(loc)}: unknown key {_shown(loc[-1])}; remove it (allowed here: {allowed})"
    if kind == "missing" and loc:
        return problem(path, positions, loc, f"required field missing; add `{loc[-1]}:`")
    if kind == "literal_error":
        expected = err.get("ctx", {}).get("expected", "")
        return problem(path, positions, loc, f"{_shown(err['input'])} is not allowed; use one of {expected}")
    msg = err["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    elif "input" in err and not isinstance(err["input"], (dict, list)):
        msg = f"{msg} (got {_shown(err['input'])}); change the value"
    return problem(path, positions, loc, msg)


def _shown(value: Any) -> str:
    """A user's value as a message repeats it: its repr, cut short."""
    return shorten(repr(value), 80)


def _fields_at(model: type[BaseModel], loc: Loc) -> list[str]:
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        field = getattr(current, "model_fields", {}).get(part)
        if field is None:
            return []
        current = _model_of(field.annotation)
    return list(getattr(current, "model_fields", {}))


def _model_of(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_of(arg)
        if found is not None:
            return found
    return None
