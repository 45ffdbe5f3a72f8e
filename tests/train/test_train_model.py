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


def test_qk_norm_makes_attention_blind_to_the_scale_of_queries_and_keys():
    """With QK-norm each head's q and k are RMS-normalised, so scaling the q and k rows of the projection by 100
    changes nothing beyond the norm's eps (without it the attention logits grow 10,000-fold: the logits move by ~0.5)."""
    idx = torch.randint(0, 300, (2, 24), generator=torch.Generator().manual_seed(0))
    for qk_norm in (True, False):
        torch.manual_seed(0)
        model = GPT(ModelConfig(size="test", vocab_size=300, qk_norm=qk_norm)).eval()
        before = model(idx)[0]
        with torch.no_grad():
            for layer in model.layers:
                layer.self_attn.qkv_proj.weight[: 2 * 64] *= 100  # q and k rows of the (3C, C) projection
        after = model(idx)[0]
        assert ((after - before).abs().max() < 1e-3) == qk_norm  # eps in the norm: not bit-equal


def test_zero_initialised_projections_start_every_block_as_the_identity():
    """o_proj and down_proj start at zero, so at initialisation the model is norm(embedding) -> head."""
    torch.manual_seed(0)
    model = GPT(ModelConfig(size="test", vocab_size=300, zero_init=True)).eval()
    idx = torch.randint(0, 300, (2, 16))
    emb = model.embed_tokens(idx)
    x = emb * torch.rsqrt(emb.pow(2).mean(-1, keepdim=True) + 1e-5)  # RMSNorm with unit gain, by hand
    assert torch.allclose(model(idx)[0], x @ model.embed_tokens.weight.T, atol=1e-5)
    default = GPT(ModelConfig(size="test", vocab_size=300))
    assert default.layers[0].mlp.down_proj.weight.abs().sum() > 0


def test_relu2_mlp_softcap_and_untied_head_compute_what_they_say():
    torch.manual_seed(0)
    cfg = ModelConfig(size="test", vocab_size=300, mlp="relu2", logit_softcap=2.0, tie_embeddings=False)
    model = GPT(cfg).eval()
    assert cfg.ffn_hidden == 4 * 64  # as many MLP weights as SwiGLU's 3 x 8C/3 (rounded to 192 here)
    mlp, x = model.layers[0].mlp, torch.randn(3, 64)
    hand = torch.clamp(x @ mlp.up_proj.weight.T, min=0) ** 2 @ mlp.down_proj.weight.T
    assert torch.allclose(mlp(x), hand, atol=1e-5)
    logits = model(torch.randint(0, 300, (2, 16)))[0]
    assert logits.abs().max() < 2.0  # 2 tanh(z / 2) is inside (-2, 2)
    assert model.lm_head.weight is not model.embed_tokens.weight
    tied = GPT(ModelConfig(size="test", vocab_size=300, mlp="relu2"))
    assert model.num_params() - tied.num_params() == 300 * 64  # the separate head's weights
