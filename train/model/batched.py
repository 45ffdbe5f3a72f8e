"""Several runs of one sweep trained together in one process, so the per-step Python and framework overhead is paid
once for all of them: their weights are stacked along a leading model dimension K and every matmul is one batched
matmul (`bmm`) over it; attention folds K into its batch.

Runs train together when they differ only in seed and mixture weights (`compatible_key`): the same model shape,
batch, steps and schedule. Each run keeps its own initial weights (built from its seed exactly as `train_run`
builds them), its own batches (its own MixtureSampler), its own gradient clipping and AdamW moments, so its losses
equal those of the run trained alone up to float rounding (a batched matmul may sum in another order). Each run
directory gets the same files as `train_run` writes (config.yaml, tokenizer/, ckpt.pt in the single-run format,
metrics.parquet, summary.json): `train generate`, `train export` and a resumed single run read them unchanged.

The forward mirrors train/model/gpt.py line for line on stacked weights (K, ...); x is (K, B*T, C) between layers.
"""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from train.checkpoint import load_checkpoint, save_checkpoint, write_metrics
from train.config import TrainConfig
from train.data.sampler import MixtureSampler, Prepared, prepare, unigram_baseline
from train.files import cores, keep_freed_memory
from train.loop import (
    Meter,
    Pending,
    adamw,
    autocast_for,
    batch_split,
    build,
    check_out_dir,
    lr_at,
    metric_row,
    pick_device,
    write_run_files,
    write_summary,
)
from train.model.gpt import GPT, apply_rotary, rms_norm


def compatible_key(config: TrainConfig) -> str:
    """Runs with equal keys can train together: everything equal but the seed, the thread count and, when they
    share a tokenizer (`tokenizer.dir`, as a sweep's runs do), the weights (which otherwise shape the tokenizer)."""
    raw = config.to_dict()
    raw.pop("seed"), raw.pop("threads")
    if config.tokenizer.dir:
        for source in raw["mix"]["sources"]:
            source.pop("weight")
    return json.dumps(raw, sort_keys=True, default=str)


@dataclass
class _Run:
    """One run of the group: its config, directory, data and its own model/optimizer (for checkpoints)."""

    name: str
    config: TrainConfig
    out: Path
    log: object
    prepared: Prepared = None
    sampler: MixtureSampler = None
    model: GPT = None
    optimizer: torch.optim.AdamW = None
    step: int = 0
    tokens_seen: np.ndarray = None
    rows: list = field(default_factory=list)
    pending: Pending = None


def train_together(jobs: list[tuple[str, TrainConfig, Path]], log_for) -> None:
    """Train the compatible runs `jobs` ((name, config, run_dir), all at the same step) as one stacked model.
    `log_for(name)` gives the function that prints a run's progress lines."""
    cfg = jobs[0][1]
    device = pick_device(cfg.device)
    cpus = cores()
    keep_freed_memory()
    torch.set_num_threads(cfg.threads or cpus)
    runs = [_open(name, config, Path(out), log_for(name), device) for name, config, out in jobs]
    if len({r.step for r in runs}) > 1:
        raise ValueError("runs trained together must start at the same step; group them by step first")
    model_cfg = runs[0].model.config
    stack = _Stack([r.model for r in runs], [r.optimizer for r in runs], cfg)
    forward = _Compiled(log_for(jobs[0][0])) if _compile(cfg, len(runs), cfg.steps - runs[0].step) else _forward
    autocast = autocast_for(cfg, device)
    per_rank, micro = batch_split(cfg, 1, models=len(runs), vocab=model_cfg.vocab_size)
    T, steps, step = model_cfg.block_size, cfg.steps, runs[0].step
    meter = Meter(step, steps, cfg.batch_size * T * len(runs))
    for r in runs:
        _log_start(r, model_cfg, len(runs), device)
    while step < steps:
        lr = lr_at(cfg, step)
        t = time.perf_counter()
        stats = _train_step(stack, forward, runs, step, lr, cfg.grad_clip, per_rank, micro, autocast, model_cfg)
        step += 1
        for r, s in zip(runs, stats):
            r.tokens_seen += r.sampler.tokens_per_source(step - 1)
            r.step = step
            r.pending.add(step, s, r.tokens_seen)
        meter.train_seconds += time.perf_counter() - t
        last = step == steps
        if step % cfg.log_interval == 0 or last:
            rate = meter(step)
            for r in runs:
                train = r.pending.last_losses()
                per = " ".join(f"{n} {v:.3f}" for n, v in train.items() if n != "all")
                r.log(f"step {step}/{steps} | loss {train['all']:.4f} | lr {lr:.2e} | {rate} | {per}")
        if (cfg.eval_interval and step % cfg.eval_interval == 0) or last:
            _evaluate(stack, _forward, runs, cfg.eval_tokens, micro, autocast, model_cfg)  # eager: no recompile
        if last or cfg.checkpoint_interval and step % cfg.checkpoint_interval == 0:
            stack.unstack(lr)
            for r in runs:
                r.rows += r.pending.flush()
                save_checkpoint(r.out / "ckpt.pt", r.model, r.optimizer, step, r.tokens_seen, r.rows, model_cfg,
                                r.config)
                write_metrics(r.out / "metrics.parquet", r.rows)
    for r in runs:
        r.rows += r.pending.flush()
        write_summary(r.out, r.config, r.prepared, r.model, r.rows, r.tokens_seen, meter)


# Model-steps (runs x steps) from which a group compiles its forward and backward even without `compile: true`:
# at the 1m sweep shape on one core, compiled steps took 157 ms a model against 226 eager, after a one-off
# compilation of ~30 s (10 stacked runs, vocabulary 4096), so compiling pays from about 450 model-steps on.
AUTO_COMPILE_MODEL_STEPS = 1000


def _compile(config: TrainConfig, runs: int, steps: int) -> bool:
    return config.compile or runs * steps >= AUTO_COMPILE_MODEL_STEPS


class _Compiled:
    """torch.compile of the stacked forward; if compilation fails (no C++ compiler, an unsupported op), the group
    says so once and trains eagerly."""

    def __init__(self, log):
        self.fn, self.log, self.ok = torch.compile(_forward), log, None

    def __call__(self, *args):
        if self.ok is False:
            return _forward(*args)
        try:
            out = self.fn(*args)
        except Exception as e:  # noqa: BLE001 - any compiler failure: the eager forward computes the same
            self.ok = False
            self.log(f"note: torch.compile failed ({type(e).__name__}: {str(e).splitlines()[0][:200]}); "
                     "training without it")
            return _forward(*args)
        self.ok = True
        return out


def _open(name: str, config: TrainConfig, out: Path, log, device: torch.device) -> _Run:
    """What train_run does before its first step: checks, data, the seeded model and optimizer, or the checkpoint."""
    check_out_dir(config, out)
    run = _Run(name, config, out, log, prepared=prepare(config))
    model_cfg = dataclasses.replace(config.model, vocab_size=config.model.vocab_size or run.prepared.vocab_size)
    shards = run.prepared.open(model_cfg.block_size)
    run.sampler = MixtureSampler(shards, model_cfg.block_size, config.batch_size, config.seed, device=device)
    run.model, run.optimizer = build(config, model_cfg, device)
    run.tokens_seen = np.zeros(len(shards), dtype=np.int64)
    run.pending = Pending(run.prepared.names)
    if (out / "ckpt.pt").is_file():
        run.step, run.tokens_seen, run.rows, _ = load_checkpoint(out / "ckpt.pt", run.model, run.optimizer)
        log(f"resumed from {out / 'ckpt.pt'} at step {run.step}/{config.steps}")
    else:
        run.rows = [metric_row(0, "unigram", n, unigram_baseline(s, model_cfg.vocab_size, model_cfg.block_size,
                                                            config.eval_tokens), 0)
                    for n, s in zip(run.prepared.names, shards)]
        out.mkdir(parents=True, exist_ok=True)
        write_run_files(config, out, run.prepared)
    return run


class _Stack:
    """The K models' parameters stacked (K, ...) as leaves, with one AdamW over them (weight decay on matrices,
    as `build` does). `unstack` writes weights and moments back into each run's own model and optimizer."""

    def __init__(self, models: list[GPT], optimizers: list[torch.optim.AdamW], config: TrainConfig):
        self.models, self.optimizers = models, optimizers
        named = [dict(m.named_parameters()) for m in models]
        self.params = {n: torch.stack([p[n].detach() for p in named]).requires_grad_() for n in named[0]}
        decay = [p for p in self.params.values() if p.dim() >= 3]
        no_decay = [p for p in self.params.values() if p.dim() < 3]
        self.optimizer = adamw([{"params": decay, "weight_decay": config.weight_decay},
                                {"params": no_decay, "weight_decay": 0.0}], config)
        first = optimizers[0].state
        for n, p in self.params.items():  # resumed runs: their AdamW moments, stacked
            states = [o.state.get(nm[n]) for o, nm in zip(optimizers, named)]
            if states[0]:
                self.optimizer.state[p] = {"step": first[named[0][n]]["step"].clone()} | {
                    k: torch.stack([s[k] for s in states]) for k in ("exp_avg", "exp_avg_sq")}

    def clip_(self, max_norm: float) -> None:
        """Each model's global gradient norm clipped to max_norm, as clip_grad_norm_ does for one model."""
        grads = [p.grad for p in self.params.values()]
        norms = torch.stack([g.flatten(1).norm(dim=1) for g in grads], dim=1).norm(dim=1)  # (K,)
        coef = (max_norm / (norms + 1e-6)).clamp(max=1.0)
        for g in grads:
            g.mul_(coef.view(-1, *[1] * (g.dim() - 1)))

    @torch.no_grad()
    def unstack(self, lr: float) -> None:
        for k, (model, optimizer) in enumerate(zip(self.models, self.optimizers)):
            for n, p in model.named_parameters():
                p.copy_(self.params[n][k])
                state = self.optimizer.state.get(self.params[n])
                if state:
                    optimizer.state[p] = {"step": state["step"].clone(), "exp_avg": state["exp_avg"][k].clone(),
                                          "exp_avg_sq": state["exp_avg_sq"][k].clone()}
            for group in optimizer.param_groups:
                group["lr"] = lr


def _train_step(stack: _Stack, forward, runs: list[_Run], step: int, lr: float, grad_clip: float, per_rank: int,
                micro: int, autocast, model_cfg) -> list[torch.Tensor]:
    """One optimiser step of every model; per run the (2S,) loss sums and sequence counts per source."""
    for group in stack.optimizer.param_groups:
        group["lr"] = lr
    S = len(runs[0].sampler.shards)
    device = runs[0].sampler.device
    stats = torch.zeros(len(runs), 2 * S, dtype=torch.float64, device=device)
    for m in range(per_rank // micro):
        batches = [r.sampler.batch(step, slice(m * micro, (m + 1) * micro)) for r in runs]
        x, y, src = (torch.stack(t) for t in zip(*batches))  # (K, b, T), (K, b, T), (K, b)
        with autocast:
            token_loss = forward(stack.params, model_cfg, stack.models[0].rope_cos, stack.models[0].rope_sin, x, y)
        seq_loss = token_loss.mean(dim=2)  # (K, b)
        (seq_loss.mean(dim=1).sum() * micro / per_rank).backward()  # models are independent: each its own grads
        offsets = torch.arange(len(runs), device=device)[:, None] * 2 * S
        flat = stats.view(-1)
        flat.index_add_(0, (src + offsets).flatten(), seq_loss.detach().double().flatten())
        flat.index_add_(0, (src + S + offsets).flatten(), torch.ones(src.numel(), dtype=torch.float64, device=device))
    if grad_clip:
        stack.clip_(grad_clip)
    stack.optimizer.step()
    stack.optimizer.zero_grad(set_to_none=True)
    return list(stats)


@torch.no_grad()
def _evaluate(stack: _Stack, forward, runs: list[_Run], eval_tokens: int, micro: int, autocast, model_cfg) -> None:
    """Every model on the same fixed validation windows of each source (as loop.evaluate)."""
    sampler, K = runs[0].sampler, len(runs)
    totals = torch.zeros(K, len(sampler.shards), 2, dtype=torch.float64, device=sampler.device)
    for i in range(len(sampler.shards)):
        windows = torch.from_numpy(sampler.val_windows(i, eval_tokens)).to(sampler.device)  # (n, T + 1)
        for j in range(0, len(windows), micro):
            w = windows[j : j + micro].expand(K, -1, -1)
            with autocast:
                token_loss = forward(stack.params, model_cfg, stack.models[0].rope_cos, stack.models[0].rope_sin,
                                     w[..., :-1], w[..., 1:])
            totals[:, i, 0] += token_loss.double().flatten(1).sum(dim=1)
            totals[:, i, 1] += token_loss[0].numel()
    for r, total in zip(runs, totals):
        val = (total[:, 0] / total[:, 1]).tolist()
        r.rows += r.pending.flush()
        seen = dict(zip(r.prepared.names, r.tokens_seen.tolist()))
        r.rows += [metric_row(r.step, "val", n, v, seen[n]) for n, v in zip(r.prepared.names, val)]
        r.log(f"val @ {r.step}: " + " ".join(f"{n} {v:.4f} ({seen[n] / 1e6:.2f}M tokens seen)"
                                             for n, v in zip(r.prepared.names, val)))


def _forward(params: dict[str, torch.Tensor], cfg, rope_cos, rope_sin, idx, targets) -> torch.Tensor:
    """K models on their own batches: idx, targets (K, B, T) -> per-token loss (K, B, T). GPT.forward, stacked."""
    K, B, T = idx.shape
    C, H, V = cfg.n_embd, cfg.n_head, cfg.vocab_size
    D = C // H
    cos, sin = rope_cos[:T, None, None, :], rope_sin[:T, None, None, :]  # (T, 1, 1, D)
    emb = params["embed_tokens.weight"]  # (K, V, C), tied to the head
    offsets = torch.arange(K, device=idx.device).view(K, 1, 1) * V
    x = F.embedding(idx + offsets, emb.reshape(K * V, C)).view(K, B * T, C)  # each model its own table

    def linear(h, name):  # h (K, N, in) @ W^T, W (K, out, in)
        return torch.bmm(h, params[name].transpose(1, 2))

    for i in range(cfg.n_layer):
        p = f"layers.{i}."
        h = rms_norm(x, params[p + "input_layernorm.weight"][:, None, :], cfg.norm_eps)
        qkv = linear(h, p + "self_attn.qkv_proj.weight").view(K * B, T, 3, H, D)
        qk = apply_rotary(qkv[:, :, :2], cos, sin)
        q, k, v = qk[:, :, 0].transpose(1, 2), qk[:, :, 1].transpose(1, 2), qkv[:, :, 2].transpose(1, 2)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)  # (K*B, H, T, D)
        x = x + linear(y.transpose(1, 2).reshape(K, B * T, C), p + "self_attn.o_proj.weight")
        h = rms_norm(x, params[p + "post_attention_layernorm.weight"][:, None, :], cfg.norm_eps)
        gate, up = linear(h, p + "mlp.gate_up_proj.weight").chunk(2, dim=-1)
        x = x + linear(F.silu(gate) * up, p + "mlp.down_proj.weight")
    x = rms_norm(x, params["norm.weight"][:, None, :], cfg.norm_eps)
    logits = torch.bmm(x, emb.transpose(1, 2))  # (K, B*T, V)
    loss = F.cross_entropy(logits.float().reshape(K * B * T, V), targets.reshape(-1), reduction="none")
    return loss.view(K, B, T)


def _log_start(run: _Run, model_cfg, K: int, device) -> None:
    model, cfg = run.model, run.config
    run.log(f"model: {model.num_params() / 1e6:.2f}M parameters ({model.num_params():,}; n_layer={model_cfg.n_layer}, "
            f"n_head={model_cfg.n_head}, n_embd={model_cfg.n_embd}, vocab={model_cfg.vocab_size}, "
            f"block_size={model_cfg.block_size})")
    run.log(f"plan: {cfg.steps} steps x {cfg.batch_size} sequences x {model_cfg.block_size} tokens, trained together "
            f"with {K - 1} other run(s) of the sweep (stacked weights, batched matmuls), device {device}, "
            f"{torch.get_num_threads()} thread(s)")

