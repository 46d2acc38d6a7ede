"""The reference samplers, checked against first principles and against Hugging Face's."""

from __future__ import annotations

import pytest
import torch

from gpt2course import GPT2, GPT2Config, generate
from gpt2course.errors import InputError
from gpt2course.sampling import (
    apply_temperature,
    next_token_probs,
    sample_next,
    top_k_filter,
    top_p_filter,
)

LOGITS = torch.log(torch.tensor([[0.05, 0.5, 0.15, 0.3]]))


def test_top_k_keeps_exactly_the_k_best():
    logits = torch.randn(5, 100, generator=torch.Generator().manual_seed(0))
    for k in (1, 3, 50):
        kept = torch.isfinite(top_k_filter(logits, k))
        assert kept.sum(-1).tolist() == [k] * 5
        best = logits.topk(k, dim=-1).indices
        assert kept.gather(-1, best).all()


def test_top_k_1_is_greedy():
    draws = {int(sample_next(LOGITS, top_k=1, generator=torch.Generator().manual_seed(s)))
             for s in range(20)}
    assert draws == {1}


def test_top_p_keeps_the_token_that_crosses_p_and_renormalises():
    probs = next_token_probs(LOGITS, top_p=0.7)  # 0.5 alone < 0.7; 0.5 + 0.3 crosses it
    assert torch.allclose(probs, torch.tensor([[0.0, 0.625, 0.0, 0.375]]))
    assert torch.allclose(next_token_probs(LOGITS, top_p=0.5), torch.tensor([[0.0, 1, 0, 0]]))
    assert torch.allclose(next_token_probs(LOGITS, top_p=1.0), LOGITS.exp())


def test_temperature_scales_logits_not_probabilities():
    probs = next_token_probs(LOGITS, temperature=0.5)
    expected = LOGITS.exp() ** 2 / (LOGITS.exp() ** 2).sum()
    assert torch.allclose(probs, expected)
    with pytest.raises(InputError, match="temperature must be > 0"):
        apply_temperature(LOGITS, 0)


def test_filters_agree_with_hugging_face():
    from transformers.generation.logits_process import TopKLogitsWarper, TopPLogitsWarper

    logits = torch.randn(8, 500, generator=torch.Generator().manual_seed(1)) * 3
    for k in (1, 10, 200):
        hf = TopKLogitsWarper(top_k=k)(None, logits.clone())
        assert torch.equal(torch.isfinite(hf), torch.isfinite(top_k_filter(logits, k)))
    for p in (0.1, 0.5, 0.9, 0.99):
        hf = TopPLogitsWarper(top_p=p)(None, logits.clone())
        assert torch.equal(torch.isfinite(hf), torch.isfinite(top_p_filter(logits, p)))


def test_sampling_frequencies_follow_the_distribution():
    gen = torch.Generator().manual_seed(2)
    draws = torch.stack([sample_next(LOGITS, generator=gen) for _ in range(4000)])
    freq = torch.bincount(draws.flatten(), minlength=4) / 4000
    # 4 standard errors of a proportion with n = 4000 is at most 0.032
    assert (freq - LOGITS.exp()[0]).abs().max() < 0.032


@pytest.mark.parametrize("kwargs, message", [
    ({"top_k": 0}, "top_k must be a whole number >= 1"),
    ({"top_p": 0.0}, r"top_p must be in \(0, 1\]"),
    ({"top_p": 1.5}, r"top_p must be in \(0, 1\]"),
])
def test_bad_sampler_settings_are_clear(kwargs, message):
    with pytest.raises(InputError, match=message):
        next_token_probs(LOGITS, **kwargs)


@pytest.fixture
def tiny():
    torch.manual_seed(0)
    return GPT2(GPT2Config(vocab_size=53, n_positions=16, n_embd=16, n_layer=2, n_head=2)).eval()


def test_seeded_generation_is_reproducible(tiny):
    prompt = torch.tensor([[1, 2, 3]])
    runs = [generate(tiny, prompt, 10, generator=torch.Generator().manual_seed(seed))
            for seed in (7, 7, 8)]
    assert torch.equal(runs[0], runs[1])
    assert not torch.equal(runs[0], runs[2])
    assert runs[0].shape == (1, 13) and torch.equal(runs[0][:, :3], prompt)


def test_generation_past_the_context_keeps_going_the_same_with_or_without_cache(tiny):
    prompt = torch.arange(10)[None]
    cached = generate(tiny, prompt, 20, greedy=True)
    uncached = generate(tiny, prompt, 20, greedy=True, use_cache=False)
    assert cached.shape == (1, 30)
    assert torch.equal(cached, uncached)


def test_1d_prompt_gives_1d_result(tiny):
    out = generate(tiny, torch.tensor([4, 5]), 3, greedy=True)
    assert out.shape == (5,)


def test_stop_token_stops_and_pads_finished_rows(tiny):
    prompt = torch.tensor([[1, 2], [3, 4]])
    free = generate(tiny, prompt, 8, greedy=True)[:, 2:].tolist()
    stop = free[0][2]  # the third token row 0 produces
    stopped = generate(tiny, prompt, 8, greedy=True, stop_token=stop)[:, 2:].tolist()
    ends = [row.index(stop) + 1 if stop in row else 8 for row in free]
    assert len(stopped[0]) == max(ends)  # ends once every row has produced stop
    for row, got, end in zip(free, stopped, ends, strict=True):
        assert got == (row[:end] + [stop] * 8)[: max(ends)]


def test_generate_rejects_bad_settings(tiny):
    with pytest.raises(InputError, match="max_new_tokens must be >= 0"):
        generate(tiny, torch.tensor([[1]]), -1)
    with pytest.raises(InputError, match="temperature must be >= 0"):
        generate(tiny, torch.tensor([[1]]), 2, temperature=-1.0)
