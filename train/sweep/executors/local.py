"""executor.type local: the sweep's runs in worker processes on this machine (train/sweep/pool.py)."""

from __future__ import annotations

from train.files import cores


class LocalExecutor:
    type = "local"
    finishes = True  # every run has ended when train() returns

    def __init__(self, workers: int):
        self.wanted, self.cores = workers, cores()
        self.workers, self.threads = 1, self.cores

    def slots(self, todo: int) -> tuple[int, int]:
        """(runs at once, torch threads each): `workers` (0 = one per core) at most one per run to train."""
        self.workers = max(1, min(self.wanted or self.cores, todo or 1))
        self.threads = max(1, self.cores // self.workers)
        return self.workers, self.threads

    def train(self, jobs, show) -> dict[str, str]:
        from train.sweep.pool import train_all

        return train_all(jobs, self.workers, self.threads, show)

    def session(self) -> dict:
        return {"executor": self.type, "workers": self.workers, "threads": self.threads, "cores": self.cores}
