"""toxicity_sklearn_v1 scores with numpy what alt-profanity-check's scikit-learn model scores (expected values from
scikit-learn itself, run here on the same real text)."""

from __future__ import annotations

import re
import sys

import numpy as np
import pytest
from conftest import SAMPLES

from curate.steps.filters._profanity_model import load_profanity_check


def real_paragraphs() -> list[str]:
    """Paragraphs of two bundled books and comments written for this test (toxic, identity terms, empty, caps)."""
    texts = [(SAMPLES / "books" / name).read_text()[:60_000] for name in ("macbeth.txt", "botchan.txt")]
    paras = [p for t in texts for p in re.split(r"\s*\n\s*", t) if p]
    return paras + ["", "gay", "I am a gay man", "you are a fucking idiot", "SHIT shit Shit!!", "a b c", "x" * 3]


def test_numpy_scores_equal_scikit_learns_and_loading_imports_no_sklearn():
    before = set(sys.modules)
    model = load_profanity_check()
    assert not {m for m in set(sys.modules) - before if m.split(".")[0] in ("sklearn", "scipy")}
    texts = real_paragraphs()
    ours = model.predict_proba(texts)
    pc = pytest.importorskip("profanity_check.profanity_check")
    theirs = pc.model.predict_proba(pc.vectorizer.transform(texts))[:, 1]
    assert len(texts) > 1000 and ours.shape == theirs.shape
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-12)
    assert ((ours >= 0.5) == (theirs >= 0.5)).all() and (theirs >= 0.5).sum() >= 4
