"""Removal shares per language at each step of a run: the table `curate inspect` shows when a run used per-language
thresholds (``per_lang``), and benches/calibration.py compares between a default and a calibrated run.

A document reached a step if it was kept or rejected at that step or a later one; the share is rejected / reached.
Languages with fewer than ``min_docs`` documents are pooled by script (``script:Latn``), as ``curate calibrate``
pools them.
"""

from __future__ import annotations

import json
from pathlib import Path

from curate.inspect import columns


def per_lang_steps(run_dirs: list[str]) -> dict[str, str]:
    """{step: thresholds file} for the steps that ran with ``per_lang`` in any of ``run_dirs``."""
    out = {}
    for run in run_dirs:
        try:
            steps = json.loads((Path(run) / "run.json").read_text())["config"]["steps"]
        except (OSError, KeyError, json.JSONDecodeError):
            continue
        for item in steps:
            (name, params), = item.items()
            if (params or {}).get("per_lang"):
                out[name] = params["per_lang"]
    return out


def removal_by_group(con, steps: list[str], min_docs: int = 20) -> dict[str, dict[str, tuple[int, int]]]:
    """{step: {language or 'script:X': (reached, removed)}} over the docs and rejects views of ``con``."""
    script = "lang_script" if "lang_script" in columns(con, "docs", "rejects") else "NULL"
    positions = dict(con.execute("SELECT step, min(position) FROM stats GROUP BY step").fetchall())
    rows = con.execute(
        f"SELECT lang, {script} AS script, NULL AS step, count(*) FROM docs GROUP BY ALL UNION ALL "
        f"SELECT lang, {script} AS script, step, count(*) FROM rejects GROUP BY ALL"
    ).fetchall()
    per_lang: dict = {}
    for lang, _, _, n in rows:
        per_lang[lang] = per_lang.get(lang, 0) + n
    out: dict = {}
    for step in steps:
        at = positions.get(step)
        if at is None:
            continue
        table: dict = {}
        for lang, scr, rejected_by, n in rows:
            pos = positions.get(rejected_by, 10**9) if rejected_by else 10**9
            if pos < at:
                continue
            key = lang if per_lang.get(lang, 0) >= min_docs else f"script:{scr}"
            reached, removed = table.get(key, (0, 0))
            table[key] = (reached + n, removed + (n if pos == at else 0))
        out[step] = table
    return out


def per_lang_lines(con, run_dirs: list[str], top: int = 12) -> list[str]:
    """The `curate inspect` section, or [] when no step of the runs used per_lang."""
    steps = per_lang_steps(run_dirs)
    if not steps:
        return []
    out = ["", "== removal per language at steps with per-language thresholds (removed / reached)"]
    for step, table in removal_by_group(con, list(steps)).items():
        out.append(f"{step} (per_lang: {steps[step]})")
        for key, (reached, removed) in sorted(table.items(), key=lambda kv: -kv[1][0])[:top]:
            out.append(f"    {key!s:<16}{removed:>8,} / {reached:<8,}{removed / reached if reached else 0:>8.1%}")
    return out
