"""`train`: a thin click shell over train.loop / train.sweep / train.report / train.model.export. Errors become
one-line messages, exit status 1."""

from __future__ import annotations

import os
from pathlib import Path

import click

# torch is imported inside the commands: `train --help` stays fast, and train/__init__.py sets
# OMP_WAIT_POLICY=PASSIVE before torch loads (two torch processes on two cores otherwise crawl).


@click.group()
def main():
    """Train a compact Transformer on a mix of curated run directories; generate from it; export it."""
    import importlib.util

    missing = [m for m in ("torch", "sentencepiece", "scipy") if importlib.util.find_spec(m) is None]
    if missing:  # `pip install curate` alone curates; the trainer is the [train] extra
        raise click.ClickException(f"the trainer needs {', '.join(missing)}: pip install 'curate[train]'")


def _config_epilog() -> str:
    from train.config import reference
    from train.yamlio import key_help

    return "\b\nConfig keys (YAML, or --set KEY=VALUE):\n" + key_help(reference())


@main.command(epilog=_config_epilog())
@click.argument("config", type=click.Path(dir_okay=False))
@click.option("-o", "--out", "out_dir", type=click.Path(file_okay=False),
              help="Run directory (default runs/train/CONFIG_NAME). An existing one is resumed.")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a config key, e.g. --set tokens=2e6 --set mix.sources.0.weight=2 (repeatable).")
@click.option("-q", "--quiet", is_flag=True, help="No progress lines.")
@click.option("--verify", is_flag=True, help="Identify cached token shards by hashing every Parquet byte (default: "
              "by path, size and modification time).")
def run(config, out_dir, overrides, quiet, verify):
    """Train on the mix in CONFIG (YAML, see pipelines/mix.yaml); resumes a killed run from its checkpoint.
    Under `torchrun --nproc_per_node N -m train.cli run ...` it trains data-parallel."""
    from train.config import load_config
    from train.errors import TrainError
    from train.loop import train_run

    _verify(verify)
    try:
        cfg = load_config(config, overrides)
        out = Path(out_dir or Path("runs/train") / Path(config).stem)
        rows = train_run(cfg, out, progress=not quiet)
    except TrainError as e:
        raise click.ClickException(str(e)) from None
    if int(os.environ.get("RANK", "0")) == 0:
        val = {r["source"]: r["loss"] for r in rows if r["split"] == "val"}
        click.echo(f"{out}: final val loss " + " ".join(f"{k} {v:.4f}" for k, v in val.items()))


def _verify(enabled: bool) -> None:
    """--verify: read by Source.fingerprint, here and in a sweep's worker processes (they inherit the environment)."""
    if enabled:
        os.environ["TRAIN_VERIFY"] = "1"


def _sweep_epilog() -> str:
    from train.sweep import SweepConfig
    from train.yamlio import config_reference, key_help

    keys = [("train.*", "every key of `train run --help`")]
    keys += [(key, doc) for key, doc in config_reference(SweepConfig) if not key.startswith("train.")]
    return "\b\nSweep keys (YAML, or --set KEY=VALUE):\n" + key_help(keys)


@main.command(epilog=_sweep_epilog())
@click.argument("sweep_yaml", type=click.Path(dir_okay=False))
@click.option("-o", "--out", "out_dir", type=click.Path(file_okay=False),
              help="Sweep directory (default runs/sweep/SWEEP_NAME). Finished runs in it are skipped.")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a key, e.g. --set train.tokens=1e6 --set seeds=[1,2,3] --set executor.type=ray "
                   "(repeatable).")
@click.option("-q", "--quiet", is_flag=True, help="No progress view.")
@click.option("--verify", is_flag=True, help="Identify cached token shards by hashing every Parquet byte.")
@click.option("--dry-run", is_flag=True, help="executor.type slurm: prepare the sweep directory and print the sbatch "
              "script, submit nothing.")
@click.option("--wait", is_flag=True, help="executor.type slurm: wait for the array job, then write the summary.")
def sweep(sweep_yaml, out_dir, overrides, quiet, verify, dry_run, wait):
    """Train every mixture x seed of SWEEP_YAML (see pipelines/sweep.yaml) with equal token budgets and one shared
    tokenizer, here (executor.type local), on a Ray cluster (ray) or as a Slurm array job (slurm); started again,
    it skips finished runs and resumes killed ones. Then `train report SWEEP_DIR`."""
    from train.errors import TrainError
    from train.sweep import load_sweep, run_sweep

    _verify(verify)
    out = Path(out_dir or Path("runs/sweep") / Path(sweep_yaml).stem)
    try:
        session = run_sweep(load_sweep(sweep_yaml, overrides), out, progress=not quiet, dry_run=dry_run, wait=wait)
    except TrainError as e:
        raise click.ClickException(str(e)) from None
    if "script" in session and not session.get("job"):  # Slurm --dry-run
        click.echo(Path(session["script"]).read_text(), nl=False)
        click.echo(f"# {out}: prepared; submit with: sbatch {session['script']}", err=True)
        return
    if session.get("job") and "failed" in session and not wait:
        click.echo(f"{out}: submitted Slurm array job {session['job']} ({session['array_tasks']} run(s)), "
                   f"{session['skipped']} skipped (already finished); `squeue --me` shows it; when it ends: "
                   f"train report {out}")
        return
    click.echo(f"{out}: {session['trained']} run(s) trained, {session['skipped']} skipped (already finished), "
               f"{len(session['failed'])} failed in {session['seconds'] / 60:.1f} min; next: train report {out}")
    if session["failed"]:
        lines = "; ".join(f"{run}: {error}" for run, error in session["failed"].items())
        raise click.ClickException(f"{len(session['failed'])} run(s) failed: {lines}")


@main.command("sweep-run", hidden=True)
@click.argument("sweep_dir", type=click.Path(file_okay=False))
@click.argument("run_name")
def sweep_run(sweep_dir, run_name):
    """Train run RUN_NAME of the sweep prepared in SWEEP_DIR, alone (what each task of a Slurm array job runs)."""
    from train.errors import TrainError
    from train.sweep.executors.slurm import run_one

    try:
        click.echo(run_one(Path(sweep_dir), run_name))
    except TrainError as e:
        raise click.ClickException(str(e)) from None


@main.command("report")
@click.argument("sweep_dir", type=click.Path(file_okay=False))
@click.option("--target", default="mean", show_default=True,
              help="Whose loss the predicted best mixture minimises: mean (over sources) or a source name.")
def report_cmd(sweep_dir, target):
    """Report on the sweep in SWEEP_DIR: per-source loss per mixture with 95% intervals over seeds, effects that
    the intervals tell apart from noise, fitted mixture -> loss laws with held-out Spearman, the predicted best
    mixture. Writes report.md, PNGs and Parquet (summary.parquet: run, seed, source, weight, val_loss, tokens).
    A sweep of curation arms gets its noise floor (noise.parquet), its controls' verdict, the primary comparisons
    with Holm's correction and the exploratory ones, uncorrected (arm_effects.parquet)."""
    from train.errors import TrainError
    from train.report import report

    try:
        path = report(sweep_dir, target)
    except TrainError as e:
        raise click.ClickException(str(e)) from None
    click.echo(path.read_text())
    click.echo(f"written: {path} and the PNGs and Parquet files next to it")


@main.command("bom")
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.option("--top", default=40, show_default=True, help="Groups listed; the rest are summed on one line.")
def bom_cmd(run_dir, top):
    """What the model in RUN_DIR read: its trained_on.parquet summed by source, licence and language (documents,
    unique tokens, tokens seen, share). trained_on.parquet joins back to the curated runs on `id`."""
    from train.bom import bom, render
    from train.errors import TrainError

    try:
        click.echo(render(bom(run_dir), run_dir, top))
    except TrainError as e:
        raise click.ClickException(str(e)) from None


@main.command()
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.option("--prompt", default="", help="Text to continue (a document start if empty).")
@click.option("-n", "--max-new-tokens", default=100, show_default=True)
@click.option("-t", "--temperature", default=0.8, show_default=True, help="0 = greedy.")
@click.option("-k", "--top-k", default=50, show_default=True, help="Sample among the k likeliest tokens; 0 = all.")
@click.option("--seed", default=0, show_default=True)
def generate(run_dir, prompt, max_new_tokens, temperature, top_k, seed):
    """Continue PROMPT with the model trained in RUN_DIR."""
    import torch

    from train.checkpoint import load_model
    from train.data.tokenizer import BOS_ID, load

    if not (Path(run_dir) / "ckpt.pt").is_file():
        raise click.ClickException(f"{run_dir} has no ckpt.pt: not a training run directory")
    model, sp = load_model(run_dir), load(Path(run_dir) / "tokenizer")
    idx = torch.tensor([[BOS_ID, *sp.encode(prompt)]])
    out = model.generate(idx, max_new_tokens, temperature=temperature, top_k=top_k or None,
                         generator=torch.Generator().manual_seed(seed), stop_id=BOS_ID)  # <s> starts the next doc
    click.echo(sp.decode(out[0, 1:].tolist()))  # the prompt round-trips exactly (identity normalisation)


@main.command("export")
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.argument("hf_dir", type=click.Path(file_okay=False))
def export_cmd(run_dir, hf_dir):
    """Write RUN_DIR's model as a Hugging Face directory (Llama + SentencePiece tokenizer) in HF_DIR."""
    from train.errors import TrainError
    from train.model.export import export

    try:
        export(run_dir, hf_dir)
    except TrainError as e:
        raise click.ClickException(str(e)) from None
    click.echo(f"exported {run_dir} -> {hf_dir} (AutoModelForCausalLM / AutoTokenizer.from_pretrained)")


if __name__ == "__main__":
    main()
