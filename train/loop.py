"""The training loop: AdamW with warm-up and cosine decay, gradient clipping, per-source train and validation loss,
tokens seen per source, checkpoints a killed run resumes from exactly, metrics as Parquet.

`train_run(config, out_dir)` is the whole of it (a sweep calls it once per mixture). Under
`torchrun --nproc_per_node N` it trains data-parallel (gloo on CPU): each process takes its rows of the same
global batch and DistributedDataParallel averages the gradients, so the result matches one process.

Files in out_dir: config.yaml, tokenizer/tokenizer.model, ckpt.pt (latest), metrics.parquet
(step, split, source, loss, tokens), summary.json.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
import yaml

from train.bom import write_trained_on
from train.checkpoint import load_checkpoint, save_checkpoint, write_metrics
from train.config import TrainConfig
from train.data import MixtureSampler, Prepared, prepare, unigram_baseline
from train.errors import ConfigError, TrainError
from train.model import GPT

# Changing these does not change what a run computes, so a run may resume under new values.
RESUMABLE_KEYS = ("log_interval", "threads", "cache_dir")


def lr_at(config: TrainConfig, step: int) -> float:
    """Linear warm-up to lr, then cosine decay to min_lr at the last step."""
    steps, warmup = config.steps, int(config.warmup * config.steps)
    if step < warmup:
        return config.lr * (step + 1) / warmup
    progress = (step - warmup) / max(1, steps - warmup)
    return config.min_lr + 0.5 * (1 + math.cos(math.pi * min(1.0, progress))) * (config.lr - config.min_lr)


class Dist:
    """Rank and world size from torchrun's environment; one process when absent."""

    def __init__(self):
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        self.owned = self.world > 1 and not dist.is_initialized()
        if self.owned:
            dist.init_process_group("gloo")

    def sum_(self, tensor: torch.Tensor) -> torch.Tensor:
        if self.world > 1:
            dist.all_reduce(tensor)
        return tensor

    def share(self, fn):
        """Run fn on rank 0 and hand its result to every rank; if it fails, every rank fails (none waits forever)."""
        if self.world == 1:
            return fn()
        box = [None]
        if self.rank == 0:
            try:
                box = [("ok", fn())]
            except TrainError as e:
                box = [("error", e)]
            except BaseException as e:
                dist.broadcast_object_list([("error", TrainError(f"rank 0 failed: {e!r}"))], src=0)
                raise
        dist.broadcast_object_list(box, src=0)
        kind, value = box[0]
        if kind == "error":
            raise value
        return value

    def close(self):
        if self.owned:
            dist.destroy_process_group()


def train_run(config: TrainConfig, out_dir: str | Path, *, progress: bool = True) -> list[dict]:
    """Train on the mix, writing to out_dir; resume from out_dir/ckpt.pt if there is one. Returns the metric rows."""
    out = Path(out_dir)
    ddp = Dist()
    threads = torch.get_num_threads()
    try:
        log = _logger(progress and ddp.rank == 0)
        ddp.share(lambda: _check_out_dir(config, out))
        prepared = ddp.share(lambda: prepare(config))
        return _train(config, out, prepared, ddp, log)
    finally:
        torch.set_num_threads(threads)  # a sweep or a notebook calling us keeps its own setting
        ddp.close()


def _train(config: TrainConfig, out: Path, prepared: Prepared, ddp: Dist, log) -> list[dict]:
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    torch.set_num_threads(config.threads or max(1, cpus // ddp.world))
    per_rank, micro = _batch_split(config, ddp.world)
    model_cfg = dataclasses.replace(config.model, vocab_size=config.model.vocab_size or prepared.vocab_size)
    T, steps, names = model_cfg.block_size, config.steps, prepared.names
    shards = prepared.open(T)
    sampler = MixtureSampler(shards, T, config.batch_size, config.seed)
    model, optimizer = build(config, model_cfg)
    step, tokens_seen, rows = 0, np.zeros(len(names), dtype=np.int64), []
    if (out / "ckpt.pt").is_file():
        step, tokens_seen, rows = load_checkpoint(out / "ckpt.pt", model, optimizer)
        log(f"resumed from {out / 'ckpt.pt'} at step {step}/{steps}")
    elif ddp.rank == 0:
        rows = [_row(0, "unigram", n, unigram_baseline(s, model_cfg.vocab_size, T, config.eval_tokens), 0)
                for n, s in zip(names, shards)]
        _write_run_files(config, out, prepared)
    _log_start(log, config, model, shards, ddp.world, per_rank, micro)
    net = torch.nn.parallel.DistributedDataParallel(model) if ddp.world > 1 else model
    autocast = torch.autocast("cpu", dtype=torch.bfloat16, enabled=config.dtype == "bfloat16")
    meter = _Meter(step, steps, config.batch_size * T)
    while step < steps:
        lr = lr_at(config, step)
        train = train_step(net, optimizer, sampler, step, lr, config.grad_clip, per_rank, micro, ddp, autocast)
        tokens_seen += sampler.tokens_per_source(step)
        step += 1
        seen = dict(zip(names, tokens_seen.tolist()), all=int(tokens_seen.sum()))
        rows += [_row(step, "train", n, loss, seen[n]) for n, loss in train.items()]
        if step % config.log_interval == 0 or step == steps:
            per = " ".join(f"{n} {v:.3f}" for n, v in train.items() if n != "all")
            log(f"step {step}/{steps} | loss {train['all']:.4f} | lr {lr:.2e} | {meter(step)} | {per}")
        if (config.eval_interval and step % config.eval_interval == 0) or step == steps:
            val = evaluate(model, sampler, config.eval_tokens, micro, ddp, autocast)
            rows += [_row(step, "val", n, v, seen[n]) for n, v in zip(names, val)]
            log(f"val @ {step}: " + " ".join(f"{n} {v:.4f} ({seen[n] / 1e6:.2f}M tokens seen)"
                                             for n, v in zip(names, val)))
        if ddp.rank == 0 and (step == steps or config.checkpoint_interval and step % config.checkpoint_interval == 0):
            save_checkpoint(out / "ckpt.pt", model, optimizer, step, tokens_seen, rows, model_cfg, config)
            write_metrics(out / "metrics.parquet", rows)
    if ddp.rank == 0:
        _write_summary(out, config, prepared, model, rows, tokens_seen, meter.elapsed())
        write_trained_on(out, config, prepared, tokens_seen)  # trained_on.parquet, splits.json (train/bom.py)
    return rows


def build(config: TrainConfig, model_cfg) -> tuple[GPT, torch.optim.AdamW]:
    """The model, initialised from the seed, and AdamW with weight decay on matrices only (not on norm gains)."""
    torch.manual_seed(config.seed)
    model = GPT(model_cfg)
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": config.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return model, torch.optim.AdamW(groups, lr=config.lr, betas=(config.beta1, config.beta2))


def train_step(net, optimizer, sampler: MixtureSampler, step: int, lr: float, grad_clip: float, per_rank: int,
               micro: int, ddp: Dist, autocast) -> dict[str, float]:
    """One optimiser step on this process's rows of the global batch; returns the batch's mean loss, overall
    ("all") and per source present in it, summed over processes."""
    for group in optimizer.param_groups:
        group["lr"] = lr
    S = len(sampler.shards)
    stats = torch.zeros(2 * S, dtype=torch.float64)  # per source: sum of sequence losses, then sequence counts
    for m in range(per_rank // micro):
        start = ddp.rank * per_rank + m * micro
        x, y, src = sampler.batch(step, slice(start, start + micro))  # (b, T), (b, T), (b,)
        last = m == per_rank // micro - 1
        with contextlib.nullcontext() if last or ddp.world == 1 else net.no_sync():  # all-reduce once per step
            with autocast:
                _, token_loss = net(x, y, reduction="none")  # (b, T), float32
            seq_loss = token_loss.mean(dim=1)  # (b,)
            (seq_loss.mean() * micro / per_rank).backward()  # DDP averages the gradients over processes
        stats.index_add_(0, src, seq_loss.detach().double())
        stats.index_add_(0, src + S, torch.ones(len(src), dtype=torch.float64))
    if grad_clip:
        torch.nn.utils.clip_grad_norm_(net.parameters(), grad_clip)
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    sums, counts = ddp.sum_(stats)[:S], stats[S:]
    losses = {"all": float(sums.sum() / counts.sum())}
    return losses | {s.name: float(sums[i] / counts[i]) for i, s in enumerate(sampler.shards) if counts[i] > 0}


@torch.no_grad()
def evaluate(model: GPT, sampler: MixtureSampler, eval_tokens: int, micro: int, ddp: Dist, autocast) -> list[float]:
    """Mean next-token loss (nats) on each source's fixed validation windows; processes split the windows."""
    model.eval()
    losses = []
    for i in range(len(sampler.shards)):
        windows = torch.from_numpy(sampler.val_windows(i, eval_tokens))[ddp.rank :: ddp.world]  # (n, T + 1)
        total = torch.zeros(2, dtype=torch.float64)
        for j in range(0, len(windows), micro):
            w = windows[j : j + micro]
            with autocast:
                _, token_loss = model(w[:, :-1], w[:, 1:], reduction="none")  # (b, T)
            total += torch.tensor([token_loss.double().sum().item(), token_loss.numel()], dtype=torch.float64)
        ddp.sum_(total)
        losses.append(float(total[0] / total[1]))
    model.train()
    return losses


def _log_start(log, config: TrainConfig, model: GPT, shards, world: int, per_rank: int, micro: int) -> None:
    cfg, T = model.config, model.config.block_size
    log(f"model: {model.num_params() / 1e6:.2f}M parameters ({model.num_params():,}; n_layer={cfg.n_layer}, "
        f"n_head={cfg.n_head}, n_embd={cfg.n_embd}, vocab={cfg.vocab_size}, block_size={T})")
    log("data: " + ", ".join(f"{s.name} {len(s.train):,} train / {len(s.val):,} val tokens (weight {s.weight:.3f})"
                             for s in shards))
    log(f"plan: {config.steps} steps x {config.batch_size} sequences x {T} tokens = "
        f"{config.steps * config.batch_size * T:,} tokens on {world} process(es), {per_rank // micro} "
        f"micro-batch(es) of {micro}")


def _check_out_dir(config: TrainConfig, out: Path) -> None:
    """Refuse to resume a checkpoint written under a config that computes something else."""
    saved = out / "config.yaml"
    if not (out / "ckpt.pt").is_file() or not saved.is_file():
        return
    old, new = yaml.safe_load(saved.read_text()), config.to_dict()
    diff = [k for k in sorted(set(old) | set(new)) if k not in RESUMABLE_KEYS and old.get(k) != new.get(k)]
    if diff:
        raise TrainError(f"{out} holds a run with a different config ({', '.join(diff)} differ); "
                         "choose another -o or delete it")


def _write_run_files(config: TrainConfig, out: Path, prepared: Prepared) -> None:
    (out / "tokenizer").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(prepared.tokenizer_dir / "tokenizer.model", out / "tokenizer" / "tokenizer.model")
    (out / "config.yaml").write_text(yaml.safe_dump(config.to_dict(), sort_keys=False))


def _write_summary(out, config, prepared, model, rows, tokens_seen, seconds) -> None:
    last = {r["source"]: r["loss"] for r in rows if r["split"] == "val"}
    unigram = {r["source"]: r["loss"] for r in rows if r["split"] == "unigram"}
    summary = {"params": model.num_params(), "steps": config.steps, "seconds_this_session": round(seconds, 1),
               "tokens_seen": dict(zip(prepared.names, map(int, tokens_seen))), "val_loss": last,
               "unigram_loss": unigram}
    (out / "summary.json").write_text(json.dumps(summary, indent=2))


def _batch_split(config: TrainConfig, world: int) -> tuple[int, int]:
    """Sequences per process and per forward pass (the micro-batch)."""
    if config.batch_size % world:
        raise ConfigError("batch_size", f"{config.batch_size} does not split over {world} processes")
    per_rank = config.batch_size // world
    micro = min(config.micro_batch_size or per_rank, per_rank)
    if per_rank % micro:
        raise ConfigError("micro_batch_size", f"{micro} must divide the {per_rank} sequences per process")
    return per_rank, micro


def _row(step: int, split: str, source: str, loss: float, tokens: int) -> dict:
    """One metrics.parquet row: tokens = training tokens of `source` seen so far."""
    return {"step": step, "split": split, "source": source, "loss": loss, "tokens": tokens}


class _Meter:
    """Tokens/s over the last log interval, and the ETA at that rate."""

    def __init__(self, step: int, steps: int, tokens_per_step: int):
        self.start = self.last = time.time()
        self.step, self.steps, self.tokens_per_step = step, steps, tokens_per_step

    def __call__(self, step: int) -> str:
        now = time.time()
        rate = (step - self.step) * self.tokens_per_step / max(1e-9, now - self.last)
        self.step, self.last = step, now
        return f"{rate / 1e3:.1f}k tok/s | ETA {_hms((self.steps - step) * self.tokens_per_step / max(rate, 1e-9))}"

    def elapsed(self) -> float:
        return time.time() - self.start


def _logger(enabled: bool):
    def log(message: str) -> None:
        if enabled:
            print(message, file=sys.stderr, flush=True)

    return log


def _hms(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
