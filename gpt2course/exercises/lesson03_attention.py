"""Lesson 03, masked self-attention: scores, the causal mask, attention, heads, KV cache.

Shapes: B batch, nh heads, T tokens, hs = C // nh numbers per head. One head's q, k, v
are ``(B, nh, T, hs)``. ``multi_head_attention`` gets GPT-2's weights in the layout of
OpenAI's checkpoint (Conv1D, ``(in, out)``): ``c_attn_weight`` is ``(C, 3C)`` and a layer
computes ``x @ W + b``.

The reference is imported inside functions only: this module is also loaded by the
registry in processes where ``gpt2course.model`` must stay unimported.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import torch
from torch import Tensor

from ..i18n import N_, tr
from .core import Case, Diagnosis, Exercise, Mismatch, close, describe, exact, with_hints
from .core import gen as _gen

SDPA = ("torch.nn.functional.scaled_dot_product_attention",
        "torch._C._nn.scaled_dot_product_attention")
LEAK_FILL = -1e4  # a finite "minus a lot" often seen in tutorials; it leaks on large scores
# (the diagnoses below say -10000: a message must be a plain literal)



def _qkv(gen: torch.Generator, B: int, nh: int, T: int, hs: int, scale: float = 1.0):
    return {name: torch.randn(B, nh, T, hs, generator=gen) * scale for name in "qkv"}


# --- the shared math, with one thing changed for each diagnosis ------------------------------


def _tril(T: int, S: int | None = None, diagonal: int = 0) -> Tensor:
    """(T, S) bools, True where query i may see key j; S > T means S - T earlier keys."""
    S = T if S is None else S
    return torch.ones(T, S, dtype=torch.bool).tril(diagonal=diagonal + S - T)


def _scores(q: Tensor, k: Tensor, scale: str = "hs", transposed: bool = False) -> Tensor:
    s = (k @ q.transpose(-2, -1)) if transposed else (q @ k.transpose(-2, -1))
    divisor = {"hs": math.sqrt(q.shape[-1]), "none": 1.0, "hs_squared": q.shape[-1],
               "T": math.sqrt(q.shape[-2]), "times": 1 / math.sqrt(q.shape[-1])}[scale]
    return s / divisor


def _mask(scores: Tensor, mode: str = "inf", diagonal: int = 0) -> Tensor:
    """Hide the future. mode: inf, min (finfo.min), fill (masked_fill LEAK_FILL),
    add (add LEAK_FILL), times (multiply by the mask), bool_add (add the bool mask itself),
    inverted (-inf where a key may be seen), none."""
    T, S = scores.shape[-2:]
    allowed = _tril(T, S, diagonal)
    if mode == "inf":
        return scores.masked_fill(~allowed, float("-inf"))
    if mode == "min":
        return scores.masked_fill(~allowed, torch.finfo(scores.dtype).min)
    if mode == "fill":
        return scores.masked_fill(~allowed, LEAK_FILL)
    if mode == "add":
        return scores + (~allowed) * LEAK_FILL
    if mode == "times":
        return scores * allowed
    if mode == "bool_add":
        return scores + allowed
    if mode == "inverted":
        return scores.masked_fill(allowed, float("-inf"))
    return scores


def _attend(q: Tensor, k: Tensor, v: Tensor, *, scale: str = "hs", mask: str = "inf",
            diagonal: int = 0, dim: int = -1, mask_after: bool = False,
            transposed: bool = False, weights_t: bool = False) -> Tensor:
    scores = _scores(q, k, scale, transposed)
    if mask_after:
        weights = torch.softmax(scores, dim=-1) * _tril(*scores.shape[-2:])
    else:
        weights = torch.softmax(_mask(scores, mask, diagonal), dim=dim)
    return (weights.transpose(-2, -1) if weights_t else weights) @ v


# --- 1. scores ----------------------------------------------------------------------------


def _scores_cases(seed: int | None) -> list[Case]:
    # T != hs everywhere, so dividing by sqrt(T) or by hs can be told apart from sqrt(hs).
    def case(name: str, gen: torch.Generator, B: int, nh: int, T: int, hs: int) -> Case:
        qkv = _qkv(gen, B, nh, T, hs)
        return Case(name, {"q": qkv["q"], "k": qkv["k"]})

    if seed is None:
        return [case("B=1, nh=1, T=4, hs=3", _gen(10), 1, 1, 4, 3),
                case("B=2, nh=3, T=5, hs=8", _gen(11), 2, 3, 5, 8)]
    gen = _gen(seed)
    return [case("a hidden B=2, nh=2, T=6, hs=16", gen, 2, 2, 6, 16),
            case("a hidden B=1, nh=4, T=3, hs=5", gen, 1, 4, 3, 5)]


SHAPE_HINTS = {"wrong dtype": N_("Keep float32: do not convert to another dtype.")}
# k.T on a 4-D tensor reverses all four axes: the product then fails with one of these.
FOUR_D_T = N_(".T on a 4-D tensor reverses all four axes (B, nh, T, hs) -> (hs, T, nh, B). "
              "Swap only the last two: k.transpose(-2, -1) (or k.mT).")
FOUR_D_T_HINTS = (("Expected size for first two dimensions of batch2", FOUR_D_T),
                  ("must match the size of tensor b", FOUR_D_T))

SCORES = Exercise(
    id="03.attention_scores",
    function="attention_scores",
    points=1,
    reference=lambda q, k: _scores(q, k),
    cases=_scores_cases,
    compare=with_hints(close(atol=1e-5, rtol=1e-4), {
        "wrong shape": N_("q and k are (B, nh, T, hs); the scores are (B, nh, T, T): "
                       "q @ k.transpose(-2, -1)."), **SHAPE_HINTS}),
    diagnoses=(
        Diagnosis(N_("the scores are not divided by sqrt(hs) (hs = q.shape[-1], the size of one "
                  "head)."), lambda q, k: _scores(q, k, "none")),
        Diagnosis(N_("the scores are divided by hs; divide by sqrt(hs)."),
                  lambda q, k: _scores(q, k, "hs_squared")),
        Diagnosis(N_("the scores are multiplied by sqrt(hs); divide them by it."),
                  lambda q, k: _scores(q, k, "times")),
        Diagnosis(N_("the scores are divided by sqrt(T), the number of tokens; divide by "
                  "sqrt(hs), the size of one head (q.shape[-1])."),
                  lambda q, k: _scores(q, k, "T")),
        Diagnosis(N_("rows and columns are swapped (k @ q.T): row i must hold query i's scores "
                  "against every key, scores[..., i, j] = q_i . k_j."),
                  lambda q, k: _scores(q, k, transposed=True)),
    ),
    error_hints=FOUR_D_T_HINTS,
)

# --- 2. the causal mask -------------------------------------------------------------------


def _mask_cases(seed: int | None) -> list[Case]:
    if seed is None:
        return [Case("T=4 (robot must obey orders)", {"T": 4}), Case("T=1", {"T": 1})]
    return [Case("a hidden T", {"T": 5 + seed % 4}), Case("T=2", {"T": 2})]


CAUSAL_MASK = Exercise(
    id="03.causal_mask",
    function="causal_mask",
    points=1,
    reference=lambda T: _tril(T),
    cases=_mask_cases,
    compare=with_hints(exact, {
        "wrong dtype": N_("Return a bool tensor (dtype torch.bool): True where query i may look "
                       "at key j. For example compare with == or use .bool()."),
        "wrong shape": N_("The mask has one row per query and one column per key: (T, T)."),
    }),
    diagnoses=(
        Diagnosis(N_("the mask hides the diagonal: each token must see itself too "
                  "(tril with diagonal=0, not -1)."), lambda T: _tril(T, diagonal=-1)),
        Diagnosis(N_("the mask is shifted by one diagonal: each token also sees the next one "
                     "(tril with diagonal=1). Use diagonal=0: token i sees keys 0..i."),
                  lambda T: _tril(T, diagonal=1)),
        Diagnosis(N_("True and False are swapped: True must mean 'may look' (the lower triangle "
                  "with the diagonal), not 'hidden'."), lambda T: ~_tril(T)),
        Diagnosis(N_("this is the upper triangle: row i (the query) may see columns 0..i (keys "
                  "at or before it), not the keys after it."), lambda T: _tril(T).T),
    ),
)

# --- 3. applying the mask to the scores ----------------------------------------------------


def _big_scores(gen: torch.Generator, B: int, nh: int, T: int) -> Tensor:
    """Visible scores near -30000, hidden ones near +30000: a finite mask value must lose."""
    noise = torch.randn(B, nh, T, T, generator=gen) * 100
    return torch.where(_tril(T), -3e4 + noise, 3e4 + noise)


def _apply_cases(seed: int | None) -> list[Case]:
    if seed is None:
        return [
            Case("scores of shape (1, 1, 4, 4)",
                 {"scores": torch.randn(1, 1, 4, 4, generator=_gen(20)) * 2}),
            Case("scores of shape (2, 3, 5, 5)",
                 {"scores": torch.randn(2, 3, 5, 5, generator=_gen(21)) * 2}),
            Case("very large scores (1, 2, 4, 4): the future must still get weight 0",
                 {"scores": _big_scores(_gen(22), 1, 2, 4)}),
        ]
    gen = _gen(seed)
    return [Case("hidden scores of shape (2, 2, 6, 6)",
                 {"scores": torch.randn(2, 2, 6, 6, generator=gen) * 3}),
            Case("hidden very large scores (1, 1, 5, 5)", {"scores": _big_scores(gen, 1, 1, 5)})]


def masked_scores_match(expected: np.ndarray, got: object) -> Mismatch | None:
    """Visible scores unchanged; each hidden one -inf or low enough that softmax gives it 0.

    ``expected`` holds -inf where a score is hidden. A finite hidden value passes when it is
    at least 200 below the row's largest visible score: exp(-200) is 0 in float32 and
    float64 alike. This accepts -inf, torch.finfo(dtype).min, and -1e9 for such scores.
    """
    if not isinstance(got, np.ndarray):
        return Mismatch(tr("expected a tensor of shape {shape}, got {got}.",
                           shape=expected.shape, got=describe(got)))
    if got.shape != expected.shape:
        return Mismatch(tr("wrong shape: expected {expected}, got {got}.",
                           expected=expected.shape, got=got.shape),
                        (tr("Return the scores with the same shape (..., T, T)."),))
    if got.dtype != expected.dtype:
        return Mismatch(tr("wrong dtype: expected {expected}, got {got}.",
                           expected=expected.dtype, got=got.dtype))
    if np.isnan(got).any():
        where = [int(i) for i in np.argwhere(np.isnan(got))[0]]
        return Mismatch(tr("your output contains NaN (first at {where}).", where=where))
    visible = np.isfinite(expected)
    e, g = expected.astype(np.float64), got.astype(np.float64)
    e_visible = np.where(visible, e, 0.0)  # no inf - inf below
    g_visible = np.where(visible, g, 0.0)
    wrong = visible & ~(np.abs(g_visible - e_visible) <= 1e-5 + 1e-4 * np.abs(e_visible))
    if wrong.any():
        at = tuple(int(i) for i in np.argwhere(wrong)[0])
        return Mismatch(tr("{n} visible scores were changed.", n=int(wrong.sum())),
                        (tr("first at {at} (query {i}, key {j}): expected {e}, got {g}",
                            at=list(at), i=at[-2], j=at[-1], e=format(e[at], ".6g"),
                            g=format(g[at], ".6g")),))
    row_max = np.where(visible, e, -np.inf).max(axis=-1, keepdims=True)
    row_max = np.where(np.isfinite(row_max), row_max, 0.0)
    leaks = ~visible & ~(g <= row_max - 200)
    if leaks.any():
        at = tuple(int(i) for i in np.argwhere(leaks)[0])
        row = g[at[:-1]]
        weights = np.exp(row - row.max())
        share = float((weights * ~visible[at[:-1]]).sum() / weights.sum())
        return Mismatch(
            tr("{n} hidden scores are not hidden well enough.", n=int(leaks.sum())),
            (tr("first at {at} (query {i}, key {j}, a future token): it holds {g}, so softmax "
                "gives the future keys of this row a weight of {share} instead of 0",
                at=list(at), i=at[-2], j=at[-1], g=format(g[at], ".6g"),
                share=format(share, ".3g")),
             tr("Put -inf there (or torch.finfo(scores.dtype).min). A finite value like -1e4 "
                "is not small enough when the scores themselves are large.")))
    return None


APPLY_MASK = Exercise(
    id="03.apply_causal_mask",
    must_not_modify=("scores",),
    function="apply_causal_mask",
    points=1,
    reference=lambda scores: _mask(scores),
    cases=_apply_cases,
    compare=masked_scores_match,
    diagnoses=(
        Diagnosis(N_("the mask hides the diagonal: each token must see itself too."),
                  lambda scores: _mask(scores, diagonal=-1)),
        Diagnosis(N_("the mask hides the past instead of the future: key j is hidden from "
                  "query i when j > i."),
                  lambda scores: scores.masked_fill(_tril(scores.shape[-1]),
                                                    float("-inf"))),
        Diagnosis(N_("the hidden scores are set to a finite number (-10000); when the "
                  "scores are large, softmax still gives the future some weight. Use -inf."),
                  lambda scores: _mask(scores, "fill")),
        Diagnosis(N_("-10000 is added to the hidden scores; a large score stays large, so "
                  "the future leaks through. Set them to -inf instead."),
                  lambda scores: _mask(scores, "add")),
        Diagnosis(N_("the scores are multiplied by the mask: hidden scores become 0, not -inf, "
                  "and softmax still gives them weight."), lambda scores: _mask(scores, "times")),
        Diagnosis(N_("the bool mask is added to the scores: True counts as 1, so the visible "
                     "scores grow by 1 and nothing is hidden. Use it to choose: "
                     "scores.masked_fill(~mask, float('-inf'))."),
                  lambda scores: _mask(scores, "bool_add")),
        Diagnosis(N_("the mask is shifted by one diagonal: each token also sees the next one. "
                     "Hide key j from query i when j > i."),
                  lambda scores: _mask(scores, diagonal=1)),
    ),
)

# --- 4. one head of attention -------------------------------------------------------------


def _attention_cases(seed: int | None) -> list[Case]:
    if seed is None:
        return [
            Case("B=1, nh=1, T=4, hs=3", _qkv(_gen(30), 1, 1, 4, 3)),
            Case("B=2, nh=3, T=5, hs=8", _qkv(_gen(31), 2, 3, 5, 8)),
            # q and k times 100: scores of about +-10000, where a finite mask value leaks.
            Case("large q and k: B=1, nh=2, T=4, hs=4", _large_qkv(_gen(32))),
        ]
    gen = _gen(seed)
    return [Case("a hidden B=2, nh=2, T=7, hs=6", _qkv(gen, 2, 2, 7, 6)),
            Case("a hidden B=1, nh=1, T=1, hs=4", _qkv(gen, 1, 1, 1, 4))]


def _large_qkv(gen: torch.Generator) -> dict[str, Tensor]:
    qkv = _qkv(gen, 1, 2, 4, 4)
    return {"q": qkv["q"] * 100, "k": qkv["k"] * 100, "v": qkv["v"]}


def _reference_attention(q: Tensor, k: Tensor, v: Tensor) -> Tensor:
    """What the reference GPT-2 computes for one head (PyTorch's fused attention)."""
    return torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)


ATTENTION_DIAGNOSES = (
    Diagnosis(N_("the scores are not divided by sqrt(hs)."),
              lambda q, k, v: _attend(q, k, v, scale="none")),
    Diagnosis(N_("the scores are divided by hs; divide by sqrt(hs)."),
              lambda q, k, v: _attend(q, k, v, scale="hs_squared")),
    Diagnosis(N_("the mask is applied after softmax: the hidden weights are set to 0 but the "
              "others no longer add up to 1. Mask the scores first, then softmax."),
              lambda q, k, v: _attend(q, k, v, mask_after=True)),
    Diagnosis(N_("softmax runs over the wrong axis: each query's weights over the keys (the last "
              "axis, dim=-1) must add up to 1."), lambda q, k, v: _attend(q, k, v, dim=-2)),
    Diagnosis(N_("there is no causal mask: tokens look at the future."),
              lambda q, k, v: _attend(q, k, v, mask="none")),
    Diagnosis(N_("the mask hides the diagonal: each token must see itself too (token 0 then "
              "sees nothing at all)."), lambda q, k, v: _attend(q, k, v, diagonal=-1)),
    Diagnosis(N_("the mask hides the diagonal: each token must see itself too (token 0 then "
              "sees nothing at all)."), lambda q, k, v: _attend(q, k, v, mask="min", diagonal=-1)),
    Diagnosis(N_("the mask uses a finite number (-10000); with large scores the future "
              "still gets weight. Use -inf."), lambda q, k, v: _attend(q, k, v, mask="fill")),
    Diagnosis(N_("the mask adds -10000 to hidden scores; with large scores the future "
              "still gets weight. Use -inf."), lambda q, k, v: _attend(q, k, v, mask="add")),
    Diagnosis(N_("the scores are k @ q.T instead of q @ k.T: row i must be query i."),
              lambda q, k, v: _attend(q, k, v, transposed=True)),
    Diagnosis(N_("the scores are multiplied by sqrt(hs); divide them by it."),
              lambda q, k, v: _attend(q, k, v, scale="times")),
    Diagnosis(N_("the mask is shifted by one diagonal: each token also sees the next one. "
                 "Hide key j from query i when j > i."),
              lambda q, k, v: _attend(q, k, v, diagonal=1)),
    Diagnosis(N_("the mask is inverted: the past is hidden and the future seen (the last "
                 "token then sees nothing, which gives NaN). Hide key j from query i when "
                 "j > i."), lambda q, k, v: _attend(q, k, v, mask="inverted")),
    Diagnosis(N_("the bool mask is added to the scores: True counts as 1, so nothing is "
                 "hidden. Use it to choose: scores.masked_fill(~mask, float('-inf'))."),
              lambda q, k, v: _attend(q, k, v, mask="bool_add")),
    Diagnosis(N_("softmax runs over the heads axis (dim=1); it must run over the keys, the "
                 "last axis (dim=-1)."), lambda q, k, v: _attend(q, k, v, dim=1)),
    Diagnosis(N_("the attention weights are transposed before @ v: row i of the weights "
                 "(query i's weights over the keys) must multiply v directly: weights @ v."),
              lambda q, k, v: _attend(q, k, v, weights_t=True)),
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
    from ..config import GPT2Config
    from ..model import CausalSelfAttention

    C = x.shape[-1]
    layer = CausalSelfAttention(GPT2Config(n_embd=C, n_head=n_head, n_layer=1,
                                           n_positions=x.shape[1], vocab_size=1))
    layer.load_state_dict({"c_attn.weight": c_attn_weight.T, "c_attn.bias": c_attn_bias,
                           "c_proj.weight": c_proj_weight.T, "c_proj.bias": c_proj_bias})
    return layer.eval()(x)


def _mha_with(*, order=(0, 1, 2), split: str = "ok", merge: str = "ok", scale: str = "hs",
              proj: str = "ok", bias: bool = True, attn_reshaped: bool = False, **attend):
    """Multi-head attention with one thing changed: how the diagnoses are built."""

    def mha(x, c_attn_weight, c_attn_bias, c_proj_weight, c_proj_bias, n_head):
        B, T, C = x.shape
        hs = C // n_head
        w = c_attn_weight.reshape(3 * C, C).T if attn_reshaped else c_attn_weight
        qkv = x @ w + (c_attn_bias if bias else 0)
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
            y = _attend(q * math.sqrt(hs) / math.sqrt(C), k, v, **attend)
        elif scale == "times":
            y = _attend(q * hs, k, v, **attend)
        else:
            y = _attend(q, k, v, scale=scale, **attend)
        y = y.transpose(1, 2).reshape(B, T, C) if merge == "ok" else y.reshape(B, T, C)
        if proj == "none":
            return y
        w = c_proj_weight.T if proj == "transposed" else c_proj_weight
        return y @ w + (c_proj_bias if bias else 0)

    return mha


def _wrong_thirds() -> tuple[Diagnosis, ...]:
    message = ("q, k and v are taken from the wrong thirds of c_attn's output: columns "
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
        Diagnosis(N_("the scores are not divided by sqrt(hs)."), _mha_with(scale="none")),
        Diagnosis(N_("the scores are divided by sqrt(C), the model width (d_model); divide by "
                  "sqrt(hs), the size of one head (C // n_head)."), _mha_with(scale="C")),
        Diagnosis(N_("the scores are divided by hs; divide by sqrt(hs)."),
                  _mha_with(scale="hs_squared")),
        Diagnosis(N_("the scores are multiplied by sqrt(hs); divide them by it."),
                  _mha_with(scale="times")),
        Diagnosis(N_("q, k and v are split per head (each head's 3*hs columns as its own "
                     "q|k|v). c_attn's output is three blocks of C columns: q = columns "
                     "0..C-1, k = C..2C-1, v = 2C..3C-1; split those into heads."),
                  _mha_with(split="per_head")),
        *_wrong_thirds(),
        Diagnosis(N_("the heads are split in the wrong order: head h must get the channels "
                  "h*hs .. (h+1)*hs - 1. View (B, T, C) as (B, T, n_head, hs), then "
                  "transpose(1, 2)."), _mha_with(split="interleaved")),
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
        Diagnosis(N_("there is no causal mask: tokens look at the future."),
                  _mha_with(mask="none")),
        Diagnosis(N_("the mask is applied after softmax; mask the scores first."),
                  _mha_with(mask_after=True)),
        Diagnosis(N_("softmax runs over the wrong axis (it must be the last one, the keys)."),
                  _mha_with(dim=-2)),
        Diagnosis(N_("softmax runs over the wrong axis (it must be the last one, the keys)."),
                  _mha_with(dim=1)),
        Diagnosis(N_("the attention weights are transposed before @ v: row i of the weights "
                     "(query i's weights over the keys) must multiply v directly: weights @ v."),
                  _mha_with(weights_t=True)),
        Diagnosis(N_("the mask is shifted by one diagonal: each token also sees the next one. "
                     "Hide key j from query i when j > i."), _mha_with(diagonal=1)),
    ),
    error_hints=(("cannot be multiplied", N_("a weight is used transposed (x @ W.T or F.linear, "
                  "the nn.Linear habit). GPT-2's checkpoint stores c_attn_weight as Conv1D, "
                  "(in, out) = (C, 3C): compute x @ c_attn_weight + c_attn_bias.")),),
    forbidden_functions=(*SDPA, "torch.nn.MultiheadAttention",
                         "torch.nn.functional.multi_head_attention_forward"),
)

# --- 6. one new token with a KV cache ------------------------------------------------------


def _cache_inputs(gen: torch.Generator, B: int, nh: int, t: int, hs: int) -> dict[str, Tensor]:
    new = _qkv(gen, B, nh, 1, hs, scale=2.0)
    return {**new, "k_cache": torch.randn(B, nh, t, hs, generator=gen) * 2,
            "v_cache": torch.randn(B, nh, t, hs, generator=gen)}


def _cache_cases(seed: int | None) -> list[Case]:
    if seed is None:
        return [Case("3 cached tokens: B=1, nh=1, hs=4", _cache_inputs(_gen(50), 1, 1, 3, 4)),
                Case("6 cached tokens: B=2, nh=3, hs=8", _cache_inputs(_gen(51), 2, 3, 6, 8)),
                Case("the first token: an empty cache (t=0)",
                     _cache_inputs(_gen(52), 1, 2, 0, 4))]
    gen = _gen(seed)
    return [Case("a hidden cache of 9 tokens: B=2, nh=2, hs=5", _cache_inputs(gen, 2, 2, 9, 5)),
            Case("a hidden cache of 1 token: B=1, nh=1, hs=3", _cache_inputs(gen, 1, 1, 1, 3))]


def _cached_with(*, append: str = "end", scale: str = "hs", first_only: bool = False):
    """The cached step with one thing changed: how the diagnoses are built."""

    def cached_attention(q, k, v, k_cache, v_cache):
        if append == "front":
            k_all, v_all = torch.cat([k, k_cache], dim=2), torch.cat([v, v_cache], dim=2)
        else:
            k_all, v_all = torch.cat([k_cache, k], dim=2), torch.cat([v_cache, v], dim=2)
        keys, values = (k_cache, v_cache) if append == "none" else (k_all, v_all)
        scores = _scores(q, keys, scale)
        if first_only:  # a square (T, T) mask cut to its first row: only key 0 is visible
            scores = scores.masked_fill(torch.arange(scores.shape[-1]) > 0, float("-inf"))
        out = torch.softmax(scores, dim=-1) @ values
        return out, k_all, v_all

    return cached_attention


def _reference_cached(q: Tensor, k: Tensor, v: Tensor, k_cache: Tensor,
                      v_cache: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """As the reference GPT-2 decodes: append to the cache, attend to all keys, no mask."""
    k_all, v_all = torch.cat([k_cache, k], dim=2), torch.cat([v_cache, v], dim=2)
    return torch.nn.functional.scaled_dot_product_attention(q, k_all, v_all), k_all, v_all


CACHED = Exercise(
    id="03.cached_attention",
    function="cached_attention",
    points=2,
    reference=_reference_cached,
    cases=_cache_cases,
    compare=with_hints(close(atol=1e-5, rtol=1e-4), {
        "expected a sequence": N_("Return three tensors: (output, k_all, v_all)."),
        "wrong shape": N_("output is (B, nh, 1, hs); k_all and v_all are (B, nh, t + 1, hs)."),
        **SHAPE_HINTS}),
    diagnoses=(
        Diagnosis(N_("the new token's own key and value are left out: append k and v to the "
                  "cache first (torch.cat on dim 2), then attend to all t + 1 keys."),
                  _cached_with(append="none")),
        Diagnosis(N_("the new key and value are put in front of the cache; append them at the "
                  "end (they belong to the newest position)."), _cached_with(append="front")),
        Diagnosis(N_("the scores are not divided by sqrt(hs)."), _cached_with(scale="none")),
        Diagnosis(N_("the new token sees only the first key. It is the last token, so it may "
                  "see every cached key and itself: no mask is needed here."),
                  _cached_with(first_only=True)),
    ),
    error_hints=(("Sizes of tensors must match except in dimension", N_(
        "the new key and value are appended on the wrong axis. The cache is (B, nh, t, hs) "
        "and the tokens are axis 2: torch.cat([k_cache, k], dim=2).")), *FOUR_D_T_HINTS),
    forbidden_functions=SDPA,
)

EXERCISES = (SCORES, CAUSAL_MASK, APPLY_MASK, ATTENTION, MULTI_HEAD, CACHED)
