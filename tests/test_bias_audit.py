"""Identity-term signals, counterfactual augmentation, pipelines/safety.yaml end to end, and `curate audit`."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from conftest import ROOT, SAMPLES, run_rows
from datatrove.data import Document

from curate import schema
from curate.assets import identity_lexicon
from curate.audit.report import plot_ratios
from curate.cli import main
from curate.inspect import connect
from curate.io import RunLayout
from curate.signals.identity import compile_lexicon, count_identity
from curate.steps.filters.identity_terms import IdentityTerms
from curate.steps.transforms.counterfactual import CounterfactualGender

# UDHR Articles 2 and 16(1) (United Nations): real text that mentions groups, and `sex` (an LDNOOBW entry).
UDHR = (
    "Everyone is entitled to all the rights and freedoms set forth in this Declaration, without distinction of any "
    "kind, such as race, colour, sex, language, religion, political or other opinion, national or social origin, "
    "property, birth or other status. Men and women of full age, without any limitation due to race, nationality "
    "or religion, have the right to marry and to found a family. They are entitled to equal rights as to "
    "marriage, during marriage and at its dissolution."
)


def run_step(cls, tmp_path, docs, **params):
    layout = RunLayout(tmp_path, docs_schema=schema.run_schema([(cls.name, cls.signals)]))
    return list(cls(cls.Params(**params), layout, stage="t", index=1).run(iter(docs)))


def test_identity_counts_whole_terms_and_person_adjectives():
    lex = compile_lexicon(identity_lexicon("en"))
    text = (
        "Black women and older men read the man page about a black hole. African American and Muslim writers, "
        "gay and lesbian people. He said she told them."
    )
    groups, pronouns = count_identity(lex, text)
    assert groups == {
        "gender": 2,
        "religion": 1,
        "race_ethnicity": 2,
        "nationality": 0,
        "sexual_orientation": 2,
        "disability": 0,
        "age": 1,
    }  # not 'black hole', not 'man page', 'african american' once
    assert pronouns == {"he": 1, "she": 1, "they": 1}


def test_identity_step_sets_columns_and_leaves_other_languages_unmeasured(tmp_path):
    docs = [
        Document(text=UDHR, id="en", metadata={"lang": "en"}),
        Document(text="Les hommes et les femmes ont le droit de se marier.", id="fr", metadata={"lang": "fr"}),
    ]
    en, fr = run_step(IdentityTerms, tmp_path, docs)
    assert en.metadata["identity__gender"] == 2 and en.metadata["pronoun__they"] == 1
    assert "identity__gender" not in fr.metadata  # null in Parquet: not measured, not zero


def test_counterfactual_add_and_replace(tmp_path):
    text = "He gave her book to his wife, and thanked her."
    out = run_step(CounterfactualGender, tmp_path / "a", [Document(text=text, id="d", metadata={})])
    assert [d.id for d in out] == ["d", "d#cf"] and out[0].text == text
    assert out[1].text == "She gave his book to her husband, and thanked him."
    assert out[1].metadata["counterfactual__of"] == "d" and out[1].metadata["counterfactual__swaps"] == 5
    docs = [Document(text=text, id=str(i), metadata={}) for i in range(40)]
    swapped = [d.text != text for d in run_step(CounterfactualGender, tmp_path / "b", docs, mode="replace")]
    again = [
        d.text != text
        for d in run_step(
            CounterfactualGender,
            tmp_path / "c",
            [Document(text=text, id=str(i), metadata={}) for i in range(40)],
            mode="replace",
        )
    ]
    assert swapped == again and 8 < sum(swapped) < 32  # a seeded half, the same every run


def _rows(run):
    """Kept and rejected rows (a run that rejected nothing has an empty `rejects` view without columns)."""
    con = connect([run])
    sql = "SELECT id, toxicity, identity__gender, pronoun__he FROM {}"
    has_rejects = "toxicity" in {c[0] for c in con.execute("DESCRIBE rejects").fetchall()}
    return con.execute(sql.format("docs")).fetchall() + (con.execute(sql.format("rejects")).fetchall()
                                                          if has_rejects else [])


def test_shipped_safety_pipeline_on_books_sample(tmp_path):
    result = CliRunner().invoke(main, ["run", str(ROOT / "pipelines" / "safety.yaml"), "-o", str(tmp_path / "r")])
    assert result.exit_code == 0, result.output
    rows = _rows(tmp_path / "r")
    assert len(rows) == 3 and all(r[1] is not None and r[2] is not None for r in rows)  # kept or rejected alike
    # Botchan, Macbeth and the Sonnets hold 5-6 list words each in ~100k words: C4's any-word rule, made for web
    # pages, removed all three; the shipped ratio rule judges a book by its length and keeps them
    kept = run_rows(tmp_path / "r", "SELECT count(*), max(blocklist__matches) FROM docs")[0]
    assert kept[0] == 3 and kept[1] >= 1


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """safety.yaml over real text with C4's rule, then with protected terms: two run directories."""
    d = tmp_path_factory.mktemp("audit")
    lines = [ln for ln in (SAMPLES / "books" / "macbeth.txt").read_text().splitlines() if ln.strip()][300:900]
    rows = [{"id": f"macbeth-{i}", "text": "\n".join(lines[i : i + 10])} for i in range(0, len(lines), 10)]
    rows += [{"id": "udhr", "text": UDHR}, {"id": "insult", "text": "You are a stupid woman and a disgusting idiot."}]
    (d / "in.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    runs = []
    for protect in ("false", "true"):
        out = d / f"protect-{protect}"
        result = CliRunner().invoke(
            main,
            [
                "run",
                str(ROOT / "pipelines" / "safety.yaml"),
                "-i",
                str(d / "in.jsonl"),
                "-o",
                str(out),
                "--set",
                f"steps.blocklist_ldnoobw_v1.protected_terms={protect}",
                "--set",
                "steps.blocklist_ldnoobw_v1.rule=c4",  # the rule the audit must catch (safety.yaml ships ratio)
            ],
        )
        assert result.exit_code == 0, result.output
        runs.append(out)
    return d, runs


def test_audit_reports_ratios_before_and_after_protected_terms(two_runs):
    d, runs = two_runs
    result = CliRunner().invoke(main, ["audit", *map(str, runs), "-o", str(d / "audit")])
    assert result.exit_code == 0, result.output
    out = d / "audit"
    for name in (
        "audit.md",
        "audit.parquet",
        "pronouns.parquet",
        "languages.parquet",
        "protect-false_ratios.png",
        "protect-true_shares.png",
        "protect-false_pronouns.png",
    ):
        assert (out / name).stat().st_size > 0, name
    table = pq.read_table(out / "audit.parquet").to_pylist()
    pooled = {(r["run"], r["step"], r["group"]): r for r in table if r["source"] == "(all)"}
    c4 = pooled["protect-false", "blocklist_ldnoobw_v1", "gender"]
    assert c4["removed_group"] >= 1 and c4["ratio"] > 1.25 and c4["flagged"]  # the UDHR (men, women, sex) is removed
    # ... and with protected terms the same rule keeps it: an identity word alone no longer removes a document
    assert run_rows(runs[0], "SELECT step FROM rejects WHERE id = 'udhr'") == [("blocklist_ldnoobw_v1",)]
    assert run_rows(runs[1], "SELECT count(*) FROM docs WHERE id = 'udhr'") == [(1,)]
    tox = pooled["protect-false", "toxicity_sklearn_v1", "gender"]
    assert tox["removed"] >= 1 and tox["share_before"] > 0
    md = (out / "audit.md").read_text()
    assert "Side by side" in md and "| input |" in md and "blocklist_ldnoobw_v1" in md


def test_every_row_carries_toxicity_and_identity_counts(two_runs):
    _, runs = two_runs
    rows = _rows(runs[0])
    assert len(rows) == 62 and all(r[1] is not None and r[2] is not None and r[3] is not None for r in rows)


def test_audit_without_identity_columns_says_how_to_fix(tiny_pipeline, tmp_path):
    assert CliRunner().invoke(main, ["run", str(tiny_pipeline)]).exit_code == 0
    result = CliRunner().invoke(main, ["audit", str(tmp_path / "run")])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "identity_terms_v1" in result.output and len(result.output.strip().splitlines()) == 1


def test_identity_mask_blanks_every_lexicon_term_and_nothing_else(web_pages):
    """The trie regex masks exactly what one plain alternation of the lexicon's terms (longest first) masks, on real
    pages; and it masks multi-word terms whatever separates their words."""
    import re

    from curate.signals.identity import mask_identity, mask_regex, tokens

    data = identity_lexicon("en")
    terms = {t for spec in data["groups"].values() for t in spec.get("terms", []) + spec.get("person_terms", [])}
    alts = sorted((r"\W+".join(map(re.escape, tokens(t))) for t in terms), key=lambda a: (-len(a), a))
    plain = re.compile(r"(?<!\w)(?:" + "|".join(alts) + r")(?!\w)", re.IGNORECASE)
    trie = mask_regex(data)
    texts = [text for url, text, lang in web_pages if lang == "en"][:60]
    assert sum(mask_identity(t, trie) != t for t in texts) >= 10  # the pages do mention groups
    assert [mask_identity(t, trie) for t in texts] == [mask_identity(t, plain) for t in texts]


def test_ratio_plot_marks_noisy_bars_and_tells_zero_from_no_documents(tmp_path):
    """Macbeth, one insult about a woman (toxicity removes it) and one harmless sentence about religion: gender's
    ratio rests on a handful of documents (hatched, as the Markdown's ~), religion's is 0 (one document entered,
    none removed: written "0"), and no document mentions disability (no ratio: written "n/a")."""
    lines = [ln for ln in (SAMPLES / "books" / "macbeth.txt").read_text().splitlines() if ln.strip()][300:500]
    rows = [{"id": f"macbeth-{i}", "text": "\n".join(lines[i : i + 10])} for i in range(0, len(lines), 10)]
    rows += [{"id": "insult", "text": "You are a stupid woman and a disgusting idiot."},
             {"id": "library", "text": "A Christian monk and a Muslim scholar read together in the old library."}]
    (tmp_path / "in.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    run = tmp_path / "run"
    result = CliRunner().invoke(main, ["run", str(ROOT / "pipelines" / "safety.yaml"), "-i", str(tmp_path / "in.jsonl"),
                                       "-o", str(run)])
    assert result.exit_code == 0, result.output
    assert run_rows(run, "SELECT id, step FROM rejects") == [("insult", "toxicity_sklearn_v1")]
    result = CliRunner().invoke(main, ["audit", str(run), "-o", str(tmp_path / "audit"), "--min-docs", "30"])
    assert result.exit_code == 0, result.output
    table = [r for r in pq.read_table(tmp_path / "audit" / "audit.parquet").to_pylist() if r["source"] == "(all)"]
    groups = sorted({r["group"] for r in table})
    drawn = plot_ratios(table, groups, 1.25, tmp_path / "ratios.png", "t")
    kinds = {d["group"]: d["kind"] for d in drawn if d["step"] == "toxicity_sklearn_v1"}
    assert kinds["gender"] == "noisy" and kinds["religion"] == "zero" and kinds["disability"] == "none"
    assert (tmp_path / "ratios.png").stat().st_size > 0
    md = (tmp_path / "audit" / "audit.md").read_text()
    # the pooled table says what it covers: documents with identity counts, by source and language
    assert "### Removal-rate ratios, every document with identity counts (source safety; lang und)" in md
    assert "all sources and languages" not in md
