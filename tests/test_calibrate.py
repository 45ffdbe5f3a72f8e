"""Per-language thresholds: `curate calibrate` on a real multilingual run, `per_lang` on the steps, `lang_script`, and
GlotLID-style labels from a fastText model trained here on real text.

Documents: paragraphs (one line of 8+ words each) of the sample WARC's pages: the UDHR in Spanish, Finnish, German,
Russian, French and Arabic, and the English Python docs."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import curate_ok, run_rows

from curate.calibrate import removed_share, threshold_for_share

LANGS = ("es", "fi", "de", "ru", "fr", "ar")


@pytest.fixture(scope="module")
def paragraphs(web_pages):
    out, english = [], []
    for url, text, lang in web_pages:
        lines = [ln.strip() for ln in text.split("\n") if len(ln.split()) >= 8]
        if lang in LANGS and "ohchr.org/udhr/" in url:
            out += [(ln, lang) for ln in lines]
        elif lang == "en" and "docs.python.org" in url:
            english += [(ln, "en") for ln in lines]
    return out + english[:300]


def write_run(tmp_path, paragraphs, name: str, sets: tuple = ()) -> str:
    data = tmp_path / "paras.jsonl"
    if not data.exists():
        data.write_text("".join(json.dumps({"id": f"p{i}", "text": t}) + "\n" for i, (t, _) in enumerate(paragraphs)))
    (tmp_path / "p.yaml").write_text(f"""name: cal
source: web
input: {{reader: jsonl_v1, paths: [{data}]}}
steps:
  - lang_fasttext_v1: {{min_score: 0.65}}
  - gopher_quality_v1
output: {tmp_path / name}
executor: {{type: local, tasks: 1}}
""")
    curate_ok(["run", str(tmp_path / "p.yaml"), *[a for s in sets for a in ("--set", s)]])
    return str(tmp_path / name)


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory, paragraphs):
    import yaml

    tmp = tmp_path_factory.mktemp("cal")
    run = write_run(tmp, paragraphs, "default")
    out = curate_ok(["calibrate", run, "-o", str(tmp / "thr.yaml"), "--min-docs", "20"]).output
    assert "lang_fasttext_v1.min_score: default 0.65 removes" in out
    return tmp, run, yaml.safe_load((tmp / "thr.yaml").read_text())


def lang_values(run: str, column: str, lang: str) -> np.ndarray:
    sql = (f"SELECT {column} FROM docs WHERE lang = '{lang}' AND {column} IS NOT NULL UNION ALL "
           f"SELECT {column} FROM rejects WHERE lang = '{lang}' AND {column} IS NOT NULL")
    return np.array([r[0] for r in run_rows(run, sql)], dtype=float)


def test_calibrated_thresholds_remove_the_english_share_in_each_language(calibrated):
    _, run, thr = calibrated
    s = thr["rules"]["lang_fasttext_v1"]["min_score"]["reference_share"]
    assert 0 < s < 1 and removed_share(lang_values(run, "lang_score", "en"), 0.65, "min") == pytest.approx(s, abs=1e-4)
    entries = thr["thresholds"]["lang_fasttext_v1"]
    assert {"es", "fi", "de", "ru", "fr"} <= set(entries)
    for lang, entry in entries.items():
        if lang.startswith("script:"):
            continue
        values = lang_values(run, "lang_score", lang)
        got = removed_share(values, entry["min_score"], "min")
        # the same share, to two documents (the Spanish and German UDHR come twice: tied scores)
        assert s - 2.5 / len(values) <= got <= s + 1e-4, lang


def test_a_run_with_per_lang_removes_that_share_and_unlisted_languages_keep_defaults(calibrated, paragraphs):
    tmp, default_run, thr = calibrated
    s = thr["rules"]["lang_fasttext_v1"]["min_score"]["reference_share"]
    run = write_run(tmp, paragraphs, "per_lang", (f"steps.lang_fasttext_v1.per_lang={tmp / 'thr.yaml'}",))
    sql = ("SELECT lang, count(*) FILTER (WHERE reason = 'lang_low_score') AS low, count(*) AS n FROM "
           "(SELECT lang, NULL AS reason FROM docs UNION ALL SELECT lang, reason FROM rejects) GROUP BY lang")
    before = {lang: (low, n) for lang, low, n in run_rows(default_run, sql)}
    after = {lang: (low, n) for lang, low, n in run_rows(run, sql)}
    assert after["en"] == before["en"]  # the reference keeps its default
    for lang in ("es", "fi", "de", "ru", "fr"):
        low, n = after[lang]
        assert abs(low / n - s) <= 2.5 / n, lang
    # a file with Finnish alone: every other language, the reference included, keeps the default
    import yaml

    only_fi = {"reference": "en", "thresholds": {"lang_fasttext_v1": {"fi": thr["thresholds"]["lang_fasttext_v1"]["fi"]}}}
    (tmp / "fi.yaml").write_text(yaml.safe_dump(only_fi))
    fi_run = write_run(tmp, paragraphs, "fi_only", (f"steps.lang_fasttext_v1.per_lang={tmp / 'fi.yaml'}",))
    fi_after = {lang: (low, n) for lang, low, n in run_rows(fi_run, sql)}
    assert fi_after["fi"] == after["fi"] != before["fi"]
    assert all(fi_after[k] == before[k] for k in before if k != "fi")
    inspect = curate_ok(["inspect", run]).output
    assert "removal per language at steps with per-language thresholds" in inspect and "lang_fasttext_v1" in inspect


def test_threshold_for_share_on_ties_never_removes_more():
    v = np.array([1, 2, 2, 2, 3, 4, 5, 6, 7, 8], dtype=float)
    assert removed_share(v, threshold_for_share(v, 0.2, "min"), "min") == 0.1  # ties at 2: 1 removed, not 4
    assert removed_share(v, threshold_for_share(v, 0.3, "max"), "max") == 0.3


def test_bad_per_lang_file_fails_before_work_naming_the_line(tmp_path, paragraphs):
    from click.testing import CliRunner

    from curate.cli import main

    (tmp_path / "thr.yaml").write_text("thresholds:\n  gopher_quality_v1:\n    fr: {min_doc_wordz: 3}\n")
    (tmp_path / "p.yaml").write_text(f"""name: cal
source: web
input: {{reader: jsonl_v1, paths: [{tmp_path / 'thr.yaml'}]}}
steps:
  - gopher_quality_v1: {{per_lang: {tmp_path / 'thr.yaml'}}}
output: {tmp_path / 'run'}
""")
    result = CliRunner().invoke(main, ["run", str(tmp_path / "p.yaml")])
    assert result.exit_code == 1 and "p.yaml:5" in result.output and "min_doc_wordz" in result.output
    assert not (tmp_path / "run").exists()


def test_glotlid_labels_give_language_and_script(tmp_path, web_pages):
    """A fastText model trained here with GlotLID-style labels (`__label__eng_Latn`) on real UDHR text."""
    from fasttext import train_supervised

    from curate.io import RunLayout
    from curate.steps.filters.lang_fasttext import LangFastText

    labels = {"en": "eng_Latn", "ru": "rus_Cyrl", "fr": "fra_Latn", "ar": "arb_Arab"}
    pages = {lang: text for url, text, lang in web_pages if lang in labels and "ohchr.org/udhr/" in url}
    lines = [(ln, lang) for lang, text in pages.items() for ln in text.split("\n") if len(ln.split()) >= 6]
    (tmp_path / "train.txt").write_text("".join(f"__label__{labels[g]} {t}\n" for t, g in lines[::2]))
    model = train_supervised(input=str(tmp_path / "train.txt"), epoch=10, dim=16, minn=2, maxn=4, verbose=0)
    model.save_model(str(tmp_path / "glot.bin"))
    from datatrove.data import Document

    step = LangFastText(LangFastText.Params(model_path=str(tmp_path / "glot.bin"), min_score=0, keep=["rus_Cyrl", "fra"]),
                        RunLayout(tmp_path / "run"), "s", 1)
    held_out = lines[1::2]
    kept = list(step.run(Document(text=t, id=str(i)) for i, (t, _) in enumerate(held_out)))
    right = sum(d.metadata["lang"] == labels[held_out[int(d.id)][1]].split("_")[0] for d in kept)
    assert kept and right >= 0.9 * len(kept)
    assert {d.metadata["lang"] for d in kept} <= {"rus", "fra"}  # keep matches `rus_Cyrl` and `fra` alike
    assert all(d.metadata["lang_script"] == {"rus": "Cyrl", "fra": "Latn"}[d.metadata["lang"]] for d in kept)
