"""Lesson 03, exercises 4-5: one head of masked attention, and multi-head attention with
GPT-2's weights in the layout of OpenAI's checkpoint (Conv1D, ``(in, out)``)."""

from __future__ import annotations

import itertools
import math

import torch
from torch import Tensor

from ...i18n import N_
from ..core import Case, Diagnosis, Exercise, close, with_hints
from ..core import gen as _gen
from .shared import (
    DIVIDED_BY_HS,
    FOUR_D_T_HINTS,
    HIDES_DIAGONAL,
    NO_MASK,
    NOT_SCALED,
    SDPA,
    SHAPE_HINTS,
    SHIFTED_MASK,
    TIMES_SQRT_HS,
    WEIGHTS_TRANSPOSED,
    WRONG_AXIS,
    attention_with,
    random_qkv,
)

# --- 4. one head of attention -------------------------------------------------------------


def _attention_cases(seed: int | None) -> list[Case]:
    if seed is None:
        return [
            Case("B=1, nh=1, T=4, hs=3", random_qkv(_gen(30), 1, 1, 4, 3)),
            Case("B=2, nh=3, T=5, hs=8", random_qkv(_gen(31), 2, 3, 5, 8)),
            # q and k times 100: scores of about +-10000, where a finite mask value leaks.
            Case("large q and k: B=1, nh=2, T=4, hs=4", _large_qkv(_gen(32))),
        ]
    gen = _gen(seed)
    return [Case("a hidden B=2, nh=2, T=7, hs=6", random_qkv(gen, 2, 2, 7, 6)),
            Case("a hidden B=1, nh=1, T=1, hs=4", random_qkv(gen, 1, 1, 1, 4))]


def _large_qkv(gen: torch.Generator) -> dict[str, Tensor]:
    qkv = random_qkv(gen, 1, 2, 4, 4)
    return {"q": qkv["q"] * 100, "k": qkv["k"] * 100, "v": qkv["v"]}


def _reference_attention(q: Tensor, k: Tensor, v: Tensor) -> Tensor:
    """What the reference GPT-2 computes for one head (PyTorch's fused attention)."""
    return torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)


ATTENTION_DIAGNOSES = (
    Diagnosis(NOT_SCALED,
              lambda q, k, v: attention_with(q, k, v, scale="none")),
    Diagnosis(DIVIDED_BY_HS,
              lambda q, k, v: attention_with(q, k, v, scale="hs_squared")),
    Diagnosis(N_("the mask is applied after softmax: the hidden weights are set to 0 but the "
              "others no longer add up to 1. Mask the scores first, then softmax."),
              lambda q, k, v: attention_with(q, k, v, mask_after=True)),
    Diagnosis(N_("softmax runs over the wrong axis: each query's weights over the keys (the last "
              "axis, dim=-1) must add up to 1."), lambda q, k, v: attention_with(q, k, v, dim=-2)),
    Diagnosis(NO_MASK,
              lambda q, k, v: attention_with(q, k, v, mask="none")),
    Diagnosis(HIDES_DIAGONAL, lambda q, k, v: attention_with(q, k, v, diagonal=-1)),
    Diagnosis(HIDES_DIAGONAL,
              lambda q, k, v: attention_with(q, k, v, mask="min", diagonal=-1)),
    Diagnosis(N_("the mask uses a finite number (-10000); with large scores the future "
              "still gets weight. Use -inf."),
              lambda q, k, v: attention_with(q, k, v, mask="fill")),
    Diagnosis(N_("the mask adds -10000 to hidden scores; with large scores the future "
              "still gets weight. Use -inf."),
              lambda q, k, v: attention_with(q, k, v, mask="add")),
    Diagnosis(N_("the scores are k @ q.T instead of q @ k.T: row i must be query i."),
              lambda q, k, v: attention_with(q, k, v, transposed=True)),
    Diagnosis(TIMES_SQRT_HS,
              lambda q, k, v: attention_with(q, k, v, scale="times")),
    Diagnosis(SHIFTED_MASK,
              lambda q, k, v: attention_with(q, k, v, diagonal=1)),
    Diagnosis(N_("the mask is inverted: the past is hidden and the future seen (the last "
                 "token then sees nothing, which gives NaN). Hide key j from query i when "
                 "j > i."), lambda q, k, v: attention_with(q, k, v, mask="inverted")),
    Diagnosis(N_("the bool mask is added to the scores: True counts as 1, so nothing is "
                 "hidden. Use it to choose: scores.masked_fill(~mask, float('-inf'))."),
              lambda q, k, v: attention_with(q, k, v, mask="bool_add")),
    Diagnosis(N_("softmax runs over the heads axis (dim=1); it must run over the keys, the "
                 "last axis (dim=-1)."), lambda q, k, v: attention_with(q, k, v, dim=1)),
    Diagnosis(WEIGHTS_TRANSPOSED,
              lambda q, k, v: attention_with(q, k, v, weights_t=True)),
)

ATTENTION = Exercise(
    id="03.attention",
    function="attention",
    points=2,
    reference=_reference_attention,
    cases=_attention_cases,
    compare=with_hints(close(atol=1e-5, rtol=1e-4), {
        "wrong shape": N_("Each token's output is a weighted sum of value vectors: (B, nh, T, hs), "
                       "the shape of v."), **SHAPE_HINTS}),
    diagnoses=ATTENTION_DIAGNOSES,
    error_hints=FOUR_D_T_HINTS,
    forbidden_functions=SDPA,
)

# --- 5. multi-head attention with GPT-2's weights --------------------------------------------


def _mha_inputs(gen: torch.Generator, B: int, T: int, C: int, n_head: int) -> dict:
    # Weights of std 0.5 give scores of a few units: softmax is neither flat nor one-hot,
    # so scaling and masking bugs show.
    return {
        "x": torch.randn(B, T, C, generator=gen),
        "c_attn_weight": torch.randn(C, 3 * C, generator=gen) * 0.5,
        "c_attn_bias": torch.randn(3 * C, generator=gen) * 0.5,
        "c_proj_weight": torch.randn(C, C, generator=gen) * 0.5,
        "c_proj_bias": torch.randn(C, generator=gen) * 0.5,
        "n_head": n_head,
    }


def _mha_cases(seed: int | None) -> list[Case]:
    if seed is None:
        return [Case("B=1, T=4, C=8, n_head=2", _mha_inputs(_gen(40), 1, 4, 8, 2)),
                Case("B=2, T=5, C=12, n_head=3", _mha_inputs(_gen(41), 2, 5, 12, 3))]
    gen = _gen(seed)
    return [Case("a hidden B=2, T=6, C=16, n_head=4", _mha_inputs(gen, 2, 6, 16, 4)),
            Case("a hidden B=1, T=3, C=6, n_head=1", _mha_inputs(gen, 1, 3, 6, 1))]


def _reference_mha(x: Tensor, c_attn_weight: Tensor, c_attn_bias: Tensor, c_proj_weight: Tensor,
                   c_proj_bias: Tensor, n_head: int) -> Tensor:
    """The reference GPT-2's attention layer with these weights (Conv1D -> nn.Linear: .T)."""
    from ...config import GPT2Config
    from ...model import CausalSelfAttention

    C = x.shape[-1]
    layer = CausalSelfAttention(GPT2Config(n_embd=C, n_head=n_head, n_layer=1,
                                           n_positions=x.shape[1], vocab_size=1))
    layer.load_state_dict({"c_attn.weight": c_attn_weight.T, "c_attn.bias": c_attn_bias,
                           "c_proj.weight": c_proj_weight.T, "c_proj.bias": c_proj_bias})
    return layer.eval()(x)


def _mha_with(*, order=(0, 1, 2), split: str = "ok", merge: str = "ok", scale: str = "hs",
              proj: str = "ok", bias: bool = True, attn_reshaped: bool = False,
              attn_bias: bool = True, **attend):
    """Multi-head attention with one thing changed: how the diagnoses are built."""

    def mha(x, c_attn_weight, c_attn_bias, c_proj_weight, c_proj_bias, n_head):
        B, T, C = x.shape
        hs = C // n_head
        w = c_attn_weight.reshape(3 * C, C).T if attn_reshaped else c_attn_weight
        qkv = x @ w + (c_attn_bias if bias and attn_bias else 0)
        thirds = qkv.split(C, dim=-1)
        q, k, v = (thirds[i] for i in order)
        if split == "ok":
            q, k, v = (t.view(B, T, n_head, hs).transpose(1, 2) for t in (q, k, v))
        elif split == "interleaved":  # head h gets channels h, h + n_head, ...
            q, k, v = (t.view(B, T, hs, n_head).permute(0, 3, 1, 2) for t in (q, k, v))
        elif split == "per_head":  # q|k|v taken per head from the 3C columns
            per_head = qkv.view(B, T, n_head, 3 * hs).transpose(1, 2)
            q, k, v = per_head.split(hs, dim=-1)
        else:  # "straight": (B, T, C) viewed as (B, nh, T, hs) without the transpose
            q, k, v = (t.reshape(B, n_head, T, hs) for t in (q, k, v))
        if scale == "C":
            y = attention_with(q * math.sqrt(hs) / math.sqrt(C), k, v, **attend)
        elif scale == "times":
            y = attention_with(q * hs, k, v, **attend)
        else:
            y = attention_with(q, k, v, scale=scale, **attend)
        if merge == "interleaved":  # the inverse of the interleaved split
            y = y.permute(0, 2, 3, 1).reshape(B, T, C)
        else:
            y = y.transpose(1, 2).reshape(B, T, C) if merge == "ok" else y.reshape(B, T, C)
        if proj == "none":
            return y
        w = c_proj_weight.T if proj == "transposed" else c_proj_weight
        return y @ w + (c_proj_bias if bias else 0)

    return mha


def _wrong_thirds() -> tuple[Diagnosis, ...]:
    message = N_("q, k and v are taken from the wrong thirds of c_attn's output: columns "
                  "0..C-1 are q, C..2C-1 are k, 2C..3C-1 are v.")
    return tuple(Diagnosis(message, _mha_with(order=p))
                 for p in itertools.permutations(range(3)) if p != (0, 1, 2))


MULTI_HEAD = Exercise(
    id="03.multi_head_attention",
    function="multi_head_attention",
    points=3,
    reference=_reference_mha,
    cases=_mha_cases,
    compare=with_hints(close(atol=1e-4, rtol=1e-4), {
        "wrong shape": N_("The layer maps (B, T, C) to (B, T, C): merge the heads back and apply "
                       "c_proj."), **SHAPE_HINTS}),
    diagnoses=(
        Diagnosis(NOT_SCALED, _mha_with(scale="none")),
        Diagnosis(N_("the scores are divided by sqrt(C), the model width (d_model); divide by "
                  "sqrt(hs), the size of one head (C // n_head)."), _mha_with(scale="C")),
        Diagnosis(DIVIDED_BY_HS,
                  _mha_with(scale="hs_squared")),
        Diagnosis(TIMES_SQRT_HS,
                  _mha_with(scale="times")),
        Diagnosis(N_("q, k and v are split per head (each head's 3*hs columns as its own "
                     "q|k|v). c_attn's output is three blocks of C columns: q = columns "
                     "0..C-1, k = C..2C-1, v = 2C..3C-1; split those into heads."),
                  _mha_with(split="per_head")),
        *_wrong_thirds(),
        Diagnosis(N_("the heads are split in the wrong order: head h must get the channels "
                  "h*hs .. (h+1)*hs - 1. View (B, T, C) as (B, T, n_head, hs), then "
                  "transpose(1, 2)."), _mha_with(split="interleaved")),
        Diagnosis(N_("the heads are split in the wrong order: head h must get the channels "
                  "h*hs .. (h+1)*hs - 1. View (B, T, C) as (B, T, n_head, hs), then "
                  "transpose(1, 2)."), _mha_with(split="interleaved", merge="interleaved")),
        Diagnosis(N_("(B, T, C) was reshaped straight to (B, n_head, T, hs): this mixes tokens "
                  "between heads. View it as (B, T, n_head, hs) first, then transpose(1, 2)."),
                  _mha_with(split="straight")),
        Diagnosis(N_("the heads are merged in the wrong order: transpose (B, n_head, T, hs) back "
                  "to (B, T, n_head, hs) before reshaping to (B, T, C)."),
                  _mha_with(merge="straight")),
        Diagnosis(N_("c_proj_weight is used transposed (y @ W.T or F.linear, the nn.Linear "
                  "habit). GPT-2's checkpoint stores it as Conv1D, (in, out): compute "
                  "y @ c_proj_weight + c_proj_bias."), _mha_with(proj="transposed")),
        Diagnosis(N_("c_attn_weight was reshaped to (3C, C) instead of transposed: reshape keeps "
                  "the order of the numbers; only .T swaps rows and columns. With the Conv1D "
                  "layout you need neither: x @ c_attn_weight."), _mha_with(attn_reshaped=True)),
        Diagnosis(N_("the output projection c_proj is missing: after merging the heads, compute "
                  "y @ c_proj_weight + c_proj_bias."), _mha_with(proj="none")),
        Diagnosis(N_("the biases are not added."), _mha_with(bias=False)),
        Diagnosis(N_("c_attn_bias is not added: q, k and v are x @ c_attn_weight + c_attn_bias."),
                  _mha_with(attn_bias=False)),
        Diagnosis(NO_MASK,
                  _mha_with(mask="none")),
        Diagnosis(N_("the mask is applied after softmax; mask the scores first."),
                  _mha_with(mask_after=True)),
        Diagnosis(WRONG_AXIS,
                  _mha_with(dim=-2)),
        Diagnosis(WRONG_AXIS,
                  _mha_with(dim=1)),
        Diagnosis(WEIGHTS_TRANSPOSED,
                  _mha_with(weights_t=True)),
        Diagnosis(SHIFTED_MASK, _mha_with(diagonal=1)),
    ),
    error_hints=(("cannot be multiplied", N_("a weight is used transposed (x @ W.T or F.linear, "
                  "the nn.Linear habit). GPT-2's checkpoint stores c_attn_weight as Conv1D, "
                  "(in, out) = (C, 3C): compute x @ c_attn_weight + c_attn_bias.")),),
    forbidden_functions=(*SDPA, "torch.nn.MultiheadAttention",
                         "torch.nn.functional.multi_head_attention_forward"),
)
