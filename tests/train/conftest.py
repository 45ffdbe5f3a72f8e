"""Fixtures for the trainer: curated run directories (docs/*.parquet, the contract with curate) built from the
project's bundled samples only, so the test data are the same bytes wherever the tests run:

- code:  the Python and JavaScript files of samples/code (CPython's json, email and tools, PSF; npm `debug`, MIT),
         without the vendored and node_modules files a code reader skips;
- books: the eight public-domain books of samples/books, the first BOOK_CHARS characters of each in
         BOOK_PARTS documents;
- web:   the HTML pages of samples/web/sample.warc.gz, decoded and extracted as the web pipeline does, with their URL
         as id and the index's true language (English: the Python and Docutils docs and the English UDHR; the other
         ~440 are UDHR translations, what a `where lang = 'en'` has to remove), exact copies dropped.
"""

from __future__ import annotations

import functools
import itertools
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

SCHEMA = pa.schema([("id", pa.string()), ("text", pa.string()), ("source", pa.string()), ("url", pa.string()),
                    ("lang", pa.string()), ("lang_score", pa.float32()), ("input_file", pa.string()),
                    ("n_chars", pa.int64())])
REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "samples"
CODE_CHARS = 400_000  # about the old fixture's sizes: the margins of the training outcomes were measured at these
BOOK_CHARS, BOOK_PARTS = 40_000, 4
WEB_EN_CHARS, WEB_OTHER_CHARS = 3_000, 1_000  # per page: 218 English pages (~0.5M chars), 445 others (~0.4M)


def write_run(run_dir: Path, source: str, docs: list[dict], files: int = 2) -> Path:
    """A curated run directory: docs split over `files` Parquet files, declared schema."""
    (run_dir / "docs").mkdir(parents=True, exist_ok=True)
    rows = [{"source": source, "url": None, "lang": "en", "lang_score": 1.0, "input_file": None, **d} for d in docs]
    for row in rows:
        row["n_chars"] = len(row["text"])
    for i in range(files):
        part = rows[i::files]
        pq.write_table(pa.Table.from_pylist(part, schema=SCHEMA), run_dir / "docs" / f"part-{i:05d}.parquet")
    return run_dir


def code_docs(limit_chars: int = CODE_CHARS) -> list[dict]:
    """Source files of samples/code in path order, each whole, until `limit_chars` (a file that would pass it is
    skipped, a smaller one after it still taken)."""
    docs, total = [], 0
    for path in sorted((SAMPLES / "code").rglob("*")):
        rel = path.relative_to(SAMPLES / "code")
        if path.suffix not in (".py", ".js") or {"node_modules", "vendor"} & set(rel.parts):
            continue
        text = path.read_text(encoding="utf-8")
        if total + len(text) > limit_chars:
            continue
        docs.append({"id": f"code/{rel.as_posix()}", "text": text, "input_file": rel.as_posix(), "lang": "zxx",
                     "lang_score": 0.0})
        total += len(text)
    return docs


def books_docs() -> list[dict]:
    """The first BOOK_CHARS characters of each book in samples/books (the JSONL repeats three of them), cut at line
    ends into BOOK_PARTS documents of about equal length: 32 documents, fewer than the 100 below which a source is
    held out by chunks, and enough that a 10% whole-document split is not empty (eight whole books gave none)."""
    docs = []
    for path in sorted((SAMPLES / "books").glob("*.txt")):
        text = path.read_text(encoding="utf-8-sig")[:BOOK_CHARS]
        cuts = [0] + [text.index("\n", k * len(text) // BOOK_PARTS) + 1 for k in range(1, BOOK_PARTS)] + [len(text)]
        docs += [{"id": f"books/{path.stem}/{k + 1}", "text": text[a:b], "input_file": path.name}
                 for k, (a, b) in enumerate(itertools.pairwise(cuts))]
    return docs


@functools.cache
def _pages() -> tuple[tuple[str, str, str], ...]:
    from tests.conftest import sample_pages  # the curate tests' extraction of the same WARC

    return sample_pages()


def web_docs() -> list[dict]:
    """The sample WARC's HTML pages as documents (id = URL), exact text copies (the same page under a second URL)
    dropped, English pages cut to WEB_EN_CHARS and the others to WEB_OTHER_CHARS."""
    docs, seen = [], set()
    for url, text, lang in _pages():
        if text in seen:
            continue
        seen.add(text)
        cut = WEB_EN_CHARS if lang == "en" else WEB_OTHER_CHARS
        docs.append({"id": url, "text": text[:cut], "url": url, "lang": lang, "lang_score": 1.0})
    return docs


@pytest.fixture(scope="session")
def runs(tmp_path_factory) -> dict[str, Path]:
    """Three curated run directories: code, books, web (web mixes English and some 370 other languages)."""
    root = tmp_path_factory.mktemp("runs")
    return {
        "code": write_run(root / "code", "code", code_docs()),
        "books": write_run(root / "books", "books", books_docs()),
        "web": write_run(root / "web", "web", web_docs()),
    }


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory) -> Path:
    """One tokenizer/shard cache for the whole session: runs over the same mix share their tokenizer."""
    return tmp_path_factory.mktemp("train-cache")


@pytest.fixture
def tiny_raw(runs, cache_dir):
    """tiny_raw(**overrides) -> config dict for a model that trains in seconds on two cores (dotted keys)."""
    return lambda **overrides: tiny_config(runs, cache_dir, **overrides)


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture
def make_run():
    """make_run(dir, source, docs) -> a curated run directory."""
    return write_run


def tiny_config(runs: dict[str, Path], cache_dir: Path, **overrides) -> dict:
    raw = {
        "mix": {
            "val_fraction": 0.15,
            "sources": [
                {"name": "web", "run": str(runs["web"]), "where": "lang = 'en'", "weight": 0.4},
                {"name": "books", "run": str(runs["books"]), "weight": 0.3},
                {"name": "code", "run": str(runs["code"]), "weight": 0.3},
            ],
        },
        "model": {"size": "test"},
        "tokenizer": {"vocab_size": 400, "sample_chars": 300_000},
        "tokens": 40 * 8 * 64,
        "batch_size": 8,
        "lr": 3e-3,
        "min_lr": 3e-4,
        "warmup": 0.1,
        "eval_interval": 20,
        "eval_tokens": 4096,
        "log_interval": 10,
        "checkpoint_interval": 10,
        "threads": 1,  # tiny models gain nothing from a second thread, and CI's two cores are shared
        "cache_dir": str(cache_dir),
    }
    for key, value in overrides.items():
        node = raw
        *parents, last = (int(k) if k.isdigit() else k for k in key.split("."))  # mix.sources.0.weight
        for p in parents:
            node = node[p]
        node[last] = value
    return raw


SHORT_RUN_STEPS = 300  # at 150 the 0.13M model was within 0.01 nats of the unigram loss on a fresh venv's data


@pytest.fixture(scope="session")
def short_run(runs, cache_dir, tmp_path_factory):
    """The shipped pipelines/mix.yaml, pointed at the fixture runs and shrunk to a 0.13M model and 300 steps:
    (config, out_dir, metric rows). Several tests read this one run."""
    from train.config import load_config
    from train.loop import train_run

    overrides = [
        f"mix.sources.0.run={runs['web']}",
        f"mix.sources.1.run={runs['books']}",
        f"mix.sources.2.run={runs['code']}",
        "mix.val_fraction=0.15",
        "model.size=test",
        "model.block_size=64",
        "tokenizer.vocab_size=400",
        "tokenizer.sample_chars=300000",
        f"tokens={SHORT_RUN_STEPS * 8 * 64}",
        "batch_size=8",
        "warmup=0.1",
        "eval_interval=100",
        "eval_tokens=4096",
        "checkpoint_interval=100",
        "threads=1",
        f"cache_dir={cache_dir}",
    ]
    config = load_config(REPO / "pipelines" / "mix.yaml", overrides)
    out = tmp_path_factory.mktemp("short-run")
    rows = train_run(config, out, progress=False)
    return config, out, rows
