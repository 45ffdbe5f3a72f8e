"""Runs of a sweep trained together (stacked weights, batched matmuls) compute what each computes alone."""

import json

import pyarrow.parquet as pq
import yaml
from click.testing import CliRunner

from train.cli import main
from train.config import TrainConfig, parse
from train.data import prepare
from train.loop import train_run
from train.model.batched import compatible_key, train_together

STEPS = 12


def _configs(tiny_raw) -> list[TrainConfig]:
    """Three runs as a sweep makes them: one shared tokenizer, their own seeds and mixtures (weight 0 included)."""
    tokenizer = prepare(parse(TrainConfig, tiny_raw())).tokenizer_dir
    out = []
    for seed, weights in ((1, (0.4, 0.3, 0.3)), (2, (1.0, 0.0, 0.0)), (3, (0.0, 0.5, 0.5))):
        raw = tiny_raw(tokens=STEPS * 8 * 64, seed=seed, eval_interval=6, checkpoint_interval=6, log_interval=4)
        raw["tokenizer"]["dir"] = str(tokenizer)
        for source, w in zip(raw["mix"]["sources"], weights):
            source["weight"] = w
        out.append(parse(TrainConfig, raw))
    return out


def test_runs_trained_together_match_each_run_trained_alone(tiny_raw, tmp_path):
    configs = _configs(tiny_raw)
    assert len({compatible_key(c) for c in configs}) == 1
    configs[0].tokenizer.dir = None  # a tokenizer of its own, trained on its mixture: cannot share the others' data
    assert compatible_key(configs[0]) != compatible_key(configs[1])
    configs[0].tokenizer.dir = configs[1].tokenizer.dir
    alone = [train_run(c, tmp_path / f"alone{i}", progress=False) for i, c in enumerate(configs)]
    train_together([(f"run{i}", c, tmp_path / f"together{i}") for i, c in enumerate(configs)], lambda name: print)
    for i, rows in enumerate(alone):
        together = pq.read_table(tmp_path / f"together{i}" / "metrics.parquet").to_pylist()
        assert [(r["step"], r["split"], r["source"], r["tokens"]) for r in together] == [
            (r["step"], r["split"], r["source"], r["tokens"]) for r in rows]  # same batches, same evaluations
        worst = max(abs(a["loss"] - b["loss"]) for a, b in zip(rows, together))
        assert worst < 1e-4, (i, worst)
    assert {r["loss"] for r in alone[0] if r["split"] == "val"} != {r["loss"] for r in alone[1] if r["split"] == "val"}


def test_groups_stack_no_more_runs_than_keep_logits_off_mmap(tiny_raw, tmp_path):
    """Compatible runs are dealt into groups; a group stacks only as many runs as keep one sequence's logits of all
    of them within 16 MiB (the 1m shape: 2), while small vocabularies and contexts stack many."""
    from train.sweep.pool import groups, max_stacked

    configs = _configs(tiny_raw)
    jobs = [(f"r{i}", c, tmp_path / f"r{i}") for i, c in enumerate(configs * 3)]  # 9 compatible runs
    small = groups(jobs, workers=1)
    assert max_stacked(configs[0]) >= 9 and [len(g) for g in small] == [9]
    for c in configs:
        c.model.block_size, c.model.vocab_size = 256, 8192
    assert max_stacked(configs[0]) == 2
    big = groups(jobs, workers=1)
    assert sorted(len(g) for g in big) == [1, 2, 2, 2, 2] and sum(map(len, big)) == 9
    two = groups(jobs, workers=2)  # 5 groups would leave one core idle while the fifth trains: 6, in 3 waves of 2
    assert len(two) == 6 and sum(map(len, two)) == 9 and max(map(len, two)) == 2


def test_a_sweep_with_stack_true_trains_its_runs_as_one_stacked_model(tiny_raw, tmp_path):
    """`stack: true` in the sweep YAML sends compatible runs through train_together (the default trains them one
    after another); every run still gets its own finished directory."""
    train = tiny_raw(tokens=6 * 8 * 64, eval_interval=0, eval_tokens=2048, checkpoint_interval=0, log_interval=3)
    sweep = {"train": train, "mixtures": {"kind": "list", "weights": [[1, 0, 0], [0.5, 0.5, 0], [0.2, 0.3, 0.5]]},
             "seeds": [1], "workers": 1, "stack": True}
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(sweep))
    result = CliRunner().invoke(main, ["sweep", str(tmp_path / "s.yaml"), "-o", str(tmp_path / "out"), "-q"])
    assert result.exit_code == 0, result.output
    runs = sorted((tmp_path / "out" / "runs").iterdir())
    assert len(runs) == 3
    for run in runs:
        assert "trained together with 2 other run(s)" in (run / "train.log").read_text()
        assert json.loads((run / "summary.json").read_text())["steps"] == 6
