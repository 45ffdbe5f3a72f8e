"""The learning-rate schedules on values worked by hand, which optimizer owns which parameter, and a Muon run that
resumes from a checkpoint bit for bit."""

import itertools
import math

import pyarrow.parquet as pq
import pytest
import torch

from train.config import TrainConfig, parse
from train.errors import TrainError
from train.loop import train_run
from train.model.gpt import GPT
from train.optim import MuonAdamW, build, lr_at, make_optimizer, set_lr


def config(**keys) -> TrainConfig:
    """10 steps (tokens = 10 x 2 sequences x 64), peak lr 1, two warm-up steps."""
    raw = {"mix": {"sources": [{"run": "unused"}]}, "model": {"size": "test", "block_size": 64}, "batch_size": 2,
           "tokens": 10 * 2 * 64, "lr": 1.0, "min_lr": 0.0, "warmup": 0.2}
    return parse(TrainConfig, raw | keys)


def test_warmup_then_cosine_to_min_lr():
    cfg = config(min_lr=0.1)
    assert cfg.steps == 10
    lrs = [lr_at(cfg, s) for s in range(10)]
    assert lrs[:3] == [0.5, 1.0, 1.0]  # (step + 1) / 2 over the 2 warm-up steps, then the peak
    # cosine over the 8 steps after warm-up: 0.1 + 0.9 * (1 + cos(pi * k / 8)) / 2; k = 4 is half-way
    assert lrs[6] == pytest.approx(0.1 + 0.9 * 0.5)
    assert lrs[9] == pytest.approx(0.1 + 0.9 * (1 - 0.9238795325) / 2)  # cos(7 pi / 8) = -0.92388
    assert all(a >= b for a, b in itertools.pairwise(lrs[1:]))


def test_warmup_stable_decay_and_linear_reach_zero():
    wsd = [lr_at(config(schedule="wsd", cooldown=0.3), s) for s in range(10)]
    # 3 decay steps (0.3 x 10) at the end: steps 7, 8, 9 take 3/3, 2/3, 1/3 of the peak; the next would take 0
    assert wsd == pytest.approx([0.5, 1, 1, 1, 1, 1, 1, 1, 2 / 3, 1 / 3])
    linear = [lr_at(config(schedule="linear"), s) for s in range(10)]
    assert linear == pytest.approx([0.5, 1, 8 / 8, 7 / 8, 6 / 8, 5 / 8, 4 / 8, 3 / 8, 2 / 8, 1 / 8])
    ends_at = [lr_at(config(schedule="wsd", cooldown=0.3, min_lr=0.1), s) for s in (6, 9)]
    assert ends_at == pytest.approx([1.0, 0.1 + 0.9 / 3])


def test_muon_owns_the_block_matrices_and_adamw_the_rest():
    cfg = config(optimizer="muon", muon_lr=0.5, model={"size": "test", "vocab_size": 300, "tie_embeddings": False,
                                                      "qk_norm": True})
    torch.manual_seed(0)
    model = GPT(cfg.model)
    opt = make_optimizer(model, cfg)
    assert isinstance(opt, MuonAdamW)
    names = {id(p): n for n, p in model.named_parameters()}
    muon = {names[id(p)] for g in opt.muon.param_groups for p in g["params"]}
    decayed = {names[id(p)] for g in opt.adamw.param_groups if g["weight_decay"] for p in g["params"]}
    gains = {names[id(p)] for g in opt.adamw.param_groups if not g["weight_decay"] for p in g["params"]}
    per_layer = ["self_attn.qkv_proj", "self_attn.o_proj", "mlp.gate_up_proj", "mlp.down_proj"]
    assert muon == {f"layers.{i}.{m}.weight" for i in range(2) for m in per_layer}
    assert decayed == {"embed_tokens.weight", "lm_head.weight"}
    norms = ["input_layernorm", "post_attention_layernorm", "self_attn.q_norm", "self_attn.k_norm"]
    assert gains == {"norm.weight"} | {f"layers.{i}.{n}.weight" for i in range(2) for n in norms}
    assert muon | decayed | gains == set(names.values()) and len(names) == len(muon) + len(decayed) + len(gains)
    set_lr(opt, 0.25)  # Muon at muon_lr / lr times the schedule's value
    assert [g["lr"] for g in opt.param_groups] == [0.125, 0.25, 0.25]


def test_adamw_alone_owns_every_parameter_with_decay_on_matrices_only():
    cfg = config(model={"size": "test", "vocab_size": 300})
    model, opt = build(cfg, cfg.model)
    assert isinstance(opt, torch.optim.AdamW)
    decayed, plain = (g["params"] for g in opt.param_groups)
    assert all(p.dim() == 2 for p in decayed) and all(p.dim() == 1 for p in plain)
    assert len(decayed) + len(plain) == len(list(model.parameters()))


def test_muon_steps_orthogonalised_updates():
    """One Muon step on a matrix moves it by lr x 0.2 x sqrt(max(A, B)) x O, O the orthogonalised (Nesterov)
    momentum: O's singular values are close to 1 (Newton-Schulz), so the update's RMS is about 0.2 x lr, as AdamW's
    (Moonshot's rule), whatever the gradient's scale."""
    cfg = config(optimizer="muon", weight_decay=0.0, model={"size": "test", "vocab_size": 300})
    torch.manual_seed(0)
    model = GPT(cfg.model)
    opt = make_optimizer(model, cfg)
    w = model.layers[0].mlp.down_proj.weight  # (64, 192)
    before = w.detach().clone()
    for scale in (1.0, 1000.0):
        w.grad = torch.randn_like(w) * scale
        for p in model.parameters():
            if p is not w:
                p.grad = torch.zeros_like(p)
        set_lr(opt, 1e-3)
        opt.step()
        update = (w.detach() - before) / (1e-3 * 0.2 * math.sqrt(192))
        singular = torch.linalg.svdvals(update)
        assert singular.min() > 0.5 and singular.max() < 1.5, singular  # Newton-Schulz: roughly orthogonal
        before = w.detach().clone()
        opt.muon.state.clear()  # the second step on its own momentum only


def test_an_adamw_checkpoint_does_not_load_into_muon():
    cfg = config(optimizer="muon", model={"size": "test", "vocab_size": 300})
    _, opt = build(cfg, cfg.model)
    adamw_state = build(config(model={"size": "test", "vocab_size": 300}), cfg.model)[1].state_dict()
    with pytest.raises(TrainError, match="optimizer: adamw"):
        opt.load_state_dict(adamw_state)


class Killed(Exception):
    pass


def test_a_muon_run_resumed_from_a_checkpoint_matches_one_never_stopped(tmp_path, tiny_raw, monkeypatch):
    """A run stopped right after its step-20 checkpoint and started again must restore Muon's momentum and AdamW's
    moments exactly: its losses and weights equal the uninterrupted run's bit for bit (CPU kernels are
    deterministic, batch = f(seed, step))."""
    import train.loop

    raw = tiny_raw(tokens=30 * 8 * 64, eval_interval=10, checkpoint_interval=10, optimizer="muon", schedule="wsd",
                   min_lr=0.0, **{"model.qk_norm": True})
    reference = train_run(parse(TrainConfig, raw), tmp_path / "whole", progress=False)
    save = train.loop.save_checkpoint

    def save_then_die(path, model, optimizer, step, *args, **kwargs):
        save(path, model, optimizer, step, *args, **kwargs)
        if step == 20:
            raise Killed

    monkeypatch.setattr(train.loop, "save_checkpoint", save_then_die)
    out = tmp_path / "resumed"
    with pytest.raises(Killed):
        train_run(parse(TrainConfig, raw), out, progress=False)
    state = torch.load(out / "ckpt.pt", weights_only=False)
    assert state["step"] == 20 and state["optimizer"]["muon"]["state"]  # Muon's momentum buffers were saved
    train_run(parse(TrainConfig, raw), out, progress=False)
    assert pq.read_table(out / "metrics.parquet").to_pylist() == reference
    final = torch.load(out / "ckpt.pt", weights_only=False)
    whole = torch.load(tmp_path / "whole" / "ckpt.pt", weights_only=False)
    assert all(torch.equal(final["model"][k], whole["model"][k]) for k in whole["model"])
    buffers = [(a["momentum_buffer"], b["momentum_buffer"]) for a, b in
               zip(final["optimizer"]["muon"]["state"].values(), whole["optimizer"]["muon"]["state"].values())]
    assert buffers and all(torch.equal(a, b) for a, b in buffers)
