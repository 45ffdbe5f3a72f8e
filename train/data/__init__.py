"""The data: tokenizer and token shards (tokenizer), documents selected by SQL (sources), and the sampler that gives
every arm of a seed the same documents in the same order (sampler)."""

import importlib

# The sampler's names load on first use: the sampler imports torch, and `train bom` and the sweep planner read
# sources (train.data.sources) without it.
_SAMPLER = ("MixtureSampler", "Prepared", "Shards", "prepare", "unigram_baseline")
__all__ = list(_SAMPLER)


def __getattr__(name: str):
    if name in _SAMPLER:
        return getattr(importlib.import_module("train.data.sampler"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
