"""exact_dedup_v1's index (which reads only hashes and sources, and ids only for keepers) decides as its documented
rule does: among documents with the same normalised text, the preferred source wins, then input order."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
from conftest import stdlib_docs

from curate.signals.dedup import text_hash
from curate.steps.dedup.exact_dedup import HASH, _Index


def by_the_rule(shards: list[list[dict]], prefer: list[str]) -> dict[tuple[int, int], tuple[str | None, int]]:
    """{(shard, row): (duplicate_of or None for the keeper, copies)} for every document that has a copy."""
    groups: dict[int, list] = {}
    for s, docs in enumerate(shards):
        for r, d in enumerate(docs):
            rank = prefer.index(d["source"]) if d["source"] in prefer else len(prefer)
            groups.setdefault(text_hash(d["text"]), []).append((rank, s, r, d["id"]))
    out = {}
    for members in groups.values():
        if len(members) > 1:
            keeper = min(members)
            for m in members:
                out[(m[1], m[2])] = (None if m == keeper else keeper[3], len(members))
    return out


def test_index_keeps_the_preferred_then_first_copy(tmp_path):
    texts = [d["text"] for d in stdlib_docs(6)]
    sources = ["web", "books", None, "code", "web", "books"]
    shards = [
        [{"id": f"s{s}-{r}", "text": texts[(3 * s + r) % 4] if r % 2 else texts[4 + s % 2].upper(),
          "source": sources[(s + r) % 6]} for r in range(7)]
        for s in range(3)
    ]  # fmt: skip
    for s, docs in enumerate(shards):
        table = pa.table({"id": [d["id"] for d in docs], "source": pa.array([d["source"] for d in docs], pa.string()),
                          HASH: [text_hash(d["text"]) for d in docs]})  # fmt: skip
        pq.write_table(table, tmp_path / f"{s:05d}.parquet", row_group_size=3)  # ids span several row groups
    _Index(str(tmp_path), str(tmp_path / "drops" / "d.parquet"), ["books", "code"]).run()
    got = {(r["shard"], r["row"]): (r["duplicate_of"], r["copies"])
           for r in pq.read_table(tmp_path / "drops" / "d.parquet").to_pylist()}  # fmt: skip
    expected = by_the_rule(shards, ["books", "code"])
    assert got == expected and sum(dup is not None for dup, _ in got.values()) >= 10


def test_the_fast_paths_hash_exactly_the_normalised_text(web_pages):
    """text_hash normalises ASCII text with numpy instead of NFKC, case-folding and split/join, and the ASCII
    stretches of other text as bytes: the same bytes, so the same hash, on every line-rich source file of this
    Python's library, the multilingual sample pages, both made ASCII, and every string of up to 5 characters drawn
    from a letter, a capital and every kind of ASCII white space."""
    import hashlib
    import itertools
    import sysconfig
    from pathlib import Path

    from curate.signals.dedup import normalize_exact, normalized_bytes, text_hash

    lib = Path(sysconfig.get_paths()["stdlib"])
    texts = [p.read_text(errors="replace") for p in sorted(lib.glob("*.py"))[:120]]
    texts += [text for _, text, _ in web_pages] + [text.encode("ascii", "ignore").decode() for _, text, _ in web_pages]
    spaces = "".join(chr(c) for c in range(128) if chr(c).isspace())
    texts += ["".join(s) for n in range(6) for s in itertools.product("aB" + spaces, repeat=n) if n < 4 or s[0] in "a "]
    checked = {True: 0, False: 0}
    for text in texts:
        expected = normalize_exact(text).encode()
        assert normalized_bytes(text) == expected, repr(text[:80])
        assert text_hash(text) == int.from_bytes(hashlib.blake2b(expected, digest_size=8).digest(), "little",
                                                 signed=True)
        checked[text.isascii()] += 1
    assert checked[True] > 10_000 and checked[False] > 100


# characters where normalising a stretch of text apart from the rest could go wrong: combining marks that compose
# with the ASCII letter before them, compatibility forms that become ASCII or white space (fullwidth, ligatures, the
# Kelvin sign, U+00A8 -> space + mark), case folds that grow (U+0130, sharp s), CJK, Hangul jamo, digits of other
# scripts, format characters, astral letters, a lone surrogate
TRICKY = ["a", "B", " ", "\t", "\n", "x", "9", "<", "e\u0301", "\u0301", "\u0308", "\u0338", "\u0345", "\u00a8",
          "\u00a0", "\u2028", "\u3000", "\ufb01", "\u212a", "\u0130", "\u00df", "\uff21", "\u03a3", "\u4e2d", "\u30a2",
          "\u1100", "\u1161", "\u11a8", "\u0663", "\u00bd", "\u2460", "\u200d", "\u00ad", "\u0e01", "\u05d0\u05b7",
          "\U0001d400", "\U0001f600", "\ud800"]


def test_normalising_by_ascii_stretches_equals_normalising_the_whole_text(web_pages, monkeypatch):
    """fold_utf8 (exact dedup's and MinHash's normalisation of non-ASCII text) gives what the whole-text path
    gives, on real multilingual pages and on 100,000 random strings of the characters where it could differ (made
    to take the stretch path however many stretches they have)."""
    import random

    from curate.signals import dedup, minhash
    from curate.signals.dedup import normalize_exact, normalized_bytes
    from curate.signals.minhash import _prepare_unicode, prepare

    fold = dedup.fold_utf8
    for module in (dedup, minhash):
        monkeypatch.setattr(module, "fold_utf8", lambda text, table, other, per_byte: fold(text, table, other, 1.0))
    rng = random.Random(0)
    texts = [text for _, text, _ in web_pages]
    texts += ["".join(rng.choice(TRICKY) for _ in range(rng.randint(1, 8))) for _ in range(100_000)]
    for text in (t for t in texts if not t.isascii()):
        assert prepare(text) == _prepare_unicode(text), repr(text[:80])
        if "\ud800" not in text:  # a lone surrogate cannot be encoded: text_hash raises on it, as it always did
            assert normalized_bytes(text) == normalize_exact(text).encode(), repr(text[:80])



def test_duplicate_rows_reads_each_shards_removed_rows(tmp_path):
    """What a dedup step sharing its split tells the next one: per shard, the rows sent to another document (those
    with a duplicate_of), from a decision file of several shards and row groups."""
    from curate.steps.dedup import duplicate_rows
    from curate.steps.dedup.exact_dedup import DROPS_SCHEMA

    rows = [(0, 1, "a"), (0, 4, None), (0, 7, "b"), (2, 0, "c"), (2, 3, None), (3, 5, None), (5, 2, "d"), (5, 9, "d")]
    table = pa.Table.from_pylist([{"shard": s, "row": r, "duplicate_of": d, "copies": 2} for s, r, d in rows],
                                 schema=DROPS_SCHEMA)
    pq.write_table(table, tmp_path / "drops.parquet", row_group_size=3)
    got = duplicate_rows(tmp_path / "drops.parquet")
    assert {s: r.tolist() for s, r in got.items()} == {0: [1, 7], 2: [0], 5: [2, 9]}
