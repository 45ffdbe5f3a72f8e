"""Bad input fails with one clear line, exit status 1, before any training (no checkpoint, no metrics)."""

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from click.testing import CliRunner

from train.cli import main


def run_cli(tmp_path, raw: dict):
    config = tmp_path / "mix.yaml"
    config.write_text(yaml.safe_dump(raw))
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["run", str(config), "-o", str(out), "-q"])
    return result, out


def assert_one_line_error(result, out, *words):
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    for word in words:
        assert word in lines[0], lines[0]
    assert not (out / "ckpt.pt").exists() and not (out / "metrics.parquet").exists()


def test_missing_run_directory(tmp_path, tiny_raw):
    result, out = run_cli(tmp_path, tiny_raw(**{"mix.sources": [{"name": "gone", "run": str(tmp_path / "nope")}]}))
    assert_one_line_error(result, out, "mix.sources[0] (gone)", "run directory not found", "nope")


def test_empty_source(tmp_path, tiny_raw, runs, make_run):
    empty = make_run(tmp_path / "empty", "web", [], files=1)
    raw = tiny_raw()
    raw["mix"]["sources"][1]["run"] = str(empty)
    result, out = run_cli(tmp_path, raw)
    assert_one_line_error(result, out, "mix.sources[1] (books)", "empty source")


def test_run_directory_without_parquet_is_an_empty_source(tmp_path, tiny_raw):
    (tmp_path / "bare" / "docs").mkdir(parents=True)
    raw = tiny_raw()
    raw["mix"]["sources"][2]["run"] = str(tmp_path / "bare")
    result, out = run_cli(tmp_path, raw)
    assert_one_line_error(result, out, "mix.sources[2] (code)", "empty source", "docs/*.parquet")


def test_weights_that_sum_to_zero(tmp_path, tiny_raw):
    raw = tiny_raw()
    for source in raw["mix"]["sources"]:
        source["weight"] = 0
    result, out = run_cli(tmp_path, raw)
    assert_one_line_error(result, out, "mix.sources", "weights sum to zero")


@pytest.mark.parametrize("where, words", [("lang = 'tlh'", "selects none of the"), ("lang = = 'en'", "not valid SQL")])
def test_where_that_selects_nothing_or_is_not_sql(tmp_path, tiny_raw, where, words):
    raw = tiny_raw()
    raw["mix"]["sources"][0]["where"] = where
    result, out = run_cli(tmp_path, raw)
    assert_one_line_error(result, out, "mix.sources[0] (web)", words)


def test_vocabulary_larger_than_the_text_supports(tmp_path, tiny_raw):
    raw = tiny_raw(**{"tokenizer.vocab_size": 20000, "tokenizer.sample_chars": 20000})
    result, out = run_cli(tmp_path, raw)
    assert_one_line_error(result, out, "tokenizer.vocab_size", "20000", "at most")


def test_source_too_small_to_hold_out_a_validation_window(tmp_path, tiny_raw):
    raw = tiny_raw()
    raw["mix"]["sources"][0]["where"] = "id = 'https://docs.python.org/3.11/genindex-A.html'"  # 9 characters
    result, out = run_cli(tmp_path, raw)
    assert_one_line_error(result, out, "mix.sources[0] (web)", "split has", "block_size + 1")


def test_parquet_without_the_contract_columns(tmp_path, tiny_raw):
    (tmp_path / "odd" / "docs").mkdir(parents=True)
    pq.write_table(pa.table({"body": ["some real text"]}), tmp_path / "odd" / "docs" / "part-0.parquet")
    raw = tiny_raw()
    raw["mix"]["sources"][0] = {"name": "odd", "run": str(tmp_path / "odd")}
    result, out = run_cli(tmp_path, raw)
    assert_one_line_error(result, out, "mix.sources[0] (odd)", "id, text")


def test_unknown_key_and_missing_config_file(tmp_path, tiny_raw):
    result, out = run_cli(tmp_path, tiny_raw(batch_sise=4))
    assert_one_line_error(result, out, "batch_sise", "did you mean 'batch_size'")
    result = CliRunner().invoke(main, ["run", str(tmp_path / "missing.yaml")])
    assert result.exit_code == 1 and "config file not found" in result.output


def test_where_naming_a_remote_file_fails_offline(tmp_path, tiny_raw, monkeypatch):
    """A `where` is user SQL: one that reads an https:// path fails in one line; DuckDB installs nothing."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))  # DuckDB would install extensions under ~/.duckdb
    for proxy in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.setenv(proxy, "http://127.0.0.1:9")  # a download attempt, if any, fails here instead of hanging
    raw = tiny_raw()
    raw["mix"]["sources"][0]["where"] = "id IN (SELECT id FROM read_parquet('https://example.com/ids.parquet'))"
    result, out = run_cli(tmp_path, raw)
    assert_one_line_error(result, out, "mix.sources[0]", "httpfs")
    assert not any(home.rglob("*"))


def test_yaml_syntax_error_names_file_line_and_cause(tmp_path):
    config = tmp_path / "mix.yaml"
    config.write_text("mix:\n  sources:\n    - run: runs/web\n   weight: 1\nlr: 3e-3\n")  # weight: one space short
    result = CliRunner().invoke(main, ["run", str(config), "-o", str(tmp_path / "out")])
    assert result.exit_code == 1 and len(result.output.strip().splitlines()) == 1, result.output
    assert result.output.startswith(f"Error: {config}:4:4: not valid YAML: expected <block end>, but found "), \
        result.output
    assert "(while parsing a block mapping that starts at line 2); line 4 reads '   weight: 1'" in result.output


def test_every_config_error_is_shown_one_a_line_with_its_yaml_line(tmp_path, tiny_raw):
    raw = tiny_raw(batch_sise=4)  # the last key of the file
    raw["mix"]["sources"][0]["wieght"] = 1
    config = tmp_path / "mix.yaml"
    config.write_text(yaml.safe_dump(raw, sort_keys=False))
    lines = config.read_text().splitlines()
    wieght = next(i for i, line in enumerate(lines, 1) if "wieght" in line)
    result = CliRunner().invoke(main, ["run", str(config), "-o", str(tmp_path / "out"), "--set", "lr=fast"])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        f"Error: {config}:{wieght}: mix.sources[0].wieght: unknown key; did you mean 'weight'?",
        f"{config}:{len(lines)}: batch_sise: unknown key; did you mean 'batch_size'?",
        "--set lr=fast: lr: expected float, got 'fast'"]
    assert not (tmp_path / "out").exists()
