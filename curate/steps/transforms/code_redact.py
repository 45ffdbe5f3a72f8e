"""code_redact_v1: replace e-mail addresses, private keys, cloud keys and tokens with placeholders, counting each kind.

What is found and how is in ``curate.signals.secrets`` (StarCoder's placeholders: ``<EMAIL>``, ``<KEY>``). The step
never drops a document. Put it right after the reader, so that no step sees a secret. Placed later, the run still
writes no secret: every writer (rejects, intermediate shards, docs) applies this step's redaction to the copy it
writes of a document the step has not yet seen (``curate.redaction``).
"""

from __future__ import annotations

from typing import ClassVar, Literal

import pyarrow as pa
from datatrove.data import Document
from pydantic import Field

from curate.registry import register
from curate.signals.secrets import KINDS, redact
from curate.steps.base import Params, Step

COLUMNS = {
    "email": "redact__emails",
    "private_key": "redact__private_keys",
    "cloud_key": "redact__cloud_keys",
    "token": "redact__tokens",
}


class CodeRedactParams(Params):
    kinds: list[Literal["email", "private_key", "cloud_key", "token"]] = Field(
        list(KINDS),
        description="Kinds to redact: email, private_key, cloud_key, token (StarCoder redacted e-mails and keys).",
    )


@register
class CodeRedact(Step):
    """Redact e-mail addresses, private keys, cloud access keys and tokens; counts per kind as stats and columns."""

    name = "code_redact_v1"
    Params = CodeRedactParams
    signals: ClassVar[dict[str, pa.DataType]] = {col: pa.int32() for col in COLUMNS.values()}
    reasons: ClassVar[dict[str, str]] = {}
    redaction_marker: ClassVar[str] = "redact__emails"

    def redact_text(self, text: str) -> tuple[str, dict]:
        text, counts = redact(text, self.params.kinds)
        return text, {column: counts.get(kind, 0) for kind, column in COLUMNS.items()}

    def apply(self, doc: Document) -> str | None:
        if doc.metadata.get(self.redaction_marker) is None:
            doc.text, columns = self.redact_text(doc.text)
            doc.metadata.update(columns)
        # else: redacted when written to an intermediate shard before a global step; count what was replaced then
        for kind, column in COLUMNS.items():
            n = doc.metadata[column]
            if n:
                self.count(f"redacted_{kind}", n)
        if any(doc.metadata[column] for column in COLUMNS.values()):
            self.count("redacted_docs")
        return None
