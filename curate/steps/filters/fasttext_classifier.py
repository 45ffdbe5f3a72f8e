"""fasttext_classifier_v1: score documents with any fastText classifier file and drop above or below a threshold.

For models users bring: Dolma's Jigsaw toxicity and NSFW taggers (``jigsaw_fasttext_bigrams_hatespeech_final.bin``,
labels ``__label__toxic`` / ``__label__non-toxic``), the DCLM quality model (``__label__hq``, keep the top), or one
trained with ``curate classifier train``. ``fasttext__score`` is the model's probability of ``label``;
``fasttext__label`` its top label. fastText reads one line per prediction, so newlines become spaces (as Dolma and
datatrove do). One such step per pipeline: its columns have fixed names.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal

import pyarrow as pa
from datatrove.data import Document
from pydantic import Field, field_validator

from curate.errors import StepError
from curate.registry import register
from curate.steps.base import Params, Step


class FastTextParams(Params):
    model_path: str = Field(description="Path of a fastText supervised model (.bin or .ftz).")
    label: str = Field(
        "__label__toxic",
        description="Label whose probability becomes fasttext__score (Dolma's Jigsaw models: __label__toxic; "
        "`curate classifier train`: __label__1 for label 1).",
    )
    threshold: float = Field(
        0.5, ge=0, le=1, description="Decision threshold on fasttext__score (0.5: the two-class decision)."
    )
    drop: Literal["above", "below", "never"] = Field(
        "above",
        description="Drop documents scoring at or above the threshold (toxicity), below it (a quality classifier, "
        "as DCLM), or never (score only).",
    )
    max_chars: int | None = Field(
        None, gt=0, description="Score the first this many characters only; null = the whole text."
    )

    @field_validator("model_path")
    @classmethod
    def _exists(cls, v: str) -> str:
        if not Path(v).expanduser().is_file():
            raise ValueError(f"no such model file: {v}")
        return v


@register
class FastTextClassifier(Step):
    """Any fastText classifier: probability of `label` as a column, drop above/below `threshold`."""

    name = "fasttext_classifier_v1"
    Params = FastTextParams
    signals: ClassVar[dict[str, pa.DataType]] = {"fasttext__score": pa.float32(), "fasttext__label": pa.string()}
    reasons: ClassVar[dict[str, str]] = {
        "fasttext_above": "fasttext__score at or above threshold (drop: above)",
        "fasttext_below": "fasttext__score below threshold (drop: below)",
    }
    batch_size = 256

    def setup(self) -> None:
        from fasttext.FastText import _FastText  # not load_model, which prints a deprecation warning

        try:
            self._model = _FastText(model_path=str(Path(self.params.model_path).expanduser()))
        except ValueError as e:
            raise StepError(f"fasttext_classifier_v1: cannot load {self.params.model_path}: {e}") from None
        labels = self._model.get_labels()
        if self.params.label not in labels:
            raise StepError(f"fasttext_classifier_v1: label {self.params.label!r} is not one of the model's {labels}")
        self._k = len(labels)

    def apply_batch(self, docs: list[Document]) -> list[str | None]:
        n = self.params.max_chars
        lines = [" ".join((d.text[:n] if n else d.text).split()) for d in docs]
        labels, probs = self._model.predict(lines, k=self._k)
        out = []
        for doc, labs, ps in zip(docs, labels, probs):
            score = min(float(dict(zip(labs, ps)).get(self.params.label, 0.0)), 1.0)
            doc.metadata["fasttext__score"], doc.metadata["fasttext__label"] = score, labs[0] if len(labs) else None
            if self.params.drop == "above" and score >= self.params.threshold:
                out.append("fasttext_above")
            elif self.params.drop == "below" and score < self.params.threshold:
                out.append("fasttext_below")
            else:
                out.append(None)
        return out
