"""The reference samplers, checked against first principles and against Hugging Face's."""

from __future__ import annotations

import dataclasses
import math
import random
from fractions import Fraction

import numpy as np
import pytest
import torch

from gpt2course import GPT2, GPT2Config, generate
from gpt2course.errors import InputError
from gpt2course.sampling import (
    SamplingConfig,
    apply_temperature,
    generate_stream,
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
    with pytest.raises(InputError, match="temperature must be a finite number > 0"):
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
    ({"top_k": 0}, "top_k must be None or a whole number >= 1"),
    ({"top_p": 0.0}, r"top_p must be None or a number in \(0, 1\]"),
    ({"top_p": 1.5}, r"top_p must be None or a number in \(0, 1\]"),
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
    with pytest.raises(InputError, match="max_new_tokens must be a whole number >= 0"):
        generate(tiny, torch.tensor([[1]]), -1)
    with pytest.raises(InputError, match="temperature must be a finite number >= 0"):
        generate(tiny, torch.tensor([[1]]), 2, temperature=-1.0)
    with pytest.raises(InputError, match="stop_token 53 is not a token of this model"):
        generate(tiny, torch.tensor([[1]]), 2, stop_token=53)
    with pytest.raises(InputError, match="unknown sampling setting"):
        generate(tiny, torch.tensor([[1]]), 2, temprature=0.5)
    with pytest.raises(InputError, match="generator must be None or a torch.Generator"):
        generate(tiny, torch.tensor([[1]]), 2, generator=7)


# ---- one home for the settings: SamplingConfig, checked once ------------------------------

BAD_SETTINGS = [
    ({"temperature": float("nan")}, "temperature must be a finite number >= 0"),
    ({"temperature": float("inf")}, "temperature must be a finite number >= 0"),
    ({"temperature": -float("inf")}, "temperature must be a finite number >= 0"),
    ({"temperature": -1e-30}, "temperature must be a finite number >= 0"),
    ({"temperature": -2}, "temperature must be a finite number >= 0"),
    ({"temperature": np.float32("nan")}, "temperature must be a finite number >= 0"),
    ({"temperature": True}, "temperature must be a number"),
    ({"temperature": "0.7"}, "temperature must be a number"),
    ({"temperature": None}, "temperature must be a number"),
    ({"temperature": 1 + 2j}, "temperature must be a number"),
    ({"top_k": True}, "top_k must be None or a whole number >= 1"),
    ({"top_k": np.bool_(True)}, "top_k must be None or a whole number >= 1"),
    ({"top_k": 5.0}, "top_k must be None or a whole number >= 1"),
    ({"top_k": 0}, "top_k must be None or a whole number >= 1"),
    ({"top_k": -3}, "top_k must be None or a whole number >= 1"),
    ({"top_k": "50"}, "top_k must be None or a whole number >= 1"),
    ({"top_p": 0}, r"top_p must be None or a number in \(0, 1\]"),
    ({"top_p": -0.0}, r"top_p must be None or a number in \(0, 1\]"),
    ({"top_p": 1.0000001}, r"top_p must be None or a number in \(0, 1\]"),
    ({"top_p": float("nan")}, r"top_p must be None or a number in \(0, 1\]"),
    ({"top_p": float("inf")}, r"top_p must be None or a number in \(0, 1\]"),
    ({"top_p": True}, "top_p must be a number"),
    ({"top_p": "0.9"}, "top_p must be a number"),
    ({"greedy": 1}, "greedy must be True or False"),
    ({"greedy": "yes"}, "greedy must be True or False"),
    ({"stop_token": -1}, "stop_token must be None or a token id >= 0"),
    ({"stop_token": 1.0}, "stop_token must be None or a token id >= 0"),
    ({"stop_token": False}, "stop_token must be None or a token id >= 0"),
]


@pytest.mark.parametrize("settings, message", BAD_SETTINGS)
def test_every_entry_refuses_a_bad_setting_with_the_same_message(settings, message):
    tiny_model = GPT2(GPT2Config(vocab_size=5, n_positions=4, n_embd=4, n_layer=1, n_head=1))
    entries = [
        lambda: SamplingConfig(**settings),
        lambda: sample_next(LOGITS, **settings),
        lambda: next_token_probs(LOGITS, **settings),
        lambda: generate(tiny_model, torch.tensor([[1]]), 1, **settings),
        lambda: list(generate_stream(tiny_model, torch.tensor([[1]]), 1, **settings)),
    ]
    for entry in entries:
        with pytest.raises(InputError, match=message):
            entry()


@pytest.mark.parametrize("settings, expected", [
    ({"temperature": 2}, {"temperature": 2.0}),
    ({"temperature": -0.0}, {"temperature": 0.0}),
    ({"temperature": np.float64(0.5)}, {"temperature": 0.5}),
    ({"temperature": np.int64(3)}, {"temperature": 3.0}),
    ({"temperature": torch.tensor(0.25)}, {"temperature": 0.25}),
    ({"temperature": 1e300}, {"temperature": 1e300}),
    ({"top_k": np.int32(7)}, {"top_k": 7}),
    ({"top_k": torch.tensor(4)}, {"top_k": 4}),
    ({"top_p": 1}, {"top_p": 1.0}),
    ({"top_p": np.float32(0.5)}, {"top_p": 0.5}),
    ({"stop_token": np.int64(50256)}, {"stop_token": 50256}),
])
def test_good_settings_of_any_numeric_type_are_normalised(settings, expected):
    cfg = SamplingConfig(**settings)
    for name, value in expected.items():
        got = getattr(cfg, name)
        assert got == value and type(got) is type(value)
    assert math.copysign(1.0, SamplingConfig(temperature=-0.0).temperature) == 1.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.temperature = 5.0  # type: ignore[misc]


def test_a_config_and_keywords_combine():
    cfg = SamplingConfig(temperature=0.5, top_k=3)
    assert SamplingConfig.of(cfg) is cfg
    assert SamplingConfig.of(cfg, top_k=None) == SamplingConfig(temperature=0.5)
    assert SamplingConfig.of() == SamplingConfig()
    with pytest.raises(InputError, match="expected a SamplingConfig"):
        SamplingConfig.of({"temperature": 0.5})


@pytest.mark.parametrize("temperature", [0, 0.0, -0.0, 1e-37, 1e-45, 1e-300, 5e-324,
                                         np.float64(1e-320), 2e-38])
def test_zero_or_overflowing_temperature_is_greedy(temperature):
    logits = torch.tensor([[-80.0, -95.0, -120.0], [3e3, 3.1e3, -2e3], [0.5, 0.4, 0.6]])
    best = logits.argmax(-1)
    for seed in range(5):
        gen = torch.Generator().manual_seed(seed)
        got = sample_next(logits, temperature=temperature, top_k=2, top_p=0.5, generator=gen)
        assert torch.equal(got, best)
    probs = next_token_probs(logits, temperature=temperature)
    assert torch.equal(probs, torch.nn.functional.one_hot(best, 3).float())


def test_overflow_is_judged_row_by_row():
    # Row 0 overflows at T = 1e-37, row 1 (all zeros) does not and stays uniform.
    logits = torch.tensor([[-80.0, -95.0, -120.0], [0.0, 0.0, 0.0]])
    probs = next_token_probs(logits, temperature=1e-37)
    assert probs[0].tolist() == [1.0, 0.0, 0.0]
    assert torch.allclose(probs[1], torch.full((3,), 1 / 3))


def test_very_large_temperature_is_uniform_and_finite():
    logits = torch.tensor([[-80.0, -95.0, -120.0, 30.0]])
    for temperature in (1e30, 1e300, np.float64(1e308)):
        probs = next_token_probs(logits, temperature=temperature)
        assert torch.allclose(probs, torch.full((1, 4), 0.25))
        assert int(sample_next(logits, temperature=temperature,
                               generator=torch.Generator().manual_seed(0))) in range(4)


def test_generation_takes_a_config(tiny):
    prompt = torch.tensor([[1, 2, 3]])
    cfg = SamplingConfig(temperature=0.7, top_k=5, top_p=0.9)
    a = generate(tiny, prompt, 6, cfg, generator=torch.Generator().manual_seed(3))
    b = generate(tiny, prompt, 6, temperature=0.7, top_k=5, top_p=0.9,
                 generator=torch.Generator().manual_seed(3))
    assert torch.equal(a, b)


# ---- top-p at the boundary: the course's rule ----------------------------------------------


def _rule_kept(probs: list[Fraction], p: Fraction) -> set[int]:
    """The rule in exact arithmetic: sort descending (stable); keep a token while the
    tokens before it hold less than p; always keep the first."""
    order = sorted(range(len(probs)), key=lambda i: -probs[i])
    kept, before = set(), Fraction(0)
    for rank, i in enumerate(order):
        if rank == 0 or before < p:
            kept.add(i)
        before += probs[i]
    return kept


def test_top_p_issue_example_keeps_two_like_hugging_face():
    from transformers.generation.logits_process import TopPLogitsWarper

    logits = torch.tensor([[0.3, 0.1, 0.1, 0.5]]).log()
    ours = torch.isfinite(top_p_filter(logits, 0.8))
    assert ours.tolist() == [[True, False, False, True]]
    assert torch.equal(torch.isfinite(TopPLogitsWarper(top_p=0.8)(None, logits.clone())), ours)


def test_top_p_exact_boundaries_follow_the_rule():
    # Probabilities in hundredths; p equal to each running total (where float
    # rounding decides a "cumsum minus own probability" implementation), and just off it.
    rng = random.Random(13)
    for _ in range(300):
        n = rng.randint(2, 9)
        cuts = sorted(rng.sample(range(1, 100), n - 1))
        hundredths = [b - a for a, b in zip([0, *cuts], [*cuts, 100], strict=True)]
        probs = [Fraction(h, 100) for h in hundredths]
        logits = torch.tensor([[math.log(h / 100) for h in hundredths]])
        desc = sorted(hundredths, reverse=True)
        totals = {sum(desc[: i + 1]) for i in range(n)}
        for total in sorted(totals):
            for p in (Fraction(total, 100), Fraction(total, 100) + Fraction(1, 1000)):
                if not 0 < p <= 1:
                    continue
                kept = set(torch.isfinite(top_p_filter(logits, float(p)))[0].nonzero()
                           .flatten().tolist())
                assert kept == _rule_kept(probs, p), (hundredths, p)


def test_top_p_ties_at_the_cut_are_broken_by_position():
    logits = torch.tensor([[0.0, 1.0, 1.0, 1.0, 0.0]])  # three equal best tokens
    kept = torch.isfinite(top_p_filter(logits, 0.25))  # each holds 0.268
    assert kept.tolist() == [[False, True, False, False, False]]
    kept = torch.isfinite(top_p_filter(logits, 0.5))
    assert kept.tolist() == [[False, True, True, False, False]]


def test_top_p_keeps_one_token_even_for_a_tiny_p():
    logits = torch.randn(6, 30, generator=torch.Generator().manual_seed(4))
    kept = torch.isfinite(top_p_filter(logits, 1e-9))
    assert kept.sum(-1).tolist() == [1] * 6
    assert torch.equal(kept.float().argmax(-1), logits.argmax(-1))


def test_top_p_agrees_with_hugging_face_on_many_random_cases():
    from transformers.generation.logits_process import TopPLogitsWarper

    gen = torch.Generator().manual_seed(5)
    rng = random.Random(5)
    compared = 0
    for _ in range(400):
        vocab = rng.choice([2, 3, 10, 100, 1000])
        logits = torch.randn(3, vocab, generator=gen) * rng.choice([0.1, 1.0, 4.0, 20.0])
        p = rng.choice([rng.random(), 1.0, 0.5, 0.9, 0.95])
        if p == 0:
            continue
        # HF has no tolerance: skip draws where a running total is within 1e-5 of p,
        # which the exact-boundary test above covers.
        sums = torch.softmax(logits.double(), -1).sort(-1, descending=True).values.cumsum(-1)
        if ((sums - p).abs() < 1e-5).any():
            continue
        hf = torch.isfinite(TopPLogitsWarper(top_p=p)(None, logits.clone()))
        assert torch.equal(torch.isfinite(top_p_filter(logits, p)), hf), (vocab, p)
        compared += 1
    assert compared > 300
