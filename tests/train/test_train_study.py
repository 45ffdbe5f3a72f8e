"""What makes a curation study able to see: every arm of a seed reads the documents it shares with the baseline in
the same order (common random numbers), so a paired difference measures the selection, not the luck of the draw;
the positive (shuffle_words) and negative (random_drop) controls do what they say; bad study input fails in one line
before any training."""

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from click.testing import CliRunner
from conftest import tiny_config

from train.cli import main
from train.config import TrainConfig, parse
from train.data import prepare
from train.data.stream import Stream, id_keys, select
from train.loop import train_run
from train.sweep import SweepConfig, plan, run_config


def synthetic(lengths: dict[str, int]) -> tuple[np.ndarray, pa.Table]:
    """A token file whose document `d` is `len` copies of its own token value, and its index (id, offset, length)."""
    tokens, rows, offset = [], {"id": [], "offset": [], "length": []}, 0
    for value, (doc_id, n) in enumerate(lengths.items(), start=1):
        tokens += [value] * n
        rows["id"].append(doc_id), rows["offset"].append(offset), rows["length"].append(n)
        offset += n
    return np.array(tokens, dtype=np.uint16), pa.table(rows)


def runs_of(tokens: np.ndarray) -> list[int]:
    """The token values in the order their runs appear: which document came when."""
    return [int(t) for i, t in enumerate(tokens) if i == 0 or tokens[i - 1] != t]


def test_an_arm_reads_the_documents_it_shares_with_the_baseline_in_the_same_order():
    tokens, index = synthetic({f"doc-{i}": 5 + i for i in range(40)})
    base = Stream([tokens], select(index, {f"doc-{i}": 1 for i in range(40)}, seed=7), seed=7)
    kept = {f"doc-{i}": 1 for i in range(40) if i % 3}  # the arm drops every third document
    arm = Stream([tokens], select(index, kept, seed=7), seed=7)
    order = runs_of(base.epoch(0))
    assert sorted(order) == list(range(1, 41))  # each document once per epoch
    assert runs_of(arm.epoch(0)) == [v for v in order if (v - 1) % 3]  # the same order, the dropped ones left out
    assert runs_of(base.epoch(1)) != order and sorted(runs_of(base.epoch(1))) == sorted(order)  # a new epoch, new order
    other_seed = runs_of(Stream([tokens], select(index, {f"doc-{i}": 1 for i in range(40)}, seed=8), seed=8).epoch(0))
    assert other_seed != order
    n = base.epoch_tokens  # one lane: its endless stream is the epochs back to back
    assert np.array_equal(base.take(0, n - 3, 6), np.concatenate([base.epoch(0)[-3:], base.epoch(1)[:3]]))


def test_repeat_by_copies_take_their_own_places_and_every_lane_keeps_the_order():
    tokens, index = synthetic({"a": 4, "b": 4, "c": 4})
    stream = Stream([tokens], select(index, {"a": 3, "b": 1, "c": 1}, seed=1), seed=1)
    assert stream.epoch_tokens == 20
    assert np.count_nonzero(stream.epoch(0) == 1) == 12  # a read three times
    places = [runs_of(Stream([tokens], select(index, {"a": 3, "b": 1, "c": 1}, seed=s), seed=s).epoch(0)).count(1)
              for s in range(20)]
    assert max(places) >= 2  # its copies are not always side by side: each has its own place in the order


def test_dropping_a_document_changes_only_the_blocks_of_its_own_lane():
    """Sequences are read in lanes (a hash of the document says which): an arm that drops one document reads the
    same blocks as the baseline, at the same places, in every other lane."""
    tokens, index = synthetic({f"doc-{i}": 20 + i for i in range(40)})
    every = {f"doc-{i}": 1 for i in range(40)}
    base = Stream([tokens], select(index, every, seed=3), seed=3, lanes=4)
    arm = Stream([tokens], select(index, {**every, "doc-17": 0}, seed=3), seed=3, lanes=4)
    windows = [(base.window(k, 16), arm.window(k, 16)) for k in range(400)]  # about 3 epochs of each lane
    same = [np.array_equal(a, b) for a, b in windows]
    assert 0.75 <= sum(same) / len(same) < 0.95  # three lanes of four untouched, the fourth moved after doc-17
    assert all(18 not in b for _, b in windows)  # doc-17 (token value 18) is never read by the arm
    assert all(np.array_equal(base.window(k, 16)[-1:], base.window(k + 4, 16)[:1]) for k in range(40))  # a lane
    # is read front to back: the last target of one block is the first input of that lane's next


def test_a_fixed_pool_is_the_same_pieces_at_every_seed_and_arms_filter_within_it():
    tokens, index = synthetic({f"doc-{i}": 10 + i % 7 for i in range(200)})
    every = {f"doc-{i}": 1 for i in range(200)}
    pooled = {s: select(index, every, seed=s, pool_tokens=500) for s in (1, 2, 3)}
    members = {s: {i for i, t in zip(sel.ids, sel.times) if t} for s, sel in pooled.items()}
    assert members[1] == members[2] == members[3] and 0 < len(members[1]) < 200  # one pool, whatever the seed
    assert 500 <= pooled[1].tokens < 500 + 16  # that many tokens, up to the last piece in
    first = Stream([tokens], pooled[1], seed=1).epoch(0)
    assert sorted(runs_of(first)) == sorted(int(i.split("-")[1]) + 1 for i in members[1])  # read whole, once each
    assert runs_of(first) != runs_of(Stream([tokens], pooled[2], seed=2).epoch(0))  # in each seed's own order
    odd = {f"doc-{i}": 1 for i in range(1, 200, 2)}  # an arm's filter keeps the odd documents
    kept = select(index, odd, seed=2, pool_tokens=500)
    arm = {i for i, t in zip(kept.ids, kept.times) if t}
    assert arm == {i for i in members[1] if int(i.split("-")[1]) % 2}  # the pool's odd documents, none from outside
    whole = select(index, every, seed=1, pool_tokens=10**9)
    assert whole.tokens == select(index, every, seed=1).tokens  # a pool larger than the source is all of it
    shuffled = select(index, every, seed=1, alt_index=index, shuffle_fraction=0.5, pool_tokens=500)
    own = {i for i, t in zip(shuffled.ids[:200], shuffled.times[:200]) if t}
    copies = {i for i, t in zip(shuffled.ids[200:], shuffled.times[200:]) if t}
    assert own | copies == members[1] and not own & copies and own and copies  # a pool page, itself or its copy


def test_a_random_drop_drawn_once_is_the_same_set_at_every_seed_and_one_per_seed_is_not():
    _, index = synthetic({f"doc-{i}": 20 for i in range(300)})
    every = {f"doc-{i}": 1 for i in range(300)}

    def dropped(seed, per_seed):
        sel = select(index, every, seed=seed, drop_fraction=0.3, drop_per_seed=per_seed)
        return {i for i, t in zip(sel.ids, sel.times) if not t}

    fixed = [dropped(s, False) for s in (1, 2, 3)]
    assert fixed[0] == fixed[1] == fixed[2] and 60 < len(fixed[0]) < 120  # one set of about 30%, like a filter's
    drawn = [dropped(s, True) for s in (1, 2, 3)]
    assert drawn[0] != drawn[1] != drawn[2] and all(60 < len(d) < 120 for d in drawn)


def test_random_drop_like_an_arm_removes_as_many_tokens_and_shuffled_copies_keep_their_words(runs, cache_dir):
    raw = tiny_config(runs, cache_dir)
    cfg = parse(TrainConfig, raw)
    web = cfg.mix.sources[0]
    web.drop_like = "length(text) > 1500"  # an arm that keeps only the longer English pages
    prepared = prepare(cfg)
    index = pq.read_table(prepared.shard_dirs[0] / "train.idx.parquet")
    ids = index.column("id").to_pylist()
    lengths = index.column("length").to_numpy()
    import duckdb

    sql = f"SELECT id FROM '{runs['web']}/docs/*.parquet' WHERE lang = 'en' AND length(text) > 1500"
    long = {i for (i,) in duckdb.sql(sql).fetchall()}
    removed_by_arm = sum(n for i, n in zip(ids, lengths) if i not in long)
    dropped = sum(n for n, t in zip(lengths, prepared.selections[0].times) if t == 0)
    assert removed_by_arm > 0 and removed_by_arm <= dropped < removed_by_arm + lengths.max()
    kept = {i for i, t in zip(ids, prepared.selections[0].times) if t}
    assert kept != {i for i in ids if i in long}  # random documents went, not the arm's

    web.drop_like, web.shuffle_fraction = None, 0.3
    shuffled = prepare(cfg)
    alt = shuffled.alt_dirs[0]
    copies = pq.read_table(alt / "train.idx.parquet").column("id").to_pylist()
    share = len(set(copies)) / len(set(ids))
    assert 0.2 < share < 0.4, share  # 663 pages: a hash at 0.3 picks close to 30% of them
    from train.data.tokenizer import load

    sp = load(shuffled.tokenizer_dir)
    own = np.memmap(shuffled.shard_dirs[0] / "train.bin", dtype=np.uint16, mode="r")
    alt_tokens = np.memmap(alt / "train.bin", dtype=np.uint16, mode="r")
    alt_index = pq.read_table(alt / "train.idx.parquet").to_pylist()
    row = next(r for r in index.to_pylist() if r["id"] == alt_index[0]["id"])
    original = sp.decode(own[row["offset"] + 1 : row["offset"] + row["length"]].tolist())
    copy = sp.decode(alt_tokens[alt_index[0]["offset"] + 1 : alt_index[0]["offset"] + alt_index[0]["length"]].tolist())
    assert sorted(copy.split()) == sorted(original.split()) and copy.split() != original.split()
    sel = shuffled.selections[0]
    n_own = len(ids)
    read_copies = {copies[j] for j in np.flatnonzero(sel.times[n_own:])}
    read_own = {ids[j] for j in np.flatnonzero(sel.times[:n_own])}
    assert read_copies == set(copies) and not read_copies & read_own  # a replaced page is read as its copy only


def test_two_arms_that_keep_the_same_documents_train_bit_identically(runs, cache_dir, tmp_path):
    first = parse(TrainConfig, tiny_config(runs, cache_dir, tokens=12 * 8 * 64, eval_interval=0))
    second = parse(TrainConfig, tiny_config(runs, cache_dir, tokens=12 * 8 * 64, eval_interval=0))
    second.mix.sources[0].train_where = "length(text) >= 0"  # another filter that keeps every page
    a = train_run(first, tmp_path / "a", progress=False)
    b = train_run(second, tmp_path / "b", progress=False)
    assert [r["loss"] for r in a] == [r["loss"] for r in b] and len(a) > 12


def sweep_yaml(runs, cache_dir, **extra) -> dict:
    train = tiny_config(runs, cache_dir, tokens=40 * 8 * 64, eval_interval=0, eval_tokens=0, min_lr=0.0)
    train.pop("threads")
    arms = [{"name": "raw"}, {"name": "short pages", "where": {"web": "length(text) < 1500"}},
            {"name": "drop 1%", "control": {"kind": "random_drop", "source": "web", "fraction": 0.01}},
            {"name": "shuffled", "control": {"kind": "shuffle_words", "source": "web", "fraction": 0.5}}]
    return {"train": train, "arms": arms, "seeds": [1, 2, 3], "executor": {"type": "local", "workers": 2},
            "primary": [{"arm": "shuffled", "eval": "web"}, {"arm": "drop 1%", "eval": "web"}], **extra}


@pytest.fixture(scope="module")
def study(runs, cache_dir, tmp_path_factory):
    from train.sweep import run_sweep

    out = tmp_path_factory.mktemp("study")
    run_sweep(parse(SweepConfig, sweep_yaml(runs, cache_dir)), out, progress=False)
    return out


def final_losses(out, arm: str) -> dict[int, dict[str, float]]:
    import json

    meta = json.loads((out / "sweep.json").read_text())
    losses = {}
    for entry in meta["runs"]:
        if entry["arm_name"] == arm:
            rows = pq.read_table(out / "runs" / entry["run"] / "metrics.parquet").to_pylist()
            last = max(r["step"] for r in rows)
            losses[entry["seed"]] = {r["source"]: r["loss"] for r in rows if r["split"] == "val" and r["step"] == last}
    return losses


def test_a_one_percent_drop_pairs_far_tighter_than_seeds_spread(study):
    """On the bundled samples over 3 seeds: dropping a random 1% of the web pages moves each run far less than
    another seed does, so a paired difference sees effects a seed's spread would hide."""
    base, drop = final_losses(study, "raw"), final_losses(study, "drop 1%")
    import json

    meta = json.loads((study / "sweep.json").read_text())
    docs = {(e["arm_name"], e["seed"]): json.loads((study / "runs" / e["run"] / "splits.json").read_text())["web"]
            ["train_docs"] for e in meta["runs"]}
    assert sum(docs[("drop 1%", s)] < docs[("raw", s)] for s in (1, 2, 3)) >= 2  # 218 English pages: 0, 1, 2 go
    for source in ("web", "books", "code"):
        across = np.std([base[s][source] for s in base], ddof=1)
        paired = np.std([drop[s][source] - base[s][source] for s in base], ddof=1)
        print(f"{source}: sd of the paired difference {paired:.4f}, sd across seeds {across:.4f}")
        assert paired < 0.5 * across, (source, paired, across)


def test_the_sweep_records_controls_and_primary_comparisons(study):
    import json

    meta = json.loads((study / "sweep.json").read_text())
    controls = {a["name"]: a["control"] for a in meta["arms"]}
    assert controls["raw"] is None and controls["drop 1%"]["kind"] == "random_drop"
    assert meta["primary"][0] == {"arm": "shuffled", "against": "raw", "eval": "web"}
    shuffled = [e for e in meta["runs"] if e["arm_name"] == "shuffled"]
    config = yaml.safe_load((study / "runs" / shuffled[0]["run"] / "config.yaml").read_text())
    assert config["mix"]["sources"][0]["shuffle_fraction"] == 0.5  # a plain run config reproduces the run alone


@pytest.mark.parametrize("change, key, words", [
    ({"primary": [{"arm": "nosuch", "eval": "web"}]}, "primary[0].arm", "no arm named 'nosuch'"),
    ({"primary": [{"arm": "raw", "eval": "nosuch"}]}, "primary[0].eval", "no evaluation set named 'nosuch'"),
    ({"arms": [{"name": "raw"}, {"name": "x", "control": {"kind": "random_drop", "like": "raw"}}]},
     "arms[1].control.like", "arm 'raw' removes no training document"),
    ({"arms": [{"name": "raw"}, {"name": "keep all", "where": {"web": "length(text) >= 0"}},
               {"name": "x", "control": {"kind": "random_drop", "like": "keep all"}}]},
     "arms[2].control.like", "removes no training document"),
    ({"arms": [{"name": "x", "control": {"kind": "shuffle_words", "source": "web", "fraction": 1.5}}]},
     "arms[0].control.fraction", "(0, 1]"),
    ({"arms": [{"name": "x", "control": {"kind": "random_drop", "source": "web", "fraction": 1.0}}]},
     "arms[0].control.fraction", "leaves nothing"),
    ({"arms": [{"name": "x", "control": {"kind": "shuffle", "source": "web", "fraction": 0.5}}]},
     "arms[0].control.kind", "unknown control"),
    ({"arms": [{"name": "x", "control": {"kind": "shuffle_words", "source": "web", "fraction": 0.5,
                                         "per_seed": False}}]},
     "arms[0].control.per_seed", "a random_drop setting"),
])
def test_bad_study_input_fails_in_one_line_before_any_training(runs, cache_dir, tmp_path, change, key, words):
    raw = sweep_yaml(runs, cache_dir)
    raw.pop("primary") if "primary" not in change else None
    raw.update(change)
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(raw))
    result = CliRunner().invoke(main, ["sweep", str(tmp_path / "s.yaml"), "-o", str(tmp_path / "out")])
    message = result.output.strip()
    assert result.exit_code == 1 and "\n" not in message and key in message and words in message, message
    assert not (tmp_path / "out" / "runs").exists()


def test_a_bad_pool_fails_in_one_line_naming_its_key(runs, cache_dir, tmp_path):
    raw = sweep_yaml(runs, cache_dir)
    raw["train"]["mix"]["sources"][0]["pool_tokens"] = -5
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(raw))
    result = CliRunner().invoke(main, ["sweep", str(tmp_path / "s.yaml"), "-o", str(tmp_path / "out")])
    message = result.output.strip()
    assert result.exit_code == 1 and "\n" not in message and "pool_tokens" in message, message
    assert "whole number of tokens" in message and not (tmp_path / "out" / "runs").exists()


def test_every_arm_of_a_seed_starts_from_the_same_plan(runs, cache_dir):
    config = parse(SweepConfig, sweep_yaml(runs, cache_dir))
    from train.sweep.arms import expand
    from train.sweep.planning import _columns

    entries = plan(config, expand(config.arms, config.grids, _columns(config)))
    assert {e["seed"] for e in entries} == {1, 2, 3} and len(entries) == 12
    cfgs = [run_config(config, e, "tok", 1) for e in entries if e["seed"] == 2]
    assert {c.seed for c in cfgs} == {2}
    assert [s.shuffle_fraction for s in cfgs[3].mix.sources] == [0.5, 0, 0]
    assert [s.drop_fraction for s in cfgs[2].mix.sources] == [0.01, 0, 0]


def test_id_keys_are_md5_and_stable():
    # md5("a") = 0cc175b9c0f1b6a831c399e269772661; its first 8 bytes read little-endian
    assert int(id_keys(["a"])[0]) == int.from_bytes(bytes.fromhex("0cc175b9c0f1b6a8"), "little")
