"""Toxicity, bias and PII steps: quality on the labelled English set, and throughput per core beside baselines.

    python benches/build_toxicity_eval.py            # once: the labelled set, into ~/.cache/curate/toxicity_eval
    python benches/toxicity.py quality               # AUROC, precision / recall at the shipped thresholds
    python benches/toxicity.py speed [--web-run runs/web]   # documents/s on one core, curate vs baseline, ratios

quality: every threshold is chosen on the set's ``train`` split and reported on its ``test`` split. The LDNOOBW ratio
threshold with the best F1; AUROC of ``toxicity`` (toxicity_sklearn_v1, with and without identity masking); and the
safety pipeline itself (toxicity at 0.5, masked or not, OR a blocklist rule): per pipeline, F1 and the identity
check of ``curate audit --labels`` (non-toxic rows mentioning an identity group removed at most 1.25x as often as
the others, or within one percentage point) on the Kaggle comments and on the Wikipedia leads separately (the two
differ in both identity share and removal rate, so a pooled ratio would mislead); the pipeline chosen is the best
train F1 among those that pass on train. ``--json`` writes the raw numbers (benches/results/toxicity_quality.json).
speed: one process, one thread (OMP_NUM_THREADS=1), the same documents through each step's ``apply_batch`` and
through its baseline (datatrove's C4BadWordsFilter with the same list, alt-profanity-check's own ``predict_prob``,
datatrove's PIIFormatter), side by side; model loading excluded and reported apart.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
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


GRID = (0.0, 0.005, 0.01, 0.02, 0.03, 0.05, 0.08, 0.1, 0.15, 0.2)  # blocklist ratio thresholds tried on train
MAX_RATIO, MAX_GAP = 1.25, 0.01  # the identity check of `curate audit --labels` (curate/audit/labels.py)


def identity_check(drop, y, ident, sel) -> dict:
    """Non-toxic rows of ``sel``: removal rate of identity-mentioning rows vs the others, and the check."""
    c0 = sel & ~y
    a, b = float(drop[c0 & ident].mean()), float(drop[c0 & ~ident].mean())
    ratio = a / b if b else (float("inf") if a else 1.0)
    return {"identity_rate": a, "other_rate": b, "ratio": ratio, "passes": ratio <= MAX_RATIO or abs(a - b) <= MAX_GAP,
            "identity_rows": int((c0 & ident).sum()), "other_rows": int((c0 & ~ident).sum())}


def signals(rows: list[dict]) -> dict:
    """Every score and signal the decisions below need, computed once over the labelled set."""
    from curate.steps.filters.blocklist import BlocklistLdnoobw
    from curate.steps.filters.identity_terms import IdentityTerms
    from curate.steps.filters.toxicity_sklearn import ToxicitySklearn

    texts = [r["text"] for r in rows]
    ident_step, _ = make_step(IdentityTerms)
    _, docs = signal(ident_step, texts, "identity__gender")
    out = {"ident": np.array([any((v or 0) > 0 for k, v in d.metadata.items() if k.startswith("identity__"))
                              for d in docs])}
    for mask in (False, True):
        out[f"tox_mask_{mask}"] = signal(make_step(ToxicitySklearn, threshold=None, mask_identity=mask)[0], texts,
                                         "toxicity")[0]
    step, _ = make_step(BlocklistLdnoobw, rule="ratio", threshold=1.0, protected_terms=True)
    out["bl_ratio"], docs = signal(step, texts, "blocklist__ratio", batch=1)
    out["bl_matches"] = np.array([d.metadata["blocklist__matches"] for d in docs])
    out["bl_protected"] = np.array([d.metadata["blocklist__protected"] for d in docs])
    return out


def decisions(sig: dict) -> dict:
    """name -> (params, drop mask) of each safety pipeline considered: toxicity at 0.5 (masked or not) OR a rule."""
    rules = {"c4": sig["bl_matches"] > 0, "c4 protected": sig["bl_matches"] - sig["bl_protected"] > 0}
    rules |= {f"ratio {t} protected": sig["bl_ratio"] > t for t in GRID}
    out = {}
    for mask in (False, True):
        tox = sig[f"tox_mask_{mask}"] >= 0.5
        for rule, bl in rules.items():
            out[f"toxicity 0.5{' masked' if mask else ''} + blocklist {rule}"] = tox | bl
    return out


def quality(path: Path) -> dict:
    """Tune on the `train` split, report on `test`: the blocklist's F1-best ratio threshold, and the safety pipeline
    (toxicity masking x blocklist rule) with the best F1 among those passing the identity check on train."""
    rows = read_jsonl(path)
    y = np.array([r["label"] for r in rows], dtype=bool)
    test = np.array([r["split"] == "test" for r in rows])
    wiki = np.array([r["origin"] == "wikipedia_lead" for r in rows])
    sig = signals(rows)
    ident = sig["ident"]
    res: dict = {"rows": len(rows), "toxic": int(y.sum()), "test_rows": int(test.sum())}
    res["auroc_test"] = {
        f"toxicity mask_identity={m}": {"all": auroc(y[test], sig[f"tox_mask_{m}"][test]),
                                        "kaggle": auroc(y[test & ~wiki], sig[f"tox_mask_{m}"][test & ~wiki])}
        for m in (False, True)
    }
    f1_train = {t: precision_recall(y[~test], sig["bl_ratio"][~test] > t)["f1"] for t in GRID}
    best_t = max(GRID, key=lambda t: f1_train[t])
    res["blocklist_ratio_threshold"] = {"tuned_on": "train", "f1_train": f1_train, "best": best_t,
                                        "test": precision_recall(y[test], sig["bl_ratio"][test] > best_t)}
    table = {}
    for name, drop in decisions(sig).items():
        table[name] = {
            split: {"f1": precision_recall(y[sel], drop[sel])["f1"], "recall": float(drop[sel & y].mean()),
                    "kaggle": identity_check(drop, y, ident, sel & ~wiki),
                    "wikipedia": identity_check(drop, y, ident, sel & wiki)}
            for split, sel in (("train", ~test), ("test", test))
        }
    passing = [n for n, r in table.items() if r["train"]["kaggle"]["passes"] and r["train"]["wikipedia"]["passes"]]
    res["pipelines"] = table
    res["chosen_on_train"] = max(passing, key=lambda n: table[n]["train"]["f1"]) if passing else None
    return res


def print_quality(res: dict) -> None:
    print(f"{res['rows']} rows ({res['toxic']} toxic); tuned on train, reported on test ({res['test_rows']} rows)")
    for name, a in res["auroc_test"].items():
        print(f"  AUROC {name}: all {a['all']:.4f}  kaggle {a['kaggle']:.4f}")
    bt = res["blocklist_ratio_threshold"]
    print(f"  blocklist ratio threshold with the best train F1: {bt['best']} (train F1 {bt['f1_train'][bt['best']]:.3f}"
          f", test P {bt['test']['precision']:.3f} R {bt['test']['recall']:.3f} F1 {bt['test']['f1']:.3f})")
    print(f"  {'pipeline':<58}{'F1':>6}{'recall':>8}  identity / other removal (ratio), test: kaggle | wikipedia")
    for name, r in res["pipelines"].items():
        t = r["test"]
        cells = " | ".join(f"{100 * t[k]['identity_rate']:.1f}/{100 * t[k]['other_rate']:.1f}% ({t[k]['ratio']:.2f})"
                           f"{'' if t[k]['passes'] else ' FAIL'}" for k in ("kaggle", "wikipedia"))
        mark = "  <- chosen on train" if name == res["chosen_on_train"] else ""
        print(f"  {name:<58}{t['f1']:>6.3f}{t['recall']:>8.3f}  {cells}{mark}")


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


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            return next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.machine()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", choices=["quality", "speed"])
    ap.add_argument("--eval", type=Path, default=EVAL, help="labelled set (benches/build_toxicity_eval.py)")
    ap.add_argument("--web-run", type=Path, help="a web run directory: also time its English documents")
    ap.add_argument("--json", type=Path, help="quality: also write the raw results here")
    ap.add_argument("--docs", type=int, default=4000, help="speed: labelled-set documents timed")
    args = ap.parse_args()
    if not args.eval.exists():
        sys.exit(f"{args.eval} is missing: run python benches/build_toxicity_eval.py first")
    if args.what == "quality":
        res = quality(args.eval)
        print_quality(res)
        if args.json:
            meta = {"command": " ".join(["python", *sys.argv]), "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                    "machine": f"{cpu_model()}, {os.cpu_count()} cores",
                    "loadavg": os.getloadavg(), "eval_sha256": hashlib.sha256(args.eval.read_bytes()).hexdigest()}
            args.json.write_text(json.dumps({**meta, **res}, indent=1, default=float) + "\n")
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
