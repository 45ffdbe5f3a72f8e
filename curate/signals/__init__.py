"""Signals: pure functions from text to numbers, with no Document, no I/O and no thresholds.

Steps in ``curate.steps`` compute signals, store them as columns and compare them with thresholds from the config,
so a threshold can be re-tuned on the stored columns without recomputing anything (after Dolma's taggers/mixers).

* ``text``: fast, Unicode-aware tokens, words, lines, sentences
* ``gopher``: Gopher quality and repetition signals (Rae et al. 2021)
* ``c4``: C4's line rules (Raffel et al. 2020)
* ``fineweb``: FineWeb's quality signals (Penedo et al. 2024)

and the signals of the other families (books, code, dedup, encoding, identity, licenses, minhash, pii, secrets,
toxicity), each documented in its module.
"""
