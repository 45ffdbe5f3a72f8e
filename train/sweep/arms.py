"""Curation choices as arms of a sweep: named sets of per-source training filters, threshold grids over one signal,
and external evaluation sets; each arm becomes plain `train run` configs (train_where, repeat_by and weight-0
evaluation sources), and every choice is checked against the data before any training.

A tagged curated run (`curate run --tag-only`) keeps every document and records in `<prefix>__reason` the drop
reason each filter would have given (null = keep), so an arm such as "gopher" is `gopher__reason IS NULL` and a
threshold is `fineweb__line_punct_ratio >= 0.12`, with no recomputation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import duckdb

from train.errors import ConfigError, DataError

OPS = (">=", ">", "<=", "<")
NUMERIC = re.compile(r"^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|FLOAT|DOUBLE|"
                     r"REAL|DECIMAL.*|BOOLEAN)$")


CONTROLS = ("shuffle_words", "random_drop")


@dataclass
class ControlConfig:
    kind: str
    """shuffle_words: a positive control (must hurt): `fraction` of `source`'s training documents (by a hash of the
    id) replaced by copies with their words in a random order. random_drop: a negative control (must do nothing
    but remove data): a random set of `source`'s training documents (by a hash of id and seed) dropped, `fraction`
    of them, or (with `like`) as many training tokens as that arm's filter removes from each source it filters."""
    source: str = ""
    """The training source the control acts on (random_drop with `like`: the sources that arm filters)."""
    fraction: float = 0.0
    """shuffle_words: share of documents replaced, in (0, 1]; random_drop: share of documents dropped, in (0, 1)."""
    like: str = ""
    """random_drop: the arm whose removal it matches in training tokens, source by source."""
    per_seed: bool = True
    """random_drop: a new random set at every seed (a hash of id and seed), or, when false, one set for every seed
    (a hash of the id), fixed as a filter's selection is: then its paired difference varies across seeds only as a
    filter arm's does, by the order and the initial weights, not by which documents the draw removed."""

    def __post_init__(self):
        if self.kind not in CONTROLS:
            raise ConfigError("kind", f"unknown control {self.kind!r}; choose one of {', '.join(CONTROLS)}")
        if self.kind == "shuffle_words" and not 0 < self.fraction <= 1:
            raise ConfigError("fraction", f"shuffle_words needs a fraction in (0, 1], got {self.fraction}")
        if self.kind == "random_drop" and bool(self.like) == bool(self.fraction):
            raise ConfigError("like", "random_drop needs either `like: ARM` or a `fraction` with a `source`")
        if self.kind == "random_drop" and self.fraction and not 0 < self.fraction < 1:
            raise ConfigError("fraction", f"random_drop needs a fraction in (0, 1): dropping {self.fraction:g} of a "
                                          "source leaves nothing to train on")
        if not self.like and not self.source:
            raise ConfigError("source", f"{self.kind} needs the training source it acts on")
        if self.kind != "random_drop" and not self.per_seed:
            raise ConfigError("per_seed", f"per_seed is a random_drop setting; {self.kind} is the same at every seed")


@dataclass
class ArmConfig:
    name: str
    """The arm's name in run names, tables and plots, e.g. raw, gopher, all filters, no dedup."""
    where: dict[str, str] = field(default_factory=dict)
    """Per source name: an SQL condition over its docs that training documents must meet (its train_where);
    a source not named trains on all its documents. Validation never depends on it."""
    repeat_by: dict[str, str] = field(default_factory=dict)
    """Per source name: a numeric column that repeats training documents (rehydration, capped by repeat_max)."""
    control: ControlConfig | None = None
    """A control arm instead of a curation choice: {kind: shuffle_words, source: web, fraction: 0.3} (positive:
    the study must see it) or {kind: random_drop, like: ARM} / {kind: random_drop, source: web, fraction: 0.01}
    (negative: removing data at random must show nothing). Its spread against the baseline is the noise floor."""

    def __post_init__(self):
        if self.control is not None and (self.where or self.repeat_by):
            raise ConfigError("control", "a control arm takes no where or repeat_by of its own")


@dataclass
class PrimaryConfig:
    arm: str
    """The arm whose effect is a pre-registered primary comparison."""
    eval: str
    """The evaluation set it is judged on: a training source's name, an `eval` set's name, or mean."""
    against: str = ""
    """The reference arm; "" = the sweep's baseline."""


@dataclass
class GridConfig:
    signal: str
    """A numeric column of the curated docs, e.g. fineweb__line_punct_ratio."""
    values: list[float]
    """Thresholds: one arm per value, keeping training documents with `signal op value`."""
    op: str = ">="
    """Comparison that keeps a document: >=, >, <= or <. Documents without a value (null) are kept."""
    sources: list[str] = field(default_factory=list)
    """Sources the threshold applies to; empty = every training source whose docs have the column."""
    where: dict[str, str] = field(default_factory=dict)
    """Filters every arm of the grid also applies (per source, as in arms), e.g. the other filters held fixed."""
    name: str = ""
    """Name of the grid in tables and plots; defaults to the signal."""

    def __post_init__(self):
        if self.op not in OPS:
            raise ConfigError("op", f"must be one of {', '.join(OPS)}, got {self.op!r}")
        if not self.values:
            raise ConfigError("values", "a threshold grid needs at least one value")
        self.name = self.name or self.signal


@dataclass
class EvalConfig:
    run: str
    """A curated run directory to evaluate every arm on (never trained on)."""
    name: str = ""
    """Name of the evaluation set; defaults to eval-<run directory name>."""
    where: str | None = None
    """Optional SQL condition over the run's docs, e.g. `fineweb__reason IS NULL AND gopher__reason IS NULL`."""
    held_out: bool = True
    """True: only documents held out by id hash (as for training sources: safe when a source trains on this run);
    False: every selected document (for a run no source trains on)."""


def expand(arms: list[ArmConfig], grids: list[GridConfig], columns: dict[str, dict[str, str]]) -> list[dict]:
    """The sweep's arms in order: the named arms, then each grid's values. Each is {name, grid, signal, op,
    threshold, where: {source: sql}, repeat_by: {source: column}}. `columns`: per training source, its columns."""
    out = [{"name": a.name, "grid": None, "signal": None, "op": None, "threshold": None, "where": dict(a.where),
            "repeat_by": dict(a.repeat_by), "control": _control(a, arms)} for a in arms]
    for j, g in enumerate(grids):
        targets = g.sources or [s for s, cols in columns.items() if g.signal in cols]
        for value in g.values:
            where = dict(g.where)
            for source in targets:
                cond = f'("{g.signal}" IS NULL OR "{g.signal}" {g.op} {value!r})'
                where[source] = f"({where[source]}) AND {cond}" if source in where else cond
            out.append({"name": f"{g.name} {g.op} {value:g}", "grid": g.name, "signal": g.signal, "op": g.op,
                        "threshold": float(value), "where": where, "repeat_by": {}, "control": None})
    names = [a["name"] for a in out]
    for i, name in enumerate(names):
        if name in names[:i]:
            raise ConfigError(f"arms[{i}].name" if i < len(arms) else "grids", f"duplicate arm name {name!r}")
    return out


def _control(arm: ArmConfig, arms: list[ArmConfig]) -> dict | None:
    """The arm's control as run settings: {kind, source, fraction, like, drop_like: {source: where}}."""
    c = arm.control
    if c is None:
        return None
    out = {"kind": c.kind, "source": c.source, "fraction": c.fraction, "like": c.like, "drop_like": {}}
    if not c.per_seed:
        out["per_seed"] = False
    if c.like:
        like = next((a for a in arms if a.name == c.like), None)
        out["drop_like"] = dict(like.where) if like is not None else {}
    return out


def control_settings(control: dict | None) -> dict[str, dict]:
    """Per source name, the SourceConfig fields a control sets (drop_fraction, drop_like, shuffle_fraction)."""
    if not control:
        return {}
    if control["kind"] == "shuffle_words":
        return {control["source"]: {"shuffle_fraction": control["fraction"]}}
    fixed = {} if control.get("per_seed", True) else {"drop_per_seed": False}
    if control["like"]:
        return {name: {"drop_like": where, **fixed} for name, where in control["drop_like"].items()}
    return {control["source"]: {"drop_fraction": control["fraction"], **fixed}}


def check(config) -> None:
    """Every arm, grid and evaluation set against the data: one ConfigError naming the YAML key, before training."""
    from train.data.sources import open_source, val_sql

    mix = config.train.mix
    sources = {s.name: open_source(s, i, mix) for i, s in enumerate(mix.sources)}
    columns = {name: _columns(src) for name, src in sources.items()}
    _check_grids(config.grids, columns)
    for i, arm in enumerate(config.arms):
        for key, mapping in (("where", arm.where), ("repeat_by", arm.repeat_by)):
            for name in mapping:
                if name not in sources:
                    raise ConfigError(f"arms[{i}].{key}.{name}", f"no source named {name!r}; the sources are "
                                                                 f"{', '.join(sources)}")
        for name, column in arm.repeat_by.items():
            if column not in columns[name] or not NUMERIC.match(columns[name][column]):
                raise ConfigError(f"arms[{i}].repeat_by.{name}", f"{column!r} is not a numeric column of {name}")
    for i, arm in enumerate(expand(config.arms, config.grids, columns)):
        key = f"arms[{i}]" if i < len(config.arms) else f"grids (arm {arm['name']!r})"
        for name, where in arm["where"].items():
            src = sources[name]
            held = "FALSE" if src.chunked else val_sql(mix.val_fraction)
            n = _count(src, f"{src.condition} AND NOT {held} AND ({where})", f"{key}.where.{name}")
            if n == 0 and src.config.weight > 0:
                raise ConfigError(f"{key}.where.{name}", f"arm {arm['name']!r} selects no training document of "
                                                         f"source {name} (0 of {src.n_docs}): {where}")
    for k, ev in enumerate(config.eval):
        _check_eval(ev, k, mix, set(sources))
    _check_controls(config, sources)
    _check_primary(config, list(sources))


def _check_controls(config, sources: dict) -> None:
    """A control names a training source, and a random_drop's `like` arm exists and removes something."""
    from train.data.sources import val_sql

    names = {a.name: a for a in config.arms}
    for i, arm in enumerate(config.arms):
        c = arm.control
        if c is None:
            continue
        key = f"arms[{i}].control"
        if c.source and (c.source not in sources or sources[c.source].config.weight == 0):
            raise ConfigError(f"{key}.source", f"no training source named {c.source!r}; the sources are "
                                               f"{', '.join(n for n, s in sources.items() if s.config.weight > 0)}")
        if not c.like:
            continue
        like = names.get(c.like)
        if like is None or like.control is not None:
            raise ConfigError(f"{key}.like", f"no filtering arm named {c.like!r}; the arms with a where are "
                                             f"{', '.join(a.name for a in config.arms if a.where) or 'none'}")
        removed = 0
        for name, where in like.where.items():
            src = sources[name]
            held = "FALSE" if src.chunked else val_sql(config.train.mix.val_fraction)
            removed += _count(src, f"{src.condition} AND NOT {held} AND NOT ({where})", f"{key}.like")
        if removed == 0:
            raise ConfigError(f"{key}.like", f"arm {c.like!r} removes no training document, so a random_drop "
                                             "like it would remove nothing: name an arm that filters")


def _check_primary(config, sources: list[str]) -> None:
    """Each primary comparison names arms of the sweep and an evaluation set it scores."""
    arms = [a.name for a in config.arms] + [f"{g.name} {g.op} {v:g}" for g in config.grids for v in g.values]
    sets = [*sources, *(eval_name(e) for e in config.eval), "mean"]
    for i, p in enumerate(config.primary):
        for key, name in (("arm", p.arm), ("against", p.against)):
            if name and name not in arms:
                raise ConfigError(f"primary[{i}].{key}", f"no arm named {name!r}; the arms are {', '.join(arms)}")
        if p.eval not in sets:
            raise ConfigError(f"primary[{i}].eval", f"no evaluation set named {p.eval!r}; the sets are "
                                                    f"{', '.join(sets)}")


def _columns(source) -> dict[str, str]:
    return {row[0]: row[1] for row in source.connect().execute("DESCRIBE docs").fetchall()}


def _count(source, where: str, key: str) -> int:
    try:
        return source.connect().execute(f"SELECT count(*) FROM docs WHERE {where}").fetchone()[0]
    except duckdb.Error as e:
        raise ConfigError(key, f"not valid SQL over {source.config.name}'s docs: "
                               f"{str(e).strip().splitlines()[0]}") from None


def _check_grids(grids: list[GridConfig], columns: dict[str, dict[str, str]]) -> None:
    for j, g in enumerate(grids):
        for name in [*g.sources, *g.where]:
            if name not in columns:
                raise ConfigError(f"grids[{j}]", f"no source named {name!r}; the sources are {', '.join(columns)}")
        targets = g.sources or [s for s, cols in columns.items() if g.signal in cols]
        if not targets:
            raise ConfigError(f"grids[{j}].signal", f"no source has a column {g.signal!r}")
        for name in targets:
            kind = columns[name].get(g.signal)
            if kind is None:
                raise ConfigError(f"grids[{j}].signal", f"source {name} has no column {g.signal!r}")
            if not NUMERIC.match(kind):
                raise ConfigError(f"grids[{j}].signal", f"{g.signal!r} is {kind} in source {name}, not numeric: "
                                                        "a threshold grid needs a number")


def _check_eval(ev: EvalConfig, k: int, mix, taken: set[str]) -> None:
    from train.config import SourceConfig
    from train.data.sources import open_source, val_sql

    if eval_name(ev) in taken:
        raise ConfigError(f"eval[{k}].name", f"{eval_name(ev)!r} is already a source name")
    try:
        src = open_source(SourceConfig(run=ev.run, name=eval_name(ev), where=ev.where, weight=0.0), k, mix)
    except DataError as e:
        raise ConfigError(f"eval[{k}]", str(e).split(": ", 1)[-1]) from None
    if ev.held_out and not src.chunked:
        n = _count(src, f"{src.condition} AND {val_sql(mix.val_fraction)}", f"eval[{k}].where")
        if n == 0:
            raise ConfigError(f"eval[{k}]", f"no document of {ev.run} (of {src.n_docs} selected) is held out at "
                                            f"val_fraction {mix.val_fraction}; set held_out: false if no source "
                                            "trains on this run")


def eval_name(ev: EvalConfig) -> str:
    from pathlib import Path

    return ev.name or f"eval-{Path(ev.run).name}"


def eval_sources(evals: list[EvalConfig]) -> list[dict]:
    """The evaluation sets as weight-0 source mappings of a run config."""
    return [{"run": ev.run, "name": eval_name(ev), "where": ev.where, "weight": 0.0, "eval_all": not ev.held_out}
            for ev in evals]
