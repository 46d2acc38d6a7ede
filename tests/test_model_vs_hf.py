"""The reference GPT-2 equals Hugging Face's GPT2LMHeadModel, loaded from its own checkpoints."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hf_support import write_hf_checkpoint

from gpt2course import GPT2Config, generate, load_pretrained

CONFIGS = {
    "124M": GPT2Config.from_preset("gpt2"),
    "odd-heads": GPT2Config(vocab_size=1000, n_positions=128, n_embd=48, n_layer=3, n_head=3),
    "tiny": GPT2Config(vocab_size=50, n_positions=16, n_embd=8, n_layer=1, n_head=2),
}
PARAMS = [
    pytest.param("124M", marks=pytest.mark.slow),
    "odd-heads",
    "tiny",
]


@pytest.fixture(params=PARAMS, scope="module")
def pair(request, tmp_path_factory):
    """(config, our model loaded from HF's checkpoint, HF's model): built once per config
    (124M takes seconds to initialise, save and load); no test changes either model."""
    config = CONFIGS[request.param]
    path, hf = write_hf_checkpoint(config, tmp_path_factory.mktemp(request.param))
    return config, load_pretrained(path), hf


def test_loaded_config_matches(pair):
    config, ours, _ = pair
    assert ours.config == config
    assert not ours.training


def test_logits_match_hf_up_to_full_context(pair):
    config, ours, hf = pair
    gen = torch.Generator().manual_seed(1)
    batch = 1 if config.n_embd >= 768 else 3
    for T in sorted({1, 7, config.n_positions}):
        idx = torch.randint(0, config.vocab_size, (batch, T), generator=gen)
        with torch.no_grad():
            expected = hf(idx).logits
            logits, loss = ours(idx)
        assert loss is None
        assert logits.shape == (batch, T, config.vocab_size)
        assert (logits - expected).abs().max().item() <= 1e-4, f"T={T}"


def test_greedy_generation_is_token_identical_to_hf(pair):
    config, ours, hf = pair
    prompt = torch.randint(0, config.vocab_size, (1, 4), generator=torch.Generator().manual_seed(2))
    new = min(32, config.n_positions - 4)
    with torch.no_grad():
        expected = hf.generate(prompt, attention_mask=torch.ones_like(prompt), max_new_tokens=new,
                               min_new_tokens=new, do_sample=False, pad_token_id=0)
    got = generate(ours, prompt, new, greedy=True)
    assert torch.equal(got, expected)


def test_cached_equals_uncached(pair):
    config, ours, _ = pair
    prompt = torch.randint(0, config.vocab_size, (2, 3), generator=torch.Generator().manual_seed(3))
    # A cache bug shows from the second new token; 124M's head makes each uncached step slow.
    new = min(8 if config.n_embd >= 768 else 32, config.n_positions - 3)
    for kwargs in ({"greedy": True}, {"temperature": 0.9, "top_k": 20}, {"top_p": 0.8}):
        runs = [
            generate(ours, prompt, new, use_cache=use_cache,
                     generator=torch.Generator().manual_seed(4), **kwargs)
            for use_cache in (True, False)
        ]
        assert torch.equal(runs[0], runs[1]), kwargs


def test_loss_is_cross_entropy_of_the_logits_and_matches_hf(pair):
    config, ours, hf = pair
    idx = torch.randint(0, config.vocab_size, (2, min(21, config.n_positions)),
                        generator=torch.Generator().manual_seed(5))
    x, y = idx[:, :-1], idx[:, 1:]
    with torch.no_grad():
        logits, loss = ours(x, targets=y)
        hf_loss = hf(idx, labels=idx).loss  # HF shifts the labels itself
    expected = F.cross_entropy(logits.reshape(-1, config.vocab_size), y.reshape(-1))
    assert torch.allclose(loss, expected, atol=1e-6)
    assert torch.allclose(loss, hf_loss, atol=1e-5)
