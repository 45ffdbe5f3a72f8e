"""YAML mappings -> typed config dataclasses, checked: unknown keys (with the nearest valid one), wrong types and
bad values raise ConfigError naming the full YAML key (`mix.sources[1].weight`). Also `--set key=value` overrides
and the attribute docstrings that document every field (litgpt's convention)."""

from __future__ import annotations

import ast
import dataclasses
import difflib
import inspect
import itertools
import re
import types
import typing

import yaml

from train.errors import ConfigError, ConfigErrors


def apply_override(raw: dict, item: str) -> None:
    """Set `a.b.c=value` in the nested dict (value parsed as YAML: numbers, lists, null); list items by index."""
    key, sep, value = item.partition("=")
    if not sep or not key:
        raise ConfigError("", f"--set expects key=value, got {item!r}")
    parts = key.replace("[", ".").replace("]", "").split(".")
    node = raw
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                raise ConfigError(".".join(parts[:i]), f"no list item {part!r} to set")
            part = int(part)
        elif not isinstance(node, dict):
            raise ConfigError(".".join(parts[:i]), "is not a mapping")
        if last:
            node[part] = yaml.safe_load(value)
        else:
            if isinstance(node, dict) and not isinstance(node.get(part), (dict, list)):
                node[part] = {}
            node = node[part]


def parse(cls, data, key: str = ""):
    """Build dataclass `cls` from a YAML mapping, checking keys and types; errors name the full key. Every unknown
    key, missing key and wrong type is reported (ConfigErrors, one a line), not only the first; the checks of a
    dataclass's own __post_init__ run once its fields parse."""
    if isinstance(data, Located):
        try:
            return parse(cls, dict(data), key)
        except ConfigError as e:
            located = [error.at(data.where(error.key)) for error in e.errors]
            located.sort(key=lambda error: int(m[1]) if (m := re.search(r":(\d+)$", error.where)) else 1 << 30)
            raise ConfigErrors.of(located) from None  # in file order, --set values last
    if not isinstance(data, dict):
        raise ConfigError(key, f"expected a mapping, got {type(data).__name__}")
    names = [f.name for f in dataclasses.fields(cls)]
    errors = []
    for k in data:
        if k not in names:
            near = difflib.get_close_matches(str(k), names, n=1)
            hint = f"; did you mean {near[0]!r}?" if near else f"; valid keys: {', '.join(names)}"
            errors.append(ConfigError(_join(key, k), f"unknown key{hint}"))
    if hasattr(cls, "preset"):  # e.g. ModelConfig: a named size supplies defaults for the other keys
        data = cls.preset(data)
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for f in dataclasses.fields(cls):
        if f.name in data:
            try:
                kwargs[f.name] = _coerce(hints[f.name], data[f.name], _join(key, f.name))
            except ConfigError as e:
                errors.append(e)
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            errors.append(ConfigError(_join(key, f.name), "is required"))
    if errors:
        raise ConfigErrors.of(errors)
    try:
        return cls(**kwargs)
    except ConfigError as e:
        raise e.under(key) from None


def _coerce(tp, value, key: str):
    origin = typing.get_origin(tp)
    if origin is typing.Union or origin is types.UnionType:
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if value is None:
            return None
        for arg in args[:-1]:  # the first type that takes the value (`bool | str` takes true and "auto")
            try:
                return _coerce(arg, value, key)
            except ConfigError:
                pass
        return _coerce(args[-1], value, key)
    if origin is list:
        if not isinstance(value, list):
            raise ConfigError(key, f"expected a list, got {type(value).__name__}")
        (item,) = typing.get_args(tp)
        return _each([(f"{key}[{i}]", v) for i, v in enumerate(value)], lambda k, v: _coerce(item, v, k))
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(key, f"expected a mapping, got {type(value).__name__}")
        _, item = typing.get_args(tp)
        return dict(zip(map(str, value), _each([(f"{key}.{k}", v) for k, v in value.items()],
                                               lambda k, v: _coerce(item, v, k))))
    if dataclasses.is_dataclass(tp):
        return parse(tp, value, key)
    if tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):  # YAML 1.1 reads `2e7` as a string
            try:
                number = float(value)
                if number.is_integer():
                    return int(number)
            except ValueError:
                pass
    elif tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):  # YAML 1.1 reads `1e-3` as a string
            try:
                return float(value)
            except ValueError:
                pass
    elif tp is str and isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return str(value)
    raise ConfigError(key, f"expected {getattr(tp, '__name__', tp)}, got {value!r}")


def _each(items: list[tuple[str, typing.Any]], coerce) -> list:
    """coerce(key, value) for every item; the errors of all of them together."""
    out, errors = [], []
    for k, v in items:
        try:
            out.append(coerce(k, v))
        except ConfigError as e:
            errors.append(e)
    if errors:
        raise ConfigErrors.of(errors)
    return out


def _join(key: str, name) -> str:
    return f"{key}.{name}" if key else str(name)


def config_reference(cls, prefix: str = "") -> list[tuple[str, str]]:
    """(dotted key, doc) for every field of config dataclass `cls`, nested ones included."""
    hints, docs, out = typing.get_type_hints(cls), field_docs(cls), []
    for f in dataclasses.fields(cls):
        key, tp = f"{prefix}{f.name}", hints[f.name]
        if typing.get_origin(tp) in (typing.Union, types.UnionType):  # X | None: document X's keys
            tp = next(a for a in typing.get_args(tp) if a is not type(None))
        item = (typing.get_args(tp) or [None])[0] if typing.get_origin(tp) is list else None
        if dataclasses.is_dataclass(tp):
            out += config_reference(tp, f"{key}.")
        elif item is not None and dataclasses.is_dataclass(item):
            out += config_reference(item, f"{key}[].")
        else:
            out.append((key, docs.get(f.name, "")))
    return out


def key_help(pairs: typing.Iterable[tuple[str, str]], width: int = 100, column: int = 32) -> str:
    """(key, doc) pairs as `--help` lines: each doc whole (not cut at its first source line), wrapped under its
    own column; a key too long for the column puts its doc on the next line."""
    import textwrap

    lines = []
    for key, doc in pairs:
        head = f"  {key}"
        wrapped = textwrap.wrap(" ".join(doc.split()), width - column, break_on_hyphens=False) or [""]
        if len(head) < column:
            lines.append(head.ljust(column) + wrapped.pop(0))
        else:
            lines.append(head)
        lines += [" " * column + line for line in wrapped]
    return "\n".join(lines)


def field_docs(cls) -> dict[str, str]:
    """The attribute docstrings of a config dataclass: {field: doc} (litgpt's convention)."""
    tree = ast.parse(inspect.getsource(cls))
    body = tree.body[0].body
    docs = {}
    for node, nxt in itertools.pairwise(body):
        if isinstance(node, ast.AnnAssign) and isinstance(nxt, ast.Expr) and isinstance(nxt.value, ast.Constant):
            docs[node.target.id] = inspect.cleandoc(nxt.value.value)
    return docs


class Located(dict):
    """A config mapping read from a YAML file that remembers where each key is: parse() then names the file and line
    of every bad key (`mix.yaml:12: mix.sources[0].wieght: unknown key ...`), or the --set that gave its value."""

    def __init__(self, data: dict, path, lines: dict[str, int]):
        super().__init__(data)
        self.path, self.lines, self.overrides = path, lines, {}

    def where(self, key: str) -> str:
        """`path:line` of `key`, or of the nearest enclosing key the file has; `--set K=V` if an override set it."""
        for override, item in self.overrides.items():
            if key == override or key.startswith((f"{override}.", f"{override}[")):
                return f"--set {item}"
        while key:
            if key in self.lines:
                return f"{self.path}:{self.lines[key]}"
            key = key[:max(key.rfind("."), key.rfind("["), 0)]
        return str(self.path)


def _lines(node, key: str = "", out: dict | None = None) -> dict[str, int]:
    """{dotted key: 1-based line} of every key and list item under a composed YAML node."""
    out = {} if out is None else out
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            child = _join(key, k.value)
            out.setdefault(child, k.start_mark.line + 1)
            _lines(v, child, out)
    elif isinstance(node, yaml.SequenceNode):
        for i, v in enumerate(node.value):
            out.setdefault(f"{key}[{i}]", v.start_mark.line + 1)
            _lines(v, f"{key}[{i}]", out)
    return out


def _syntax_error(path, text: str, e: yaml.YAMLError) -> ConfigError:
    """PyYAML's error as one line: file, line and column, the problem, what it was parsing, and the line itself."""
    mark = getattr(e, "problem_mark", None)
    if mark is None:
        return ConfigError("", f"{path} is not valid YAML: {' '.join(str(e).split())}")
    problem, context, start = getattr(e, "problem", None), getattr(e, "context", None), getattr(e, "context_mark", None)
    cause = problem or "cannot parse"
    if context:
        cause += f" ({context}{f' that starts at line {start.line + 1}' if start else ''})"
    source = text.splitlines()[mark.line] if mark.line < len(text.splitlines()) else ""
    shown = f"; line {mark.line + 1} reads {source!r}" if source.strip() else ""
    return ConfigError("", f"{path}:{mark.line + 1}:{mark.column + 1}: not valid YAML: {cause}{shown}")


def read_yaml(path, overrides: typing.Sequence[str] = (), what: str = "config") -> dict:
    """The mapping in YAML file ``path`` with ``key=value`` overrides applied (before parsing and checks), as a
    Located mapping: errors that parse() raises on it name the file and line of the bad key."""
    from pathlib import Path

    path = Path(path)
    if not path.is_file():
        raise ConfigError("", f"{what} file not found: {path}")
    text = path.read_text()
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        raw = yaml.safe_load(text) or {}
    except yaml.YAMLError as e:
        raise _syntax_error(path, text, e) from None
    if not isinstance(raw, dict):
        raise ConfigError("", f"{path}:1: a {what} must be a YAML mapping of keys, got {type(raw).__name__}")
    located = Located(raw, path, _lines(node))
    for item in overrides:
        apply_override(located, item)
        key = re.sub(r"\.(\d+)(?=\.|$)", r"[\1]", item.partition("=")[0].replace("[", ".").replace("]", ""))
        located.overrides[key] = item
    return located
