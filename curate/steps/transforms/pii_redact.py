"""pii_redact_v1: replace e-mail addresses, public IP addresses and phone numbers in the text, and count them.

As datatrove's ``PIIFormatter`` (FineWeb), e-mail addresses and public IPv4 addresses are replaced by fixed
stand-ins that look like the real thing (an example.com address; an IP that answered no ping), so a model does not
learn a placeholder token; this step adds public IPv6 addresses and phone numbers (a number reserved for fiction,
555-0100). Patterns: ``curate.signals.pii``. The counts are columns (``pii__email`` ...) and metrics (``redacted_email``
...). Never drops. Put it after the filters: they then see the original text, and the redaction is the last edit.
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
    """Replace e-mail addresses, public IPs (v4, v6) and phone numbers; count each kind per document."""

    name = "pii_redact_v1"
    Params = PiiParams
    signals: ClassVar[dict[str, pa.DataType]] = {
        "pii__email": pa.int32(),
        "pii__ip": pa.int32(),
        "pii__phone": pa.int32(),
    }
    reasons: ClassVar[dict[str, str]] = {}

    def setup(self) -> None:
        p = self.params
        self._replacements = {
            k: v for k, v in {"email": p.email, "ip": p.ip, "ipv6": p.ipv6, "phone": p.phone}.items() if v is not None
        }

    def apply(self, doc: Document) -> str | None:
        text, counts = redact(doc.text, self._replacements)
        doc.text = text
        meta = doc.metadata
        meta["pii__email"] = counts.get("email", 0)
        meta["pii__ip"] = counts.get("ip", 0) + counts.get("ipv6", 0)
        meta["pii__phone"] = counts.get("phone", 0)
        for kind, n in counts.items():
            if n:
                self.count(f"redacted_{kind}", n)
                self.count(f"docs_with_{kind}")
        return None
