"""PII redaction: e-mail addresses, public IPs (v4, v6) and phone numbers replaced and counted; look-alikes kept."""

from __future__ import annotations

import sysconfig
from pathlib import Path

import pyarrow.parquet as pq
from datatrove.data import Document

from curate import schema
from curate.io import RunLayout
from curate.signals.pii import redact
from curate.steps.transforms.pii_redact import PiiRedact

ALL = {"email": "email@example.com", "ip": "22.214.171.124", "ipv6": "2001:db8::1", "phone": "555-0100"}


def test_each_kind_is_replaced_and_counted():
    text = (
        "Mail jane.doe@uni-example.org, call +44 20 7946 0958 or (212) 555-0143; "
        "server 8.8.8.8, resolver 2001:4860:4860::8888."
    )
    out, counts = redact(text, ALL)
    assert counts == {"email": 1, "ip": 1, "ipv6": 1, "phone": 2}
    assert out == ("Mail email@example.com, call 555-0100 or 555-0100; server 22.214.171.124, resolver 2001:db8::1.")


def test_look_alikes_are_kept():
    text = (
        "LAN 192.168.1.1, loopback 127.0.0.1 and ::1, link fe80::1, at 12:30:45, std::vector, "
        "on 2024-05-06, ISBN 978-3-16-148410-0, order 1234567890123, tel. 0123."
    )
    out, counts = redact(text, ALL)
    assert out == text and sum(counts.values()) == 0


def test_kinds_can_be_switched_off():
    out, counts = redact("write to a@b.org from 8.8.8.8", {"email": "x@example.com"})
    assert out == "write to x@example.com from 8.8.8.8" and counts == {"email": 1}


def test_step_sets_columns_and_stats_on_real_text(tmp_path):
    # the standard library's smtplib module carries real example addresses in their docstrings
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    docs = [Document(text=(stdlib / name).read_text(), id=name, metadata={}) for name in ("smtplib.py", "bisect.py")]
    layout = RunLayout(tmp_path, docs_schema=schema.run_schema([(PiiRedact.name, PiiRedact.signals)]))
    step = PiiRedact(PiiRedact.Params(), layout, stage="t", index=1)
    out = {d.id: d for d in step.run(iter(docs))}
    assert out["smtplib.py"].metadata["pii__email"] >= 1 and "email@example.com" in out["smtplib.py"].text
    assert out["bisect.py"].metadata["pii__email"] == 0
    stats = pq.read_table(next((tmp_path / "_work" / "stats").rglob("*.parquet"))).to_pylist()
    metrics = {r["metric"]: r["value"] for r in stats}
    assert metrics["redacted_email"] == out["smtplib.py"].metadata["pii__email"] and metrics["docs_with_email"] == 1


def test_the_cheap_hints_never_skip_a_text_the_patterns_match(web_pages):
    """Each kind's pattern runs only on a text its hint accepts (an IPv4 address needs three dotted digit groups, so
    version numbers such as 3.11.7 skip the scan): on every sample page, every line of this Python's library
    sources and crafted edge cases, a text the pattern matches is never one its hint rejects."""
    from curate.signals.pii import HINTS, KINDS

    texts = [text for _, text, _ in web_pages]
    lib = Path(sysconfig.get_paths()["stdlib"])
    texts += [p.read_text(errors="replace") for p in sorted(lib.glob("*.py"))[:150]]
    texts += ["1.2.3.4", "a 255.255.255.255 b", "x0.0.0.0y", "v1.2.3", "10.0.0", "1234.1.1.1", "+1 555 010 0199",
              "::1", "fe80::1", "a@b.co", "(555) 010-0199"]
    checked = 0
    for text in texts:
        for kind, (pattern, _) in KINDS.items():
            if pattern.search(text) is not None:
                assert HINTS[kind](text), (kind, text[:200])
                checked += 1
    assert checked > 50
