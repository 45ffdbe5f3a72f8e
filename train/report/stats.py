"""The statistics of a sweep report: t intervals over seeds, loss-vs-weight slopes with their intervals, and two
mixture -> loss models judged by leave-one-mixture-out Spearman rank correlation.

- Data Mixing Laws (Ye et al. 2024, eq. 1): L = c + k * exp(sum_j t_j r_j), fitted per target by least squares.
  The weights sum to 1, so adding a constant to every t_j is the same as scaling k: t is kept summing to zero.
- Linear baseline (RegMix, Liu et al. 2024, their linear regression): L = sum_j b_j r_j (the intercept is
  redundant for the same reason).

And the tests of a curation study: the paired t test over seeds, Holm's step-down correction over the
pre-registered comparisons, and the power of a two-sided paired t test from the noncentral t distribution (the
computation G*Power does for "means: difference between two dependent means").
"""

from __future__ import annotations

import numpy as np
from scipy import optimize, stats

MODELS = ("law", "linear")
MODEL_TITLES = {"law": "Data Mixing Law c + k·exp(Σ t_j r_j)", "linear": "linear (RegMix baseline)"}


def t_interval(values) -> tuple[float, float, int]:
    """(mean, half-width of the 95% t interval, n). n = 2 uses t_{0.975,1} = 12.71: wide by construction."""
    x = np.asarray(values, dtype=np.float64)
    n = len(x)
    if n < 2:
        return float(x.mean()) if n else float("nan"), float("nan"), n
    return float(x.mean()), float(stats.t.ppf(0.975, n - 1) * x.std(ddof=1) / np.sqrt(n)), n


def paired_t(diffs) -> tuple[float, float, int, float]:
    """(mean difference, half-width of its 95% t interval, pairs, two-sided p-value) of paired differences: the
    one-sample t test on the differences, which is scipy.stats.ttest_rel on the pairs. Differences that are all
    equal give p = 1 when they are zero and p = 0 otherwise (t is infinite), where scipy returns nan."""
    x = np.asarray(diffs, dtype=np.float64)
    mean, half, n = t_interval(x)
    if n < 2:
        return mean, half, n, float("nan")
    sd = float(x.std(ddof=1))
    if sd == 0:
        return mean, half, n, 1.0 if mean == 0 else 0.0
    t = mean / (sd / np.sqrt(n))
    return mean, half, n, float(2 * stats.t.sf(abs(t), n - 1))


def holm(p_values) -> np.ndarray:
    """Holm's step-down adjusted p-values (Holm 1979): the i-th smallest of m is multiplied by m - i + 1, then made
    monotone (an adjusted p-value is never below the one before it) and capped at 1. Reject where adjusted < alpha:
    the family-wise error rate stays at most alpha. A nan p-value (a comparison without two pairs) still counts in m,
    as it was planned, and stays nan."""
    p = np.asarray(p_values, dtype=np.float64)
    m, out = len(p), np.full(len(p), np.nan)
    finite = np.flatnonzero(np.isfinite(p))
    order = finite[np.argsort(p[finite], kind="stable")]
    running = 0.0
    for i, k in enumerate(order):
        running = max(running, min(1.0, (m - i) * p[k]))
        out[k] = running
    return out


def parts_from_the_rest(values, alpha: float = 0.001) -> np.ndarray:
    """Per value: does it lie outside the (1 - alpha) prediction interval of the others (leave it out; mean and sd of
    the rest; t with n - 2 degrees of freedom; sd x sqrt(1 + 1 / (n - 1)))? False where n < 4 or the rest agree
    exactly. A fixed false-alarm rate per value, sound at the few seeds a study has."""
    x = np.asarray(values, dtype=np.float64)
    n, out = len(x), np.zeros(len(x), dtype=bool)
    if n < 4:
        return out
    q = stats.t.ppf(1 - alpha / 2, n - 2)
    for i in range(n):
        rest = np.delete(x, i)
        sd = rest.std(ddof=1)
        out[i] = sd > 0 and abs(x[i] - rest.mean()) > q * sd * np.sqrt(1 + 1 / (n - 1))
    return out


def paired_power(dz: float, n: int, alpha: float = 0.05) -> float:
    """Power of the two-sided paired t test at level alpha with n pairs, for a true mean difference of dz standard
    deviations of the difference: P(|T| > t_{1-alpha/2, n-1}) with T noncentral t (n - 1 df, noncentrality
    dz * sqrt(n))."""
    if n < 2:
        return float("nan")
    df, nc = n - 1, dz * np.sqrt(n)
    crit = stats.t.ppf(1 - alpha / 2, df)
    wrong_side = stats.nct.cdf(-crit, df, nc)  # below 1e-16 for any dz > 0 worth asking; scipy gives nan for some
    return float(stats.nct.sf(crit, df, nc) + (wrong_side if np.isfinite(wrong_side) else 0.0))


def mde(n: int, comparisons: int = 1, alpha: float = 0.05, power: float = 0.8) -> float:
    """The minimal detectable effect, in standard deviations of the paired difference: the dz at which the
    two-sided paired t test with n pairs at level alpha / comparisons (Bonferroni's level, which is Holm's first
    step) has the given power. Infinite below two pairs."""
    if n < 2:
        return float("inf")
    level = alpha / max(comparisons, 1)
    hi = 1.0
    while paired_power(hi, n, level) < power:
        hi *= 2
    return float(optimize.brentq(lambda d: paired_power(d, n, level) - power, 0.0, hi, xtol=1e-10))


def seeds_needed(dz: float, comparisons: int = 1, alpha: float = 0.05, power: float = 0.8,
                 limit: int = 100_000) -> int:
    """The fewest pairs (seeds) at which an effect of dz standard deviations of the paired difference reaches the
    power of mde(); -1 when even `limit` pairs would not (dz <= 0)."""
    if not dz > 0:
        return -1
    level, lo, hi = alpha / max(comparisons, 1), 2, 2
    while paired_power(dz, hi, level) < power:
        if hi >= limit:
            return -1
        lo, hi = hi, min(2 * hi, limit)
    while lo < hi:  # power rises with n: the first n that reaches it
        mid = (lo + hi) // 2
        lo, hi = (mid + 1, hi) if paired_power(dz, mid, level) < power else (lo, mid)
    return lo


def slope(x, y) -> tuple[float, float]:
    """OLS slope of y on x (with intercept) and the half-width of its 95% t interval (n - 2 df)."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    n, sxx = len(x), float(((x - x.mean()) ** 2).sum())
    if n < 3 or sxx <= 0:
        return float("nan"), float("nan")
    b = float(((x - x.mean()) * (y - y.mean())).sum() / sxx)
    resid = y - y.mean() - b * (x - x.mean())
    se = np.sqrt(float((resid**2).sum()) / (n - 2) / sxx)
    return b, float(stats.t.ppf(0.975, n - 2) * se)


def effects(weights: np.ndarray, loss: np.ndarray, names: list[str]) -> list[dict]:
    """For each raised source s and each target (every source and the mean): the slope of the target's loss on
    s's weight over all runs (seeds are replicates), and the change it implies over the sweep's range of s."""
    rows = []
    targets = [*names, "mean"]
    losses = np.column_stack([loss, loss.mean(axis=1)])  # (R, S + 1)
    for i, raised in enumerate(names):
        lo, hi = float(weights[:, i].min()), float(weights[:, i].max())
        for j, target in enumerate(targets):
            b, half = slope(weights[:, i], losses[:, j])
            rows.append({"raised": raised, "target": target, "slope": b, "slope_half": half, "from": lo, "to": hi,
                         "change": b * (hi - lo), "change_half": half * (hi - lo), "runs": len(weights),
                         "significant": bool(np.isfinite(half) and abs(b) > half)})
    return rows


def _basis(n: int) -> np.ndarray:
    """Orthonormal basis (n, n - 1) of the vectors summing to zero."""
    q, _ = np.linalg.qr(np.eye(n) - 1.0 / n)
    return q[:, : n - 1]


def fit_law(w: np.ndarray, y: np.ndarray) -> dict:
    """Least-squares fit of L = c + k * exp(w @ t), 0 <= c < min(L), k > 0, sum(t) = 0. Starts from the linear fit
    of log(L - c) for a few c and keeps the best."""
    n = w.shape[1]
    basis = _basis(n)
    y_min, span = float(y.min()), max(float(np.ptp(y)), 1e-3)

    def residual(p):
        return p[0] + np.exp(p[1] + w @ (basis @ p[2:])) - y

    best = None
    for delta in (0.05, 0.3, 1.0, 3.0):
        c0 = max(0.0, y_min - delta * span)
        if c0 >= y_min:
            continue
        beta = np.linalg.lstsq(w, np.log(y - c0), rcond=None)[0]
        x0 = np.array([c0, beta.mean(), *(basis.T @ (beta - beta.mean()))])
        lower = np.array([0.0, -np.inf, *[-np.inf] * (n - 1)])
        upper = np.array([np.nextafter(y_min, 0.0), np.inf, *[np.inf] * (n - 1)])
        fit = optimize.least_squares(residual, np.clip(x0, lower, upper), bounds=(lower, upper))
        if best is None or fit.cost < best.cost:
            best = fit
    p = best.x
    return {"model": "law", "c": float(p[0]), "k": float(np.exp(p[1])), "t": (basis @ p[2:]).tolist()}


def fit_linear(w: np.ndarray, y: np.ndarray) -> dict:
    return {"model": "linear", "b": np.linalg.lstsq(w, y, rcond=None)[0].tolist()}


FITS = {"law": fit_law, "linear": fit_linear}
PARAMS = {"law": lambda n: n + 1, "linear": lambda n: n}  # free parameters for n sources


def predict(fit: dict, w: np.ndarray) -> np.ndarray:
    if fit["model"] == "law":
        return fit["c"] + fit["k"] * np.exp(w @ np.asarray(fit["t"]))
    return w @ np.asarray(fit["b"])


def predict_target(fits: list[dict], w: np.ndarray, target: int | None) -> np.ndarray:
    """Predicted loss of one source (its index), or of the mean over sources (None)."""
    if target is not None:
        return predict(fits[target], w)
    return np.mean([predict(f, w) for f in fits], axis=0)


def held_out(weights, loss, mixture, model: str) -> dict | None:
    """Leave-one-mixture-out: for each mixture, fit on every run of the others and predict its mean loss per
    target. Returns {"observed": (M, S + 1), "predicted": (M, S + 1)} (last column: the mean over sources), or
    None when there are too few mixtures for the model's parameters."""
    ids = np.unique(mixture)
    n = weights.shape[1]
    if len(ids) - 1 < PARAMS[model](n):
        return None
    observed, predicted = [], []
    for m in ids:
        train, test = mixture != m, mixture == m
        fits = [FITS[model](weights[train], loss[train, s]) for s in range(n)]
        w = weights[test][:1]
        pred = [float(predict(f, w)[0]) for f in fits]
        predicted.append([*pred, float(np.mean(pred))])
        obs = loss[test].mean(axis=0)
        observed.append([*obs.tolist(), float(obs.mean())])
    return {"observed": np.array(observed), "predicted": np.array(predicted)}


def spearman(a, b) -> float:
    if len(a) < 3 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    return float(stats.spearmanr(a, b).statistic)


def best_mixture(fits: list[dict], target: int | None, explored: np.ndarray, samples: int = 20000) -> dict:
    """The mixture with the lowest predicted loss among Dirichlet(1) samples, the pure sources and the explored
    mixtures (RegMix searches the simplex the same way), and how far it lies from the nearest explored one
    (total variation distance: the share of the mix that would have to move)."""
    n = explored.shape[1]
    candidates = np.vstack([np.random.default_rng(0).dirichlet(np.ones(n), samples), np.eye(n), explored])
    pred = predict_target(fits, candidates, target)
    i = int(np.argmin(pred))
    distance = 0.5 * np.abs(explored - candidates[i]).sum(axis=1).min()
    return {"weights": candidates[i].tolist(), "predicted": float(pred[i]), "distance": float(distance)}
