"""`curate steps`: what every step does, its parameters (type, default, description), signals and drop reasons."""

from __future__ import annotations

from curate.errors import ConfigError
from curate.registry import all_steps, nearest


def _first_line(cls) -> str:
    doc = (cls.__doc__ or (cls.__module__ and __import__(cls.__module__, fromlist=["_"]).__doc__) or "").strip()
    return doc.splitlines()[0] if doc else ""


def _default(field):
    """A field's default as YAML would spell it; `<required>` when the YAML must give it."""
    if field.is_required():
        return "<required>"
    return field.get_default(call_default_factory=True)


def summary() -> str:
    lines = []
    for name, cls in all_steps().items():
        params = ", ".join(f"{k}={_default(f)!r}" for k, f in cls.Params.model_fields.items())
        lines.append(f"{name:<26}{cls.kind:<8}{_first_line(cls)}")
        if params:
            lines.append(f"{'':<34}{params}")
    lines.append("\n`curate steps NAME` shows a step's parameters, signal columns and drop reasons.")
    return "\n".join(lines)


def describe(name: str) -> str:
    steps = all_steps()
    if name not in steps:
        raise ConfigError(f"unknown step {name!r}{nearest(name, steps)}")
    cls = steps[name]
    doc = (cls.__doc__ or __import__(cls.__module__, fromlist=["_"]).__doc__ or "").strip()
    out = [f"{name} ({cls.kind})", "", doc, "", "parameters:"]
    for key, f in cls.Params.model_fields.items():
        ann = getattr(f.annotation, "__name__", None) or str(f.annotation).replace("typing.", "")
        out.append(f"  {key}: {ann} = {_default(f)!r}")
        if f.description:
            out.append(f"      {f.description}")
    if len(out) == 5:
        out.append("  (none)")
    out += ["", "signal columns:"] + ([f"  {c}: {t}" for c, t in cls.signals.items()] or ["  (none)"])
    out += ["", "drop reasons:"] + ([f"  {r}: {d}" for r, d in cls.reasons.items()] or ["  (none)"])
    if cls.taggable():
        cols = ", ".join(cls.tag_columns())
        out += ["", f"tag mode (`mode: tag`, `curate run --tag-only`): keeps every document; columns {cols}"]
    elif cls.reasons and cls.kind != "reader":
        out += ["", "tag mode: not available; it filters in tag mode too (a document it drops has no text to keep)"]
    return "\n".join(out)
