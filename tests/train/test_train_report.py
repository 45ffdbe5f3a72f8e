"""`train report`: on the shared tiny sweep (see test_train_sweep.py), what a user reads off the report must hold:
the summary's rows, t intervals over seeds, effects stated only where the interval excludes zero, fitted laws
judged on held-out mixtures, the predicted best mixture, the plots."""

import json
import shutil

import numpy as np
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from scipy import stats
from test_train_sweep import STEPS, tiny_sweep  # noqa: F401 (the fixture; the sweep is trained once per session)

from train.cli import main
from train.report import stats as st

_REPORTED: dict = {}


@pytest.fixture
def reported(tiny_sweep):  # noqa: F811
    """(sweep_dir, output of `train report`): reported once per session."""
    sweep_dir, _ = tiny_sweep
    if sweep_dir not in _REPORTED:
        result = CliRunner().invoke(main, ["report", str(sweep_dir)])
        assert result.exit_code == 0, result.output
        _REPORTED[sweep_dir] = sweep_dir, result.output
    return _REPORTED[sweep_dir]


def test_summary_parquet_has_one_row_per_run_and_source(reported):
    sweep_dir, _ = reported
    table = pq.read_table(sweep_dir / "summary.parquet")
    assert [(f.name, str(f.type)) for f in table.schema] == [
        ("run", "string"), ("seed", "int64"), ("source", "string"), ("weight", "double"), ("val_loss", "double"),
        ("tokens", "int64")]
    rows = table.to_pylist()
    meta = json.loads((sweep_dir / "sweep.json").read_text())
    assert len(rows) == len(meta["runs"]) * 3 == 36
    for entry in meta["runs"]:
        mine = {r["source"]: r for r in rows if r["run"] == entry["run"]}
        assert {s: r["weight"] for s, r in mine.items()} == entry["weights"]
        assert {r["seed"] for r in mine.values()} == {entry["seed"]}
        assert sum(r["tokens"] for r in mine.values()) == STEPS * 8 * 64
        final = json.loads((sweep_dir / "runs" / entry["run"] / "summary.json").read_text())["val_loss"]
        assert {s: r["val_loss"] for s, r in mine.items()} == final


def test_table_gives_mean_and_t_interval_over_seeds(reported):
    sweep_dir, _ = reported
    summary = pq.read_table(sweep_dir / "summary.parquet").to_pylist()
    pure_code = [r["val_loss"] for r in summary if r["source"] == "code" and r["run"].startswith("m05-")]
    row = next(r for r in pq.read_table(sweep_dir / "mixtures.parquet").to_pylist()
               if r["mixture"] == 5 and r["target"] == "code")
    assert row["weight_code"] == 1.0 and row["seeds"] == 2
    assert row["mean"] == pytest.approx(np.mean(pure_code))
    assert row["half"] == pytest.approx(12.7062 * np.std(pure_code, ddof=1) / np.sqrt(2), rel=1e-4)
    text = (sweep_dir / "report.md").read_text()
    assert "| m05 | 0% | 0% | 100% |" in text and f"{row['mean']:.3f} ± {row['half']:.3f}" in text
    assert "t(0.975, 1) = 12.7" in text
    assert "Validation tokens per source: web " in text and "books " in text and "held out by chunks" in text


def test_more_of_each_source_lowers_its_own_loss_and_effects_need_intervals_excluding_zero(reported):
    sweep_dir, output = reported
    effects = pq.read_table(sweep_dir / "effects.parquet").to_pylist()
    for e in effects:
        assert e["significant"] == (abs(e["slope"]) > e["slope_half"])  # stated only if the interval excludes 0
    text = (sweep_dir / "report.md").read_text()
    for source in ("web", "books", "code"):
        own = next(e for e in effects if e["raised"] == source and e["target"] == source)
        assert own["slope"] + own["slope_half"] < 0, own  # the whole interval lies below zero
        assert f"yes: more {source} lowers {source} loss" in text
        assert f"**Raising {source} from 0% to 100%** of the mix lowers {source} loss by " \
               f"{abs(own['change']):.3f} ± {own['change_half']:.3f} nats" in text
    quiet = [e for e in effects if not e["significant"]]
    for e in quiet:  # what the intervals cannot tell from noise is named as such, never as an effect
        assert f"{e['target']} loss ({e['change']:+.3f} ± {e['change_half']:.3f})" in text or e["target"] == "mean"
    assert "Validation loss per mixture" in output


def test_fitted_laws_are_judged_by_spearman_on_held_out_mixtures(reported):
    sweep_dir, _ = reported
    fits = pq.read_table(sweep_dir / "fits.parquet").to_pylist()
    assert {(f["target"], f["model"]) for f in fits} == {
        (t, m) for t in ("web", "books", "code", "mean") for m in ("law", "linear")}
    for f in fits:
        assert f["mixtures"] == 6 and -1 <= f["spearman"] <= 1 and f["mae"] >= 0
    law = json.loads(next(f for f in fits if f["target"] == "code" and f["model"] == "law")["params"])
    assert law["k"] > 0 and law["c"] >= 0 and abs(sum(law["t"])) < 1e-9
    assert law["t"][2] < min(law["t"][:2])  # code's own weight lowers code loss fastest
    text = (sweep_dir / "report.md").read_text()
    assert "leave-one-mixture-out over the 6 mixtures" in text and "held-out Spearman" in text


def test_law_fit_recovers_a_known_law_and_ranks_held_out_mixtures():
    rng = np.random.default_rng(0)
    w = np.vstack([rng.dirichlet(np.ones(3), 12), np.eye(3)])
    truth = 2.0 + 1.5 * np.exp(w @ np.array([-1.6, 0.4, 1.2]))
    mixture = np.repeat(np.arange(len(w)), 2)
    loss = np.repeat(truth, 2) + rng.normal(0, 0.005, 2 * len(w))
    fit = st.fit_law(np.repeat(w, 2, axis=0), loss)
    assert fit["c"] == pytest.approx(2.0, abs=0.05) and fit["k"] == pytest.approx(1.5, rel=0.1)
    assert np.allclose(fit["t"], [-1.6, 0.4, 1.2], atol=0.1)
    held = st.held_out(np.repeat(w, 2, axis=0), np.column_stack([loss] * 3), mixture, "law")
    assert st.spearman(held["predicted"][:, 0], held["observed"][:, 0]) > 0.95
    mean, half, n = st.t_interval([1.0, 2.0])
    assert (mean, n) == (1.5, 2) and half == pytest.approx(stats.t.ppf(0.975, 1) * 0.5)


def test_best_mixture_plots_and_target_on_a_partial_sweep(tiny_sweep, tmp_path):  # noqa: F811
    sweep_dir, _ = tiny_sweep
    copy = tmp_path / "partial"
    shutil.copytree(sweep_dir, copy, ignore=shutil.ignore_patterns("ckpt.pt"))
    (copy / "runs" / "m01-s2" / "summary.json").unlink()  # a run that has not finished yet
    result = CliRunner().invoke(main, ["report", str(copy), "--target", "code"])
    assert result.exit_code == 0, result.output
    text = (copy / "report.md").read_text()
    assert "11 of 12 planned runs finished" in text and "± nan" in text  # one seed left: no interval
    assert "For code loss, the Data Mixing Law predicts **" in text
    best = {b["target"]: b for b in pq.read_table(copy / "best.parquet").to_pylist()}
    assert best["code"]["weights"][2] > 0.9  # code loss is lowest when training on code
    assert abs(sum(best["mean"]["weights"]) - 1) < 1e-9
    for png in ("loss_vs_weight.png", "ternary.png", "held_out.png"):
        data = (copy / png).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000 and f"]({png})" in text


def test_bad_report_inputs_give_one_line_errors(tiny_sweep, tmp_path):  # noqa: F811
    result = CliRunner().invoke(main, ["report", str(tmp_path)])
    assert result.exit_code == 1 and "is not a sweep directory (no sweep.json)" in result.output
    sweep_dir, _ = tiny_sweep
    result = CliRunner().invoke(main, ["report", str(sweep_dir), "--target", "poetry"])
    assert result.exit_code == 1 and "choose mean or one of the sources: web, books, code" in result.output
    assert "Traceback" not in result.output
