"""The statistics a curation study's verdict rests on, checked against answers from elsewhere: G*Power's paired t-test
tables, a Holm adjustment worked by hand, scipy's ttest_rel, a printed t table, and a simulation of the test."""

import numpy as np
import pytest
from scipy import stats

from train.report import stats as st


def test_paired_t_interval_uses_the_printed_t_quantile():
    mean, half, n, _ = st.paired_t([1.0, 2.0, 3.0])  # mean 2, sd 1, n 3
    assert (mean, n) == (2.0, 3)
    assert half == pytest.approx(4.303 / np.sqrt(3), rel=1e-3)  # t_{0.975,2} = 4.303 (any printed t table)
    _, half, _ = st.t_interval([1.0, 2.0])  # sd 0.7071, n 2: t_{0.975,1} = 12.706
    assert half == pytest.approx(12.706 * 0.5, rel=1e-4)


def test_paired_t_p_value_is_scipys_ttest_rel():
    rng = np.random.default_rng(7)
    for n in (2, 3, 6, 20):
        a = rng.normal(3.0, 0.1, n)
        b = a + rng.normal(0.02, 0.03, n)
        mean, _, pairs, p = st.paired_t(b - a)
        assert pairs == n and mean == pytest.approx(np.mean(b - a))
        assert p == pytest.approx(stats.ttest_rel(b, a).pvalue, rel=1e-9)


def test_paired_t_on_constant_differences_and_too_few_pairs():
    assert st.paired_t([0.0, 0.0, 0.0])[3] == 1.0  # two arms that trained bit-identically: no evidence at all
    assert st.paired_t([0.01, 0.01, 0.01])[3] == 0.0  # the same nonzero difference on every seed
    mean, half, n, p = st.paired_t([0.3])
    assert (mean, n) == (0.3, 1) and np.isnan(half) and np.isnan(p)


def test_holm_matches_the_worked_example():
    # by hand: sorted 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1 = 0.02, 0.03, 0.06, 0.04 -> monotone 0.06
    assert st.holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert st.holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])  # capped at 1
    assert st.holm([0.02]) == pytest.approx([0.02])  # one comparison: nothing to correct
    adjusted = st.holm([0.01, np.nan, 0.02])  # a planned comparison without two pairs still counts in m = 3
    assert adjusted[0] == pytest.approx(0.03) and np.isnan(adjusted[1]) and adjusted[2] == pytest.approx(0.04)


def test_power_matches_gpower_paired_t_tables():
    # G*Power 3.1, t tests - means: difference between two dependent means (matched pairs), two tails, alpha 0.05
    assert st.paired_power(0.5, 34) == pytest.approx(0.807, abs=0.001)
    assert st.paired_power(0.5, 27) == pytest.approx(0.70, abs=0.01)
    assert st.seeds_needed(0.5) == 34  # a priori: dz 0.5, power 0.8 -> total sample size 34
    assert st.seeds_needed(1.0) == 10  # dz 1.0 -> 10 (actual power 0.803)
    assert st.paired_power(1.0, 10) == pytest.approx(0.803, abs=0.001)
    assert st.seeds_needed(0.0) == -1


def test_mde_has_80_percent_power_by_simulation():
    """At the minimal detectable effect, 80% of simulated studies (normal paired differences, sd 1) reject at
    alpha / comparisons; an independent check of the noncentral t computation."""
    n, m, sims = 6, 3, 40_000
    dz = st.mde(n, m)
    rng = np.random.default_rng(0)
    d = rng.normal(dz, 1.0, (sims, n))
    t = d.mean(axis=1) / (d.std(axis=1, ddof=1) / np.sqrt(n))
    rejected = np.abs(t) > stats.t.ppf(1 - 0.05 / m / 2, n - 1)
    assert rejected.mean() == pytest.approx(0.80, abs=0.01)  # binomial sd 0.002
    assert st.mde(1) == np.inf and st.mde(3, 60) > 20  # 3 seeds and 60 comparisons: over 20 sd


def test_more_seeds_or_fewer_comparisons_lower_the_mde():
    assert st.mde(16, 3) < st.mde(8, 3) < st.mde(6, 3) < st.mde(6, 12)


def test_a_run_that_parts_from_its_seed_mates_is_marked():
    from train.report.stats import parts_from_the_rest

    # 5.0 against the rest (mean 1.0, sd 0.08165): the 99.9% prediction half-width is t(0.9995, 3) = 12.924 (a printed
    # t table) x 0.08165 x sqrt(1 + 1/4) = 1.18, and 5.0 lies 4.0 away; 1.1 against (1.0, 0.9, 1.0, 5.0) does not
    assert parts_from_the_rest([1.0, 1.1, 0.9, 1.0, 5.0]).tolist() == [False, False, False, False, True]
    assert not parts_from_the_rest([1.0, 1.1, 0.9, 1.0, 2.1]).any()  # 1.1 away: inside 1.18
    assert not parts_from_the_rest([1.0, 2.0, 9.0]).any()  # fewer than 4 seeds: no verdict
