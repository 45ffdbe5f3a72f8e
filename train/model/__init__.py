"""The model: a nanoGPT-clear decoder-only Transformer (gpt), export to transformers (export)."""

from train.model.gpt import GPT, KVCache, apply_rotary, rms_norm

__all__ = ["GPT", "KVCache", "apply_rotary", "rms_norm"]
