"""Lesson 06, exercises 1-4 (greedy, temperature, top-k, top-p): a mutation suite.

Each buggy version is code a learner could write, run in the lesson's own namespace
(setup cell and correct solutions, one cell replaced). Its check must fail with the
diagnosis that names the bug; valid variants must pass, on public and hidden cases.
"""

from __future__ import annotations

import pytest
from lesson06_support import assert_diagnosed, assert_valid, verdict

# --- greedy_next --------------------------------------------------------------------------


@pytest.mark.parametrize("body, diagnosis", [
    ("return logits.argmin(dim=-1)", "this is argmin"),
    ("return torch.argmax(logits, dim=0)", "argmax runs over the rows"),
    ("return logits.max(dim=-1).values", "this returns the largest logit"),
    ("return logits.argmax(-1, keepdim=True)", "keepdim=True gives shape (B, 1)"),
])
def test_greedy_bugs_are_named(body, diagnosis):
    assert_diagnosed("greedy_next", diagnosis,
                     **{"06_greedy_next": f"def greedy_next(logits):\n    {body}\n"})


@pytest.mark.parametrize("body", [
    "return torch.max(logits, dim=-1).indices",
    "return torch.softmax(logits, dim=-1).argmax(dim=1)",
    "return torch.topk(logits, 1).indices[:, 0]",
])
def test_greedy_valid_variants_pass(body):
    assert_valid("greedy_next", f"def greedy_next(logits):\n    {body}\n", 4)


# --- temperature_probs --------------------------------------------------------------------

TEMPERATURE = "def temperature_probs(logits, temperature):\n"


@pytest.mark.parametrize("body, diagnosis", [
    ("    return torch.softmax(logits, -1) / temperature\n",
     "the temperature divides the probabilities"),
    ("    return torch.softmax(torch.softmax(logits, -1) / temperature, -1)\n",
     "the temperature is applied to probabilities"),
    ("    probs = torch.softmax(logits, -1) / temperature\n"
     "    return probs / probs.sum(-1, keepdim=True)\n", "the temperature has no effect"),
    ("    return F.softmax(logits * temperature, dim=-1)\n", "the logits are multiplied"),
    ("    return torch.softmax(logits / temperature, dim=0)\n", "softmax runs over the rows"),
    ("    e = torch.exp(logits / temperature)\n"
     "    return e / e.sum(-1, keepdim=True)\n", "softmax without subtracting the max"),
])
def test_temperature_bugs_are_named(body, diagnosis):
    assert_diagnosed("temperature_probs", diagnosis, **{"06_temperature_probs": TEMPERATURE + body})


@pytest.mark.parametrize("body", [
    "    return F.softmax(logits / temperature, dim=-1)\n",
    "    scaled = logits / temperature\n"
    "    return torch.exp(scaled - torch.logsumexp(scaled, dim=-1, keepdim=True))\n",
    # Raising probabilities to the power 1/T and renormalising is the same thing.
    "    p = torch.softmax(logits.double(), -1) ** (1 / temperature)\n"
    "    return (p / p.sum(-1, keepdim=True)).float()\n",
])
def test_temperature_valid_variants_pass(body):
    assert_valid("temperature_probs", TEMPERATURE + body, 4, 5)


# --- top_k_logits -------------------------------------------------------------------------

TOP_K = "def top_k_logits(logits, k):\n"


@pytest.mark.parametrize("body, diagnosis", [
    ("    kth = torch.topk(logits, k + 1).values[:, -1:]\n"
     "    return logits.masked_fill(logits < kth, float('-inf'))\n", "k + 1 tokens are kept"),
    ("    kth = torch.topk(logits, k).values[:, -1:]\n"
     "    return logits.masked_fill(logits <= kth, float('-inf'))\n", "only k - 1 tokens"),
    ("    kth = torch.topk(logits, k, largest=False).values[:, -1:]\n"
     "    return logits.masked_fill(logits > kth, float('-inf'))\n", "the k smallest logits"),
    ("    kth = torch.topk(logits, k).values[:, -1:]\n"
     "    return logits.masked_fill(logits < kth, 0.0)\n", "the dropped tokens are set to 0"),
    # Compares with the k-th largest value: every logit tied with it stays.
    ("    ranked = torch.sort(logits, dim=-1, descending=True).values\n"
     "    return torch.where(logits >= ranked[:, k - 1 : k], logits, -torch.inf)\n",
     "every token tied with the k-th largest logit is kept"),
    ("    kth = torch.topk(logits, k).values[:, -1:]\n"
     "    return logits.masked_fill(logits < kth, float('-inf'))\n",
     "every token tied with the k-th largest logit is kept"),
])
def test_top_k_bugs_are_named(body, diagnosis):
    assert_diagnosed("top_k_logits", diagnosis, **{"06_top_k_logits": TOP_K + body})


@pytest.mark.parametrize("fill", ["-1e9", "torch.finfo(logits.dtype).min", "-1e30"])
def test_top_k_with_a_value_softmax_makes_zero_passes_as_minus_infinity(fill):
    # Softmax gives these exactly probability 0, as it does -inf: the same sampler.
    body = ("    values, indices = torch.topk(logits, k, dim=-1)\n"
            f"    return torch.full_like(logits, {fill}).scatter(-1, indices, values)\n")
    assert_valid("top_k_logits", TOP_K + body, 4, 5)


def test_top_k_with_a_negative_number_softmax_does_not_zero_says_to_use_minus_infinity():
    body = ("    values, indices = torch.topk(logits, k, dim=-1)\n"
            "    return torch.full_like(logits, -30.0).scatter(-1, indices, values)\n")
    result = verdict("top_k_logits", **{"06_top_k_logits": TOP_K + body})
    assert not result.passed and "-inf" in result.message, result.message


@pytest.mark.parametrize("body", [
    "    values, indices = torch.topk(logits, k, dim=-1)\n"
    "    return torch.full_like(logits, float('-inf')).scatter(-1, indices, values)\n",
    "    ranked, order = torch.sort(logits, dim=-1, descending=True, stable=True)\n"
    "    keep = torch.zeros_like(logits, dtype=torch.bool).scatter(-1, order[:, :k], True)\n"
    "    return torch.where(keep, logits, torch.finfo(logits.dtype).min * 0 - torch.inf)\n",
    "    out = logits.clone()\n"
    "    for row in range(out.size(0)):\n"
    "        drop = torch.argsort(out[row])[: out.size(1) - k]\n"
    "        out[row, drop] = float('-inf')\n"
    "    return out\n",
])
def test_top_k_valid_variants_pass(body):
    assert_valid("top_k_logits", TOP_K + body, 4, 5)


# --- top_p_logits -------------------------------------------------------------------------

TOP_P = ("def top_p_logits(logits, p):\n"
         "    ranked, order = torch.sort(logits, dim=-1, descending=True)\n")
PUT_BACK = "    return torch.full_like(logits, float('-inf')).scatter(-1, order, ranked)\n"


@pytest.mark.parametrize("body, diagnosis", [
    # "keep while the running total is at most p": the crossing token goes too
    ("    total = torch.softmax(ranked, -1).cumsum(-1)\n"
     "    ranked = ranked.masked_fill(total > p, float('-inf'))\n" + PUT_BACK,
     "the token that makes the total cross p is dropped"),
    ("    ranked, order = torch.sort(logits, dim=-1)\n"
     "    probs = torch.softmax(ranked, -1)\n"
     "    ranked = ranked.masked_fill(probs.cumsum(-1) - probs >= p, float('-inf'))\n" + PUT_BACK,
     "the tokens are sorted from least to most likely"),
    ("    probs = torch.softmax(logits, -1)\n"
     "    return logits.masked_fill(probs.cumsum(-1) - probs >= p, float('-inf'))\n",
     "the running total is taken in vocabulary order"),
    ("    probs = torch.softmax(ranked, -1)\n"
     "    return ranked.masked_fill(probs.cumsum(-1) - probs >= p, float('-inf'))\n",
     "the result is still in sorted order"),
    ("    probs = torch.softmax(ranked, -1)\n"
     "    ranked = ranked.masked_fill(probs.cumsum(-1) - probs >= p, 0.0)\n"
     "    return torch.zeros_like(logits).scatter(-1, order, ranked)\n",
     "the dropped tokens are set to 0"),
    # The lesson's rule with > where it needs >=: at an exact boundary one token too many.
    ("    probs = torch.softmax(ranked, -1)\n"
     "    ranked = ranked.masked_fill(probs.cumsum(-1) - probs > p, float('-inf'))\n"
     + PUT_BACK, "when the running total reaches p exactly, one token too many"),
    # Hugging Face's shifted mask, with > : the same bug.
    ("    total = torch.softmax(ranked, -1).cumsum(-1)\n"
     "    drop = total > p\n"
     "    drop[:, 1:] = drop[:, :-1].clone()\n"
     "    drop[:, 0] = False\n"
     "    ranked = ranked.masked_fill(drop, float('-inf'))\n" + PUT_BACK,
     "when the running total reaches p exactly, one token too many"),
    # The mask is right, in sorted order, but it is applied to the unsorted logits.
    ("    probs = torch.softmax(ranked, -1)\n"
     "    return logits.masked_fill(probs.cumsum(-1) - probs >= p, float('-inf'))\n",
     "the mask is computed in sorted order but applied to the logits in their original"),
    ("    e = ranked.exp()\n"
     "    probs = e / e.sum(-1, keepdim=True)\n"
     "    ranked = ranked.masked_fill(probs.cumsum(-1) - probs >= p, float('-inf'))\n"
     + PUT_BACK, "softmax without subtracting the max"),
])
def test_top_p_bugs_are_named(body, diagnosis):
    assert_diagnosed("top_p_logits", diagnosis, **{"06_top_p_logits": TOP_P + body})


@pytest.mark.parametrize("body", [
    # Hugging Face's way: drop once the total reaches p, shifted by one to keep the crosser.
    "    total = torch.softmax(ranked, -1).cumsum(-1)\n"
    "    drop = total >= p\n"
    "    drop[:, 1:] = drop[:, :-1].clone()\n"
    "    drop[:, 0] = False\n"
    "    ranked = ranked.masked_fill(drop, float('-inf'))\n" + PUT_BACK,
    # Sorted from least likely: drop the tail whose total is at most 1 - p.
    "    ranked, order = torch.sort(logits, dim=-1)\n"
    "    drop = torch.softmax(ranked, -1).cumsum(-1) <= 1 - p\n"
    "    drop[:, -1] = False\n"
    "    ranked = ranked.masked_fill(drop, float('-inf'))\n" + PUT_BACK,
    # Count the tokens to keep, then compare each logit with the last one kept.
    "    probs = torch.softmax(ranked, -1)\n"
    "    n_keep = ((probs.cumsum(-1) - probs) < p).sum(-1, keepdim=True)\n"
    "    threshold = ranked.gather(-1, n_keep - 1)\n"
    "    return logits.masked_fill(logits < threshold, float('-inf'))\n",
    # The mask scattered back to vocabulary order, then torch.where with finfo.min - inf.
    "    probs = torch.softmax(ranked, -1)\n"
    "    drop_sorted = probs.cumsum(-1) - probs >= p\n"
    "    drop = torch.zeros_like(drop_sorted).scatter(-1, order, drop_sorted)\n"
    "    return torch.where(drop, torch.tensor(float('-inf')), logits)\n",
    # A loop over rows with Python numbers.
    "    out = torch.full_like(logits, float('-inf'))\n"
    "    for r in range(logits.size(0)):\n"
    "        probs, total = torch.softmax(ranked[r], -1).tolist(), 0.0\n"
    "        for j, q in enumerate(probs):\n"
    "            if total >= p:\n"
    "                break\n"
    "            out[r, order[r, j]] = ranked[r, j]\n"
    "            total += q\n"
    "    return out\n",
])
def test_top_p_valid_variants_pass(body):
    assert_valid("top_p_logits", TOP_P + body, 4, 5, 6)


@pytest.mark.parametrize("function, cell", [
    ("top_k_logits", "def top_k_logits(logits, k):\n"
                     "    kth = torch.topk(logits, k, dim=-1).indices\n"
                     "    keep = torch.zeros_like(logits, dtype=torch.bool)"
                     ".scatter(-1, kth, True)\n"
                     "    logits[~keep] = float('-inf')\n"
                     "    return logits\n"),
    ("top_p_logits", "def top_p_logits(logits, p):\n"
                     "    sorted_logits, order = torch.sort(logits, dim=-1, descending=True,"
                     " stable=True)\n"
                     "    probs = torch.softmax(sorted_logits, dim=-1)\n"
                     "    above = probs.cumsum(-1) - probs\n"
                     "    drop = torch.zeros_like(above, dtype=torch.bool).scatter(-1, order,"
                     " above >= p - 1e-6)\n"
                     "    return logits.masked_fill_(drop, float('-inf'))\n"),
])
def test_a_filter_that_changes_the_learners_logits_is_reported(function, cell):
    """Both lessons' texts say to leave `logits` as it is (later cells use it again): a
    filter that is right but writes into its input fails, naming the input."""
    result = verdict(function, None, **{f"06_{function}": cell})
    assert not result.passed and "logits" in result.message, result.message
