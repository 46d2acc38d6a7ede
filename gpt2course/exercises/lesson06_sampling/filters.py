"""Lesson 06, exercises 1-4: greedy choice, temperature, top-k and top-p filtering."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from ...i18n import N_
from ..core import Case, Diagnosis, Exercise, close, exact
from ..core import gen as _gen
from .matching import filtered_logits_match, top_k_match
from .shared import BINARY_LOGITS, LARGE, NEG_INF, TIMES_TEMPERATURE, naive_softmax, p_is_safe

# A bug the top-k and top-p exercises both name.
DROPPED_TO_ZERO = N_("the dropped tokens are set to 0. A logit of 0 still has a probability "
                     "after softmax; set them to float('-inf').")

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
    from ...sampling import sample_next

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
    from ...sampling import next_token_probs

    return next_token_probs(logits, temperature=temperature)


TEMPERATURE = Exercise(
    id="06.temperature_probs",
    must_not_modify=("logits",),
    function="temperature_probs",
    points=1,
    reference=_reference_temperature,
    cases=_temperature_cases,
    # rtol 1e-3: with logits about -800 and a temperature of 0.3, float32 rounds each
    # logits / temperature (about -2600) by up to 2600 x 2^-24, which moves every
    # probability by up to 1.6e-4 of itself; a correct softmax written in another order
    # (logits * (1 / t)) or in float64 differs from the reference by that much. Every
    # known bug is off by far more (tests/test_alternatives.py, test_lesson06.py).
    compare=close(atol=1e-6, rtol=1e-3),
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
        Diagnosis(TIMES_TEMPERATURE,
                  lambda logits, temperature: torch.softmax(logits * temperature, -1)),
        Diagnosis(N_("softmax runs over the rows (dim=0); use the last dimension (dim=-1)."),
                  lambda logits, temperature: torch.softmax(logits / temperature, 0)),
        Diagnosis(N_("softmax without subtracting the max: exp of a large logit overflows "
                     "to inf (or of a very negative one underflows to 0), and the result is "
                     "NaN. Subtract each row's largest logit before exp (softmax does not "
                     "change), or use torch.softmax."),
                  lambda logits, temperature: naive_softmax(logits / temperature)),
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
    from ...sampling import top_k_filter

    return top_k_filter(logits, k)


def _keep_top(logits: Tensor, k: int, *, largest: bool = True, fill: float | None = None
              ) -> Tensor:
    """Keep the k largest (or smallest) logits of each row; the others become ``fill``."""
    k = max(1, min(k, logits.size(-1)))
    indices = torch.topk(logits, k, dim=-1, largest=largest).indices
    keep = torch.zeros_like(logits, dtype=torch.bool).scatter(-1, indices, True)
    return logits.masked_fill(~keep, NEG_INF if fill is None else fill)


def _ascending_cutoff(at: int) -> Callable[[Tensor, int], Tensor]:
    """The cut-off read at index k - 1 (at=-1) or k (at=0) of an ascending sort."""
    def variant(logits: Tensor, k: int) -> Tensor:
        ordered = torch.sort(logits, dim=-1).values
        return logits.masked_fill(logits < ordered[..., k + at:k + at + 1], NEG_INF)

    return variant


ASCENDING_CUTOFF = N_("the cut-off comes from the wrong end: torch.sort sorts from smallest to "
                      "largest, so index k - 1 holds the k-th smallest logit and most tokens "
                      "stay. Sort with descending=True, or take the k largest with torch.topk.")

TOP_K = Exercise(
    id="06.top_k_logits",
    must_not_modify=("logits",),
    function="top_k_logits",
    points=1,
    reference=_reference_top_k,
    cases=_top_k_cases,
    compare=top_k_match,
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
        *(Diagnosis(ASCENDING_CUTOFF, _ascending_cutoff(at)) for at in (-1, 0)),
        Diagnosis(N_("the k smallest logits are kept; keep the k largest."),
                  lambda logits, k: _keep_top(logits, k, largest=False)),
        Diagnosis(DROPPED_TO_ZERO,
                  lambda logits, k: _keep_top(logits, k, fill=0.0)),
    ),
)


# --- 4. top-p ----------------------------------------------------------------------------------


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
        if p_is_safe(logits, p):
            break
    # Shuffled binary-exact logits: the boundary is met exactly at 0.5, 0.75 or 0.875.
    exact_p = (0.5, 0.75, 0.875)[seed % 3]
    shuffled = BINARY_LOGITS[:, torch.randperm(5, generator=gen)]
    return [Case(f"hidden: p = {p}, 4 rows of 16 logits", {"logits": logits, "p": p}),
            Case(f"hidden: exact boundary, p = {exact_p}", {"logits": shuffled, "p": exact_p}),
            Case("hidden: logits about -1000", {"logits": logits - LARGE, "p": p})]


def _reference_top_p(logits: Tensor, p: float) -> Tensor:
    from ...sampling import top_p_filter

    return top_p_filter(logits, p)


def _nucleus(logits: Tensor, p: float, *, drop_crossing: bool = False, ascending: bool = False,
             unsorted: bool = False, fill: float | None = None, keep_sorted: bool = False,
             strict: bool = False, mask_unsorted: bool = False, naive: bool = False,
             total_of: str = "probs") -> Tensor:
    """Top-p written out, with one of the usual mistakes switched on. total_of: what the
    running total adds up: "probs" (right) or "logits"."""
    fill = NEG_INF if fill is None else fill
    if unsorted:
        order = torch.arange(logits.size(-1)).expand_as(logits)
        ranked = logits
    else:
        ranked, order = torch.sort(logits, dim=-1, descending=not ascending)
    probs = naive_softmax(ranked) if naive else torch.softmax(ranked, dim=-1)
    probs = ranked if total_of == "logits" else probs
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


PER_TOKEN = N_("each token's own probability is compared with p. Top-p adds up the "
               "probabilities of the most likely tokens (sorted, then cumsum) and keeps the "
               "fewest whose total reaches p.")


def _per_token(logits: Tensor, p: float, rule: str) -> Tensor:
    probs = torch.softmax(logits, dim=-1)
    limit = p if rule == "below p" else 1 - p
    return logits.masked_fill(probs < limit, NEG_INF)


TOP_P = Exercise(
    id="06.top_p_logits",
    must_not_modify=("logits",),
    function="top_p_logits",
    points=2,
    reference=_reference_top_p,
    cases=_top_p_cases,
    compare=filtered_logits_match,
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
        Diagnosis(DROPPED_TO_ZERO,
                  lambda logits, p: _nucleus(logits, p, fill=0.0)),
        Diagnosis(N_("the running total adds up logits, not probabilities: take the softmax "
                     "of the sorted logits first, then their cumulative sum."),
                  lambda logits, p: _nucleus(logits, p, total_of="logits")),
        *(Diagnosis(PER_TOKEN, lambda logits, p, rule=rule: _per_token(logits, p, rule))
          for rule in ("below p", "below 1 - p")),
    ),
)
