"""token_count_v1: the number of tokens of each document under a SentencePiece model (``tokens``), so a mix's budget
can be stated in the curated data's own terms: ``curate sql "SELECT source, lang, sum(tokens) FROM docs GROUP BY
ALL" RUN``, and ``curate inspect`` shows tokens kept per source and language and tokens removed per filter (run it
before the filters: rejects then carry their counts too).

``tokenizer`` is a SentencePiece ``.model`` file, or a folder holding ``tokenizer.model`` (what ``train run`` writes
under its tokenizer directory). Counting is SentencePiece's batch encoder, one thread, no BOS/EOS.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import pyarrow as pa
from datatrove.data import Document
from pydantic import Field, field_validator

from curate.registry import register
from curate.steps.base import Params, Step


class TokenCountParams(Params):
    tokenizer: str = Field(description="A SentencePiece model file, or a folder holding tokenizer.model.")

    @field_validator("tokenizer")
    @classmethod
    def _exists(cls, path: str) -> str:
        if model_file(path) is None:
            raise ValueError(f"no SentencePiece model at {path} (a .model file, or a folder with tokenizer.model)")
        return path


def model_file(path: str) -> Path | None:
    p = Path(path)
    if p.is_dir():
        p = p / "tokenizer.model"
    return p if p.is_file() else None


@register
class TokenCount(Step):
    """Count each document's tokens under a SentencePiece model (column `tokens`).

    Place it before the filters so rejects carry their tokens: `curate inspect` then reports tokens kept per
    source and language and removed per step and reason.
    """

    name = "token_count_v1"
    Params = TokenCountParams
    batch_size = 64  # SentencePiece encodes a list in one call
    signals: ClassVar[dict[str, pa.DataType]] = {"tokens": pa.int64()}
    reasons: ClassVar[dict[str, str]] = {}

    def setup(self) -> None:
        import sentencepiece as spm

        from curate.errors import StepError

        self._sp = spm.SentencePieceProcessor()
        try:
            self._sp.Load(str(model_file(self.params.tokenizer)))
        except (OSError, RuntimeError) as e:
            raise StepError(f"token_count_v1: {self.params.tokenizer} is not a SentencePiece model ({e})") from None

    def apply_batch(self, docs: list[Document]) -> list[str | None]:
        ids = self._sp.encode([d.text for d in docs], num_threads=1)
        for doc, piece_ids in zip(docs, ids):
            doc.metadata["tokens"] = len(piece_ids)
            self.count("tokens", len(piece_ids))
        return [None] * len(docs)
