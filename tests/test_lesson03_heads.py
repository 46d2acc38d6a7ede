"""Lesson 03, exercises 4-5 (one head, multi-head attention), and the kinds of bug named in
issue 15: a mutation suite.

For each bug a learner is likely to write, a buggy implementation and the check's
diagnosis naming it; for each valid way to write an exercise, that it passes.
"""

from __future__ import annotations

import math
from functools import partial

import pytest
import torch
from check_support import fails_with, learner, passes
from lesson03_support import NEG_INF, attention_ok, mask_ok, mha, scores_ok

# --- one head -------------------------------------------------------------------------------


def test_attention_valid_variants_pass():
    @learner("attention")
    def with_einsum_and_finfo(q, k, v):
        s = torch.einsum("bhid,bhjd->bhij", q, k) / math.sqrt(q.shape[-1])
        s = s.masked_fill(~mask_ok(s.shape[-1]), torch.finfo(s.dtype).min)
        return torch.einsum("bhij,bhjd->bhid", s.softmax(dim=-1), v)

    @learner("attention")
    def with_manual_softmax(q, k, v):
        s = scores_ok(q, k).masked_fill(~mask_ok(q.shape[-2]), NEG_INF)
        e = torch.exp(s - s.amax(dim=-1, keepdim=True))
        return (e / e.sum(dim=-1, keepdim=True)) @ v

    assert passes(learner("attention")(attention_ok))
    assert passes(with_einsum_and_finfo) and passes(with_manual_softmax)


def test_attention_bugs_are_named():
    def bug(**kw):
        return learner("attention")(lambda q, k, v: attention_ok(q, k, v, **kw))

    fails_with(bug(scale=lambda hs: 1.0), "the scores are not divided by sqrt(hs)")
    fails_with(bug(dim=-2), "softmax runs over the wrong axis")
    fails_with(bug(fill=-1e4), "the mask uses a finite number")

    @learner("attention")
    def mask_after_softmax(q, k, v):
        w = torch.softmax(scores_ok(q, k), dim=-1)
        return w.masked_fill(~mask_ok(q.shape[-2]), 0.0) @ v

    @learner("attention")
    def diagonal_hidden(q, k, v):
        s = scores_ok(q, k)
        hidden = ~torch.ones(s.shape[-1], s.shape[-1], dtype=torch.bool).tril(-1)
        return torch.softmax(s.masked_fill(hidden, NEG_INF), dim=-1) @ v

    @learner("attention")
    def no_mask(q, k, v):
        return torch.softmax(scores_ok(q, k), dim=-1) @ v

    fails_with(mask_after_softmax, "the mask is applied after softmax")
    message = fails_with(diagonal_hidden, "the mask hides the diagonal")
    assert "NaN" in message
    fails_with(no_mask, "there is no causal mask")


# --- multi-head ----------------------------------------------------------------------------


def test_multi_head_valid_variants_pass():
    @learner("multi_head_attention")
    def with_linear_and_permute(x, c_attn_weight, c_attn_bias, c_proj_weight, c_proj_bias,
                                n_head):
        B, T, C = x.shape
        qkv = torch.nn.functional.linear(x, c_attn_weight.T, c_attn_bias)
        q, k, v = qkv.view(B, T, 3, n_head, C // n_head).permute(2, 0, 3, 1, 4)
        y = attention_ok(q, k, v).permute(0, 2, 1, 3).contiguous().view(B, T, C)
        return torch.addmm(c_proj_bias, y.view(B * T, C), c_proj_weight).view(B, T, C)

    @learner("multi_head_attention")
    def head_by_head_with_einsum(x, c_attn_weight, c_attn_bias, c_proj_weight, c_proj_bias,
                                 n_head):
        C = x.shape[-1]
        hs = C // n_head
        q, k, v = torch.einsum("btc,cd->btd", x, c_attn_weight).add(c_attn_bias).chunk(3, -1)
        heads = [attention_ok(*(t[..., h * hs:(h + 1) * hs].unsqueeze(1) for t in (q, k, v)))
                 for h in range(n_head)]
        y = torch.cat([h.squeeze(1) for h in heads], dim=-1)
        return y @ c_proj_weight + c_proj_bias

    assert passes(learner("multi_head_attention")(mha))
    assert passes(with_linear_and_permute) and passes(head_by_head_with_einsum)


def test_multi_head_bugs_are_named():
    def bug(**kw):
        @learner("multi_head_attention")
        def buggy(x, c_attn_weight, c_attn_bias, c_proj_weight, c_proj_bias, n_head):
            return mha(x, c_attn_weight, c_attn_bias, c_proj_weight, c_proj_bias, n_head, **kw)

        return buggy

    fails_with(bug(scale=lambda C, hs: 1.0), "the scores are not divided by sqrt(hs)")
    fails_with(bug(scale=lambda C, hs: math.sqrt(C)), "divided by sqrt(C), the model width")
    fails_with(bug(thirds=(1, 0, 2)), "wrong thirds of c_attn")
    fails_with(bug(thirds=(2, 1, 0)), "wrong thirds of c_attn")
    fails_with(bug(transpose_proj=True), "c_proj_weight is used transposed")

    def interleaved(t):  # head h gets channels h, h + n_head, ...
        B, T, C = t.shape
        return t.view(B, T, C // 2 if C == 8 else C // 3, -1).permute(0, 3, 1, 2)

    fails_with(bug(split=interleaved), "the heads are split in the wrong order")

    def straight(t):
        B, T, C = t.shape
        n_head = 2 if C == 8 else 3
        return t.reshape(B, n_head, T, C // n_head)

    fails_with(bug(split=straight), "reshaped straight to (B, n_head, T, hs)")
    fails_with(bug(merge=lambda y: y.reshape(y.shape[0], y.shape[2], -1)),
               "the heads are merged in the wrong order")


def test_linear_habit_on_c_attn_reshape_and_transpose_are_both_named():
    @learner("multi_head_attention")
    def reshaped(x, c_attn_weight, c_attn_bias, c_proj_weight, c_proj_bias, n_head):
        C = x.shape[-1]
        w = c_attn_weight.reshape(3 * C, C)  # "make it (out, in)" by reshaping: wrong
        return mha(x, w.T, c_attn_bias, c_proj_weight, c_proj_bias, n_head)

    fails_with(reshaped, "c_attn_weight was reshaped to (3C, C) instead of transposed")

    @learner("multi_head_attention")
    def linear_layout(x, c_attn_weight, c_attn_bias, c_proj_weight, c_proj_bias, n_head):
        return mha(x, c_attn_weight.T, c_attn_bias, c_proj_weight, c_proj_bias, n_head)

    message = fails_with(linear_layout, "a weight is used transposed (x @ W.T or F.linear")
    assert "Your code raised an error" in message and "cannot be multiplied" in message

    @learner("multi_head_attention")
    def functional_linear(x, c_attn_weight, c_attn_bias, c_proj_weight, c_proj_bias, n_head):
        import torch.nn.functional as F

        qkv = F.linear(x, c_attn_weight, c_attn_bias)  # expects (out, in): a shape error
        return qkv[..., : x.shape[-1]]

    fails_with(functional_linear, "Conv1D, (in, out) = (C, 3C)")


# --- the kinds of bug named in issue 15, as a learner writes them ---------------------------


def _scores_bug(kind):
    def attention_scores(q, k):
        hs = q.shape[-1]
        if kind == "times sqrt":
            return q @ k.transpose(-2, -1) * math.sqrt(hs)
        return q @ k.T / math.sqrt(hs)  # ".T on 4-D"

    return learner("attention_scores")(attention_scores)


def _attention_bug(kind):
    def attention(q, k, v):
        T, hs = q.shape[-2], q.shape[-1]
        s = q @ k.transpose(-2, -1) / math.sqrt(hs)
        mask = torch.tril(torch.ones(T, T, dtype=torch.bool))
        if kind == "shifted":
            s = s.masked_fill(~torch.tril(torch.ones(T, T, dtype=torch.bool), 1), NEG_INF)
        elif kind == "inverted":
            s = s.masked_fill(mask, NEG_INF)
        elif kind == "bool added":
            s = s + mask
        else:
            s = s.masked_fill(~mask, NEG_INF)
        if kind == "times sqrt":
            s = s * hs
        w = torch.softmax(s, dim=1 if kind == "heads axis" else -1)
        if kind == "weights transposed":
            w = w.transpose(-2, -1)
        return w @ v

    return learner("attention")(attention)


@pytest.mark.parametrize("fn, bug", [
    (_scores_bug("times sqrt"), "the scores are multiplied by sqrt(hs)"),
    (_scores_bug(".T"), ".T on a 4-D tensor reverses all four axes"),
    (_attention_bug("times sqrt"), "the scores are multiplied by sqrt(hs)"),
    (_attention_bug("shifted"), "the mask is shifted by one diagonal"),
    (_attention_bug("inverted"), "the mask is inverted"),
    (_attention_bug("bool added"), "the bool mask is added to the scores"),
    (_attention_bug("heads axis"), "softmax runs over the heads axis"),
    (_attention_bug("weights transposed"), "the attention weights are transposed before @ v"),
    (learner("causal_mask")(lambda T: torch.ones(T, T, dtype=torch.bool).tril(1)),
     "the mask is shifted by one diagonal"),
    (learner("apply_causal_mask")(
        lambda scores: scores + torch.ones(scores.shape[-1], scores.shape[-1]).tril().bool()),
     "the bool mask is added to the scores"),
    (learner("apply_causal_mask")(lambda scores: scores.masked_fill(
        torch.ones(scores.shape[-1], scores.shape[-1]).triu(2).bool(), NEG_INF)),
     "the mask is shifted by one diagonal"),
    (learner("multi_head_attention")(partial(
        mha, split=None, scale=lambda C, hs: 1 / math.sqrt(hs))),
     "the scores are multiplied by sqrt(hs)"),
])
def test_issue_15_attention_kinds_are_caught_and_named(fn, bug):
    fails_with(fn, bug)


@learner("multi_head_attention")
def mha_split_per_head(x, c_attn_weight, c_attn_bias, c_proj_weight, c_proj_bias, n_head):
    B, T, C = x.shape
    hs = C // n_head
    qkv = (x @ c_attn_weight + c_attn_bias).view(B, T, n_head, 3 * hs).transpose(1, 2)
    q, k, v = qkv.split(hs, dim=-1)  # q|k|v per head: not GPT-2's layout
    y = attention_ok(q, k, v).transpose(1, 2).reshape(B, T, C)
    return y @ c_proj_weight + c_proj_bias


def test_qkv_split_per_head_is_named():
    fails_with(mha_split_per_head, "q, k and v are split per head")


def test_attention_with_torch_where_and_a_loop_passes():
    @learner("attention")
    def attention(q, k, v):
        T = q.shape[-2]
        out = torch.empty_like(q)
        for i in range(T):  # one query at a time, only the keys up to it
            s = q[..., i : i + 1, :] @ k[..., : i + 1, :].mT / math.sqrt(q.shape[-1])
            out[..., i : i + 1, :] = torch.softmax(s, dim=-1) @ v[..., : i + 1, :]
        return out

    @learner("apply_causal_mask")
    def apply_causal_mask(scores):
        T = scores.shape[-1]
        keep = torch.arange(T)[:, None] >= torch.arange(T)[None, :]
        return torch.where(keep, scores, torch.tensor(float("-inf")))

    assert passes(attention) and passes(apply_causal_mask)
