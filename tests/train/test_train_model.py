import torch

from train.config import SIZES, ModelConfig
from train.model import GPT


def test_named_sizes_span_1m_to_50m_parameters():
    counts = {}
    for name in ("1m", "3m", "10m", "20m", "50m"):
        with torch.device("meta"):  # shapes only: no memory, no init time
            counts[name] = GPT(ModelConfig(size=name, **SIZES[name], vocab_size=8192)).num_params()
    assert 0.9e6 <= counts["1m"] <= 1.2e6
    assert 45e6 <= counts["50m"] <= 60e6
    assert list(counts.values()) == sorted(counts.values())
    for name, n in counts.items():
        nominal = float(name[:-1]) * 1e6
        assert 0.75 * nominal <= n <= 1.25 * nominal, (name, n)


def test_attention_is_causal_and_shapes_hold():
    torch.manual_seed(0)
    model = GPT(ModelConfig(size="test", **SIZES["test"], vocab_size=300)).eval()
    idx = torch.randint(0, 300, (2, 40))
    changed = idx.clone()
    changed[:, 25:] = torch.randint(0, 300, (2, 15))
    logits, _ = model(idx)
    logits2, _ = model(changed)
    assert logits.shape == (2, 40, 300)
    assert torch.equal(logits[:, :25], logits2[:, :25])  # the past never sees the future
    assert not torch.allclose(logits[:, 25:], logits2[:, 25:])


def test_embeddings_are_tied_and_flops_count_them_once():
    model = GPT(ModelConfig(size="test", **SIZES["test"], vocab_size=300))
    assert model.lm_head.weight is model.embed_tokens.weight
    n = sum(p.numel() for p in {id(p): p for p in model.parameters()}.values())
    assert model.num_params() == n
    cfg = model.config
    assert model.flops_per_token() == 6 * n + 12 * cfg.n_layer * cfg.block_size * cfg.n_embd
