"""lang_lingua_v1 on real paragraphs of close languages: the UDHR in Norwegian Nynorsk, Bokmål, Danish, Swedish and
Galician from the bundled web sample (samples/web), one paragraph per document, after lang_fasttext_v1."""

from __future__ import annotations

import pytest
from datatrove.data import Document

from curate.io import RunLayout
from curate.signals.langid import close_group, decide, text_script
from curate.steps.filters.lang_fasttext import LangFastText
from curate.steps.filters.lang_lingua import LangLingua

# sample index language -> lid.176 code
PAGES = {"nn": "nn", "nb": "no", "da": "da", "sv": "sv", "gl": "gl"}


@pytest.fixture(scope="module")
def paragraphs(web_pages):
    out = []
    for url, text, lang in web_pages:
        if lang in PAGES and "ohchr.org/udhr/" in url:
            paras = [" ".join(p.split()) for p in text.split("\n")]
            out += [(p, PAGES[lang]) for p in paras if 12 <= len(p.split()) <= 120]
    return out


def label(tmp_path, texts, **params) -> list[Document]:
    layout = RunLayout(tmp_path / "run")
    lid = LangFastText(LangFastText.Params(min_score=0), layout, "s", 1)
    lingua = LangLingua(LangLingua.Params(**params), layout, "s", 2)
    docs = [Document(text=t, id=str(i)) for i, t in enumerate(texts)]
    return list(lingua.run(lid.run(docs)))


def test_combined_rule_tells_nynorsk_from_bokmal_where_lid176_does_not(tmp_path, paragraphs):
    nordic = [(t, lang) for t, lang in paragraphs if lang in ("nn", "no", "da", "sv")]
    assert len(nordic) >= 100
    docs = label(tmp_path, [t for t, _ in nordic])
    truth = [lang for _, lang in nordic]
    lid_right = sum(d.metadata["lid__lang"] == t for d, t in zip(docs, truth))
    combined_right = sum(d.metadata["lang"] == t for d, t in zip(docs, truth))
    nn_lid = sum(d.metadata["lid__lang"] == "nn" for d, t in zip(docs, truth) if t == "nn")
    nn_combined = sum(d.metadata["lang"] == "nn" for d, t in zip(docs, truth) if t == "nn")
    assert combined_right > lid_right and combined_right >= 0.95 * len(nordic)
    assert nn_combined > 2 * nn_lid  # lid.176 calls most Nynorsk paragraphs Bokmål
    for d in docs:  # both labels and the deciding rule are recorded
        assert d.metadata["lang_rule"] == "lingua_close" and d.metadata["lingua__lang"] == d.metadata["lang"]
        assert close_group(d.metadata["lid__lang"]) == close_group("no")


def test_a_language_lingua_does_not_know_keeps_lid176s_label(tmp_path, paragraphs):
    galician = [t for t, lang in paragraphs if lang == "gl"]
    docs = label(tmp_path, galician)
    kept_gl = [d for d in docs if d.metadata["lid__lang"] == "gl"]
    assert len(kept_gl) >= 0.8 * len(galician)
    assert all(d.metadata["lang"] == "gl" and d.metadata["lang_rule"] == "lid" and d.metadata["lingua__lang"] is None
               for d in kept_gl)


def test_keep_drops_other_languages_with_a_reason(tmp_path, paragraphs):
    texts = [t for t, lang in paragraphs if lang == "nn"][:20] + [t for t, lang in paragraphs if lang == "no"][:20]
    layout = RunLayout(tmp_path / "run")
    lid = LangFastText(LangFastText.Params(min_score=0), layout, "s", 1)
    step = LangLingua(LangLingua.Params(keep=["nn"]), layout, "s", 2)
    kept = list(step.run(lid.run(Document(text=t, id=str(i)) for i, t in enumerate(texts))))
    import pyarrow.parquet as pq

    rejects = pq.read_table(layout.rejects_dir).to_pylist()
    assert kept and rejects and len(kept) + len(rejects) == len(texts)
    assert {r["reason"] for r in rejects} == {"lingua_lang_not_kept"} and {r["step"] for r in rejects} == {step.name}
    assert all(d.metadata["lang"] == "nn" for d in kept)


def test_rule_and_script_helpers():
    known = frozenset({"da", "no", "nn", "sv", "en", "hr", "bs"})
    assert decide("no", 0.99, known, 0.5) == "lingua_close"
    assert decide("en", 0.3, known, 0.5) == "lingua_low_score" and decide("en", 0.9, known, 0.5) == "lid"
    assert decide("gl", 0.3, known, 0.5) == "lid" and decide(None, None, known, 0.5) == "lingua_only"
    assert [text_script(t) for t in ("Alle mennesker", "Все люди", "人人生而自由", "すべての人間は", "모든 인간은 太")] == [
        "Latn", "Cyrl", "Hani", "Jpan", "Kore"]
