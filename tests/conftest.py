"""Shared fixtures: the repository root, the bundled samples, and small REAL documents."""

from __future__ import annotations

import csv
import functools
import json
import os
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
WEB_SAMPLE = SAMPLES / "web" / "sample.warc.gz"

# torch and fastText share 2 cores with datatrove workers in CI; one thread each avoids oversubscription stalls.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("RAY_AUTH_MODE", "disabled")


def curate_ok(args: list[str]):
    """Run the `curate` CLI in-process; fail the test with its output unless it exits 0."""
    from click.testing import CliRunner

    from curate.cli import main

    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    return result


def run_rows(run_dir, sql: str) -> list[tuple]:
    """The rows of ``sql`` over the DuckDB views of ``run_dir``."""
    from curate.inspect import connect

    return connect([run_dir]).execute(sql).fetchall()


@pytest.fixture
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def web_filtered_run(tmp_path_factory) -> Path:
    """pipelines/web.yaml on the bundled WARC, as shipped (run once per session)."""
    out = tmp_path_factory.mktemp("web") / "run"
    result = curate_ok(["run", str(ROOT / "pipelines" / "web.yaml"), "-i", str(WEB_SAMPLE), "-o", str(out)])
    assert "dropped_lang_low_score" in result.output  # the funnel is printed at the end
    return out


@pytest.fixture(scope="session")
def web_tagged_run(tmp_path_factory) -> Path:
    """The same pipeline with every filter step in tag mode (`curate run --tag-only`), run once per session."""
    out = tmp_path_factory.mktemp("web-tagged") / "run"
    curate_ok(["run", str(ROOT / "pipelines" / "web.yaml"), "--tag-only", "-i", str(WEB_SAMPLE), "-o", str(out)])
    return out


def stdlib_docs(n: int, package: str = "email") -> list[dict]:
    """Real text: the source files of a stdlib package, as {id, text} records (code, PSF licence)."""
    files = sorted(Path(sysconfig.get_paths()["stdlib"], package).glob("*.py"))[:n]
    return [{"id": f"{package}/{p.name}", "text": p.read_text()} for p in files]


@pytest.fixture
def jsonl_input(tmp_path) -> Path:
    """Two JSONL files of real documents (a glob matches both): 12 stdlib modules, plus in the second file an exact
    copy of a first-file document and a case/whitespace-changed copy, and one invalid line in the first file."""
    docs = stdlib_docs(12)
    a = [json.dumps(d) for d in docs[:7]] + ["{this is not json"]
    b = [json.dumps(d) for d in docs[7:]]
    b.append(json.dumps({"id": "copy-of-0", "text": docs[0]["text"]}))
    b.append(json.dumps({"id": "upper-copy-of-1", "text": "  " + docs[1]["text"].upper().replace("\n", "\n\n")}))
    (tmp_path / "input-a.jsonl").write_text("\n".join(a) + "\n")
    (tmp_path / "input-b.jsonl").write_text("\n".join(b) + "\n")
    return tmp_path / "input-*.jsonl"


@pytest.fixture
def tiny_pipeline(tmp_path, jsonl_input) -> Path:
    """A pipeline over the JSONL fixture: read, exact dedup, write."""
    path = tmp_path / "tiny.yaml"
    path.write_text(
        f"""name: tiny
source: code
input:
  reader: jsonl_v1
  paths: [{jsonl_input}]
steps:
  - exact_dedup_v1
output: {tmp_path / "run"}
executor: {{type: local, tasks: 2, workers: 1}}
"""
    )
    return path


@functools.lru_cache(maxsize=1)
def sample_pages() -> tuple[tuple[str, str, str], ...]:
    """(url, text, lang) of the sample WARC's HTML pages, decoded and extracted as the web pipeline does
    (curate.signals.encoding, resiliparse main content); lang is the index's ground truth."""
    from fastwarc.warc import ArchiveIterator, WarcRecordType
    from resiliparse.extract.html2text import extract_plain_text

    from curate.signals.encoding import decode_html

    with open(WEB_SAMPLE.with_name("sample.index.csv")) as f:
        index = {r["url"]: r for r in csv.DictReader(f)}
    pages = []
    with open(WEB_SAMPLE, "rb") as f:
        for record in ArchiveIterator(f, record_types=WarcRecordType.response, parse_http=True):
            row = index.get(record.headers.get("WARC-Target-URI"))
            if row is None or "html" not in row["content_type"]:
                continue
            decoded = decode_html(record.reader.read(), record.http_charset)
            text = extract_plain_text(decoded.text, main_content=True) if decoded else ""
            if text.strip():
                pages.append((row["url"], text, row["lang"]))
    return tuple(pages)


@pytest.fixture(scope="module")
def web_pages():
    return sample_pages()


@pytest.fixture(scope="module")
def en_pages():
    return [(url, text) for url, text, lang in sample_pages() if lang == "en"]
