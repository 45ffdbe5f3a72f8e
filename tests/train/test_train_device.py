"""Device choice, mixed precision, process-group backend, thread count on resume and the shard cache's key: the
logic a GPU run relies on, checked on the CPU."""

import os

import pytest
import torch

from train.config import TrainConfig, parse
from train.data.sources import open_source
from train.errors import ConfigError
from train.loop import amp_dtype, backend_for, pick_device, train_run


def test_auto_picks_cuda_when_present_and_each_process_its_own_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert pick_device("auto") == torch.device("cpu")
    with pytest.raises(ConfigError, match="device.*no CUDA GPU"):
        pick_device("cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert pick_device("auto", local_rank=1) == torch.device("cuda", 1)
    assert pick_device("cpu") == torch.device("cpu")
    assert backend_for(torch.device("cuda", 0)) == "nccl" and backend_for(torch.device("cpu")) == "gloo"


def test_bf16_autocast_is_the_default_on_cuda_only(monkeypatch, tiny_raw):
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: True)
    auto = parse(TrainConfig, tiny_raw(dtype="auto"))
    assert amp_dtype(auto, torch.device("cuda", 0)) == torch.bfloat16
    assert amp_dtype(auto, torch.device("cpu")) is None
    assert amp_dtype(parse(TrainConfig, tiny_raw(dtype="float32")), torch.device("cuda", 0)) is None
    assert amp_dtype(parse(TrainConfig, tiny_raw(dtype="bfloat16")), torch.device("cpu")) == torch.bfloat16
    with pytest.raises(ConfigError, match="device"):
        parse(TrainConfig, tiny_raw(device="tpu"))


def test_resuming_with_another_thread_count_says_so(tmp_path, tiny_raw, capsys):
    raw = tiny_raw(tokens=4 * 8 * 64, eval_interval=0, checkpoint_interval=2, threads=1)
    train_run(parse(TrainConfig, raw), tmp_path / "run", progress=False)
    (tmp_path / "run" / "summary.json").unlink()
    raw["threads"] = 2
    train_run(parse(TrainConfig, raw), tmp_path / "run", progress=True)
    err = capsys.readouterr().err
    assert "resumed from" in err and "written with 1 torch thread(s), this process has 2" in err


def test_shard_cache_key_follows_file_changes_and_verify_hashes_content(runs, monkeypatch):
    source = open_source(parse(TrainConfig, {"mix": {"sources": [{"run": str(runs["books"])}]}}).mix.sources[0], 0)
    quick = source.fingerprint()
    monkeypatch.setenv("TRAIN_VERIFY", "1")
    content = source.fingerprint()
    path = source.files[0]
    stat = path.stat()
    try:
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # touched, same bytes
        assert source.fingerprint() == content  # --verify: by content
        monkeypatch.delenv("TRAIN_VERIFY")
        assert source.fingerprint() != quick  # default: a touched file is rebuilt, never trusted stale
    finally:
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
