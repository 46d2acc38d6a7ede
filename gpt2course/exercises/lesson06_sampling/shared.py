"""The constants and small helpers the lesson 06 exercises share: how many tokens a sampler
draws, how far its frequencies may stray, logits with exact binary probabilities."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from ...i18n import N_

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
# A bug the temperature and the sampling exercises both name.
TIMES_TEMPERATURE = N_("the logits are multiplied by the temperature; divide them by it.")


def naive_softmax(logits: Tensor) -> Tensor:
    """Softmax without subtracting the max: inf / inf = NaN for large logits."""
    e = logits.exp()
    return e / e.sum(dim=-1, keepdim=True)


def p_is_safe(logits: Tensor, p: float) -> bool:
    """No running total of sorted probabilities lies within 0.02 of p: no rounding doubt."""
    probs = torch.softmax(logits.double(), dim=-1).sort(dim=-1, descending=True).values
    return bool(((probs.cumsum(-1) - p).abs() > 0.02).all())
