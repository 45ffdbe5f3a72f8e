"""Benchmark: the two signals that were quadratic on one long line, before (commit 4517fe9) and after, side by side.

    python benches/linear_signals.py                 # -> benches/linear_signals.json (about 2 minutes)

* ``garbage_frac`` (book_quality_v1) on one line of the bundled books with OCR-like digits (benches/adversarial.py's
  ``prose()``: an "o" inside 4% of words read as "0"), at 1, 2 and 4 MB. Before: each hit looked back with three
  ``rfind`` calls to the previous space, tab or newline, which on one line is the whole line so far.
* the e-mail pattern of pii_redact_v1 on a run of address characters with no "@" (``ab-`` repeated, as a line of
  hyphenated words without spaces), at 10, 20 and 40 KB, and the new one also at 1.3 MB. Before: every word boundary
  of the run started a match that scanned to the run's end.

The old code is read from git (``git show 4517fe9:curate/signals/...``), so this needs the repository's history.
Both sides run in this process, one after the other at each size; their values are compared.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benches"))
OLD = "4517fe9"


def old_module(path: str) -> dict:
    """The namespace of ``path`` as it was at commit OLD."""
    source = subprocess.run(["git", "show", f"{OLD}:{path}"], capture_output=True, text=True, check=True, cwd=ROOT)
    namespace: dict = {"__name__": f"old_{Path(path).stem}"}
    exec(compile(source.stdout, f"{OLD}:{path}", "exec"), namespace)  # noqa: S102 (the project's own past code)
    return namespace


def timed(fn, *args) -> tuple[float, object]:
    t0 = time.perf_counter()
    value = fn(*args)
    return time.perf_counter() - t0, value


def garbage_rows(sizes_mb: list[float]) -> list[dict]:
    from adversarial import prose

    from curate.signals import books

    old = old_module("curate/signals/books.py")["garbage_frac"]
    line = re.sub(r"\s*\n\s*", " ", prose())
    rows = []
    for mb in sizes_mb:
        text = (line * (int(mb * 1e6) // len(line) + 1))[: int(mb * 1e6)]
        t_old, v_old = timed(old, text)
        t_new, v_new = timed(books.garbage_frac, text)
        rows.append({"signal": "garbage_frac", "input": "one line of OCR-damaged books", "mb": mb,
                     "old_seconds": round(t_old, 3), "new_seconds": round(t_new, 3), "same_value": v_old == v_new,
                     "speedup": round(t_old / t_new, 1)})
        print(rows[-1])
    return rows


def email_rows(sizes_kb: list[int], new_only_kb: int) -> list[dict]:
    from curate.signals import pii

    old = old_module("curate/signals/pii.py")["EMAIL"]
    rows = []
    for kb in sizes_kb + [new_only_kb]:
        text = ("ab-" * (kb * 1000 // 3 + 1))[: kb * 1000]
        t_new, v_new = timed(lambda t: [m.group(0) for m in pii.EMAIL.finditer(t)], text)
        row = {"signal": "email pattern", "input": "'ab-' repeated, no '@'", "kb": kb, "new_seconds": round(t_new, 3)}
        if kb != new_only_kb:
            t_old, v_old = timed(lambda t: [m.group(0) for m in old.finditer(t)], text)
            row.update(old_seconds=round(t_old, 3), same_value=v_old == v_new, speedup=round(t_old / t_new, 1))
        rows.append(row)
        print(row)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", default=str(ROOT / "benches" / "linear_signals.json"))
    args = ap.parse_args()
    result = {"command": " ".join(["python", *sys.argv]),
              "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
              "machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
              "old_code": OLD, "load_before": os.getloadavg()}
    result["rows"] = garbage_rows([1, 2, 4]) + email_rows([10, 20, 40], 1300)
    result["load_after"] = os.getloadavg()
    Path(args.json).write_text(json.dumps(result, indent=1) + "\n")
    print(f"-> {args.json}")


if __name__ == "__main__":
    main()
