"""Where a training step's time goes: the trainer's own `train_step` against nanoGPT's model, in one process.

    python benches/train_profile.py --nanogpt NANOGPT_CHECKOUT --json benches/results/train_profile.json

Both sides run at nanoGPT's README CPU shape (4 layers, 4 heads, 128 wide, context 64, batch 12, 512-piece
vocabulary), same threads, same AdamW settings. Ours is `train.loop.train_step` exactly as `train run` calls it
(mixture sampler over a token shard, per-source loss bookkeeping, gradient clipping, fused AdamW); nanoGPT's is its
`GPT` and `configure_optimizers` with a forward, backward, clip and step on a batch drawn as its `get_batch` draws
one. Timing: rounds of --steps steps each, the variants interleaved round by round, so a change in machine load
falls on all of them alike; the median round is reported, as tokens/s and as a ratio to nanoGPT.
The profile: torch.profiler over --profile-steps steps per variant, in 4 interleaved chunks, self CPU time grouped into matmul
(mm, bmm, addmm), attention (scaled_dot_product_attention and its backward), optimizer (AdamW and clipping),
the loss (log-softmax and NLL), element-wise (everything else aten), and time outside aten (Python: the loop,
sampling, bookkeeping, autograd's own work), in milliseconds per step.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch.profiler import ProfilerActivity, profile

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from train.config import TrainConfig, parse
from train.data import MixtureSampler, Shards
from train.data.stream import Selection, Stream
from train.loop import Dist, batch_split, build, train_step

B, T, V = 12, 64, 512
CATEGORIES = {
    "matmul": ("aten::mm", "aten::bmm", "aten::addmm", "aten::matmul", "aten::linear"),
    "attention": ("scaled_dot_product", "flash_attention"),
    "optimizer": ("adam", "aten::_foreach", "linalg_vector_norm", "clip_grad"),
    "loss": ("log_softmax", "nll_loss", "cross_entropy"),
}


def ours(threads: int, compile_: bool, tokens: np.ndarray):
    cfg = parse(TrainConfig, {"mix": {"sources": [{"run": "unused"}]}, "lr": 1e-3, "weight_decay": 0.1, "beta2": 0.99,
                              "batch_size": B, "model": {"n_layer": 4, "n_head": 4, "n_embd": 128, "block_size": T},
                              "compile": compile_, "threads": threads})
    model_cfg = dataclasses.replace(cfg.model, vocab_size=V)
    model, optimizer = build(cfg, model_cfg)
    net = torch.compile(model) if compile_ else model
    whole = Selection(offsets=np.array([0]), lengths=np.array([len(tokens)]), files=np.zeros(1, np.int8),
                      keys=np.ones(1, np.uint64), times=np.ones(1, np.int64))  # one piece: the whole token file
    sampler = MixtureSampler([Shards("text", 1.0, Stream([tokens], whole, seed=1), tokens[: T * 4])], T, B, seed=1)
    per_rank, micro = batch_split(cfg, 1, vocab=V)
    ddp = Dist(torch.device("cpu"))
    autocast = torch.autocast("cpu", enabled=False)
    state = {"step": 0}

    def step():
        train_step(net, optimizer, sampler, state["step"], 1e-3, 1.0, per_rank, micro, ddp, autocast)
        state["step"] += 1

    return step


def nanogpt(checkout: Path, tokens: np.ndarray):
    spec = importlib.util.spec_from_file_location("nanogpt_model", checkout / "model.py")
    ng = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ng)
    torch.manual_seed(1)
    model = ng.GPT(ng.GPTConfig(block_size=T, vocab_size=V, n_layer=4, n_head=4, n_embd=128, dropout=0.0, bias=False))
    optimizer = model.configure_optimizers(0.1, 1e-3, (0.9, 0.99), "cpu")
    data = torch.from_numpy(tokens.astype(np.int64))

    def step():  # train.py's get_batch, forward, backward, clip, step (gradient_accumulation_steps = 1 on CPU)
        ix = torch.randint(len(data) - T, (B,))
        x = torch.stack([data[i : i + T] for i in ix])
        y = torch.stack([data[i + 1 : i + 1 + T] for i in ix])
        _, loss = model(x, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    return step


def categorize(prof, steps: int, wall_ms: float) -> dict[str, float]:
    """Self CPU time of top-level-ish aten ops by category, ms per step; `other_aten` the rest of aten; `python`
    the step's wall time not spent in any aten op (divided by threads' overlap it is only indicative)."""
    out = dict.fromkeys([*CATEGORIES, "other_aten"], 0.0)
    for e in prof.key_averages():
        name = e.key.lower()
        if not (name.startswith("aten::") or "optimizer" in name or "adam" in name):
            continue
        ms = e.self_cpu_time_total / 1e3 / steps
        for cat, keys in CATEGORIES.items():
            if any(k.lower() in name for k in keys):
                out[cat] += ms
                break
        else:
            out["other_aten"] += ms
    out["outside_aten"] = max(0.0, wall_ms - sum(out.values()))
    return {k: round(v, 2) for k, v in out.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nanogpt", type=Path, help="a nanoGPT checkout (its model.py is imported)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=10, help="steps per timed round")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--profile-steps", type=int, default=20)
    parser.add_argument("--compile", action="store_true", help="also ours with compile: true")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    tokens = np.random.default_rng(0).integers(0, V, 200_000).astype(np.uint16)  # throughput ignores the values
    variants = {"ours": ours(args.threads, False, tokens)}
    if args.compile:
        variants["ours_compiled"] = ours(args.threads, True, tokens)
    if args.nanogpt:
        variants["nanogpt"] = nanogpt(args.nanogpt, tokens)
    first = {}
    for name, step in variants.items():  # warm-up (and compilation) outside the timed rounds
        start = time.perf_counter()
        for _ in range(5):
            step()
        first[name] = round(time.perf_counter() - start, 2)
    times = {name: [] for name in variants}
    for _ in range(args.rounds):
        for name, step in variants.items():
            start = time.perf_counter()
            for _ in range(args.steps):
                step()
            times[name].append((time.perf_counter() - start) / args.steps)
    result = {"command": " ".join(sys.argv), "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
              "machine": f"{platform.machine()} {os.cpu_count()} CPUs", "torch": torch.__version__,
              "threads": args.threads, "shape": {"batch": B, "block_size": T, "vocab": V, "n_layer": 4, "n_embd": 128},
              "first_5_steps_s": first, "load_average": os.getloadavg(), "variants": {}}
    profiles = {name: [] for name in variants}
    chunks = 4  # profiled in chunks, interleaved like the timing, so load drift falls on every variant alike
    for _ in range(chunks):
        for name, step in variants.items():
            n = max(1, args.profile_steps // chunks)
            with profile(activities=[ProfilerActivity.CPU]) as prof:
                start = time.perf_counter()
                for _ in range(n):
                    step()
                wall = (time.perf_counter() - start) * 1e3 / n
            profiles[name].append(categorize(prof, n, wall))
    for name in variants:
        ms = statistics.median(times[name]) * 1e3
        mean = {k: round(sum(p[k] for p in profiles[name]) / chunks, 2) for k in profiles[name][0]}
        result["variants"][name] = {"ms_per_step": round(ms, 2), "tokens_per_s": round(B * T / ms * 1e3),
                                    "profile_ms_per_step": mean}
    base = result["variants"].get("nanogpt")
    for name, v in result["variants"].items():
        if base:
            v["ratio_to_nanogpt"] = round(base["ms_per_step"] / v["ms_per_step"], 3)
        print(f"{name}: {v['tokens_per_s']:,} tokens/s" + (f" ({v['ratio_to_nanogpt']:.2f}x nanoGPT)" if base else "")
              + "; ms per step: " + ", ".join(f"{k} {x}" for k, x in v["profile_ms_per_step"].items()))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
