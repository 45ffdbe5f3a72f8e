"""code_redact_v1: replace e-mail addresses, private keys, cloud keys and tokens with placeholders, counting each kind.

What is found and how is in ``curate.signals.secrets`` (StarCoder's placeholders: ``<EMAIL>``, ``<KEY>``). The step
never drops a document. Put it right after the reader: every later step, and the rejects it writes, then sees
redacted text only, so no secret is written anywhere in the run directory.
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

    def apply(self, doc: Document) -> str | None:
        text, counts = redact(doc.text, self.params.kinds)
        doc.text = text
        for kind, column in COLUMNS.items():
            n = counts.get(kind, 0)
            doc.metadata[column] = n
            if n:
                self.count(f"redacted_{kind}", n)
        if sum(counts.values()):
            self.count("redacted_docs")
        return None
