"""What `compile: true` costs and saves at nanoGPT's CPU shape: the first compiled step with a cold inductor cache,
again with the cache that run filled, and the median eager and compiled step after it, one torch thread.

    python benches/train_compile_cost.py --json benches/results/train_compile_cost.json

Each measurement runs in a fresh process (so torch's in-memory caches start empty); the cold one gets an empty
TORCHINDUCTOR_CACHE_DIR of its own, the warm one the same directory after it. `compile: auto` (train/loop.py
AutoCompile) takes its constants from here: the saving as a fraction of an eager step and the cold cost.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = """
import sys, time, json, numpy as np, torch
sys.path.insert(0, {repo!r}); sys.path.insert(0, {benches!r})
from train_profile import ours
torch.set_num_threads(1)
tokens = np.random.default_rng(0).integers(0, 512, 400_000).astype(np.uint16)
step = ours(1, {compile}, tokens)
t = time.perf_counter(); step(); first = time.perf_counter() - t
times = []
for _ in range({steps}):
    t = time.perf_counter(); step(); times.append(time.perf_counter() - t)
print(json.dumps({{"first_step_s": first, "median_step_s": float(np.median(times))}}))
"""


def measure(compile_: bool, steps: int, cache: str) -> dict:
    code = CHILD.format(repo=str(Path(__file__).resolve().parents[1]), benches=str(Path(__file__).resolve().parent),
                        compile=compile_, steps=steps)
    env = {**os.environ, "TORCHINDUCTOR_CACHE_DIR": cache, "OMP_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=30, help="steps timed after the first")
    parser.add_argument("--json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as cache:
        load = os.getloadavg()
        eager = measure(False, args.steps, cache)
        cold = measure(True, args.steps, cache)
        warm = measure(True, args.steps, cache)
        eager2 = measure(False, args.steps, cache)
    eager_s = (eager["median_step_s"] + eager2["median_step_s"]) / 2  # eager before and after: the drift
    compiled_s = (cold["median_step_s"] + warm["median_step_s"]) / 2
    result = {
        "command": " ".join(sys.argv), "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{platform.machine()} {os.cpu_count()} CPUs", "load_average_start": load,
        "load_average_end": os.getloadavg(), "eager": [eager, eager2], "compiled_cold": cold, "compiled_warm": warm,
        "cold_compile_s": cold["first_step_s"] - eager_s, "warm_compile_s": warm["first_step_s"] - eager_s,
        "saving_fraction": 1 - compiled_s / eager_s,
    }
    print(f"eager {eager_s * 1e3:.1f} ms/step, compiled {compiled_s * 1e3:.1f} ms/step "
          f"(saving {result['saving_fraction']:.1%}); compile cold {result['cold_compile_s']:.1f} s, "
          f"warm {result['warm_compile_s']:.1f} s")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
