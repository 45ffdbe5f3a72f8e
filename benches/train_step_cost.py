"""What each recipe piece costs per training step, interleaved in one process (so every arm sees the same machine).

    python benches/train_step_cost.py --arm adamw= --arm muon=optimizer=muon --arm qk=model.qk_norm=true \
        --arm compile=compile=true --arm bf16=dtype=bfloat16 --json benches/results/train_step_cost.json

A step is the trainer's own (train.loop.train_step: micro-batches, forward, backward, clipping, the optimizer) at
`pipelines/sweep.yaml`'s `train:` shape (model, context, batch) and vocabulary, on token ids from a fixed generator
(a step's cost does not depend on their values). Arms take turns round by round (--rounds x --steps each); the median
round gives ms per step. With compile: true the first call's time (compilation plus one step) is reported apart.
Time to a loss is steps to it (benches/train_time_to_loss.py, independent of the machine) times this cost.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from train_time_to_loss import overrides, with_overrides


class Tokens:
    """The sampler's interface for train_step: batch(step, rows) -> x, y, source; one source."""

    def __init__(self, vocab: int, batch: int, T: int):
        g = torch.Generator().manual_seed(0)
        self.data = torch.randint(0, vocab, (8, batch, T + 1), generator=g)
        self.shards = [None]

    def batch(self, step, rows):
        w = self.data[step % len(self.data), rows]
        return w[:, :-1], w[:, 1:], torch.zeros(len(w), dtype=torch.long)


def arm(raw: dict, vocab: int):
    """(step function, seconds of its first call) for one arm's config."""
    from train.config import TrainConfig, parse
    from train.loop import Dist, autocast_for, batch_split, build, train_step

    cfg = parse(TrainConfig, raw)
    model_cfg = cfg.model.__class__(**{**cfg.model.__dict__, "vocab_size": vocab})
    model, opt = build(cfg, model_cfg)
    net = torch.compile(model) if cfg.compile else model
    per_rank, micro = batch_split(cfg, 1, vocab=vocab)
    tokens, ddp = Tokens(vocab, cfg.batch_size, model_cfg.block_size), Dist(torch.device("cpu"))
    autocast, state = autocast_for(cfg, torch.device("cpu")), {"step": 0}

    def step():
        train_step(net, opt, tokens, state["step"], cfg.lr, cfg.grad_clip, per_rank, micro, ddp, autocast)
        state["step"] += 1

    start = time.perf_counter()
    step()
    return step, time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sweep", type=Path, default=REPO / "pipelines/sweep.yaml")
    parser.add_argument("--arm", action="append", required=True, help="NAME=key=value,key=value")
    parser.add_argument("--vocab", type=int, default=0, help="0 = the sweep's tokenizer.vocab_size")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--json")
    args = parser.parse_args()
    torch.set_num_threads(1)
    base = yaml.safe_load(args.sweep.read_text())["train"] | {"threads": 1, "device": "cpu"}
    vocab = args.vocab or base["tokenizer"]["vocab_size"]
    arms = {name: arm(with_overrides(base, sets), vocab) for name, sets in map(overrides, args.arm)}
    times = {name: [] for name in arms}
    for _ in range(args.rounds):
        for name, (step, _) in arms.items():
            start = time.perf_counter()
            for _ in range(args.steps):
                step()
            times[name].append((time.perf_counter() - start) / args.steps)
    first = next(iter(arms))
    result = {"command": " ".join(sys.argv), "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
              "machine": f"{platform.machine()} {os.cpu_count()} CPUs", "torch": torch.__version__,
              "load_average": os.getloadavg(), "vocab": vocab, "arms": {}}
    for name, (_, first_call) in arms.items():
        ms = 1e3 * statistics.median(times[name])
        result["arms"][name] = {"ms_per_step": ms, "first_call_s": first_call, "rounds_ms": [1e3 * t for t in
                                                                                              times[name]],
                                "relative_to_first": ms / (1e3 * statistics.median(times[first]))}
        print(f"{name:>16}: {ms:7.1f} ms/step ({result['arms'][name]['relative_to_first']:.2f}x {first}), first "
              f"call {first_call:.1f} s")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
