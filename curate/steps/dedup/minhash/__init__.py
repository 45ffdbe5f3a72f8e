"""minhash_dedup_v1 as one package: the YAML step (``step``), its hidden stages (``stages``: signatures, buckets,
clusters), the intermediate files they exchange (``files``) and the pure array algebra (``cluster``). The MinHash
signature itself is a pure signal: ``curate.signals.minhash``."""
