"""Checkpoints and metrics on disk, written atomically (temporary file + rename): a run killed at any moment
leaves the previous complete checkpoint, never a half-written one."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import torch

from train.config import ModelConfig, TrainConfig
from train.files import atomic_path

METRICS_SCHEMA = pa.schema([("step", pa.int64()), ("split", pa.string()), ("source", pa.string()),
                            ("loss", pa.float64()), ("tokens", pa.int64())])


def save_checkpoint(path: Path, model, optimizer, step: int, tokens_seen: np.ndarray, rows: list[dict],
                    model_config: ModelConfig, config: TrainConfig, extra: dict | None = None) -> None:
    """Everything a resumed run needs to continue bit for bit: weights, AdamW moments, step, counters, metrics, and
    the torch thread count (another count sums floats in another order). The batch plan needs no state: it is a
    function of (seed, step)."""
    state = {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "step": step,
             "tokens_seen": tokens_seen.tolist(), "metrics": rows, "threads": torch.get_num_threads(),
             "model_config": dataclasses.asdict(model_config), "config": config.to_dict(), "extra": extra or {}}
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def load_checkpoint(path: Path, model, optimizer) -> tuple[int, np.ndarray, list[dict], int | None]:
    """Restore model and optimizer (onto whatever device the model is on, wherever the checkpoint was written);
    returns step, tokens seen per source, metric rows and the thread count it was written with (None if older)."""
    state = torch.load(path, map_location="cpu", weights_only=False)
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])  # AdamW moves its moments to each parameter's device
    return state["step"], np.array(state["tokens_seen"], dtype=np.int64), state["metrics"], state.get("threads")


def load_extra(path: Path) -> dict:
    """What save_checkpoint kept under `extra` (e.g. the averaged weights); {} for a checkpoint without it."""
    return torch.load(path, map_location="cpu", weights_only=False).get("extra") or {}


def load_model(run_dir: str | Path, device: str | torch.device = "cpu"):
    """The trained model of a run directory (for generate and export), in eval mode, on `device` (a checkpoint
    written on a GPU loads on a CPU and the other way round)."""
    from train.model.gpt import GPT

    state = torch.load(Path(run_dir) / "ckpt.pt", map_location="cpu", weights_only=False)
    model = GPT(ModelConfig(**state["model_config"]))
    model.load_state_dict(state["model"])
    return model.to(device).eval()


def write_metrics(path: Path, rows: list[dict]) -> None:
    table = pa.Table.from_pylist(rows, schema=METRICS_SCHEMA)
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)
