"""Lesson 06, exercise 5 (one sampling step): a mutation suite.

Each buggy version is code a learner could write, run in the lesson's own namespace
(setup cell and correct solutions, one cell replaced). Its check must fail with the
diagnosis that names the bug; valid variants must pass, on public and hidden cases.

The sampler is checked by its draws. How likely is it that a correct sampler fails?
For one row whose distribution has K possible tokens, N draws, and a total variation
limit eps, the chance that the drawn shares are eps or further away is at most
(2^K - 2) exp(-2 N eps^2) (Weissman et al., 2003, "Inequalities for the L1 deviation of
the empirical distribution"). ``test_false_failure_odds_are_negligible`` adds this up
over every row the check and the grader look at: below 1e-9 per graded notebook.
"""

from __future__ import annotations

import math

import pytest
import torch
from lesson06_support import DRAW, FILTERS, SAMPLE, assert_diagnosed, assert_valid, verdict

from gpt2course.exercises import lesson06_sampling as lesson
from gpt2course.exercises.plain import to_plain

# --- sample_token -------------------------------------------------------------------------


@pytest.mark.parametrize("body, diagnosis", [
    ("    logits = logits / temperature\n" + FILTERS + "    return logits.argmax(-1)\n",
     "it always takes the most likely token"),
    (FILTERS + "    probs = torch.softmax(logits, -1)\n" + DRAW, "the temperature is not used"),
    ("    logits = logits * temperature\n" + FILTERS + "    probs = torch.softmax(logits, -1)\n"
     + DRAW, "the logits are multiplied by the temperature"),
    ("    logits = logits / temperature\n"
     "    if top_p is not None:\n        logits = top_p_logits(logits, top_p)\n"
     "    probs = torch.softmax(logits, -1)\n" + DRAW, "top_k is not used"),
    ("    logits = logits / temperature\n"
     "    if top_k is not None:\n        logits = top_k_logits(logits, top_k)\n"
     "    probs = torch.softmax(logits, -1)\n" + DRAW, "top_p is not used"),
    # Works on probabilities: zeroes what top-k drops, then adds up the mass without
    # renormalising, so top-p keeps too many tokens.
    ("    probs = torch.softmax(logits / temperature, -1)\n"
     "    if top_k is not None:\n"
     "        kth = torch.topk(probs, top_k).values[:, -1:]\n"
     "        probs = probs.masked_fill(probs < kth, 0.0)\n"
     "    if top_p is not None:\n"
     "        ranked, order = torch.sort(probs, dim=-1, descending=True)\n"
     "        ranked = ranked.masked_fill(ranked.cumsum(-1) - ranked >= top_p, 0.0)\n"
     "        probs = torch.zeros_like(probs).scatter(-1, order, ranked)\n" + DRAW,
     "top-p adds up probabilities from before top-k"),
    (FILTERS + "    probs = torch.softmax(logits / temperature, -1)\n" + DRAW,
     "top-k and top-p run before the temperature"),
])
def test_sample_bugs_are_named(body, diagnosis):
    assert_diagnosed("sample_token", diagnosis, **{"06_sample_token": SAMPLE + body})


def test_sampler_that_ignores_the_generator_is_told_to_pass_it():
    body = ("    logits = logits / temperature\n" + FILTERS +
            "    return torch.multinomial(torch.softmax(logits, -1), 1).squeeze(-1)\n")
    result = verdict("sample_token", **{"06_sample_token": SAMPLE + body})
    assert not result.passed and "with the same seed" in result.message, result.message


@pytest.mark.parametrize("seeding", [
    "    generator = torch.Generator().manual_seed(0)\n",
    "    generator.manual_seed(1234)\n",
])
def test_sampler_that_seeds_its_own_generator_is_named(seeding):
    """Each call starts the same stream again: a generator reused across calls repeats."""
    body = (seeding + "    logits = logits / temperature\n" + FILTERS +
            "    probs = torch.softmax(logits, -1)\n" + DRAW)
    result = verdict("sample_token", **{"06_sample_token": SAMPLE + body})
    assert not result.passed and "seeds a generator itself" in result.message, result.message


def test_sampler_without_max_subtraction_is_named():
    body = ("    logits = logits / temperature\n" + FILTERS +
            "    e = torch.exp(logits)\n    probs = e / e.sum(-1, keepdim=True)\n" + DRAW)
    result = verdict("sample_token", **{"06_sample_token": SAMPLE + body})
    assert not result.passed and "without subtracting the max" in result.message, result.message


def test_sampler_that_returns_a_column_is_told_the_shape():
    body = ("    logits = logits / temperature\n" + FILTERS +
            "    return torch.multinomial(torch.softmax(logits, -1), 1, generator=generator)\n")
    result = verdict("sample_token", **{"06_sample_token": SAMPLE + body})
    assert not result.passed and "Return one token id per row" in result.message, result.message


@pytest.mark.parametrize("clamp, message", [
    (True, "was drawn but has probability 0"),
    (False, "a token id is outside"),
])
def test_sampling_by_hand_without_renormalising_fails(clamp, message):
    """Top-k on probabilities, then an inverse-CDF draw: the kept mass is below 1.

    (It ignores top_p: the case with top_k fails first.)
    """
    pick = "(total < u).sum(-1)" + (".clamp(max=probs.size(-1) - 1)" if clamp else "")
    body = ("    probs = torch.softmax(logits / temperature, -1)\n"
            "    if top_k is not None:\n"
            "        kth = torch.topk(probs, top_k).values[:, -1:]\n"
            "        probs = probs.masked_fill(probs < kth, 0.0)\n"
            "    total = probs.cumsum(-1)\n"
            "    u = torch.rand(probs.size(0), 1, generator=generator)\n"
            f"    return {pick}\n")
    result = verdict("sample_token", **{"06_sample_token": SAMPLE + body})
    assert not result.passed and message in result.message, result.message


@pytest.mark.parametrize("body", [
    # The same steps with the learner's own temperature_probs on filtered logits.
    "    logits = logits / temperature\n" + FILTERS +
    "    probs = temperature_probs(logits, 1.0)\n" + DRAW,
    # An inverse-CDF draw by hand, renormalised: correct.
    "    logits = logits / temperature\n" + FILTERS +
    "    probs = torch.softmax(logits.double(), -1)\n"
    "    u = torch.rand(probs.size(0), 1, generator=generator, dtype=torch.float64)\n"
    "    return (probs.cumsum(-1) < u).sum(-1).clamp(max=probs.size(-1) - 1)\n",
    # The Gumbel-max trick: argmax of logits plus Gumbel noise is a draw from softmax.
    "    logits = logits / temperature\n" + FILTERS +
    "    u = torch.rand(logits.shape, generator=generator).clamp_min(1e-12)\n"
    "    return (logits - torch.log(-torch.log(u))).argmax(-1)\n",
])
def test_sample_valid_variants_pass(body):
    assert_valid("sample_token", SAMPLE + body, 4)


def test_binary_logits_give_exact_probabilities():
    """The exact-boundary cases rely on float32 softmax giving powers of two exactly."""
    for row in lesson.BINARY_LOGITS:
        probs = torch.softmax(row, -1)
        assert sorted(probs.tolist()) == [1 / 16, 1 / 16, 1 / 8, 1 / 4, 1 / 2]
        ranked = torch.sort(row, descending=True).values
        assert torch.softmax(ranked, -1).cumsum(-1).tolist() == [0.5, 0.75, 0.875, 0.9375, 1.0]


def test_top_k_ties_may_be_broken_any_way():
    """Keeping any k of the tied logits passes; keeping all of them does not."""
    logits = torch.tensor([[2.0, 1.0, 1.0, 1.0, 0.0]])
    expected = to_plain(lesson.TOP_K.reference(logits=logits, k=2))
    other = to_plain(torch.tensor([[2.0, float("-inf"), float("-inf"), 1.0, float("-inf")]]))
    both = to_plain(torch.tensor([[2.0, 1.0, 1.0, 1.0, float("-inf")]]))
    assert lesson.TOP_K.compare(expected, other) is None
    assert lesson.TOP_K.compare(expected, both) is not None


def test_false_failure_odds_are_negligible():
    """Weissman's bound, added up over the rows of the public and some hidden cases."""
    exercise = lesson.SAMPLE
    total = 0.0
    for seed in (None, *range(1, 21)):
        for case in exercise.cases(seed):
            probs = to_plain(exercise.reference(**case.inputs))["probabilities"]
            for row in probs:
                support = int((row > 0).sum())
                draws = case.inputs["draws"]
                total += (2**support - 2) * math.exp(-2 * draws * lesson.MAX_DISTANCE**2)
    assert total < 1e-9, total


def test_correct_sampler_passes_for_many_seeds():
    for seed in range(4, 14):
        result = verdict("sample_token", seed)
        assert result.passed, result.message
