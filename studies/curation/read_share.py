"""Which share of the web tokens a study run read was English, beside its losses: does the language mix of the
few percent of the web a seed reads explain the spread of the wiki loss?

    python studies/curation/read_share.py runs/study/arms --arms a00,a05 --json studies/curation/read_share.json

For each run of the named arms (a00 = the first arm of the sweep, ...), the run's own config rebuilds its web
Selection and Stream (train/data/stream.py) and takes the first blocks of each lane that the run's share of the
web covers (weight x tokens / lanes / block_size each: an approximation of the sampler, which draws the source of
each sequence), then sums the tokens of English pages (`lang` of the curated web run) among them. Prints the
correlations of the English share with the wiki loss, per arm and for the paired differences between two arms.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import yaml

from train.config import TrainConfig, parse
from train.data import prepare
from train.data.sampler import LANES
from train.data.stream import Stream


def english_share(run: Path, lang: dict[str, str]) -> float:
    cfg = parse(TrainConfig, yaml.safe_load((run / "config.yaml").read_text()))
    prepared = prepare(cfg)
    i = prepared.names.index("web")
    sel, seed = prepared.selections[i], prepared.seed
    stream = Stream([np.zeros(1, np.uint16)], sel, seed, LANES)
    block = cfg.model.block_size
    per_lane = int(cfg.tokens * prepared.weights[i] / sum(prepared.weights)) // block // len(stream.lanes) * block
    english = total = 0
    for lane in range(len(stream.lanes)):
        got = 0
        for k in stream.lane_order(lane, 0):
            take = min(int(stream.lengths[k]), per_lane - got)
            if take <= 0:
                break
            got += take
            total += take
            english += take * (lang.get(sel.ids[stream.pieces[k]]) == "en")
    return english / total


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("sweep", type=Path)
    ap.add_argument("--arms", default="a00,a05", help="two arm prefixes: the baseline and the arm to pair with it")
    ap.add_argument("--web", default="runs/study/web", help="the curated web run (its docs hold `lang`)")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    arms = args.arms.split(",")
    lang = dict(duckdb.sql(f"SELECT id, lang FROM read_parquet('{args.web}/docs/*.parquet')").fetchall())
    rows = []
    for run in sorted((args.sweep / "runs").iterdir()):
        arm, seed = run.name.split("-s")
        if arm not in arms:
            continue
        m = pd.read_parquet(run / "metrics.parquet")
        val = m[(m.split == "val") & (m.step == m.step.max())].set_index("source").loss
        rows.append({"arm": arm, "seed": int(seed), "english_share": english_share(run, lang),
                     "wiki": float(val["wiki"]), "web": float(val["web"])})
        print(rows[-1], flush=True)
    d = pd.DataFrame(rows)
    out = {"runs": rows, "arms": {}}
    for arm in arms:
        q = d[d.arm == arm]
        out["arms"][arm] = {"english_share_sd": float(q.english_share.std()),
                            "corr_english_wiki": float(np.corrcoef(q.english_share, q.wiki)[0, 1])}
    if len(arms) == 2:
        p = d.pivot(index="seed", columns="arm")
        de = p["english_share"][arms[1]] - p["english_share"][arms[0]]
        dw = p["wiki"][arms[1]] - p["wiki"][arms[0]]
        slope, icept = np.polyfit(de, dw, 1)
        resid = dw - (slope * de + icept)
        out["paired"] = {"corr_d_english_d_wiki": float(np.corrcoef(de, dw)[0, 1]), "slope": float(slope),
                         "sd_paired_wiki": float(dw.std()), "sd_after_english_share": float(resid.std(ddof=2))}
    print(json.dumps({k: v for k, v in out.items() if k != "runs"}, indent=1))
    if args.json:
        args.json.write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
