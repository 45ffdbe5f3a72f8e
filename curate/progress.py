"""A live progress line on stderr: documents/s, MB/s and ETA (by bytes of input read)."""

from __future__ import annotations

import sys
import time


class Progress:
    def __init__(self, label: str, total_bytes: int = 0, every: float = 2.0, stream=None):
        self.label = label
        self.total = total_bytes
        self.every = every
        self.stream = stream or sys.stderr
        self.docs = 0
        self.bytes = 0
        self.t0 = self._last = time.perf_counter()

    def add_bytes(self, n: int) -> None:
        self.bytes += n

    def add_doc(self, n: int = 1) -> None:
        self.docs += n
        now = time.perf_counter()
        if now - self._last >= self.every:
            self._last = now
            self._print(now, end="\r")

    def line(self, now: float) -> str:
        dt = max(now - self.t0, 1e-9)
        mb_s = self.bytes / dt / 1e6
        text = f"[{self.label}] {self.docs:,} docs  {self.docs / dt:,.0f} docs/s  {mb_s:.1f} MB/s"
        if self.total and self.bytes:
            eta = max(self.total - self.bytes, 0) / max(self.bytes / dt, 1e-9)
            text += f"  {100 * min(self.bytes / self.total, 1):.0f}%  ETA {int(eta) // 60}:{int(eta) % 60:02d}"
        return text

    def _print(self, now: float, end: str) -> None:
        print(self.line(now), end=end if self.stream.isatty() else "\n", file=self.stream, flush=True)

    def note(self, message: str) -> None:
        print(f"[{self.label}] {message}", file=self.stream, flush=True)

    def done(self) -> None:
        self._print(time.perf_counter(), end="\n")
