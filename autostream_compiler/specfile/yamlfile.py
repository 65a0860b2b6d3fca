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


def read_yaml(path: Path) -> tuple[Any, dict[Loc, tuple[int, int]]]:
    """Parse a YAML file into plain data plus a map from field path to (line, column), 1-based."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError([f"{path}: file not found; check the path"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError([f"{path}: cannot read ({exc}); save it as UTF-8 text"]) from None
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{mark.line + 1}:{mark.column + 1}" if mark else "1:1"
        problem = getattr(exc, "problem", None) or str(exc)
        raise SpecError([f"{path}:{where}: invalid YAML: {problem}; fix the syntax there"]) from None
    positions: dict[Loc, tuple[int, int]] = {}
    problems: list[str] = []
    data = _walk(node, (), positions, problems, path) if node is not None else None
    if problems:
        raise SpecError(problems)
    return data, positions


def _walk(node: yaml.Node, loc: Loc, positions: dict, problems: list[str], path: Path) -> Any:
    positions[loc] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _scalar(key_node)
            if key in out:
                line, col = key_node.start_mark.line + 1, key_node.start_mark.column + 1
                problems.append(f"{path}:{line}:{col}: {_dotted(loc + (key,))}: duplicate key; keep only one")
            positions[loc + (key, "__key__")] = (
                key_node.start_mark.line + 1,
                key_node.start_mark.column + 1,
            )
            out[key] = _walk(value_node, loc + (key,), positions, problems, path)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_walk(v, loc + (i,), positions, problems, path) for i, v in enumerate(node.value)]
    return _scalar(node)


def _scalar(node: yaml.Node) -> Any:
    return _Loader("").construct_object(node, deep=True)


def _dotted(loc: Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
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
        raise SpecError([_describe(err, model, positions, path) for err in exc.errors()]) from None


def _describe(err: dict, model: type[BaseModel], positions: dict, path: Path) -> str:
    loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and "[" in p))
    kind = err["type"]
    if kind == "extra_forbidden":
        allowed = ", ".join(_fields_at(model, loc[:-1])) or "none"
        where = place(path, positions, loc, key=True)
        return f"{where}: {_dotted(loc)}: unknown key {loc[-1]!r}; remove it (allowed here: {allowed})"
    if kind == "missing":
        return problem(path, positions, loc, f"required field missing; add `{loc[-1]}:`")
    if kind == "literal_error":
        expected = err.get("ctx", {}).get("expected", "")
        return problem(path, positions, loc, f"{err['input']!r} is not allowed; use one of {expected}")
    msg = err["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    elif "input" in err and not isinstance(err["input"], (dict, list)):
        msg = f"{msg} (got {err['input']!r}); change the value"
    return problem(path, positions, loc, msg)


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
