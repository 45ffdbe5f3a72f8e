"""What `curate audit RUN_DIR [RUN_DIR ...] -o OUT` writes (the command is curate/commands/audit.py): what each
filter did to documents that mention each identity group.

Blocklists and toxicity classifiers remove harmless text about minorities, women, religions and dialects more often
than other text (Dixon et al. 2018; Dodge et al. 2021 for C4's blocklist). From a run directory alone (the
identity columns of identity_terms_v1 on kept and rejected documents, the step of every reject), the audit reports
per source and language, for every filter step in pipeline order: its removal rate among documents mentioning each
group divided by its overall removal rate (flagged above 1.25), the share of documents mentioning each group before
and after, and he / she / they pronoun counts before and after the pipeline. Several run directories (say, the same
pipeline with and without ``protected_terms``) are audited side by side.

Writes OUT/audit.md, OUT/<run>_ratios.png, OUT/<run>_shares.png, OUT/<run>_pronouns.png, OUT/audit.parquet (one row
per run, source, lang, step, group), OUT/pronouns.parquet and OUT/languages.parquet (removal rate per language and
step over all documents, since the identity lexicon is English only). How the numbers are computed: curate/audit/data.py.
"""

from __future__ import annotations

from pathlib import Path

from curate.audit.data import ALL, language_table, load_run, pronoun_table, removal_table
from curate.audit.report import (
    plot_pronouns,
    plot_ratios,
    plot_shares,
    pooled,
    pronoun_markdown,
    ratio_markdown,
    share_markdown,
)
from curate.io import atomic_path, atomic_write_text

LEGEND = (
    "Cells: removal rate among documents mentioning the group / the step's overall removal rate "
    "(documents removed / entering that mention the group). **Bold**: above the flag threshold; "
    "~: fewer than `--min-docs` entering documents mention the group (noisy)."
)


def write_parquet(rows: list[dict], path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pylist(rows) if rows else pa.table({})
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)


def audit_runs(run_dirs: list[str], out: Path, threshold: float = 1.25, min_docs: int = 30) -> list[str]:
    """Audit ``run_dirs`` into ``out``; returns the Markdown lines (also written to out/audit.md)."""
    out.mkdir(parents=True, exist_ok=True)
    runs = [load_run(d) for d in run_dirs]
    labels = [rc.label for rc in runs]
    if len(set(labels)) < len(labels):  # two runs with the same folder name: number them
        for i, rc in enumerate(runs):
            rc.label = f"{i + 1}-{rc.label}"
    removal, pronouns, languages = [], [], []
    md = ["# Bias audit", "", LEGEND, ""]
    for rc, run_dir in zip(runs, run_dirs):
        rows, prs, langs = removal_table(rc, threshold, min_docs), pronoun_table(rc), language_table(rc, min_docs)
        removal += rows
        pronouns += prs
        languages += langs
        md += _run_section(rc, run_dir, rows, prs, out, threshold, min_docs)
        md += _language_section(langs, threshold, min_docs)
    if len(runs) > 1:
        md += _comparison(runs, removal)
    write_parquet(removal, out / "audit.parquet")
    write_parquet(pronouns, out / "pronouns.parquet")
    write_parquet(languages, out / "languages.parquet")
    atomic_write_text(out / "audit.md", "\n".join(md) + "\n")
    return md


def _run_section(rc, run_dir, rows, prs, out: Path, threshold: float, min_docs: int) -> list[str]:
    md = [f"## Run `{rc.label}` ({run_dir})", ""]
    measured = sum(r["n"] for r in rc.rows)
    md.append(
        f"{measured} documents with identity counts; filter steps audited: "
        f"{', '.join(s for _, s in rc.steps) or 'none'}."
    )
    if rc.unmeasured_steps:
        md.append(
            f"Not audited (ran before identity_terms_v1, so their rejects have no identity counts): "
            f"{', '.join(rc.unmeasured_steps)}."
        )
    md.append("")
    top = pooled(rows)
    if not top:
        return md + ["No filter step removed documents with identity counts.", ""]
    md += [f"### Removal-rate ratios, every document with identity counts ({_covered(rc)})", "",
           *ratio_markdown(top, rc.groups), ""]
    md += [f"![ratios]({rc.label}_ratios.png)", ""]
    md += ["### Share of documents mentioning each group", "", *share_markdown(top, rc.groups), ""]
    md += [f"![shares]({rc.label}_shares.png)", ""]
    pooled_pr = [r for r in prs if r["source"] == ALL and r["lang"] == ALL]
    md += ["### Pronouns", "", *pronoun_markdown(pooled_pr), "", f"![pronouns]({rc.label}_pronouns.png)", ""]
    plot_ratios(top, rc.groups, threshold, out / f"{rc.label}_ratios.png", f"{rc.label}: removal-rate ratio by group")
    plot_shares(top, rc.groups, out / f"{rc.label}_shares.png", f"{rc.label}: documents mentioning each group")
    plot_pronouns(pooled_pr, out / f"{rc.label}_pronouns.png", f"{rc.label}: pronouns")
    slices = sorted({(r["source"], r["lang"]) for r in rows if r["source"] != ALL})
    for source, lang in slices:
        part = [r for r in rows if r["source"] == source and r["lang"] == lang]
        if part and part[0]["entering"] >= min_docs and len(slices) > 1:
            md += [f"### source `{source}`, lang `{lang}`", "", *ratio_markdown(part, rc.groups), ""]
    return md


def _covered(rc) -> str:
    """What the pooled table covers: only documents with identity counts, which the English lexicon gives only
    English ones (other languages are in the per-language table)."""
    sources = sorted({r["source"] or "-" for r in rc.rows})
    langs = sorted({r["lang"] for r in rc.rows})
    return f"source {', '.join(sources)}; lang {', '.join(langs)}"


def _language_section(langs: list[dict], threshold: float, min_docs: int) -> list[str]:
    """Removal rate per language and filter (all documents: the identity lexicon is English, languages are not)."""
    if not langs:
        return []
    md = [
        (f"### Removal rate per source and language (all documents, identity counts or not; slices with at least "
         f"{min_docs} entering documents or a removal)"),
        "",
        "| step | source | lang | removed | rate | ratio to all languages |",
        "|---|---|---|---|---|---|",
    ]
    for r in langs:
        ratio = (
            "-" if r["ratio"] is None else (f"**{r['ratio']:.2f}**" if r["ratio"] > threshold else f"{r['ratio']:.2f}")
        )
        md.append(
            f"| {r['step']} | {r['source']} | {r['lang']} | {r['removed']}/{r['entering']} | "
            f"{100 * r['rate']:.1f}% | {ratio} |"
        )
    return md + [""]


def _comparison(runs, removal: list[dict]) -> list[str]:
    """Pooled ratios of every (step, group), one column per run."""
    labels = [rc.label for rc in runs]
    keys = sorted({(r["step"], r["group"]) for r in removal if r["source"] == ALL})
    md = [
        "## Side by side: removal-rate ratio per run",
        "",
        "| step | group | " + " | ".join(labels) + " |",
        "|---|---|" + "---|" * len(labels),
    ]
    for step, group in keys:
        cells = []
        for label in labels:
            r = next(
                (
                    r
                    for r in removal
                    if r["run"] == label and r["source"] == ALL and r["step"] == step and r["group"] == group
                ),
                None,
            )
            cells.append(
                "-"
                if r is None or r["ratio"] is None
                else f"{'**' if r['flagged'] else ''}{r['ratio']:.2f}{'**' if r['flagged'] else ''} "
                f"({r['removed_group']}/{r['entering_group']})"
            )
        if any(c != "-" for c in cells):
            md.append(f"| {step} | {group.replace('_', ' ')} | " + " | ".join(cells) + " |")
    return md + [""]


def labelled_checks(run_dirs: list[str], out: Path, labels: Path, threshold: float = 1.25) -> list[dict]:
    """The labelled check of every run (curate/audit/labels.py), appended to out/audit.md and written to
    out/labelled.parquet."""
    from curate.audit.labels import labelled_check, labelled_markdown

    checks = [labelled_check(d, labels, threshold) for d in run_dirs]
    md = (out / "audit.md").read_text() + "\n".join(labelled_markdown(checks, threshold)) + "\n"
    atomic_write_text(out / "audit.md", md)
    write_parquet([{k: v for k, v in c.items() if k != "identity_removed_by_step"} for c in checks],
                  out / "labelled.parquet")
    return checks
