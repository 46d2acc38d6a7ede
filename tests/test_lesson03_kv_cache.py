"""Lesson 03, exercise 6 (attention with a KV cache): a mutation suite.

For each bug a learner is likely to write, a buggy implementation and the check's
diagnosis naming it; for each valid way to write an exercise, that it passes.
"""

from __future__ import annotations

import math

import pytest
import torch
from check_support import fails_with, learner, passes
from lesson03_support import NEG_INF, attention_ok, scores_ok

from gpt2course.check import run_check

# --- KV cache ------------------------------------------------------------------------------


def cached_ok(q, k, v, k_cache, v_cache):
    k_all, v_all = torch.cat([k_cache, k], dim=2), torch.cat([v_cache, v], dim=2)
    return torch.softmax(scores_ok(q, k_all), dim=-1) @ v_all, k_all, v_all


def test_cached_attention_valid_variants_pass():
    @learner("cached_attention")
    def via_full_attention_last_row(q, k, v, k_cache, v_cache):
        k_all, v_all = torch.cat([k_cache, k], dim=2), torch.cat([v_cache, v], dim=2)
        # pad the queries so the square mask fits, then keep the last row
        t = k_cache.shape[2]
        q_all = torch.cat([torch.zeros_like(k_cache), q], dim=2)
        return attention_ok(q_all, k_all, v_all)[:, :, t:], k_all, v_all

    assert passes(learner("cached_attention")(cached_ok))
    assert passes(via_full_attention_last_row)


def test_cached_attention_bugs_are_named():
    @learner("cached_attention")
    def forgets_new_token(q, k, v, k_cache, v_cache):
        out = torch.softmax(scores_ok(q, k_cache), dim=-1) @ v_cache
        return out, torch.cat([k_cache, k], 2), torch.cat([v_cache, v], 2)

    @learner("cached_attention")
    def prepends(q, k, v, k_cache, v_cache):
        return cached_ok(q, k_cache, v_cache, k, v)

    @learner("cached_attention")
    def square_mask(q, k, v, k_cache, v_cache):
        k_all, v_all = torch.cat([k_cache, k], dim=2), torch.cat([v_cache, v], dim=2)
        s = scores_ok(q, k_all)
        s = s.masked_fill(~torch.ones(1, s.shape[-1], dtype=torch.bool).tril(), NEG_INF)
        return torch.softmax(s, dim=-1) @ v_all, k_all, v_all

    fails_with(forgets_new_token, "the new token's own key and value are left out")
    fails_with(prepends, "put in front of the cache")
    fails_with(square_mask, "the new token sees only the first key")


def test_cached_attention_returning_only_the_output_gets_a_hint():
    @learner("cached_attention")
    def output_only(q, k, v, k_cache, v_cache):
        return cached_ok(q, k, v, k_cache, v_cache)[0]

    message = run_check(output_only).message
    assert "Return three tensors" in message


@pytest.mark.parametrize("dim", [-1, 1, 0])
def test_cache_appended_on_the_wrong_axis_is_named(dim):
    @learner("cached_attention")
    def cached_attention(q, k, v, k_cache, v_cache):
        k_all, v_all = torch.cat([k_cache, k], dim=dim), torch.cat([v_cache, v], dim=dim)
        w = torch.softmax(q @ k_all.transpose(-2, -1) / math.sqrt(q.shape[-1]), dim=-1)
        return w @ v_all, k_all, v_all

    fails_with(cached_attention, "the new key and value are appended on the wrong axis")
