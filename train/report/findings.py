"""The sections of a curation study's report.md that state what it found, in the order a reader must weigh them: the
noise floor, the controls' verdict, the pre-registered primary comparisons, then the exploratory ones; and
primary_effects.png. train/report/arms.py and noise.py compute the numbers."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from train.report import stats as st

CAVEAT = ("Tiny proxies are known to overrate aggressive filters: filtering gains shrink as models grow (A Bitter "
          "Lesson for Data Filtering; BETR), and a ranking made on a small model holds for about 80% of pairs at 1B "
          "(DataDecide). A resolved effect here is a direction to check at scale, not a verdict.")


def _set(name: str) -> str:
    return "the mean over training sources" if name == "mean" else name


def _p(p: float) -> str:
    return "nan" if not np.isfinite(p) else f"{p:.2g}" if p >= 1e-4 else f"{p:.1e}"


def _bpb(e: dict) -> str:
    return f"{e['effect_bpb']:+.4f} ± {e['half_bpb']:.4f}" if np.isfinite(e["effect_bpb"]) else "n/a"


def noise_floor(noise: list[dict], alpha: float) -> str:
    n = noise[0]
    lines = [("| evaluation set | sd of paired difference (nats) | seeds | primary comparisons | MDE (nats) | "
             "MDE (bits per byte) | seeds for `detect` |"), "|---|---|---|---|---|---|---|"]
    for r in noise:
        need = f"{int(r['seeds_needed'])}" if np.isfinite(r["seeds_needed"]) else "n/a"
        mde_bpb = f"{r['mde_bpb']:.4f}" if np.isfinite(r["mde_bpb"]) else "n/a"
        lines.append(f"| {r['set']} | {r['sd_paired']:.4f} | {r['seeds']} | {r['comparisons']} | {r['mde']:.4f} | "
                     f"{mde_bpb} | {need} |")
    text = ("## Noise floor\n\nPer evaluation set: the standard deviation of the paired difference (arm minus "
            f"baseline, seed by seed), from {n['source_of_noise']}; and the minimal detectable effect (MDE), the "
            "smallest true effect this design detects with 80% power by a two-sided paired t test at "
            f"alpha / comparisons = {alpha:g} / {n['comparisons']} with {n['seeds']} seeds (noncentral t).\n\n"
            + "\n".join(lines))
    if not n["negative_control"]:
        text += ("\n\nThis sweep has **no negative control** (`control: {kind: random_drop, ...}`): the sd above is "
                 "the pooled residual sd of all paired differences (each comparison around its own mean), which "
                 "also holds any real seed-to-seed variation of the effects. A negative control measures the noise "
                 "itself.")
    blind = [r for r in noise if r["detect"] > 0 and not r["mde"] <= r["detect"]]
    lines = []
    for r in blind:
        would = (f"{int(r['seeds_needed'])} seeds would" if np.isfinite(r["seeds_needed"])
                 else "no number of seeds would at this noise")
        lines.append(f"- At {r['seeds']} seeds this study cannot see an effect of {r['detect']:g} nats on "
                     f"{_set(r['set'])} (MDE {r['mde']:.4f}); {would}.")
    seen = [r["set"] for r in noise if r["detect"] > 0 and r["mde"] <= r["detect"]]
    if seen:
        lines.append(f"- An effect of {noise[0]['detect']:g} nats (`detect`) is within reach on {', '.join(seen)}.")
    return text + ("\n\n" + "\n".join(lines) if lines else "")


def _control_line(c: dict, kind: str) -> str:
    which = "Holm p" if c["primary"] else "p (not a primary comparison: uncorrected)"
    if kind == "positive":
        said = "detected" if c["ok"] else "NOT detected"
        rule = "it must raise the loss at p < 0.01"
    else:
        said = "null, as it should be" if c["ok"] else "SIGNIFICANT: it should show nothing"
        rule = "it must not be significant"
    return (f"- {kind} control **{c['arm']}** against **{c['reference']}** on {_set(c['set'])}: "
            f"{c['effect']:+.4f} ± {c['half']:.4f} nats, {which} = {_p(c['p_used'])}: {said} ({rule}).")


def controls(verdict: dict) -> str:
    lines = [_control_line(c, k) for k in ("positive", "negative") for c in verdict[k]]
    if verdict["sees"]:
        last = "The study sees: its positive control was detected and its negative control stayed null."
    else:
        missing = [k for k in ("positive", "negative") if not verdict[k]]
        why = (f"it has no {' and no '.join(missing)} control" if missing else
               "its controls did not behave (above)")
        last = f"**This study cannot see**: {why}, so its null results say nothing and its effects are unchecked."
    return "## Controls\n\n" + ("\n".join(lines) + "\n\n" if lines else "") + last


def _sentence(e: dict, noise: dict, alpha: float) -> str:
    verb = "lowers" if e["effect"] < 0 else "raises"
    bpb = f" ({abs(e['effect_bpb']):.4f} bits per byte)" if np.isfinite(e["effect_bpb"]) else ""
    head = (f"- **{e['arm']}** {verb} {_set(e['set'])} loss by {abs(e['effect']):.4f} ± {e['half']:.4f} nats{bpb} "
            f"against **{e['reference']}**")
    if e["holm_significant"]:
        return head + f": resolved (Holm p = {_p(e['p_holm'])})."
    ruled_out, own = null_bound(e, noise, alpha)
    spread = "" if own is None else (
        f" Its own pairs spread by {own:.4f} nats (sd), more than the set's floor ({noise['sd_paired']:.4f}), so its "
        "own spread sets what it can rule out.")
    lo, hi = e["effect"] - e["half"], e["effect"] + e["half"]
    return (head + f": not resolved (Holm p = {_p(e['p_holm'])}).{spread} An effect of {ruled_out:.4f} nats or more "
            f"would have been detected with 80% power: this null rules out effects that large (its 95% interval: "
            f"[{lo:+.4f}, {hi:+.4f}]).")


def null_bound(e: dict, noise: dict, alpha: float = 0.05) -> tuple[float, float | None]:
    """(the smallest effect a null comparison would have detected with 80% power, its own paired sd where that is
    larger than the set's floor, else None): the set's MDE, or the same power computation on the comparison's own
    sd (a comparison whose pairs spread more than the negative control's cannot rule out as much). The sd comes
    back from the 95% t interval's half-width."""
    n = int(e["pairs"])
    own = float(e["half"] * np.sqrt(n) / st.stats.t.ppf(0.975, n - 1)) if n >= 2 else float("nan")
    if not np.isfinite(own) or own <= noise["sd_paired"] * (1 + 1e-9) or not np.isfinite(noise["mde"]):
        return float(noise["mde"]), None
    return float(st.mde(n, int(noise["comparisons"]), alpha) * own), own


def primary(effects: list[dict], noise: list[dict], alpha: float) -> str:
    first = [e for e in effects if e["primary"]]
    if not first:
        return ("## Primary comparisons\n\nNone pre-registered (`primary:` in the sweep YAML): every comparison "
                "below is exploratory.\n\n" + CAVEAT)
    floor = {r["set"]: r for r in noise}
    lines = [("| arm | against | evaluation set | effect (nats) | 95% CI (nats) | effect (bits per byte) | p | "
             "Holm p | resolved |"), "|---|---|---|---|---|---|---|---|---|"]
    for e in first:
        lo, hi = e["effect"] - e["half"], e["effect"] + e["half"]
        lines.append(f"| {e['arm']} | {e['reference']} | {e['set']} | {e['effect']:+.4f} | [{lo:+.4f}, {hi:+.4f}] "
                     f"| {_bpb(e)} | {_p(e['p_value'])} | {_p(e['p_holm'])} | "
                     f"{'yes' if e['holm_significant'] else 'no'} |")
    return (f"## Primary comparisons\n\nThe {len(first)} comparison(s) the sweep YAML pre-registered (`primary`), "
            f"Holm's step-down correction over these only, family-wise alpha {alpha:g}. Effect: arm minus reference, "
            "seed by seed (negative: the arm lowers the loss), with its 95% paired t interval.\n\n"
            + "\n".join(lines) + "\n\n" + "\n".join(_sentence(e, floor[e["set"]], alpha) for e in first)
            + "\n\n" + CAVEAT)


def exploratory(data, effects: list[dict]) -> str:
    rest = [e for e in effects if not e["primary"]]
    said = [e for e in rest if e["significant"]]
    lines = []
    for e in said:
        verb = "lowers" if e["effect"] < 0 else "raises"
        lines.append(f"- **{e['arm']}** {verb} {_set(e['set'])} loss by {abs(e['effect']):.4f} ± {e['half']:.4f} "
                     f"nats against **{e['reference']}** (exploratory, uncorrected p = {_p(e['p_value'])}).")
    table = [("| arm | against | evaluation set | effect (nats) | effect (bits per byte) | seeds paired | p "
             "(uncorrected) | interval excludes 0 |"), "|---|---|---|---|---|---|---|---|"]
    for e in (e for e in rest if e["pairs"] > 0):  # arms with no finished run yet are left out
        table.append(f"| {e['arm']} | {e['reference']} | {e['set']} | {e['effect']:+.4f} ± {e['half']:.4f} | "
                     f"{_bpb(e)} | {e['pairs']} | {_p(e['p_value'])} | {'yes' if e['significant'] else 'no'} |")
    head = (f"{len(effects)} comparisons were made (each arm against its reference, on each of {len(data.sets)} "
            f"evaluation sets); {len(effects) - len(rest)} of them primary. The other {len(rest)} are "
            "**exploratory and uncorrected**: each is a 95% paired t interval over seeds, so about "
            f"{0.05 * len(rest):.1f} of them would exclude zero by chance alone; {len(said)} do. Read them as "
            "questions for the next pre-registered study, not findings.")
    body = "\n".join(lines) if lines else "No exploratory interval excludes zero."
    return "## Exploratory comparisons (uncorrected)\n\n" + head + "\n\n" + body + "\n\n" + "\n".join(table)


def parted(data) -> str:
    """Runs that part from their seed-mates: per arm and evaluation set, a seed whose paired difference against the
    baseline (the baseline's own loss, for the baseline) lies outside the 99.9% prediction interval of the others'."""
    from train.report.stats import parts_from_the_rest

    base, lines = data.baseline(), []
    for arm in data.arm_names():
        for name in data.sets:
            runs = {r["entry"]["seed"]: r["loss"][name] for r in data.rows if r["entry"]["arm_name"] == arm}
            ref = {r["entry"]["seed"]: r["loss"][name] for r in data.rows if r["entry"]["arm_name"] == base}
            seeds = sorted(runs) if arm == base else sorted(set(runs) & set(ref))
            values = [runs[s] - (0.0 if arm == base else ref[s]) for s in seeds]
            for seed, value, out in zip(seeds, values, parts_from_the_rest(values)):
                if out:
                    what = "loss" if arm == base else f"difference against {base}"
                    rest = np.delete(np.array(values), seeds.index(seed))
                    lines.append(f"- **{arm}**, seed {seed}, on {_set(name)}: its {what} is {value:+.4f} nats; the "
                                 f"other seeds' {rest.mean():+.4f} ± {rest.std(ddof=1):.4f} (sd).")
    head = ("## Runs that part from their seed-mates\n\nPer arm and evaluation set, a seed whose loss (the baseline) or "
            "paired difference (every other arm) lies outside the 99.9% t prediction interval of the other seeds': "
            "an unstable run, not the data, may drive its comparisons. Needs 4 seeds or more.\n\n")
    return head + ("\n".join(lines) if lines else "None.")


def draw_primary(data, effects: list[dict], noise: list[dict]) -> list[tuple[str, str]]:
    """primary_effects.png: each primary effect with its 95% interval, over the band of +-MDE of its set."""
    first = [e for e in effects if e["primary"] and e["pairs"] > 0]
    if not first:
        return []
    floor = {r["set"]: r["mde"] for r in noise}
    fig = Figure(figsize=(8.5, 1.1 + 0.45 * len(first)), layout="constrained")
    ax = fig.add_subplot(1, 1, 1)
    for i, e in enumerate(reversed(first)):
        m = floor.get(e["set"], np.nan)
        if np.isfinite(m):
            ax.fill_betweenx([i - 0.4, i + 0.4], -m, m, color="0.88", lw=0, label="±MDE" if i == 0 else None)
        color = "C3" if e["holm_significant"] else "C0"
        half = e["half"] if np.isfinite(e["half"]) else 0.0
        ax.errorbar(e["effect"], i, xerr=half, fmt="o", color=color, capsize=3, ms=5)
    ax.axvline(0.0, color="0.3", lw=0.8)
    ax.set_yticks(range(len(first)), [f"{e['arm']} - {e['reference']} · {e['set']}" for e in reversed(first)],
                  fontsize=8)
    ax.set_ylim(-0.6, len(first) - 0.4)
    ax.set_xlabel("effect on validation loss (nats per token; negative: the arm lowers it)")
    ax.set_title("primary comparisons: 95% paired t intervals\n(red: resolved after Holm; grey band: ±MDE)", fontsize=9)
    fig.savefig(data.dir / "primary_effects.png", dpi=110, bbox_inches="tight")
    return [("primary_effects.png", ("each primary comparison's effect with its 95% paired t interval (red where "
             "Holm's correction resolves it) over the grey band of ± the minimal detectable effect of its set"))]
