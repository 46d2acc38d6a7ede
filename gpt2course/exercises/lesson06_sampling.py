"""Lesson 06, sampling: greedy, temperature, top-k, top-p, a seeded sampler, the loop.

The reference (``gpt2course.sampling``) is imported inside functions only: this module
is also loaded where the reference must stay unimported.

Samplers are judged by their draws, not by fixed token ids: the ``"sample"`` adapter
has the learner's ``sample_token`` draw ``DRAWS`` tokens per row with a seeded generator, and
``_draws_follow`` compares how often each token came up with the reference
probabilities (see ``tests/test_lesson06.py`` for the odds of a false failure).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import Tensor

from ..i18n import N_, tr
from .calling import TinyLM, tiny_lm
from .core import Case, Diagnosis, Exercise, Mismatch, close, describe, exact, frequencies_match
from .core import gen as _gen

DRAWS = 2000  # tokens drawn for each row of logits
MAX_DISTANCE = 0.1  # total variation allowed between drawn frequencies and probabilities



NEG_INF = float("-inf")  # the logit of a dropped token: softmax gives it probability 0
LOG2 = math.log(2.0)
# Logits whose float32 softmax is exactly 1/2, 1/4, 1/8, 1/16, 1/16 (checked in
# tests/test_lesson06.py): running totals hit 0.75 and 0.875 exactly, so a top-p boundary
# can be met exactly, and the answer does not depend on how the sum is rounded.
BINARY_LOGITS = torch.tensor([[0.0, -LOG2, -2 * LOG2, -3 * LOG2, -3 * LOG2],
                              [-3 * LOG2, -2 * LOG2, -3 * LOG2, 0.0, -LOG2]])
LARGE = 1000.0  # added to logits: exp overflows unless softmax subtracts the row's max


def _naive_softmax(logits: Tensor) -> Tensor:
    """Softmax without subtracting the max: inf / inf = NaN for large logits."""
    e = logits.exp()
    return e / e.sum(dim=-1, keepdim=True)


# --- comparisons -------------------------------------------------------------------------------


def _filtered_logits_match(expected: Any, got: Any) -> Mismatch | None:
    """Filtered logits: -inf exactly where the reference drops a token, the kept logits close.

    (``close`` alone would not do: |x - (-inf)| <= rtol * inf holds for any x.)
    """
    with np.errstate(invalid="ignore"):  # -inf minus -inf is nan
        found = close(atol=1e-6, rtol=1e-6)(expected, got)
    if not isinstance(got, np.ndarray) or got.shape != expected.shape or \
            got.dtype != expected.dtype:
        return found
    dropped, got_dropped = np.isneginf(expected), np.isneginf(got)
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


def _ties_swapped(expected: np.ndarray, got: np.ndarray) -> bool:
    """Every row keeps as many tokens as expected, and the tokens that differ all hold the
    value of the row's smallest kept logit: the same top k, tied logits chosen otherwise."""
    dropped, got_dropped = np.isneginf(expected), np.isneginf(got)
    for e, g, d, gd in zip(expected, got, dropped, got_dropped, strict=True):
        if d.sum() != gd.sum() or not d.any():
            return False
        tie = e[~d].min()
        differ = d != gd
        if not np.allclose(np.where(differ, np.where(d, g, e), tie), tie, atol=1e-6, rtol=0):
            return False
    return True


def _top_k_match(expected: Any, got: Any) -> Mismatch | None:
    """Like ``_filtered_logits_match``, but which of several tied k-th logits is kept is free."""
    found = _filtered_logits_match(expected, got)
    if found is None or not isinstance(got, np.ndarray) or got.shape != expected.shape \
            or got.dtype != expected.dtype or expected.ndim != 2:
        return found
    return None if _ties_swapped(expected, got) else found


def _draws_follow(expected: Any, got: Any) -> Mismatch | None:
    """``expected``: {"probabilities": (B, V)}; ``got``: what the ``"sample"`` adapter returns."""
    if not isinstance(got, dict) or ("first" not in got and "draws" not in got):
        return Mismatch(tr("expected token ids from your sampler, got {got}.",
                           got=describe(got)))
    probs = expected["probabilities"]
    if "first" in got:
        rows = got["rows"]
        return Mismatch(tr("for logits with {rows} rows your function returned {got}. Return "
                           "one token id per row: a tensor of shape ({rows},).",
                           rows=rows, got=describe(got["first"])))
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


# --- 1. greedy ---------------------------------------------------------------------------------


def _greedy_cases(seed: int | None) -> list[Case]:
    if seed is None:
        return [
            Case("3 rows of 10 logits", {"logits": torch.randn(3, 10, generator=_gen(60))}),
            Case("2 rows of GPT-2's 50257 logits",
                 {"logits": torch.randn(2, 50257, generator=_gen(61)) * 3}),
        ]
    gen = _gen(seed)
    return [
        Case("hidden: 5 rows of 30 logits", {"logits": torch.randn(5, 30, generator=gen) * 2}),
        Case("hidden: 1 row of 1000 logits", {"logits": torch.randn(1, 1000, generator=gen)}),
    ]


def _reference_greedy(logits: Tensor) -> Tensor:
    from ..sampling import sample_next

    return sample_next(logits, greedy=True)


GREEDY = Exercise(
    id="06.greedy_next",
    function="greedy_next",
    points=1,
    reference=_reference_greedy,
    cases=_greedy_cases,
    compare=exact,
    diagnoses=(
        Diagnosis(N_("this is argmin, the least likely token; greedy takes argmax."),
                  lambda logits: logits.argmin(dim=-1)),
        Diagnosis(N_("argmax runs over the rows (dim=0); take it over the vocabulary, the last "
                  "dimension (dim=-1)."), lambda logits: logits.argmax(dim=0)),
        Diagnosis(N_("this returns the largest logit itself; greedy returns its position, the "
                  "token id (argmax, not max)."), lambda logits: logits.max(dim=-1).values),
        Diagnosis(N_("keepdim=True gives shape (B, 1); return one id per row, shape (B,)."),
                  lambda logits: logits.argmax(dim=-1, keepdim=True)),
    ),
)


# --- 2. temperature ----------------------------------------------------------------------------


def _temperature_cases(seed: int | None) -> list[Case]:
    if seed is None:
        logits = torch.randn(3, 10, generator=_gen(62)) * 2
        return [
            Case("temperature 0.5 (sharper)", {"logits": logits, "temperature": 0.5}),
            Case("temperature 2 (flatter)", {"logits": logits, "temperature": 2.0}),
            Case("large logits (about 1000): softmax must subtract the row's max",
                 {"logits": logits + LARGE, "temperature": 0.5}),
        ]
    gen = _gen(seed)
    t = round(0.3 + 2.5 * float(torch.rand(1, generator=gen)), 3)
    t = t if abs(t - 1) > 0.2 else t + 0.5
    logits = torch.randn(4, 20, generator=gen) * 3
    return [Case(f"hidden: temperature {t}, 4 rows of 20 logits",
                 {"logits": logits, "temperature": t}),
            Case(f"hidden: temperature {t}, logits about -800",
                 {"logits": logits - 0.8 * LARGE, "temperature": t})]


def _reference_temperature(logits: Tensor, temperature: float) -> Tensor:
    from ..sampling import next_token_probs

    return next_token_probs(logits, temperature=temperature)


TEMPERATURE = Exercise(
    id="06.temperature_probs",
    function="temperature_probs",
    points=1,
    reference=_reference_temperature,
    cases=_temperature_cases,
    compare=close(atol=1e-6, rtol=1e-4),
    diagnoses=(
        Diagnosis(N_("the temperature divides the probabilities, so they no longer add up to 1. "
                  "Divide the logits by the temperature, then apply softmax."),
                  lambda logits, temperature: torch.softmax(logits, -1) / temperature),
        Diagnosis(N_("the temperature is applied to probabilities, then softmax runs again. "
                  "Divide the logits (before softmax), and apply softmax once."),
                  lambda logits, temperature: torch.softmax(
                      torch.softmax(logits, -1) / temperature, -1)),
        Diagnosis(N_("the temperature has no effect: these are the probabilities at "
                  "temperature 1. (Dividing probabilities by T and then renormalising also "
                  "gives this.) Divide the logits by T before softmax."),
                  lambda logits, temperature: torch.softmax(logits, -1)),
        Diagnosis(N_("the logits are multiplied by the temperature; divide them by it."),
                  lambda logits, temperature: torch.softmax(logits * temperature, -1)),
        Diagnosis(N_("softmax runs over the rows (dim=0); use the last dimension (dim=-1)."),
                  lambda logits, temperature: torch.softmax(logits / temperature, 0)),
        Diagnosis(N_("softmax without subtracting the max: exp of a large logit overflows "
                     "to inf (or of a very negative one underflows to 0), and the result is "
                     "NaN. Subtract each row's largest logit before exp (softmax does not "
                     "change), or use torch.softmax."),
                  lambda logits, temperature: _naive_softmax(logits / temperature)),
    ),
)


# --- 3. top-k ----------------------------------------------------------------------------------


def _top_k_cases(seed: int | None) -> list[Case]:
    if seed is None:
        logits = torch.randn(3, 10, generator=_gen(63)) * 2
        return [
            Case("k = 3, 3 rows of 10 logits", {"logits": logits, "k": 3}),
            Case("k = 1 (the same token as greedy)", {"logits": logits, "k": 1}),
            Case("k = 7, 2 rows of 12 logits",
                 {"logits": torch.randn(2, 12, generator=_gen(64)), "k": 7}),
            Case("ties at the k-th place, k = 2: keep exactly 2 tokens", {"logits": TIES, "k": 2}),
        ]
    gen = _gen(seed)
    k = int(torch.randint(2, 15, (1,), generator=gen))
    ties = torch.randint(0, 3, (3, 9), generator=gen).float()  # many equal logits
    return [Case(f"hidden: k = {k}, 4 rows of 16 logits",
                 {"logits": torch.randn(4, 16, generator=gen) * 2, "k": k}),
            Case("hidden: logits 0, 1 or 2 (many ties), k = 4", {"logits": ties, "k": 4})]


# Row 0: three logits tie for 2nd place; row 1: all six tie. Exact in binary.
TIES = torch.tensor([[2.0, 1.0, 1.0, 1.0, 0.0, -1.0], [0.5, 0.5, 0.5, 0.5, 0.5, 0.5]])


def _reference_top_k(logits: Tensor, k: int) -> Tensor:
    from ..sampling import top_k_filter

    return top_k_filter(logits, k)


def _keep_top(logits: Tensor, k: int, *, largest: bool = True, fill: float | None = None
              ) -> Tensor:
    """Keep the k largest (or smallest) logits of each row; the others become ``fill``."""
    k = max(1, min(k, logits.size(-1)))
    indices = torch.topk(logits, k, dim=-1, largest=largest).indices
    keep = torch.zeros_like(logits, dtype=torch.bool).scatter(-1, indices, True)
    return logits.masked_fill(~keep, NEG_INF if fill is None else fill)


TOP_K = Exercise(
    id="06.top_k_logits",
    must_not_modify=("logits",),
    function="top_k_logits",
    points=1,
    reference=_reference_top_k,
    cases=_top_k_cases,
    compare=_top_k_match,
    diagnoses=(
        Diagnosis(N_("every token tied with the k-th largest logit is kept, so more than k "
                     "tokens can stay. Keep exactly k (as torch.topk does): e.g. take the "
                     "indices from torch.topk and scatter their values into a row of -inf."),
                  lambda logits, k: logits.masked_fill(
                      logits < torch.topk(logits, k, dim=-1).values[..., -1:], NEG_INF)),
        Diagnosis(N_("k + 1 tokens are kept; keep exactly k (check > versus >= against the "
                  "k-th largest value, or the index k versus k - 1)."),
                  lambda logits, k: _keep_top(logits, k + 1)),
        Diagnosis(N_("only k - 1 tokens are kept; keep exactly k (the k-th largest value is "
                  "at index k - 1 of the sorted values)."),
                  lambda logits, k: _keep_top(logits, k - 1)),
        Diagnosis(N_("the k smallest logits are kept; keep the k largest."),
                  lambda logits, k: _keep_top(logits, k, largest=False)),
        Diagnosis(N_("the dropped tokens are set to 0. A logit of 0 still has a probability "
                  "after softmax; set them to float('-inf')."),
                  lambda logits, k: _keep_top(logits, k, fill=0.0)),
    ),
)


# --- 4. top-p ----------------------------------------------------------------------------------


def _safe_p(logits: Tensor, p: float) -> bool:
    """No running total of sorted probabilities lies within 0.02 of p: no rounding doubt."""
    probs = torch.softmax(logits.double(), dim=-1).sort(dim=-1, descending=True).values
    return bool(((probs.cumsum(-1) - p).abs() > 0.02).all())


def _top_p_cases(seed: int | None) -> list[Case]:
    if seed is None:
        # Row 0 is confident: its best token alone holds more than p = 0.6.
        logits = torch.tensor([[4.0, 1.5, 1.0, 0.5, 0.0, -0.5, -1.0, -2.0],
                               [1.0, 0.9, 0.8, 0.7, 0.3, 0.2, 0.0, -0.3],
                               [-1.0, -0.4, 2.0, 0.1, 1.8, 0.5, 1.2, 0.9]])
        return [
            Case("p = 0.6, 3 rows of 8 logits", {"logits": logits, "p": 0.6}),
            Case("p = 0.9, 3 rows of 8 logits", {"logits": logits, "p": 0.9}),
            Case("p = 0.3, 2 rows of 20 logits",
                 {"logits": torch.randn(2, 20, generator=_gen(65)) * 2, "p": 0.3}),
            Case("exact boundary: probabilities 1/2, 1/4, 1/8, 1/16, 1/16 and p = 0.75 "
                 "(the first two reach p exactly)", {"logits": BINARY_LOGITS, "p": 0.75}),
            Case("large logits (about 1000), p = 0.9: softmax must subtract the max",
                 {"logits": logits + LARGE, "p": 0.9}),
        ]
    gen = _gen(seed)
    while True:  # draw until no running total is too close to p
        logits = torch.randn(4, 16, generator=gen) * 2
        p = round(0.2 + 0.75 * float(torch.rand(1, generator=gen)), 3)
        if _safe_p(logits, p):
            break
    # Shuffled binary-exact logits: the boundary is met exactly at 0.5, 0.75 or 0.875.
    exact_p = (0.5, 0.75, 0.875)[seed % 3]
    shuffled = BINARY_LOGITS[:, torch.randperm(5, generator=gen)]
    return [Case(f"hidden: p = {p}, 4 rows of 16 logits", {"logits": logits, "p": p}),
            Case(f"hidden: exact boundary, p = {exact_p}", {"logits": shuffled, "p": exact_p}),
            Case("hidden: logits about -1000", {"logits": logits - LARGE, "p": p})]


def _reference_top_p(logits: Tensor, p: float) -> Tensor:
    from ..sampling import top_p_filter

    return top_p_filter(logits, p)


def _nucleus(logits: Tensor, p: float, *, drop_crossing: bool = False, ascending: bool = False,
             unsorted: bool = False, fill: float | None = None, keep_sorted: bool = False,
             strict: bool = False, mask_unsorted: bool = False, naive: bool = False) -> Tensor:
    """Top-p written out, with one of the usual mistakes switched on."""
    fill = NEG_INF if fill is None else fill
    if unsorted:
        order = torch.arange(logits.size(-1)).expand_as(logits)
        ranked = logits
    else:
        ranked, order = torch.sort(logits, dim=-1, descending=not ascending)
    probs = _naive_softmax(ranked) if naive else torch.softmax(ranked, dim=-1)
    total = probs.cumsum(dim=-1)
    if drop_crossing:
        drop = total > p
    elif strict:  # drop once the mass above is *above* p: a total of exactly p keeps one more
        drop = (total - probs) > p
    else:
        drop = (total - probs) >= p
    if mask_unsorted:  # the mask is in sorted order, the logits are not
        return logits.masked_fill(drop, fill)
    ranked = ranked.masked_fill(drop, fill)
    if keep_sorted:
        return ranked
    return torch.full_like(logits, fill).scatter(-1, order, ranked)


TOP_P = Exercise(
    id="06.top_p_logits",
    function="top_p_logits",
    points=2,
    reference=_reference_top_p,
    cases=_top_p_cases,
    compare=_filtered_logits_match,
    diagnoses=(
        Diagnosis(N_("when the running total reaches p exactly, one token too many is kept: "
                     "the rule compares with > where it needs >=. A token is dropped when the "
                     "tokens ranked above it already hold p or more (mass_above >= p)."),
                  lambda logits, p: _nucleus(logits, p, strict=True)),
        Diagnosis(N_("softmax without subtracting the max: for large logits exp overflows, the "
                     "probabilities are NaN and no token is dropped. Subtract each row's "
                     "largest logit before exp, or use torch.softmax."),
                  lambda logits, p: _nucleus(logits, p, naive=True)),
        Diagnosis(N_("the token that makes the total cross p is dropped. Keep it: keep a token "
                  "when the mass of the tokens ranked above it is still below p."),
                  lambda logits, p: _nucleus(logits, p, drop_crossing=True)),
        Diagnosis(N_("the tokens are sorted from least to most likely, so the least likely "
                  "ones are kept. Sort in descending order."),
                  lambda logits, p: _nucleus(logits, p, ascending=True)),
        Diagnosis(N_("the mask is computed in sorted order but applied to the logits in their "
                     "original order, so it drops the wrong tokens. Apply it to the sorted "
                     "logits and put them back with scatter (or scatter the mask back to the "
                     "vocabulary order first)."),
                  lambda logits, p: _nucleus(logits, p, mask_unsorted=True)),
        Diagnosis(N_("the running total is taken in vocabulary order. Sort the probabilities "
                     "first (most likely first), then add them up."),
                  lambda logits, p: _nucleus(logits, p, unsorted=True)),
        Diagnosis(N_("the result is still in sorted order. Put each kept logit back at its "
                  "token's position (scatter with the sort indices)."),
                  lambda logits, p: _nucleus(logits, p, keep_sorted=True)),
        Diagnosis(N_("the dropped tokens are set to 0. A logit of 0 still has a probability "
                  "after softmax; set them to float('-inf')."),
                  lambda logits, p: _nucleus(logits, p, fill=0.0)),
    ),
)


# --- 5. one sampling step ----------------------------------------------------------------------

# Row 0: two strong tokens, then a long tail. Row 1: flat. Row 2: one clear winner.
_SAMPLE_LOGITS = torch.tensor([[2.0, 1.6, 0.4, 0.2, 0.0, -0.2, -0.4, -0.6, -0.8, -1.0],
                               [0.5, 0.4, 0.3, 0.25, 0.2, 0.1, 0.0, -0.1, -0.2, -0.3],
                               [3.0, 1.0, 0.8, 0.5, 0.0, -0.5, -1.0, -1.5, -2.0, -2.5]])

# Top-k = 5, then top-p = 0.5. Row 0: the top 5 hold 0.70 of the mass; renormalised they
# are 0.36, 0.21, 0.17, ..., so top-p keeps 2 tokens, but adding up the probabilities from
# before top-k keeps 3. Row 1: the top 5 hold 0.43; renormalised, top-p keeps 3 tokens, and
# without renormalising all 5. (Without top-k, row 1 would keep 7, so the bugs differ.)
_RENORMALISE_LOGITS = torch.tensor(
    [[0.25, 0.15, 0.12, 0.10, 0.08] + [0.30 / 11] * 11,
     [0.10, 0.09, 0.085, 0.08, 0.075] + [0.57 / 11] * 11]).log()


def _sample_case(name: str, logits: Tensor, seed: int, temperature: float = 1.0,
                 top_k: int | None = None, top_p: float | None = None) -> Case:
    args = {"logits": logits, "temperature": temperature, "top_k": top_k, "top_p": top_p}
    return Case(name, {"args": args, "draws": DRAWS, "seed": seed})


def _sample_cases(seed: int | None) -> list[Case]:
    if seed is None:
        return [
            _sample_case("temperature 1, no filter", _SAMPLE_LOGITS, 1),
            _sample_case("temperature 0.5, top_k = 3", _SAMPLE_LOGITS, 2, 0.5, top_k=3),
            _sample_case("temperature 2, top_p = 0.5", _SAMPLE_LOGITS, 3, 2.0, top_p=0.5),
            _sample_case("top_k = 5, then top_p = 0.5", _RENORMALISE_LOGITS, 4, top_k=5,
                         top_p=0.5),
            _sample_case("large logits (about 1000), top_k = 4", _SAMPLE_LOGITS + LARGE, 5,
                         top_k=4),
        ]
    gen = _gen(seed)
    while True:  # draw until the nucleus is not in doubt
        logits = torch.randn(3, 10, generator=gen) * 1.5
        # A temperature far from 1, so that ignoring it shows in the draws.
        t = round(float(torch.rand(1, generator=gen)), 2)
        t = 0.45 + 0.2 * t if t < 0.5 else 1.5 + t
        k = int(torch.randint(3, 7, (1,), generator=gen))
        p = round(0.4 + 0.4 * float(torch.rand(1, generator=gen)), 2)
        kept = torch.topk(logits / t, k, dim=-1).values
        if _safe_p(logits / t, p) and _safe_p(kept, p):
            return [
                _sample_case(f"hidden: temperature {t}, top_k = {k}", logits, seed + 1, t,
                             top_k=k),
                _sample_case(f"hidden: temperature {t}, top_k = {k}, top_p = {p}", logits,
                             seed + 2, t, top_k=k, top_p=p),
            ]


def _distribution(logits: Tensor, temperature: float, top_k: int | None,
                  top_p: float | None, *, bug: str | None = None) -> Tensor:
    """The probabilities a sampler draws from; ``bug`` names a known mistake to copy."""
    from ..sampling import next_token_probs, top_k_filter, top_p_filter

    if bug == "greedy":
        return torch.nn.functional.one_hot(logits.argmax(-1), logits.size(-1)).float()
    if bug == "filters first":  # top-k and top-p on the raw logits, temperature after
        if top_k is not None:
            logits = top_k_filter(logits, top_k)
        if top_p is not None:
            logits = top_p_filter(logits, top_p)
        return torch.softmax(logits / temperature, dim=-1)
    if bug == "top-p not renormalised":  # top-p adds up probabilities from before top-k
        scaled = logits / temperature
        probs = torch.softmax(scaled, dim=-1)
        if top_k is not None:
            probs = probs.masked_fill(torch.isneginf(top_k_filter(scaled, top_k)), 0.0)
        if top_p is not None:
            ranked, order = probs.sort(dim=-1, descending=True)
            drop = (ranked.cumsum(-1) - ranked) >= top_p
            probs = torch.zeros_like(probs).scatter(-1, order, ranked.masked_fill(drop, 0.0))
        return probs / probs.sum(-1, keepdim=True)
    temperature = {"no temperature": 1.0, "times temperature": 1 / temperature}.get(
        bug, temperature)
    return next_token_probs(logits, temperature=temperature,
                            top_k=None if bug == "no top_k" else top_k,
                            top_p=None if bug == "no top_p" else top_p)


def _reference_sample(args: dict[str, Any], draws: int, seed: int) -> dict[str, Tensor]:
    return {"probabilities": _distribution(**args)}


def _sample_bug(bug: str) -> Callable[..., dict[str, Tensor]]:
    def variant(args: dict[str, Any], draws: int, seed: int) -> dict[str, Tensor]:
        return {"probabilities": _distribution(**args, bug=bug)}

    return variant


SAMPLE = Exercise(
    id="06.sample_token",
    function="sample_token",
    points=2,
    reference=_reference_sample,
    cases=_sample_cases,
    compare=_draws_follow,
    adapter="sample",
    diagnoses=(
        Diagnosis(N_("it always takes the most likely token. Sampling draws at random from the "
                  "probabilities: torch.multinomial(probs, 1, generator=generator)."),
                  _sample_bug("greedy")),
        Diagnosis(N_("top-k and top-p run before the temperature. Divide by the temperature "
                  "first, then top-k, then top-p."), _sample_bug("filters first")),
        Diagnosis(N_("the temperature is not used. Divide the logits by it first."),
                  _sample_bug("no temperature")),
        Diagnosis(N_("the logits are multiplied by the temperature; divide them by it."),
                  _sample_bug("times temperature")),
        Diagnosis(N_("top_k is not used: tokens outside the k best were drawn."),
                  _sample_bug("no top_k")),
        Diagnosis(N_("top_p is not used: tokens outside the nucleus were drawn."),
                  _sample_bug("no top_p")),
        Diagnosis(N_("top-p adds up probabilities from before top-k. After top-k, the kept "
                  "tokens must be renormalised (add up to 1) before top-p measures the mass. "
                  "Filtering logits with -inf and taking softmax after each step does this."),
                  _sample_bug("top-p not renormalised")),
    ),
    error_hints=(("probability tensor contains either `inf`, `nan`", N_(
        "the probabilities hold NaN or inf: softmax without subtracting the max overflows "
        "for large logits. Subtract each row's largest logit before exp, or use "
        "torch.softmax.")),),
    time_limit_s=40.0,
)


# --- 6. the generation loop --------------------------------------------------------------------


def _tiny_spec(gen: torch.Generator, vocab: int, n_positions: int) -> dict[str, Any]:
    return {"table": torch.randn(vocab, vocab, generator=gen) * 2,
            "context": torch.randn(vocab, vocab, generator=gen) * 2,
            "n_positions": n_positions}


def _greedy_path(model: TinyLM, idx: Tensor, steps: int) -> Tensor:
    """The greedy continuation, for choosing stop tokens that a case really reaches."""
    for _ in range(steps):
        logits, _ = model(idx[:, -model.config.n_positions:])
        idx = torch.cat([idx, logits[:, -1].argmax(-1, keepdim=True)], dim=1)
    return idx


def _generate_case(name: str, spec: dict[str, Any], idx: Tensor, max_new_tokens: int,
                   seed: int | None = None, **options: Any) -> Case:
    args = {"idx": idx, "max_new_tokens": max_new_tokens, **options}
    return Case(name, {"model": spec, "args": args, "seed": seed})


def _stop_cases(gen: torch.Generator, prefix: str) -> list[Case]:
    """One row that stops early; two rows where one stops before the other."""
    while True:
        spec = _tiny_spec(gen, 12, 32)
        idx = torch.randint(0, 12, (2, 3), generator=gen)
        path = _greedy_path(tiny_lm(spec), idx, 10)[:, 3:]
        stop = int(path[0, 2])
        first = [int((row == stop).nonzero()[0]) if (row == stop).any() else 99 for row in path]
        # Row 0 reaches the stop token at step 3; row 1 at step 6 or 7, before the end.
        if first[0] == 2 and first[1] in (5, 6):
            return [
                _generate_case(f"{prefix}greedy, stop_token = {stop} (1 row)", spec, idx[:1],
                               8, greedy=True, stop_token=stop),
                _generate_case(f"{prefix}greedy, stop_token = {stop} (2 rows: the first stops "
                               "first)", spec, idx, 8, greedy=True, stop_token=stop),
            ]


def _repeat_case(name: str, spec: dict[str, Any], idx: Tensor, seed: int) -> Case:
    """A sampled loop, run twice with one seed and once with the next (see ``run_generation``)."""
    args = {"idx": idx, "max_new_tokens": 16, "temperature": 2.0}
    return Case(name, {"model": spec, "args": args, "seed": seed, "repeat": True})


def _generate_cases(seed: int | None) -> list[Case]:
    if seed is None:
        spec = _tiny_spec(_gen(66), 10, 8)
        return [
            _generate_case("greedy, 1 prompt of 3 tokens, 5 new tokens", spec,
                           torch.tensor([[1, 4, 2]]), 5, greedy=True),
            _generate_case("greedy, 2 prompts of 2 tokens, 4 new tokens", spec,
                           torch.tensor([[0, 3], [7, 7]]), 4, greedy=True),
            _generate_case("sampling with top_k = 1 (the same as greedy)", spec,
                           torch.tensor([[5, 6], [2, 9]]), 5, seed=1, top_k=1),
            *_stop_cases(_gen(67), ""),
            _generate_case("greedy past n_positions = 8: keep only the last 8 tokens", spec,
                           torch.tensor([[1, 2, 3, 4, 5, 6]]), 6, greedy=True),
            _repeat_case("sampling at temperature 2, twice with seed 5 and once with seed 6",
                         spec, torch.tensor([[3, 1], [4, 1]]), 5),
        ]
    gen = _gen(seed)
    spec = _tiny_spec(gen, 16, 10)
    return [
        _generate_case("hidden: greedy, 3 prompts of 4 tokens, 9 new tokens", spec,
                       torch.randint(0, 16, (3, 4), generator=gen), 9, greedy=True),
        _generate_case("hidden: sampling with top_k = 1, temperature 0.7", spec,
                       torch.randint(0, 16, (2, 1), generator=gen), 6, seed=seed, top_k=1,
                       temperature=0.7),
        *_stop_cases(gen, "hidden: "),
        _repeat_case("hidden: sampling, twice with one seed and once with another", spec,
                     torch.randint(0, 16, (1, 3), generator=gen), seed),
    ]


def _reference_generate(model: dict[str, Any], args: dict[str, Any], seed: int | None,
                        repeat: bool = False) -> Any:
    from ..sampling import generate

    def run(seed: int | None) -> Tensor:
        generator = _gen(seed) if seed is not None else None
        return generate(tiny_lm(model), **args, generator=generator, use_cache=False)

    out = run(seed)
    if not repeat:
        return out
    return {"shape": list(out.shape), "same seed, same tokens": torch.equal(out, run(seed)),
            "another seed, other tokens": not torch.equal(out, run(seed + 1))}


def _generate_match(expected: Any, got: Any) -> Mismatch | None:
    """Token ids exactly; for a ``repeat`` case, what the three runs say about the generator."""
    if not isinstance(expected, dict) or not isinstance(got, dict) or \
            set(got) != set(expected) or got["shape"] != expected["shape"]:
        return exact(expected, got)
    if not got["same seed, same tokens"]:
        return Mismatch(tr("two runs with generators seeded the same wrote different tokens: "
                           "the loop does not pass its generator on. Call "
                           "sample_token(last, generator, ...) with the generator it was given."))
    if not got["another seed, other tokens"]:
        return Mismatch(tr("runs with different seeds wrote the same tokens: the loop seeds "
                           "its own random numbers (torch.manual_seed or a new Generator) "
                           "instead of using the generator it was given."))
    return None


def _loop_with(bug: str) -> Callable[..., Tensor]:
    """A greedy loop with one known mistake (the cases that catch these are greedy)."""

    def variant(model: dict[str, Any], args: dict[str, Any], seed: int | None,
                repeat: bool = False) -> Tensor:
        lm, idx, stop = tiny_lm(model), args["idx"], args.get("stop_token")
        finished = torch.zeros(idx.size(0), dtype=torch.bool)
        for _ in range(args["max_new_tokens"]):
            window = {"newest only": idx[:, -1:], "first window": idx[:, :lm.config.n_positions]
                      }.get(bug, idx[:, -lm.config.n_positions:])
            logits, _ = lm(window)
            nxt = logits[:, 0 if bug == "first position" else -1].argmax(-1)
            if stop is not None and bug != "never stops":
                if bug == "no padding":
                    finished |= nxt == stop
                else:
                    nxt = nxt.masked_fill(finished, stop)
                    finished |= nxt == stop
                    if bug == "stop left out" and bool(finished.all()):
                        break
            idx = torch.cat([idx, nxt[:, None]], dim=1)
            if stop is not None and bug != "never stops" and bool(finished.all()):
                break
        return idx

    return variant


GENERATE = Exercise(
    id="06.generate_tokens",
    function="generate_tokens",
    points=2,
    reference=_reference_generate,
    cases=_generate_cases,
    compare=_generate_match,
    diagnoses=(
        Diagnosis(N_("the context is cut to the first n_positions tokens (idx[:, :n]), so the "
                     "model never sees the newest ones. Keep the last n_positions tokens: "
                     "idx[:, -n_positions:]."), _loop_with("first window")),
        Diagnosis(N_("the next token comes from the first position's logits. The prediction "
                  "for the next token is at the last position: logits[:, -1, :]."),
                  _loop_with("first position")),
        Diagnosis(N_("the model only sees the newest token. Without a KV cache, give it the "
                  "whole sequence so far (at most n_positions tokens) at every step."),
                  _loop_with("newest only")),
        Diagnosis(N_("the loop does not stop at stop_token. Stop once every row has produced it."),
                  _loop_with("never stops")),
        Diagnosis(N_("the stop token is not in the output. Append it, then stop."),
                  _loop_with("stop left out")),
        Diagnosis(N_("a row that has finished keeps getting new tokens. After its stop token, "
                  "a row only gets stop_token again (padding) until every row has finished."),
                  _loop_with("no padding")),
    ),
    adapter="generate",
)

EXERCISES = (GREEDY, TEMPERATURE, TOP_K, TOP_P, SAMPLE, GENERATE)
