"""The sweep's process pool and its progress view.

Each of `workers` spawned processes trains one run after another (`train_run`). With the sweep's `stack: true`,
runs that can train together (train/model/batched.py: same shape and schedule, shared tokenizer, not yet started) are
split into groups instead; each group trains as one stacked model in one process, so the per-step overhead is
paid once per group rather than once per run, and runs resuming from a checkpoint train alone. Each worker has
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


def train_all(jobs: list[tuple[str, object, Path]], workers: int, threads: int, show: Progress, *,
              stack: bool = False) -> dict[str, str]:
    """Train each (name, TrainConfig, run_dir) in a pool of `workers` processes, one run after another in each, or
    with `stack` in groups trained together; returns {name: error} of those that failed. The others carry on; a
    killed sweep resumes its runs from their checkpoints when started again."""
    import multiprocessing

    failed: dict[str, str] = {}
    if not jobs:
        show.render(force=True)
        return failed
    ctx = multiprocessing.get_context("spawn")  # a fresh interpreter: forking after torch started threads can hang
    queue = ctx.Queue()
    with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker, initargs=(threads, queue)) as pool:
        futures = {}
        for group in groups(jobs, workers) if stack else [[job] for job in jobs]:
            if len(group) == 1:  # nothing to stack it with (or resuming from its checkpoint): the plain train_run
                futures[pool.submit(_train_one, *group[0])] = [group[0][0]]
            else:
                futures[pool.submit(_train_group, group)] = [name for name, _, _ in group]
        pending = set(futures)
        try:
            while pending:
                done, pending = wait(pending, timeout=2.0, return_when=FIRST_COMPLETED)
                show.drain(queue)
                for future in done:
                    try:
                        errors = future.result()
                    except BrokenProcessPool as e:  # a worker killed from outside (out of memory, a signal)
                        errors = f"worker died: {e!r}"
                    for name in futures[future]:
                        error = errors.get(name) if isinstance(errors, dict) else errors
                        if error:
                            failed[name] = error
                        show.finish(name, error)
                show.render(force=bool(done))
        except KeyboardInterrupt:  # stop now: every run resumes from its last checkpoint when the sweep restarts
            for process in list((pool._processes or {}).values()):  # Python < 3.14: no public terminate_workers()
                process.terminate()
            pool.shutdown(wait=False, cancel_futures=True)
            raise
    show.close()
    return failed


def groups(jobs: list[tuple[str, object, Path]], workers: int) -> list[list[tuple[str, object, Path]]]:
    """Runs to train together: those with one compatible_key and no checkpoint yet, dealt round-robin into
    `workers` groups (so every core has work), or into a multiple of `workers` when memory or the stacking cap
    needs more groups (so groups run in whole waves of equal size); a run with a checkpoint is a group of its own
    (it resumes alone)."""
    from train.model.batched import compatible_key

    out, together = [], {}
    for job in jobs:
        if (job[2] / "ckpt.pt").is_file():
            out.append([job])
        else:
            together.setdefault(compatible_key(job[1]), []).append(job)
    for same in together.values():
        n = max(min(workers, len(same)), -(-len(same) * _bytes_per_run(same[0][1]) // GROUP_BYTES),
                -(-len(same) // max_stacked(same[0][1])))
        n = min(len(same), -(-n // workers) * workers)  # whole waves: 3 groups on 2 workers would leave a core idle
        out += [same[i::n] for i in range(n)]
    return out


def max_stacked(cfg) -> int:
    """Most runs one group stacks: as many as keep one sequence of each within the micro-batch bound
    (train.loop.LOGITS_PER_PASS). Beyond it every forward pass allocates logits glibc maps and unmaps, and the page
    faults cost more than stacking saves (benches/train_alloc.py); nanoGPT-sized vocabularies stack by the hundred."""
    from train.loop import sequences_per_pass

    return sequences_per_pass(cfg.model.block_size, cfg.model.vocab_size or cfg.tokenizer.vocab_size)


GROUP_BYTES = 4 << 30  # memory one group of stacked runs may take; larger groups are split


def _bytes_per_run(cfg) -> int:
    """Rough training memory of one run: float32 logits, their gradient and softmax (3 x B x T x V), activations
    (~16 x B x T x C per layer) and weights, gradients and AdamW moments (4 x params)."""
    m, vocab = cfg.model, cfg.model.vocab_size or cfg.tokenizer.vocab_size
    tokens = cfg.batch_size * m.block_size
    params = vocab * m.n_embd + m.n_layer * (4 * m.n_embd**2 + 3 * m.n_embd * m.ffn_hidden)
    return 4 * (3 * tokens * vocab + 16 * tokens * m.n_embd * m.n_layer + 4 * params)


def _init_worker(threads: int, queue) -> None:
    global _QUEUE
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole process group: the parent decides
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"  # before torch loads in this process
    os.environ["OMP_NUM_THREADS"] = str(threads)
    _QUEUE = queue


def _train_one(name: str, cfg, run_dir: Path) -> str | None:
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


def _train_group(group: list[tuple[str, object, Path]]) -> dict[str, str]:
    """Worker: the runs of `group` trained together (train/model/batched.py); {name: error} if the group failed."""
    with contextlib.ExitStack() as stack:
        tees = {}
        for name, cfg, run_dir in group:
            run_dir.mkdir(parents=True, exist_ok=True)
            tees[name] = _Tee(stack.enter_context(open(run_dir / "train.log", "a")), name)
            tees[name].write(f"[sweep worker pid {os.getpid()}, {cfg.threads} thread(s), {len(group)} run(s) "
                             "trained together]\n")
            if _QUEUE is not None:
                _QUEUE.put((name, False, 0))
        try:
            from train.model.batched import train_together

            def log_for(name):
                def log(line: str) -> None:
                    tees[name].write(line + "\n")
                    tees[name].flush()  # a user tailing train.log sees each line as it comes

                return log

            train_together(group, log_for)
        except TrainError as e:
            return {name: str(e) for name, _, _ in group}
        except Exception as e:  # noqa: BLE001 - a failed group is reported, the other groups carry on
            import traceback

            for name, _, run_dir in group:
                traceback.print_exc(file=tees[name].log)
            return {name: f"{type(e).__name__}: {e} (traceback in {run_dir / 'train.log'})" for name, _, run_dir in group}
    return {}


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
            if line.startswith(("step ", "resumed from ")) and _QUEUE is not None:
                step = line.rsplit("step ", 1)[1].split()[0]
                _QUEUE.put((self.name, line.startswith("resumed"), int(step.split("/")[0])))
        return len(text)

    def flush(self) -> None:
        self.log.flush()


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
            if name in self.done:
                continue
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
