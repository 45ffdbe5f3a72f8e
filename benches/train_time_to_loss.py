"""Wall time to a target validation loss at the shipped sweep's shape, recipe against recipe and against a baseline
checkout of the trainer: the measure trainers are compared by (the modded-nanogpt speedrun's time to a loss).

    python benches/train_time_to_loss.py --before /tmp/train-base --seeds 1 2 3 \
        --source web=runs/study/web --source books=runs/study/books --source code=runs/study/code \
        --arm shipped= --arm adamw=optimizer=adamw,schedule=cosine,min_lr=3e-4 --json benches/results/ttl.json

Every run is `train run` in its own process with one torch thread (`--jobs` of them at once, the arms of a seed
interleaved, their order rotating from seed to seed), at `pipelines/sweep.yaml`'s `train:` settings (model, context,
vocabulary, batch, steps, schedule) plus the arm's `key=value` overrides; `before` is the `--before` checkout's own
`pipelines/sweep.yaml` (its documented recipe at the same shape) trained by that checkout's code (through
PYTHONPATH), on the same sources with the same shared tokenizer. A run logs every step;
the bench timestamps each line as it arrives, so a step's time is the gap between its line and the previous one
(steps that follow a checkpoint take the median step instead: the save is not training). Every `--every` steps the run
writes a checkpoint, which the bench copies aside; afterwards every copy of every run is scored here on the same
held-out tokens (consecutive windows of each source's validation split, the mean of the per-source losses), by the
code of the checkout that trained it. Target: the mean final loss of the `--target` arm (default `before`, else the
first), or `--target-loss` (a loss every run reaches, so that every seed of every arm has a time; speedups are then
against the `--target` arm's own time to it). Time to target: the first crossing, interpolated linearly between
checkpoints; steps to target likewise.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import yaml

REPO = Path(__file__).resolve().parents[1]
STEP = re.compile(r"^step (\d+)/(\d+) ")

SCORER = r"""
import json, sys
import numpy as np, torch
from train.checkpoint import load_model
torch.set_num_threads(1)
dirs, windows = json.loads(sys.argv[1]), [np.load(p) for p in json.loads(sys.argv[2])]
out = {}
with torch.no_grad():
    for d in dirs:
        model, losses = load_model(d), []
        for w in windows:
            w = torch.from_numpy(w.astype(np.int64))
            total = sum(model(w[j:j + 64, :-1], w[j:j + 64, 1:])[1].item() * len(w[j:j + 64])
                        for j in range(0, len(w), 64))
            losses.append(total / len(w))
        out[d] = losses
print(json.dumps(out))
"""


def run_logged(cmd: list[str], env: dict, cwd: Path, on_line) -> tuple[list[tuple[float, str]], int, str]:
    """Run cmd, reading its stderr line by line as it comes; on_line(line) is called at each line. Returns the
    (arrival time, line) pairs, the exit code and stdout."""
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out = []
    reader = threading.Thread(target=lambda: out.append(proc.stdout.read()), daemon=True)
    reader.start()
    lines = []
    for line in proc.stderr:
        lines.append((time.perf_counter(), line.rstrip("\n")))
        on_line(line)
    proc.wait()
    reader.join()
    return lines, proc.returncode, out[0] if out else ""


def step_times(lines: list[tuple[float, str]], checkpoints: set[int], start_pattern: str = "plan:") -> dict:
    """Training seconds per step from line arrival times: step s took (arrival of its line) - (previous line);
    a step right after a checkpoint takes the median (the save is not training). The first step keeps its own time
    from the start line (it pays any compilation)."""
    start = next(t for t, line in lines if line.startswith(start_pattern))
    times, prev = {}, start
    for t, line in lines:
        m = STEP.match(line)
        if m:
            times[int(m.group(1))] = t - prev
            prev = t
        elif line.startswith("val @"):
            prev = t  # evaluation is not training
    median = statistics.median(times.values())
    return {s: (median if s - 1 in checkpoints and s > 1 else dt) for s, dt in sorted(times.items())}


def train_one(name: str, config: dict, out: Path, checkout: Path, every: int) -> dict:
    """One `train run` of config by checkout's code, one thread; checkpoint copies at every `every` steps."""
    out.mkdir(parents=True, exist_ok=True)
    cfg_path = out / "config.in.yaml"
    cfg_path.write_text(yaml.safe_dump(config))
    run_dir = out / "run"
    env = {**os.environ, "PYTHONPATH": str(checkout), "OMP_NUM_THREADS": "1", "OMP_WAIT_POLICY": "PASSIVE"}

    def copy_checkpoint(line: str) -> None:  # step s+1's line: the checkpoint of step s is complete
        m = STEP.match(line)
        if m and int(m.group(1)) > 1 and (int(m.group(1)) - 1) % every == 0:
            save = out / f"at-{int(m.group(1)) - 1}"
            save.mkdir(exist_ok=True)
            shutil.copyfile(run_dir / "ckpt.pt", save / "ckpt.pt")

    cmd = [sys.executable, "-m", "train.cli", "run", str(cfg_path), "-o", str(run_dir)]
    lines, code, _ = run_logged(cmd, env, checkout, copy_checkpoint)
    if code:
        sys.exit(f"{name}: train run failed:\n" + "\n".join(line for _, line in lines[-30:]))
    steps = max(int(STEP.match(line).group(1)) for _, line in lines if STEP.match(line))
    final = out / f"at-{steps}"
    final.mkdir(exist_ok=True)
    shutil.copyfile(run_dir / "ckpt.pt", final / "ckpt.pt")
    per_step = step_times(lines, set(range(every, steps, every)))
    (out / "timing.json").write_text(json.dumps(per_step))
    return {"name": name, "checkout": str(checkout), "dir": str(out), "steps": steps, "step_seconds": per_step}


def reused(name: str, out: Path, checkout: Path) -> dict | None:
    """A run this work directory already holds (--reuse): its checkpoints, and its step times when recorded."""
    if not (out / "run" / "summary.json").is_file():
        return None
    timing = out / "timing.json"
    per_step = {int(k): v for k, v in json.loads(timing.read_text()).items()} if timing.is_file() else None
    steps = max(int(p.name[3:]) for p in out.glob("at-*"))
    return {"name": name, "checkout": str(checkout), "dir": str(out), "steps": steps, "step_seconds": per_step}


def score(runs: list[dict], windows: list[Path]) -> None:
    """Each run's checkpoint copies on the same windows, by the code of the checkout that trained it."""
    for checkout in {r["checkout"] for r in runs}:
        mine = [r for r in runs if r["checkout"] == checkout]
        dirs = [str(d) for r in mine for d in sorted(Path(r["dir"]).glob("at-*"))]
        env = {**os.environ, "PYTHONPATH": checkout, "OMP_NUM_THREADS": "1"}
        proc = subprocess.run([sys.executable, "-c", SCORER, json.dumps(dirs), json.dumps([str(w) for w in windows])],
                              env=env, cwd=checkout, capture_output=True, text=True, check=False)
        if proc.returncode:
            sys.exit(f"scoring failed:\n{proc.stderr[-3000:]}")
        losses = json.loads(proc.stdout)
        for r in mine:
            curve = {int(Path(d).name[3:]): v for d, v in losses.items() if Path(d).parent == Path(r["dir"])}
            r["val_per_source"] = dict(sorted(curve.items()))
            r["val"] = {s: float(np.mean(v)) for s, v in r["val_per_source"].items()}


def to_target(run: dict, target: float) -> dict:
    """Seconds and steps until the validation curve first reaches `target` (linear between checkpoints); seconds
    are None for a run whose step times were not recorded."""
    times = run["step_seconds"] or {s: float("nan") for s in range(1, run["steps"] + 1)}
    clock = np.cumsum([times[s] for s in sorted(times)])
    seconds_at = {s: float(clock[s - 1]) for s in times}
    prev = None
    for step, loss in run["val"].items():
        if loss <= target:
            f = 1.0 if prev is None else (prev[1] - target) / (prev[1] - loss)
            s0 = step if prev is None else prev[0]
            seconds = seconds_at[s0] + f * (seconds_at[step] - seconds_at[s0])
            return {"steps": round(s0 + f * (step - s0), 1), "seconds": None if np.isnan(seconds) else seconds}
        prev = (step, loss)
    return {"steps": None, "seconds": None}


def from_metrics(run: dict, window: int = 10) -> None:
    """A run's curves from its own metrics.parquet: the training loss of every step as the mean of the last
    `window` steps (fresh batches: no document repeats within these runs), and the trainer's final validation
    loss (mean over sources; the same held-out windows in every checkout, as their equal unigram rows show)."""
    import pyarrow.parquet as pq

    rows = pq.read_table(Path(run["dir"]) / "run" / "metrics.parquet").to_pylist()
    train = sorted((r["step"], r["loss"]) for r in rows if r["split"] == "train" and r["source"] == "all")
    losses = np.array([loss for _, loss in train])
    trailing = np.convolve(losses, np.ones(window) / window, mode="valid")  # step window .. steps
    run["train"] = {step: float(v) for step, v in zip(range(window, len(losses) + 1), trailing)}
    last = max(r["step"] for r in rows if r["split"] == "val")
    run["final_val_trainer"] = float(np.mean([r["loss"] for r in rows if r["split"] == "val" and r["step"] == last]))


def spread(values: list[float]) -> dict:
    values = [v for v in values if v is not None]
    if not values:
        return {"mean": None, "sd": None, "min": None, "max": None, "n": 0}
    return {"mean": float(np.mean(values)), "sd": float(np.std(values, ddof=1)) if len(values) > 1 else 0.0,
            "min": float(min(values)), "max": float(max(values)), "n": len(values)}


def summarise_metrics(runs: list[dict], target_arm: str) -> dict:
    """Steps to the target arm's mean final training loss (trailing mean), and final validation losses."""
    target = float(np.mean([r["train"][max(r["train"])] for r in runs if r["arm"] == target_arm]))
    arms = {}
    for arm in dict.fromkeys(r["arm"] for r in runs):
        mine = [r for r in runs if r["arm"] == arm]
        steps = [next((s for s, v in r["train"].items() if v <= target), None) for r in mine]
        arms[arm] = {"final_val": spread([r["final_val_trainer"] for r in mine]),
                     "final_train": spread([r["train"][max(r["train"])] for r in mine]),
                     "steps_to_target": spread(steps), "reached": sum(s is not None for s in steps),
                     "runs": len(mine), "seeds": [r["seed"] for r in mine]}
        n = arms[arm]["steps_to_target"]["mean"]
        complete = arms[arm]["reached"] == len(mine)
        arms[arm]["step_speedup"] = max(r["steps"] for r in runs) / n if n and complete else None
    return {"target_arm": target_arm, "target_train_loss": target, "measure": "training loss", "arms": arms}


def summarise(runs: list[dict], target_arm: str, target_loss: float | None = None) -> dict:
    finals = [r["val"][max(r["val"])] for r in runs if r["arm"] == target_arm]
    target = float(np.mean(finals)) if target_loss is None else target_loss
    arms = {}
    for arm in dict.fromkeys(r["arm"] for r in runs):
        mine = [r for r in runs if r["arm"] == arm]
        for r in mine:
            r["to_target"] = to_target(r, target)
        timed = [r for r in mine if r["step_seconds"]]
        arms[arm] = {"final_val": spread([r["val"][max(r["val"])] for r in mine]),
                     "seconds_to_target": spread([r["to_target"]["seconds"] for r in mine]),
                     "steps_to_target": spread([r["to_target"]["steps"] for r in mine]),
                     "reached": sum(r["to_target"]["steps"] is not None for r in mine), "runs": len(mine),
                     "timed_runs": len(timed),
                     "median_step_ms": spread([1e3 * statistics.median(r["step_seconds"].values()) for r in timed]),
                     "first_step_s": spread([r["step_seconds"][1] for r in timed]),
                     "train_seconds": spread([sum(r["step_seconds"].values()) for r in timed])}
    base, base_steps = arms[target_arm]["train_seconds"]["mean"], max(r["steps"] for r in runs)
    if target_loss is not None:  # against the reference arm's own time to the same loss
        ref = arms[target_arm]
        whole = ref["reached"] == ref["runs"]
        base = ref["seconds_to_target"]["mean"] if whole else None
        base_steps = ref["steps_to_target"]["mean"] if whole else None
    for a in arms.values():
        t, n = a["seconds_to_target"]["mean"], a["steps_to_target"]["mean"]
        complete = a["reached"] == a["runs"]
        a["speedup_vs_target_arm"] = base / t if base and t and complete else None
        a["step_speedup_vs_target_arm"] = base_steps / n if n and complete else None
    return {"target_arm": target_arm, "target_loss": target, "target_given": target_loss is not None, "arms": arms}


PREPARE = r"""
import json, sys
from train.config import TrainConfig, parse
from train.data import prepare
p = prepare(parse(TrainConfig, json.loads(sys.argv[1])))
print(json.dumps({"tokenizer": str(p.tokenizer_dir), "val": [str(d / "val.bin") for d in p.shard_dirs]}))
"""


def base_config(sweep_yaml: Path, sources: list[str], work: Path) -> dict:
    """The sweep YAML's `train:` settings over --source NAME=RUN_DIR[:where] (equal weights), quiet on disk."""
    train = yaml.safe_load(sweep_yaml.read_text())["train"]
    mix = []
    for spec in sources:
        name, _, rest = spec.partition("=")
        run, _, where = rest.partition(":")
        mix.append({"name": name, "run": str(Path(run).resolve())} | ({"where": where} if where else {}))
    train["mix"]["sources"] = mix
    return train | {"log_interval": 1, "eval_interval": 0, "threads": 1, "device": "cpu",
                    "cache_dir": str(work / "cache")}


def shared_tokenizer(config: dict, checkout: Path, work: Path, eval_tokens: int) -> tuple[str, list[Path]]:
    """Train the tokenizer once (with the baseline's code) and cut each source's held-out tokens into windows."""
    env = {**os.environ, "PYTHONPATH": str(checkout), "OMP_NUM_THREADS": "2"}
    proc = subprocess.run([sys.executable, "-c", PREPARE, json.dumps(config)], env=env, cwd=checkout,
                          capture_output=True, text=True, check=False)
    if proc.returncode:
        sys.exit(f"prepare failed:\n{proc.stderr[-3000:]}")
    info = json.loads(proc.stdout.strip().splitlines()[-1])
    T, windows = config["model"]["block_size"], []
    for i, val in enumerate(info["val"]):
        tokens = np.fromfile(val, dtype=np.uint16)
        n = min(eval_tokens // T, (len(tokens) - 1) // T)
        path = work / f"windows-{i}.npy"
        np.save(path, np.stack([tokens[j * T : j * T + T + 1] for j in range(n)]))
        windows.append(path)
    return info["tokenizer"], windows


def overrides(spec: str) -> tuple[str, dict]:
    """NAME=key=value,key=value -> (NAME, {dotted key: YAML value})."""
    name, _, rest = spec.partition("=")
    pairs = [kv.split("=", 1) for kv in rest.split(",") if kv]
    return name, {k: yaml.safe_load(v) for k, v in pairs}


def with_overrides(config: dict, sets: dict) -> dict:
    config = json.loads(json.dumps(config))
    for key, value in sets.items():
        *path, last = key.split(".")
        node = config
        for p in path:
            node = node.setdefault(p, {})
        node[last] = value
    return config


def plan(arms: dict, seeds: list[int]) -> list[tuple[str, int]]:
    """Seed by seed, the arms in an order that rotates by one each seed (so no arm always runs first)."""
    names = list(arms)
    return [(names[(i + k) % len(names)], seed) for k, seed in enumerate(seeds) for i in range(len(names))]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sweep", type=Path, default=REPO / "pipelines/sweep.yaml", help="its train: settings")
    parser.add_argument("--source", action="append", required=True, help="NAME=RUN_DIR[:SQL where]")
    parser.add_argument("--before", type=Path, help="a baseline checkout: arm `before` trains with its code")
    parser.add_argument("--arm", action="append", default=[], help="NAME=key=value,key=value (this checkout)")
    parser.add_argument("--set", default="", help="key=value,key=value applied to every arm, before included")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--every", type=int, default=20, help="checkpoint (and score) every this many steps")
    parser.add_argument("--eval-tokens", type=int, default=32768, help="held-out tokens scored per source")
    parser.add_argument("--jobs", type=int, default=2, help="runs at once (one torch thread each)")
    parser.add_argument("--target", help="arm whose mean final loss is the target (default: before, or the first)")
    parser.add_argument("--target-loss", type=float,
                        help="a fixed target validation loss instead of the --target arm's mean final")
    parser.add_argument("--work", type=Path, default=Path("runs/bench_ttl"))
    parser.add_argument("--reuse", action="store_true", help="keep the finished runs already in --work")
    parser.add_argument("--from-metrics", action="store_true",
                        help="summarise the finished runs in --work from their metrics.parquet (training loss)")
    parser.add_argument("--json")
    args = parser.parse_args()
    work = args.work.resolve()
    if not args.reuse:
        shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True, exist_ok=True)
    config = with_overrides(base_config(args.sweep, args.source, work), overrides(f"all={args.set}")[1])
    configs = {REPO: config}
    if args.before:  # the baseline trains its own checkout's sweep.yaml (its documented defaults) at the same data
        own = args.before / "pipelines" / "sweep.yaml"
        configs[args.before] = with_overrides(base_config(own if own.exists() else args.sweep, args.source, work),
                                              overrides(f"all={args.set}")[1])
    if args.reuse and (work / "tokenizer").is_dir():
        windows = sorted(work.glob("windows-*.npy"))
    else:
        tok_dir, windows = shared_tokenizer(configs[args.before or REPO], args.before or REPO, work, args.eval_tokens)
        shutil.copytree(tok_dir, work / "tokenizer")
    config["tokenizer"]["dir"] = str(work / "tokenizer")
    arms = ({"before": (args.before, {})} if args.before else {}) | {
        name: (REPO, sets) for name, sets in map(overrides, args.arm)}
    config["checkpoint_interval"] = args.every
    for other in configs.values():
        other |= {"tokenizer": config["tokenizer"], "checkpoint_interval": args.every}

    def job(arm_seed):
        arm, seed = arm_seed
        checkout, sets = arms[arm]
        run_config = with_overrides(configs[checkout], sets) | {"seed": seed}
        if checkout != REPO:  # its own cache: another checkout's code may lay out shards differently
            run_config["cache_dir"] = str(work / f"cache-{arm}")
        result = args.reuse and reused(f"{arm}/{seed}", work / f"{arm}-{seed}", checkout)
        result = result or train_one(f"{arm}/{seed}", run_config, work / f"{arm}-{seed}", checkout, args.every)
        print(f"{arm} seed {seed}: {sum((result['step_seconds'] or {0: 0}).values()):.1f} s training", flush=True)
        return result | {"arm": arm, "seed": seed, "overrides": sets}

    start = time.time()
    if args.from_metrics:  # no training, no checkpoint scoring: the finished runs' own metrics
        runs = [reused(f"{a}/{s}", work / f"{a}-{s}", arms[a][0]) for a, s in plan(arms, args.seeds)]
        runs = [r | {"arm": r["name"].split("/")[0], "seed": int(r["name"].split("/")[1])} for r in runs if r]
        for r in runs:
            from_metrics(r)
        summary = summarise_metrics(runs, args.target or next(iter(arms)))
        for arm, a in summary["arms"].items():
            v, n = a["final_val"], a["steps_to_target"]
            print(f"{arm:>16} seeds {a['seeds']}: final val {v['mean']:.4f} sd {v['sd']:.4f} [{v['min']:.4f}, "
                  f"{v['max']:.4f}]  steps to target {a['reached']}/{a['runs']}: {n['mean'] or float('nan'):.0f} "
                  f"[{n['min']}, {n['max']}] ({a['step_speedup'] or float('nan'):.2f}x fewer)")
        if args.json:
            Path(args.json).write_text(json.dumps({"command": " ".join(sys.argv), "config": config, **summary,
                                                   "runs": runs}, indent=1, default=str))
        return
    with ThreadPoolExecutor(args.jobs) as pool:
        runs = list(pool.map(job, plan(arms, args.seeds)))
    score(runs, windows)
    result = {"command": " ".join(sys.argv), "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
              "machine": f"{platform.machine()} {os.cpu_count()} CPUs", "wall_s": round(time.time() - start, 1),
              "load_average_end": os.getloadavg(), "config": config,
              "before_config": configs.get(args.before), "eval_tokens_per_source": args.eval_tokens,
              **summarise(runs, args.target or next(iter(arms)), args.target_loss), "runs": runs}
    for arm, a in result["arms"].items():
        f, t = a["final_val"], a["seconds_to_target"]
        nan = float("nan")
        print(f"{arm:>16}: final {f['mean']:.4f} +- {f['sd']:.4f} [{f['min']:.4f}, {f['max']:.4f}]  to target "
              f"{a['reached']}/{a['runs']} runs, {t['mean'] or nan:.1f} s, steps "
              f"{a['steps_to_target']['mean'] or nan:.0f} ({a['step_speedup_vs_target_arm'] or nan:.2f}x fewer), "
              f"step {a['median_step_ms']['mean'] or nan:.1f} ms, speedup {a['speedup_vs_target_arm'] or nan:.2f}x")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result, indent=1, default=str))


if __name__ == "__main__":
    main()
