"""toxicity_sklearn_v1: a learned English toxicity score in [0, 1], offline, in batches; drop above a threshold.

The model is the one shipped inside the PyPI package ``alt-profanity-check==1.9.1`` (a TF-IDF vectoriser and a
calibrated linear SVM, trained with scikit-learn 1.9.1 on about 200k human-labelled comments: the Davidson et al.
2017 hate-speech tweets and the Jigsaw Toxic Comment Classification Wikipedia comments, per its author).
``toxicity`` is its probability of the offensive class, ``model.predict_proba(vectorizer.transform(texts))[:, 1]``,
computed for a batch of texts at once from the package's own model files without importing scikit-learn (the same
sums, equal to about 1e-16: ``curate/signals/tfidf.py``). Its ``predict`` answers 1 above 0.5, the default here.

The model was trained on short comments: scored whole, a long text drifts high (Macbeth scores 0.89, the Sonnets
0.86). So by default (``unit: paragraph_mean``) every paragraph (split at newlines) is scored and ``toxicity`` is their
mean weighted by length, the share of the text that reads as toxic (Macbeth 0.10); a short comment keeps its own
score. ``paragraph_max`` flags a page for its worst paragraph; ``document`` scores the text whole.

The model is English: documents whose ``lang`` is another language get a null score, are kept and counted as
``not_scored`` (documents without ``lang`` are taken to be in ``assume_lang``).

Mitigation: ``mask_identity: true`` blanks the identity terms of curate's lexicon out of the text before scoring
(identity blinding), since the model scores bare identity words high (``gay`` 0.98, ``I am a gay man`` 0.95).
"""

from __future__ import annotations

import re
from typing import ClassVar, Literal

import numpy as np
import pyarrow as pa
from datatrove.data import Document
from pydantic import Field

from curate.assets import normalise_lang
from curate.registry import register
from curate.steps.base import Params, Step

_PARAGRAPHS = re.compile(r"\s*\n\s*")


class ToxicityParams(Params):
    threshold: float | None = Field(
        0.5,
        ge=0,
        le=1,
        description="Drop a document whose `toxicity` is at or above this; null = score only. 0.5 is "
        "alt-profanity-check's `predict` (the calibrated classifier's decision).",
    )
    unit: Literal["paragraph_mean", "paragraph_max", "document"] = Field(
        "paragraph_mean",
        description="Score each paragraph (split at newlines) and take the length-weighted mean or the maximum, or "
        "score the whole text (the model was trained on short comments; whole long texts drift high).",
    )
    mask_identity: bool = Field(
        False, description="Blank identity terms (curate/assets/identity/lexicon_en.json) out before scoring."
    )
    assume_lang: str | None = Field(
        "en", description="Language of documents without `lang`; the model is English, others are not scored."
    )
    batch_size: int = Field(256, ge=1, description="Documents per vectoriser/model call.")


def load_model():
    """alt-profanity-check's fitted model as a :class:`curate.signals.tfidf.TfidfLinear`, read without importing
    scikit-learn (about 2 s a process); StepError with the pip line if the package is missing."""
    from curate.steps.filters._profanity_model import load_profanity_check

    return load_profanity_check()


@register
class ToxicitySklearn(Step):
    """English toxicity probability from alt-profanity-check's trained model; drop at or above `threshold`."""

    name = "toxicity_sklearn_v1"
    Params = ToxicityParams
    signals: ClassVar[dict[str, pa.DataType]] = {"toxicity": pa.float32()}
    reasons: ClassVar[dict[str, str]] = {"toxicity_high": "toxicity at or above threshold"}
    batch_size = 256

    def __init__(self, params, layout, stage, index, mode: str = "filter"):
        super().__init__(params, layout, stage, index, mode)
        self.batch_size = params.batch_size

    def setup(self) -> None:
        self._model = load_model()
        self._mask = None
        if self.params.mask_identity:
            from curate.assets import identity_lexicon
            from curate.signals.identity import mask_regex

            self._mask = mask_regex(identity_lexicon("en"))

    def score(self, texts: list[str]):
        """Probability of the offensive class for each text (scikit-learn's ``predict_proba(transform(texts))[:, 1]``,
        computed in one batch with numpy: curate/signals/tfidf.py)."""
        if self._mask is not None:
            texts = [self._mask.sub(" ", t) for t in texts]
        return self._model.predict_proba(texts)

    def doc_scores(self, texts: list[str]) -> list[float]:
        """One score per text, by ``unit``."""
        if self.params.unit == "document":
            return self.score(texts).tolist()
        parts = [[p for p in _PARAGRAPHS.split(t) if p] or [""] for t in texts]
        flat = self.score([p for ps in parts for p in ps])
        scores, at = [], 0
        for ps in parts:
            s = flat[at : at + len(ps)]
            at += len(ps)
            if self.params.unit == "paragraph_max":
                scores.append(float(s.max()))
            else:
                w = np.fromiter((len(p) + 1 for p in ps), dtype=np.float64, count=len(ps))
                scores.append(float((s * w).sum() / w.sum()))
        return scores

    def apply_batch(self, docs: list[Document]) -> list[str | None]:
        english = [
            (normalise_lang(d.metadata.get("lang")) or normalise_lang(self.params.assume_lang)) == "en" for d in docs
        ]
        scores = iter(self.doc_scores([d.text for d, en in zip(docs, english) if en]))
        threshold = self.params.threshold
        out = []
        for doc, en in zip(docs, english):
            if not en:  # an English model's score of another language means nothing: null, kept, counted
                self.count("not_scored")
                out.append(None)
                continue
            doc.metadata["toxicity"] = s = next(scores)
            out.append("toxicity_high" if threshold is not None and s >= threshold else None)
        return out
