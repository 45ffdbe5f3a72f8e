"""Sweeps: many mixtures and/or curation arms x several seeds, each a full `train_run` with the same token budget
and the same tokenizer, spread over the cores; a sweep started again skips the runs that finished.

A sweep YAML (pipelines/sweep.yaml) holds a complete trainer config under `train:` (its mix names the sources;
its weights only shape the shared tokenizer's training sample) plus the `mixtures` and `seeds` to run. Mixtures
are a grid (RegMix-style small sweeps over 2-3 sources), Dirichlet samples (RegMix, any number of sources) or an
explicit list. SWEEP_DIR holds sweep.json (the plan and each session's wall time), tokenizer/ (shared by every
run) and runs/mNN-sS/ (one `train_run` directory per mixture and seed, with its train.log).

Arms (train/sweep/arms.py): `arms` (named per-source training filters) and `grids` (thresholds over one signal) are
crossed with the seeds and, when `mixtures` is given, with the mixtures; runs are then aNN-sS or aNN-mNN-sS. Every
arm keeps the same token budget, the same validation documents (held out before any arm's filter), the same
`eval` sets and, for one seed, the same initial weights and batch plan.
"""

from __future__ import annotations

import copy
import itertools
import json
import math
import os
import shutil
import sys
import time
import typing
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from train.config import SourceConfig, TrainConfig, parse
from train.errors import ConfigError, TrainError
from train.files import atomic_path
from train.sweep.arms import ArmConfig, EvalConfig, GridConfig, PrimaryConfig, control_settings, eval_sources
from train.sweep.executors import ExecutorConfig
from train.yamlio import read_yaml

KINDS = ("grid", "dirichlet", "list")
MAX_MIXTURES = 1000
STACK_REMOVED = ("was removed: training a worker's runs as one stacked model was slower in every measurement (the "
                 "20-run sweep of pipelines/sweep.yaml on 2 cores: 478.2 s stacked, 428.7 s one run after another, "
                 "benches/results/train_sweep_designs.json); delete the key")


@dataclass
class MixturesConfig:
    kind: str = "grid"
    """How mixtures are chosen: grid, dirichlet (RegMix) or list.
    grid: every mixture whose weights are multiples of 1/divisions; dirichlet: `count` mixtures drawn from a
    Dirichlet(alpha) over the sources; list: the mixtures given in `weights`."""
    divisions: int = 2
    """grid: weights step by 1/divisions (3 sources: 2 -> 6 mixtures, 3 -> 10, 4 -> 15)."""
    count: int = 16
    """dirichlet: number of mixtures sampled."""
    alpha: float = 1.0
    """dirichlet: concentration; 1 = uniform over the simplex, < 1 favours mixtures dominated by few sources."""
    seed: int = 0
    """dirichlet: seed of the sampler, so a sweep's mixtures are the same on every machine."""
    weights: list[list[float]] = field(default_factory=list)
    """list: one weight per source for each mixture, in the order of train.mix.sources (normalised to sum 1)."""

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ConfigError("kind", f"unknown kind {self.kind!r}; choose one of {', '.join(KINDS)}")
        for key in ("divisions", "count", "alpha"):
            if getattr(self, key) <= 0:
                raise ConfigError(key, f"must be > 0, got {getattr(self, key)}")
        if self.kind == "list" and not self.weights:
            raise ConfigError("weights", "kind: list needs at least one mixture in weights")


@dataclass
class SweepConfig:
    train: TrainConfig
    """The trainer config every run starts from (see pipelines/mix.yaml); each run replaces the weights and seed."""
    mixtures: MixturesConfig | None = None
    """Which mixtures to train; unset = a grid of divisions 2, or with arms only train.mix's own weights."""
    seeds: list[int] = field(default_factory=lambda: [1, 2])
    """Seeds per mixture (weights init and batch order); two or more give each mixture an interval."""
    workers: int = 0
    """Runs trained at once, each with CPU cores / workers torch threads; 0 = one per core (executor.workers of
    the local executor, which it stands for)."""
    executor: ExecutorConfig = field(default_factory=ExecutorConfig)
    """Where the runs train: {type: local, workers}, {type: ray, address, cpus_per_run, gpus_per_run} or {type:
    slurm, partition, time, cpus_per_task, gpus_per_task, array_parallelism} (train/sweep/executors/)."""
    arms: list[ArmConfig] = field(default_factory=list)
    """Curation arms: each a name and per-source `where` conditions on the training documents (train/sweep/arms.py)."""
    grids: list[GridConfig] = field(default_factory=list)
    """Threshold grids: {signal, values, op, sources, where}; one arm per value."""
    eval: list[EvalConfig] = field(default_factory=list)
    """Extra evaluation sets every run is scored on: {run, name, where, held_out}."""
    baseline: str = ""
    """The arm every other arm's effect is measured against; "" = the first arm."""
    contrasts: list[list[str]] = field(default_factory=list)
    """Extra paired comparisons [arm, reference], e.g. [all filters, no dedup]: the effect of dedup."""
    primary: list[PrimaryConfig] = field(default_factory=list)
    """Pre-registered comparisons, [{arm, against, eval}]: Holm's correction applies over these only; every other
    comparison is reported as exploratory and uncorrected. `against` defaults to the baseline."""
    detect: float = 0.0
    """The smallest effect (nats) the study means to be able to see; the report says how many seeds would see it
    when the planned ones cannot. 0 = unset."""
    alpha: float = 0.05
    """Family-wise error rate of the primary comparisons (Holm)."""

    def __post_init__(self):
        if not self.seeds or len(set(self.seeds)) != len(self.seeds):
            raise ConfigError("seeds", f"needs one or more distinct seeds, got {self.seeds}")
        if self.workers < 0:
            raise ConfigError("workers", f"must be >= 0, got {self.workers}")
        n = len(self.train.mix.sources)
        if n < 2 and not self.has_arms:
            raise ConfigError("train.mix.sources", f"a mixture sweep needs at least 2 sources, got {n}")
        if self.mixtures is None and not self.has_arms:
            self.mixtures = MixturesConfig()
        names = [a.name for a in self.arms] + [g.name for g in self.grids]
        for key, name in [("baseline", self.baseline)] + [(f"contrasts[{i}]", x) for i, c in
                                                          enumerate(self.contrasts) for x in c]:
            if name and not any(name == a or name.startswith(f"{a} ") for a in names):
                raise ConfigError(key, f"no arm named {name!r}")
        if not 0 < self.alpha < 1:
            raise ConfigError("alpha", f"must be in (0, 1), got {self.alpha}")
        if self.detect < 0:
            raise ConfigError("detect", f"must be >= 0 nats (0 = unset), got {self.detect}")
        for i, c in enumerate(self.contrasts):
            if len(c) != 2:
                raise ConfigError(f"contrasts[{i}]", f"needs two arm names [arm, reference], got {c}")
        for i, row in enumerate(self.mixtures.weights if self.mixtures else []):
            if len(row) != n or min(row) < 0 or sum(row) <= 0:
                raise ConfigError(f"mixtures.weights[{i}]", f"needs {n} weights >= 0 (one per source) with a "
                                                            f"positive sum, got {row}")

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.train.mix.sources]

    @property
    def has_arms(self) -> bool:
        return bool(self.arms or self.grids)


def load_sweep(path: str | Path, overrides: typing.Sequence[str] = ()) -> SweepConfig:
    """Read a sweep YAML, apply `key=value` overrides (`train.tokens=1e6`, `seeds=[1,2,3]`), parse and check it."""
    raw = read_yaml(path, overrides, "sweep")
    if raw.get("stack") not in (None, False):  # the stacked path is gone; `stack: false` (its old default) is ignored
        raise ConfigError("stack", STACK_REMOVED)
    raw.pop("stack", None)
    return parse(SweepConfig, raw)


def mixtures(config: SweepConfig) -> list[list[float]]:
    """The sweep's distinct mixtures, each normalised to sum 1, in a fixed order."""
    spec, n = config.mixtures, len(config.names)
    if spec is None:  # arms only: the base mix's own weights
        return [[round(w, 6) for w in config.train.mix.weights]]
    if spec.kind == "grid":
        count = math.comb(spec.divisions + n - 1, n - 1)
        if count > MAX_MIXTURES:
            raise ConfigError("mixtures.divisions", f"a grid of {spec.divisions} divisions over {n} sources has "
                                                    f"{count:,} mixtures (at most {MAX_MIXTURES}); use dirichlet")
        rows = [c for c in itertools.product(range(spec.divisions + 1), repeat=n) if sum(c) == spec.divisions]
        rows.sort(reverse=True)  # (d, 0, 0), (d-1, 1, 0), ...: each source's pure mixture early
    elif spec.kind == "dirichlet":
        rows = np.random.default_rng(spec.seed).dirichlet(np.full(n, spec.alpha), size=spec.count).tolist()
    else:
        rows = spec.weights
    out = []
    for row in rows:
        total = float(sum(row))
        mix = [round(w / total, 6) for w in row]
        if mix not in out:
            out.append(mix)
    if len(out) > MAX_MIXTURES:
        raise ConfigError("mixtures", f"{len(out)} mixtures is more than {MAX_MIXTURES}")
    return out


def plan(config: SweepConfig, arms: list[dict] | None = None) -> list[dict]:
    """One entry per run: name (mNN-sS, or aNN-sS / aNN-mNN-sS with arms), mixture index, seed, weights by source
    name and, with arms, the arm (index, name, grid, threshold, per-source where and repeat_by)."""
    mixes = mixtures(config)
    if not arms:
        return [{"run": f"m{m:02d}-s{seed}", "mixture": m, "seed": seed, "weights": dict(zip(config.names, mix))}
                for m, mix in enumerate(mixes) for seed in config.seeds]
    out = []
    for a, arm in enumerate(arms):
        for m, mix in enumerate(mixes):
            for seed in config.seeds:
                name = f"a{a:02d}-s{seed}" if len(mixes) == 1 else f"a{a:02d}-m{m:02d}-s{seed}"
                out.append({"run": name, "mixture": m, "seed": seed, "weights": dict(zip(config.names, mix)),
                            "arm": a, "arm_name": arm["name"], "grid": arm["grid"], "threshold": arm["threshold"],
                            "where": arm["where"], "repeat_by": arm["repeat_by"], "control": arm.get("control")})
    return out


def run_config(config: SweepConfig, entry: dict, tokenizer_dir: Path, threads: int) -> TrainConfig:
    """The TrainConfig of one run: the base with this run's weights, seed, arm filters, evaluation sets, the shared
    tokenizer and thread count. A plain `train run` config: its config.yaml reproduces the run alone."""
    cfg = copy.deepcopy(config.train)
    for source in cfg.mix.sources:
        source.weight = entry["weights"][source.name]
        if source.name in entry.get("where", {}):
            source.train_where = entry["where"][source.name]
        source.repeat_by = entry.get("repeat_by", {}).get(source.name, source.repeat_by)
        for key, value in control_settings(entry.get("control")).get(source.name, {}).items():
            setattr(source, key, value)
    cfg.mix.sources += [SourceConfig(**e) for e in eval_sources(config.eval)]
    cfg.seed, cfg.tokenizer.dir, cfg.threads = entry["seed"], str(tokenizer_dir), cfg.threads or threads
    return cfg


def run_sweep(config: SweepConfig, sweep_dir: str | Path, *, progress: bool = True, dry_run: bool = False,
              wait: bool = False) -> dict:
    """Train every run of the sweep not yet finished in sweep_dir on its executor; returns this session's record
    (trained, skipped, failed, seconds, ...). Bad data, a changed config or a bad executor fail here, before any
    training; Slurm's dry_run prepares everything and writes the job script without submitting it."""
    from train.report.mixtures import write_summary
    from train.sweep.arms import check, expand
    from train.sweep.executors import open_executor
    from train.sweep.pool import Progress

    out = Path(sweep_dir)
    start = time.time()
    executor = open_executor(config, out, dry_run=dry_run, wait=wait)  # before any work: Ray joined, sbatch found
    arms = None
    if config.has_arms or config.eval:
        check(config)  # every arm, grid and eval set against the data: one-line errors before any work
        arms = expand(config.arms, config.grids, _columns(config)) if config.has_arms else None
    entries = plan(config, arms)
    tokenizer_dir = shared_tokenizer(config.train, out)
    _prepare_arms(config, entries, tokenizer_dir)
    todo = [e for e in entries if not _finished(out / "runs" / e["run"], run_config(config, e, tokenizer_dir, 1))]
    _, threads = executor.slots(len(todo))
    meta = _write_plan(out, config, entries, tokenizer_dir, arms)
    jobs = [(e["run"], run_config(config, e, tokenizer_dir, threads), out / "runs" / e["run"]) for e in todo]
    show = Progress(len(entries), [e["run"] for e in todo], config.train.steps, enabled=progress)
    failed = executor.train(jobs, show)
    session = {"started": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(start)),
               "seconds": round(time.time() - start, 1), "trained": len(todo) - len(failed),
               "skipped": len(entries) - len(todo), "failed": failed} | executor.session()
    meta["sessions"].append(session)
    _write_json(out / "sweep.json", meta)
    if executor.finishes:  # not a Slurm job submitted without --wait (`train report` writes it then)
        write_summary(out)
    return session


def shared_tokenizer(train: TrainConfig, out: Path) -> Path:
    """SWEEP_DIR/tokenizer: trained once on the base mix (or copied from train.tokenizer.dir), then every source is
    checked and tokenized into the shard cache, so the workers start with nothing left to build or race for."""
    from train.data.sampler import prepare

    target = (out / "tokenizer").resolve()
    if not (target / "tokenizer.model").is_file():
        prepared = prepare(train)
        (out / "tokenizer.tmp").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(prepared.tokenizer_dir / "tokenizer.model", out / "tokenizer.tmp" / "tokenizer.model")
        os.replace(out / "tokenizer.tmp", target)
    shared = copy.deepcopy(train)
    shared.tokenizer.dir = str(target)
    prepare(shared)
    return target


def _columns(config: SweepConfig) -> dict[str, dict[str, str]]:
    from train.data.sources import open_source

    return {s.name: {r[0]: r[1] for r in open_source(s, i).connect().execute("DESCRIBE docs").fetchall()}
            for i, s in enumerate(config.train.mix.sources)}


def _prepare_arms(config: SweepConfig, entries: list[dict], tokenizer_dir: Path) -> None:
    """Token shards of every arm and evaluation set, built once here before the workers start (and so checked)."""
    from train.data.sampler import prepare

    seen, start = set(), time.time()
    count = len({json.dumps([e.get("where"), e.get("repeat_by"), e.get("control")], sort_keys=True) for e in entries})
    for entry in entries:
        key = json.dumps([entry.get("where"), entry.get("repeat_by"), entry.get("control")], sort_keys=True)
        if key not in seen and (config.eval or entry.get("arm") is not None):
            seen.add(key)
            prepare(run_config(config, entry, tokenizer_dir, 1))
            print(f"sweep: token shards of arm {len(seen)}/{count} ({entry.get('arm_name', 'eval sets')}) ready, "
                  f"{time.time() - start:.0f} s", file=sys.stderr, flush=True)


def _finished(run_dir: Path, cfg: TrainConfig) -> bool:
    """A run is finished when its summary.json exists; one that holds a different config stops the sweep."""
    from train.loop import RESUMABLE_KEYS

    saved = run_dir / "config.yaml"
    if not saved.is_file():
        return False
    old, new = yaml.safe_load(saved.read_text()), cfg.to_dict()
    old_dir = old.get("tokenizer", {}).pop("dir", None)
    new_dir = new["tokenizer"].pop("dir")
    diff = [k for k in sorted(set(old) | set(new)) if k not in RESUMABLE_KEYS and old.get(k) != new.get(k)]
    model = run_dir / "tokenizer" / "tokenizer.model"
    if model.is_file() and model.read_bytes() != (Path(cfg.tokenizer.dir) / "tokenizer.model").read_bytes():
        diff.append("tokenizer")
    if diff:
        raise TrainError(f"{run_dir} holds a run with other settings ({', '.join(diff)} differ); "
                         "choose another -o or delete that directory")
    if old_dir != new_dir:  # the sweep directory moved: same tokenizer (same bytes), new path; let the run resume
        saved.write_text(yaml.safe_dump(cfg.to_dict(), sort_keys=False))
    return (run_dir / "summary.json").is_file()


def _write_plan(out: Path, config: SweepConfig, entries: list[dict], tokenizer_dir: Path, arms=None) -> dict:
    old = json.loads((out / "sweep.json").read_text()) if (out / "sweep.json").is_file() else {}
    sources = [{"name": s.name, "run": s.run, "path": str(Path(s.run).resolve()), "where": s.where}
               for s in config.train.mix.sources]
    meta = {"sources": sources, "mixtures": mixtures(config), "seeds": config.seeds, "runs": entries,
            "tokenizer": str(tokenizer_dir), "train": config.train.to_dict(),
            "sessions": old.get("sessions", [])}
    if arms is not None or config.eval:
        meta |= {"arms": arms or [], "baseline": config.baseline or (arms[0]["name"] if arms else ""),
                 "contrasts": config.contrasts, "eval": [s["name"] for s in eval_sources(config.eval)],
                 "primary": [{"arm": p.arm, "against": p.against or meta_baseline(config, arms), "eval": p.eval}
                             for p in config.primary],
                 "detect": config.detect, "alpha": config.alpha}
    _write_json(out / "sweep.json", meta)
    return meta


def meta_baseline(config: SweepConfig, arms: list[dict] | None) -> str:
    """The baseline arm's name: `baseline`, or the first arm."""
    return config.baseline or (arms[0]["name"] if arms else "")


def _write_json(path: Path, data: dict) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2))
