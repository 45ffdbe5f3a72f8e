"""Typed trainer config: YAML -> TrainConfig. Every field is documented once, by the string under it.

Unknown keys, wrong types and bad values raise ConfigError naming the YAML key (`mix.sources[1].weight`),
before any data is read. `--set key=value` overrides are applied to the YAML before parsing.
"""

from __future__ import annotations

import dataclasses
import math
import os
import typing
from dataclasses import dataclass, field
from pathlib import Path

from train.errors import ConfigError
from train.yamlio import apply_override, config_reference, field_docs, parse, read_yaml

__all__ = ["SIZES", "MixtureConfig", "ModelConfig", "SourceConfig", "TokenizerConfig", "TrainConfig", "apply_override",
           "field_docs", "load_config", "parse", "reference"]

# Named model sizes. Parameter counts assume the default 8k vocabulary and tied embeddings; RegMix's 1M proxy
# (2 layers) is the smallest. Heads are 64 wide from 3m up, which keeps the matmuls efficient on CPU.
SIZES: dict[str, dict[str, int]] = {
    "test": {"n_layer": 2, "n_head": 4, "n_embd": 64, "block_size": 64},  # ~0.13M with a 400-token vocab: tests only
    "1m": {"n_layer": 2, "n_head": 3, "n_embd": 96, "block_size": 256},  # 1.0M
    "3m": {"n_layer": 4, "n_head": 3, "n_embd": 192, "block_size": 256},  # 3.3M
    "10m": {"n_layer": 6, "n_head": 5, "n_embd": 320, "block_size": 256},  # 10.2M
    "20m": {"n_layer": 8, "n_head": 7, "n_embd": 448, "block_size": 256},  # 23.2M
    "50m": {"n_layer": 12, "n_head": 9, "n_embd": 576, "block_size": 256},  # 52.5M
}


DEVICES = ("auto", "cpu", "cuda", "mps")


@dataclass
class ModelConfig:
    size: str = "1m"
    """Named size (test, 1m, 3m, 10m, 20m, 50m); sets n_layer, n_head, n_embd, block_size unless given explicitly."""
    n_layer: int = 0
    """Number of Transformer blocks; 0 = the named size's."""
    n_head: int = 0
    """Attention heads per block; n_embd must be a multiple of it; 0 = the named size's."""
    n_embd: int = 0
    """Width of the residual stream; 0 = the named size's."""
    block_size: int = 0
    """Context length in tokens (training window); 0 = the named size's."""
    vocab_size: int = 0
    """Vocabulary size; 0 takes it from the tokenizer (the usual case)."""
    ffn_hidden: int = 0
    """SwiGLU hidden width; 0 = 8/3 * n_embd rounded up to a multiple of 64 (Llama's rule)."""
    rope_theta: float = 10000.0
    """Base of the rotary position frequencies."""
    norm_eps: float = 1e-5
    """Epsilon of RMSNorm."""
    qk_norm: bool = False
    """RMSNorm each head's queries and keys before rotary (Qwen3's QK-norm): bounds the attention logits, the
    usual cause of a loss spike at high learning rates. Exported as Qwen3ForCausalLM (Llama without it)."""
    zero_init: bool = False
    """Zero-initialise the output projections (attention o_proj, MLP down_proj): every block starts as the
    identity (modded-nanogpt). False = GPT-2's normal(0, 0.02 / sqrt(2 * n_layer))."""
    mlp: str = "swiglu"
    """swiglu (Llama's gated SiLU MLP) or relu2 (down(relu(up(x))^2), the speedrun's; not exportable)."""
    logit_softcap: float = 0.0
    """Cap the logits softly at +-this (cap * tanh(logits / cap), Gemma 2); 0 = off (not exportable when on)."""
    tie_embeddings: bool = True
    """Share the token embedding with the output head (Press & Wolf 2017); False = a separate head."""

    def __post_init__(self):
        if self.size not in SIZES:
            raise ConfigError("size", f"unknown size {self.size!r}; choose one of {', '.join(SIZES)}")
        for key in ("n_layer", "n_head", "n_embd", "block_size"):
            if getattr(self, key) == 0:  # not given: the named size's (from Python as from YAML)
                setattr(self, key, SIZES[self.size][key])
            _positive(self, key)
        if self.n_embd % self.n_head or (self.n_embd // self.n_head) % 2:
            raise ConfigError("n_embd", f"{self.n_embd} must split into {self.n_head} heads of even width")
        if self.mlp not in ("swiglu", "relu2"):
            raise ConfigError("mlp", f"must be swiglu or relu2, got {self.mlp!r}")
        if self.logit_softcap < 0:
            raise ConfigError("logit_softcap", f"must be >= 0 (0 = off), got {self.logit_softcap}")
        if self.ffn_hidden == 0:  # relu2 has no gate: 4C keeps its weights equal to SwiGLU's 3 x 8C/3
            self.ffn_hidden = 4 * self.n_embd if self.mlp == "relu2" else -(-int(8 * self.n_embd / 3) // 64) * 64

    @property
    def head_dim(self) -> int:
        return self.n_embd // self.n_head

    @staticmethod
    def preset(data: dict) -> dict:
        """The YAML mapping with the named size's shape filled in under any explicitly given keys."""
        return {**SIZES.get(data.get("size", "1m"), {}), **data}


@dataclass
class TokenizerConfig:
    vocab_size: int = 8192
    """SentencePiece BPE vocabulary size (259 ids are taken by <unk>, <s>, </s> and the 256 byte-fallback pieces)."""
    sample_chars: int = 4_000_000
    """Characters of training text sampled from the mix (in proportion to the weights) to train the tokenizer."""
    dir: str | None = None
    """Use the tokenizer.model in this directory (e.g. another run's `tokenizer/`) instead of training one."""

    def __post_init__(self):
        if self.vocab_size < 300:
            raise ConfigError("vocab_size", f"must be at least 300 (259 ids are reserved), got {self.vocab_size}")
        if self.vocab_size > 65536:
            raise ConfigError("vocab_size", f"at most 65536 is supported (uint16 shards), got {self.vocab_size}")
        _positive(self, "sample_chars")


@dataclass
class SourceConfig:
    run: str
    """A curated run directory holding docs/*.parquet (columns id, text, source, url, lang, lang_score, ...)."""
    name: str = ""
    """Name of this source in logs and metrics; defaults to the run directory's name."""
    where: str | None = None
    """Optional SQL condition over the run's `docs` view, e.g. `lang = 'en' AND lang_score > 0.8`."""
    weight: float = 1.0
    """Sampling weight; weights are normalised over the mix. 0 = evaluated but never trained on."""
    train_where: str | None = None
    """Optional SQL condition over `docs` for TRAINING documents only, applied after the validation split (an arm's
    filter): the held-out documents are chosen by id hash among those `where` selects, whatever this says."""
    repeat_by: str | None = None
    """Optional numeric column: each training document is repeated round(value) times (at least 1, at most
    repeat_max), e.g. `exact_dup__copies` to rehydrate deduplicated documents (FineWeb-2's recipe)."""
    repeat_max: int = 4
    """Cap on repeat_by's repeats of one document."""
    eval_all: bool = False
    """Every selected document is validation (needs weight 0): an evaluation set no source trains on."""
    drop_fraction: float = 0.0
    """Negative control: drop this fraction of the training documents, chosen by a hash of (id, seed)."""
    drop_like: str | None = None
    """Negative control: drop random training documents (a hash of id and seed) until as many training tokens are
    gone as keeping only the documents that meet this SQL condition would remove (an arm's filter, by its size)."""
    shuffle_fraction: float = 0.0
    """Positive control: replace this fraction of the training documents (by a hash of the id) with copies whose
    words are in a random order: the same words, no order to learn."""
    drop_per_seed: bool = True
    """A negative control's random set: drawn anew at every seed (a hash of id and seed), or, when false, one set for
    every seed (a hash of the id alone), fixed as a filter's selection is."""
    pool_tokens: int = 0
    """Train on a fixed pool of this many of the source's training tokens (0 = all of them): its pieces in an order
    hashed from their ids alone until that many are in, the same for every seed and arm. Every arm's `train_where`
    and control act within the pool. Set it to what a run reads of the source and every seed reads the same pool
    whole (what varies is the order and the initial weights) instead of a different few percent of the source."""

    def __post_init__(self):
        if not self.name:
            self.name = Path(self.run).name
        if not 0 <= self.drop_fraction < 1:
            raise ConfigError("drop_fraction", f"must be at least 0 and below 1, got {self.drop_fraction}")
        if not 0 <= self.shuffle_fraction <= 1:
            raise ConfigError("shuffle_fraction", f"must be in (0, 1] (0 = off), got {self.shuffle_fraction}")
        if self.repeat_max < 1:
            raise ConfigError("repeat_max", f"must be >= 1, got {self.repeat_max}")
        if not isinstance(self.pool_tokens, int) or isinstance(self.pool_tokens, bool) or self.pool_tokens < 0:
            raise ConfigError("pool_tokens", f"must be a whole number of tokens >= 0 (0 = all), got {self.pool_tokens!r}")
        if self.eval_all and self.weight:
            raise ConfigError("eval_all", "an eval_all source is never trained on: give it weight 0")
        if self.weight < 0 or not math.isfinite(self.weight):
            raise ConfigError("weight", f"must be a finite number >= 0, got {self.weight}")


@dataclass
class MixtureConfig:
    sources: list[SourceConfig] = field(default_factory=list)
    """The sources of the mix, each a run directory with an optional `where` and a weight."""
    val_fraction: float = 0.02
    """Fraction of each source's documents held out for validation, chosen by a hash of the document id."""
    val_chunk_tokens: int = 2048
    """Sources of few documents (see val_chunk_below_docs) are held out by chunks of this many tokens (hash of the
    id and the chunk index) instead of whole documents, so one long book cannot be all or none of validation."""
    val_chunk_below_docs: int = 100
    """A run directory with fewer documents than this (counted before any `where`) is held out by chunks; 0 = never."""

    def __post_init__(self):
        if not self.sources:
            raise ConfigError("sources", "the mix needs at least one source")
        names = [s.name for s in self.sources]
        for i, name in enumerate(names):
            if name in names[:i]:
                raise ConfigError(f"sources[{i}].name", f"duplicate source name {name!r}; give each a `name`")
        if sum(s.weight for s in self.sources) <= 0:
            raise ConfigError("sources", "weights sum to zero; give at least one source a positive weight")
        if not 0 < self.val_fraction < 1:
            raise ConfigError("val_fraction", f"must be between 0 and 1, got {self.val_fraction}")
        if self.val_chunk_tokens < 64 or self.val_chunk_below_docs < 0:
            raise ConfigError("val_chunk_tokens", "must be >= 64 (and val_chunk_below_docs >= 0)")

    @property
    def weights(self) -> list[float]:
        total = sum(s.weight for s in self.sources)
        return [s.weight / total for s in self.sources]


@dataclass
class TrainConfig:
    mix: MixtureConfig
    """What to train on."""
    model: ModelConfig = field(default_factory=ModelConfig)
    """The Transformer's shape."""
    tokenizer: TokenizerConfig = field(default_factory=TokenizerConfig)
    """How to tokenize the mix."""
    tokens: int = 10_000_000
    """Token budget: training steps = tokens / (batch_size * block_size), rounded up."""
    batch_size: int = 32
    """Global batch in sequences per optimiser step, summed over all processes."""
    micro_batch_size: int = 0
    """Sequences per forward pass and process (gradient accumulation); 0 = the most whose logits fit 16 MiB."""
    optimizer: str = "adamw"
    """adamw (every parameter), or muon: Muon for the blocks' weight matrices (its update scaled to AdamW's RMS,
    so lr and weight_decay carry over) with AdamW for the embedding, an untied head and the norm gains."""
    lr: float = 1e-3
    """Peak learning rate of AdamW (and of Muon unless muon_lr is set), reached after warm-up."""
    muon_lr: float = 0.0
    """Peak learning rate of Muon; 0 = lr."""
    muon_momentum: float = 0.95
    """Muon's (Nesterov) momentum."""
    schedule: str = "cosine"
    """Decay after warm-up: cosine (to min_lr at the last step), wsd (warmup-stable-decay: flat at lr, then linear
    to min_lr over the last `cooldown` of the steps) or linear (from the peak straight down to min_lr)."""
    min_lr: float = 1e-4
    """Learning rate at the end of the decay."""
    cooldown: float = 0.4
    """schedule wsd: fraction of the steps spent in the final linear decay."""
    warmup: float = 0.05
    """Fraction of the steps spent in linear warm-up."""
    weight_decay: float = 0.1
    """Decoupled weight decay, applied to matrices only (not to norms)."""
    beta1: float = 0.9
    """AdamW beta1."""
    beta2: float = 0.95
    """AdamW beta2."""
    grad_clip: float = 1.0
    """Clip the global gradient norm to this; 0 = no clipping."""
    eval_interval: int = 200
    """Steps between per-source validation losses (always evaluated at the end); 0 = only at the end."""
    eval_tokens: int = 65536
    """Validation tokens per source (fewer if its held-out split is smaller); 0 = every held-out token. Scoring a
    large fixed set is what keeps the test-set sampling out of a comparison between runs."""
    ema: float = 0.0
    """Decay of an exponential moving average of the weights, updated every step; the final validation loss is
    the averaged model's (it smooths the last steps' noise out of a comparison). 0 = off; e.g. 0.99."""
    log_interval: int = 10
    """Steps between progress lines."""
    checkpoint_interval: int = 200
    """Steps between checkpoints (always written at the end); 0 = only at the end."""
    seed: int = 1337
    """Seeds the initial weights and the batch plan: batch = f(seed, step), so a resumed run repeats exactly."""
    dtype: str = "float32"
    """float32, bfloat16 (autocast: bf16 matmuls, fp32 weights and optimiser), or auto: bfloat16 on CUDA
    (where the GPU supports it), float32 elsewhere."""
    device: str = "auto"
    """auto (CUDA when present, else CPU), cpu, cuda or mps. Under torchrun each process takes cuda:LOCAL_RANK."""
    compile: bool | str = False
    """torch.compile the model: fuses the element-wise work (norms, rotary, SwiGLU, loss), 13-15% of an eager step
    at nanoGPT's CPU shape, after a one-off compilation: about 60 s with a cold inductor cache, about 4 s when an
    earlier run of the same shapes filled it (benches/README.md). auto: time three eager steps, then compile only
    when the remaining steps pay for the compilation (the log says which, and why)."""
    fused_adamw: bool = True
    """Use torch's fused AdamW kernel (one kernel for all parameters) where this torch has it for the device."""
    threads: int = 0
    """Torch threads per process; 0 = CPU cores / processes."""
    cache_dir: str = ""
    """Where tokenizers and token shards are cached by content; "" = $TRAIN_CACHE or ~/.cache/curate/train."""

    def __post_init__(self):
        for key in ("tokens", "batch_size", "log_interval"):
            _positive(self, key)
        if self.eval_tokens < 0:
            raise ConfigError("eval_tokens", f"must be >= 0 (0 = every held-out token), got {self.eval_tokens}")
        if not 0 <= self.ema < 1:
            raise ConfigError("ema", f"must be in [0, 1) (0 = off), got {self.ema}")
        for key in ("lr", "min_lr", "weight_decay", "grad_clip", "micro_batch_size", "eval_interval",
                    "checkpoint_interval", "threads"):
            if getattr(self, key) < 0:
                raise ConfigError(key, f"must be >= 0, got {getattr(self, key)}")
        if self.lr <= 0:
            raise ConfigError("lr", f"must be > 0, got {self.lr}")
        if not 0 <= self.warmup < 1:
            raise ConfigError("warmup", f"must be a fraction in [0, 1), got {self.warmup}")
        if self.optimizer not in ("adamw", "muon"):
            raise ConfigError("optimizer", f"must be adamw or muon, got {self.optimizer!r}")
        if self.schedule not in ("cosine", "wsd", "linear"):
            raise ConfigError("schedule", f"must be cosine, wsd or linear, got {self.schedule!r}")
        if not 0 < self.cooldown <= 1:
            raise ConfigError("cooldown", f"must be a fraction in (0, 1], got {self.cooldown}")
        if self.muon_lr < 0 or not 0 <= self.muon_momentum < 1:
            raise ConfigError("muon_lr", "muon_lr must be >= 0 and muon_momentum in [0, 1)")
        if self.compile not in (True, False, "auto"):
            raise ConfigError("compile", f"must be true, false or auto, got {self.compile!r}")
        if self.dtype not in ("float32", "bfloat16", "auto"):
            raise ConfigError("dtype", f"must be float32, bfloat16 or auto, got {self.dtype!r}")
        if self.device not in DEVICES:
            raise ConfigError("device", f"must be one of {', '.join(DEVICES)}, got {self.device!r}")
        if self.micro_batch_size and self.batch_size % self.micro_batch_size:
            raise ConfigError("micro_batch_size", f"{self.micro_batch_size} must divide batch_size {self.batch_size}")

    @property
    def steps(self) -> int:
        return -(-self.tokens // (self.batch_size * self.model.block_size))

    @property
    def cache_path(self) -> Path:
        return Path(self.cache_dir or os.environ.get("TRAIN_CACHE") or Path.home() / ".cache/curate/train")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def _positive(obj, key: str) -> None:
    if getattr(obj, key) <= 0:
        raise ConfigError(key, f"must be > 0, got {getattr(obj, key)}")


def load_config(path: str | Path, overrides: typing.Sequence[str] = ()) -> TrainConfig:
    """Read a YAML config, apply `key=value` overrides (dotted keys, `mix.sources.0.weight=2`), parse and check it."""
    raw = read_yaml(path, overrides, "config")
    return parse(TrainConfig, raw)


def reference() -> list[tuple[str, str]]:
    """(dotted key, doc) of every TrainConfig field: what `train run --help` lists."""
    return config_reference(TrainConfig)
