"""Render query results as an aligned table, CSV or JSON lines."""

from __future__ import annotations

import csv
import io
import json


def _cell(v) -> str:
    if v is None:
        return "NULL"
    if isinstance(v, float):
        return f"{v:.6g}"
    s = str(v).replace("\n", "\\n")
    return s if len(s) <= 80 else s[:77] + "..."


def render(cols: list[str], rows: list[tuple], fmt: str = "table") -> str:
    if fmt == "json":
        return "\n".join(json.dumps(dict(zip(cols, r)), default=str, ensure_ascii=False) for r in rows)
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(cols)
        w.writerows(rows)
        return buf.getvalue().rstrip("\n")
    cells = [[_cell(v) for v in r] for r in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(cols)]
    line = lambda vals: "  ".join(v.ljust(w) for v, w in zip(vals, widths)).rstrip()
    out = [line(cols), line(["-" * w for w in widths])] + [line(r) for r in cells]
    out.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
    return "\n".join(out)
