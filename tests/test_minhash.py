"""minhash_dedup_v1 and pipelines/dedup.yaml: exact, whitespace/Unicode-only, near copies above and below the
threshold, the keeper rule, cross-source copies, resume, and the memory plan, on real book text (samples/books)."""

from __future__ import annotations

import random
import unicodedata
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import curate_ok, run_rows

from curate.cli import main
from curate.signals.minhash import MinHasher, estimate_jaccard, jaccard, words
from curate.steps.dedup.minhash.cluster import band_pairs, components, keepers, unpack

ROOT = Path(__file__).resolve().parents[1]
BOOKS = ROOT / "samples" / "books"


def chunks(book: str, n: int, size: int = 300) -> list[str]:
    """``n`` consecutive ``size``-word passages of a real book (samples/books, public domain)."""
    w = (BOOKS / book).read_text().split()[2000:]  # past the title pages
    return [" ".join(w[i * size : (i + 1) * size]) for i in range(n)]


def edit(text: str, every: int, seed: int = 0) -> str:
    """Replace every ``every``-th word with a word from elsewhere in the text."""
    rng, w = random.Random(seed), text.split()
    return " ".join(rng.choice(w) + "x" if i % every == every // 2 else x for i, x in enumerate(w))


run, rows = curate_ok, run_rows  # the shared helpers of conftest, under this file's short names


def pipeline(tmp_path, docs: list[dict], steps: str, name: str = "p", source: str = "books") -> Path:
    import json

    data = tmp_path / f"{name}.jsonl"
    data.write_text("".join(json.dumps(d) + "\n" for d in docs))
    path = tmp_path / f"{name}.yaml"
    path.write_text(f"name: {name}\nsource: {source}\ninput: {{reader: jsonl_v1, paths: [{data}]}}\n"
                    f"steps: {steps}\noutput: {tmp_path / name}\nexecutor: {{type: local, tasks: 2, workers: 1}}\n")
    return path


# -- the signal ------------------------------------------------------------------------------------------------------
def test_words_fold_unicode_case_digits_and_punctuation():
    assert words("Ｔｈｅ  year 1984, ｗｅｌｌ-known!") == ["the", "year", "0000", "well", "known"]
    assert words("co\u00adoperate «naïve» 人人生而") == ["cooperate", "naïve", "人", "人", "生", "而"]
    assert words(unicodedata.normalize("NFD", "Café déjà vu")) == words("CAFÉ  déjà\nvu")


def test_sketch_estimates_the_true_jaccard_of_real_passages():
    hasher, rng, err = MinHasher(), random.Random(0), []
    for text in chunks("kjv_genesis_exodus.txt", 40):
        copy = edit(text, rng.choice([8, 15, 30, 60]), seed=rng.random())
        _, sketch, _ = hasher.signatures([text, copy])
        err.append(estimate_jaccard(sketch[:1], sketch[1:])[0] - jaccard(text, copy))
    # 112 positions: the standard error of one estimate is about 0.04; over 40 pairs the mean is within 0.02
    assert abs(np.mean(err)) < 0.02 and np.mean(np.abs(err)) < 0.06


def test_signatures_do_not_depend_on_batching(monkeypatch):
    from curate.signals import minhash

    texts = chunks("botchan.txt", 6) + ["too short", ""] + chunks("sonnets.txt", 1, size=5000)
    hasher = MinHasher()
    keys, sketch, counts = hasher.signatures(texts)
    assert counts.tolist() == [max(len(words(t)) - 4, 0) for t in texts] and counts[6] == counts[7] == 0
    alone = [hasher.signatures([t]) for t in texts]
    assert all((keys[i] == k[0]).all() and (sketch[i] == s[0]).all() for i, (k, s, _) in enumerate(alone))
    # texts longer than a hashing group are cut into pieces at spaces; long ones are permuted in blocks
    monkeypatch.setattr(minhash, "GROUP", 3000)
    monkeypatch.setattr(minhash, "BLOCK", 500)
    small_keys, small_sketch, _ = hasher.signatures(texts)
    assert (small_keys == keys).all() and (small_sketch == sketch).all()


# -- the array parts -------------------------------------------------------------------------------------------------
def test_components_match_a_reference_union_find():
    rng = np.random.default_rng(0)
    u, v = rng.integers(0, 3000, 2500), rng.integers(0, 3000, 2500)
    parent = list(range(3000))

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in zip(u.tolist(), v.tolist()):
        parent[max(find(a), find(b))] = min(find(a), find(b))
    assert components(u, v, 3000).tolist() == [find(x) for x in range(3000)]


def test_band_pairs_and_keeper_rule():
    keys = np.array([7, 3, 7, 9, 7, 3], dtype=np.uint64)
    u, v = unpack(band_pairs(keys, np.arange(6)))
    assert sorted(zip(u.tolist(), v.tolist())) == [(0, 2), (0, 4), (1, 5)]  # a star on each bucket's first
    label = np.array([0, 0, 0, 3, 3])
    # preferred source first, then the longest, then input order
    source_rank, chars = np.array([1, 0, 1, 1, 1]), np.array([9, 5, 9, 4, 4])
    assert keepers(label, source_rank, chars, np.arange(5)).tolist() == [1, 1, 1, 3, 3]
    assert keepers(label, np.zeros(5, int), np.array([5, 9, 9, 4, 4]), np.arange(5)).tolist() == [1, 1, 1, 3, 3]


# -- the step in a run -----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def dedup_run(tmp_path_factory):
    """One run of jsonl -> exact_dedup_v1 -> minhash_dedup_v1 over real passages and their copies."""
    tmp_path = tmp_path_factory.mktemp("dedup")
    base = chunks("macbeth.txt", 8) + chunks("areopagitica.txt", 4)
    docs = {f"p{i}": t for i, t in enumerate(base)} | {
        "exact": base[3],
        "spaces": "  " + base[4].replace(" ", "\n  ", 40),  # whitespace only
        "unicode": base[5].replace("fi", "\ufb01").upper(),  # the fi ligature (NFKC folds it) and case only
        "near": edit(base[0], 60),  # one word in 60 replaced
        "far": " ".join(base[1].split()[:210] + base[9].split()[:90]),  # 70% of a passage + 30% of another
        "longer": base[6] + " " + " ".join(base[7].split()[:12]),
        "tie": base[2].replace(" the ", " ham ", 1),  # one word changed, same length
        "short1": "Read more: page 2",  # fewer than 5 words: no shingle, never a near-duplicate
        "short2": "read more, page 3!",
    }
    assert jaccard(docs["p0"], docs["near"]) > 0.8 and 0.45 < jaccard(docs["p1"], docs["far"]) < 0.65  # premises
    assert len(docs["tie"]) == len(docs["p2"]) and jaccard(docs["tie"], docs["p2"]) > 0.9
    path = pipeline(tmp_path, [{"id": k, "text": v} for k, v in docs.items()], "[exact_dedup_v1, minhash_dedup_v1]")
    run(["run", str(path)])
    return tmp_path / "p", docs


def test_exact_whitespace_and_unicode_copies_are_exact_duplicates(dedup_run):
    out, _ = dedup_run
    assert rows(out, "SELECT id, step, duplicate_of FROM rejects WHERE reason = 'exact_duplicate' ORDER BY 1") == [
        ("exact", "exact_dedup_v1", "p3"), ("spaces", "exact_dedup_v1", "p4"), ("unicode", "exact_dedup_v1", "p5")]


def test_near_copies_are_removed_with_their_explanation(dedup_run):
    out, docs = dedup_run
    near_keeper = "near" if len(docs["near"]) > len(docs["p0"]) else "p0"  # the longer one
    removed = rows(out, "SELECT id, step, duplicate_of, dup_cluster, dup_cluster_size, dup_similarity "
                        "FROM rejects WHERE reason = 'near_duplicate' ORDER BY 1")
    assert [r[:5] for r in removed] == sorted([
        (({"near", "p0"} - {near_keeper}).pop(), "minhash_dedup_v1", near_keeper, near_keeper, 2),
        ("p6", "minhash_dedup_v1", "longer", "longer", 2),  # the longest text is kept
        ("tie", "minhash_dedup_v1", "p2", "p2", 2),  # same length: the first in input order is kept
    ])
    assert all(0.7 <= r[5] <= 1 for r in removed)  # estimated Jaccard with the kept document
    kept = rows(out, "SELECT id, dup_cluster, dup_cluster_size FROM docs WHERE dup_cluster IS NOT NULL ORDER BY 1")
    assert kept == sorted([(near_keeper, near_keeper, 2), ("longer", "longer", 2), ("p2", "p2", 2)])


def test_near_copy_below_threshold_and_short_texts_are_kept(dedup_run):
    out, docs = dedup_run
    kept = dict(rows(out, "SELECT id, dup_cluster_size FROM docs WHERE dup_cluster IS NULL"))
    assert {"far", "p1", "short1", "short2"} <= set(kept) and set(kept.values()) == {1}
    assert rows(out, "SELECT count(*) FROM docs") == [(len(docs) - 6,)]
    stats = dict(rows(out, "SELECT metric, sum(value) FROM stats WHERE step = 'minhash_dedup_v1' GROUP BY 1"))
    assert stats["no_shingles"] == 2 and stats["in"] == stats["kept"] + stats["dropped"] == len(docs) - 3


def test_minhash_after_exact_dedup_shares_its_split_and_decides_as_a_second_run_would(dedup_run, tmp_path):
    """One split for both dedup steps (the texts written to _work once, not twice): minhash_dedup_v1 then leaves
    out the copies exact_dedup_v1 removed, exactly as a second run over the first run's docs/ does. "spaces" is the
    test: an exact copy of p4 longer than it, which would otherwise be p4's near-duplicate keeper."""
    out, docs = dedup_run
    assert sorted(p.name for p in (out / "_work" / "logs").iterdir()) == [
        "exact_dedup_01", "finalize", "minhash_buckets_02", "minhash_clusters_02", "segment0", "segment1"]
    first = pipeline(tmp_path, [{"id": k, "text": v} for k, v in docs.items()], "[exact_dedup_v1]", name="first")
    run(["run", str(first)])
    second = tmp_path / "second.yaml"
    second.write_text(f"name: second\nsource: books\ninput: {{reader: parquet_v1, paths: ['{tmp_path / 'first'}/docs/*.parquet']}}\n"
                      f"steps: [minhash_dedup_v1]\noutput: {tmp_path / 'second'}\nexecutor: {{type: local, tasks: 2, workers: 1}}\n")
    run(["run", str(second)])
    query = "SELECT id, reason, duplicate_of FROM rejects ORDER BY 1"
    chained = rows(tmp_path / "first", query) + rows(tmp_path / "second", query)
    assert rows(out, query) == sorted(chained) and ("p4", "near_duplicate", "spaces") not in chained
    assert rows(out, "SELECT id, dup_cluster, dup_cluster_size FROM docs ORDER BY 1") == rows(
        tmp_path / "second", "SELECT id, dup_cluster, dup_cluster_size FROM docs ORDER BY 1")


def test_sharing_the_split_in_tag_mode_keeps_what_the_filtering_run_keeps(dedup_run, tmp_path):
    """In tag mode exact_dedup_v1 tags "spaces" (the longer exact copy of p4) after minhash_dedup_v1's signatures
    were taken: the cluster stage must still rank it as tagged, so p4, not the tagged copy, is the near-dedup keeper
    and the untagged documents are exactly the filtering run's."""
    out, docs = dedup_run
    path = pipeline(tmp_path, [{"id": k, "text": v} for k, v in docs.items()], "[exact_dedup_v1, minhash_dedup_v1]")
    run(["run", str(path), "--set", "mode=tag"])
    untagged = rows(tmp_path / "p", "SELECT id FROM docs WHERE exact_dup__reason IS NULL "
                                    "AND minhash_dedup__reason IS NULL ORDER BY 1")
    assert untagged == rows(out, "SELECT id FROM docs ORDER BY 1")
    assert rows(tmp_path / "p", "SELECT exact_dup__duplicate_of, minhash_dedup__duplicate_of FROM docs "
                                "WHERE id = 'spaces'") == [("p4", "p4")]


def test_a_redaction_step_after_the_dedups_keeps_their_splits_apart(tmp_path):
    """A redaction step later in the pipeline redacts the split's shards, so minhash_dedup_v1 must read its texts
    from a split of its own, after exact dedup's (as it judged them before the two shared one)."""
    from curate.compile import build_layout, build_stages
    from curate.config import load_pipeline

    docs = [{"id": f"m{i}", "text": t} for i, t in enumerate(chunks("macbeth.txt", 3))]
    spec = load_pipeline(pipeline(tmp_path, docs, "[exact_dedup_v1, minhash_dedup_v1, pii_redact_v1]"))
    assert [s.name for s in build_stages(spec, build_layout(spec))] == [
        "segment0", "exact_dedup_01", "segment1", "minhash_buckets_02", "minhash_clusters_02", "segment2", "finalize"]


# -- pipelines/dedup.yaml across sources, resume, memory plan ---------------------------------------------------------
def test_dedup_yaml_finds_a_web_page_that_copies_a_book(tmp_path):
    passages = chunks("hamlet.txt", 4)
    books = pipeline(tmp_path, [{"id": f"hamlet-{i}", "text": t} for i, t in enumerate(passages)], "[]", "books")
    nav = "Home | Shakespeare online | Read the full text of Hamlet free | Contact us | Privacy policy"
    web_docs = [{"id": "https://example.org/hamlet", "text": f"{nav}\n{passages[1]}\n{nav}"},  # longer: still a copy
                {"id": "https://example.org/act1", "text": passages[2]},
                {"id": "https://example.org/other", "text": chunks("botchan.txt", 1)[0]}]
    web = pipeline(tmp_path, web_docs, "[]", "web", source="web")
    run(["run", str(books)])
    run(["run", str(web)])
    out = tmp_path / "dedup"
    run(["run", str(ROOT / "pipelines" / "dedup.yaml"), "-i", str(tmp_path / "books" / "docs" / "*.parquet"),
         "-i", str(tmp_path / "web" / "docs" / "*.parquet"), "-o", str(out), "--set", "executor.workers=1"])
    assert sorted(rows(out, "SELECT id, source, step, reason, duplicate_of FROM rejects")) == [
        ("https://example.org/act1", "web", "exact_dedup_v1", "exact_duplicate", "hamlet-2"),
        ("https://example.org/hamlet", "web", "minhash_dedup_v1", "near_duplicate", "hamlet-1"),  # prefer books
    ]
    assert sorted(rows(out, "SELECT id, source, dup_cluster, dup_cluster_size FROM docs")) == [
        ("hamlet-0", "books", None, 1), ("hamlet-1", "books", "hamlet-1", 2), ("hamlet-2", "books", None, 1),
        ("hamlet-3", "books", None, 1), ("https://example.org/other", "web", None, 1)]


def test_killed_dedup_resumes_to_the_same_result(tmp_path):
    from curate.compile import build_executors, build_layout, build_stages
    from curate.config import load_pipeline
    from curate.manifest import start_run

    base = chunks("kjv_genesis_exodus.txt", 6)
    docs = [{"id": f"g{i}", "text": t} for i, t in enumerate(base)] + [{"id": "g0-copy", "text": edit(base[0], 40)}]
    path = pipeline(tmp_path, docs, "[exact_dedup_v1, minhash_dedup_v1]")
    run(["run", str(path), "-o", str(tmp_path / "whole")])
    expected = rows(tmp_path / "whole", "SELECT id, reason, duplicate_of FROM rejects ORDER BY 1")
    assert [r[1] for r in expected] == ["near_duplicate"]
    # the state a kill leaves: everything up to the bucket stage done, the cluster task killed mid-write
    spec = load_pipeline(path)
    layout = build_layout(spec)
    layout.root.mkdir(parents=True)
    start_run(layout, spec.resolved(), ["test"])
    executors = build_executors(spec, layout, build_stages(spec, layout))
    assert [e.logging_dir.path.split("/")[-1] for e in executors] == [
        "segment0", "exact_dedup_01", "minhash_buckets_02", "minhash_clusters_02", "segment1", "finalize"]
    executors[2].run()
    (layout.work / "minhash_02" / "clusters.parquet.tmp").write_bytes(b"PAR1 half written")
    run(["run", str(path)])
    assert rows(layout.root, "SELECT id, reason, duplicate_of FROM rejects ORDER BY 1") == expected
    assert not list(layout.root.rglob("*.tmp"))


def test_plan_over_max_memory_fails_before_bucketing_with_one_line(tmp_path):
    docs = [{"id": f"m{i}", "text": t} for i, t in enumerate(chunks("macbeth.txt", 3))]
    path = pipeline(tmp_path, docs, "[minhash_dedup_v1: {max_memory_gb: 0.001, on_over_memory: fail}]")
    result = CliRunner().invoke(main, ["run", str(path)])
    assert result.exit_code == 1
    assert result.output.strip().splitlines()[-1].startswith(
        "Error: minhash_dedup_v1: the bucket task for 3 documents is planned to need")
    assert not (tmp_path / "p" / "_work" / "minhash_01" / "pairs").exists()
    assert "Traceback" not in result.output  # the traceback is in the task's log file, not on the console


def test_every_dedup_stage_records_its_plan_and_its_peak(dedup_run):
    out, _ = dedup_run
    got = rows(out, "SELECT stage, max(value) FILTER (metric = 'planned_memory_gb'), "
                    "max(value) FILTER (metric = 'peak_rss_gb') FROM stats WHERE stage LIKE 'minhash%' GROUP BY 1")
    assert len(got) == 2 and all(planned > 0 and peak > 0 for _, planned, peak in got)
