"""YAML mappings -> typed config dataclasses, checked: unknown keys (with the nearest valid one), wrong types and
bad values raise ConfigError naming the full YAML key (`mix.sources[1].weight`). Also `--set key=value` overrides
and the attribute docstrings that document every field (litgpt's convention)."""

from __future__ import annotations

import ast
import dataclasses
import difflib
import inspect
import itertools
import types
import typing

import yaml

from train.errors import ConfigError


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
    """Build dataclass `cls` from a YAML mapping, checking keys and types; errors name the full key."""
    if not isinstance(data, dict):
        raise ConfigError(key, f"expected a mapping, got {type(data).__name__}")
    names = [f.name for f in dataclasses.fields(cls)]
    for k in data:
        if k not in names:
            near = difflib.get_close_matches(str(k), names, n=1)
            hint = f"; did you mean {near[0]!r}?" if near else f"; valid keys: {', '.join(names)}"
            raise ConfigError(_join(key, k), f"unknown key{hint}")
    if hasattr(cls, "preset"):  # e.g. ModelConfig: a named size supplies defaults for the other keys
        data = cls.preset(data)
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for f in dataclasses.fields(cls):
        if f.name in data:
            kwargs[f.name] = _coerce(hints[f.name], data[f.name], _join(key, f.name))
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise ConfigError(_join(key, f.name), "is required")
    try:
        return cls(**kwargs)
    except ConfigError as e:
        raise e.under(key) from None


def _coerce(tp, value, key: str):
    origin = typing.get_origin(tp)
    if origin is typing.Union or origin is types.UnionType:
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return None if value is None else _coerce(args[0], value, key)
    if origin is list:
        if not isinstance(value, list):
            raise ConfigError(key, f"expected a list, got {type(value).__name__}")
        (item,) = typing.get_args(tp)
        return [_coerce(item, v, f"{key}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(key, f"expected a mapping, got {type(value).__name__}")
        _, item = typing.get_args(tp)
        return {str(k): _coerce(item, v, f"{key}.{k}") for k, v in value.items()}
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


def field_docs(cls) -> dict[str, str]:
    """The attribute docstrings of a config dataclass: {field: doc} (litgpt's convention)."""
    tree = ast.parse(inspect.getsource(cls))
    body = tree.body[0].body
    docs = {}
    for node, nxt in itertools.pairwise(body):
        if isinstance(node, ast.AnnAssign) and isinstance(nxt, ast.Expr) and isinstance(nxt.value, ast.Constant):
            docs[node.target.id] = inspect.cleandoc(nxt.value.value)
    return docs


def read_yaml(path, overrides: typing.Sequence[str] = (), what: str = "config") -> dict:
    """The mapping in YAML file ``path`` with ``key=value`` overrides applied (before parsing and checks)."""
    from pathlib import Path

    path = Path(path)
    if not path.is_file():
        raise ConfigError("", f"{what} file not found: {path}")
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as e:
        raise ConfigError("", f"{path} is not valid YAML: {str(e).splitlines()[0]}") from None
    for item in overrides:
        apply_override(raw, item)
    return raw
