"""`curate audit --labels FILE`: the labelled check of a run over human-labelled text (1 toxic, 0 not).

A run of a safety pipeline over labelled rows (``curate run pipelines/safety.yaml -i eval.jsonl -o runs/eval``),
joined by ``id`` with the labels, answers two questions a bias audit of unlabelled data cannot:

* over-removal of identity mentions: among NON-toxic rows (label 0, so every removal is a false positive), the
  removal rate of rows that mention an identity group (any ``identity__<group>`` > 0) against that of the other
  non-toxic rows. ``ratio`` = identity rate / other rate; the check passes when ``ratio <= threshold`` (1.25, the
  audit's flag) or the two rates are within ``max_gap`` (one percentage point: at rates near zero a ratio is noise).
  Each filter step's share of the identity rows' removals is listed, so the step to fix is named.
* ranking quality of the learned score: AUROC of the ``toxicity`` column against the labels (rows it scored).

The labels file is JSON Lines or Parquet with ``id`` and ``label`` (other fields are ignored).
"""

from __future__ import annotations

import math
from pathlib import Path

from curate.errors import ConfigError


def _labels_view(con, path: Path) -> None:
    p = str(path).replace("'", "''")
    reader = "read_parquet" if path.suffix == ".parquet" else "read_json_auto"
    try:
        con.execute(f"CREATE TEMP VIEW labels AS SELECT CAST(id AS VARCHAR) AS id, CAST(label AS INTEGER) AS label "
                    f"FROM {reader}('{p}')")
        con.execute("SELECT count(*) FROM labels").fetchone()
    except Exception as e:  # noqa: BLE001 - duckdb raises several types; one line for the user
        raise ConfigError(f"--labels {path}: needs `id` and `label` (1 toxic, 0 not): {str(e).splitlines()[0]}") from None


def labelled_check(run_dir: str | Path, labels: Path, threshold: float = 1.25, max_gap: float = 0.01) -> dict:
    """The numbers of the labelled check for one run directory (see the module docstring)."""
    from curate.inspect import connect
    from curate.metrics import auroc

    con = connect([run_dir])
    _labels_view(con, Path(labels))
    cols = {r[0] for r in con.execute("DESCRIBE docs").fetchall()}
    groups = sorted(c for c in cols if c.startswith("identity__"))
    if not groups:
        raise ConfigError(f"{run_dir}: no identity__* columns; put identity_terms_v1 first in the pipeline")
    mentions = " OR ".join(f"coalesce({g}, 0) > 0" for g in groups)
    rows = con.execute(
        f"""WITH r AS (SELECT id, toxicity, NULL AS step, {mentions} AS ident FROM docs
                       UNION ALL BY NAME
                       SELECT id, toxicity, step, {mentions} AS ident FROM rejects)
            SELECT r.step, r.ident, l.label, r.toxicity FROM r JOIN labels l USING (id)"""
    ).fetchall()
    if not rows:
        raise ConfigError(f"--labels {labels}: no id of it is in {run_dir}")
    clean = [(step, ident) for step, ident, label, _ in rows if label == 0]

    def rate(ident: bool) -> tuple[int, int]:
        part = [step for step, i in clean if bool(i) == ident]
        return sum(s is not None for s in part), len(part)

    (rid, nid), (roth, noth) = rate(True), rate(False)
    rate_id, rate_oth = (rid / nid if nid else 0.0), (roth / noth if noth else 0.0)
    ratio = rate_id / rate_oth if rate_oth else (float("inf") if rate_id else 1.0)
    by_step: dict[str, int] = {}
    for step, ident in clean:
        if ident and step is not None:
            by_step[step] = by_step.get(step, 0) + 1
    scored = [(label, tox) for _, _, label, tox in rows if tox is not None]
    auc = auroc([lab for lab, _ in scored], [t for _, t in scored]) if scored else float("nan")
    return {
        "run": str(run_dir),
        "labelled_rows": len(rows),
        "toxic_rows": sum(label == 1 for _, _, label, _ in rows),
        "identity_removed": rid,
        "identity_rows": nid,
        "other_removed": roth,
        "other_rows": noth,
        "identity_rate": rate_id,
        "other_rate": rate_oth,
        "ratio": ratio,
        "passes": ratio <= threshold or abs(rate_id - rate_oth) <= max_gap,
        "identity_removed_by_step": by_step,
        "auroc": None if math.isnan(auc) else auc,  # None: no score, or one class only (AUROC undefined)
        "scored_rows": len(scored),
    }


def labelled_markdown(checks: list[dict], threshold: float) -> list[str]:
    md = [
        "## Labelled check",
        "",
        (
            "Non-toxic rows (label 0) only: removal rate of rows mentioning an identity group vs the other rows; "
            f"passes at a ratio <= {threshold} or within one percentage point. AUROC: the `toxicity` score against "
            "all labels."
        ),
        "",
        "| run | identity removed | other removed | ratio | passes | removed by step (identity rows) | AUROC |",
        "|---|---|---|---|---|---|---|",
    ]
    for c in checks:
        steps = ", ".join(f"{s} {n}" for s, n in sorted(c["identity_removed_by_step"].items())) or "-"
        auc = "-" if c["auroc"] is None else f"{c['auroc']:.3f} ({c['scored_rows']} rows)"
        md.append(
            f"| {c['run']} | {c['identity_removed']}/{c['identity_rows']} ({100 * c['identity_rate']:.1f}%) | "
            f"{c['other_removed']}/{c['other_rows']} ({100 * c['other_rate']:.1f}%) | {c['ratio']:.2f} | "
            f"{'yes' if c['passes'] else '**no**'} | {steps} | {auc} |"
        )
    return md + [""]
