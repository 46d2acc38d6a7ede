"""How lesson 06 compares a learner's output with the reference: filtered logits (-inf exactly
where a token is dropped), top-k with free choice among ties, and a sampler's draws against
the reference probabilities (see ``tests/test_lesson06.py`` for the odds of a false failure).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...i18n import tr
from ..core import Mismatch, close, describe, frequencies_match
from .shared import MAX_DISTANCE

# --- comparisons -------------------------------------------------------------------------------


def filtered_logits_match(expected: Any, got: Any) -> Mismatch | None:
    """Filtered logits: -inf exactly where the reference drops a token, the kept logits close.

    (``close`` alone would not do: |x - (-inf)| <= rtol * inf holds for any x.)
    """
    with np.errstate(invalid="ignore"):  # -inf minus -inf is nan
        found = close(atol=1e-6, rtol=1e-6)(expected, got)
    if not isinstance(got, np.ndarray) or got.shape != expected.shape or \
            got.dtype != expected.dtype:
        return found
    dropped, got_dropped = np.isneginf(expected), np.isneginf(got) | _as_good_as_minus_inf(got)
    kept_ok = np.allclose(got[~dropped], expected[~dropped], atol=1e-6, rtol=1e-6)
    if kept_ok and dropped.any() and (got[dropped] < -1e4).all() \
            and not got_dropped[dropped].all():
        return Mismatch(tr("you keep the right tokens, but set the others to a large negative "
                           "number. Set them to float('-inf'), so that softmax gives them "
                           "probability exactly 0."))
    if (dropped != got_dropped).any():
        row = int(np.argwhere((dropped != got_dropped).any(axis=-1))[0, 0])
        keep, kept = np.flatnonzero(~dropped[row]), np.flatnonzero(~got_dropped[row])
        return Mismatch(
            tr("the wrong tokens are kept (a kept token has its logit, a dropped one -inf)."),
            (tr("row {row}: expected to keep {n} tokens {keep}, you keep {m}: {kept}",
                row=row, n=keep.size, keep=keep.tolist(), m=kept.size, kept=kept.tolist()),))
    return close(atol=1e-6, rtol=1e-6)(np.where(dropped, 0, expected),
                                        np.where(dropped, 0, got).astype(got.dtype))


# exp(-x) rounds to 0 for x over about 104 in float32 and 745 in float64: a logit more than
# this below its row's largest gets probability exactly 0 from softmax, in either precision.
SOFTMAX_ZERO_GAP = 1000.0


def _as_good_as_minus_inf(got: np.ndarray) -> np.ndarray:
    """Where a finite logit is so far below its row's largest that softmax gives it exactly
    probability 0, as -inf would: -1e9 or torch.finfo(dtype).min are then as valid as -inf."""
    if got.ndim == 0 or got.size == 0 or not np.issubdtype(got.dtype, np.floating):
        return np.zeros(got.shape, dtype=bool)
    with np.errstate(invalid="ignore"):
        top = np.max(np.where(np.isfinite(got), got, -np.inf), axis=-1, keepdims=True)
        return np.isfinite(got) & np.isfinite(top) & (got < top - SOFTMAX_ZERO_GAP)


def _ties_swapped(expected: np.ndarray, got: np.ndarray) -> bool:
    """Every row keeps as many tokens as expected, and the tokens that differ all hold the
    value of the row's smallest kept logit: the same top k, tied logits chosen otherwise."""
    dropped, got_dropped = np.isneginf(expected), np.isneginf(got) | _as_good_as_minus_inf(got)
    for e, g, d, gd in zip(expected, got, dropped, got_dropped, strict=True):
        if d.sum() != gd.sum() or not d.any():
            return False
        tie = e[~d].min()
        differ = d != gd
        if not np.allclose(np.where(differ, np.where(d, g, e), tie), tie, atol=1e-6, rtol=0):
            return False
    return True


def top_k_match(expected: Any, got: Any) -> Mismatch | None:
    """Like ``filtered_logits_match``, but which of several tied k-th logits is kept is free."""
    found = filtered_logits_match(expected, got)
    if found is None or not isinstance(got, np.ndarray) or got.shape != expected.shape \
            or got.dtype != expected.dtype or expected.ndim != 2:
        return found
    return None if _ties_swapped(expected, got) else found


def draws_follow(expected: Any, got: Any) -> Mismatch | None:
    """``expected``: {"probabilities": (B, V)}; ``got``: what the ``"sample"`` adapter returns."""
    if not isinstance(got, dict) or ("first" not in got and "draws" not in got):
        return Mismatch(tr("expected token ids from your sampler, got {got}.",
                           got=describe(got)))
    probs = expected["probabilities"]
    if "first" in got:
        rows = got["rows"]
        text = tr("for logits with {rows} rows your function returned {got}. Return one "
                  "token id per row: a tensor of shape ({rows},).",
                  rows=rows, got=describe(got["first"]))
        if tuple(getattr(got["first"], "shape", ())) == (rows, 1):
            text += " " + tr("torch.multinomial(probs, 1) gives one column of draws, shape "
                             "(B, 1): drop that axis with .squeeze(-1).")
        return Mismatch(text)
    found = frequencies_match(MAX_DISTANCE)(probs, got["draws"])
    if found is not None:
        return found
    if not np.array_equal(got["again"], got["draws"]):
        return Mismatch(tr("with the same seed your sampler drew different tokens. Pass the "
                           "generator to the function that draws: torch.multinomial(probs, 1, "
                           "generator=generator). Then a seed makes sampling repeatable."))
    random_rows = probs.max(axis=-1) < 0.9
    if "second" in got and random_rows.any() and np.array_equal(
            got["second"][random_rows], got["draws"][random_rows]):
        return Mismatch(tr("a second call with the same generator drew exactly the same tokens "
                           "as the first: your sampler seeds a generator itself (or calls "
                           "manual_seed) on every call. Use the generator it is given as it "
                           "is, so that each call continues its stream of random numbers."))
    return None
