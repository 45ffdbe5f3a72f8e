"""pii_redact_v1: replace e-mail addresses, public IP addresses and phone numbers in the text, and count them.

As datatrove's ``PIIFormatter`` (FineWeb), e-mail addresses and public IPv4 addresses are replaced by fixed
stand-ins that look like the real thing (an example.com address; an IP that answered no ping), so a model does not
learn a placeholder token; this step adds public IPv6 addresses and phone numbers (a number reserved for fiction,
555-0100). Patterns: ``curate.signals.pii``. The counts are columns (``pii__email`` ...) and metrics (``redacted_email``
...). Never drops.

Put it after the filters: they then judge the original text. Nothing the run writes is unredacted all the same: every
writer (the rejects of each earlier filter, the intermediate shards before a dedup step, docs/) applies this step's
redaction to the copy it writes of a document the step has not yet seen, and fills the ``pii__*`` counts of that copy
(so a rejected row says what was taken out of it). The text in memory stays original until this step runs; only a
step after a global step (dedup), which reads the intermediate shards back, sees it redacted. Details:
``curate.redaction``.
"""

from __future__ import annotations

from typing import ClassVar

import pyarrow as pa
from datatrove.data import Document
from pydantic import Field

from curate.registry import register
from curate.signals.pii import redact
from curate.steps.base import Params, Step


class PiiParams(Params):
    email: str | None = Field(
        "email@example.com", description="Replacement of e-mail addresses (datatrove's first); null: keep them."
    )
    ip: str | None = Field(
        "22.214.171.124", description="Replacement of public IPv4 addresses (datatrove's first); null: keep them."
    )
    ipv6: str | None = Field(
        "2001:db8::1", description="Replacement of public IPv6 addresses (RFC 3849 documentation range); null: keep."
    )
    phone: str | None = Field(
        "555-0100",
        description="Replacement of phone numbers (NANP 555-0100..0199 are reserved for fiction); null: keep.",
    )


@register
class PiiRedact(Step):
    """Replace e-mail addresses, public IPs (v4, v6) and phone numbers; count each kind per document.

    Put it after the filters, so that they judge the original text: the text in memory stays original until this
    step runs. No file of the run holds what it removes all the same: every writer (the rejects/ of each earlier
    filter, the intermediate shards _work/segment<k>/ before a dedup step, docs/) writes a document this step has not
    yet seen through this step's redaction, and sets that copy's pii__* counts (so a rejected row says how many were
    replaced). A step placed after a global step (dedup) reads those intermediate shards back, so it sees the
    redacted text; this step then counts, from the pii__* columns, what was replaced on the way.
    """

    name = "pii_redact_v1"
    Params = PiiParams
    signals: ClassVar[dict[str, pa.DataType]] = {
        "pii__email": pa.int32(),
        "pii__ip": pa.int32(),
        "pii__phone": pa.int32(),
    }
    reasons: ClassVar[dict[str, str]] = {}
    redaction_marker: ClassVar[str] = "pii__email"

    def setup(self) -> None:
        p = self.params
        self._replacements = {
            k: v for k, v in {"email": p.email, "ip": p.ip, "ipv6": p.ipv6, "phone": p.phone}.items() if v is not None
        }

    def redact_text(self, text: str) -> tuple[str, dict]:
        text, counts = redact(text, self._replacements)
        return text, _columns(counts)

    def apply(self, doc: Document) -> str | None:
        meta = doc.metadata
        if meta.get(self.redaction_marker) is None:
            doc.text, counts = redact(doc.text, self._replacements)
            meta.update(_columns(counts))
        else:  # redacted when written to an intermediate shard before a global step: count what was replaced then
            counts = {"email": meta["pii__email"], "ip": meta["pii__ip"], "phone": meta["pii__phone"]}
        for kind, n in counts.items():
            if n:
                self.count(f"redacted_{kind}", n)
                self.count(f"docs_with_{kind}")
        return None


def _columns(counts: dict[str, int]) -> dict[str, int]:
    return {
        "pii__email": counts.get("email", 0),
        "pii__ip": counts.get("ip", 0) + counts.get("ipv6", 0),
        "pii__phone": counts.get("phone", 0),
    }
