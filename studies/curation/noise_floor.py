"""The study's noise floor before and after each design change: the spread (sd over seeds) of the paired difference
between the baseline and an arm that drops a random 1% of the web pages, which should change nothing, per
evaluation set, beside the spread of the baseline's own loss across seeds.

    python studies/curation/noise_floor.py --base /tmp/study-base -o studies/curation/noise_floor.json

Designs, each a two-arm sweep (raw, drop 1%) x SEEDS seeds on the study's corpus (runs/study/*, see README.md):
- committed: the design the first study used (the code at BASE, `git worktree add BASE a73b914`: windows drawn
  uniformly over each arm's own token stream, the 1m model at a vocabulary of 8,192, min_lr 10% of the peak,
  65,536 held-out tokens per set); its drop-1% arm is a `where` on a hash of the id (it has no controls).
- crn: this checkout, the same shape: the same documents in the same order for every arm of a seed.
- shape: crn and the study's proxy: 4 layers x 128, vocabulary 2,048, the learning rate decayed to zero, every
  held-out token of each set up to 1M.
- study: shape with the study's training recipe (sweep_study.yaml's train keys: optimizer, schedule, averaging).
Runs nice -n -10 by default so a busy machine does not stretch it; the JSON keeps every run's final losses.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import yaml

HERE = Path(__file__).resolve().parent
DROP_WHERE = "(('0x' || left(md5(id || '#drop'), 8))::UBIGINT % 100) != 0"  # keeps 99% of the pages, by id hash


def design(name: str, tokens: int, seeds: list[int]) -> dict:
    study = yaml.safe_load((HERE / "sweep_study.yaml").read_text())
    train = study["train"] | {"tokens": tokens, "checkpoint_interval": 0}
    if name == "committed" or name == "crn":
        train |= {"tokenizer": {"vocab_size": 8192, "sample_chars": 4_000_000}, "model": {"size": "1m"},
                  "lr": 3.0e-3, "min_lr": 3.0e-4, "eval_tokens": 65536}
        for key in ("ema", "optimizer", "schedule"):
            train.pop(key, None)
    if name == "shape":
        for key in ("ema", "optimizer", "schedule"):
            train.pop(key, None)
    drop = ({"name": "drop 1%", "where": {"web": DROP_WHERE}} if name == "committed" else
            {"name": "drop 1%", "control": {"kind": "random_drop", "source": "web", "fraction": 0.01}})
    return {"seeds": seeds, "baseline": "raw", "arms": [{"name": "raw"}, drop],
            "eval": [{"name": "wiki", "run": "runs/study/wiki", "held_out": False}], "train": train}


def finals(out: Path) -> dict[str, dict[int, dict[str, float]]]:
    meta = json.loads((out / "sweep.json").read_text())
    got: dict[str, dict[int, dict[str, float]]] = {}
    for entry in meta["runs"]:
        path = out / "runs" / entry["run"] / "metrics.parquet"
        if not (out / "runs" / entry["run"] / "summary.json").is_file():
            continue
        rows = pq.read_table(path).to_pylist()
        last = max(r["step"] for r in rows)
        got.setdefault(entry["arm_name"], {})[entry["seed"]] = {r["source"]: r["loss"] for r in rows
                                                                if r["split"] == "val" and r["step"] == last}
    return got


def spreads(got: dict) -> dict[str, dict]:
    base, drop = got["raw"], got["drop 1%"]
    seeds = sorted(set(base) & set(drop))
    out = {}
    for name in base[seeds[0]]:
        diffs = [drop[s][name] - base[s][name] for s in seeds]
        out[name] = {"sd_paired": float(np.std(diffs, ddof=1)), "sd_across_seeds": float(
            np.std([base[s][name] for s in seeds], ddof=1)), "mean_paired": float(np.mean(diffs)), "seeds": len(seeds)}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", required=True, help="a checkout of the committed design (git worktree, a73b914)")
    parser.add_argument("--designs", default="committed,crn,shape,study")
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument("--tokens", type=int, default=409_600)
    parser.add_argument("--work", default="runs/study/noise")
    parser.add_argument("-o", "--output", default=str(HERE / "noise_floor.json"))
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    result = json.loads(Path(args.output).read_text()) if Path(args.output).is_file() else {}
    for name in args.designs.split(","):
        out = Path(args.work) / name
        out.mkdir(parents=True, exist_ok=True)
        (out.parent / f"{name}.yaml").write_text(yaml.safe_dump(design(name, args.tokens, seeds), sort_keys=False))
        env = os.environ | ({"PYTHONPATH": str(Path(args.base).resolve())} if name == "committed" else {})
        start = time.time()
        cmd = [sys.executable, "-m", "train.cli", "sweep", str(out.parent / f"{name}.yaml"), "-o", str(out)]
        subprocess.run(cmd, env=env, check=True)
        got = finals(out)
        result[name] = {"seconds": round(time.time() - start, 1), "tokens": args.tokens, "spread": spreads(got),
                        "losses": {arm: {str(s): v for s, v in runs.items()} for arm, runs in got.items()},
                        "config": design(name, args.tokens, seeds)["train"]}
        Path(args.output).write_text(json.dumps(result, indent=2))
        print(name, json.dumps(result[name]["spread"], indent=1), flush=True)


if __name__ == "__main__":
    main()
