"""Lesson 06, exercise 5: one seeded sampling step (temperature, then top-k, then top-p),
judged by its draws."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from ...i18n import N_
from ..core import Case, Diagnosis, Exercise
from ..core import gen as _gen
from .matching import draws_follow
from .shared import DRAWS, LARGE, TIMES_TEMPERATURE, p_is_safe

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
        if p_is_safe(logits / t, p) and p_is_safe(kept, p):
            return [
                _sample_case(f"hidden: temperature {t}, top_k = {k}", logits, seed + 1, t,
                             top_k=k),
                _sample_case(f"hidden: temperature {t}, top_k = {k}, top_p = {p}", logits,
                             seed + 2, t, top_k=k, top_p=p),
            ]


def _distribution(logits: Tensor, temperature: float, top_k: int | None,
                  top_p: float | None, *, bug: str | None = None) -> Tensor:
    """The probabilities a sampler draws from; ``bug`` names a known mistake to copy."""
    from ...sampling import next_token_probs, top_k_filter, top_p_filter

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
    compare=draws_follow,
    adapter="sample",
    diagnoses=(
        Diagnosis(N_("it always takes the most likely token. Sampling draws at random from the "
                  "probabilities: torch.multinomial(probs, 1, generator=generator)."),
                  _sample_bug("greedy")),
        Diagnosis(N_("top-k and top-p run before the temperature. Divide by the temperature "
                  "first, then top-k, then top-p."), _sample_bug("filters first")),
        Diagnosis(N_("the temperature is not used. Divide the logits by it first."),
                  _sample_bug("no temperature")),
        Diagnosis(TIMES_TEMPERATURE,
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
