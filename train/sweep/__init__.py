"""Sweeps: planning runs over mixtures, curation arms and seeds (planning, arms), training them in worker processes
(pool), resume."""

from train.sweep.arms import ArmConfig, EvalConfig, GridConfig
from train.sweep.planning import (
    MixturesConfig,
    SweepConfig,
    load_sweep,
    mixtures,
    plan,
    run_config,
    run_sweep,
    shared_tokenizer,
)

__all__ = ["ArmConfig", "EvalConfig", "GridConfig", "MixturesConfig", "SweepConfig", "load_sweep", "mixtures", "plan",
           "run_config", "run_sweep", "shared_tokenizer"]
