"""Lesson 03, exercises 1-3: attention scores, the causal mask, and applying it to scores."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from ...i18n import N_, tr
from ..compare import same_kind
from ..core import Case, Diagnosis, Exercise, Mismatch, close, exact, with_hints
from ..core import gen as _gen
from .shared import (
    DIVIDED_BY_HS,
    FOUR_D_T_HINTS,
    SHAPE_HINTS,
    SHIFTED_MASK,
    TIMES_SQRT_HS,
    mask_scores,
    random_qkv,
    scores_with,
    tril_mask,
)

# --- 1. scores ----------------------------------------------------------------------------


def _scores_cases(seed: int | None) -> list[Case]:
    # T != hs everywhere, so dividing by sqrt(T) or by hs can be told apart from sqrt(hs).
    def case(name: str, gen: torch.Generator, B: int, nh: int, T: int, hs: int) -> Case:
        qkv = random_qkv(gen, B, nh, T, hs)
        return Case(name, {"q": qkv["q"], "k": qkv["k"]})

    if seed is None:
        return [case("B=1, nh=1, T=4, hs=3", _gen(10), 1, 1, 4, 3),
                case("B=2, nh=3, T=5, hs=8", _gen(11), 2, 3, 5, 8)]
    gen = _gen(seed)
    return [case("a hidden B=2, nh=2, T=6, hs=16", gen, 2, 2, 6, 16),
            case("a hidden B=1, nh=4, T=3, hs=5", gen, 1, 4, 3, 5)]


SCORES = Exercise(
    id="03.attention_scores",
    function="attention_scores",
    points=1,
    reference=lambda q, k: scores_with(q, k),
    cases=_scores_cases,
    compare=with_hints(close(atol=1e-5, rtol=1e-4), {
        "wrong shape": N_("q and k are (B, nh, T, hs); the scores are (B, nh, T, T): "
                       "q @ k.transpose(-2, -1)."), **SHAPE_HINTS}),
    diagnoses=(
        Diagnosis(N_("the scores are not divided by sqrt(hs) (hs = q.shape[-1], the size of one "
                  "head)."), lambda q, k: scores_with(q, k, "none")),
        Diagnosis(DIVIDED_BY_HS,
                  lambda q, k: scores_with(q, k, "hs_squared")),
        Diagnosis(TIMES_SQRT_HS,
                  lambda q, k: scores_with(q, k, "times")),
        Diagnosis(N_("the scores are divided by sqrt(T), the number of tokens; divide by "
                  "sqrt(hs), the size of one head (q.shape[-1])."),
                  lambda q, k: scores_with(q, k, "T")),
        Diagnosis(N_("rows and columns are swapped (k @ q.T): row i must hold query i's scores "
                  "against every key, scores[..., i, j] = q_i . k_j."),
                  lambda q, k: scores_with(q, k, transposed=True)),
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
    reference=lambda T: tril_mask(T),
    cases=_mask_cases,
    compare=with_hints(exact, {
        "wrong dtype": N_("Return a bool tensor (dtype torch.bool): True where query i may look "
                       "at key j. For example compare with == or use .bool()."),
        "wrong shape": N_("The mask has one row per query and one column per key: (T, T)."),
    }),
    diagnoses=(
        Diagnosis(N_("the mask hides the diagonal: each token must see itself too "
                  "(tril with diagonal=0, not -1)."), lambda T: tril_mask(T, diagonal=-1)),
        Diagnosis(N_("the mask is shifted by one diagonal: each token also sees the next one "
                     "(tril with diagonal=1). Use diagonal=0: token i sees keys 0..i."),
                  lambda T: tril_mask(T, diagonal=1)),
        Diagnosis(N_("True and False are swapped: True must mean 'may look' (the lower triangle "
                  "with the diagonal), not 'hidden'."), lambda T: ~tril_mask(T)),
        Diagnosis(N_("this is the upper triangle: row i (the query) may see columns 0..i (keys "
                  "at or before it), not the keys after it."), lambda T: tril_mask(T).T),
    ),
)

# --- 3. applying the mask to the scores ----------------------------------------------------


def _big_scores(gen: torch.Generator, B: int, nh: int, T: int) -> Tensor:
    """Visible scores near -30000, hidden ones near +30000: a finite mask value must lose."""
    noise = torch.randn(B, nh, T, T, generator=gen) * 100
    return torch.where(tril_mask(T), -3e4 + noise, 3e4 + noise)


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
    found = same_kind(expected, got)
    if found is not None:
        if isinstance(got, np.ndarray) and got.shape != expected.shape:
            return Mismatch(found.summary,
                            (tr("Return the scores with the same shape (..., T, T)."),),
                            found.kind)
        return found
    if np.isnan(got).any():
        where = [int(i) for i in np.argwhere(np.isnan(got))[0]]
        return Mismatch(tr("your output contains NaN (first at {where}).", where=where))
    visible = np.isfinite(expected)
    e, g = expected.astype(np.float64), got.astype(np.float64)
    return _visible_changed(e, g, visible) or _hidden_leaks(e, g, visible)


def _visible_changed(e: np.ndarray, g: np.ndarray, visible: np.ndarray) -> Mismatch | None:
    """A visible score (float64 ``e`` expected, ``g`` got) off by more than 1e-5 + 1e-4 |e|."""
    e_visible = np.where(visible, e, 0.0)  # no inf - inf below
    g_visible = np.where(visible, g, 0.0)
    wrong = visible & ~(np.abs(g_visible - e_visible) <= 1e-5 + 1e-4 * np.abs(e_visible))
    if not wrong.any():
        return None
    at = tuple(int(i) for i in np.argwhere(wrong)[0])
    return Mismatch(tr("{n} visible scores were changed.", n=int(wrong.sum())),
                    (tr("first at {at} (query {i}, key {j}): expected {e}, got {g}",
                        at=list(at), i=at[-2], j=at[-1], e=format(e[at], ".6g"),
                        g=format(g[at], ".6g")),))


def _hidden_leaks(e: np.ndarray, g: np.ndarray, visible: np.ndarray) -> Mismatch | None:
    """A hidden score less than 200 below its row's largest visible one, with the weight
    softmax then gives the future keys of that row."""
    row_max = np.where(visible, e, -np.inf).max(axis=-1, keepdims=True)
    row_max = np.where(np.isfinite(row_max), row_max, 0.0)
    leaks = ~visible & ~(g <= row_max - 200)
    if not leaks.any():
        return None
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



def notebook_mask(scores: Tensor) -> Tensor:
    """What the notebook's apply_causal_mask does, also on scores that are not square: a
    (S, S) mask from the last axis, broadcast. The stand-in for the learner's own in later
    exercises, so that one which relies on a smarter mask (a cached step calling it on
    (1, S) scores) fails as it does with the learner's own (the reference, ``mask_scores``,
    would hide nothing there and let it pass)."""
    S = scores.shape[-1]
    return scores.masked_fill(~tril_mask(S), float("-inf"))


APPLY_MASK = Exercise(
    id="03.apply_causal_mask",
    must_not_modify=("scores",),
    function="apply_causal_mask",
    points=1,
    stand_in=lambda: notebook_mask,
    reference=lambda scores: mask_scores(scores),
    cases=_apply_cases,
    compare=masked_scores_match,
    diagnoses=(
        Diagnosis(N_("the mask hides the diagonal: each token must see itself too."),
                  lambda scores: mask_scores(scores, diagonal=-1)),
        Diagnosis(N_("the mask hides the past instead of the future: key j is hidden from "
                  "query i when j > i."),
                  lambda scores: scores.masked_fill(tril_mask(scores.shape[-1]),
                                                    float("-inf"))),
        Diagnosis(N_("the hidden scores are set to a finite number (-10000); when the "
                  "scores are large, softmax still gives the future some weight. Use -inf."),
                  lambda scores: mask_scores(scores, "fill")),
        Diagnosis(N_("-10000 is added to the hidden scores; a large score stays large, so "
                  "the future leaks through. Set them to -inf instead."),
                  lambda scores: mask_scores(scores, "add")),
        Diagnosis(N_("the scores are multiplied by the mask: hidden scores become 0, not -inf, "
                  "and softmax still gives them weight."),
                  lambda scores: mask_scores(scores, "times")),
        Diagnosis(N_("the bool mask is added to the scores: True counts as 1, so the visible "
                     "scores grow by 1 and nothing is hidden. Use it to choose: "
                     "scores.masked_fill(~mask, float('-inf'))."),
                  lambda scores: mask_scores(scores, "bool_add")),
        Diagnosis(SHIFTED_MASK,
                  lambda scores: mask_scores(scores, diagonal=1)),
    ),
)
