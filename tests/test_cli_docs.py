"""Every command of `curate` and `train` has help and is shown in the README (as sqlite-utils checks its own)."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from curate.cli import main as curate_main
from train.cli import main as train_main


def commands(group: click.Group, prefix: str) -> list[tuple[str, click.Command]]:
    ctx = click.Context(group)
    out = []
    for name in group.list_commands(ctx):
        cmd = group.get_command(ctx, name)
        if isinstance(cmd, click.Group):
            out += commands(cmd, f"{prefix} {name}")
        else:
            out.append((f"{prefix} {name}", cmd))
    return out


ALL = commands(curate_main, "curate") + commands(train_main, "train")


def test_the_expected_commands_exist():
    names = {n for n, _ in ALL}
    assert {"curate run", "curate steps", "curate sql", "curate inspect", "curate audit", "curate plan",
            "curate classifier train", "train run", "train generate", "train export", "train sweep",
            "train report"} <= names


@pytest.mark.parametrize(("name", "cmd"), ALL, ids=[n for n, _ in ALL])
def test_command_has_help_and_is_in_readme(name, cmd, root):
    group = curate_main if name.startswith("curate") else train_main
    result = CliRunner().invoke(group, name.split()[1:] + ["--help"])
    assert result.exit_code == 0 and (cmd.help or "").strip(), name
    assert name in (root / "README.md").read_text(), f"`{name}` is not in README.md"


def test_import_curate_and_listing_steps_stays_light():
    """`import curate` and the step registry load no torch, fastText, DuckDB or scikit-learn: `curate steps` and
    `curate run --dry-run` answer at once, and a heavy library loads only in the step that needs it."""
    import subprocess
    import sys

    code = ("import sys, curate, curate.cli; from curate.registry import all_steps; all_steps(); "
            "print(sorted(m for m in ('torch', 'fasttext', 'duckdb', 'sklearn', 'ray') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_train_without_the_train_extra_names_the_install_line(tmp_path):
    """`pip install curate` (no [train] extra) curates; a `train` command then says what to install, in one line."""
    import subprocess
    import sys

    code = ("import sys; sys.modules['torch'] = None; from train.cli import main; "
            "main(['run', 'pipelines/mix.yaml', '-o', sys.argv[1]])")
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path / "run")], capture_output=True, text=True,
                          check=False, cwd=Path(__file__).resolve().parents[1])
    assert proc.returncode == 1
    assert "pip install 'curate[train]'" in proc.stderr and "Traceback" not in proc.stderr
