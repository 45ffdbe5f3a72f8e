"""`train report SWEEP_DIR`: what a mixture sweep found, told apart from seed noise.

Reads each finished run's final per-source validation loss and writes, into SWEEP_DIR:
- summary.parquet: one row per (run, source): run, seed, source, weight, val_loss, tokens;
- mixtures.parquet: per mixture and target (each source and the mean), mean and 95% t interval over seeds;
- effects.parquet: slope of each target's loss on each source's weight over all runs, with its 95% interval;
- fits.parquet: the Data Mixing Law and the linear baseline per target, fitted on all runs, with their
  leave-one-mixture-out Spearman rank correlation and mean absolute error;
- report.md and PNGs (loss against weight, a ternary map for three sources, held-out predictions).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from train.errors import TrainError
from train.report import stats as st
from train.report.tables import write_parquet

SUMMARY_SCHEMA = pa.schema([("run", pa.string()), ("seed", pa.int64()), ("source", pa.string()),
                            ("weight", pa.float64()), ("val_loss", pa.float64()), ("tokens", pa.int64())])


@dataclass
class SweepData:
    """The finished runs of a sweep, R runs over S sources."""

    dir: Path
    names: list[str]
    runs: list[str]
    seeds: np.ndarray  # (R,)
    mixture: np.ndarray  # (R,) index into meta["mixtures"]
    weights: np.ndarray  # (R, S), each row sums to 1
    loss: np.ndarray  # (R, S) final validation loss, nats/token
    tokens: np.ndarray  # (R, S) training tokens seen
    meta: dict

    @property
    def mixtures(self) -> list[int]:
        return sorted(set(self.mixture.tolist()))


def collect(sweep_dir: str | Path) -> SweepData:
    """Read sweep.json and every finished run (summary.json written) of the plan."""
    d = Path(sweep_dir)
    if not (d / "sweep.json").is_file():
        raise TrainError(f"{d} is not a sweep directory (no sweep.json); make one with "
                         f"`train sweep SWEEP.yaml -o {d}`")
    meta = json.loads((d / "sweep.json").read_text())
    names = [s["name"] for s in meta["sources"]]
    rows = []
    for entry in meta["runs"]:
        run_dir = d / "runs" / entry["run"]
        if not (run_dir / "summary.json").is_file():
            continue
        metrics = [r for r in pq.read_table(run_dir / "metrics.parquet").to_pylist() if r["split"] == "val"]
        last = max(r["step"] for r in metrics)
        final = {r["source"]: r for r in metrics if r["step"] == last}
        rows.append((entry, [final[n]["loss"] for n in names], [final[n]["tokens"] for n in names]))
    def table(values, dtype) -> np.ndarray:  # (R, S), also when no run has finished
        return np.array(values, dtype=dtype).reshape(-1, len(names))

    return SweepData(
        dir=d, names=names, runs=[e["run"] for e, _, _ in rows],
        seeds=np.array([e["seed"] for e, _, _ in rows], dtype=np.int64),
        mixture=np.array([e["mixture"] for e, _, _ in rows], dtype=np.int64),
        weights=table([[e["weights"][n] for n in names] for e, _, _ in rows], np.float64),
        loss=table([loss for _, loss, _ in rows], np.float64),
        tokens=table([tok for _, _, tok in rows], np.int64),
        meta=meta,
    )


def summary_rows(data: SweepData) -> list[dict]:
    return [{"run": run, "seed": int(data.seeds[r]), "source": name, "weight": float(data.weights[r, s]),
             "val_loss": float(data.loss[r, s]), "tokens": int(data.tokens[r, s])}
            for r, run in enumerate(data.runs) for s, name in enumerate(data.names)]


def write_summary(sweep_dir: str | Path) -> Path:
    """SWEEP_DIR/summary.parquet from the finished runs (also written by `train sweep` when it ends)."""
    arms = _arms_meta(sweep_dir)
    if arms is not None:
        from train.report import arms as arm_report

        path = Path(sweep_dir) / "summary.parquet"
        write_parquet(path, arm_report.summary_rows(arm_report.collect(Path(sweep_dir), arms)))
        return path
    data = collect(sweep_dir)
    path = data.dir / "summary.parquet"
    write_parquet(path, summary_rows(data), SUMMARY_SCHEMA)
    return path


def mixture_rows(data: SweepData) -> list[dict]:
    """Per mixture and target (each source, then "mean"): mean and 95% t interval over its seeds."""
    rows = []
    for m in data.mixtures:
        runs = data.mixture == m
        weights = dict(zip(data.names, data.meta["mixtures"][m]))
        losses = np.column_stack([data.loss[runs], data.loss[runs].mean(axis=1)])
        for j, target in enumerate([*data.names, "mean"]):
            mean, half, n = st.t_interval(losses[:, j])
            rows.append({"mixture": m, **{f"weight_{k}": v for k, v in weights.items()}, "target": target,
                         "mean": mean, "half": half, "seeds": n})
    return rows


def fit_rows(data: SweepData) -> tuple[list[dict], dict[str, list[dict]], dict]:
    """Per model and target: held-out Spearman and mean absolute error; the fits on all runs; the held-out
    predictions (for the plot)."""
    targets = [*data.names, "mean"]
    fits = {model: [st.FITS[model](data.weights, data.loss[:, s]) for s in range(len(data.names))]
            for model in st.MODELS}
    rows, held = [], {}
    for model in st.MODELS:
        held[model] = ho = st.held_out(data.weights, data.loss, data.mixture, model)
        for j, target in enumerate(targets):
            rho = mae = float("nan")
            if ho is not None:
                rho = st.spearman(ho["predicted"][:, j], ho["observed"][:, j])
                mae = float(np.abs(ho["predicted"][:, j] - ho["observed"][:, j]).mean())
            params = fits[model][j] if j < len(data.names) else {"model": model, "mean_of": data.names}
            rows.append({"target": target, "model": model, "spearman": rho, "mae": mae,
                         "mixtures": len(data.mixtures), "params": json.dumps(params)})
    return rows, fits, held


def best_rows(data: SweepData, fits: list[dict]) -> list[dict]:
    """Predicted best mixture per target (Data Mixing Law fits), next to the best explored mixture."""
    explored = np.array([data.meta["mixtures"][m] for m in data.mixtures])
    rows = []
    for j, target in enumerate([*data.names, "mean"]):
        best = st.best_mixture(fits, j if j < len(data.names) else None, explored)
        observed = data.loss[:, j] if j < len(data.names) else data.loss.mean(axis=1)
        means = [observed[data.mixture == m].mean() for m in data.mixtures]
        rows.append({"target": target, **best, "best_explored": data.mixtures[int(np.argmin(means))],
                     "best_explored_loss": float(min(means))})
    return rows


def report(sweep_dir: str | Path, target: str = "mean") -> Path:
    """Write the report files into SWEEP_DIR; returns the path of report.md."""
    from train.report import markdown
    from train.report import plots as plotting

    arms = _arms_meta(sweep_dir)
    if arms is not None:  # a sweep of curation arms: train/report/arms.py
        from train.report import arms as arm_report

        return arm_report.report(Path(sweep_dir), arms)
    data = collect(sweep_dir)
    if len(data.runs) == 0:
        raise TrainError(f"{data.dir}: none of the {len(data.meta['runs'])} planned runs has finished; "
                         "run `train sweep` first (it resumes)")
    if target not in [*data.names, "mean"]:
        raise TrainError(f"--target {target!r}: choose mean or one of the sources: {', '.join(data.names)}")
    write_parquet(data.dir / "summary.parquet", summary_rows(data), SUMMARY_SCHEMA)
    table, effects = mixture_rows(data), st.effects(data.weights, data.loss, data.names)
    fits_table, fits, held = fit_rows(data)
    best = best_rows(data, fits["law"])
    for name, rows in (("mixtures", table), ("effects", effects), ("fits", fits_table), ("best", best)):
        write_parquet(data.dir / f"{name}.parquet", rows)
    plots = plotting.draw_all(data, effects, fits["law"], held, best, target)
    text = markdown.render(data, table, effects, fits_table, best, target, plots)
    path = data.dir / "report.md"
    path.write_text(text)
    return path


def _arms_meta(sweep_dir: str | Path) -> dict | None:
    """sweep.json's plan when the sweep has curation arms, else None."""
    path = Path(sweep_dir) / "sweep.json"
    meta = json.loads(path.read_text()) if path.is_file() else {}
    return meta if meta.get("arms") else None
