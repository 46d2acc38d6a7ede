"""Lesson 03, exercises 1-3 (scores, the causal mask, applying it): a mutation suite.

For each bug a learner is likely to write, a buggy implementation and the check's
diagnosis naming it; for each valid way to write an exercise, that it passes.
"""

from __future__ import annotations

import math

import pytest
import torch
from check_support import fails_with, learner, passes
from lesson03_support import NEG_INF, mask_ok, scores_ok

from gpt2course.check import run_check

# --- scores ---------------------------------------------------------------------------------


def test_scores_valid_variants_pass():
    einsum = learner("attention_scores")(
        lambda q, k: torch.einsum("...id,...jd->...ij", q, k) / q.shape[-1] ** 0.5)
    scale_first = learner("attention_scores")(
        lambda q, k: (q / math.sqrt(q.shape[-1])) @ k.mT)
    assert passes(learner("attention_scores")(scores_ok)) and passes(einsum)
    assert passes(scale_first)


def test_scores_bugs_are_named():
    fails_with(learner("attention_scores")(lambda q, k: q @ k.transpose(-2, -1)),
               "the scores are not divided by sqrt(hs)")
    fails_with(learner("attention_scores")(lambda q, k: q @ k.transpose(-2, -1) / q.shape[-1]),
               "the scores are divided by hs")
    fails_with(learner("attention_scores")(
        lambda q, k: k @ q.transpose(-2, -1) / math.sqrt(q.shape[-1])), "rows and columns")


# --- the causal mask --------------------------------------------------------------------------


def test_mask_valid_variants_pass():
    by_arange = learner("causal_mask")(
        lambda T: torch.arange(T)[None, :] <= torch.arange(T)[:, None])
    by_triu = learner("causal_mask")(
        lambda T: ~torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1))
    assert passes(learner("causal_mask")(mask_ok)) and passes(by_arange) and passes(by_triu)


def test_mask_bugs_are_named():
    fails_with(learner("causal_mask")(lambda T: torch.ones(T, T, dtype=torch.bool).tril(-1)),
               "the mask hides the diagonal")
    fails_with(learner("causal_mask")(lambda T: torch.ones(T, T, dtype=torch.bool).triu(1)),
               "True and False are swapped")
    fails_with(learner("causal_mask")(lambda T: torch.ones(T, T, dtype=torch.bool).triu()),
               "this is the upper triangle")


def test_mask_as_floats_is_refused_with_a_hint():
    message = run_check(learner("causal_mask")(lambda T: torch.ones(T, T).tril())).message
    assert "wrong dtype: expected bool, got float32" in message and "torch.bool" in message


# --- applying the mask ------------------------------------------------------------------------


@pytest.mark.parametrize("fill", [NEG_INF, torch.finfo(torch.float32).min, -1e9])
def test_apply_mask_accepts_inf_finfo_min_and_huge_fills(fill):
    @learner("apply_causal_mask")
    def apply_causal_mask(scores):
        return scores.masked_fill(~mask_ok(scores.shape[-1]), fill)

    assert passes(apply_causal_mask)


def test_apply_mask_additive_inf_mask_passes():
    @learner("apply_causal_mask")
    def apply_causal_mask(scores):
        T = scores.shape[-1]
        return scores + torch.zeros(T, T).masked_fill(~mask_ok(T), NEG_INF)

    assert passes(apply_causal_mask)


def test_finite_mask_value_that_leaks_is_named():
    @learner("apply_causal_mask")
    def fill(scores):
        return scores.masked_fill(~mask_ok(scores.shape[-1]), -1e4)

    @learner("apply_causal_mask")
    def add(scores):
        return scores - 1e4 * (~mask_ok(scores.shape[-1])).float()

    message = fails_with(fill, "the hidden scores are set to a finite number")
    assert "very large scores" in message and "instead of 0" in message
    fails_with(add, "-10000 is added to the hidden scores")


def test_any_leaking_fill_value_is_explained_even_without_a_variant():
    @learner("apply_causal_mask")
    def fill(scores):
        return scores.masked_fill(~mask_ok(scores.shape[-1]), -1000.0)

    message = run_check(fill).message
    assert "not hidden well enough" in message and "Put -inf there" in message


def test_apply_mask_diagonal_and_direction_bugs_are_named():
    @learner("apply_causal_mask")
    def hides_diagonal(scores):
        T = scores.shape[-1]
        return scores.masked_fill(~torch.ones(T, T, dtype=torch.bool).tril(-1), NEG_INF)

    @learner("apply_causal_mask")
    def hides_past(scores):
        return scores.masked_fill(mask_ok(scores.shape[-1]), NEG_INF)

    fails_with(hides_diagonal, "the mask hides the diagonal")
    fails_with(hides_past, "hides the past")


def test_apply_mask_in_place_is_reported():
    """The exercise says not to change the input: masked_fill_ does."""
    @learner("apply_causal_mask")
    def in_place(scores):
        return scores.masked_fill_(~mask_ok(scores.shape[-1]), NEG_INF)

    result = run_check(in_place)
    assert not result.passed and "scores" in result.message, result.message
