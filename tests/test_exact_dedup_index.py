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


def test_the_ascii_fast_path_hashes_exactly_the_normalised_text(web_pages):
    """text_hash normalises ASCII text with numpy instead of NFKC, case-folding and split/join: the same bytes, so the
    same hash, on every line-rich source file of this Python's library, the sample pages made ASCII, and every
    string of up to 5 characters drawn from a letter, a capital and every kind of ASCII white space."""
    import hashlib
    import itertools
    import sysconfig
    from pathlib import Path

    from curate.signals.dedup import _ascii_normalized, normalize_exact, text_hash

    lib = Path(sysconfig.get_paths()["stdlib"])
    texts = [p.read_text(errors="replace") for p in sorted(lib.glob("*.py"))[:120]]
    texts += [text.encode("ascii", "ignore").decode() for _, text, _ in web_pages]
    spaces = "".join(chr(c) for c in range(128) if chr(c).isspace())
    texts += ["".join(s) for n in range(6) for s in itertools.product("aB" + spaces, repeat=n) if n < 4 or s[0] in "a "]
    checked = 0
    for text in texts:
        if not text.isascii():
            continue
        expected = normalize_exact(text).encode()
        assert _ascii_normalized(text) == expected, repr(text[:80])
        assert text_hash(text) == int.from_bytes(hashlib.blake2b(expected, digest_size=8).digest(), "little",
                                                 signed=True)
        checked += 1
    assert checked > 10_000
