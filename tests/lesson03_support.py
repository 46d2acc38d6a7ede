"""Lesson 03 test support: the learner's correct pieces, which the buggy versions in the
lesson 03 tests build on."""

from __future__ import annotations

import math

import torch

NEG_INF = float("-inf")


# The learner's correct pieces, which buggy versions below build on.
def scores_ok(q, k):
    return q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])


def mask_ok(T):
    return torch.ones(T, T, dtype=torch.bool).tril()


def attention_ok(q, k, v, *, scale=None, fill=NEG_INF, dim=-1):
    hs = q.shape[-1]
    s = q @ k.transpose(-2, -1) / (math.sqrt(hs) if scale is None else scale(hs))
    s = s.masked_fill(~mask_ok(s.shape[-1]), fill)
    return torch.softmax(s, dim=dim) @ v


def mha(x, c_attn_weight, c_attn_bias, c_proj_weight, c_proj_bias, n_head, *,
        thirds=(0, 1, 2), split=None, merge=None, scale=None, transpose_proj=False):
    """A learner's multi-head attention with pluggable mistakes."""
    B, T, C = x.shape
    hs = C // n_head
    parts = (x @ c_attn_weight + c_attn_bias).split(C, dim=-1)
    q, k, v = (parts[i] for i in thirds)
    split = split or (lambda t: t.view(B, T, n_head, hs).transpose(1, 2))
    y = attention_ok(split(q), split(k), split(v),
                     scale=None if scale is None else (lambda _hs: scale(C, hs)))
    y = merge(y) if merge else y.transpose(1, 2).reshape(B, T, C)
    w = c_proj_weight.T if transpose_proj else c_proj_weight
    return y @ w + c_proj_bias
