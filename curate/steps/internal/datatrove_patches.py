"""Every place curate changes datatrove's behaviour from outside, in one module (datatrove 0.10.1).

Each patch says what it replaces and why; ``tests/test_datatrove_patches.py`` checks that the datatrove internals
they rely on still exist with the shape assumed here, so a datatrove upgrade that moves them fails a test instead of
silently bringing back tracebacks on the console or a crash while writing executor.json.

1. ``datatrove.executor.base.add_task_logger`` and ``datatrove.utils.logging.setup_default_logger``: datatrove adds an
   INFO handler on stderr for every task; curate keeps INFO in the per-task log file and shows one line per warning.
2. ``datatrove.executor.base.ExecutorJSONEncoder.default``: datatrove serialises every step's ``__dict__`` into
   executor.json; a curate step is described by its registry name, stage and resolved parameters instead.
3. ``loguru._better_exceptions.ExceptionFormatter._get_lib_dirs``: every ``logger.add`` (datatrove adds and removes
   handlers for each task and stage) asks ``sysconfig`` for the library folders of every install scheme, 36 path
   expansions: 0.07 CPU s of a 1,000-page web.yaml run, 0.1 s of a dedup.yaml run. The same answer for the same
   ``sys.path`` is remembered.
4. ``datatrove.executor.local.LocalPipelineExecutor.run`` starts a ``multiprocess.Manager`` (a forked server
   process) for every stage, also with one worker, which shares its queue of local ranks with no other process:
   0.12 CPU s of children in a web.yaml run (4 stages; one-task stages such as the dedup indexes and the final merge
   always run with one worker). :class:`LocalExecutor` runs a one-worker stage with an in-process queue instead.
5. ``datatrove.io`` imports ``huggingface_hub.HfFileSystem`` to ask ``isinstance(fs, HfFileSystem)`` of a folder's
   file system; that import loads the Hub's HTTP stack (hf_api, httpx, httpcore, trio: 0.22 CPU s, 4% of a
   1,000-page web.yaml run) into runs that read and write local files. :func:`import_datatrove_io` imports
   datatrove.io with a class that answers the same isinstance question without that import (nothing can be an
   HfFileSystem before its module is loaded) and builds the real one when called; ``huggingface_hub`` itself is
   left as it was, so every other import of HfFileSystem (fsspec's Hub protocol, datatrove's Hub writers) gets
   the real class.
"""

from __future__ import annotations

import functools
import sys


def _console() -> None:
    """Warnings and errors on stderr as one line each; tracebacks go only to the task log files."""
    from loguru import logger

    logger.remove()
    logger.add(sys.stderr, level="WARNING", format=lambda record: "{level}: {message}\n")


def quiet_datatrove() -> None:
    """Keep datatrove's INFO logs in its per-task log files; the console shows warnings and our progress only.

    datatrove re-adds an INFO handler on stderr for every task (``add_task_logger``) and after it
    (``setup_default_logger``); replace both in this process and in forked local workers, which inherit the patch.
    """
    import_datatrove_io()
    import datatrove.utils.logging as dt_logging
    from datatrove.executor import base
    from loguru import logger

    def add_task_logger(logging_dir, rank, local_rank=0, node_rank=-1):
        _console()
        logfile = logging_dir.open(f"logs/task_{rank:05d}.log", "w")
        logger.add(logfile, level="DEBUG")
        logger.info(f"Launching pipeline for {rank=}")
        return logfile

    add_task_logger._curate = True
    base.add_task_logger = add_task_logger
    dt_logging.setup_default_logger = _console
    _remember_lib_dirs()
    _console()
    _describe_steps_in_executor_json(base)


def _remember_lib_dirs() -> None:
    """loguru's library folders (used to shorten traceback paths), computed once per ``sys.path``, not per handler."""
    from loguru._better_exceptions import ExceptionFormatter

    compute = ExceptionFormatter._get_lib_dirs
    if getattr(compute, "_curate", False):
        return
    known: dict[tuple[str, ...], list[str]] = {}

    def lib_dirs() -> list[str]:
        key = tuple(sys.path)
        if key not in known:
            known[key] = compute()
        return list(known[key])

    lib_dirs._curate = True
    ExceptionFormatter._get_lib_dirs = staticmethod(lib_dirs)


def _describe_steps_in_executor_json(base) -> None:
    """datatrove writes each stage's executor.json from every step's ``__dict__``; a curate step holds run-time state
    there (compiled rules keyed by tuples, loaded models) that is not JSON. Describe a curate step by its registry name
    and resolved parameters instead: that is also what a person reading executor.json wants to see."""
    from curate.steps.base import Step

    encoder = base.ExecutorJSONEncoder
    if getattr(encoder.default, "_curate", False):
        return
    original = encoder.default

    def default(self, o):
        if isinstance(o, Step):
            return {"step": o.name, "stage": o.stage, "params": o.params.model_dump(mode="json")}
        return original(self, o)

    default._curate = True
    encoder.default = default


class _InProcessManager:
    """What ``LocalPipelineExecutor.run`` asks of ``multiprocess.Manager()`` when one worker runs every task of the
    stage in this process: a queue of local ranks (its counter and lock serve a pool of workers only)."""

    def Queue(self):
        import queue

        return queue.Queue()

    def shutdown(self) -> None:
        pass


class _WithoutManager:
    """The ``multiprocess`` module as datatrove.executor.local sees it while a one-worker stage starts."""

    def __init__(self, real):
        self._real = real

    def Manager(self):
        return _InProcessManager()

    def __getattr__(self, name):
        return getattr(self._real, name)


@functools.cache
def local_executor_class():
    """datatrove's ``LocalPipelineExecutor``, whose one-worker stages start no Manager process (patch 4)."""
    import_datatrove_io()
    from datatrove.executor import LocalPipelineExecutor, local

    class LocalExecutor(LocalPipelineExecutor):
        def run(self):
            if self.workers != 1:
                return super().run()
            if self.depends is not None and not self.depends._launched:
                self.depends.run()  # with its own workers and, for more than one, its own Manager
            real = local.multiprocess
            local.multiprocess = _WithoutManager(real)
            try:
                return super().run()
            finally:
                local.multiprocess = real

    # named as datatrove's class: a pool of several workers receives the executor pickled by reference and runs
    # datatrove's own task code, which this subclass leaves as it is; executor.json and the logs name it the same
    LocalExecutor.__qualname__ = LocalExecutor.__name__ = "LocalPipelineExecutor"
    LocalExecutor.__module__ = LocalPipelineExecutor.__module__
    return LocalExecutor


class _HfFileSystemMeta(type):
    def __instancecheck__(cls, obj) -> bool:
        module = sys.modules.get("huggingface_hub.hf_file_system")
        return module is not None and isinstance(obj, module.HfFileSystem)

    def __subclasscheck__(cls, sub) -> bool:
        module = sys.modules.get("huggingface_hub.hf_file_system")
        return module is not None and issubclass(sub, module.HfFileSystem)


class _HfFileSystem(metaclass=_HfFileSystemMeta):
    """``huggingface_hub.HfFileSystem`` as datatrove.io sees it (patch 5): isinstance and issubclass answer as for the
    real class, and calling it builds the real one."""

    def __new__(cls, *args, **kwargs):
        from huggingface_hub import HfFileSystem

        return HfFileSystem(*args, **kwargs)


def import_datatrove_io() -> None:
    """Import ``datatrove.io`` (and so datatrove's executors) without the Hub's HTTP stack (patch 5)."""
    if "datatrove.io" in sys.modules:
        return
    import huggingface_hub

    if "HfFileSystem" in vars(huggingface_hub) or "huggingface_hub.hf_file_system" in sys.modules:
        import datatrove.io
        return
    huggingface_hub.HfFileSystem = _HfFileSystem  # what `from huggingface_hub import HfFileSystem` finds
    try:
        import datatrove.io  # noqa: F401
    finally:
        if vars(huggingface_hub).get("HfFileSystem") is _HfFileSystem:
            del huggingface_hub.HfFileSystem  # the package's own lazy attribute again for everyone else
