"""MinHash signatures of word n-gram shingles, vectorised with numpy (pure: texts in, arrays out).

The scheme is FineWeb's (datatrove ``MinhashConfig``: word 5-grams, 14 bands x 8 rows = 112 hashes; documents that
agree on all rows of at least one band are candidates; Broder 1997, Leskovec et al. "Mining of Massive Datasets"
ch. 3) with changes that make it several times faster and sharper:

* text is NFKC-normalised and case-folded; punctuation, symbols and separators (Unicode P*, S*, Z*) become
  spaces and decimal digits ``0`` (datatrove's ``simplify_text`` also folds numbers); words are what lies between
  spaces; Chinese and Japanese characters are one word each; diacritics are kept (datatrove strips them), so
  ``résumé`` and ``resume`` differ. No spaCy: it took 87% of datatrove's signature time (cProfile, one core,
  5,593 real web pages; ``curate.signals.text``).
* words are hashed from the UTF-8 bytes of a whole batch at once (a polynomial hash mod 2^64 from prefix sums), no
  Python string per word; a shingle's hash combines its words' hashes (``sum_j K_j * h(w_{i+j})`` mod 2^64, then
  the MurmurHash3 finaliser), so each word is hashed once, not n times;
* the 112 permutations are ``a * x + b mod 2^32`` (a odd) of the mixed 32-bit shingle hash: no modulo by a prime
  (datasketch 2's default ``affine32`` scheme is the same); one ``np.minimum.reduceat`` over a (112, shingles)
  block gives the minima of every document of the block.

Per document the step keeps the band keys (one 64-bit hash of each band's 8 minima) and a *sketch*: the low 8 bits
of each of the 112 minima (b-bit minwise hashing, Li & Koenig 2010). Two sketches agree on a position with
probability J + (1 - J) / 256, so :func:`estimate_jaccard` estimates the 5-gram Jaccard similarity of a candidate
pair from 112 bytes per document.
"""

from __future__ import annotations

import functools
import re
import unicodedata

import numpy as np

from curate.signals.dedup import fold_utf8, true_runs

_CJK = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")  # kana, CJK ideographs
_U64 = np.uint64
SKETCH_BITS = 8
GROUP = 1 << 20  # bytes of text hashed in one numpy pass (about 40 bytes of temporaries each)
# shingles per permutation block: (112, 16384) uint32 = 7 MB, which stays in the L3 cache while np.minimum.reduceat
# reads it back. 8,000 real Python files' signatures took 1.4 CPU s against 2.0 s with blocks of 65,536 (29 MB; 3
# interleaved runs each, AMD EPYC, 32 MB of L3 shared by 2 cores); 8,192 and 12,288 measured as 16,384 did.
BLOCK = 1 << 14
_SPACE = 32


@functools.cache
def _table() -> dict[int, str]:
    """Replacements for non-ASCII characters (planes 0-1): punctuation, symbols, separators, controls -> space;
    format characters (soft hyphen, zero-width joiner) -> nothing; decimal digits of any script -> '0'."""
    out = {}
    for cp in range(0x80, 0x20000):
        cat = unicodedata.category(chr(cp))
        if cat[0] in "PSZ" or cat == "Cc":
            out[cp] = " "
        elif cat == "Cf":
            out[cp] = ""
        elif cat == "Nd":
            out[cp] = "0"
    return out


@functools.cache
def _special() -> re.Pattern:
    """A pattern matching every BMP code point of ``_table`` (one class: re compiles it to a bitmap) or any
    character beyond the BMP (one range; looked up in the table when replaced): much faster than str.translate."""
    ranges: list[list[int]] = []
    for cp in sorted(c for c in _table() if c < 0x10000):
        if ranges and ranges[-1][1] == cp - 1:
            ranges[-1][1] = cp
        else:
            ranges.append([cp, cp])
    return re.compile("[" + "".join(f"\\u{a:04x}-\\u{b:04x}" for a, b in ranges) + "]|[\\U00010000-\\U0010ffff]")


# the same for ASCII bytes, as a bytes.translate table: a byte >= 128 is part of a non-ASCII letter and stays
_ASCII = bytes(
    _SPACE if chr(c).isspace() or unicodedata.category(chr(c))[0] in "PSC" else ord("0") if chr(c).isdigit() else c
    for c in range(128)
) + bytes(range(128, 256))


def prepare(text: str) -> bytes:
    """The text as shingling sees it: NFKC, case-folded, digits -> ``0``, every non-word character a space (UTF-8).
    Every step maps a character on its own, so the ASCII stretches of a text are mapped as bytes (``fold_utf8``)."""
    if text.isascii():
        return text.lower().encode("ascii").translate(_ASCII)
    folded = fold_utf8(text, _ASCII, _prepare_unicode, per_byte=1 / 64)
    return _prepare_unicode(text) if folded is None else folded


def _prepare_unicode(text: str) -> bytes:
    """:func:`prepare` of any text, character by character through ``str`` methods and regular expressions."""
    text = unicodedata.normalize("NFKC", text).casefold()
    if not text.isascii():
        table = _table()
        text = _special().sub(lambda m: table.get(ord(m.group()), m.group()), text)
        if _CJK.search(text):
            text = _CJK.sub(r" \g<0> ", text)
    return text.encode("utf-8", "replace").translate(_ASCII)


def words(text: str) -> list[str]:
    """The words shingles are made of (what :class:`MinHasher` hashes, as strings).

    >>> words("Ｔｈｅ  year 1984, ｗｅｌｌ-known! 人人生而")
    ['the', 'year', '0000', 'well', 'known', '人', '人', '生', '而']
    """
    return [w.decode("utf-8", "replace") for w in prepare(text).split()]


def fmix64(x: np.ndarray) -> np.ndarray:
    """MurmurHash3's 64-bit finaliser (a bijection that avalanches every input bit), in place on uint64."""
    s = _U64(33)
    x ^= x >> s
    x *= _U64(0xFF51AFD7ED558CCD)
    x ^= x >> s
    x *= _U64(0xC4CEB9FE1A85EC53)
    x ^= x >> s
    return x


def _pieces(data: bytes, size: int) -> list[bytes]:
    """``data`` cut at spaces into pieces of at most ``size`` bytes (only a word longer than that is cut)."""
    out, start = [], 0
    while len(data) - start > size:
        cut = data.rfind(b" ", start, start + size)
        cut = start + size if cut <= start else cut
        out.append(data[start:cut])
        start = cut
    out.append(data[start:])
    return out


class MinHasher:
    """Band keys and b-bit sketches for batches of texts. Same (ngram, bands, rows, seed) -> same keys everywhere."""

    def __init__(self, ngram: int = 5, bands: int = 14, rows: int = 8, seed: int = 1):
        self.ngram, self.bands, self.rows = ngram, bands, rows
        rng = np.random.default_rng(seed)
        n = bands * rows
        self.a = (rng.integers(0, 2**31, size=(n, 1), dtype=np.uint32) << np.uint32(1)) | np.uint32(1)  # odd
        self.b = rng.integers(0, 2**32, size=(n, 1), dtype=np.uint32)
        self.k = rng.integers(0, 2**63, size=ngram, dtype=np.uint64) * _U64(2) + _U64(1)  # word position weights
        self.kb = rng.integers(0, 2**63, size=rows, dtype=np.uint64) * _U64(2) + _U64(1)  # band row weights
        q = int(rng.integers(0, 2**63)) * 2 + 1  # polynomial base of the word hash; odd, so invertible mod 2^64
        self._q, self._qinv = q, pow(q, -1, 2**64)
        self._pw = self._pinv = np.ones(0, np.uint64)

    def _powers(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """q^i and q^-i mod 2^64 for i < n (cached)."""
        if len(self._pw) < n:
            m = max(n, 2 * len(self._pw), 1 << 16)
            self._pw = np.cumprod(np.full(m, self._q, np.uint64)) * _U64(self._qinv)
            self._pinv = np.cumprod(np.full(m, self._qinv, np.uint64)) * _U64(self._q)
        return self._pw[:n], self._pinv[:n]

    def _word_hashes(self, pieces: list[bytes]) -> tuple[np.ndarray, np.ndarray]:
        """(64-bit hash of every word, (W,) uint64; words per piece (len(pieces),) int64), pieces joined by a space.

        A word's hash is its polynomial sum(byte_j * q^j) mod 2^64, taken from prefix sums of byte_i * q^i and
        shifted back by q^-start, so a whole batch of text is hashed by a few numpy passes over its bytes.
        """
        arr = np.frombuffer(b" ".join(pieces), np.uint8)
        start, end = true_runs(arr != _SPACE)
        pw, pinv = self._powers(len(arr))
        prefix = np.zeros(len(arr) + 1, np.uint64)
        np.cumsum(arr * pw, out=prefix[1:])
        h = (prefix[end] - prefix[start]) * pinv[start] + (end - start).astype(np.uint64) * self.k[0]
        first_byte = np.cumsum([0] + [len(p) + 1 for p in pieces[:-1]])
        per_piece = np.bincount(np.searchsorted(first_byte, start, "right") - 1, minlength=len(pieces))
        return fmix64(h), per_piece

    def _shingles(self, h: np.ndarray, lens: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(32-bit hashes of the word n-grams of consecutive texts of ``lens`` words; shingles per text)."""
        n, total = self.ngram, len(h)
        counts = np.maximum(lens - n + 1, 0)
        if total < n:
            return np.empty(0, np.uint32), counts
        m = total - n + 1
        acc = h[:m] * self.k[0]
        for j in range(1, n):
            acc += h[j : j + m] * self.k[j]
        # a window is a shingle if it starts at least n-1 words before the end of its own text
        pos = np.arange(total) - np.repeat(np.cumsum(lens) - lens, lens)
        valid = (pos <= np.repeat(lens - n, lens))[:m]
        return fmix64(acc[valid]).astype(np.uint32), counts

    def minima(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """(the 112 minima of each text (D, bands*rows) uint32, shingles per text (D,)); no shingle -> all 0.

        Texts are hashed in groups of about GROUP bytes; a longer text alone, in pieces cut at spaces.
        """
        prepared = [prepare(t) for t in texts]
        out = np.zeros((len(texts), self.bands * self.rows), dtype=np.uint32)
        counts = np.zeros(len(texts), dtype=np.int64)
        for docs in _groups([len(p) for p in prepared], GROUP):
            if len(docs) == 1 and len(prepared[docs[0]]) > GROUP:
                parts = [self._word_hashes([p]) for p in _pieces(prepared[docs[0]], GROUP)]
                h, lens = np.concatenate([w for w, _ in parts]), np.array([sum(int(c[0]) for _, c in parts)])
            else:
                h, lens = self._word_hashes([prepared[i] for i in docs])
            x, c = self._shingles(h, lens)
            out[docs], counts[docs] = self._min(x, c), c
        return out, counts

    def _min(self, x: np.ndarray, counts: np.ndarray) -> np.ndarray:
        """Minima of the permuted shingles of each text (counts shingles each), in blocks of about BLOCK."""
        out = np.zeros((len(counts), self.bands * self.rows), dtype=np.uint32)
        ends = np.cumsum(counts)
        docs = np.flatnonzero(counts)
        i = 0
        while i < len(docs):
            lo = ends[docs[i]] - counts[docs[i]]
            j = max(i + 1, int(np.searchsorted(ends[docs], lo + BLOCK, "right")))
            hi = ends[docs[j - 1]]
            if j == i + 1 and hi - lo > BLOCK:  # one long text: running minimum over its chunks
                out[docs[i]] = functools.reduce(
                    np.minimum, (self._permute(x[s : min(s + BLOCK, hi)]).min(axis=1) for s in range(lo, hi, BLOCK))
                )
            else:
                offsets = ends[docs[i:j]] - counts[docs[i:j]] - lo
                out[docs[i:j]] = np.minimum.reduceat(self._permute(x[lo:hi]), offsets, axis=1).T
            i = j
        return out

    def _permute(self, x: np.ndarray) -> np.ndarray:
        perm = self.a * x[None, :]  # (112, S), wraps mod 2^32
        perm += self.b
        return perm

    def signatures(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(band keys (D, bands) uint64, sketches (D, bands*rows) uint8, shingles per text (D,) int64).

        A text with fewer than ``ngram`` words has no shingle: zero minima, count 0; the caller must leave it out
        of the buckets (datatrove skips such documents too).
        """
        minima, counts = self.minima(texts)
        return self.band_keys(minima), (minima & np.uint32(0xFF)).astype(np.uint8), counts

    def band_keys(self, minima: np.ndarray) -> np.ndarray:
        """One 64-bit key per band: a weighted sum of the band's minima, finalised (equal minima -> equal key)."""
        m = minima.reshape(len(minima), self.bands, self.rows).astype(np.uint64)
        return fmix64((m * self.kb).sum(axis=2, dtype=np.uint64))


def _groups(sizes: list[int], budget: int) -> list[list[int]]:
    """Consecutive indices grouped so that each group's sizes add up to at most ``budget`` (or one item)."""
    groups: list[list[int]] = [[]]
    total = 0
    for i, size in enumerate(sizes):
        if groups[-1] and total + size > budget:
            groups.append([])
            total = 0
        groups[-1].append(i)
        total += size + 1
    return [g for g in groups if g]


def estimate_jaccard(sketch_a: np.ndarray, sketch_b: np.ndarray) -> np.ndarray:
    """Jaccard estimates for row pairs of two (P, n) b-bit sketch arrays: agreement corrected for chance.

    With b bits a position agrees by chance with probability 2^-b, so E[agree] = J + (1 - J) 2^-b (Li & Koenig).
    """
    agree = (sketch_a == sketch_b).mean(axis=1)
    chance = 2.0**-SKETCH_BITS
    return np.clip((agree - chance) / (1 - chance), 0.0, 1.0)


def shingle_set(text: str, ngram: int = 5) -> set[tuple[str, ...]]:
    w = words(text)
    return {tuple(w[i : i + ngram]) for i in range(len(w) - ngram + 1)}


def jaccard(a: str, b: str, ngram: int = 5) -> float:
    """Exact Jaccard similarity of the word n-gram sets of two texts (what the estimates aim at)."""
    sa, sb = shingle_set(a, ngram), shingle_set(b, ngram)
    return len(sa & sb) / len(sa | sb) if sa or sb else 1.0
