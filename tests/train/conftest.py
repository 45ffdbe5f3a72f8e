"""Fixtures for the trainer: curated run directories (docs/*.parquet, the contract with curate) built from real
text found on any machine that runs these tests:

- code:  the running Python's standard library (*.py), PSF licence;
- books: the licence texts in /usr/share/common-licenses plus the Zen of Python (`import this`);
- web:   the long descriptions (READMEs) in installed packages' METADATA, with their project URLs, plus spaCy's
         example sentences in ~60 languages (non-English: what a `where lang = 'en'` has to remove).
"""

from __future__ import annotations

import ast
import email
import functools
import glob
import importlib.util
import os
import sysconfig
from importlib import metadata
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

SCHEMA = pa.schema([("id", pa.string()), ("text", pa.string()), ("source", pa.string()), ("url", pa.string()),
                    ("lang", pa.string()), ("lang_score", pa.float32()), ("input_file", pa.string()),
                    ("n_chars", pa.int64())])
REPO = Path(__file__).resolve().parents[2]


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


def code_docs(limit_chars: int = 400_000) -> list[dict]:
    docs, total = [], 0
    for path in sorted(glob.glob(os.path.join(sysconfig.get_paths()["stdlib"], "*.py"))):
        text = Path(path).read_text(encoding="utf-8", errors="replace")
        if total + len(text) > limit_chars:
            continue
        docs.append({"id": f"stdlib/{Path(path).name}", "text": text, "lang": "zxx", "lang_score": 0.0})
        total += len(text)
    return docs


def books_docs() -> list[dict]:
    import codecs

    # The Zen of Python is `s` in Lib/this.py, rot13-encoded; read it without importing (which prints it).
    tree = ast.parse(Path(sysconfig.get_paths()["stdlib"], "this.py").read_text())
    zen = next(n.value.value for n in tree.body if isinstance(n, ast.Assign) and n.targets[0].id == "s")
    docs = [{"id": "python/zen", "text": codecs.decode(zen, "rot13")}]
    seen = set()
    for path in sorted(glob.glob("/usr/share/common-licenses/*")):
        real = os.path.realpath(path)
        if os.path.isfile(real) and real not in seen:
            seen.add(real)
            docs.append({"id": f"licenses/{Path(path).name}", "text": Path(real).read_text(errors="replace")})
    for name in ("LICENSE", "LICENSE.txt"):  # Python's own licence: present even where common-licenses is not
        path = Path(sysconfig.get_paths()["stdlib"]) / name
        if path.is_file():
            docs.append({"id": f"python/{name}", "text": path.read_text(errors="replace")})
    return docs


@functools.cache
def dependency_closure(root: str = "curate", extras: tuple[str, ...] = ("dev", "ray")) -> frozenset[str]:
    """Canonical names of the distributions `pip install -e '.[dev,ray]'` brings in, `root` left out. What else an
    interpreter has installed differs from machine to machine (CI's image holds awscli, a fresh venv does not), so
    test data read from installed packages is read from these only: the same text wherever the tests run."""
    todo = [(root, tuple(extras))]
    expanded = {(canonicalize_name(root), frozenset(extras))}  # a distribution again with other extras: more deps
    while todo:
        name, wanted = todo.pop()
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        for line in requires:
            req = Requirement(line)
            if req.marker and not any(req.marker.evaluate({"extra": e}) for e in ("", *wanted)):
                continue
            state = (canonicalize_name(req.name), frozenset(req.extras))
            if state not in expanded:
                expanded.add(state)
                todo.append((req.name, tuple(req.extras)))
    return frozenset(name for name, _ in expanded) - {canonicalize_name(root)}


def web_docs(limit: int = 40) -> list[dict]:
    docs = []
    site = sysconfig.get_paths()["purelib"]
    wanted = dependency_closure()  # never curate's own README: the test data would move with every edit of the docs
    for path in sorted(glob.glob(os.path.join(site, "*.dist-info", "METADATA"))):
        meta = email.message_from_bytes(Path(path).read_bytes())
        if canonicalize_name(meta.get("Name", "")) not in wanted:
            continue
        body = meta.get_payload()
        if not isinstance(body, str) or len(body) < 2000 or len(docs) >= limit:
            continue
        urls = [u.split(",", 1)[-1].strip() for u in meta.get_all("Project-URL", [])] + [meta.get("Home-page")]
        url = next((u for u in urls if u), None)
        docs.append({"id": f"pypi/{meta.get('Name')}", "text": body[:30_000], "url": url})
    spacy = importlib.util.find_spec("spacy")  # located, not imported (importing spaCy takes seconds)
    for path in sorted(glob.glob(os.path.join(spacy.submodule_search_locations[0], "lang", "*", "examples.py"))):
        lang = Path(path).parent.name
        tree = ast.parse(Path(path).read_text(encoding="utf-8"))  # `sentences = [...]`, a literal list of strings
        sentences = next((ast.literal_eval(n.value) for n in tree.body if isinstance(n, ast.Assign)
                          and getattr(n.targets[0], "id", "") == "sentences"), [])
        text = "\n".join(s for s in sentences if isinstance(s, str))
        if text:
            docs.append({"id": f"spacy/{lang}", "text": text, "lang": lang, "lang_score": 1.0})
    return docs


@pytest.fixture(scope="session")
def runs(tmp_path_factory) -> dict[str, Path]:
    """Three curated run directories: code, books, web (web mixes English and ~60 other languages)."""
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
        *parents, last = key.split(".")
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
