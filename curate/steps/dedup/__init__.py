"""Deduplication: global steps that see every document of a run (exact: ``exact_dedup``; near: ``minhash/``)."""
