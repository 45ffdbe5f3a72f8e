"""Wall time of a whole `train sweep`, this checkout against another (a baseline commit), back to back in one run.

    git worktree add /tmp/before 4517fe9      # or: git archive 4517fe9 | tar -x -C /tmp/before
    python benches/train_sweep.py --before /tmp/before --repeats 1 --json benches/results/train_sweep_quiet.json \
        --set train.tokenizer.vocab_size=4096

Both checkouts run `python -m train.cli sweep SWEEP_YAML -o OUT -q` from their own folder (the sweep's relative
`runs/web`, `runs/books`, `runs/code` are linked into the baseline's folder from this one, so both read the same
curated runs), each with its own empty TRAIN_CACHE: the wall time is what a user waits for, tokenizer and token
shards included. Order alternates over --repeats. Load average before and after each run is recorded (this is a
shared machine: a ratio from runs at different loads says little). Every `--set` goes to both.
After the runs, each run's final validation losses on the sources it trained on are compared between the two
checkouts (same seeds, same data): mean and largest absolute difference, and whether both trained the same tokenizer
(when the tokenizer code changed between them, the losses are in other units and only roughly comparable).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def run_sweep(checkout: Path, sweep: str, out: Path, cache: Path, sets: list[str], env: dict) -> dict:
    shutil.rmtree(out, ignore_errors=True)
    shutil.rmtree(cache, ignore_errors=True)
    cmd = [sys.executable, "-m", "train.cli", "sweep", sweep, "-o", str(out), "-q"]
    for s in sets:
        cmd += ["--set", s]
    load = os.getloadavg()
    start = time.time()
    proc = subprocess.run(cmd, cwd=checkout, env={**env, "TRAIN_CACHE": str(cache)}, capture_output=True, text=True,
                          check=False)
    wall = time.time() - start
    if proc.returncode:
        sys.exit(f"sweep in {checkout} failed:\n{proc.stderr[-3000:]}")
    return {"command": " ".join(cmd), "cwd": str(checkout), "seconds": round(wall, 1), "load_before": load,
            "load_after": os.getloadavg()}


def final_val(out: Path) -> dict[str, dict[str, float]]:
    """{run: {source: final validation loss}} of the sources each run trained on (weight > 0), from its
    summary.json and config.yaml."""
    import yaml

    out_ = {}
    for p in sorted(out.rglob("summary.json")):
        weights = {s["name"]: s["weight"] for s in yaml.safe_load((p.parent / "config.yaml").read_text())["mix"]["sources"]}
        out_[p.parent.name] = {k: v for k, v in json.loads(p.read_text())["val_loss"].items() if weights.get(k, 0) > 0}
    return out_


def compare(after: Path, before: Path) -> dict:
    """How far the two sweeps' final losses are apart. Only meaningful when both trained the same tokenizer: a
    changed tokenizer (other pieces, other token counts) moves every loss, so that is reported first."""
    a, b = final_val(after), final_val(before)
    diffs = [abs(a[run][src] - b[run][src]) for run in a if run in b for src in a[run] if src in b[run]]
    same = (after / "tokenizer" / "tokenizer.model").read_bytes() == (before / "tokenizer" / "tokenizer.model").read_bytes()
    return {"tokenizers_identical": same, "runs_compared": len([run for run in a if run in b]),
            "max_abs_val_loss_difference_trained_sources": max(diffs) if diffs else None,
            "mean_abs_val_loss_difference_trained_sources": sum(diffs) / len(diffs) if diffs else None}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", required=True, type=Path, help="the baseline checkout (a folder)")
    parser.add_argument("--sweep", default="pipelines/sweep.yaml")
    parser.add_argument("--repeats", type=int, default=1, help="pairs of sweeps, order alternating")
    parser.add_argument("--set", action="append", default=[], dest="sets", help="KEY=VALUE, given to both")
    parser.add_argument("--work", type=Path, default=Path("/tmp/curate_bench_sweep"))
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()
    before = args.before.resolve()
    for name in ("web", "books", "code"):  # the sweep's sources, relative to the working directory
        (before / "runs").mkdir(exist_ok=True)
        link = before / "runs" / name
        if not link.exists():
            link.symlink_to(REPO / "runs" / name)
    env = dict(os.environ)
    pairs = []
    for r in range(args.repeats):
        pair = {}
        for who in (("before", "after") if r % 2 == 0 else ("after", "before")):
            checkout = before if who == "before" else REPO
            pair[who] = run_sweep(checkout, args.sweep, args.work / f"{who}{r}", args.work / f"cache_{who}{r}",
                                  args.sets, env)
            print(f"repeat {r} {who}: {pair[who]['seconds']:.1f} s (load {pair[who]['load_before'][0]:.1f} -> "
                  f"{pair[who]['load_after'][0]:.1f})", flush=True)
        pair["ratio_before_over_after"] = round(pair["before"]["seconds"] / pair["after"]["seconds"], 3)
        pair |= compare(args.work / f"after{r}", args.work / f"before{r}")
        print(f"repeat {r}: before/after {pair['ratio_before_over_after']:.2f}x; final validation loss on trained "
              f"sources differs by {pair['mean_abs_val_loss_difference_trained_sources']:.3f} on average, at most "
              f"{pair['max_abs_val_loss_difference_trained_sources']:.3f}, over {pair['runs_compared']} runs "
              f"(tokenizers identical: {pair['tokenizers_identical']})", flush=True)
        pairs.append(pair)
    result = {"command": " ".join(sys.argv), "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
              "machine": f"{platform.machine()} {os.cpu_count()} CPUs", "pairs": pairs}
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
