"""`train export` writes a transformers directory that the usual Auto classes load offline and that computes what
our model computes; `train generate` samples from a run."""

import pytest
import torch
from click.testing import CliRunner

from train.checkpoint import load_model
from train.cli import main
from train.data import MixtureSampler, prepare
from train.data.tokenizer import load


@pytest.fixture(scope="module")
def exported(short_run, tmp_path_factory):
    _, out, _ = short_run
    hf_dir = tmp_path_factory.mktemp("hf") / "model"
    result = CliRunner().invoke(main, ["export", str(out), str(hf_dir)])
    assert result.exit_code == 0, result.output
    return out, hf_dir


def test_hf_model_logits_match_ours(exported, short_run, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    from transformers import AutoModelForCausalLM

    config, out, _ = short_run
    hf = AutoModelForCausalLM.from_pretrained(exported[1]).eval()
    assert type(hf).__name__ == ("Qwen3ForCausalLM" if config.model.qk_norm else "LlamaForCausalLM")
    ours = load_model(out)
    shards = prepare(config).open(config.model.block_size)
    windows = [torch.from_numpy(MixtureSampler(shards, 64, 8, 0).val_windows(i, 256)[:, :-1]) for i in range(3)]
    idx = torch.cat(windows)  # real held-out text of every source: (n, 64)
    with torch.no_grad():
        diff = (hf(idx).logits - ours(idx)[0]).abs().max().item()
    assert diff < 1e-4, diff


def test_hf_tokenizer_ids_match_sentencepiece(exported, runs, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    import pyarrow.parquet as pq
    from transformers import AutoTokenizer

    out, hf_dir = exported
    tok = AutoTokenizer.from_pretrained(hf_dir)
    sp = load(out / "tokenizer")
    texts = []
    for run in runs.values():  # code with indentation, licences, READMEs, ~60 languages and scripts
        texts += pq.read_table(min((run / "docs").glob("*.parquet"))).column("text").to_pylist()[:25]
    texts += ["  leading spaces", "\ttabs\tand\n\nnewlines\n", "ünïcödé 世界 🙂", ""]
    for text in texts:
        ids = tok(text)["input_ids"]
        assert ids == [sp.bos_id(), *sp.encode(text)], text[:80]
        assert tok.decode(ids, skip_special_tokens=True) == text


def test_hf_generate_runs_and_matches_our_greedy_decoding(exported, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out, hf_dir = exported
    tok = AutoTokenizer.from_pretrained(hf_dir)
    hf = AutoModelForCausalLM.from_pretrained(hf_dir)
    inputs = tok("def __init__(self", return_tensors="pt")
    hf_ids = hf.generate(**inputs, max_new_tokens=12, do_sample=False, pad_token_id=tok.eos_token_id)
    ours = load_model(out).generate(inputs["input_ids"], 12, temperature=0)
    assert hf_ids.shape[1] > inputs["input_ids"].shape[1]
    assert torch.equal(hf_ids[0], ours[0, : hf_ids.shape[1]])


def test_generate_command_continues_the_prompt(short_run):
    _, out, _ = short_run
    result = CliRunner().invoke(main, ["generate", str(out), "--prompt", "import os\n", "-n", "30", "-t", "0.8",
                                       "-k", "20", "--seed", "1"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("import os\n") and len(result.output) > len("import os\n") + 5
    again = CliRunner().invoke(main, ["generate", str(out), "--prompt", "import os\n", "-n", "30", "-t", "0.8",
                                      "-k", "20", "--seed", "1"])
    assert again.output == result.output  # seeded


def test_export_and_generate_of_a_directory_that_is_not_a_run(tmp_path):
    for args in (["export", str(tmp_path), str(tmp_path / "hf")], ["generate", str(tmp_path)]):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 1 and "no ckpt.pt" in result.output


def _run_dir(tmp_path, short_run, **model_keys):
    """A run directory holding a freshly initialised model of the short run's shape with `model_keys` (its weights
    perturbed so that every gain and projection matters) and the short run's tokenizer."""
    import dataclasses
    import shutil

    from train.model.gpt import GPT

    _, out, _ = short_run
    state = torch.load(out / "ckpt.pt", weights_only=False)
    cfg = dataclasses.replace(load_model(out).config, **model_keys)
    torch.manual_seed(0)
    model = GPT(cfg)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    run = tmp_path / "run"
    shutil.copytree(out / "tokenizer", run / "tokenizer")
    torch.save(state | {"model": model.state_dict(), "model_config": dataclasses.asdict(cfg)}, run / "ckpt.pt")
    return run, model.eval()


def test_a_model_with_qk_norm_and_an_untied_head_exports_as_qwen3_with_the_same_logits(tmp_path, short_run,
                                                                                      monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    from transformers import AutoModelForCausalLM

    run, ours = _run_dir(tmp_path, short_run, qk_norm=True, tie_embeddings=False, zero_init=True)
    result = CliRunner().invoke(main, ["export", str(run), str(tmp_path / "hf")])
    assert result.exit_code == 0, result.output
    hf = AutoModelForCausalLM.from_pretrained(tmp_path / "hf").eval()
    assert type(hf).__name__ == "Qwen3ForCausalLM" and not hf.config.tie_word_embeddings
    idx = torch.randint(0, ours.config.vocab_size, (4, ours.config.block_size),
                        generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        diff = (hf(idx).logits - ours(idx)[0]).abs().max().item()
    assert diff < 1e-4, diff


def test_a_model_transformers_cannot_express_is_refused_in_one_line(tmp_path, short_run):
    run, _ = _run_dir(tmp_path, short_run, mlp="relu2", ffn_hidden=256)
    result = CliRunner().invoke(main, ["export", str(run), str(tmp_path / "hf")])
    assert result.exit_code == 1 and "cannot export: a ReLU^2 MLP" in result.output
    assert len(result.output.strip().splitlines()) == 1 and not (tmp_path / "hf").exists()


def test_a_checkpoint_written_before_the_recipe_keys_loads_as_the_model_it_was(tmp_path, short_run):
    """Checkpoints from before qk_norm, zero_init, mlp, logit_softcap and tie_embeddings existed hold none of those
    keys: they load as what they were (Llama-shaped, SwiGLU, tied)."""
    run, ours = _run_dir(tmp_path, short_run, qk_norm=False, zero_init=False, mlp="swiglu", logit_softcap=0.0,
                         tie_embeddings=True)
    state = torch.load(run / "ckpt.pt", weights_only=False)
    for key in ("qk_norm", "zero_init", "mlp", "logit_softcap", "tie_embeddings"):
        del state["model_config"][key]
    torch.save(state, run / "ckpt.pt")
    loaded = load_model(run)
    idx = torch.randint(0, ours.config.vocab_size, (2, 32))
    assert torch.equal(loaded(idx)[0], ours(idx)[0])
