"""Read alt-profanity-check's shipped model files into a :class:`curate.signals.tfidf.TfidfLinear`, without
scikit-learn.

The package's ``data/vectorizer.joblib`` and ``data/model.joblib`` are joblib pickles of a scikit-learn 1.9.1
``TfidfVectorizer`` and ``CalibratedClassifierCV(LinearSVC, method="sigmoid")``. Importing the package unpickles them
through scikit-learn, whose import (with SciPy) costs about 2 s per process. Here joblib's own unpickler reads the
same files with every scikit-learn class replaced by a plain attribute holder, and the fitted arrays are taken out
of them; the settings the scoring arithmetic relies on are checked, so a different model fails loudly.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from curate.errors import StepError
from curate.signals.tfidf import SKLEARN_TOKEN_PATTERN, TfidfLinear

PIP = "pip install alt-profanity-check==1.9.1"


class _Fitted:
    """Stands in for a scikit-learn class in the pickle: keeps its fitted attributes."""

    def __setstate__(self, state):
        self.__dict__.update(state)


def _load(path: Path):
    from joblib.numpy_pickle import NumpyUnpickler

    class Unpickler(NumpyUnpickler):
        def find_class(self, module, name):
            if module.split(".")[0] in ("sklearn", "scipy"):
                return type(name, (_Fitted,), {})
            return super().find_class(module, name)

    with open(path, "rb") as f:
        return Unpickler(str(path), f, None).load()


def model_dir() -> Path:
    spec = importlib.util.find_spec("profanity_check")
    if spec is None or not spec.submodule_search_locations:
        raise StepError(f"toxicity_sklearn_v1 needs alt-profanity-check: {PIP}")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def load_profanity_check() -> TfidfLinear:
    """alt-profanity-check's vectoriser and calibrated classifiers as a :class:`TfidfLinear`."""
    folder = model_dir()
    try:
        vec, model = _load(folder / "vectorizer.joblib"), _load(folder / "model.joblib")
    except (OSError, ImportError, AttributeError) as e:
        raise StepError(f"toxicity_sklearn_v1 cannot read alt-profanity-check's model ({e}): {PIP}") from None
    expected = {
        "analyzer": "word",
        "ngram_range": (1, 1),
        "lowercase": True,
        "preprocessor": None,
        "tokenizer": None,
        "strip_accents": None,
        "binary": False,
        "token_pattern": SKLEARN_TOKEN_PATTERN,
    }
    tfidf = vec._tfidf.__dict__
    if (
        any(vec.__dict__.get(k) != v for k, v in expected.items())
        or (tfidf.get("norm"), tfidf.get("use_idf"), tfidf.get("sublinear_tf")) != ("l2", True, False)
        or model.method != "sigmoid"
        or any(len(c.calibrators) != 1 for c in model.calibrated_classifiers_)
    ):
        raise StepError(f"toxicity_sklearn_v1: alt-profanity-check's model is not the one expected: {PIP}")
    classifiers = model.calibrated_classifiers_
    return TfidfLinear(
        vocabulary={str(k): int(v) for k, v in vec.vocabulary_.items()},
        idf=np.asarray(tfidf["idf_"], dtype=np.float64),
        coef=np.vstack([c.estimator.coef_[0] for c in classifiers]).astype(np.float64),
        intercept=np.array([float(c.estimator.intercept_[0]) for c in classifiers]),
        sigmoid=np.array([[float(c.calibrators[0].a_), float(c.calibrators[0].b_)] for c in classifiers]),
    )
