"""A TF-IDF + calibrated linear classifier scored with numpy alone: the arithmetic of scikit-learn's
``CalibratedClassifierCV(LinearSVC, method="sigmoid").predict_proba(TfidfVectorizer.transform(texts))[:, 1]``.

scikit-learn computes, for a word-unigram ``TfidfVectorizer`` (``lowercase=True``, ``norm="l2"``,
``sublinear_tf=False``, the default token pattern): the count of each vocabulary word in the lower-cased text,
times its idf, the row divided by its Euclidean norm (an all-zero row stays zero); each of the ``K`` calibrated
classifiers' decision ``f_k = x . coef_k + intercept_k``, its sigmoid calibration ``expit(-(a_k f_k + b_k))``; and the
mean over the ``K`` classifiers. This module does the same sums in the same order (features sorted within a row),
so scores agree with scikit-learn's to the last bits of a float64 (``np.exp`` against scipy's ``expit``): about
1e-16, checked in ``tests/test_toxicity_numpy.py``. Importing scikit-learn and SciPy costs about 2 s per process, more than
scoring a thousand web pages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

SKLEARN_TOKEN_PATTERN = r"(?u)\b\w\w+\b"  # TfidfVectorizer's default token_pattern


@dataclass(frozen=True)
class TfidfLinear:
    """The fitted parameters: ``vocabulary`` word -> column, ``idf`` (V,), ``coef`` (K, V), ``intercept`` (K,),
    ``sigmoid`` (K, 2) the calibrators' ``(a, b)``."""

    vocabulary: dict[str, int]
    idf: np.ndarray
    coef: np.ndarray
    intercept: np.ndarray
    sigmoid: np.ndarray
    token_pattern: str = SKLEARN_TOKEN_PATTERN

    def __post_init__(self):
        object.__setattr__(self, "_tokens", re.compile(self.token_pattern).findall)
        object.__setattr__(self, "_weights", np.ascontiguousarray(self.coef.T))  # (V, K): one row per word

    def features(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(row, column, count) of each distinct vocabulary word of each text, sorted by row then column."""
        get, tokens = self.vocabulary.get, self._tokens
        ids: list[int] = []
        lengths = np.empty(len(texts), dtype=np.int64)
        for r, text in enumerate(texts):
            found = [i for i in map(get, tokens(text.lower())) if i is not None]
            lengths[r] = len(found)
            ids.extend(found)
        rows = np.repeat(np.arange(len(texts), dtype=np.int64), lengths)
        keys, counts = np.unique(rows * len(self.idf) + np.asarray(ids, dtype=np.int64), return_counts=True)
        return keys // len(self.idf), keys % len(self.idf), counts

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        """Probability of the positive class, one per text (shape ``(len(texts),)``)."""
        n = len(texts)
        rows, cols, counts = self.features(texts)
        x = counts * self.idf[cols]  # (nnz,) tf * idf
        norms = np.sqrt(np.bincount(rows, weights=x * x, minlength=n))
        x = x / norms[rows]  # rows without a word have no entries, so no division by zero
        k = len(self.intercept)
        contrib = self._weights[cols] * x[:, None]  # (nnz, K)
        decision = np.empty((n, k))
        for j in range(k):
            decision[:, j] = np.bincount(rows, weights=contrib[:, j], minlength=n)
        decision += self.intercept
        proba = np.zeros(n)
        for j in range(k):  # summed in classifier order, as CalibratedClassifierCV.predict_proba does
            proba += 1.0 / (1.0 + np.exp(self.sigmoid[j, 0] * decision[:, j] + self.sigmoid[j, 1]))
        return proba / k
