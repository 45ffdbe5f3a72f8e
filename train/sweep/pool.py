"""The sweep's process pool and its progress view.

Each of `workers` spawned processes trains one run after another (`train_run`). Each worker has
`threads` torch threads (cores / workers) and OMP_WAIT_POLICY=PASSIVE: with two torch processes on two cores,
spinning OpenMP threads slow both 10-60x (measured on a 2-core machine).
A run's log lines go to its train.log; its step lines also feed one progress view for the whole sweep.
"""

from __future__ import annotations

import contextlib
import os
import queue as queue_module
import shutil
import signal
import sys
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from train.errors import TrainError

_QUEUE = None  # in a worker: where its step lines go


def train_all(jobs: list[tuple[str, object, Path]], workers: int, threads: int, show: Progress) -> dict[str, str]:
    """Train each (name, TrainConfig, run_dir) in a pool of `workers` processes, one run after another in each;
    returns {name: error} of those that failed. The others carry on; a killed sweep resumes its runs from their
    checkpoints when started again."""
    import multiprocessing

    failed: dict[str, str] = {}
    if not jobs:
        show.render(force=True)
        return failed
    ctx = multiprocessing.get_context("spawn")  # a fresh interpreter: forking after torch started threads can hang
    queue = ctx.Queue()
    with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker, initargs=(threads, queue)) as pool:
        futures = {pool.submit(train_one, *job): job[0] for job in jobs}
        pending = set(futures)
        try:
            while pending:
                done, pending = wait(pending, timeout=2.0, return_when=FIRST_COMPLETED)
                show.drain(queue)
                for future in done:
                    try:
                        error = future.result()
                    except BrokenProcessPool as e:  # a worker killed from outside (out of memory, a signal)
                        error = f"worker died: {e!r}"
                    if error:
                        failed[futures[future]] = error
                    show.finish(futures[future], error)
                show.render(force=bool(done))
        except KeyboardInterrupt:  # stop now: every run resumes from its last checkpoint when the sweep restarts
            for process in list((pool._processes or {}).values()):  # Python < 3.14: no public terminate_workers()
                process.terminate()
            pool.shutdown(wait=False, cancel_futures=True)
            raise
    show.close()
    return failed


def _init_worker(threads: int, queue) -> None:
    global _QUEUE
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole process group: the parent decides
    _die_with_parent()
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"  # before torch loads in this process
    os.environ["OMP_NUM_THREADS"] = str(threads)
    _QUEUE = queue


def train_one(name: str, cfg, run_dir: Path) -> str | None:
    """Worker: one train_run; its log lines to run_dir/train.log and its steps to the progress view."""
    run_dir.mkdir(parents=True, exist_ok=True)
    if _QUEUE is not None:
        _QUEUE.put((name, False, 0))
    with open(run_dir / "train.log", "a") as log, contextlib.redirect_stderr(_Tee(log, name)):
        print(f"[sweep worker pid {os.getpid()}, {cfg.threads} thread(s)]", file=sys.stderr, flush=True)
        try:
            from train.loop import train_run

            train_run(cfg, run_dir, progress=True)
        except TrainError as e:
            print(f"error: {e}", file=sys.stderr, flush=True)
            return str(e)
        except Exception as e:  # noqa: BLE001 - any failure of one run is reported, the other runs carry on
            import traceback

            traceback.print_exc(file=log)
            return f"{type(e).__name__}: {e} (traceback in {run_dir / 'train.log'})"
    return None


class _Tee:
    """A worker's stderr: every line to the run's log; step lines ("step 12/300 | ...", "resumed from ... at step
    40/300") also to the progress queue."""

    def __init__(self, log, name: str):
        self.log, self.name, self.buffer = log, name, ""

    def write(self, text: str) -> int:
        self.log.write(text)
        self.buffer += text
        *lines, self.buffer = self.buffer.split("\n")
        for line in lines:
            if (event := step_of(line)) and _QUEUE is not None:
                _QUEUE.put((self.name, *event))
        return len(text)

    def flush(self) -> None:
        self.log.flush()


def step_of(line: str) -> tuple[bool, int] | None:
    """(resumed, step) of a run's step line ("step 12/300 | ...", "resumed from ... at step 40/300"), else None."""
    if not line.startswith(("step ", "resumed from ")):
        return None
    return line.startswith("resumed"), int(line.rsplit("step ", 1)[1].split()[0].split("/")[0])


class LogTail:
    """The progress of runs trained in other processes or on other machines (Ray workers, Slurm nodes), read from
    their train.log in the sweep directory as it grows."""

    def __init__(self):
        self.logs: dict[str, tuple[Path, int, str]] = {}  # name -> (train.log, bytes read, partial last line)

    def watch(self, name: str, run_dir: Path) -> None:
        log = run_dir / "train.log"
        self.logs[name] = (log, log.stat().st_size if log.is_file() else 0, "")  # earlier sessions' lines: skipped

    def poll(self, show: Progress) -> None:
        for name, (log, offset, partial) in list(self.logs.items()):
            if not log.is_file() or log.stat().st_size <= offset:
                continue
            with open(log, "rb") as f:
                f.seek(offset)
                data = f.read()
            *lines, partial = (partial + data.decode("utf-8", errors="replace")).split("\n")
            self.logs[name] = (log, offset + len(data), partial)
            if lines and name not in show.step:  # its first line: the run started
                show.update(name, False, 0)
            for line in lines:
                if event := step_of(line):
                    show.update(name, *event)

    def forget(self, name: str) -> None:
        self.logs.pop(name, None)


class Progress:
    """One view of the whole sweep: runs done / running / queued, the running runs' steps, elapsed time and ETA.
    On a terminal one line redrawn in place; otherwise a line whenever a run ends, and every 30 s."""

    def __init__(self, total: int, todo: list[str], steps: int, enabled: bool):
        self.total, self.todo, self.steps, self.enabled = total, todo, steps, enabled
        self.skipped = total - len(todo)
        self.start, self.last = time.time(), 0.0
        self.step: dict[str, int] = {}  # running runs
        self.first: dict[str, int] = {}  # the step each run (re)started from in this session
        self.done: list[str] = []
        self.failed = 0
        self.tty = sys.stderr.isatty()

    def drain(self, queue) -> None:
        while True:
            try:
                name, resumed, step = queue.get_nowait()
            except queue_module.Empty:
                return
            self.update(name, resumed, step)

    def update(self, name: str, resumed: bool, step: int) -> None:
        if name in self.done:
            return
        if resumed:
            self.first[name] = step
        self.first.setdefault(name, 0)
        self.step[name] = step

    def finish(self, name: str, error: str | None) -> None:
        self.step.pop(name, None)
        self.done.append(name)
        self.failed += bool(error)
        if error and self.enabled:
            print(f"\nsweep: {name} failed: {error}", file=sys.stderr, flush=True)

    def render(self, force: bool = False) -> None:
        now = time.time()
        if not self.enabled or (not force and not self.tty and now - self.last < 30):
            return
        self.last = now
        running = ", ".join(f"{n} step {s}/{self.steps}" for n, s in sorted(self.step.items()))
        queued = len(self.todo) - len(self.done) - len(self.step)
        failed = f", {self.failed} failed" if self.failed else ""
        line = (f"sweep: {len(self.done) + self.skipped}/{self.total} runs done ({self.skipped} skipped{failed}), "
                f"{len(self.step)} running, {queued} queued{f' [{running}]' if running else ''} | "
                f"{hms(now - self.start)} elapsed{self._eta(now)}")
        if self.tty:  # one line redrawn in place, cut to the terminal's width (a wrapped line cannot be redrawn)
            width = shutil.get_terminal_size().columns - 1
            print(f"\r{line[:width]}\x1b[K", end="", file=sys.stderr, flush=True)
        else:
            print(line, file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.enabled and self.tty:
            print(file=sys.stderr, flush=True)

    def _eta(self, now: float) -> str:
        """From the steps trained in this session (a resumed run counts only the steps it adds)."""
        done = len(self.done) * self.steps + sum(self.step.values())
        trained = done - sum(self.first.values())
        if trained <= 0:
            return ""
        return f", ETA {hms((len(self.todo) * self.steps - done) * (now - self.start) / trained)}"


def hms(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def _die_with_parent() -> None:
    """Linux: the kernel sends this worker SIGTERM when the sweep process dies (killed, even by SIGKILL), so no
    orphaned worker keeps training into a run directory that a restarted sweep resumes. The pool spawns its
    workers from the main thread (the spawn start method spawns on submit), whose death is the parent's."""
    if sys.platform != "linux":
        return
    import ctypes

    PR_SET_PDEATHSIG = 1
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() == 1:  # the parent died before the call took effect
        os._exit(1)
