import dataclasses
import os
import platform
import subprocess
import sys

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


def test_help_gives_every_key_description_whole():
    """Each key's whole attribute docstring, wrapped under its column, not its first source line (which used to cut
    e.g. train_where's after "(an arm's")."""
    from click.testing import CliRunner

    from train.cli import main
    from train.config import reference
    from train.sweep import SweepConfig
    from train.yamlio import config_reference

    for command, keys in (("run", reference()), ("sweep", config_reference(SweepConfig))):
        text = " ".join(CliRunner().invoke(main, [command, "--help"]).output.split())
        for key, doc in keys:
            if command == "run" or not key.startswith("train."):
                assert f"{key} {' '.join(doc.split())}" in text, (command, key)
    train_where = dict(reference())["mix.sources[].train_where"]
    assert "\n" in train_where and "whatever this says" in train_where  # a docstring of several source lines


def test_micro_batch_keeps_each_passes_logits_under_16_mib(repo):
    """micro_batch_size 0 picks the most sequences (a divisor of the batch) whose float32 logits, over every model
    stacked in one process, fit 16 MiB (4 Mi = 4,194,304 floats); a set micro_batch_size is kept. Worked by hand:
    one sequence of 256 tokens holds 256 x vocab logits, so 8192 -> 2 Mi (2 fit), 4096 -> 1 Mi (4 fit),
    2048 -> 512 Ki (8 fit), 1024 -> 256 Ki (16 fit), 512 -> 128 Ki (32 fit), 32000 -> 8,192,000 (none fit)."""
    from train.loop import batch_split

    def split(batch: int, world: int = 1, **kw):
        return batch_split(load_config(repo / "pipelines" / "mix.yaml", [f"batch_size={batch}",
                                                                          "model.block_size=256"]), world, **kw)

    assert split(16, vocab=8192) == (16, 2)            # 2 fit; 2 divides 16
    assert split(16, vocab=8192, models=2) == (16, 1)  # 2 models x 2 Mi each: one sequence
    assert split(16, 2, vocab=512) == (8, 8)           # 32 fit, 8 per process: one pass per step
    assert split(16, vocab=8192, models=64) == (16, 1)  # none fit: never below one sequence
    assert split(16, vocab=32000) == (16, 1)
    assert split(12, vocab=2048) == (12, 6)            # 8 fit; 8 does not divide 12, 6 does (12 = 2 x 6)
    assert split(10, vocab=2048) == (10, 5)            # 8 fit; 10's divisors 1, 2, 5, 10: 5
    assert split(10, vocab=1024) == (10, 10)           # 16 fit: the whole batch
    assert split(18, vocab=2048, models=2) == (18, 3)  # 1 Mi a sequence over 2 models: 4 fit; 18's divisors: 3
    assert split(12, vocab=4096, models=3) == (12, 1)  # 3 Mi for one sequence over 3 models, 6 Mi for two
    explicit = load_config(repo / "pipelines" / "mix.yaml", ["batch_size=16", "micro_batch_size=8"])
    assert batch_split(explicit, 1, vocab=8192) == (16, 8)
    with pytest.raises(ConfigError, match="does not split over 3 processes"):
        split(16, 3, vocab=512)
    with pytest.raises(ConfigError, match="micro_batch_size: 3 must divide"):
        batch_split(load_config(repo / "pipelines" / "mix.yaml", ["batch_size=16", "micro_batch_size=3"]), 1,
                    vocab=512)


ALLOCATE = """
import ctypes
from train.files import keep_freed_memory

libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
libc.sbrk.restype, libc.sbrk.argtypes = ctypes.c_void_p, [ctypes.c_ssize_t]
keep_freed_memory()
block = libc.malloc(24 << 20)
heap = next(line.split()[0] for line in open("/proc/self/maps") if line.rstrip().endswith("[heap]"))
low, high = (int(x, 16) for x in heap.split("-"))
top = libc.sbrk(0)
libc.free(block)
print(low <= block < high, libc.sbrk(0) == top, libc.malloc(24 << 20) == block)
"""


@pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="glibc's mallopt")
@pytest.mark.parametrize("env, expected", [({}, "True True True"), ({"CURATE_MALLOC": "default"}, "False")])
def test_keep_freed_memory_keeps_a_freed_24_mib_block_on_the_heap(repo, env, expected):
    """glibc serves a 24 MiB malloc with its own mmap (above the 128 KiB default M_MMAP_THRESHOLD) and unmaps it on
    free; after keep_freed_memory() it comes from the heap ([heap] in /proc/self/maps), free leaves the heap's end
    where it was (no trim), and the next malloc of that size gets the same block back. A fresh interpreter each
    time: glibc raises its threshold by itself once a large mmapped block is freed."""
    result = subprocess.run([sys.executable, "-c", ALLOCATE], cwd=repo, capture_output=True, text=True, check=True,
                            env={**os.environ, **env}, timeout=120)
    assert result.stdout.split()[: len(expected.split())] == expected.split(), result.stdout
