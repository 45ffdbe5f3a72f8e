"""Toxicity, bias and PII steps: quality on the labelled English set, and throughput per core beside baselines.

    python benches/build_toxicity_eval.py            # once: the labelled set, into ~/.cache/curate/toxicity_eval
    python benches/toxicity.py quality               # AUROC, precision / recall at the shipped thresholds
    python benches/toxicity.py speed [--web-run runs/web]   # documents/s on one core, curate vs baseline, ratios

quality: ``toxicity`` (toxicity_sklearn_v1, each unit, with and without identity masking) and the LDNOOBW blocklist
(match ratio as a score; C4's rule and the ratio rule as decisions), on the whole set, on the Kaggle comments alone
(insult vs non-insulting comments, many of them profane: the hard part) and on insults vs Wikipedia leads.
speed: one process, one thread (OMP_NUM_THREADS=1), the same documents through each step's ``apply_batch`` and
through its baseline (datatrove's C4BadWordsFilter with the same list, alt-profanity-check's own ``predict_prob``,
datatrove's PIIFormatter), side by side; model loading excluded and reported apart.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
from datatrove.data import Document

from curate import schema
from curate.io import RunLayout
from curate.metrics import auroc, precision_recall

EVAL = Path.home() / ".cache" / "curate" / "toxicity_eval" / "eval_en.jsonl"


def read_jsonl(path: Path) -> list[dict]:
    with open(path) as f:
        return [json.loads(line) for line in f]


def make_step(cls, **params):
    layout = RunLayout(Path(tempfile.mkdtemp()), docs_schema=schema.run_schema([(cls.name, cls.signals)]))
    step = cls(cls.Params(**params), layout, stage="bench", index=1)
    t0 = time.perf_counter()
    step.setup()
    return step, time.perf_counter() - t0


def docs_of(texts: list[str]) -> list[Document]:
    return [Document(text=t, id=str(i), metadata={"lang": "en"}) for i, t in enumerate(texts)]


def signal(step, texts: list[str], column: str, batch: int = 256):
    docs = docs_of(texts)
    for i in range(0, len(docs), batch):
        step.apply_batch(docs[i : i + batch])
    return np.array([d.metadata.get(column) or 0.0 for d in docs], dtype=np.float64), docs


def report(name: str, y, s, decision, subsets: dict) -> None:
    pr = precision_recall(y, decision)
    parts = "  ".join(f"{k} {auroc(y[m], s[m]):.3f}" for k, m in subsets.items())
    print(
        f"{name:<34} AUROC {parts}   P {pr['precision']:.3f} R {pr['recall']:.3f} F1 {pr['f1']:.3f} "
        f"(flagged {pr['flagged']})"
    )


def quality(path: Path) -> None:
    from curate.steps.filters.blocklist import BlocklistLdnoobw
    from curate.steps.filters.toxicity_sklearn import ToxicitySklearn

    rows = read_jsonl(path)
    texts = [r["text"] for r in rows]
    y = np.array([r["label"] for r in rows], dtype=bool)
    kaggle = np.array([r["origin"] == "kaggle_insults" for r in rows])
    subsets = {"all": np.ones(len(y), bool), "kaggle": kaggle, "insult-vs-wiki": y | ~kaggle}
    print(
        f"{len(rows)} rows: {y.sum()} toxic (insults), {(~y & kaggle).sum()} non-insulting comments, "
        f"{(~kaggle).sum()} Wikipedia leads; AUROC columns: {', '.join(subsets)}"
    )
    for unit in ("paragraph_mean", "document", "paragraph_max"):
        for mask in (False, True):
            step, _ = make_step(ToxicitySklearn, unit=unit, mask_identity=mask)
            s, _ = signal(step, texts, "toxicity")
            report(f"toxicity {unit}{' masked' if mask else ''} @0.5", y, s, s >= 0.5, subsets)
    for protect in (False, True):
        for rule in ("c4", "ratio"):
            step, _ = make_step(BlocklistLdnoobw, rule=rule, protected_terms=protect)
            s, docs = signal(step, texts, "blocklist__ratio", batch=1)
            dropped = np.array([step.apply_batch([d])[0] is not None for d in docs])
            wiki_drop = dropped[~kaggle].mean()
            report(f"blocklist {rule}{' protected' if protect else ''}", y, s, dropped, subsets)
            print(f"{'':<34} Wikipedia leads dropped: {100 * wiki_drop:.2f}%")


def best_of(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def speed_pairs(texts: list[str]):
    """(name, setup seconds, curate fn, baseline name, baseline fn) for each step."""
    from datatrove.pipeline.filters.c4_filters import C4BadWordsFilter
    from datatrove.pipeline.formatters.pii import PIIFormatter

    from curate.assets import ldnoobw_words
    from curate.signals.toxicity import c4_regex
    from curate.steps.filters.blocklist import BlocklistLdnoobw
    from curate.steps.filters.identity_terms import IdentityTerms
    from curate.steps.filters.toxicity_sklearn import ToxicitySklearn
    from curate.steps.transforms.pii_redact import PiiRedact

    def run(step, batch):
        def go():
            docs = docs_of(texts)
            for i in range(0, len(docs), batch):
                step.apply_batch(docs[i : i + batch])

        return go

    c4 = C4BadWordsFilter()
    c4._badwords_regex["en"] = c4_regex(ldnoobw_words("en"), "en")  # the regex it builds, without its download
    pii = PIIFormatter()
    from profanity_check import predict_prob

    blocklist, bl_setup = make_step(BlocklistLdnoobw)
    tox_doc, tox_setup = make_step(ToxicitySklearn, threshold=None, unit="document")
    tox, _ = make_step(ToxicitySklearn, threshold=None)
    identity, id_setup = make_step(IdentityTerms)
    redact, pii_setup = make_step(PiiRedact)
    return [
        (
            "blocklist_ldnoobw_v1 (c4)",
            bl_setup,
            run(blocklist, 1),
            "datatrove C4BadWordsFilter",
            lambda: [c4.filter(Document(text=t, id="x", metadata={"language": "en"})) for t in texts],
        ),
        (
            "toxicity_sklearn_v1 (document)",
            tox_setup,
            run(tox_doc, 256),
            "profanity_check.predict_prob",
            lambda: [predict_prob(texts[i : i + 256]) for i in range(0, len(texts), 256)],
        ),
        ("toxicity_sklearn_v1 (paragraph_mean)", tox_setup, run(tox, 256), "-", None),
        ("identity_terms_v1", id_setup, run(identity, 1), "-", None),
        ("pii_redact_v1", pii_setup, run(redact, 1), "datatrove PIIFormatter", lambda: [pii.format(t) for t in texts]),
    ]


def speed(texts: list[str], label: str) -> None:
    mb = sum(len(t.encode()) for t in texts) / 1e6
    print(f"\n{label}: {len(texts)} documents, {mb:.1f} MB, one process, OMP_NUM_THREADS=1, best of 3")
    print(f"{'step':<38}{'docs/s':>9}{'MB/s':>7}   {'baseline':<30}{'docs/s':>9}{'ratio':>7}")
    for name, _, fn, bname, bfn in speed_pairs(texts):
        t = best_of(fn)
        line = f"{name:<38}{len(texts) / t:>9,.0f}{mb / t:>7.1f}   "
        if bfn is not None:
            tb = best_of(bfn)
            line += f"{bname:<30}{len(texts) / tb:>9,.0f}{tb / t:>6.2f}x"
        print(line)


def web_texts(run_dir: Path) -> list[str]:
    import pyarrow.parquet as pq

    files = sorted((run_dir / "docs").glob("*.parquet")) + sorted((run_dir / "rejects").glob("*.parquet"))
    texts = [t for f in files for t in pq.read_table(f, columns=["text", "lang"]).to_pylist()]
    return [t["text"] for t in texts if t["lang"] == "en"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", choices=["quality", "speed"])
    ap.add_argument("--eval", type=Path, default=EVAL, help="labelled set (benches/build_toxicity_eval.py)")
    ap.add_argument("--web-run", type=Path, help="a web run directory: also time its English documents")
    ap.add_argument("--docs", type=int, default=4000, help="speed: labelled-set documents timed")
    args = ap.parse_args()
    if not args.eval.exists():
        sys.exit(f"{args.eval} is missing: run python benches/build_toxicity_eval.py first")
    if args.what == "quality":
        quality(args.eval)
        return
    import subprocess

    code = "import time; t = time.perf_counter(); import profanity_check; print(time.perf_counter() - t)"
    load = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    print(f"toxicity model load (scikit-learn import + joblib), once per task: {float(load.stdout):.2f} s")
    rows = read_jsonl(args.eval)
    speed([r["text"] for r in rows[: args.docs]], "labelled set (short comments and Wikipedia leads)")
    if args.web_run:
        speed(web_texts(args.web_run), f"English web pages of {args.web_run}")


if __name__ == "__main__":
    main()
