"""What the benches that time a curate checkout against another (``--before``) share."""

from __future__ import annotations

import compileall
from pathlib import Path


def bytecode(checkout: Path) -> None:
    """Compile a checkout's curate/ to bytecode, as an installed package has it (the baselines' came from pip): with
    PYTHONDONTWRITEBYTECODE set, as on the machine these benches ran on, every run would otherwise compile each
    module whose source is newer than its .pyc again (all of them in a fresh `git worktree`), up to 0.1 CPU s."""
    compileall.compile_dir(checkout / "curate", quiet=1)
