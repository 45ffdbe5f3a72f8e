"""A decoder-only Transformer language model in one file (nanoGPT-clear, Llama-shaped).

Pre-norm blocks x + attn(norm(x)), x + mlp(norm(x)) with RMSNorm; rotary positions (RoFormer, rotate-half layout);
multi-head causal self-attention softmax(QK^T / sqrt(d_k)) V through `scaled_dot_product_attention`; SwiGLU MLP
(Shazeer 2020); token embedding tied to the output head. Options (ModelConfig): QK-norm (Qwen3), zero-initialised
output projections, a ReLU^2 MLP, logit soft-capping, an untied head. Every weight maps one-to-one onto Hugging
Face's LlamaForCausalLM, or Qwen3ForCausalLM with QK-norm (see `hf_state_dict`), which is how `train export` works.

Shapes: B batch, T time (tokens), C n_embd, H n_head, D head_dim = C / H, V vocab_size.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from train.config import ModelConfig


class RMSNorm(nn.Module):
    """x / sqrt(mean(x^2) + eps) * weight over the last dimension, computed in float32 (as Llama does, so exported
    logits match)."""

    def __init__(self, dim: int, eps: float):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        return rms_norm(x, self.weight, self.eps)


def rms_norm(x, weight, eps: float):
    dtype = x.dtype
    x = x.float()
    x = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps)
    return weight * x.to(dtype)


def rotary_cos_sin(config: ModelConfig, T: int, device=None) -> tuple[torch.Tensor, torch.Tensor]:
    """cos and signed sin of the rotary angles t * theta^(-2i/D), each (T, D), halves repeated (Llama's layout);
    the sign is folded into sin's first half, so a rotation is x * cos + roll(x, D/2) * sin."""
    D = config.head_dim
    inv_freq = 1.0 / (config.rope_theta ** (torch.arange(0, D, 2, dtype=torch.float, device=device) / D))
    freqs = torch.arange(T, dtype=torch.float, device=device)[:, None] * inv_freq[None, :]  # (T, D/2)
    emb = torch.cat((freqs, freqs), dim=-1)  # (T, D)
    sin = emb.sin()
    sin[:, : D // 2] *= -1
    return emb.cos(), sin


def apply_rotary(x, cos, sin):
    """Rotate each pair (x_i, x_{i+D/2}) of x (..., T, ..., D) by the angle of its position: rotate-half as
    x * cos + cat(-x2, x1) * |sin|, with one roll instead of a chunk, a negation and a cat."""
    return x * cos + x.roll(x.shape[-1] // 2, dims=-1) * sin


class KVCache:
    """Keys and values of the tokens seen so far, per layer (B, H, t, D): generation then runs each new token
    through the model once, in time linear in the length, instead of re-reading the whole context each step."""

    def __init__(self, n_layer: int):
        self.layers: list[tuple[torch.Tensor, torch.Tensor] | None] = [None] * n_layer

    @property
    def length(self) -> int:
        return 0 if self.layers[0] is None else self.layers[0][0].shape[2]

    def extend(self, layer: int, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        old = self.layers[layer]
        if old is not None:
            k, v = torch.cat((old[0], k), dim=2), torch.cat((old[1], v), dim=2)
        self.layers[layer] = (k, v)
        return k, v


class CausalSelfAttention(nn.Module):
    """q, k and v come from one (3C, C) projection (one matmul instead of three; `hf_state_dict` splits it)."""

    def __init__(self, config: ModelConfig, layer: int = 0):
        super().__init__()
        C = config.n_embd
        self.n_head, self.layer = config.n_head, layer
        self.qkv_proj = nn.Linear(C, 3 * C, bias=False)
        self.o_proj = nn.Linear(C, C, bias=False)
        if config.qk_norm:  # one gain per head dimension, shared by the heads (Qwen3's q_norm / k_norm)
            self.q_norm = RMSNorm(config.head_dim, config.norm_eps)
            self.k_norm = RMSNorm(config.head_dim, config.norm_eps)

    def forward(self, x, cos, sin, cache: KVCache | None = None):
        B, T, C = x.shape
        H, D = self.n_head, C // self.n_head
        qkv = self.qkv_proj(x).view(B, T, 3, H, D)
        qk = qkv[:, :, :2]
        if hasattr(self, "q_norm"):  # normalised before rotary, as Qwen3
            qk = torch.stack((self.q_norm(qk[:, :, 0]), self.k_norm(qk[:, :, 1])), dim=2)
        qk = apply_rotary(qk, cos, sin)  # q and k rotated together: (B, T, 2, H, D)
        q, k = qk[:, :, 0].transpose(1, 2), qk[:, :, 1].transpose(1, 2)  # (B, H, T, D)
        v = qkv[:, :, 2].transpose(1, 2)  # (B, H, T, D)
        if cache is not None:
            k, v = cache.extend(self.layer, k, v)  # (B, H, past + T, D)
            past = k.shape[2] - T
            if past:  # new queries see every cached key and the new keys up to themselves
                mask = torch.ones(T, past + T, dtype=torch.bool, device=x.device).tril(past)
                y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
                return self.o_proj(y.transpose(1, 2).reshape(B, T, C))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)  # softmax(q k^T / sqrt(D)) v: (B, H, T, D)
        y = y.transpose(1, 2).reshape(B, T, C)  # (B, T, C)
        return self.o_proj(y)


class MLP(nn.Module):
    """SwiGLU: down(silu(gate(x)) * up(x)), gate and up as one (2F, C) projection; or ReLU^2: down(relu(up(x))^2)
    (So et al. 2021, Primer; the modded-nanogpt speedrun's)."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.relu2 = config.mlp == "relu2"
        if self.relu2:
            self.up_proj = nn.Linear(config.n_embd, config.ffn_hidden, bias=False)
        else:
            self.gate_up_proj = nn.Linear(config.n_embd, 2 * config.ffn_hidden, bias=False)
        self.down_proj = nn.Linear(config.ffn_hidden, config.n_embd, bias=False)

    def forward(self, x):
        if self.relu2:
            return self.down_proj(F.relu(self.up_proj(x)).square())
        gate, up = self.gate_up_proj(x).chunk(2, dim=-1)
        return self.down_proj(F.silu(gate) * up)


class Block(nn.Module):
    def __init__(self, config: ModelConfig, layer: int = 0):
        super().__init__()
        self.input_layernorm = RMSNorm(config.n_embd, config.norm_eps)
        self.self_attn = CausalSelfAttention(config, layer)
        self.post_attention_layernorm = RMSNorm(config.n_embd, config.norm_eps)
        self.mlp = MLP(config)

    def forward(self, x, cos, sin, cache: KVCache | None = None):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin, cache)
        x = x + self.mlp(self.post_attention_layernorm(x))
        return x


class GPT(nn.Module):
    def __init__(self, config: ModelConfig):
        super().__init__()
        assert config.vocab_size > 0, "set config.vocab_size from the tokenizer"
        self.config = config
        self.embed_tokens = nn.Embedding(config.vocab_size, config.n_embd)
        self.layers = nn.ModuleList(Block(config, i) for i in range(config.n_layer))
        self.norm = RMSNorm(config.n_embd, config.norm_eps)
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        if config.tie_embeddings:
            self.lm_head.weight = self.embed_tokens.weight  # tied (Press & Wolf 2017)
        cos, sin = rotary_cos_sin(config, config.block_size)
        self.register_buffer("rope_cos", cos, persistent=False)
        self.register_buffer("rope_sin", sin, persistent=False)
        self.apply(self._init_weights)
        self.register_load_state_dict_pre_hook(_fuse_unfused)
        for name, p in self.named_parameters():  # GPT-2: scale the residual projections by 1/sqrt(2 * n_layer)
            if name.endswith(("o_proj.weight", "down_proj.weight")):
                if config.zero_init:  # each block starts as the identity (modded-nanogpt)
                    nn.init.zeros_(p)
                else:
                    nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * config.n_layer))

    @staticmethod
    def _init_weights(module):
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def num_params(self) -> int:
        """Parameters, the tied embedding counted once."""
        return sum(p.numel() for p in self.parameters())

    def flops_per_token(self, T: int | None = None) -> int:
        """Training FLOPs per token: 6N (forward + backward of every weight, the tied head included) plus attention
        scores and mixing 6 * 2 * n_layer * T * C (PaLM, Chowdhery et al. 2022, appendix B)."""
        cfg = self.config
        T = T or cfg.block_size
        lookup = 0 if cfg.tie_embeddings else self.embed_tokens.weight.numel()  # an untied embedding is no matmul
        return 6 * (self.num_params() - lookup) + 12 * cfg.n_layer * T * cfg.n_embd

    def forward(self, idx, targets=None, reduction: str = "mean", cache: KVCache | None = None):
        """idx (B, T) token ids -> logits (B, T, V); with targets (B, T) also the cross-entropy loss
        (a scalar, or per token (B, T) with reduction="none"). With a cache, idx continues the cached tokens."""
        B, T = idx.shape
        past = cache.length if cache is not None else 0
        assert past + T <= self.config.block_size, (
            f"sequence of {past + T} tokens exceeds block_size {self.config.block_size}")
        cos = self.rope_cos[past : past + T, None, None, :]  # (T, 1, 1, D): broadcasts over (B, T, 2, H, D)
        sin = self.rope_sin[past : past + T, None, None, :]
        x = self.embed_tokens(idx)  # (B, T, C)
        for block in self.layers:
            x = block(x, cos, sin, cache)
        x = self.norm(x)
        logits = self.lm_head(x)  # (B, T, V)
        if self.config.logit_softcap:  # cap * tanh(logits / cap): bounded logits (Gemma 2)
            cap = self.config.logit_softcap
            logits = cap * torch.tanh(logits.float() / cap)
        if targets is None:
            return logits, None
        loss = F.cross_entropy(logits.float().reshape(B * T, -1), targets.reshape(B * T), reduction=reduction)
        return logits, loss.view(B, T) if reduction == "none" else loss

    @torch.no_grad()
    def generate(self, idx, max_new_tokens: int, temperature: float = 1.0, top_k: int | None = None,
                 generator: torch.Generator | None = None, stop_id: int | None = None, use_cache: bool = True):
        """Extend idx (B, T) by sampling; temperature 0 is greedy. The model reads the tokens from `start` on; when
        they outgrow block_size, `start` jumps so the newest block_size / 2 remain. With use_cache (the default)
        each new token runs through the model once (keys and values of the others are cached); after a jump the
        kept half is read again. Without it the whole window is recomputed every token: same tokens, slower."""
        start, cache = 0, None
        for _ in range(max_new_tokens):
            if idx.shape[1] - start > self.config.block_size:
                start, cache = idx.shape[1] - self.config.block_size // 2, None
            if not use_cache:
                logits, _ = self(idx[:, start:])
            elif cache is None:
                cache = KVCache(self.config.n_layer)
                logits, _ = self(idx[:, start:], cache=cache)
            else:
                logits, _ = self(idx[:, -1:], cache=cache)
            logits = logits[:, -1, :]  # (B, V)
            if temperature == 0:
                nxt = logits.argmax(-1, keepdim=True)  # (B, 1)
            else:
                logits = logits / temperature
                if top_k:
                    kth = torch.topk(logits, min(top_k, logits.size(-1))).values[:, -1:]
                    logits = logits.masked_fill(logits < kth, float("-inf"))
                nxt = torch.multinomial(F.softmax(logits, dim=-1), 1, generator=generator)  # (B, 1)
            idx = torch.cat((idx, nxt), dim=1)
            if stop_id is not None and (nxt == stop_id).all():
                break
        return idx

    def hf_state_dict(self) -> dict[str, torch.Tensor]:
        """Weights under LlamaForCausalLM's (Qwen3ForCausalLM's) names: this model's names are theirs minus the
        `model.` prefix, with the fused projections split into q/k/v and gate/up."""
        out = {}
        for name, tensor in self.state_dict().items():
            for old, new in _FUSED.items():
                if name.endswith(f"{new}.weight"):
                    prefix = name[: -len(f"{new}.weight")]
                    for part, piece in zip(old, tensor.chunk(len(old), dim=0)):
                        out[f"model.{prefix}{part}.weight"] = piece.contiguous()
                    break
            else:
                out[name if name == "lm_head.weight" else f"model.{name}"] = tensor
        return out


_FUSED = {("q_proj", "k_proj", "v_proj"): "qkv_proj", ("gate_proj", "up_proj"): "gate_up_proj"}


def _fuse_unfused(module, state_dict, prefix, *args) -> None:
    """load_state_dict pre-hook: checkpoints written before the projections were fused load unchanged."""
    for old, new in _FUSED.items():
        for key in [k for k in state_dict if k.startswith(prefix) and k.endswith(f".{old[0]}.weight")]:
            stem = key[: -len(f"{old[0]}.weight")]
            state_dict[f"{stem}{new}.weight"] = torch.cat([state_dict.pop(f"{stem}{o}.weight") for o in old])
