"""Where a 1m-model training step spends its time: the matmuls, or the kernel mapping fresh pages for logits.

    python benches/train_alloc.py --json benches/results/train_alloc.json

One training step (forward, backward, fused AdamW) of the `1m` model at the curation study's shape (context 256,
8,192 pieces, 16 sequences a step, random tokens), timed in a fresh process per setting, with the same threads, in
an order that alternates over --repeats:

- `before`: one forward pass over all 16 sequences (logits of 128 MiB) and glibc's default allocator settings,
  which is what `train run` did before the micro-batch rule;
- `after`: what ships: `micro_batch_size: 0` (the most sequences whose logits fit 16 MiB: 2) and
  `keep_freed_memory()` (glibc keeps freed blocks up to 32 MiB instead of unmapping them);
- `micro only` and `allocator only`: each change alone.

Reported per setting: tokens/s (wall), and the user and system (kernel) CPU seconds of the timed steps; the
kernel's share is what page faults cost, and it moves little with other load on the machine, unlike wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SETTINGS = {"before": (16, False), "micro only": (2, False), "allocator only": (16, True), "after": (0, True)}

CHILD = r"""
import json, resource, sys, time, torch
sys.path.insert(0, {repo!r})
from train.config import ModelConfig
from train.files import keep_freed_memory
from train.loop import micro_batch
from train.model import GPT
micro, keep, threads, steps, dtype = {micro}, {keep}, {threads}, {steps}, {dtype!r}
if keep:
    keep_freed_memory()
torch.set_num_threads(threads)
torch.manual_seed(0)
B, T, V = 16, 256, 8192
if micro == 0:  # the shipped rule (micro_batch_size 0)
    micro = micro_batch(B, T, V)
model = GPT(ModelConfig(n_layer=2, n_head=3, n_embd=96, block_size=T, vocab_size=V))
opt = torch.optim.AdamW(model.parameters(), lr=1e-3, fused=True)
x, y = torch.randint(0, V, (B, T)), torch.randint(0, V, (B, T))
def step():
    for i in range(0, B, micro):
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=dtype == "bfloat16"):
            _, loss = model(x[i:i + micro], y[i:i + micro])
        (loss * micro / B).backward()
    opt.step()
    opt.zero_grad(set_to_none=True)
for _ in range(3):
    step()
r0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
for _ in range(steps):
    step()
wall, r1 = time.perf_counter() - t0, resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({{"micro": micro, "tokens_per_s": steps * B * T / wall, "wall_s": wall,
                  "user_s": r1.ru_utime - r0.ru_utime, "sys_s": r1.ru_stime - r0.ru_stime}}))
"""


def measure(name: str, threads: int, steps: int, dtype: str) -> dict:
    micro, keep = SETTINGS[name]
    code = CHILD.format(repo=str(REPO), micro=micro, keep=keep, threads=threads, steps=steps, dtype=dtype)
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--dtype", choices=["float32", "bfloat16"], default="float32")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    names = list(SETTINGS)
    rows = []
    for r in range(args.repeats):
        for name in names if r % 2 == 0 else names[::-1]:
            row = {"setting": name, "repeat": r, **measure(name, args.threads, args.steps, args.dtype),
                   "load_1min": os.getloadavg()[0]}
            rows.append(row)
            print(f"{name:>15}  micro {row['micro']:>2}  {row['tokens_per_s']:>8,.0f} tokens/s  user {row['user_s']:5.1f} s"
                  f"  sys {row['sys_s']:5.1f} s  (load {row['load_1min']:.1f})", flush=True)
    summary = {}
    for name in names:
        mine = [r for r in rows if r["setting"] == name]
        summary[name] = {"tokens_per_s": sum(r["tokens_per_s"] for r in mine) / len(mine),
                         "sys_share": sum(r["sys_s"] for r in mine) / sum(r["user_s"] + r["sys_s"] for r in mine)}
    ratio = summary["after"]["tokens_per_s"] / summary["before"]["tokens_per_s"]
    for name, s in summary.items():
        print(f"{name:>15}: {s['tokens_per_s']:,.0f} tokens/s, kernel share of CPU time {s['sys_share']:.0%}")
    print(f"after / before: {ratio:.2f}x tokens/s")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"args": vars(args) | {"json": str(args.json)}, "rows": rows,
                                         "summary": summary, "after_over_before": ratio,
                                         "machine": {"cpu": platform.processor() or platform.machine(),
                                                     "cores": os.cpu_count()},
                                         "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}, indent=2))


if __name__ == "__main__":
    main()
