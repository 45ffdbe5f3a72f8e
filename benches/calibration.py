"""Per-language thresholds on the bundled multilingual sample: pipelines/web.yaml with its defaults, `curate calibrate`
(in two rounds, see main), then web.yaml again with ``per_lang`` on lang_fasttext_v1, gopher_quality_v1,
c4_quality_v1 and fineweb_quality_v1. Writes the removal share per language (languages with fewer than 20 documents pooled by script)
at each of those steps, before and after, as JSON and a Markdown table.

    python benches/calibration.py --out benches/calibration.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
STEPS = ["lang_fasttext_v1", "gopher_quality_v1", "c4_quality_v1", "fineweb_quality_v1"]


def curate(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "curate.cli", *args], cwd=ROOT, check=True, capture_output=True)


def shares(run: Path) -> dict:
    from curate.inspect import connect
    from curate.per_lang_report import removal_by_group

    return removal_by_group(connect([run]), STEPS)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(ROOT / "benches" / "calibration.json"))
    ap.add_argument("--share", type=float, default=None, help="passed to curate calibrate")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp())
    share = ["--share", str(args.share)] if args.share else []
    curate("run", "pipelines/web.yaml", "-o", str(work / "default"))
    # Without tag mode, a quality step's signals exist only for the documents that reached it, and calibrated language
    # ID lets other documents through: calibrate lang_fasttext_v1 first, run with it, then calibrate every step on
    # that run (whose quality steps saw the documents they will see), and run with all four.
    curate("calibrate", str(work / "default"), "-o", str(work / "lang.yaml"), *share)
    curate("run", "pipelines/web.yaml", "-o", str(work / "lang"), "--set",
           f"steps.lang_fasttext_v1.per_lang={work / 'lang.yaml'}")
    thresholds = work / "thresholds.yaml"
    curate("calibrate", str(work / "lang"), "-o", str(thresholds), *share)
    sets = [a for s in STEPS for a in ("--set", f"steps.{s}.per_lang={thresholds}")]
    curate("run", "pipelines/web.yaml", "-o", str(work / "calibrated"), *sets)
    before, after = shares(work / "default"), shares(work / "calibrated")
    import yaml

    result = {"command": " ".join(sys.argv), "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
              "loadavg": os.getloadavg(), "thresholds": yaml.safe_load(thresholds.read_text())["thresholds"],
              "removal": {s: {k: {"before": before.get(s, {}).get(k), "after": after.get(s, {}).get(k)}
                              for k in sorted(set(before.get(s, {})) | set(after.get(s, {})), key=str)}
                          for s in STEPS}}
    Path(args.out).write_text(json.dumps(result, indent=1, default=str))
    print("| step | language | removed before (defaults) | removed after (calibrated) |\n|---|---|---:|---:|")
    for step, table in result["removal"].items():
        for key, v in sorted(table.items(), key=lambda kv: -max((kv[1]["before"] or (0, 0))[0],
                                                                 (kv[1]["after"] or (0, 0))[0])):
            b, a = v["before"] or (0, 0), v["after"] or (0, 0)
            if max(b[0], a[0]) < 10:
                continue
            fmt = lambda x: f"{x[1]}/{x[0]} = {x[1] / x[0]:.0%}" if x[0] else "-"
            print(f"| {step} | {key} | {fmt(b)} | {fmt(a)} |")


if __name__ == "__main__":
    main()
