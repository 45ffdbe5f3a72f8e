"""token_count_v1 with a SentencePiece model trained here on a real book (Botchan, samples/books), over the bundled
books JSONL: every kept and rejected document carries its token count, and SQL / inspect report tokens."""

from __future__ import annotations

import io

import pytest
from click.testing import CliRunner
from conftest import ROOT, curate_ok, run_rows

from curate.cli import main


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory):
    import sentencepiece as spm

    model = io.BytesIO()
    lines = (ROOT / "samples" / "books" / "botchan.txt").read_text().splitlines()
    spm.SentencePieceTrainer.train(sentence_iterator=iter(lines), model_writer=model, vocab_size=800, minloglevel=2)
    folder = tmp_path_factory.mktemp("tok")
    (folder / "tokenizer.model").write_bytes(model.getvalue())  # the layout `train run` writes
    return folder


def test_tokens_on_docs_and_rejects_match_the_tokenizer(tmp_path, tokenizer):
    import sentencepiece as spm

    (tmp_path / "p.yaml").write_text(f"""name: tok
source: books
input: {{reader: jsonl_v1, paths: [{ROOT / 'samples' / 'books' / 'books.jsonl'}]}}
steps:
  - token_count_v1: {{tokenizer: {tokenizer}}}
  - gopher_quality_v1: {{max_doc_words: 20000}}
output: {tmp_path / 'run'}
""")
    curate_ok(["run", str(tmp_path / "p.yaml")])
    sp = spm.SentencePieceProcessor(model_file=str(tokenizer / "tokenizer.model"))
    rows = run_rows(tmp_path / "run", "SELECT text, tokens FROM docs UNION ALL SELECT text, tokens FROM rejects")
    assert len(rows) == 3 and all(t == len(sp.encode(text)) for text, t in rows)
    removed = dict(run_rows(tmp_path / "run", "SELECT reason, sum(tokens) FROM rejects GROUP BY 1"))
    rejected = run_rows(tmp_path / "run", "SELECT coalesce(sum(tokens), 0) FROM rejects")[0][0]
    # a filter's cost in tokens, per reason (GROUP BY has no order: look reasons up by name)
    assert removed.get("gopher_long_doc", 0) > 0 and sum(removed.values()) == rejected
    out = curate_ok(["inspect", str(tmp_path / "run")]).output
    assert "== tokens (token_count_v1)" in out and "gopher_quality_v1/gopher_long_doc" in out


def test_missing_tokenizer_fails_before_work(tmp_path):
    (tmp_path / "p.yaml").write_text(f"""name: tok
source: books
input: {{reader: jsonl_v1, paths: [{ROOT / 'samples' / 'books' / 'books.jsonl'}]}}
steps:
  - token_count_v1: {{tokenizer: {tmp_path}}}
output: {tmp_path / 'run'}
""")
    result = CliRunner().invoke(main, ["run", str(tmp_path / "p.yaml")])
    assert result.exit_code == 1 and "p.yaml:5" in result.output and "no SentencePiece model" in result.output
