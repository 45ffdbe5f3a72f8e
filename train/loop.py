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
import signal
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
import yaml

from train.bom import write_trained_on
from train.checkpoint import load_checkpoint, load_extra, save_checkpoint, write_metrics
from train.config import TrainConfig
from train.data.sampler import MixtureSampler, Prepared, prepare, unigram_baseline
from train.data.tokenizer import bytes_per_piece
from train.errors import ConfigError, TrainError
from train.files import cores, keep_freed_memory
from train.model.gpt import GPT
from train.optim import build, lr_at, set_lr

# Changing these does not change what a run computes (beyond float rounding), so a run may resume under new values.
RESUMABLE_KEYS = ("log_interval", "threads", "cache_dir", "device", "compile", "fused_adamw")


class Dist:
    """Rank and world size from torchrun's environment (one process when absent), the process group (NCCL on
    CUDA, gloo otherwise) and this process's device."""

    def __init__(self, device: torch.device):
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        self.device = device
        self.owned = self.world > 1 and not dist.is_initialized()
        if self.owned:
            dist.init_process_group(backend_for(device))

    def sum_(self, tensor: torch.Tensor) -> torch.Tensor:
        if self.world > 1:
            dist.all_reduce(tensor)
        return tensor

    def close(self):
        if self.owned:
            dist.destroy_process_group()


KILL_AT_STEP = "TRAIN_KILL_AT_STEP"  # tests: the process SIGKILLs itself after this step, at a known point


def train_run(config: TrainConfig, out_dir: str | Path, *, progress: bool = True) -> list[dict]:
    """Train on the mix, writing to out_dir; resume from out_dir/ckpt.pt if there is one. Returns the metric rows.
    Every check and all tokenizer and shard preparation happen before the process group starts (under torchrun the
    processes take turns on the cache: the first builds, the others reuse), so no process waits in a collective
    while another tokenizes a large corpus."""
    out = Path(out_dir)
    rank = int(os.environ.get("RANK", "0"))
    threads = torch.get_num_threads()
    log = _logger(progress and rank == 0)
    device = pick_device(config.device, int(os.environ.get("LOCAL_RANK", "0")))
    check_out_dir(config, out)
    prepared = _prepare_in_turn(config)
    ddp = Dist(device)
    try:
        return _train(config, out, prepared, ddp, log)
    finally:
        torch.set_num_threads(threads)  # a sweep or a notebook calling us keeps its own setting
        ddp.close()


def pick_device(name: str, local_rank: int = 0) -> torch.device:
    """`auto` is CUDA when torch sees a GPU, else CPU; under torchrun each process takes cuda:LOCAL_RANK."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError("device", "cuda was asked for, but torch sees no CUDA GPU (use auto or cpu)")
        return torch.device("cuda", local_rank % torch.cuda.device_count())
    if name == "mps" and not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
        raise ConfigError("device", "mps was asked for, but this torch has no MPS backend here (use auto or cpu)")
    return torch.device(name)


def backend_for(device: torch.device) -> str:
    return "nccl" if device.type == "cuda" else "gloo"


def amp_dtype(config: TrainConfig, device: torch.device) -> torch.dtype | None:
    """bfloat16 when dtype is bfloat16, or auto on a CUDA GPU that supports it; None = plain float32."""
    if config.dtype == "auto":
        return torch.bfloat16 if device.type == "cuda" and torch.cuda.is_bf16_supported() else None
    return torch.bfloat16 if config.dtype == "bfloat16" else None


def autocast_for(config: TrainConfig, device: torch.device):
    """Autocast to amp_dtype on the device (bf16 matmuls, fp32 weights and optimiser), or a no-op context."""
    dtype = amp_dtype(config, device)
    return torch.autocast(device.type, dtype=dtype or torch.bfloat16, enabled=dtype is not None)


def _prepare_in_turn(config: TrainConfig) -> Prepared:
    """prepare(), one process at a time when torchrun started several (a file lock in the cache directory)."""
    if int(os.environ.get("WORLD_SIZE", "1")) == 1:
        return prepare(config)
    import fcntl

    config.cache_path.mkdir(parents=True, exist_ok=True)
    with open(config.cache_path / ".prepare.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            return prepare(config)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _train(config: TrainConfig, out: Path, prepared: Prepared, ddp: Dist, log) -> list[dict]:
    cpus = cores()
    keep_freed_memory()
    torch.set_num_threads(config.threads or max(1, cpus // ddp.world))
    model_cfg = dataclasses.replace(config.model, vocab_size=config.model.vocab_size or prepared.vocab_size)
    per_rank, micro = batch_split(config, ddp.world, vocab=model_cfg.vocab_size)
    T, steps, names = model_cfg.block_size, config.steps, prepared.names
    shards = prepared.open(T)
    sampler = MixtureSampler(shards, T, config.batch_size, config.seed, device=ddp.device)
    model, optimizer = build(config, model_cfg, ddp.device)
    average = Averaged(model, config.ema) if config.ema else None
    autocast = autocast_for(config, ddp.device)
    scorer = Scorer(sampler, bytes_per_piece(prepared.tokenizer_dir), config.eval_tokens, micro, ddp, autocast)
    step, tokens_seen, rows = 0, np.zeros(len(names), dtype=np.int64), []
    if (out / "ckpt.pt").is_file():
        step, tokens_seen, rows, saved_threads = load_checkpoint(out / "ckpt.pt", model, optimizer)
        if average is not None:
            average.load(load_extra(out / "ckpt.pt").get("ema"), model)
        log(f"resumed from {out / 'ckpt.pt'} at step {step}/{steps}")
        if saved_threads and saved_threads != torch.get_num_threads():
            log(f"note: the checkpoint was written with {saved_threads} torch thread(s), this process has "
                f"{torch.get_num_threads()}: float sums run in another order, so losses may differ from an "
                "uninterrupted run in the last digits")
    elif ddp.rank == 0:
        rows = [metric_row(0, "unigram", n, unigram_baseline(s, model_cfg.vocab_size, T, config.eval_tokens), 0)
                for n, s in zip(names, shards)]
        write_run_files(config, out, prepared)
    _log_start(log, config, model, shards, ddp, per_rank, micro)
    net = torch.nn.parallel.DistributedDataParallel(model) if ddp.world > 1 else model
    net = torch.compile(net) if config.compile is True else net
    meter, pending = Meter(step, steps, config.batch_size * T), Pending(names)
    auto = AutoCompile(config, model_cfg, steps - step) if config.compile == "auto" else None
    while step < steps:
        lr = lr_at(config, step)
        t = time.perf_counter()
        stats = train_step(net, optimizer, sampler, step, lr, config.grad_clip, per_rank, micro, ddp, autocast)
        if average is not None:
            average.update(model)
        tokens_seen += sampler.tokens_per_source(step)
        step += 1
        pending.add(step, stats, tokens_seen)
        seconds = time.perf_counter() - t
        meter.train_seconds += seconds
        if auto is not None:
            net = auto.after_step(net, seconds, steps - step, log)
        last = step == steps
        if step % config.log_interval == 0 or last:
            train = pending.last_losses()
            per = " ".join(f"{n} {v:.3f}" for n, v in train.items() if n != "all")
            log(f"step {step}/{steps} | loss {train['all']:.4f} | lr {lr:.2e} | {meter(step)} | {per}")
        if (config.eval_interval and step % config.eval_interval == 0) or last:
            rows += pending.flush()
            seen = dict(zip(names, tokens_seen.tolist()))
            with average.swapped(model) if average is not None and last else contextlib.nullcontext():
                val, bpb = scorer(model)
            rows += [metric_row(step, "val", n, v, seen[n]) for n, v in zip(names, val)]
            rows += [metric_row(step, "val_bpb", n, v, seen[n]) for n, v in zip(names, bpb)]
            log(f"val @ {step}{' (averaged weights)' if average is not None and last else ''}: " + " ".join(
                f"{n} {v:.4f} ({b:.4f} bits/byte, {seen[n] / 1e6:.2f}M tokens seen)"
                for n, v, b in zip(names, val, bpb)))
        if ddp.rank == 0 and (last or config.checkpoint_interval and step % config.checkpoint_interval == 0):
            rows += pending.flush()
            save_checkpoint(out / "ckpt.pt", model, optimizer, step, tokens_seen, rows, model_cfg, config,
                            extra={"ema": average.state()} if average is not None else None)
            write_metrics(out / "metrics.parquet", rows)
        if step == int(os.environ.get(KILL_AT_STEP, "0")):
            os.kill(os.getpid(), signal.SIGKILL)  # as a crash would: nothing after the last checkpoint is kept
    rows += pending.flush()
    if ddp.rank == 0:
        write_summary(out, config, prepared, model, rows, tokens_seen, meter)
    return rows


class Pending:
    """Per-step training statistics not yet turned into metric rows. They stay tensors on the device until a log
    line, an evaluation or a checkpoint needs them, so a GPU is not synchronised every step."""

    def __init__(self, names: list[str]):
        self.names, self.steps = names, []

    def add(self, step: int, stats: torch.Tensor, tokens_seen: np.ndarray) -> None:
        self.steps.append((step, stats, tokens_seen.copy()))

    def last_losses(self) -> dict[str, float]:
        return _losses(self.names, self.steps[-1][1].cpu())

    def flush(self) -> list[dict]:
        if not self.steps:
            return []
        stats = torch.stack([s for _, s, _ in self.steps]).cpu()  # one transfer for all pending steps
        rows = []
        for (step, _, seen), row in zip(self.steps, stats):
            seen_by = dict(zip(self.names, seen.tolist()), all=int(seen.sum()))
            rows += [metric_row(step, "train", n, loss, seen_by[n]) for n, loss in _losses(self.names, row).items()]
        self.steps = []
        return rows


def _losses(names: list[str], stats: torch.Tensor) -> dict[str, float]:
    """{"all": mean loss, source: mean loss of its sequences} from (sums per source, counts per source)."""
    S = len(names)
    sums, counts = stats[:S].tolist(), stats[S:].tolist()
    out = {"all": sum(sums) / sum(counts)}
    return out | {n: s / c for n, s, c in zip(names, sums, counts) if c > 0}


def train_step(net, optimizer, sampler: MixtureSampler, step: int, lr: float, grad_clip: float, per_rank: int,
               micro: int, ddp: Dist, autocast) -> torch.Tensor:
    """One optimiser step on this process's rows of the global batch. Returns, on the device, the sum of sequence
    losses per source then the sequence count per source (2S,), summed over processes."""
    set_lr(optimizer, lr)
    S = len(sampler.shards)
    stats = torch.zeros(2 * S, dtype=torch.float64, device=ddp.device)
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
        stats.index_add_(0, src + S, torch.ones(len(src), dtype=torch.float64, device=ddp.device))
    if grad_clip:
        torch.nn.utils.clip_grad_norm_(net.parameters(), grad_clip, foreach=True)
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return ddp.sum_(stats)


@torch.no_grad()
def evaluate(model: GPT, sampler: MixtureSampler, eval_tokens: int, micro: int, ddp: Dist, autocast,
             nbytes: torch.Tensor | None = None) -> tuple[list[float], list[float]]:
    """Mean next-token loss (nats) on each source's fixed validation windows, and bits per byte of the same tokens
    (nats / ln 2 / the bytes the target tokens stand for: comparable across tokenizers; NaN without `nbytes`);
    processes split the windows."""
    model.eval()
    totals = torch.zeros(len(sampler.shards), 3, dtype=torch.float64, device=ddp.device)
    for i in range(len(sampler.shards)):
        windows = torch.from_numpy(sampler.val_windows(i, eval_tokens))[ddp.rank :: ddp.world]  # (n, T + 1)
        windows = windows.to(ddp.device)
        for j in range(0, len(windows), micro):
            w = windows[j : j + micro]
            with autocast:
                _, token_loss = model(w[:, :-1], w[:, 1:], reduction="none")  # (b, T)
            totals[i, 0] += token_loss.double().sum()
            totals[i, 1] += token_loss.numel()
            if nbytes is not None:
                totals[i, 2] += nbytes[w[:, 1:]].sum()
    ddp.sum_(totals)
    model.train()
    nats = (totals[:, 0] / totals[:, 1]).tolist()
    bpb = (totals[:, 0] / math.log(2) / totals[:, 2]).tolist() if nbytes is not None else [math.nan] * len(nats)
    return nats, bpb


class Scorer:
    """evaluate() with its fixed arguments: the sampler's validation windows, the tokenizer's bytes per token."""

    def __init__(self, sampler, nbytes: np.ndarray, eval_tokens: int, micro: int, ddp: Dist, autocast):
        self.sampler, self.eval_tokens, self.micro, self.ddp, self.autocast = sampler, eval_tokens, micro, ddp, autocast
        self.nbytes = torch.from_numpy(nbytes).to(ddp.device)

    def __call__(self, model) -> tuple[list[float], list[float]]:
        return evaluate(model, self.sampler, self.eval_tokens, self.micro, self.ddp, self.autocast, self.nbytes)


class Averaged:
    """An exponential moving average of the weights (Polyak averaging): after each step avg += (1 - decay) *
    (w - avg). The final evaluation swaps it in, so the last steps' noise is smoothed out of the reported loss."""

    def __init__(self, model, decay: float):
        self.decay = decay
        self.params = [p.detach().clone() for p in model.parameters()]

    @torch.no_grad()
    def update(self, model) -> None:
        torch._foreach_lerp_(self.params, [p.detach() for p in model.parameters()], 1 - self.decay)

    def state(self) -> list[torch.Tensor]:
        return [p.cpu() for p in self.params]

    def load(self, state: list[torch.Tensor] | None, model) -> None:
        """The average a checkpoint kept; a checkpoint from before averaging restarts it from the weights."""
        if state is not None:
            self.params = [t.to(p.device) for t, p in zip(state, model.parameters())]

    @contextlib.contextmanager
    def swapped(self, model):
        """The model holds the averaged weights inside the block, its own again after."""
        with torch.no_grad():
            own = [p.detach().clone() for p in model.parameters()]
            for p, a in zip(model.parameters(), self.params):
                p.copy_(a)
        try:
            yield model
        finally:
            with torch.no_grad():
                for p, o in zip(model.parameters(), own):
                    p.copy_(o)


def _log_start(log, config: TrainConfig, model: GPT, shards, ddp: Dist, per_rank: int, micro: int) -> None:
    cfg, T = model.config, model.config.block_size
    log(f"model: {model.num_params() / 1e6:.2f}M parameters ({model.num_params():,}; n_layer={cfg.n_layer}, "
        f"n_head={cfg.n_head}, n_embd={cfg.n_embd}, vocab={cfg.vocab_size}, block_size={T})")
    log("data: " + ", ".join(f"{s.name} {s.train_tokens:,} train / {len(s.val):,} val tokens (weight {s.weight:.3f})"
                             for s in shards))
    log(f"plan: {config.steps} steps x {config.batch_size} sequences x {T} tokens = "
        f"{config.steps * config.batch_size * T:,} tokens on {ddp.world} process(es), {per_rank // micro} "
        f"micro-batch(es) of {micro}, device {ddp.device}, {torch.get_num_threads()} thread(s)"
        + (", torch.compile" if config.compile is True else ", compile: auto" if config.compile else ""))
    weights = np.array([s.weight for s in shards]) / sum(s.weight for s in shards)
    for s, w in zip(shards, weights):
        epochs = config.steps * config.batch_size * T * w / s.train_tokens if s.train_tokens else 0.0
        if epochs > 1:
            log(f"note: {s.name} is read for {epochs:.1f} epochs ({s.train_tokens:,} training tokens, weight "
                f"{w:.3f}): the model sees its documents more than once")


def check_out_dir(config: TrainConfig, out: Path) -> None:
    """Refuse to resume a checkpoint written under a config that computes something else."""
    saved = out / "config.yaml"
    if not (out / "ckpt.pt").is_file() or not saved.is_file():
        return
    old, new = yaml.safe_load(saved.read_text()), config.to_dict()
    diff = [k for k in sorted(set(old) | set(new)) if k not in RESUMABLE_KEYS and old.get(k) != new.get(k)]
    if diff:
        raise TrainError(f"{out} holds a run with a different config ({', '.join(diff)} differ); "
                         "choose another -o or delete it")


def write_run_files(config: TrainConfig, out: Path, prepared: Prepared) -> None:
    (out / "tokenizer").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(prepared.tokenizer_dir / "tokenizer.model", out / "tokenizer" / "tokenizer.model")
    (out / "config.yaml").write_text(yaml.safe_dump(config.to_dict(), sort_keys=False))


def write_summary(out, config, prepared, model, rows, tokens_seen, meter) -> None:
    """summary.json, and what the model read (trained_on.parquet, splits.json: train/bom.py). Every way a run ends
    comes through here: one process, torchrun, or trained together with others of a sweep (train/model/batched.py)."""
    write_trained_on(out, config, prepared, tokens_seen)
    last = {r["source"]: r["loss"] for r in rows if r["split"] == "val"}
    unigram = {r["source"]: r["loss"] for r in rows if r["split"] == "unigram"}
    trained = (meter.steps - meter.first) * meter.tokens_per_step
    summary = {"params": model.num_params(), "steps": config.steps, "seconds_this_session": round(meter.elapsed(), 1),
               "train_seconds_this_session": round(meter.train_seconds, 2),
               "train_tokens_per_s": round(trained / max(meter.train_seconds, 1e-9), 1),
               "tokens_seen": dict(zip(prepared.names, map(int, tokens_seen))), "val_loss": last,
               "unigram_loss": unigram}
    (out / "summary.json").write_text(json.dumps(summary, indent=2))


# Logits (and their gradient) of one forward pass stay under 16 MiB of float32 when micro_batch_size is 0: glibc
# serves smaller blocks from its heap and reuses them, larger ones are mmap'ed and unmapped every step (page faults
# on fresh pages). At the 1m model's shape (context 256, 8,192 pieces, batch 16) a third of a step's CPU time was
# kernel time; micro-batches of 2 sequences took it to 0% and the step to 1.45x tokens/s (benches/train_alloc.py).
LOGITS_PER_PASS = 4 << 20


def sequences_per_pass(block_size: int, vocab: int) -> int:
    """How many sequences' logits (over all stacked models) fit LOGITS_PER_PASS; at least 1."""
    return max(1, LOGITS_PER_PASS // (block_size * vocab))


def micro_batch(per_rank: int, block_size: int, vocab: int, models: int = 1) -> int:
    """The largest divisor of `per_rank` sequences whose logits, over `models` stacked models, fit LOGITS_PER_PASS;
    at least 1."""
    fit = sequences_per_pass(block_size, vocab) // models
    return max((d for d in range(1, min(fit, per_rank) + 1) if per_rank % d == 0), default=1)


def batch_split(config: TrainConfig, world: int, *, vocab: int, models: int = 1) -> tuple[int, int]:
    """Sequences per process and per forward pass: micro_batch_size, or when it is 0 `micro_batch`'s rule."""
    if config.batch_size % world:
        raise ConfigError("batch_size", f"{config.batch_size} does not split over {world} processes")
    per_rank = config.batch_size // world
    if config.micro_batch_size:
        micro = min(config.micro_batch_size, per_rank)
    else:
        micro = micro_batch(per_rank, config.model.block_size, vocab, models)
    if per_rank % micro:
        raise ConfigError("micro_batch_size", f"{micro} must divide the {per_rank} sequences per process")
    return per_rank, micro


def metric_row(step: int, split: str, source: str, loss: float, tokens: int) -> dict:
    """One metrics.parquet row: tokens = training tokens of `source` seen so far."""
    return {"step": step, "split": split, "source": source, "loss": loss, "tokens": tokens}


class AutoCompile:
    """`compile: auto`: time eager steps 2-4 (step 1 warms up), then compile when the remaining steps' expected saving
    exceeds the compilation's expected cost. Saving: COMPILE_SAVING of a step (13-15% measured at nanoGPT's CPU shape,
    eager against compiled, interleaved). Cost: COMPILE_COLD_SECONDS (60 s: measured 67 s cold on the loaded 2-core
    machine) unless this machine compiled the same shapes before: the cache directory keeps each compilation's
    measured seconds (the first compiled step less an eager one) by a key of the model, batch and torch version,
    and inductor's own cache makes a repeat about 4 s. A GPU run should measure both constants for its card."""

    SAVING, COLD_SECONDS, EAGER_STEPS = 0.13, 60.0, 3

    def __init__(self, config: TrainConfig, model_cfg, steps: int):
        key = json.dumps([dataclasses.asdict(model_cfg), config.batch_size, config.micro_batch_size, config.dtype,
                          config.device, torch.__version__], sort_keys=True, default=str)
        self.key = f"{hash_text(key):016x}"
        self.record = config.cache_path / "compile_seconds.json"
        self.times: list[float] = []
        self.compiled_at: int | None = None
        self.skip = steps <= self.EAGER_STEPS + 1

    def known_cost(self) -> float | None:
        try:
            return json.loads(self.record.read_text()).get(self.key)
        except (OSError, ValueError):
            return None

    def after_step(self, net, seconds: float, remaining: int, log):
        if self.skip:
            return net
        self.times.append(seconds)
        if self.compiled_at is not None:  # the first compiled step: record what the compilation cost
            cost = max(0.0, seconds - self.eager)
            log(f"compile: auto: compiled in {cost:.1f} s")
            self._remember(cost)
            self.skip = True
            return net
        if len(self.times) < 1 + self.EAGER_STEPS:
            return net
        self.eager = float(np.median(self.times[1:]))
        known = self.known_cost()
        cost = self.COLD_SECONDS if known is None else known
        saving = self.SAVING * self.eager * remaining
        where = "measured here before" if known is not None else "a cold cache"
        if saving > cost:
            log(f"compile: auto: compiling: {remaining} steps at {self.eager * 1e3:.0f} ms save about {saving:.0f} s,"
                f" the compilation costs about {cost:.0f} s ({where})")
            self.compiled_at = len(self.times)
            return torch.compile(net)
        log(f"compile: auto: eager: {remaining} steps at {self.eager * 1e3:.0f} ms would save about {saving:.0f} s, "
            f"less than the compilation's {cost:.0f} s ({where})")
        self.skip = True
        return net

    def _remember(self, cost: float) -> None:
        try:
            record = json.loads(self.record.read_text()) if self.record.exists() else {}
            record[self.key] = round(cost, 2)
            self.record.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.record.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(record))
            os.replace(tmp, self.record)
        except (OSError, ValueError):
            pass  # only a prediction for the next run is lost


def hash_text(text: str) -> int:
    import hashlib

    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")


class Meter:
    """Tokens/s over the last log interval, and the ETA at that rate."""

    def __init__(self, step: int, steps: int, tokens_per_step: int):
        self.start = self.last = time.time()
        self.step, self.steps, self.tokens_per_step = step, steps, tokens_per_step
        self.first, self.train_seconds = step, 0.0  # time inside training steps (no evaluation, no checkpoints)

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
