import dataclasses

import pytest

from train.config import (
    SIZES,
    MixtureConfig,
    ModelConfig,
    SourceConfig,
    TokenizerConfig,
    TrainConfig,
    apply_override,
    field_docs,
    load_config,
    parse,
)
from train.errors import ConfigError


@pytest.mark.parametrize("cls", [TrainConfig, MixtureConfig, SourceConfig, ModelConfig, TokenizerConfig])
def test_every_config_field_is_documented(cls):
    docs = field_docs(cls)
    missing = [f.name for f in dataclasses.fields(cls) if not docs.get(f.name)]
    assert not missing, f"{cls.__name__} fields without an attribute docstring: {missing}"


def test_shipped_mix_yaml_parses(repo):
    config = load_config(repo / "pipelines" / "mix.yaml")
    assert [s.name for s in config.mix.sources] == ["web", "books", "code"]
    assert config.mix.sources[0].where == "lang = 'en'"
    assert abs(sum(config.mix.weights) - 1) < 1e-12
    assert config.model.size in SIZES and config.model.n_layer == SIZES[config.model.size]["n_layer"]
    assert config.lr == 3e-3 and config.steps > 0


def test_overrides_reach_nested_keys_and_parse_yaml_values(repo):
    config = load_config(repo / "pipelines" / "mix.yaml",
                         ["lr=1e-3", "tokens=2e6", "mix.sources.1.weight=0", "model.size=10m", "model.n_layer=3"])
    assert config.lr == 1e-3 and config.tokens == 2_000_000  # YAML 1.1 reads 1e-3 as a string; we do not
    assert config.mix.sources[1].weight == 0 and config.mix.weights[1] == 0
    assert (config.model.n_embd, config.model.n_layer) == (SIZES["10m"]["n_embd"], 3)  # explicit beats size


@pytest.mark.parametrize(
    "patch, key, words",
    [
        ({"mix.sources.0.wieght": 1}, "mix.sources[0].wieght", "did you mean 'weight'"),
        ({"mix.sources.0.weight": 0, "mix.sources.1.weight": 0, "mix.sources.2.weight": 0}, "mix.sources",
         "weights sum to zero"),
        ({"mix.sources.2.weight": -1}, "mix.sources[2].weight", ">= 0"),
        ({"model.size": "7m"}, "model.size", "unknown size"),
        ({"model.n_head": 5}, "model.n_embd", "heads"),
        ({"lr": "fast"}, "lr", "expected float"),
        ({"tokenizer.vocab_size": 100}, "tokenizer.vocab_size", "at least 300"),
        ({"dtype": "fp8"}, "dtype", "float32, bfloat16 or auto"),
        ({"mix.sources.1.name": "web"}, "mix.sources[1].name", "duplicate"),
    ],
)
def test_bad_values_name_their_yaml_key(repo, patch, key, words):
    import yaml

    raw = yaml.safe_load((repo / "pipelines" / "mix.yaml").read_text())
    for k, v in patch.items():
        apply_override(raw, f"{k}={v}")
    with pytest.raises(ConfigError) as err:
        parse(TrainConfig, raw)
    assert err.value.key == key
    assert words in str(err.value) and str(err.value).startswith(key)


def test_every_command_has_help_and_run_help_lists_every_config_key():
    from click.testing import CliRunner

    from train.cli import main
    from train.config import reference

    for command in main.commands:
        result = CliRunner().invoke(main, [command, "--help"])
        assert result.exit_code == 0 and len(result.output.splitlines()) > 3
    run_help = CliRunner().invoke(main, ["run", "--help"]).output
    for key, doc in reference():
        assert key in run_help and doc.split()[0] in run_help, key
    assert "mix.sources[].where" in run_help
