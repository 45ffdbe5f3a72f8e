"""Curation arms in `train sweep`: per-source training filters and threshold grids, validation chosen before any
filter, paired seeds, bad input, trained_on.parquet, repeat_by and chunked validation.

The data are "tagged" curated runs built from the real text of the other trainer tests, with real FineWeb and
Gopher signals (curate.signals) and the `<prefix>__reason` columns of curate's tag mode (null = would keep)."""

import hashlib
import json
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch
import yaml
from click.testing import CliRunner
from conftest import books_docs, code_docs, web_docs

from curate.signals.fineweb import fineweb_signals
from curate.signals.gopher import quality_signals
from train.cli import main
from train.config import TrainConfig, parse
from train.data import MixtureSampler, prepare
from train.data.sources import is_val
from train.loop import build
from train.sweep import SweepConfig, plan, run_config

STEPS = 10


def tag(docs: list[dict], source: str) -> list[dict]:
    """Real signals and the decisions FineWeb's punctuation rule and Gopher's length rule would make."""
    out = []
    for d in docs:
        fw, gq = fineweb_signals(d["text"]), quality_signals(d["text"])
        out.append({"source": source, "url": d.get("url"), "lang": d.get("lang", "en"), "lang_score": 1.0,
                    "input_file": d["id"], **d, "license": "PSF-2.0" if source == "code" else None,
                    "fineweb__line_punct_ratio": fw["line_punct_ratio"], "gopher__word_count": gq["word_count"],
                    "fineweb__reason": "fineweb_line_punct" if fw["line_punct_ratio"] < 0.12 else None,
                    # Gopher's rule is 50 words; every fixture page is longer, so 400 makes the decision bite here
                    "gopher__reason": "gopher_short_doc" if gq["word_count"] < 400 else None,
                    "exact_dup__copies": 1 + (int(hashlib.md5(d["id"].encode()).hexdigest(), 16) % 3 == 0)})
    return out


def write_tagged(run: Path, rows: list[dict]) -> Path:
    (run / "docs").mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), run / "docs" / "part-00000.parquet")
    return run


@pytest.fixture(scope="session")
def tagged(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("tagged")
    return {"web": write_tagged(root / "web", tag(web_docs(), "web")),
            "code": write_tagged(root / "code", tag(code_docs(), "code")),
            "books": write_tagged(root / "books", tag(books_docs(), "books"))}


def sweep_raw(tagged, cache_dir, **extra) -> dict:
    train = {"mix": {"val_fraction": 0.15, "sources": [{"name": "web", "run": str(tagged["web"]), "weight": 0.6,
                                                        "where": "lang = 'en'"},
                                                       {"name": "code", "run": str(tagged["code"]), "weight": 0.4}]},
             "model": {"size": "test"}, "tokenizer": {"vocab_size": 400, "sample_chars": 200_000},
             "tokens": STEPS * 8 * 64, "batch_size": 8, "eval_interval": 0, "eval_tokens": 2048,
             "checkpoint_interval": 0, "log_interval": 5, "cache_dir": str(cache_dir)}
    arms = [{"name": "raw"}, {"name": "gopher", "where": {"web": "gopher__reason IS NULL"}},
            {"name": "all filters", "where": {"web": "gopher__reason IS NULL AND fineweb__reason IS NULL"}}]
    grids = [{"signal": "fineweb__line_punct_ratio", "values": [0.08, 0.15], "sources": ["web"]}]
    return {"train": train, "arms": arms, "grids": grids, "seeds": [1, 2], "workers": 2,
            "eval": [{"run": str(tagged["books"]), "name": "books", "held_out": False}], **extra}


def config_of(raw: dict) -> SweepConfig:
    return parse(SweepConfig, raw)


def arm_configs(tagged, cache_dir) -> dict[str, TrainConfig]:
    from train.sweep.arms import expand
    from train.sweep.planning import _columns, shared_tokenizer

    config = config_of(sweep_raw(tagged, cache_dir))
    tok = shared_tokenizer(config.train, cache_dir / "arm-sweep")
    arms = expand(config.arms, config.grids, _columns(config))
    return {e["arm_name"]: run_config(config, e, tok, 1) for e in plan(config, arms) if e["seed"] == 1}


def ids(shard_dir: Path, split: str) -> set[str]:
    return set(pq.read_table(shard_dir / f"{split}.idx.parquet").column("id").to_pylist())


def reads(prepared, i: int = 0) -> dict[str, int]:
    """{id: times} of the documents run `prepared` trains on from source i (its Selection over the shard)."""
    idx = pq.read_table(prepared.shard_dirs[i] / "train.idx.parquet").column("id").to_pylist()
    out = {}
    for doc_id, times in zip(idx, prepared.selections[i].times[: len(idx)].tolist()):
        if times:
            out[doc_id] = max(out.get(doc_id, 0), times)
    return out


def test_arm_selection_is_the_sql_selection_and_validation_is_shared(tagged, cache_dir):
    configs = arm_configs(tagged, cache_dir)
    web = str(tagged["web"] / "docs" / "*.parquet")
    val_sets, train_sets = [], []
    for name, cfg in configs.items():
        prepared = prepare(cfg)
        where = cfg.mix.sources[0].train_where or "TRUE"
        expected = {i for (i,) in duckdb.sql(f"SELECT id FROM '{web}' WHERE lang = 'en' AND {where}").fetchall()
                    if not is_val(i, 0.15)}
        assert set(reads(prepared)) == expected, name
        val_sets.append(ids(prepared.shard_dirs[0], "val"))
        train_sets.append(expected)
    all_web = {i for (i,) in duckdb.sql(f"SELECT id FROM '{web}' WHERE lang = 'en'").fetchall()}
    assert val_sets[0] == {i for i in all_web if is_val(i, 0.15)} and all(v == val_sets[0] for v in val_sets)
    assert len({frozenset(t) for t in train_sets}) == len(train_sets)  # the arms really train on different data
    assert configs["fineweb__line_punct_ratio >= 0.15"].mix.sources[1].train_where is None  # code: not graded


def test_one_seed_gives_every_arm_the_same_initial_weights_and_batch_plan(tagged, cache_dir):
    configs = list(arm_configs(tagged, cache_dir).values())
    states, plans = [], []
    for cfg in configs:
        prepared = prepare(cfg)
        model_cfg = cfg.model.__class__(**{**cfg.model.__dict__, "vocab_size": prepared.vocab_size})
        model, _ = build(cfg, model_cfg)
        states.append(model.state_dict())
        sampler = MixtureSampler(prepared.open(64), 64, cfg.batch_size, cfg.seed)
        plans.append([sampler.plan(step)[0] for step in range(5)])
    for state, steps in zip(states[1:], plans[1:]):
        assert all(torch.equal(state[k], states[0][k]) for k in state)
        assert all(np.array_equal(a, b) for a, b in zip(steps, plans[0]))
    other = configs[0].__class__(**{**configs[0].__dict__, "seed": 99})
    model_cfg = other.model.__class__(**{**other.model.__dict__, "vocab_size": prepare(other).vocab_size})
    assert not torch.equal(build(other, model_cfg)[0].state_dict()["lm_head.weight"], states[0]["lm_head.weight"])


@pytest.mark.parametrize("change, key, words", [
    ({"arms": [{"name": "x", "where": {"web": "no_such_column > 1"}}]}, "arms[0].where.web", "no_such_column"),
    ({"arms": [{"name": "x", "where": {"web": "gopher__word_count > 1e9"}}]}, "arms[0].where.web",
     "selects no training document"),
    ({"grids": [{"signal": "lang", "values": [1]}]}, "grids[0].signal", "not numeric"),
    ({"eval": [{"run": "EMPTY", "where": "lang = 'xx'"}]}, "eval[0]", "selects none"),
    ({"arms": [{"name": "x", "where": {"nosuch": "TRUE"}}]}, "arms[0].where.nosuch", "no source named"),
])
def test_bad_arms_fail_in_one_line_before_any_training(tagged, cache_dir, tmp_path, change, key, words):
    raw = sweep_raw(tagged, cache_dir)
    if "eval" in change:
        change["eval"][0]["run"] = str(tagged["books"])
    raw.update(change)
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(raw))
    result = CliRunner().invoke(main, ["sweep", str(tmp_path / "s.yaml"), "-o", str(tmp_path / "out")])
    assert result.exit_code == 1
    message = result.output.strip()
    assert "\n" not in message and key in message and words in message, message
    assert not (tmp_path / "out" / "runs").exists()


def test_repeat_by_repeats_documents_and_counts_epochs(tagged, cache_dir):
    cfg = next(iter(arm_configs(tagged, cache_dir).values()))
    cfg.mix.sources[0].repeat_by, cfg.mix.sources[0].repeat_max = "exact_dup__copies", 2
    prepared = prepare(cfg)
    counts = reads(prepared)
    web = str(tagged["web"] / "docs" / "*.parquet")
    copies = dict(duckdb.sql(f"SELECT id, least(exact_dup__copies, 2) FROM '{web}'").fetchall())
    assert counts == {i: copies[i] for i in counts} and 2 in counts.values()


def test_few_long_documents_are_held_out_by_chunks(tagged, cache_dir):
    # 8 books: by whole documents a hash at 0.15 holds out one of them; by 512-token chunks, part of each
    raw = {"mix": {"val_fraction": 0.15, "sources": [{"name": "books", "run": str(tagged["books"])}]},
           "tokenizer": {"vocab_size": 400, "sample_chars": 100_000}, "model": {"size": "test"},
           "cache_dir": str(cache_dir)}
    whole = prepare(parse(TrainConfig, {**raw, "mix": {**raw["mix"], "val_chunk_below_docs": 0}}))
    chunked = prepare(parse(TrainConfig, {**raw, "mix": {**raw["mix"], "val_chunk_tokens": 512}}))
    meta = {d: json.loads((p / "meta.json").read_text()) for d, p in (("whole", whole.shard_dirs[0]),
                                                                      ("chunked", chunked.shard_dirs[0]))}
    total = sum(meta["chunked"]["tokens"].values())
    share = meta["chunked"]["tokens"]["val"] / total
    assert 0.1 < share < 0.2, share  # close to val_fraction: no single book decides it
    assert len(ids(chunked.shard_dirs[0], "val")) > len(ids(whole.shard_dirs[0], "val"))
    assert ids(chunked.shard_dirs[0], "val") & ids(chunked.shard_dirs[0], "train")  # a book on both sides


@pytest.fixture(scope="module")
def arm_sweep(tagged, cache_dir, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("arm-sweep")
    raw = sweep_raw(tagged, cache_dir)
    raw["arms"].append({"name": "rehydrated", "where": {"web": "gopher__reason IS NULL"},
                        "repeat_by": {"web": "exact_dup__copies"}})
    raw["contrasts"] = [["rehydrated", "gopher"]]
    (out / "s.yaml").write_text(yaml.safe_dump(raw))
    result = CliRunner().invoke(main, ["sweep", str(out / "s.yaml"), "-o", str(out / "sweep"), "-q"])
    assert result.exit_code == 0, result.output
    return out / "sweep"


def test_arm_sweep_report_states_effects_tokens_kept_and_validation_tokens(arm_sweep):
    result = CliRunner().invoke(main, ["report", str(arm_sweep)])
    assert result.exit_code == 0, result.output
    text = (arm_sweep / "report.md").read_text()
    effects = pq.read_table(arm_sweep / "arm_effects.parquet").to_pylist()
    k = len(effects)  # 5 arms against raw + 1 contrast, on web, code, books and the mean
    assert k == 6 * 4 and f"{k} comparisons were made" in text
    for e in effects:  # an effect is stated in words exactly when its interval excludes zero
        where = "the mean over training sources" if e["set"] == "mean" else e["set"]
        words = (f"- **{e['arm']}** {'lowers' if e['effect'] < 0 else 'raises'} {where} loss by "
                 f"{abs(e['effect']):.4f} ± {e['half']:.4f} nats against **{e['reference']}**")
        assert (words in text) == e["significant"], (words, e["significant"])
    summary = pq.read_table(arm_sweep / "summary.parquet")
    assert {"run", "seed", "source", "weight", "val_loss", "tokens", "arm"} <= set(summary.column_names)
    rows = summary.to_pylist()
    val = {(r["source"], r["val_tokens"]) for r in rows}
    assert len(val) == 3  # every run scored on the same held-out tokens, per evaluation set
    kept = {r["arm"]: r["kept_tokens"] for r in rows if r["source"] == "web"}
    assert kept["gopher"] < kept["raw"] and kept["fineweb__line_punct_ratio >= 0.15"] < kept["raw"]
    assert (arm_sweep / "loss_vs_fineweb__line_punct_ratio.png").is_file()
    assert "| books |" in text and "held-out tokens" in text


def test_trained_on_lists_what_each_run_read_and_joins_back(arm_sweep, tagged):
    meta = json.loads((arm_sweep / "sweep.json").read_text())
    runs = {e["arm_name"]: arm_sweep / "runs" / e["run"] for e in meta["runs"] if e["seed"] == 1}
    gopher = pq.read_table(runs["gopher"] / "trained_on.parquet").to_pylist()
    web = str(tagged["web"] / "docs" / "*.parquet")
    expected = {i for (i,) in duckdb.sql(f"SELECT id FROM '{web}' WHERE lang = 'en' AND gopher__reason IS NULL").fetchall()
                if not is_val(i, 0.15)}
    assert {r["id"] for r in gopher if r["source"] == "web"} == expected
    assert {r["license"] for r in gopher if r["source"] == "code"} == {"PSF-2.0"}
    assert {r["source"] for r in gopher} == {"web", "code"}  # an evaluation set is never trained on
    joined = duckdb.connect().execute(f"SELECT count(*), count(d.gopher__word_count) FROM '{runs['gopher']}/trained_on.parquet' t "
                        f"JOIN '{web}' d USING (id) WHERE t.source = 'web'").fetchone()
    assert joined == (len(expected), len(expected))
    rehydrated = pq.read_table(runs["rehydrated"] / "trained_on.parquet").to_pylist()
    splits = json.loads((runs["rehydrated"] / "splits.json").read_text())
    for r in rehydrated:
        if r["source"] == "web":
            assert r["epochs"] == pytest.approx(r["repeat"] * splits["web"]["stream_epochs"])
    unique = sum(r["tokens"] for r in rehydrated if r["source"] == "web")
    assert splits["web"]["unique_tokens"] == unique < splits["web"]["train_tokens"]  # repeats: not new tokens
    assert splits["web"]["epochs"] == pytest.approx(splits["web"]["tokens_seen"] / unique)
    assert {r["repeat"] for r in rehydrated if r["source"] == "web"} == {1, 2}
    result = CliRunner().invoke(main, ["bom", str(runs["gopher"])])
    assert result.exit_code == 0 and "PSF-2.0" in result.output and "training documents" in result.output


@pytest.mark.parametrize("name", ["sweep_study", "sweep_mix"])
def test_the_study_sweeps_parse_and_expand(repo, name):
    from train.sweep import load_sweep, mixtures

    config = load_sweep(repo / "studies" / "curation" / f"{name}.yaml")
    if name == "sweep_mix":
        assert len(mixtures(config)) == 6 and len(config.seeds) == 3 and config.train.tokens >= 2_000_000
        return
    controls = {a.control.kind for a in config.arms if a.control}
    assert controls == {"shuffle_words", "random_drop"} and len(config.seeds) >= 6  # seeds, not arms
    assert {p.arm for p in config.primary} == {a.name for a in config.arms if a.name != config.baseline}
    positive = next(a.name for a in config.arms if a.control and a.control.kind == "shuffle_words")
    # the positive control is judged on the source it corrupts; every other comparison on wiki, which no filter
    # under test defines
    assert {(p.arm == positive, p.eval) for p in config.primary} == {(True, "web"), (False, "wiki")}
    assert config.train.eval_tokens >= 1_000_000 and config.train.min_lr == 0


def test_arms_cross_with_mixtures_and_seeds_into_plain_run_configs(tagged, cache_dir):
    from train.sweep.arms import expand

    raw = sweep_raw(tagged, cache_dir, mixtures={"kind": "list", "weights": [[1, 1], [3, 1]]}, grids=[])
    config = config_of(raw)
    entries = plan(config, expand(config.arms, config.grids, {}))
    assert len(entries) == 3 * 2 * 2 and entries[0]["run"] == "a00-m00-s1" and entries[-1]["run"] == "a02-m01-s2"
    cfg = run_config(config, entries[-1], cache_dir, 1)
    assert [s.weight for s in cfg.mix.sources] == [0.75, 0.25, 0.0]  # the eval set: weight 0, never trained on
    assert cfg.mix.sources[0].train_where == raw["arms"][2]["where"]["web"] and cfg.mix.sources[2].eval_all
    assert parse(TrainConfig, cfg.to_dict()) == cfg  # a plain `train run` config: config.yaml reruns it alone


def test_the_sql_held_out_split_is_the_python_one(tagged):
    from train.data.sources import val_sql

    con = duckdb.connect()
    ids_ = [i for run in tagged.values() for (i,) in con.execute(
        f"SELECT id FROM '{run}/docs/*.parquet'").fetchall()] + [f"<urn:uuid:{i:08d}>" for i in range(5000)]
    con.register("t", pa.table({"id": ids_}))
    for fraction in (0.02, 0.15, 1 / 3):
        held = {i for (i,) in con.execute(f"SELECT id FROM t WHERE {val_sql(fraction)}").fetchall()}
        assert held == {i for i in ids_ if is_val(i, fraction)} and held
