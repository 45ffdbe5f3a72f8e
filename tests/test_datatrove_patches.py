"""The datatrove internals that curate/steps/internal/datatrove_patches.py replaces are still where, and shaped as,
the patches assume. A datatrove upgrade that moves them fails here, not as tracebacks on users' consoles."""

from __future__ import annotations

import inspect
import json
from importlib.metadata import version

from datatrove.executor import base
from datatrove.utils import logging as dt_logging


def test_task_logger_is_looked_up_where_the_patch_replaces_it():
    # the executor calls add_task_logger through its module global, which quiet_datatrove() rebinds
    run_for_rank = inspect.getsource(base.PipelineExecutor._run_for_rank)
    assert "add_task_logger(self.logging_dir, rank, local_rank, node_rank=node_rank)" in run_for_rank
    assert list(inspect.signature(dt_logging.add_task_logger).parameters)[:2] == ["logging_dir", "rank"]
    # closing a task re-adds datatrove's stderr handler through the module global the patch rebinds
    assert "setup_default_logger()" in inspect.getsource(dt_logging.close_task_logger)


def test_executor_json_goes_through_the_encoder_the_patch_extends():
    assert issubclass(base.ExecutorJSONEncoder, json.JSONEncoder)
    assert "cls=ExecutorJSONEncoder" in inspect.getsource(base.PipelineExecutor.save_executor_as_json)


def test_patches_apply_once_and_describe_steps():
    from curate.steps.internal.datatrove_patches import quiet_datatrove

    quiet_datatrove()
    quiet_datatrove()  # idempotent: a second call does not wrap the encoder twice
    assert getattr(base.add_task_logger, "_curate", False)
    assert getattr(base.ExecutorJSONEncoder.default, "_curate", False)
    assert version("datatrove") == "0.10.1", "datatrove changed: re-check every patch in datatrove_patches.py"


def test_loguru_lib_dirs_are_computed_once_and_stay_the_same():
    """loguru builds an ExceptionFormatter per handler and asks it for the library folders: the patched method gives
    what the original gives, for the current sys.path, without asking sysconfig again."""
    import sys
    import sysconfig

    from loguru._better_exceptions import ExceptionFormatter

    from curate.steps.internal.datatrove_patches import quiet_datatrove

    assert "self._lib_dirs = self._get_lib_dirs()" in inspect.getsource(ExceptionFormatter.__init__)
    quiet_datatrove()
    patched = ExceptionFormatter._get_lib_dirs
    assert getattr(patched, "_curate", False)
    first = patched()
    assert first and all(d.endswith("/") for d in first)
    calls = []
    real = sysconfig.get_path
    sysconfig.get_path = lambda *a, **k: calls.append(a) or real(*a, **k)
    try:
        assert ExceptionFormatter()._lib_dirs == first and not calls
        sys.path.append("/nonexistent-curate-test")
        try:
            patched()  # another sys.path: computed afresh
            assert calls
        finally:
            sys.path.remove("/nonexistent-curate-test")
    finally:
        sysconfig.get_path = real


def test_one_worker_stages_start_no_manager_process_and_two_workers_still_share_a_pool(tmp_path, tiny_pipeline):
    """The tiny pipeline (4 stages: read and hash, exact-dedup index, apply and write, finalize) with one worker
    never calls multiprocess.Manager (each call forks a server process); with two workers its 2-task stages do, and
    both runs keep the same documents."""
    import multiprocess
    from click.testing import CliRunner

    from curate.cli import main
    from curate.inspect import connect

    real, calls = multiprocess.Manager, []

    def manager(*a, **k):
        calls.append(1)
        return real(*a, **k)

    multiprocess.Manager = manager
    try:
        one = CliRunner().invoke(main, ["run", str(tiny_pipeline), "-o", str(tmp_path / "one")])
        assert one.exit_code == 0, one.output
        assert calls == []
        two = CliRunner().invoke(main, ["run", str(tiny_pipeline), "-o", str(tmp_path / "two"),
                                        "--set", "executor.workers=2"])
        assert two.exit_code == 0, two.output
        assert len(calls) == 2  # segment0 and segment1 (2 tasks each); the index and finalize stages have one
    finally:
        multiprocess.Manager = real
    docs = "SELECT id, text FROM docs ORDER BY id"
    assert connect([tmp_path / "one"]).execute(docs).fetchall() == connect([tmp_path / "two"]).execute(docs).fetchall()
    assert connect([tmp_path / "one"]).execute(docs).fetchall()


def test_datatrove_io_loads_without_the_hub_and_still_knows_a_hub_file_system(tmp_path):
    """datatrove.io asks only isinstance(fs, HfFileSystem) of huggingface_hub's class; imported through curate it
    does so without loading the Hub's HTTP stack, answers as the real class would for local and Hub file systems,
    and leaves huggingface_hub's own HfFileSystem untouched for everyone else."""
    import subprocess
    import sys
    import textwrap

    import datatrove.io

    source = inspect.getsource(datatrove.io)
    assert source.count("HfFileSystem") == 2  # the import, and one isinstance check
    assert "isinstance(_get_true_fs(self.fs), HfFileSystem)" in source
    code = textwrap.dedent(f"""
        import sys
        from curate.steps.internal.datatrove_patches import import_datatrove_io
        import_datatrove_io()
        import datatrove.io
        from datatrove.executor import LocalPipelineExecutor
        assert "huggingface_hub.hf_file_system" not in sys.modules and "httpx2" not in sys.modules
        folder = datatrove.io.get_datafolder({str(tmp_path)!r})
        folder.open("a.txt", "w").write("x")  # a local folder works as before
        assert sorted(folder.list_files()) == ["a.txt"]
        assert not isinstance(folder.fs, datatrove.io.HfFileSystem)
        import huggingface_hub
        from huggingface_hub import HfFileSystem
        assert HfFileSystem.__module__ == "huggingface_hub.hf_file_system" and huggingface_hub.HfFileSystem is HfFileSystem
        hub = datatrove.io.HfFileSystem()
        assert type(hub) is HfFileSystem and isinstance(hub, datatrove.io.HfFileSystem)
        assert issubclass(HfFileSystem, datatrove.io.HfFileSystem)
        print("ok")
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False,
                         env={**__import__("os").environ, "HF_HUB_OFFLINE": "1"})
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["ok"]
