"""The trainer's one way to write a file, and to count the cores it may use."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_path(path: Path | str) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` (named by process, so concurrent writers never share one); on success
    rename it into place, on an exception remove it. A reader never sees a half-written checkpoint or table."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        yield tmp
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, path)


def cores() -> int:
    """CPU cores this process may run on (its affinity mask, e.g. under taskset or a Slurm allocation)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def keep_freed_memory() -> None:
    """Ask glibc to keep freed blocks up to 32 MiB on its heap instead of returning them to the kernel (mallopt
    M_MMAP_THRESHOLD, M_TRIM_THRESHOLD, M_TOP_PAD). A training step frees and reallocates the same large tensors
    every step; by default glibc may unmap them and fault fresh pages in again (benches/train_alloc.py measures it
    with the micro-batch rule). A no-op off glibc (macOS, musl) and when CURATE_MALLOC=default."""
    if os.environ.get("CURATE_MALLOC") == "default":
        return
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return
    M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD = -1, -2, -3
    mallopt(M_MMAP_THRESHOLD, 32 << 20)  # glibc's largest allowed value on 64-bit
    mallopt(M_TRIM_THRESHOLD, 1 << 30)
    mallopt(M_TOP_PAD, 64 << 20)
