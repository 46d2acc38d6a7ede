"""The attention math every lesson 03 exercise shares, each step with one thing that can be
changed to copy a known bug; the shape and error hints the exercises share.

Shapes: B batch, nh heads, T tokens, hs = C // nh numbers per head; q, k, v are
``(B, nh, T, hs)``.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from ...i18n import N_

SDPA = ("torch.nn.functional.scaled_dot_product_attention",
        "torch._C._nn.scaled_dot_product_attention")
LEAK_FILL = -1e4  # a finite "minus a lot" often seen in tutorials; it leaks on large scores
# (the diagnoses below say -10000: a message must be a plain literal)


def random_qkv(gen: torch.Generator, B: int, nh: int, T: int, hs: int, scale: float = 1.0):
    """{"q", "k", "v"}: three (B, nh, T, hs) normal tensors times ``scale``, drawn from ``gen``."""
    return {name: torch.randn(B, nh, T, hs, generator=gen) * scale for name in "qkv"}


# --- the shared math, with one thing changed for each diagnosis ------------------------------


def tril_mask(T: int, S: int | None = None, diagonal: int = 0) -> Tensor:
    """(T, S) bools, True where query i may see key j; S > T means S - T earlier keys."""
    S = T if S is None else S
    return torch.ones(T, S, dtype=torch.bool).tril(diagonal=diagonal + S - T)


def scores_with(q: Tensor, k: Tensor, scale: str = "hs", transposed: bool = False) -> Tensor:
    """(B, nh, T, S) scores q @ k^T / sqrt(hs); ``scale`` and ``transposed`` copy known bugs."""
    s = (k @ q.transpose(-2, -1)) if transposed else (q @ k.transpose(-2, -1))
    divisor = {"hs": math.sqrt(q.shape[-1]), "none": 1.0, "hs_squared": q.shape[-1],
               "T": math.sqrt(q.shape[-2]), "times": 1 / math.sqrt(q.shape[-1])}[scale]
    return s / divisor


def mask_scores(scores: Tensor, mode: str = "inf", diagonal: int = 0) -> Tensor:
    """Hide the future. mode: inf, min (finfo.min), fill (masked_fill LEAK_FILL),
    add (add LEAK_FILL), times (multiply by the mask), bool_add (add the bool mask itself),
    inverted (-inf where a key may be seen), none."""
    T, S = scores.shape[-2:]
    allowed = tril_mask(T, S, diagonal)
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


def attention_with(q: Tensor, k: Tensor, v: Tensor, *, scale: str = "hs", mask: str = "inf",
                   diagonal: int = 0, dim: int = -1, mask_after: bool = False,
                   transposed: bool = False, weights_t: bool = False) -> Tensor:
    """One head of causal attention, (B, nh, T, hs); each keyword copies one known bug."""
    scores = scores_with(q, k, scale, transposed)
    if mask_after:
        weights = torch.softmax(scores, dim=-1) * tril_mask(*scores.shape[-2:])
    else:
        weights = torch.softmax(mask_scores(scores, mask, diagonal), dim=dim)
    return (weights.transpose(-2, -1) if weights_t else weights) @ v


SHAPE_HINTS = {"wrong dtype": N_("Keep float32: do not convert to another dtype.")}
# k.T on a 4-D tensor reverses all four axes: the product then fails with one of these.
FOUR_D_T = N_(".T on a 4-D tensor reverses all four axes (B, nh, T, hs) -> (hs, T, nh, B). "
              "Swap only the last two: k.transpose(-2, -1) (or k.mT).")
FOUR_D_T_HINTS = (("Expected size for first two dimensions of batch2", FOUR_D_T),
                  ("must match the size of tensor b", FOUR_D_T))

# Known bugs that more than one exercise names, in the same words.
NOT_SCALED = N_("the scores are not divided by sqrt(hs).")
DIVIDED_BY_HS = N_("the scores are divided by hs; divide by sqrt(hs).")
TIMES_SQRT_HS = N_("the scores are multiplied by sqrt(hs); divide them by it.")
SHIFTED_MASK = N_("the mask is shifted by one diagonal: each token also sees the next one. "
                  "Hide key j from query i when j > i.")
NO_MASK = N_("there is no causal mask: tokens look at the future.")
HIDES_DIAGONAL = N_("the mask hides the diagonal: each token must see itself too (token 0 then "
                    "sees nothing at all).")
WRONG_AXIS = N_("softmax runs over the wrong axis (it must be the last one, the keys).")
WEIGHTS_TRANSPOSED = N_("the attention weights are transposed before @ v: row i of the weights "
                        "(query i's weights over the keys) must multiply v directly: "
                        "weights @ v.")
