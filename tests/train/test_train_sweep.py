"""`train sweep`: every mixture x seed trained with one shared tokenizer and equal token budgets, spread over worker
processes, finished runs skipped when a sweep is started again. One tiny real sweep (6 mixtures x 2 seeds of a
0.13M model, 40 steps each) is shared with test_train_report.py through a fixed directory: whichever module builds
it first trains it, the other finds every run finished."""

import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml
from click.testing import CliRunner

from train.cli import main
from train.config import ModelConfig, field_docs, parse
from train.errors import ConfigError
from train.sweep import (
    ArmConfig,
    EvalConfig,
    GridConfig,
    MixturesConfig,
    SweepConfig,
    load_sweep,
    mixtures,
    plan,
)
from train.yamlio import config_reference

STEPS = 40  # at 20 the 0.13M model barely leaves the unigram loss and web-on-web sat inside its interval (margin -0.04)


def tiny_sweep_raw(tiny_raw) -> dict:
    train = tiny_raw(tokens=STEPS * 8 * 64, eval_interval=0, eval_tokens=2048, checkpoint_interval=10, log_interval=5,
                     threads=0)
    return {"train": train, "mixtures": {"kind": "grid", "divisions": 2}, "seeds": [1, 2], "workers": 2}


_BUILT: dict[Path, tuple[Path, Path]] = {}  # per session (tiny_raw is function-scoped, so the fixture cannot be)


@pytest.fixture
def tiny_sweep(tiny_raw, tmp_path_factory) -> tuple[Path, Path]:
    """(sweep_dir, sweep_yaml): the shared tiny sweep, trained on first use in the session."""
    base = tmp_path_factory.getbasetemp()
    if base not in _BUILT:
        sweep_yaml, sweep_dir = base / "tiny-sweep.yaml", base / "tiny-sweep"
        sweep_yaml.write_text(yaml.safe_dump(tiny_sweep_raw(tiny_raw)))
        result = CliRunner().invoke(main, ["sweep", str(sweep_yaml), "-o", str(sweep_dir)])
        assert result.exit_code == 0, result.output
        _BUILT[base] = sweep_dir, sweep_yaml
    return _BUILT[base]


def _parse(tiny_raw, **mixtures_spec) -> SweepConfig:
    return parse(SweepConfig, {"train": tiny_raw(), "mixtures": mixtures_spec})


def test_every_sweep_config_key_is_documented_and_listed_in_help():
    for cls in (SweepConfig, MixturesConfig, ArmConfig, GridConfig, EvalConfig):
        docs = field_docs(cls)
        assert not [f for f in cls.__dataclass_fields__ if not docs.get(f)], cls
    sweep_help = CliRunner().invoke(main, ["sweep", "--help"]).output
    keys = [(k, d) for k, d in config_reference(SweepConfig) if not k.startswith("train.")]
    fields = set(SweepConfig.__dataclass_fields__) - {"train"}
    assert {k.split(".")[0].split("[")[0] for k, _ in keys} == fields  # nested keys listed (mixtures.kind ...)
    for key, doc in keys:
        assert key in sweep_help and doc.split()[0] in sweep_help, key


def test_grid_dirichlet_and_list_mixtures(tiny_raw):
    grid = mixtures(_parse(tiny_raw, kind="grid", divisions=2))
    assert grid == [[1, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 1, 0], [0, 0.5, 0.5], [0, 0, 1]]
    assert len(mixtures(_parse(tiny_raw, kind="grid", divisions=3))) == 10
    dirichlet = mixtures(_parse(tiny_raw, kind="dirichlet", count=5, seed=3))
    assert len(dirichlet) == 5 and all(abs(sum(m) - 1) < 1e-5 and min(m) > 0 for m in dirichlet)
    assert dirichlet == mixtures(_parse(tiny_raw, kind="dirichlet", count=5, seed=3))  # same on every machine
    assert dirichlet != mixtures(_parse(tiny_raw, kind="dirichlet", count=5, seed=4))
    listed = _parse(tiny_raw, kind="list", weights=[[2, 1, 1], [1, 1, 2], [2, 1, 1]])
    assert mixtures(listed) == [[0.5, 0.25, 0.25], [0.25, 0.25, 0.5]]  # normalised, duplicates dropped
    runs = plan(listed)
    assert [r["run"] for r in runs] == ["m00-s1", "m00-s2", "m01-s1", "m01-s2"]
    assert runs[3]["weights"] == {"web": 0.25, "books": 0.25, "code": 0.5} and runs[3]["seed"] == 2


@pytest.mark.parametrize("patch, key, words", [
    ({"mixtures": {"kind": "grd"}}, "mixtures.kind", "unknown kind 'grd'"),
    ({"mixtures": {"kind": "list", "weights": [[1, 1]]}}, "mixtures.weights[0]", "needs 3 weights"),
    ({"mixtures": {"kind": "list"}}, "mixtures.weights", "at least one mixture"),
    ({"seeds": []}, "seeds", "one or more distinct seeds"),
    ({"mixtures": {"divison": 2}}, "mixtures.divison", "did you mean 'divisions'"),
    ({"train": {"lr": "fast"}}, "train.lr", "expected float"),
])
def test_bad_sweep_config_names_its_key(tiny_raw, patch, key, words):
    raw = tiny_sweep_raw(tiny_raw)
    for k, v in patch.items():
        raw[k] = {**raw[k], **v} if isinstance(v, dict) else v
    with pytest.raises(ConfigError) as err:
        parse(SweepConfig, raw)
    assert err.value.key == key and words in str(err.value)


@pytest.mark.parametrize("value", ["true", "false"])
def test_the_removed_stack_key_is_refused_when_true_and_ignored_when_false(tiny_raw, tmp_path, value):
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump({**tiny_sweep_raw(tiny_raw), "stack": value == "true"}))
    if value == "false":
        assert load_sweep(path).seeds == [1, 2]
        return
    result = CliRunner().invoke(main, ["sweep", str(path), "-o", str(tmp_path / "out")])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.output.count("\n") == 1 and "stack: was removed" in result.output
    assert "478.2 s stacked, 428.7 s one run after another" in result.output
    assert not (tmp_path / "out").exists()  # refused before any work


def test_a_sweep_needs_two_sources(tiny_raw):
    raw = tiny_sweep_raw(tiny_raw)
    raw["train"]["mix"]["sources"] = raw["train"]["mix"]["sources"][:1]
    with pytest.raises(ConfigError, match="at least 2 sources"):
        parse(SweepConfig, raw)


def test_every_mixture_and_seed_trains_with_one_tokenizer_and_equal_budgets(tiny_sweep):
    sweep_dir, _ = tiny_sweep
    meta = json.loads((sweep_dir / "sweep.json").read_text())
    assert len(meta["runs"]) == 12 and meta["sessions"][0]["trained"] == 12
    tokenizer = (sweep_dir / "tokenizer" / "tokenizer.model").read_bytes()
    finals = {}
    for entry in meta["runs"]:
        run = sweep_dir / "runs" / entry["run"]
        config = yaml.safe_load((run / "config.yaml").read_text())
        assert (run / "tokenizer" / "tokenizer.model").read_bytes() == tokenizer
        assert config["seed"] == entry["seed"]
        assert {s["name"]: s["weight"] for s in config["mix"]["sources"]} == entry["weights"]
        summary = json.loads((run / "summary.json").read_text())
        assert sum(summary["tokens_seen"].values()) == STEPS * 8 * 64  # the same budget for every mixture
        for name, weight in entry["weights"].items():
            assert (summary["tokens_seen"][name] == 0) == (weight == 0)  # weight 0: evaluated, never trained on
        finals[entry["run"]] = summary["val_loss"]
    assert finals["m00-s1"] != finals["m00-s2"]  # seeds differ: the report's intervals have something to measure


def test_runs_are_spread_over_worker_processes_with_their_share_of_threads(tiny_sweep):
    sweep_dir, _ = tiny_sweep
    session = json.loads((sweep_dir / "sweep.json").read_text())["sessions"][0]
    assert session["workers"] == 2 and session["threads"] == max(1, session["cores"] // 2)
    pids = set()
    for run in (sweep_dir / "runs").iterdir():
        first = (run / "train.log").read_text().splitlines()[0]  # "[sweep worker pid N, T thread(s)]"
        pids.add(first.split("pid ")[1].split(",")[0])
        assert f"{session['threads']} thread(s)" in first
        assert yaml.safe_load((run / "config.yaml").read_text())["threads"] == session["threads"]
    assert len(pids) == 2


def test_a_restarted_sweep_trains_only_what_is_missing_and_matches(tiny_sweep, tmp_path):
    sweep_dir, sweep_yaml = tiny_sweep
    copy = tmp_path / "sweep"
    shutil.copytree(sweep_dir, copy)
    shutil.rmtree(copy / "runs" / "m03-s1")  # never started
    (copy / "runs" / "m04-s2" / "summary.json").unlink()  # killed after its last checkpoint
    untouched = (copy / "runs" / "m00-s1" / "metrics.parquet").stat().st_mtime_ns
    result = CliRunner().invoke(main, ["sweep", str(sweep_yaml), "-o", str(copy)])
    assert result.exit_code == 0, result.output
    assert "2 run(s) trained, 10 skipped (already finished)" in result.output
    assert "sweep: 12/12 runs done (10 skipped)" in result.output  # the sweep's progress view
    for run in ("m03-s1", "m04-s2"):
        assert pq.read_table(copy / "runs" / run / "metrics.parquet").equals(
            pq.read_table(sweep_dir / "runs" / run / "metrics.parquet"))  # the same losses, bit for bit
    assert f"at step {STEPS}/{STEPS}" in (copy / "runs" / "m04-s2" / "train.log").read_text()  # resumed, not redone
    assert (copy / "runs" / "m00-s1" / "metrics.parquet").stat().st_mtime_ns == untouched
    again = CliRunner().invoke(main, ["sweep", str(sweep_yaml), "-o", str(copy)])
    assert "0 run(s) trained, 12 skipped" in again.output


def test_a_changed_sweep_is_refused_before_any_training(tiny_sweep):
    sweep_dir, sweep_yaml = tiny_sweep
    before = (sweep_dir / "sweep.json").read_text()
    result = CliRunner().invoke(main, ["sweep", str(sweep_yaml), "-o", str(sweep_dir), "--set", "train.lr=0.01"])
    assert result.exit_code == 1
    assert "holds a run with other settings (lr differ)" in result.output and "Traceback" not in result.output
    assert (sweep_dir / "sweep.json").read_text() == before


def test_shipped_sweep_yaml_parses_and_reads_the_curated_runs(repo):
    config = load_sweep(repo / "pipelines" / "sweep.yaml")
    assert [(s.name, s.run) for s in config.train.mix.sources] == [
        ("web", "runs/web"), ("books", "runs/books"), ("code", "runs/code")]
    assert len(mixtures(config)) >= 6 and len(config.seeds) >= 2
    assert config.train.model.size == "1m" and config.train.model.n_layer == ModelConfig.preset({"size": "1m"})[
        "n_layer"]
    assert len(plan(config)) == len(mixtures(config)) * len(config.seeds)
