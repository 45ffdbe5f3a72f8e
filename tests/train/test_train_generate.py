"""Generation with a key/value cache: the same tokens as recomputing the whole context every step, with each new
token run through the model once."""

import torch

from train.checkpoint import load_model


def test_cached_greedy_generation_equals_uncached_token_for_token(short_run):
    _, out, _ = short_run
    model = load_model(out)
    prompt = torch.tensor([[1, 40, 41, 42], [1, 50, 51, 52]])
    n = model.config.block_size + 40  # past the window: the cache is rebuilt after the context jumps
    cached = model.generate(prompt, n, temperature=0)
    uncached = model.generate(prompt, n, temperature=0, use_cache=False)
    assert cached.shape == (2, 4 + n)
    assert torch.equal(cached, uncached)


def test_cached_generation_runs_each_new_token_once(short_run):
    _, out, _ = short_run
    model = load_model(out)
    lengths = []
    forward = model.forward
    model.forward = lambda idx, *a, **k: lengths.append(idx.shape[1]) or forward(idx, *a, **k)
    model.generate(torch.tensor([[1, 40, 41]]), 20, temperature=0)
    assert lengths == [3] + [1] * 19  # the prompt once, then one token per step (linear, not quadratic)
    sampled = model.generate(torch.tensor([[1, 40, 41]]), 20, temperature=0.8, top_k=20,
                             generator=torch.Generator().manual_seed(0), use_cache=False)
    model.forward = forward
    again = model.generate(torch.tensor([[1, 40, 41]]), 20, temperature=0.8, top_k=20,
                           generator=torch.Generator().manual_seed(0))
    assert torch.equal(sampled, again)  # sampling too: the cache changes the cost, not the tokens
