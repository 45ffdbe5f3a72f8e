"""`train report`: on the shared tiny sweep (see test_train_sweep.py), what a user reads off the report must hold:
the summary's rows, t intervals over seeds, effects stated only where the interval excludes zero, fitted laws
judged on held-out mixtures, the predicted best mixture, the plots. For a curation study: on a sweep directory of
hand-chosen losses, the noise floor, the controls' verdict, p-values and Holm's correction against scipy, G*Power and
hand-worked values; on a real sweep with both controls, the same figures against the runs' own files."""

import json
import shutil

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from click.testing import CliRunner
from conftest import tiny_config
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
    summary = pq.read_table(sweep_dir / "summary.parquet").to_pylist()
    runs = sorted({r["run"] for r in summary})
    cell = {(r["run"], r["source"]): r for r in summary}
    for e in effects:  # slope and interval as scipy's linregress gives them; stated only if the interval excludes 0
        x = [cell[(run, e["raised"])]["weight"] for run in runs]
        y = [np.mean([cell[(run, s)]["val_loss"] for s in ("web", "books", "code")]) if e["target"] == "mean"
             else cell[(run, e["target"])]["val_loss"] for run in runs]
        fit = stats.linregress(x, y)
        half = stats.t.ppf(0.975, len(runs) - 2) * fit.stderr
        assert e["slope"] == pytest.approx(fit.slope) and e["slope_half"] == pytest.approx(half)
        assert e["significant"] == (fit.slope - half > 0 or fit.slope + half < 0)
    text = (sweep_dir / "report.md").read_text()
    for source in ("web", "books", "code"):
        own = next(e for e in effects if e["raised"] == source and e["target"] == source)
        assert own["slope"] < 0, own
        if source != "web":  # books and code differ from the rest: the whole interval lies below zero
            assert own["slope"] + own["slope_half"] < 0, own
        # the web pages are the Python and Docutils docs, which code also teaches: at 40 steps web's own effect was
        # -0.10 ± 0.13 nats, and the report must then say it is not shown rather than claim it
        if own["significant"]:
            assert f"yes: more {source} lowers {source} loss" in text
            assert f"**Raising {source} from 0% to 100%** of the mix lowers {source} loss by " \
                   f"{abs(own['change']):.3f} ± {own['change_half']:.3f} nats" in text
        else:
            assert f"NOT shown: more {source} lowers {source} loss (slope {own['slope']:+.3f}" in text
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
    assert (mean, n) == (1.5, 2) and half == pytest.approx(6.353, abs=1e-3)  # t_{0.975,1} = 12.706 x sd / sqrt(2)


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


# A curation study with known numbers: sweep.json and each run's metrics.parquet / summary.json / splits.json written
# here, so the report's statistics are checked on paired differences chosen by hand.
SEED_NOISE = {"web": [0.05, -0.03, 0.08, -0.06, 0.02, 0.01], "books": [-0.04, 0.07, 0.0, 0.03, -0.05, 0.02]}
JITTER = {"web": [0.01, -0.01, 0.02, -0.02, 0.0, 0.0], "books": [0.0, 0.03, -0.03, 0.0, 0.0, 0.0]}
BPB_PER_NAT = {"web": 0.40, "books": 0.35}  # tokens / (bytes x ln 2) of each set's fixed held-out text


def study_arms(drop_is_control=True, shuffle_effect=0.2) -> list[dict]:
    """(name, control, {set: (shift, jitter)}): arm loss = raw loss + shift + jitter, seed by seed."""
    big = [0.04, -0.04, 0.0, 0.0, 0.0, 0.0]
    return [
        {"name": "raw", "control": None, "delta": {"web": (0.0, [0] * 6), "books": (0.0, [0] * 6)}},
        {"name": "filtered", "control": None, "delta": {"web": (-0.03, JITTER["web"]), "books": (0.001, JITTER["books"])}},
        {"name": "shuffled", "control": {"kind": "shuffle_words", "source": "web", "fraction": 0.3, "like": None},
         "delta": {"web": (shuffle_effect, big), "books": (0.01, JITTER["books"])}},
        {"name": "dropped", "control": {"kind": "random_drop", "source": None, "fraction": None, "like": "filtered"}
         if drop_is_control else None, "delta": {"web": (0.0, JITTER["web"]), "books": (0.0, JITTER["books"])}},
    ]


PRIMARY = [{"arm": "filtered", "against": "raw", "eval": "web"}, {"arm": "filtered", "against": "raw", "eval": "books"},
           {"arm": "shuffled", "against": "raw", "eval": "web"}]


def write_study(root, arms=None, primary=PRIMARY, detect=0.0, alpha=0.15):
    """A finished arm sweep of 4 arms x 6 seeds on two training sources. alpha 0.15 over 3 primary comparisons puts
    the power analysis at 0.05 per comparison, where G*Power's tables apply."""
    arms = arms or study_arms()
    seeds = list(range(1, 7))
    runs = [{"run": f"a{a:02d}-s{s}", "mixture": 0, "seed": s, "weights": {"web": 0.5, "books": 0.5}, "arm": a,
             "arm_name": arm["name"], "grid": None, "threshold": None, "where": {}, "repeat_by": {}}
            for a, arm in enumerate(arms) for s in seeds]
    meta = {"sources": [{"name": "web"}, {"name": "books"}], "mixtures": [[0.5, 0.5]], "seeds": seeds, "runs": runs,
            "train": {"model": {"size": "test", "n_layer": 2, "n_embd": 32, "block_size": 64}, "tokens": 4096,
                      "tokenizer": {"vocab_size": 512}, "mix": {"val_fraction": 0.1}},
            "sessions": [{"seconds": 90.0}], "arms": [{"name": a["name"], "control": a["control"]} for a in arms],
            "baseline": "raw", "contrasts": [], "eval": [], "primary": primary, "detect": detect, "alpha": alpha}
    root.mkdir(parents=True, exist_ok=True)
    (root / "sweep.json").write_text(json.dumps(meta))
    for entry in runs:
        arm, i = arms[entry["arm"]], entry["seed"] - 1
        loss = {s: 3.0 + SEED_NOISE[s][i] + arm["delta"][s][0] + arm["delta"][s][1][i] for s in ("web", "books")}
        rows = [{"step": step, "split": split, "source": s, "loss": v * (BPB_PER_NAT[s] if split == "val_bpb" else 1),
                 "tokens": 2048} for step in (10, 20) for split in ("val", "val_bpb") for s, v in loss.items()]
        rows += [{"step": 10, "split": "train", "source": "web", "loss": 5.0, "tokens": 2048}]
        run = root / "runs" / entry["run"]
        run.mkdir(parents=True)
        pq.write_table(pa.Table.from_pylist(rows), run / "metrics.parquet")
        (run / "summary.json").write_text(json.dumps({"val_loss": loss}))
        (run / "splits.json").write_text(json.dumps({s: {"val_docs": 5, "val_tokens": 900, "eval_tokens": 900,
                                                         "chunked": False, "unique_tokens": 3000, "epochs": 0.7}
                                                     for s in ("web", "books")}))
    return root


def _report(root) -> tuple[dict, dict, str, str]:
    result = CliRunner().invoke(main, ["report", str(root)])
    assert result.exit_code == 0, result.output
    effects = {(e["arm"], e["set"]): e for e in pq.read_table(root / "arm_effects.parquet").to_pylist()}
    noise = {r["set"]: r for r in pq.read_table(root / "noise.parquet").to_pylist()}
    return effects, noise, (root / "report.md").read_text(), result.output


def _loss(arm: dict, s: str) -> np.ndarray:
    shift, jitter = arm["delta"][s]
    return 3.0 + np.array(SEED_NOISE[s]) + shift + np.array(jitter)


def test_study_effects_give_ttest_rel_p_values_bits_per_byte_and_holm_over_primary_only(tmp_path):
    effects, _, text, _ = _report(write_study(tmp_path / "study"))
    arms = {a["name"]: a for a in study_arms()}
    raw = arms["raw"]
    for (arm, s), e in effects.items():
        if s == "mean":
            continue
        a, b = _loss(arms[arm], s), _loss(raw, s)
        assert e["effect"] == pytest.approx(np.mean(a - b)) and e["pairs"] == 6
        assert e["p_value"] == pytest.approx(stats.ttest_rel(a, b).pvalue, rel=1e-9)
        assert e["effect_bpb"] == pytest.approx(BPB_PER_NAT[s] * np.mean(a - b))
        assert e["primary"] == ((arm, s) in {("filtered", "web"), ("filtered", "books"), ("shuffled", "web")})
    # filtered on web: diffs -0.03 + (0.01, -0.01, 0.02, -0.02, 0, 0): mean -0.03, sd 0.014142, t = -5.196 on 5 df
    assert effects[("filtered", "web")]["p_value"] == pytest.approx(0.00347, abs=2e-5)  # printed t: 2*P(T5 > 5.196)
    assert effects[("filtered", "web")]["half"] == pytest.approx(2.571 * 0.0141421 / np.sqrt(6), rel=1e-3)
    primary = sorted((e for e in effects.values() if e["primary"]), key=lambda e: e["p_value"])
    p = [e["p_value"] for e in primary]  # Holm by hand on three: x3, x2, x1, each at least the one before
    assert [e["p_holm"] for e in primary] == pytest.approx(
        [3 * p[0], max(3 * p[0], 2 * p[1]), min(1.0, max(3 * p[0], 2 * p[1], p[2]))])
    assert all(np.isnan(e["p_holm"]) and not e["holm_significant"] for e in effects.values() if not e["primary"])
    assert effects[("filtered", "web")]["holm_significant"] and not effects[("filtered", "books")]["holm_significant"]
    assert {e["comparisons"] for e in effects.values()} == {3}
    assert "bonferroni" not in next(iter(effects.values()))
    assert "## Exploratory comparisons (uncorrected)" in text and "**exploratory and uncorrected**" in text
    assert "| filtered | raw | web | -0.0300 | [-0.0448, -0.0152] | -0.0120 ± 0.0059 |" in text


def test_study_noise_floor_comes_from_the_negative_control_and_states_the_seeds_an_effect_needs(tmp_path):
    sd = np.sqrt(1e-3 / 5)  # web jitter of the random-drop arm: squares 1e-4, 1e-4, 4e-4, 4e-4 over 5 df
    _, noise, text, _ = _report(write_study(tmp_path / "study", detect=0.5 * sd))
    assert noise["web"]["sd_paired"] == pytest.approx(sd, rel=1e-9)
    assert noise["books"]["sd_paired"] == pytest.approx(np.sqrt(18e-4 / 5), rel=1e-9)  # 0, .03, -.03, 0, 0, 0
    mean_diffs = (np.array(JITTER["web"]) + np.array(JITTER["books"])) / 2
    assert noise["mean"]["sd_paired"] == pytest.approx(np.std(mean_diffs, ddof=1))
    web = noise["web"]
    assert (web["seeds"], web["comparisons"]) == (6, 3) and "negative control dropped - raw, 6 pairs" in \
        web["source_of_noise"]
    # alpha 0.15 / 3 = 0.05 per comparison; dz 0.5 needs 34 pairs for 80% power (G*Power's a priori table)
    assert web["seeds_needed"] == 34
    # the MDE at 6 pairs and 0.05 (st.mde, checked by simulation in test_train_stats.py) times the measured sd
    assert web["mde"] / sd == pytest.approx(st.mde(6, 1), rel=1e-6) and 1.4 < web["mde"] / sd < 1.5
    assert web["mde_bpb"] == pytest.approx(0.40 * web["mde"])
    assert text.startswith("# Curation study: study\n\n## Noise floor\n")
    assert f"At 6 seeds this study cannot see an effect of {0.5 * sd:g} nats on web (MDE {web['mde']:.4f}); " \
           "34 seeds would." in text
    assert "no negative control" not in text


def test_study_controls_verdict_sees_when_shuffling_hurts_and_random_drop_shows_nothing(tmp_path):
    effects, noise, text, _ = _report(write_study(tmp_path / "study"))
    assert effects[("shuffled", "web")]["p_holm"] < 0.01 and effects[("shuffled", "web")]["effect"] > 0
    assert "positive control **shuffled** against **raw** on web: +0.2000" in text and ": detected (" in text
    assert "negative control **dropped** against **raw** on web" in text and "null, as it should be" in text
    assert "The study sees" in text and "cannot see" not in text
    order = [text.index(h) for h in ("## Noise floor", "## Controls", "## Primary comparisons",
                                     "## Exploratory comparisons", "## Setup")]
    assert order == sorted(order)
    assert "Tiny proxies are known to overrate aggressive filters" in text
    assert "a direction to check at scale, not a verdict" in text
    # a null primary comparison states the effect it rules out: the MDE of its set (its pairs spread as the floor's)
    assert (f"**filtered** raises books loss by 0.0010 ± 0.0199 nats (0.0003 bits per byte) against **raw**: not "
            f"resolved (Holm p = {effects[('filtered', 'books')]['p_holm']:.2g}). An effect of "
            f"{noise['books']['mde']:.4f} nats or more would have been detected with 80% power: this null rules out "
            "effects that large (its 95% interval: [-0.0189, +0.0209]).") in text
    png = (tmp_path / "study" / "primary_effects.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and "](primary_effects.png)" in text


def test_a_null_whose_pairs_spread_more_than_the_floor_rules_out_only_what_its_own_spread_allows(tmp_path):
    arms = study_arms()
    arms[1]["delta"]["books"] = (0.001, [3 * x for x in JITTER["books"]])  # three times the control's spread
    _, noise, text, _ = _report(write_study(tmp_path / "wide", arms=arms))
    own = np.std(3 * np.array(JITTER["books"]), ddof=1)
    bound = st.mde(6, 1) * own  # alpha 0.15 over 3 comparisons: 0.05 each, as the set's MDE
    assert bound == pytest.approx(3 * noise["books"]["mde"], rel=1e-6)
    assert (f"Its own pairs spread by {own:.4f} nats (sd), more than the set's floor "
            f"({noise['books']['sd_paired']:.4f}), so its own spread sets what it can rule out. An effect of "
            f"{bound:.4f} nats or more would have been detected with 80% power") in text


def test_study_that_cannot_see_says_so_in_one_line(tmp_path):
    _, _, text, _ = _report(write_study(tmp_path / "weak", arms=study_arms(shuffle_effect=0.01)))
    assert "positive control **shuffled**" in text and "NOT detected" in text
    assert "**This study cannot see**: its controls did not behave" in text
    _, noise, text, _ = _report(write_study(tmp_path / "blind", arms=study_arms(drop_is_control=False)))
    assert "**This study cannot see**: it has no negative control" in text
    assert "This sweep has **no negative control**" in text
    # pooled residual sd of the 3 comparisons on web: squares 1e-3 + 3.2e-3 + 1e-3 over 5 + 5 + 5 df
    assert noise["web"]["sd_paired"] == pytest.approx(np.sqrt(5.2e-3 / 15), rel=1e-9)
    assert noise["web"]["source_of_noise"].startswith("no negative control: pooled residual sd of 3 paired")


def test_study_primary_naming_a_missing_arm_or_set_is_a_one_line_error(tmp_path):
    root = write_study(tmp_path / "bad", primary=[{"arm": "dedup", "against": "raw", "eval": "web"}])
    result = CliRunner().invoke(main, ["report", str(root)])
    assert result.exit_code == 1 and "no arm named 'dedup' in this sweep (arms: raw, filtered" in result.output
    root = write_study(tmp_path / "bad-set", primary=[{"arm": "filtered", "against": "raw", "eval": "wiki"}])
    result = CliRunner().invoke(main, ["report", str(root)])
    assert result.exit_code == 1 and "no evaluation set named 'wiki'" in result.output
    assert "Traceback" not in result.output


@pytest.fixture(scope="module")
def controlled_study(runs, cache_dir, tmp_path_factory):
    """A real arm sweep with both controls and two primary comparisons: 3 arms x 2 seeds of 12 steps, reported."""
    train = tiny_config(runs, cache_dir, tokens=12 * 8 * 64, eval_interval=0, eval_tokens=2048)
    raw = {"train": train, "seeds": [1, 2], "primary": [{"arm": "shuffled", "eval": "web"}, {"arm": "drop 1%",
                                                                                             "eval": "web"}],
           "arms": [{"name": "raw"}, {"name": "drop 1%", "control": {"kind": "random_drop", "source": "web",
                                                                        "fraction": 0.01}},
                    {"name": "shuffled", "control": {"kind": "shuffle_words", "source": "web", "fraction": 0.5}}]}
    out = tmp_path_factory.mktemp("controlled")
    (out / "s.yaml").write_text(yaml.safe_dump(raw))
    result = CliRunner().invoke(main, ["sweep", str(out / "s.yaml"), "-o", str(out / "sweep"), "-q"])
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(main, ["report", str(out / "sweep")])
    assert result.exit_code == 0, result.output
    return out / "sweep"


def _final_rows(sweep_dir, split: str) -> dict[tuple[str, int, str], float]:
    """(arm, seed, set) -> the last step's value of one split, read with DuckDB straight from the runs' files."""
    meta = json.loads((sweep_dir / "sweep.json").read_text())
    out = {}
    for e in meta["runs"]:
        path = sweep_dir / "runs" / e["run"] / "metrics.parquet"
        rows = duckdb.sql(f"SELECT source, loss FROM '{path}' WHERE split = '{split}' AND step = "
                          f"(SELECT max(step) FROM '{path}' WHERE split = '{split}')").fetchall()
        out |= {(e["arm_name"], e["seed"], s): v for s, v in rows}
    return out


def test_a_real_study_reports_its_controls_noise_and_primary_comparisons_from_the_runs_files(controlled_study):
    nats, bpb = _final_rows(controlled_study, "val"), _final_rows(controlled_study, "val_bpb")
    effects = {(e["arm"], e["set"]): e for e in pq.read_table(controlled_study / "arm_effects.parquet").to_pylist()}
    for arm in ("drop 1%", "shuffled"):
        for s in ("web", "books", "code"):
            a, b = [nats[(arm, seed, s)] for seed in (1, 2)], [nats[("raw", seed, s)] for seed in (1, 2)]
            e = effects[(arm, s)]
            expected = stats.ttest_rel(a, b).pvalue
            if a == b:  # common random numbers: dropping no page of this source's leaves its runs identical; scipy
                expected = 1.0  # says nan (0 / 0), the report p = 1 (no evidence of a difference), as documented
            assert e["p_value"] == pytest.approx(expected, rel=1e-9)
            assert e["effect_bpb"] == pytest.approx(np.mean([bpb[(arm, k, s)] - bpb[("raw", k, s)] for k in (1, 2)]))
            assert e["primary"] == (s == "web")
    noise = {r["set"]: r for r in pq.read_table(controlled_study / "noise.parquet").to_pylist()}
    drop = [nats[("drop 1%", k, "web")] - nats[("raw", k, "web")] for k in (1, 2)]
    assert noise["web"]["sd_paired"] == pytest.approx(np.std(drop, ddof=1))
    assert noise["web"]["source_of_noise"] == "negative control drop 1% - raw, 2 pairs"
    assert (noise["web"]["seeds"], noise["web"]["comparisons"]) == (2, 2)
    text = (controlled_study / "report.md").read_text()
    assert "positive control **shuffled** against **raw** on web" in text
    assert "negative control **drop 1%** against **raw** on web" in text
    assert ("The study sees" in text) != ("**This study cannot see**" in text)
