"""A bad config fails before any work, naming the YAML line and the nearest valid name."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from curate.cli import main
from curate.config import load_pipeline
from curate.errors import ConfigError
from curate.registry import all_steps, get_step

GOOD = """name: t
source: web
input:
  reader: jsonl_v1
  paths: [{input}]
steps:
  - exact_dedup_v1
output: {out}
executor:
  type: local
  tasks: 2
"""


def write(tmp_path, text, jsonl_input) -> Path:
    p = tmp_path / "p.yaml"
    p.write_text(text.format(input=jsonl_input, out=tmp_path / "out"))
    return p


def error_of(path, **kw) -> str:
    with pytest.raises(ConfigError) as e:
        load_pipeline(path, **kw)
    return str(e.value)


def test_good_config_parses(tmp_path, jsonl_input):
    spec = load_pipeline(write(tmp_path, GOOD, jsonl_input))
    assert spec.executor.tasks == 2 and [s.name for s in spec.steps] == ["exact_dedup_v1"]


def test_unknown_step_names_line_and_nearest(tmp_path, jsonl_input):
    p = write(tmp_path, GOOD.replace("  - exact_dedup_v1", "  - exact_dedupe_v1"), jsonl_input)
    msg = error_of(p)
    assert f"{p}:7" in msg and "exact_dedupe_v1" in msg and "did you mean 'exact_dedup_v1'" in msg


def test_unknown_key_names_line_and_nearest(tmp_path, jsonl_input):
    p = write(tmp_path, GOOD.replace("  tasks: 2", "  taks: 2"), jsonl_input)
    msg = error_of(p)
    assert f"{p}:11" in msg and "unknown key 'taks'" in msg and "did you mean 'tasks'" in msg


def test_wrong_type_names_line(tmp_path, jsonl_input):
    p = write(tmp_path, GOOD.replace("  tasks: 2", "  tasks: many"), jsonl_input)
    msg = error_of(p)
    assert f"{p}:11" in msg and "executor.tasks" in msg and "'many'" in msg


def test_unknown_step_parameter_names_line(tmp_path, jsonl_input):
    p = write(tmp_path, GOOD.replace("  - exact_dedup_v1", "  - exact_dedup_v1:\n      threshold: 3"), jsonl_input)
    msg = error_of(p)
    assert f"{p}:8" in msg and "unknown key 'threshold'" in msg


def test_missing_input_names_line(tmp_path, jsonl_input):
    p = write(tmp_path, GOOD.replace("paths: [{input}]", "paths: [/nonexistent/*.jsonl]"), jsonl_input)
    msg = error_of(p)
    assert f"{p}:5" in msg and "no file matches" in msg


def test_invalid_yaml_names_line(tmp_path, jsonl_input):
    p = write(tmp_path, GOOD.replace("source: web", "source: [web"), jsonl_input)
    assert f"{p}:" in error_of(p)


def test_unknown_reader_suggests(tmp_path, jsonl_input):
    p = write(tmp_path, GOOD.replace("reader: jsonl_v1", "reader: jsonl_v2"), jsonl_input)
    msg = error_of(p)
    assert f"{p}:4" in msg and "jsonl_v1" in msg


def test_set_and_overrides(tmp_path, jsonl_input):
    p = write(tmp_path, GOOD, jsonl_input)
    spec = load_pipeline(p, sets=["executor.tasks=3", "steps.exact_dedup_v1={}"], output=str(tmp_path / "o2"),
                         inputs=[str(jsonl_input)])
    assert spec.executor.tasks == 3 and spec.output == str(tmp_path / "o2")
    assert "no step 'lang_v1'" in error_of(p, sets=["steps.lang_v1.min_score=0.5"])


def test_cli_prints_one_line_and_fails_before_work(tmp_path, jsonl_input):
    p = write(tmp_path, GOOD.replace("  - exact_dedup_v1", "  - exact_dedupe_v1"), jsonl_input)
    result = CliRunner().invoke(main, ["run", str(p)])
    assert result.exit_code == 1
    assert "Traceback" not in result.output and result.output.strip().startswith("Error:")
    assert not (tmp_path / "out").exists()  # nothing was started


def test_cli_shows_every_error_one_per_line(tmp_path, jsonl_input):
    """A missing key, a wrong type and a stray top-level key: all three, each on its own line with its YAML line
    (the stray key, hidden behind "(and 2 more)", was the one to fix)."""
    text = GOOD.replace("  paths: [{input}]\n", "").replace("  tasks: 2", "  tasks: two") + "stray: 1\n"
    p = write(tmp_path, text, jsonl_input)
    result = CliRunner().invoke(main, ["run", str(p)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.output.strip().splitlines() == [
        f"Error: {p}:4: input.paths: Field required",  # the input mapping starts on line 4
        f"{p}:10: executor.tasks: Input should be a valid integer, unable to parse string as an integer, got 'two'",
        f"{p}:11: stray: unknown key 'stray'",
    ]


def test_every_shipped_pipeline_parses(root, monkeypatch):
    monkeypatch.chdir(root)  # shipped pipelines name their inputs relative to the repository root
    for path in sorted((root / "pipelines").glob("*.yaml")):
        if path.name in {"mix.yaml", "sweep.yaml"}:
            continue  # trainer configs, parsed by train's own tests
        spec = load_pipeline(path, check_inputs=False)  # dedup.yaml reads earlier runs, made by other tests
        assert spec.steps, path
        if all(p.startswith("samples/") for p in spec.input.paths):
            load_pipeline(path)  # the bundled samples are there


def test_study_pipelines_parse_in_tag_mode(root, monkeypatch):
    """studies/curation's pipelines (their inputs come from its build_corpus.py) are valid; in those that curate
    training data every filter tags (wiki.yaml curates the evaluation set: it filters)."""
    monkeypatch.chdir(root)
    paths = sorted((root / "studies").glob("*/*.yaml"))
    specs = {p.name: load_pipeline(p, check_inputs=False) for p in paths if not p.name.startswith("sweep")}
    training = [spec for name, spec in specs.items() if name != "wiki.yaml"]
    assert len(training) >= 3
    for spec in training:
        assert spec.mode == "tag" and all(s.mode == "tag" for s in spec.steps if get_step(s.name).taggable())


def test_steps_command_lists_every_step_with_params():
    runner = CliRunner()
    out = runner.invoke(main, ["steps"]).output
    for name in all_steps():
        assert name in out
    one = runner.invoke(main, ["steps", "exact_dedup_v1"])
    assert one.exit_code == 0 and "exact_duplicate" in one.output and "exact_dup__copies" in one.output
    bad = runner.invoke(main, ["steps", "exact_dedup_v2"])
    assert bad.exit_code == 1 and "did you mean" in bad.output
