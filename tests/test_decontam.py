"""Benchmark decontamination on real text: Milton's Areopagitica and the KJV Genesis (samples/books, public domain)
split into "evaluation" and "training" parts, with planted overlaps that must be found and near-misses (up to 12
words in a row of a benchmark item, or the item with every 12th word changed) that must not match a 13-gram."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import ROOT, curate_ok, run_rows

from curate.cli import main
from curate.signals.decontam import build_index, ngram_hashes, overlaps
from curate.signals.minhash import words as minhash_words

BOOKS = ROOT / "samples" / "books"


def paragraphs(name: str, min_words: int = 40) -> list[str]:
    text = (BOOKS / name).read_text()
    paras = [" ".join(p.split()) for p in re.split(r"\n\s*\n", text)]
    return list(dict.fromkeys(p for p in paras if len(p.split()) >= min_words))


def near_misses(item: str, filler: list[str]) -> list[str]:
    """Texts close to ``item`` that share no 13-gram with it: 12-word runs with a word between them, and the item
    with every 12th word replaced (words as the index sees them: "1:2" is two words, "0 0")."""
    words = minhash_words(item)
    interleaved = []
    for i in range(0, len(words), 12):
        interleaved += words[i : i + 12] + [filler[(i // 12) % len(filler)]]
    replaced = [filler[i % len(filler)] if i % 12 == 11 else w for i, w in enumerate(words)]
    return [" ".join(interleaved), " ".join(replaced)]


@pytest.fixture(scope="module")
def split_data():
    milton, genesis = paragraphs("areopagitica.txt"), paragraphs("kjv_genesis_exodus.txt", 30)
    evaluation = {"milton_qa": milton[:20], "genesis_qa": genesis[:20]}
    training = milton[20:60] + genesis[20:60]
    return evaluation, training


def test_signals_find_overlap_and_ignore_case_punctuation_and_digits(split_data):
    evaluation, training = split_data
    item = evaluation["milton_qa"][3]
    index, tasks = build_index([ngram_hashes(t) for t in evaluation["milton_qa"]], [0] * 20)
    planted = training[0] + " " + " ".join(item.split()[:20]).upper().replace(",", " ;")
    counts, best = overlaps(index, tasks, [ngram_hashes(planted), ngram_hashes(training[0])], 1)
    assert counts.tolist() == [20 - 13 + 1, 0] and best.tolist() == [0, -1]
    assert ngram_hashes(" ".join(item.split()[:12])).size == 0  # fewer than 13 words: no n-gram


def _write_eval(tmp_path, evaluation) -> list[str]:
    # one task as JSONL (question + answer fields), one as Parquet: the formats benchmarks ship in
    import pyarrow as pa
    import pyarrow.parquet as pq

    jsonl = tmp_path / "milton_qa.jsonl"
    jsonl.write_text("".join(json.dumps({"question": t[: len(t) // 2], "answer": t[len(t) // 2 :], "id": i}) + "\n"
                             for i, t in enumerate(evaluation["milton_qa"])) + "{broken\n")
    parquet = tmp_path / "genesis_qa.parquet"
    pq.write_table(pa.table({"text": evaluation["genesis_qa"]}), parquet)
    return [str(jsonl), str(parquet)]


def test_index_and_step_drop_planted_overlaps_and_keep_near_misses(tmp_path, split_data):
    evaluation, training = split_data
    files = _write_eval(tmp_path, evaluation)
    out = curate_ok(["decontam", "index", *files, "-o", str(tmp_path / "index")]).output
    assert "milton_qa: 20 items" not in out and "milton_qa: 40 items" in out  # two fields per record
    assert "1 invalid JSON line(s) or non-record value(s) skipped" in out and "genesis_qa: 20 items" in out
    vocabulary = {w for items in evaluation.values() for t in items for w in minhash_words(t)}
    filler = [w for w in minhash_words(" ".join(training)) if w not in vocabulary]  # words no benchmark item has
    docs = [{"id": f"clean-{i}", "text": t} for i, t in enumerate(training)]
    for task, items in evaluation.items():
        for k in (2, 7):  # a benchmark item pasted into the middle of a real training document
            words = training[k].split()
            docs.append({"id": f"planted-{task}-{k}", "text": " ".join(words[:30] + [items[k]] + words[30:])})
        docs += [{"id": f"near-{task}-{j}", "text": t} for j, t in enumerate(near_misses(items[5], filler))]
    (tmp_path / "train.jsonl").write_text("".join(json.dumps(d) + "\n" for d in docs))
    (tmp_path / "p.yaml").write_text(f"""name: decontam
source: books
input: {{reader: jsonl_v1, paths: [{tmp_path / 'train.jsonl'}]}}
steps:
  - decontam_ngram_v1: {{index: {tmp_path / 'index'}}}
output: {tmp_path / 'run'}
""")
    curate_ok(["run", str(tmp_path / "p.yaml")])
    rejected = run_rows(tmp_path / "run", "SELECT id, reason, decont__task, decont__ngrams FROM rejects ORDER BY id")
    assert [(r[0], r[1], r[2]) for r in rejected] == [
        ("planted-genesis_qa-2", "contaminated", "genesis_qa"), ("planted-genesis_qa-7", "contaminated", "genesis_qa"),
        ("planted-milton_qa-2", "contaminated", "milton_qa"), ("planted-milton_qa-7", "contaminated", "milton_qa")]
    assert all(r[3] > 10 for r in rejected)
    kept = run_rows(tmp_path / "run", "SELECT count(*), max(decont__ngrams), count(decont__task) FROM docs")
    assert kept == [(len(training) + 4, 0, 0)]  # every clean document and every near-miss kept, untagged


def test_max_ngrams_null_only_records(tmp_path, split_data):
    evaluation, training = split_data
    (tmp_path / "eval.txt").write_text(evaluation["milton_qa"][0])
    curate_ok(["decontam", "index", str(tmp_path / "eval.txt"), "--task", "essay", "-n", "8", "-o",
               str(tmp_path / "ix")])
    from datatrove.data import Document

    from curate.io import RunLayout
    from curate.steps.filters.decontam_ngram import DecontamNgram

    step = DecontamNgram(DecontamNgram.Params(index=str(tmp_path / "ix"), max_ngrams=None),
                         RunLayout(tmp_path / "run"), "s", 1)
    docs = [Document(text=evaluation["milton_qa"][0], id="a"), Document(text=training[0], id="b")]
    kept = list(step.run(docs))
    assert [d.id for d in kept] == ["a", "b"]
    assert kept[0].metadata["decont__task"] == "essay" and kept[0].metadata["decont__ngrams"] == len(
        set(ngram_hashes(evaluation["milton_qa"][0], 8).tolist()))
    assert np.isclose(kept[1].metadata["decont__ngrams"], 0)


def test_bad_index_is_one_line_error(tmp_path):
    (tmp_path / "p.yaml").write_text(f"""name: d
source: books
input: {{reader: jsonl_v1, paths: [{BOOKS / 'books.jsonl'}]}}
steps:
  - decontam_ngram_v1: {{index: {tmp_path / 'nothing'}}}
output: {tmp_path / 'run'}
""")
    result = CliRunner().invoke(main, ["run", str(tmp_path / "p.yaml")])
    assert result.exit_code == 1 and "not a `curate decontam index` directory" in result.output
    assert "Traceback" not in result.output
