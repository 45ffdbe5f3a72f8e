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


def test_micro_batch_keeps_each_passes_logits_under_16_mib(repo):
    """micro_batch_size 0 picks the most sequences (a divisor of the batch) whose float32 logits, over every model
    stacked in one process, fit 16 MiB; a set micro_batch_size is kept; the split always divides the batch."""
    from train.loop import LOGITS_PER_PASS, batch_split

    config = load_config(repo / "pipelines" / "mix.yaml", ["batch_size=16", "model.block_size=256"])
    assert batch_split(config, 1, vocab=8192) == (16, 2)       # 2 x 256 x 8192 = 4 Mi logits
    assert batch_split(config, 1, models=2, vocab=8192) == (16, 1)
    assert batch_split(config, 2, vocab=512) == (8, 8)         # small vocabularies: one pass per step
    assert batch_split(config, 1, models=64, vocab=8192) == (16, 1)  # never below one sequence
    for models, vocab in ((1, 2048), (3, 4096), (1, 32000)):
        per_rank, micro = batch_split(config, 1, models=models, vocab=vocab)
        assert per_rank % micro == 0
        assert micro == 1 or micro * models * 256 * vocab <= LOGITS_PER_PASS
        larger = [d for d in range(micro + 1, per_rank + 1) if per_rank % d == 0]
        assert all(d * models * 256 * vocab > LOGITS_PER_PASS for d in larger)  # the most that fit
    explicit = load_config(repo / "pipelines" / "mix.yaml", ["batch_size=16", "micro_batch_size=8"])
    assert batch_split(explicit, 1, vocab=8192) == (16, 8)


def test_keep_freed_memory_changes_no_result():
    """The allocator setting is process-wide and idempotent; tensors allocated after it compute the same values."""
    import torch

    from train.files import keep_freed_memory

    a = torch.randn(512, 4096, generator=torch.Generator().manual_seed(0))
    before = (a @ a.T).sum().item()
    keep_freed_memory()
    keep_freed_memory()
    assert (a @ a.T).sum().item() == before
