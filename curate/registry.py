"""Versioned step names -> step classes.

A step registers itself with ``@register`` under a short snake_case name ending in ``_vN`` (``lang_fasttext_v1``).
A behaviour change is a new ``_v2``; the old one stays while a shipped YAML uses it. Step modules are imported lazily
(``import curate`` loads no torch / fastText / DuckDB), so the registry imports ``curate.steps`` on first lookup.
"""

from __future__ import annotations

import difflib
import importlib
import pkgutil
import re

_REGISTRY: dict[str, type] = {}
_NAME = re.compile(r"^[a-z][a-z0-9_]*_v[0-9]+$")


def register(cls: type) -> type:
    """Class decorator: register ``cls`` under ``cls.name``."""
    name = cls.name
    if not _NAME.match(name):
        raise ValueError(f"step name {name!r} must be snake_case and end in _vN")
    if name in _REGISTRY and _REGISTRY[name] is not cls:
        raise ValueError(f"step name {name!r} registered twice ({_REGISTRY[name].__module__}, {cls.__module__})")
    _REGISTRY[name] = cls
    return cls


# Packages under curate.steps that hold no registered step: the base classes and what the compiler inserts.
_NOT_STEPS = ("curate.steps.base", "curate.steps.internal")


_loaded = False  # the step modules are imported (walking the package folders again cost 1 ms a lookup)


def _load_all() -> None:
    """Import every module of ``curate.steps`` and its role folders (readers/, filters/, dedup/, ...), which registers
    their steps; private modules (``_name``) are helpers and load only when a step imports them."""
    global _loaded
    if _loaded:
        return
    import curate.steps as pkg

    for mod in pkgutil.walk_packages(pkg.__path__, prefix="curate.steps."):
        leaf = mod.name.rsplit(".", 1)[-1]
        if leaf.startswith("_") or mod.name.startswith(_NOT_STEPS):
            continue
        importlib.import_module(mod.name)
    _loaded = True


def all_steps() -> dict[str, type]:
    """Every registered step, by name."""
    _load_all()
    return dict(sorted(_REGISTRY.items()))


def nearest(name: str, choices) -> str:
    """' (did you mean X?)' for the closest valid name, or ''."""
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.5)
    return f" (did you mean {close[0]!r}?)" if close else ""


def get_step(name: str) -> type:
    """The step class registered as ``name``; KeyError names the nearest valid name."""
    steps = all_steps()
    if name not in steps:
        raise KeyError(f"unknown step {name!r}{nearest(name, steps)}")
    return steps[name]
