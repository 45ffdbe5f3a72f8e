"""A short real run of the shipped pipelines/mix.yaml (shrunk): what a user reads off it must hold."""

import json
import os
import subprocess
import sys

import numpy as np
import pyarrow.parquet as pq
import yaml

from train.config import TrainConfig, parse
from train.data import prepare
from train.data.sources import is_val, open_source
from train.loop import KILL_AT_STEP


def test_metrics_parquet_has_the_documented_columns(short_run):
    config, out, rows = short_run
    table = pq.read_table(out / "metrics.parquet")
    assert [(f.name, str(f.type)) for f in table.schema] == [
        ("step", "int64"), ("split", "string"), ("source", "string"), ("loss", "double"), ("tokens", "int64")]
    assert table.to_pylist() == rows
    splits = set(table.column("split").to_pylist())
    assert {"unigram", "train", "val"} <= splits <= {"unigram", "train", "val", "val_bpb"}
    val_steps = sorted({r["step"] for r in rows if r["split"] == "val"})
    assert val_steps == [100, 200, 300]  # every eval_interval and the end
    for step in val_steps:
        assert {r["source"] for r in rows if r["split"] == "val" and r["step"] == step} == {"web", "books", "code"}
    assert {r["step"] for r in rows if r["split"] == "train"} == set(range(1, config.steps + 1))


def test_per_source_val_loss_beats_the_unigram_baseline(short_run):
    _, _out, rows = short_run
    unigram = {r["source"]: r["loss"] for r in rows if r["split"] == "unigram"}
    final = {r["source"]: r["loss"] for r in rows if r["split"] == "val" and r["step"] == 300}
    first = {r["source"]: r["loss"] for r in rows if r["split"] == "val" and r["step"] == 100}
    for source in ("web", "books", "code"):
        assert final[source] < unigram[source] - 0.1, (source, final[source], unigram[source])
        assert final[source] < first[source]


def test_tokens_seen_per_source_follow_the_weights(short_run):
    config, out, rows = short_run
    last = {r["source"]: r["tokens"] for r in rows if r["split"] == "val" and r["step"] == config.steps}
    total = config.steps * config.batch_size * config.model.block_size
    assert [r["tokens"] for r in rows if r["split"] == "train" and r["source"] == "all"][-1] == total
    assert total == sum(last.values())
    assert json.loads((out / "summary.json").read_text())["tokens_seen"] == last
    for source, weight in zip(("web", "books", "code"), config.mix.weights):
        assert abs(last[source] / total - weight) < 0.06, (source, last[source] / total, weight)


def test_held_out_documents_are_never_trained_on_and_where_filters(short_run):
    config, out, _ = short_run
    prepared = prepare(config)  # cached: same tokenizer, same shards
    assert (out / "tokenizer" / "tokenizer.model").read_bytes() == (
        prepared.tokenizer_dir / "tokenizer.model").read_bytes()
    chunked = [open_source(s, i, config.mix).chunked for i, s in enumerate(config.mix.sources)]
    assert chunked == [False, True, True]  # books and code have fewer than val_chunk_below_docs documents
    for shard_dir, by_chunks in zip(prepared.shard_dirs, chunked):
        train_ids = pq.read_table(shard_dir / "train.idx.parquet").column("id").to_pylist()
        val = pq.read_table(shard_dir / "val.idx.parquet").to_pydict()
        assert val["id"]
        if not by_chunks:  # whole documents (chunks: test_train_arms.py)
            assert not set(train_ids) & set(val["id"])
            assert all(is_val(i, config.mix.val_fraction) for i in val["id"])
            assert not any(is_val(i, config.mix.val_fraction) for i in train_ids)
        tokens = np.fromfile(shard_dir / "val.bin", dtype=np.uint16)
        assert sum(val["length"]) == len(tokens) and all(tokens[o] == 1 for o in val["offset"])  # <s> per doc
    web_ids = pq.read_table(prepared.shard_dirs[0] / "train.idx.parquet").column("id").to_pylist()
    web_ids += pq.read_table(prepared.shard_dirs[0] / "val.idx.parquet").column("id").to_pylist()
    docs = pq.read_table(config.mix.sources[0].run + "/docs").select(["id", "lang"]).to_pylist()
    english = {d["id"] for d in docs if d["lang"] == "en"}
    assert set(web_ids) == english and 0 < len(english) < len(docs) / 2  # where lang = 'en': every English page
    assert "https://www.ohchr.org/udhr/eng.html" in web_ids and "https://www.ohchr.org/udhr/fra.html" not in web_ids


def test_a_tokenizer_can_be_shared_between_runs(short_run):
    config, out, _ = short_run
    config.tokenizer.dir = str(out / "tokenizer")
    config.mix.sources[0].weight = 5.0  # a different mix would otherwise sample, and train, another tokenizer
    try:
        prepared = prepare(config)
    finally:
        config.tokenizer.dir, config.mix.sources[0].weight = None, 0.5
    assert prepared.tokenizer_dir == out / "tokenizer"


def test_the_start_log_says_which_sources_are_read_more_than_once(tmp_path, tiny_raw, repo):
    """A source whose share of the planned tokens exceeds its training tokens is named with its epochs before the
    first step; one read less than once is not. Stopped after step 1 (TRAIN_KILL_AT_STEP): the plan is the point."""
    raw = tiny_raw(tokens=500_000, **{"mix.sources.0.weight": 0.2, "mix.sources.1.weight": 0.6,
                                      "mix.sources.2.weight": 0.2})
    train = {}
    for shard_dir, source in zip(prepare(parse(TrainConfig, raw)).shard_dirs, ("web", "books", "code")):
        train[source] = json.loads((shard_dir / "meta.json").read_text())["tokens"]["train"]
    steps = -(-500_000 // (8 * 64))  # whole steps of 8 x 64 tokens: 977, 500,224 tokens
    epochs = {s: steps * 8 * 64 * w / train[s] for s, w in (("web", 0.2), ("books", 0.6), ("code", 0.2))}
    assert epochs["books"] > 1 > max(epochs["web"], epochs["code"])  # the data this test needs
    (tmp_path / "mix.yaml").write_text(yaml.safe_dump(raw))
    result = subprocess.run([sys.executable, "-m", "train.cli", "run", str(tmp_path / "mix.yaml"), "-o",
                             str(tmp_path / "out")], cwd=repo, capture_output=True, text=True, timeout=300,
                            env={**os.environ, KILL_AT_STEP: "1"}, check=False)
    notes = [line for line in result.stderr.splitlines() if line.startswith("note: ")]
    expected = (f"note: books is read for {epochs['books']:.1f} epochs ({train['books']:,} training tokens, weight "
                "0.600): the model sees its documents more than once")
    assert notes == [expected], result.stderr


def test_compile_auto_compiles_only_when_the_remaining_steps_pay_for_it(tmp_path):
    """`compile: auto` times eager steps 2-4, then compiles when 13% of the remaining eager time exceeds the
    compilation's cost: 60 s for a cold cache, or what this machine measured for the same shapes before."""
    import torch

    from train.loop import AutoCompile

    config = parse(TrainConfig, {"mix": {"sources": [{"run": "unused"}]}, "compile": "auto",
                                 "cache_dir": str(tmp_path)})
    net, log = torch.nn.Linear(2, 2), []

    def decide(remaining: int, step_seconds: float = 0.1):
        auto = AutoCompile(config, config.model, remaining + 4)
        return auto, [auto.after_step(net, step_seconds, remaining, log.append) for _ in range(4)][-1]

    _, out = decide(4000)  # 4,000 x 0.1 s x 0.13 = 52 s < 60 s
    assert out is net
    assert log[-1] == ("compile: auto: eager: 4000 steps at 100 ms would save about 52 s, less than the "
                       "compilation's 60 s (a cold cache)")
    auto, out = decide(5000)  # 65 s > 60 s: compiled (lazily: nothing runs until the next step calls it)
    assert isinstance(out, torch._dynamo.eval_frame.OptimizedModule) and out._orig_mod is net
    assert log[-1].startswith("compile: auto: compiling: 5000 steps at 100 ms save about 65 s")
    auto.after_step(out, 4.1, 4999, log.append)  # the first compiled step: 4.0 s more than an eager one
    assert log[-1] == "compile: auto: compiled in 4.0 s"
    _, out = decide(400)  # the same shapes again: 5.2 s saved > the 4.0 s this machine measured
    assert out is not net and log[-1].endswith("the compilation costs about 4 s (measured here before)")


def test_compile_accepts_true_false_and_auto_only():
    from train.errors import ConfigError

    for value in (True, False, "auto"):
        assert parse(TrainConfig, {"mix": {"sources": [{"run": "x"}]}, "compile": value}).compile == value
    try:
        parse(TrainConfig, {"mix": {"sources": [{"run": "x"}]}, "compile": "sometimes"})
    except ConfigError as error:
        assert "compile" in str(error) and "true, false or auto" in str(error)
    else:
        raise AssertionError("compile: sometimes was accepted")
