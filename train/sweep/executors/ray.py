"""executor.type ray: each run of the sweep a Ray task holding `cpus_per_run` CPUs and `gpus_per_run` GPUs, on a
running cluster (`address`) or on a local one started for the sweep. Ray places the tasks; this module only submits
them, follows their train.log in the sweep directory and retries a failed run once (from its last checkpoint, as a
restarted sweep would). Every node must see the sweep directory and the curated runs at the same paths (a shared
filesystem) and have this package installed."""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import sys
from pathlib import Path

from train.errors import ConfigError
from train.files import cores

ATTEMPTS = 2  # a failed run is tried once more, then reported; the others go on


class RayExecutor:
    type = "ray"
    finishes = True  # every run has ended when train() returns

    def __init__(self, ex):
        self.ex, self.started = ex, False
        try:
            import ray
        except ImportError:
            raise ConfigError("executor.type", "ray needs Ray: pip install 'curate[ray]'") from None
        self.ray = ray
        self._connect()
        resources = ray.cluster_resources()
        self.cores, gpus = int(resources.get("CPU", 0)), resources.get("GPU", 0)
        if ex.gpus_per_run > gpus:
            self.close()
            raise ConfigError("executor.gpus_per_run", f"{ex.gpus_per_run:g} GPU(s) per run, but the Ray cluster has "
                                                       f"{gpus:g} GPUs; set it to 0 or use a cluster with GPUs")
        if ex.cpus_per_run > self.cores:
            self.close()
            raise ConfigError("executor.cpus_per_run", f"{ex.cpus_per_run} CPUs per run, but the Ray cluster has "
                                                       f"{self.cores}")
        self.workers, self.threads = 1, ex.cpus_per_run

    def _connect(self) -> None:
        """Join the cluster at `address` (checked to answer within connect_timeout first: ray.init itself may wait
        minutes for a head that is not there) or start a local one for this sweep."""
        ray, ex = self.ray, self.ex
        os.environ.setdefault("RAY_AUTH_MODE", "disabled")  # a local cluster needs no token; a remote one sets its own
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # offline: no usage report
        if ray.is_initialized():  # a notebook that started Ray itself
            return
        if ex.address and ex.address != "auto":
            _check_answers(ex.address, ex.connect_timeout)
        options = {"log_to_driver": False, "logging_level": logging.ERROR}
        try:
            if ex.address:
                with _quiet_stderr():  # its C++ client warns on every retry, which would break the one-line error
                    ray.init(address=ex.address, **options)
            else:
                cpus = ex.workers * ex.cpus_per_run if ex.workers else cores()
                ray.init(num_cpus=cpus, include_dashboard=False, **options)
                self.started = True
        except Exception as e:  # noqa: BLE001 - Ray raises ConnectionError, RuntimeError, ValueError ...
            where = f"the Ray cluster at {ex.address}" if ex.address else "a local Ray cluster"
            said = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise ConfigError("executor.address", f"could not start or join {where}: {said}") from None

    def slots(self, todo: int) -> tuple[int, int]:
        fit = max(1, self.cores // self.ex.cpus_per_run)
        self.workers = max(1, min(self.ex.workers or fit, fit, todo or 1))
        return self.workers, self.threads

    def train(self, jobs, show) -> dict[str, str]:
        """Submit every run (at most `workers` in flight when set), follow their logs, retry a failure once."""
        from train.sweep.pool import LogTail

        ray, tail, failed = self.ray, LogTail(), {}
        task = ray.remote(num_cpus=self.ex.cpus_per_run, num_gpus=self.ex.gpus_per_run, max_retries=0)(_train_remote)
        queue, pending, tries = list(jobs), {}, {}
        limit = self.ex.workers or len(jobs)
        try:
            while queue or pending:
                while queue and len(pending) < limit:
                    name, cfg, run_dir = job = queue.pop(0)
                    tries[name] = tries.get(name, 0) + 1
                    tail.watch(name, run_dir)
                    pending[task.remote(name, cfg, run_dir, os.getcwd())] = job
                done, _ = ray.wait(list(pending), num_returns=1, timeout=2.0) if pending else ([], [])
                tail.poll(show)
                for ref in done:
                    job = pending.pop(ref)
                    error = self._result(ref)
                    tail.poll(show)
                    tail.forget(job[0])
                    if error and tries[job[0]] < ATTEMPTS:
                        print(f"\nsweep: {job[0]} failed ({error}); trying it once more", file=sys.stderr, flush=True)
                        show.step.pop(job[0], None)
                        queue.insert(0, job)
                        continue
                    if error:
                        failed[job[0]] = error
                    show.finish(job[0], error)
                show.render(force=bool(done))
        except KeyboardInterrupt:  # stop now: every run resumes from its last checkpoint when the sweep restarts
            for ref in pending:
                ray.cancel(ref, force=True)
            raise
        finally:
            self.close()
        show.close()
        return failed

    def _result(self, ref) -> str | None:
        try:
            return self.ray.get(ref)
        except self.ray.exceptions.RayError as e:  # the worker died (out of memory, a lost node), the task failed
            return f"{type(e).__name__}: {str(e).strip().splitlines()[0] if str(e).strip() else 'no message'}"

    def close(self) -> None:
        if self.started and self.ray.is_initialized():
            self.ray.shutdown()
            self.started = False

    def session(self) -> dict:
        return {"executor": self.type, "workers": self.workers, "threads": self.threads, "cores": self.cores}


@contextlib.contextmanager
def _quiet_stderr():
    """File descriptor 2 to /dev/null for the duration (Ray's C++ side writes there, not to sys.stderr)."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


HTTP2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes([0, 0, 0, 4, 0, 0, 0, 0, 0])  # + an empty SETTINGS frame


def _check_answers(address: str, timeout: float) -> None:
    """The head at `address` (host:port, or a ray://host:port client address) answers within `timeout` seconds as a
    gRPC server does: an HTTP/2 SETTINGS frame in reply to the client preface (RFC 9113, section 3.4). ray.init
    itself, pointed at a port that accepts connections and never answers, retries for minutes."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError("executor.address", f"expected host:port, ray://host:port or auto, got {address!r}")
    why = ""
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout) as conn:
            conn.sendall(HTTP2_PREFACE)
            reply = conn.recv(9)
        if len(reply) < 9 or reply[3] != 4:
            why = "it is no Ray head: no gRPC reply"
    except TimeoutError:
        why = f"no answer within {timeout:g} s"
    except OSError as e:
        why = (e.strerror or type(e).__name__).lower()
    if why:
        raise ConfigError("executor.address", f"{address} does not answer ({why}): start the cluster "
                                              "(ray start --head) or leave address unset for a local one")


def _train_remote(name: str, cfg, run_dir: Path, cwd: str) -> str | None:
    """In a Ray worker: one run, as a local pool worker trains it (log to run_dir/train.log); None or its error.
    Relative paths in the config (the curated runs) resolve against the directory the sweep was started in."""
    os.chdir(cwd)
    os.environ["OMP_NUM_THREADS"] = str(cfg.threads)
    from train.sweep.pool import train_one

    return train_one(name, cfg, Path(run_dir))


