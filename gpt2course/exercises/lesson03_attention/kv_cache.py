"""Lesson 03, exercise 6: attention for one new token with a KV cache."""

from __future__ import annotations

import torch
from torch import Tensor

from ...i18n import N_
from ..core import Case, Diagnosis, Exercise, close, with_hints
from ..core import gen as _gen
from .scores_and_mask import notebook_mask
from .shared import FOUR_D_T_HINTS, NOT_SCALED, SDPA, SHAPE_HINTS, random_qkv, scores_with

# --- 6. one new token with a KV cache ------------------------------------------------------


def _cache_inputs(gen: torch.Generator, B: int, nh: int, t: int, hs: int) -> dict[str, Tensor]:
    new = random_qkv(gen, B, nh, 1, hs, scale=2.0)
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


def _cached_with(*, append: str = "end", scale: str = "hs", first_only: bool = False,
                 square_mask: bool = False, keys: str = "all", output: str = "out",
                 dim: int = -1):
    """The cached step with one thing changed: how the diagnoses are built. keys: "all"
    (right) or "new" (only the new token's key); output: "out" (right) or "weights"."""

    def cached_attention(q, k, v, k_cache, v_cache):
        if append == "front":
            k_all, v_all = torch.cat([k, k_cache], dim=2), torch.cat([v, v_cache], dim=2)
        else:
            k_all, v_all = torch.cat([k_cache, k], dim=2), torch.cat([v_cache, v], dim=2)
        seen, values = (k_cache, v_cache) if append == "none" else (k_all, v_all)
        seen, values = (k, v) if keys == "new" else (seen, values)
        scores = scores_with(q, seen, scale)
        if first_only:  # a square (T, T) mask cut to its first row: only key 0 is visible
            scores = scores.masked_fill(torch.arange(scores.shape[-1]) > 0, float("-inf"))
        if square_mask:  # the notebook's apply_causal_mask on (1, S) scores: (S, S) rows
            scores = notebook_mask(scores)
        weights = torch.softmax(scores, dim=dim)
        return (weights if output == "weights" else weights @ values), k_all, v_all

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
        Diagnosis(NOT_SCALED, _cached_with(scale="none")),
        Diagnosis(N_("softmax runs over the query axis, which has size 1 in a cached step, so "
                     "every weight is 1 and the output is the sum of all values. Take it over "
                     "the keys, the last axis (dim=-1)."), _cached_with(dim=-2)),
        Diagnosis(N_("the new token sees only the first key. It is the last token, so it may "
                  "see every cached key and itself: no mask is needed here."),
                  _cached_with(first_only=True)),
        Diagnosis(N_("the causal mask is applied to the cached step: apply_causal_mask makes a "
                     "square mask from the last axis (all t + 1 keys), so the one query grows "
                     "into t + 1 rows. The new token is the last one and may see every key: "
                     "no mask is needed here."), _cached_with(square_mask=True)),
        Diagnosis(N_("the new token attends only to its own key: the scores must cover all "
                     "t + 1 keys, q @ k_all (the cache and the new one), and the output "
                     "weighs all of v_all."), _cached_with(keys="new")),
        Diagnosis(N_("the attention weights are returned, not the output: multiply them by "
                     "the values, weights @ v_all."), _cached_with(output="weights")),
    ),
    error_hints=(("Sizes of tensors must match except in dimension", N_(
        "the new key and value are appended on the wrong axis. The cache is (B, nh, t, hs) "
        "and the tokens are axis 2: torch.cat([k_cache, k], dim=2).")), *FOUR_D_T_HINTS),
    forbidden_functions=SDPA,
)
