"""Readers: files -> documents (WARC/WET, JSONL, Parquet, plain-text books, code repositories). Each shards its
input files by ``(rank, world_size)`` and counts every skipped record and failed file."""
