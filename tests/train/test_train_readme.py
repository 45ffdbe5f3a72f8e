"""The README's "Train on a mix" sequence, as written, on the bundled samples: curate web/books/code, then
`train run pipelines/mix.yaml`, `train sweep pipelines/sweep.yaml` and `train report`, in a fresh working directory
(the pipelines' relative paths: samples/ in, runs/ out). Only the training length is shortened with --set."""

import json

import pyarrow.parquet as pq
from click.testing import CliRunner

from tests.conftest import ROOT, curate_ok
from train.cli import main as train_main

SHORT = "tokens=4096"  # 2 steps of 16 x 128 tokens: enough to exercise every file a user reads


def _train_ok(args):
    result = CliRunner().invoke(train_main, args)
    assert result.exit_code == 0, result.output
    return result


def test_readme_train_sequence_runs_on_curated_samples(tmp_path, monkeypatch):
    for name in ("samples", "pipelines"):
        (tmp_path / name).symlink_to(ROOT / name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TRAIN_CACHE", str(tmp_path / "cache"))
    for pipeline in ("web", "books", "code"):
        curate_ok(["run", f"pipelines/{pipeline}.yaml"])
    _train_ok(["run", "pipelines/mix.yaml", "-o", "runs/train/mix", "--set", SHORT, "-q"])
    metrics = pq.read_table(tmp_path / "runs/train/mix/metrics.parquet").to_pylist()
    assert {r["source"] for r in metrics if r["split"] == "val"} == {"web", "books", "code"}

    sweep = _train_ok(["sweep", "pipelines/sweep.yaml", "-o", "runs/sweep", "--set", f"train.{SHORT}", "-q"])
    assert "20 run(s) trained" in sweep.output and "0 failed" in sweep.output
    report = _train_ok(["report", "runs/sweep"])
    assert "report.md" in report.output
    summary = pq.read_table(tmp_path / "runs/sweep/summary.parquet").to_pylist()
    assert {(r["run"], r["source"]) for r in summary} >= {("m00-s1", "web"), ("m09-s2", "code")}
    assert json.loads((tmp_path / "runs/sweep/sweep.json").read_text())["sessions"][0]["failed"] == {}
