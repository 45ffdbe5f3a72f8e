"""Toxicity steps: LDNOOBW blocklist (C4 and ratio rules, protected terms), learned toxicity, fastText classifier."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from conftest import SAMPLES
from datatrove.data import Document

from curate import schema
from curate.assets import ldnoobw_langs, ldnoobw_words
from curate.cli import main
from curate.config import load_pipeline
from curate.errors import ConfigError
from curate.io import RunLayout
from curate.signals.toxicity import c4_regex, compile_blocklist, find_terms
from curate.steps.filters.blocklist import BlocklistLdnoobw
from curate.steps.filters.fasttext_classifier import FastTextClassifier
from curate.steps.filters.toxicity_sklearn import ToxicitySklearn

# The Universal Declaration of Human Rights, Article 2 (UN; English and French official texts).
UDHR_2 = (
    "Everyone is entitled to all the rights and freedoms set forth in this Declaration, without distinction of "
    "any kind, such as race, colour, sex, language, religion, political or other opinion, national or social "
    "origin, property, birth or other status."
)
UDHR_2_FR = (
    "Chacun peut se prévaloir de tous les droits et de toutes les libertés proclamés dans la présente "
    "Déclaration, sans distinction aucune, notamment de race, de couleur, de sexe, de langue, de religion."
)
UDHR_1_FR = (
    "Tous les êtres humains naissent libres et égaux en dignité et en droits. Ils sont doués de raison et de "
    "conscience et doivent agir les uns envers les autres dans un esprit de fraternité."
)


def run_step(cls, tmp_path, docs, **params):
    layout = RunLayout(tmp_path, docs_schema=schema.run_schema([(cls.name, cls.signals)]))
    step = cls(cls.Params(**params), layout, stage="t", index=3)
    kept = list(step.run(iter(docs)))
    files = sorted((tmp_path / "rejects").glob("*.parquet"))
    rejects = [r for f in files for r in pq.read_table(f).to_pylist()]
    return kept, rejects, step


def doc(text, id_="d", lang="en"):
    return Document(text=text, id=id_, metadata={"lang": lang} if lang else {})


def test_c4_rule_drops_the_udhr_and_protected_terms_keep_it(tmp_path):
    kept, rejects, _ = run_step(BlocklistLdnoobw, tmp_path / "a", [doc(UDHR_2)])
    assert not kept and rejects[0]["reason"] == "blocklist_c4" and rejects[0]["step"] == "blocklist_ldnoobw_v1"
    assert rejects[0]["blocklist__terms"] == ["sex"] and rejects[0]["blocklist__protected"] == 1
    kept, rejects, _ = run_step(BlocklistLdnoobw, tmp_path / "b", [doc(UDHR_2)], protected_terms=True)
    assert [d.id for d in kept] == ["d"] and not rejects and kept[0].metadata["blocklist__ratio"] == 0
    stats = pq.read_table(next((tmp_path / "b" / "_work" / "stats").rglob("*.parquet"))).to_pylist()
    assert {r["metric"]: r["value"] for r in stats}["kept_protected"] == 1
    slur_too = doc(UDHR_2 + " Shut up, you faggot.", "slur")
    kept, rejects, _ = run_step(BlocklistLdnoobw, tmp_path / "c", [slur_too], protected_terms=True)
    assert not kept and rejects[0]["blocklist__terms"] == ["faggot", "sex"]


def test_ratio_rule_drops_dense_text_only(tmp_path):
    macbeth = (SAMPLES / "books" / "macbeth.txt").read_text()
    dense = doc("You stupid bitch, shut your fucking mouth, you piece of shit.", "dense")
    kept, rejects, _ = run_step(BlocklistLdnoobw, tmp_path, [doc(macbeth, "macbeth"), dense], rule="ratio")
    assert [d.id for d in kept] == ["macbeth"] and [r["id"] for r in rejects] == ["dense"]
    assert rejects[0]["reason"] == "blocklist_ratio" and rejects[0]["blocklist__ratio"] > 0.02
    assert 0 < kept[0].metadata["blocklist__ratio"] < 0.02  # Macbeth matches (cock, whore), but sparsely


def test_list_follows_lang_and_unknown_languages_pass(tmp_path):
    docs = [
        doc(UDHR_2_FR, "fr", "fr"),
        doc(UDHR_1_FR, "fr1", "fr"),
        doc(UDHR_2, "xx", "xx"),
        doc(UDHR_2, "none", None),
    ]
    kept, rejects, _ = run_step(BlocklistLdnoobw, tmp_path, docs)
    assert {r["id"] for r in rejects} == {"none"}  # no lang -> default_lang en -> 'sex'; 'sexe' is not in the fr list
    assert {d.id for d in kept} == {"fr", "fr1", "xx"}
    assert next(d for d in kept if d.id == "xx").metadata.get("blocklist__matches") is None  # no list: null
    stats = pq.read_table(next((tmp_path / "_work" / "stats").rglob("*.parquet"))).to_pylist()
    assert {r["metric"]: r["value"] for r in stats}["no_list"] == 1


def test_matching_equals_datatrove_c4_regex_on_real_text():
    lines = [
        ln
        for name in ("sonnets.txt", "macbeth.txt", "botchan.txt")
        for ln in (SAMPLES / "books" / name).read_text().splitlines()
        if ln.strip()
    ]
    assert len(ldnoobw_langs()) == 28
    for lang in ("en", "fr", "de", "ja"):
        entries = [e.lower() for e in ldnoobw_words(lang)]
        ours, theirs = compile_blocklist(entries, lang), c4_regex(entries, lang)
        for line in lines:
            assert bool(find_terms(ours, line)[0]) == bool(theirs.search(line.lower())), (lang, line)
    phrases = [
        "he is into girl on top and tea bagging",
        "xhow to kill a process",
        "how to kill a process",
        "a 2 girls 1 cup video",
        "gay sexual",
        "s&m club",
        "ms&m",
        "g-spot.",
        "🖕🖕",
        "a🖕",
    ]
    ours, theirs = compile_blocklist(ldnoobw_words("en"), "en"), c4_regex(ldnoobw_words("en"), "en")
    assert [bool(find_terms(ours, t)[0]) for t in phrases] == [bool(theirs.search(t)) for t in phrases]
    assert [bool(find_terms(ours, t)[0]) for t in phrases] == [
        True,
        False,
        True,
        True,
        True,
        True,
        False,
        True,
        True,
        False,
    ]
    # counts: adjacent matches are each counted (the flanked C4 regex would consume the shared space)
    assert find_terms(compile_blocklist(["xx"], "en"), "XX XX sonnet")[0]["xx"] == 2


def test_toxicity_scores_and_drops_at_threshold(tmp_path):
    insult = "You are a disgusting idiot and a moron, go to hell."
    docs = [doc(insult, "insult"), doc(UDHR_2, "udhr"), doc(insult, "not-english", "fr")]
    kept, rejects, _ = run_step(ToxicitySklearn, tmp_path, docs)
    assert [d.id for d in kept] == ["udhr", "not-english"] and kept[0].metadata["toxicity"] < 0.1
    assert "toxicity" not in kept[1].metadata  # the English model does not score French: null, kept
    assert rejects[0]["reason"] == "toxicity_high" and rejects[0]["toxicity"] >= 0.5


def test_toxicity_units_and_identity_masking(tmp_path):
    macbeth = (SAMPLES / "books" / "macbeth.txt").read_text()

    def docs():
        return [doc(macbeth, "macbeth"), doc("I am a gay man.", "gay")]

    whole, _, _ = run_step(ToxicitySklearn, tmp_path / "a", docs(), unit="document", threshold=None)
    mean, _, _ = run_step(ToxicitySklearn, tmp_path / "b", docs(), threshold=None)
    masked, _, _ = run_step(ToxicitySklearn, tmp_path / "c", docs(), threshold=None, mask_identity=True)
    score = {(run, d.id): d.metadata["toxicity"] for run, ds in (("w", whole), ("m", mean), ("k", masked)) for d in ds}
    assert score["w", "macbeth"] > 0.5 > score["m", "macbeth"]  # a whole play drifts high; its paragraphs do not
    assert score["m", "gay"] > 0.5 > score["k", "gay"]  # the bare identity word alone makes the model flag it


@pytest.fixture(scope="module")
def author_model(tmp_path_factory):
    """A fastText model trained by `curate classifier train`: Shakespeare (1) vs Natsume's Botchan (0), real lines."""
    d = tmp_path_factory.mktemp("clf")
    rows = []
    for name, label in (("hamlet.txt", 1), ("macbeth.txt", 1), ("botchan.txt", 0)):
        lines = [ln for ln in (SAMPLES / "books" / name).read_text().splitlines() if ln.strip()][200:]
        chunks = [" ".join(lines[i : i + 3]) for i in range(0, 1800, 3)]  # 3 lines a row, past the front matter
        rows += [{"text": c, "label": label} for c in chunks[: 300 if label else 600]]
    (d / "train.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n{broken\n")
    out = CliRunner().invoke(
        main,
        ["classifier", "train", str(d / "train.jsonl"), "-o", str(d / "m.bin"), "--dim", "16", "--bucket", "50000"],
    )
    assert out.exit_code == 0, out.output
    return d / "m.bin", out.output


def test_classifier_train_prints_heldout_metrics(author_model):
    path, output = author_model
    metrics = json.loads(path.with_suffix(".json").read_text())
    assert "held-out AUROC" in output and "1 skipped" in output
    assert metrics["auroc"] > 0.9 and metrics["heldout_rows"] > 50


def test_fasttext_step_drops_above_and_below(tmp_path, author_model):
    path, _ = author_model

    def held_out(name):  # lines the model was not trained on (it saw rows 200..2000)
        lines = [ln for ln in (SAMPLES / "books" / name).read_text().splitlines() if ln.strip()]
        return " ".join(lines[2400:2412])

    docs = [doc(held_out("macbeth.txt"), "s"), doc(held_out("botchan.txt"), "u")]
    kept, rejects, _ = run_step(FastTextClassifier, tmp_path / "a", docs, model_path=str(path), label="__label__1")
    assert [r["id"] for r in rejects] == ["s"] and rejects[0]["reason"] == "fasttext_above"
    kept, rejects, _ = run_step(
        FastTextClassifier, tmp_path / "b", docs, model_path=str(path), label="__label__1", drop="below"
    )
    assert [d.id for d in kept] == ["s"] and rejects[0]["reason"] == "fasttext_below"
    assert 0 <= rejects[0]["fasttext__score"] < 0.5 and kept[0].metadata["fasttext__label"] == "__label__1"


def test_missing_model_file_is_a_config_error_naming_the_line(tmp_path):
    (tmp_path / "x.jsonl").write_text('{"id": 1, "text": "a"}\n')
    yaml = (
        f"name: t\nsource: t\ninput: {{reader: jsonl_v1, paths: ['{tmp_path}/x.jsonl']}}\nsteps:\n"
        "  - fasttext_classifier_v1: {model_path: /nonexistent/jigsaw.bin}\noutput: out\n"
    )
    (tmp_path / "p.yaml").write_text(yaml)
    with pytest.raises(ConfigError, match=r"p.yaml:5.*no such model file"):
        load_pipeline(tmp_path / "p.yaml")
