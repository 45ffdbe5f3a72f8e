"""Training throughput and model FLOPs utilisation (MFU) of each named model size, fp32 and bf16 autocast.

    python benches/train_throughput.py                       # every size, both dtypes, all cores
    python benches/train_throughput.py --sizes 1m 10m --steps 5 --json bench.json

MFU = tokens/s x FLOPs per token / peak FLOP/s, where FLOPs per token = 6N + 12 * n_layer * T * n_embd
(PaLM appendix B: every weight forward and backward, plus attention scores and mixing), and the peak is the
measured rate of a large (2048^2) matmul in the same dtype, on the same machine, in the same run, interleaved with the
timed steps (not a datasheet number: on a shared machine the ceiling moves with the load, and interleaving keeps MFU a
ratio of two rates measured under the same conditions). Medians of both are reported. A step is a full training step: forward, backward, gradient clipping, AdamW, at the trainer's settings
(vocabulary 8192, block_size 256, the batch split into the micro-batches the imported trainer makes). Token ids are
uniform random: throughput does not depend on their values. Run it against another checkout's trainer with
PYTHONPATH=CHECKOUT (a before/after pair).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch

from train.config import SIZES, ModelConfig, TrainConfig, parse
from train.loop import build


def peak_matmul(dtype: torch.dtype, n: int = 2048, seconds: float = 0.5) -> float:
    """Sustained FLOP/s of n x n matmuls in `dtype`, repeated for about `seconds` (after two warm-up products)."""
    a, b = torch.randn(n, n).to(dtype), torch.randn(n, n).to(dtype)
    for _ in range(2):
        a @ b
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        a @ b
        count += 1
    return count * 2 * n**3 / (time.perf_counter() - start)


def micro_batch(train_cfg: TrainConfig, vocab: int) -> int:
    """Sequences per forward pass as the imported trainer splits a step (its own `batch_split`, named `_batch_split`
    in older checkouts; before the micro-batch rule it took no vocabulary and returned the whole batch)."""
    try:
        from train.loop import batch_split
    except ImportError:  # a baseline checkout from before train/ was split into folders
        from train.loop import _batch_split as batch_split

    try:
        return batch_split(train_cfg, 1, vocab=vocab)[1]
    except TypeError:
        return batch_split(train_cfg, 1)[1]


def train_throughput(size: str, bf16: bool, batch: int, steps: int, vocab: int = 8192, compile_: bool = False) -> dict:
    """Median tokens/s of `steps` training steps, and the median peak matmul rate measured between them (so both
    rates see the same machine load). Model and optimiser come from the trainer's own `build` (as shipped: fused
    AdamW where torch has it)."""
    cfg = ModelConfig(size=size, **SIZES[size], vocab_size=vocab)
    train_cfg = parse(TrainConfig, {"mix": {"sources": [{"run": "unused"}]}, "lr": 1e-4, "weight_decay": 0.1,
                                    "batch_size": batch, "model": {"size": size}})
    model, optimizer = build(train_cfg, cfg)
    net = torch.compile(model) if compile_ else model
    T = cfg.block_size
    x = torch.randint(0, vocab, (batch, T))
    y = torch.randint(0, vocab, (batch, T))

    micro = micro_batch(train_cfg, vocab)

    def step():
        for m in range(0, batch, micro):  # the trainer's micro-batches, their gradients summed
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                _, loss = net(x[m : m + micro], y[m : m + micro])
            (loss * micro / batch).backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    step()  # warm-up: allocations, kernel selection
    times, peaks = [], []
    for _ in range(steps):
        peaks.append(peak_matmul(torch.bfloat16 if bf16 else torch.float32))
        t = time.perf_counter()
        step()
        times.append(time.perf_counter() - t)
    peaks.append(peak_matmul(torch.bfloat16 if bf16 else torch.float32))
    seconds, peak = sorted(times)[len(times) // 2], sorted(peaks)[len(peaks) // 2]  # medians
    return {"size": size, "params": model.num_params(), "dtype": "bf16" if bf16 else "fp32", "batch": batch,
            "block_size": T, "tokens_per_s": batch * T / seconds, "flops_per_token": model.flops_per_token(T),
            "peak_gflops": peak / 1e9}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", nargs="+", default=[s for s in SIZES if s != "test"], choices=list(SIZES))
    parser.add_argument("--dtypes", nargs="+", default=["fp32", "bf16"], choices=["fp32", "bf16"])
    parser.add_argument("--batch", type=int, default=16, help="sequences per step (of 256 tokens)")
    parser.add_argument("--steps", type=int, default=3, help="timed steps per configuration (median reported)")
    parser.add_argument("--threads", type=int, default=0, help="torch threads; 0 = all cores")
    parser.add_argument("--compile", action="store_true", help="torch.compile the model (compile: true)")
    parser.add_argument("--json", help="also write the rows to this file")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    try:  # the allocator setting the trainer makes before its first step, where it has one
        from train.files import keep_freed_memory
    except ImportError:
        pass
    else:
        keep_freed_memory()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f}")
    print("| size | params | dtype | tokens/s | model GFLOP/s | peak matmul GFLOP/s | MFU |")
    print("|---|---|---|---|---|---|---|")
    rows = []
    for size in args.sizes:
        for dtype in args.dtypes:
            row = train_throughput(size, dtype == "bf16", args.batch, args.steps, compile_=args.compile)
            row["gflops"] = row["tokens_per_s"] * row["flops_per_token"] / 1e9
            row["mfu"] = row["gflops"] / row["peak_gflops"]
            rows.append(row)
            print(f"| {size} | {row['params'] / 1e6:.1f}M | {dtype} | {row['tokens_per_s']:,.0f} | "
                  f"{row['gflops']:.0f} | {row['peak_gflops']:.0f} | {row['mfu']:.0%} |", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"command": " ".join(sys.argv), "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                       "machine": f"{platform.machine()} {os.cpu_count()} CPUs", "torch": torch.__version__,
                       "load_average": os.getloadavg(), "rows": rows}, f, indent=2)


if __name__ == "__main__":
    main()
