"""Code: the repository reader (git and plain folders, every skip reason), licences, the Stack/StarCoder filters,
secret redaction, and code.yaml end to end. Real files: the running Python's stdlib, samples/code, Debian's licence
texts; git repositories and bad inputs are built in tmp_path at test time."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sysconfig
from collections import Counter
from pathlib import Path

import pip
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from datatrove.data import Document

from curate import schema
from curate.cli import main
from curate.inspect import connect
from curate.io import RunLayout
from curate.signals.licenses import allowed, detect_license, spdx_header
from curate.signals.secrets import redact
from curate.steps.filters.code_quality import CodeQuality
from curate.steps.readers.code_reader import CodeRepoReader
from curate.steps.transforms.code_redact import CodeRedact

STDLIB = Path(sysconfig.get_paths()["stdlib"])
ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples" / "code"
LICENSES = Path("/usr/share/common-licenses")  # Debian's licence texts (base-files), on every Debian machine


def git(repo: Path, *args: str) -> str:
    cmd = ["git", "-C", str(repo), "-c", "user.name=curate", "-c", "user.email=ci@localhost", *args]
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip()


def read(tmp_path: Path, paths, **params) -> tuple[list[Document], Counter]:
    """Run the reader over ``paths``; (documents, summed counters)."""
    layout = RunLayout(
        tmp_path / "run", docs_schema=schema.run_schema([(CodeRepoReader.name, CodeRepoReader.signals)])
    )
    reader = CodeRepoReader(CodeRepoReader.Params(**params), layout, "t", 0, [str(p) for p in paths], "code")
    docs = list(reader.run())
    counts: Counter = Counter()
    for f in (layout.work / "stats" / "t").glob("*.parquet"):
        for row in pq.read_table(f).to_pylist():
            counts[row["metric"]] += row["value"]
    return docs, counts


@pytest.fixture
def repo(tmp_path) -> Path:
    """A git repository of real files, with one of each thing a code reader must skip or decode."""
    r = tmp_path / "myrepo"
    (r / "src").mkdir(parents=True)
    for name in ("decoder.py", "encoder.py", "scanner.py"):
        shutil.copy(STDLIB / "json" / name, r / "src" / name)
    shutil.copy(STDLIB / "tomllib" / "_parser.py", r / "src" / "toml_parser.py")  # SPDX-License-Identifier: MIT
    shutil.copy(STDLIB / "LICENSE.txt", r / "LICENSE")  # the PSF licence
    (r / ".gitignore").write_text("*.log\nbuild/\n")
    (r / "build").mkdir()
    shutil.copy(STDLIB / "json" / "tool.py", r / "build" / "tool.py")  # ignored
    (r / "debug.log").write_text("ignored\n")
    shutil.copytree(SAMPLES / "node-debug" / "node_modules", r / "node_modules")  # vendored
    shutil.copy(SAMPLES / "node-debug" / "package-lock.json", r / "package-lock.json")  # lock file
    shutil.copy(SAMPLES / "node-debug" / "vendor" / "lodash.min.js", r / "lodash.min.js")  # minified
    shutil.copy(STDLIB / "idlelib" / "Icons" / "idle_16.gif", r / "idle_16.gif")  # binary by extension
    nul = (STDLIB / "json" / "__init__.py").read_bytes()
    (r / "src" / "with_nul.py").write_bytes(nul[:500] + b"\x00" + nul[500:])  # binary by content
    text = (STDLIB / "json" / "tool.py").read_text()
    (r / "src" / "utf16.py").write_bytes(text.encode("utf-16"))  # BOM + UTF-16-LE: decoded
    (r / "src" / "utf8bom.py").write_bytes(b"\xef\xbb\xbf" + text.encode())  # BOM dropped
    (r / "src" / "latin1.py").write_bytes("# caf\u00e9 cr\u00e8me\n".encode("latin-1") + text.encode())  # undecodable
    (r / "src" / "empty.py").write_bytes(b"")
    (r / "src" / "script").write_text("#!/usr/bin/env python3\n" + text)  # language from the #! line
    (r / "NOTES").write_text("no extension, no #! line\n")  # unknown language
    (r / "big.py").write_bytes(b"x = '" + b"a" * (40 * 2**20) + b"'\n")  # a 40 MB single line: not read
    os.symlink("..", r / "src" / "loop")  # a symlink loop
    git(r, "init", "-q")
    git(r, "add", "-A")
    git(r, "add", "-f", "node_modules")  # committed vendored code (git's global excludes may hide it)
    git(r, "commit", "-q", "-m", "real files")
    (r / "src" / "scanner.py").unlink()  # tracked but gone: unreadable
    return r


def test_git_repo_documents_and_every_skip_reason(tmp_path, repo):
    docs, counts = read(tmp_path, [repo])
    by_path = {d.metadata["path"]: d for d in docs}
    assert sorted(by_path) == [
        "src/decoder.py",
        "src/encoder.py",
        "src/script",
        "src/toml_parser.py",
        "src/utf16.py",
        "src/utf8bom.py",
    ]
    head = git(repo, "rev-parse", "HEAD")
    d = by_path["src/decoder.py"]
    assert d.id == "myrepo/src/decoder.py" and d.text == (STDLIB / "json" / "decoder.py").read_text()
    assert d.metadata | {"url": None} == {
        "url": None,
        "repo": "myrepo",
        "path": "src/decoder.py",
        "language": "Python",
        "license": "PSF-2.0",
        "size": len(d.text.encode()),
        "commit": head,
        "source": "code",
        "input_file": str(repo),
    }
    assert d.metadata["url"] == str(repo / "src" / "decoder.py")
    assert by_path["src/toml_parser.py"].metadata["license"] == "MIT"  # the file's SPDX header wins
    assert by_path["src/script"].metadata["language"] == "Python"
    text = (STDLIB / "json" / "tool.py").read_text()
    assert by_path["src/utf16.py"].text == text and by_path["src/utf8bom.py"].text == text
    assert counts["skipped_gitignored"] == 2  # debug.log and the build/ directory
    assert counts["skipped_vendored"] == sum(p.is_file() for p in (repo / "node_modules").rglob("*"))
    for reason in ("lock_file", "minified", "empty", "too_large", "symlink"):
        assert counts[f"skipped_{reason}"] == 1, reason
    assert counts["skipped_unknown_language"] == 3  # LICENSE, NOTES, .gitignore
    assert counts["skipped_binary"] == 2  # the .gif by extension, with_nul.py by content
    assert counts["error_undecodable"] == 1 and counts["error_unreadable"] == 1
    assert counts["kept"] == len(docs)


def test_plain_folder_honours_nested_gitignore_and_skips_special_files(tmp_path):
    root = tmp_path / "plain"
    shutil.copytree(STDLIB / "email", root / "email", ignore=shutil.ignore_patterns("__pycache__"))
    (root / ".gitignore").write_text("*.rst\n/email/mime/\n")
    (root / "email" / ".gitignore").write_text("!architecture.rst\n_*.py\n")
    os.mkfifo(root / "pipe.py")
    with socket.socket(socket.AF_UNIX) as s:  # a socket file: not a regular file
        s.bind(str(root / "sock.py"))
        docs, counts = read(tmp_path, [root])
    paths = {d.metadata["path"] for d in docs}
    expected = {f"email/{p.name}" for p in (STDLIB / "email").glob("*.py") if not p.name.startswith("_")}
    expected.add("email/architecture.rst")  # ignored by the root .gitignore, re-included by the deeper one
    assert paths == expected and all(d.metadata["commit"] is None for d in docs)
    underscored = len(list((STDLIB / "email").glob("_*.py")))
    assert counts["skipped_gitignored"] == underscored + 1  # the _*.py files and the mime/ directory
    assert counts["skipped_not_regular_file"] == 2


def test_empty_repositories_are_counted(tmp_path):
    (tmp_path / "empty_git").mkdir()
    git(tmp_path / "empty_git", "init", "-q")
    (tmp_path / "empty_dir").mkdir()
    docs, counts = read(tmp_path, [tmp_path / "empty_git", tmp_path / "empty_dir"])
    assert docs == [] and counts["skipped_empty_repo"] == 2


def test_licence_texts_are_recognised():
    expected = {
        "Apache-2.0": "Apache-2.0",
        "BSD": "BSD-3-Clause",
        "CC0-1.0": "CC0-1.0",
        "GPL-2": "GPL-2.0",
        "GPL-3": "GPL-3.0",
        "LGPL-2": "LGPL-2.0",
        "LGPL-2.1": "LGPL-2.1",
        "LGPL-3": "LGPL-3.0",
        "MPL-2.0": "MPL-2.0",
        "GFDL-1.3": None,
    }
    for name, spdx in expected.items():
        assert detect_license((LICENSES / name).read_text()) == spdx, name
    assert detect_license((STDLIB / "LICENSE.txt").read_text()) == "PSF-2.0"
    assert detect_license((SAMPLES / "node-debug" / "LICENSE").read_text()) == "MIT"
    assert spdx_header((STDLIB / "tomllib" / "_parser.py").read_text()) == "MIT"
    assert spdx_header("/* SPDX-License-Identifier: GPL-2.0-or-later WITH Linux-syscall-note */\n") == (
        "GPL-2.0-or-later WITH Linux-syscall-note"
    )
    permissive = {"MIT", "Apache-2.0"}
    assert allowed("MIT OR GPL-3.0", permissive) and allowed("(Apache-2.0 AND MIT)", permissive)
    assert not allowed("MIT AND GPL-3.0", permissive) and not allowed(None, permissive)


def quality(tmp_path, docs, **params):
    layout = RunLayout(tmp_path, docs_schema=schema.run_schema([(CodeQuality.name, CodeQuality.signals)]))
    step = CodeQuality(CodeQuality.Params(**params), layout, stage="t", index=1)
    kept = list(step.run(iter(docs)))
    rejects = pq.read_table(next((tmp_path / "rejects").glob("*.parquet"))) if kept != docs else None
    return kept, dict(zip(rejects["id"].to_pylist(), rejects["reason"].to_pylist())) if rejects else {}


def doc(path: Path, language: str, license: str | None = "PSF-2.0") -> Document:
    return Document(
        text=path.read_text(encoding="utf-8"), id=path.name, metadata={"language": language, "license": license}
    )


@pytest.mark.parametrize(
    "path, language, reason, params",
    [
        (STDLIB / "test" / "test_bz2.py", "Python", "code_long_line", {}),  # a 1,181-character line
        (Path(pip.__file__).parent / "_vendor/pygments/formatters/_mapping.py", "Python", "code_long_mean_line", {}),
        (STDLIB / "test/test_tomllib/data/invalid/multiline-basic-str/escape-only.toml", "TOML", "code_low_alnum", {}),
        (
            STDLIB / "token.py",
            "Python",
            "code_autogenerated",
            {},
        ),  # "Auto-generated by Tools/scripts/generate_token.py"
        (STDLIB / "test" / "test_gettext.py", "Python", "code_encoded_data", {}),  # base64 .mo files inline
        (STDLIB / "test/xmltestdata/c14n-20/inC14N1.xml", "XML", "code_xml", {}),
        (STDLIB / "test/test_tomllib/data/valid/empty-inline-table.json", "JSON", "code_data_too_small", {}),
        (STDLIB / "test/test_zoneinfo/data/zoneinfo_data.json", "JSON", "code_data_too_large", {}),
        (STDLIB / "argparse.py", "Python", "code_too_many_lines", {"max_lines": 1000}),
    ],
)
def test_each_quality_rule_drops_a_real_file(tmp_path, path, language, reason, params):
    clean = doc(STDLIB / "json" / "decoder.py", "Python")
    kept, rejected = quality(tmp_path, [doc(path, language), clean], **params)
    assert rejected == {path.name: reason} and kept == [clean]
    assert clean.metadata["code__max_line_length"] < 1000 and clean.metadata["code__alnum_frac"] > 0.25


def test_xslt_is_not_dropped_as_xml(tmp_path):
    xsl = doc(STDLIB / "test/xmltestdata/c14n-20/doc.xsl", "XML")
    assert quality(tmp_path, [xsl])[0] == [xsl]


def test_licence_allow_list(tmp_path):
    docs = [doc(STDLIB / "json" / "decoder.py", "Python", lic) for lic in ("PSF-2.0", "GPL-3.0", None)]
    for d, name in zip(docs, ("psf", "gpl", "none")):
        d.id = name
    kept, rejected = quality(tmp_path, docs, licenses=["permissive"])
    assert [d.id for d in kept] == ["psf"]
    assert rejected == {"gpl": "code_license_not_allowed", "none": "code_license_unknown"}


def private_key() -> str:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a real private key")
    out = subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519"], capture_output=True, text=True, check=True)
    return out.stdout


def test_each_secret_kind_is_found_and_replaced(tmp_path):
    real = (STDLIB / "email" / "_parseaddr.py").read_text()  # two real e-mail addresses in its header comments
    aws_id, aws_secret = (
        "AKIA" + "IOSFODNN7EXAMPLE",
        "wJalrXUtnFEMI/K7MDENG/" + "bPxRfiCYEXAMPLEKEY",
    )  # AWS docs' example
    gh, google = "gh" + "p_" + "x7Kq" * 9, "AI" + "za" + "Sy" + "D9" * 15 + "abc"
    key = private_key()
    text = (
        f"{real}\nAWS_ACCESS_KEY_ID = '{aws_id}'\naws_secret_access_key = \"{aws_secret}\"\n"
        f"GOOGLE_KEY = '{google}'\ntoken = '{gh}'\nPEM = '''{key}'''\n"
    )
    layout = RunLayout(tmp_path, docs_schema=schema.run_schema([(CodeRedact.name, CodeRedact.signals)]))
    step = CodeRedact(CodeRedact.Params(), layout, stage="t", index=1)
    [out] = list(step.run(iter([Document(text=text, id="secrets.py", metadata={})])))
    for secret in (aws_id, aws_secret, google, gh, key.strip(), "PRIVATE KEY", "@python.org"):
        assert secret not in out.text
    assert out.text.count("<EMAIL>") == 2 and out.text.count("<KEY>") == 5
    assert 'aws_secret_access_key = "<KEY>"' in out.text  # the value is replaced, the name kept
    assert {k: v for k, v in out.metadata.items()} == {
        "redact__emails": 2,
        "redact__private_keys": 1,
        "redact__cloud_keys": 3,
        "redact__tokens": 1,
    }
    stats = pq.read_table(next((tmp_path / "_work" / "stats").rglob("*.parquet"))).to_pylist()
    got = {r["metric"]: r["value"] for r in stats if r["metric"].startswith("redacted_")}
    assert got == {
        "redacted_email": 2,
        "redacted_private_key": 1,
        "redacted_cloud_key": 3,
        "redacted_token": 1,
        "redacted_docs": 1,
    }


def test_redaction_leaves_code_without_secrets_alone():
    text = (STDLIB / "json" / "decoder.py").read_text()
    assert redact(text) == (text, Counter())


def test_code_pipeline_end_to_end_and_sql_across_sources(tmp_path):
    runner = CliRunner()
    code_run, books_run = tmp_path / "code", tmp_path / "books"
    result = runner.invoke(
        main,
        [
            "run",
            str(ROOT / "pipelines" / "code.yaml"),
            "-o",
            str(code_run),
            "-i",
            str(SAMPLES / "cpython-json-email"),
            "-i",
            str(SAMPLES / "node-debug"),
        ],
    )
    assert result.exit_code == 0, result.output
    con = connect([code_run])
    rows = dict(con.execute("SELECT repo, any_value(license) FROM docs GROUP BY repo").fetchall())
    assert rows == {"cpython-json-email": "PSF-2.0", "node-debug": "MIT"}
    skipped = dict(
        con.execute("SELECT metric, sum(value) FROM stats WHERE metric LIKE 'skipped_%' GROUP BY 1").fetchall()
    )
    assert skipped["skipped_vendored"] > 0 and skipped["skipped_lock_file"] == 1
    assert con.execute("SELECT count(*) FROM docs WHERE text LIKE '%@python.org%'").fetchone() == (0,)
    assert con.execute("SELECT sum(redact__emails) FROM docs").fetchone()[0] > 0
    books = ROOT / "samples" / "books"
    result = runner.invoke(
        main,
        [
            "run",
            str(ROOT / "pipelines" / "books.yaml"),
            "-o",
            str(books_run),
            "-i",
            str(books / "hamlet.txt"),
            "-i",
            str(books / "botchan.txt"),
        ],
    )
    assert result.exit_code == 0, result.output
    both = (
        connect([code_run, books_run])
        .execute(
            """SELECT source, coalesce(lang, language) AS language, count(*) AS docs,
                  sum(len(regexp_split_to_array(trim(text), '\\s+'))) AS tokens
           FROM docs GROUP BY ALL ORDER BY source, docs DESC"""
        )
        .fetchall()
    )
    sources = {s for s, *_ in both}
    assert sources == {"books", "code"} and ("books", "en", 2) == both[0][:3]
    assert all(tokens > 0 for *_, tokens in both) and ("code", "Python") in {r[:2] for r in both}
