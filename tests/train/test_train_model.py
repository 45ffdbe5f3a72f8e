import pytest
import torch
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

from train.config import ModelConfig
from train.model import GPT


def test_named_sizes_span_1m_to_50m_parameters():
    counts = {}
    for name in ("1m", "3m", "10m", "20m", "50m"):
        with torch.device("meta"):  # shapes only: no memory, no init time
            counts[name] = GPT(ModelConfig(size=name, vocab_size=8192)).num_params()
    assert 0.9e6 <= counts["1m"] <= 1.2e6
    assert 45e6 <= counts["50m"] <= 60e6
    assert list(counts.values()) == sorted(counts.values())
    for name, n in counts.items():
        nominal = float(name[:-1]) * 1e6
        assert 0.75 * nominal <= n <= 1.25 * nominal, (name, n)


def test_a_named_size_from_python_builds_that_size_and_explicit_keys_win():
    big = ModelConfig(size="50m", vocab_size=8192)
    assert (big.n_layer, big.n_embd) != (ModelConfig().n_layer, ModelConfig().n_embd)
    with torch.device("meta"):
        assert GPT(big).num_params() > 40e6
    narrow = ModelConfig(size="50m", n_layer=3)
    assert narrow.n_layer == 3 and narrow.n_embd == big.n_embd


def test_attention_is_causal_and_shapes_hold():
    torch.manual_seed(0)
    model = GPT(ModelConfig(size="test", vocab_size=300)).eval()
    idx = torch.randint(0, 300, (2, 40))
    changed = idx.clone()
    changed[:, 25:] = torch.randint(0, 300, (2, 15))
    logits, _ = model(idx)
    logits2, _ = model(changed)
    assert logits.shape == (2, 40, 300)
    assert torch.equal(logits[:, :25], logits2[:, :25])  # the past never sees the future
    assert not torch.allclose(logits[:, 25:], logits2[:, 25:])


@pytest.mark.parametrize("size", ["test", "1m"])
def test_flop_estimate_matches_torch_flop_counter_on_a_training_step(size):
    """flops_per_token (what MFU divides by) against torch's count of every matmul in a real forward + backward;
    attention through the math kernel, whose batched matmuls the counter sees."""
    model = GPT(ModelConfig(size=size, vocab_size=2048))
    B, T = 2, model.config.block_size
    x = torch.randint(0, 2048, (B, T))
    with sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as counter:
        _, loss = model(x, x)
        loss.backward()
    assert counter.get_total_flops() / (B * T) == pytest.approx(model.flops_per_token(T), rel=0.02)
    assert model.lm_head.weight is model.embed_tokens.weight  # tied: counted once, used twice


def test_checkpoints_with_separate_q_k_v_and_gate_up_weights_still_load():
    """Checkpoints written before the projections were fused (Llama's own layout) load into today's model."""
    torch.manual_seed(0)
    model = GPT(ModelConfig(size="test", vocab_size=300)).eval()
    old_layout = {k.removeprefix("model."): v for k, v in model.hf_state_dict().items()}
    assert any(k.endswith("q_proj.weight") for k in old_layout) and not any("qkv" in k for k in old_layout)
    torch.manual_seed(1)
    loaded = GPT(ModelConfig(size="test", vocab_size=300)).eval()
    loaded.load_state_dict(old_layout)
    idx = torch.randint(0, 300, (2, 16))
    assert torch.equal(loaded(idx)[0], model(idx)[0])
