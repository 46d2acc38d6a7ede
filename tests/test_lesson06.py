"""Lesson 06's checks, as a mutation suite, plus the grader and the next-token explorer.

Each buggy version is code a learner could write, run in the lesson's own namespace
(setup cell and correct solutions, one cell replaced). Its check must fail with the
diagnosis that names the bug; valid variants must pass, on public and hidden cases.

The sampler is checked by its draws. How likely is it that a correct sampler fails?
For one row whose distribution has K possible tokens, N draws, and a total variation
limit eps, the chance that the drawn shares are eps or further away is at most
(2^K - 2) exp(-2 N eps^2) (Weissman et al., 2003, "Inequalities for the L1 deviation of
the empirical distribution"). ``test_false_failure_odds_are_negligible`` adds this up
over every row the check and the grader look at: below 1e-9 per graded notebook.
"""

from __future__ import annotations

import math
from functools import partial
from pathlib import Path

import pytest
import torch
from check_support import SolutionCells
from grading_support import make_submission

from gpt2course.config import GPT2Config
from gpt2course.exercises import for_lesson
from gpt2course.exercises import lesson06_sampling as lesson
from gpt2course.exercises.calling import to_plain
from gpt2course.grading.grade import grade_submission, load_lessons
from gpt2course.grading.sandbox import SandboxLimits
from gpt2course.model import GPT2
from gpt2course.sampling import next_token_probs
from gpt2course.vocab import ENDOFTEXT_ID, gpt2_encoding

ROOT = Path(__file__).resolve().parents[1]
submission = partial(make_submission, lesson="06_sampling")  # this lesson, solved
SOLUTION = ROOT / "solutions" / "06_sampling.ipynb"


NOTEBOOK = SolutionCells(SOLUTION)
verdict, assert_diagnosed = NOTEBOOK.verdict, NOTEBOOK.assert_diagnosed


def assert_valid(name: str, cell: str, *seeds: int) -> None:
    gid = f"06_{name}"
    for seed in (None, *seeds):
        result = verdict(name, seed, **{gid: cell})
        assert result.passed, result.message


@pytest.mark.parametrize("exercise", for_lesson("06"), ids=lambda e: e.id)
@pytest.mark.parametrize("seed", [None, 1, 2, 3])
def test_solution_passes_public_and_hidden_cases(exercise, seed):
    result = verdict(exercise.function, seed)
    assert result.passed, result.message


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


def test_top_k_with_a_large_negative_number_says_to_use_minus_infinity():
    body = ("    kth = torch.topk(logits, k).values[:, -1:]\n"
            "    return logits.masked_fill(logits < kth, -1e9)\n")
    result = verdict("top_k_logits", **{"06_top_k_logits": TOP_K + body})
    assert not result.passed and "float('-inf')" in result.message, result.message


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


# --- sample_token -------------------------------------------------------------------------

SAMPLE = "def sample_token(logits, generator, temperature=1.0, top_k=None, top_p=None):\n"
FILTERS = ("    if top_k is not None:\n        logits = top_k_logits(logits, top_k)\n"
           "    if top_p is not None:\n        logits = top_p_logits(logits, top_p)\n")
DRAW = "    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)\n"


@pytest.mark.parametrize("body, diagnosis", [
    ("    logits = logits / temperature\n" + FILTERS + "    return logits.argmax(-1)\n",
     "it always takes the most likely token"),
    (FILTERS + "    probs = torch.softmax(logits, -1)\n" + DRAW, "the temperature is not used"),
    ("    logits = logits * temperature\n" + FILTERS + "    probs = torch.softmax(logits, -1)\n"
     + DRAW, "the logits are multiplied by the temperature"),
    ("    logits = logits / temperature\n"
     "    if top_p is not None:\n        logits = top_p_logits(logits, top_p)\n"
     "    probs = torch.softmax(logits, -1)\n" + DRAW, "top_k is not used"),
    ("    logits = logits / temperature\n"
     "    if top_k is not None:\n        logits = top_k_logits(logits, top_k)\n"
     "    probs = torch.softmax(logits, -1)\n" + DRAW, "top_p is not used"),
    # Works on probabilities: zeroes what top-k drops, then adds up the mass without
    # renormalising, so top-p keeps too many tokens.
    ("    probs = torch.softmax(logits / temperature, -1)\n"
     "    if top_k is not None:\n"
     "        kth = torch.topk(probs, top_k).values[:, -1:]\n"
     "        probs = probs.masked_fill(probs < kth, 0.0)\n"
     "    if top_p is not None:\n"
     "        ranked, order = torch.sort(probs, dim=-1, descending=True)\n"
     "        ranked = ranked.masked_fill(ranked.cumsum(-1) - ranked >= top_p, 0.0)\n"
     "        probs = torch.zeros_like(probs).scatter(-1, order, ranked)\n" + DRAW,
     "top-p adds up probabilities from before top-k"),
    (FILTERS + "    probs = torch.softmax(logits / temperature, -1)\n" + DRAW,
     "top-k and top-p run before the temperature"),
])
def test_sample_bugs_are_named(body, diagnosis):
    assert_diagnosed("sample_token", diagnosis, **{"06_sample_token": SAMPLE + body})


def test_sampler_that_ignores_the_generator_is_told_to_pass_it():
    body = ("    logits = logits / temperature\n" + FILTERS +
            "    return torch.multinomial(torch.softmax(logits, -1), 1).squeeze(-1)\n")
    result = verdict("sample_token", **{"06_sample_token": SAMPLE + body})
    assert not result.passed and "with the same seed" in result.message, result.message


@pytest.mark.parametrize("seeding", [
    "    generator = torch.Generator().manual_seed(0)\n",
    "    generator.manual_seed(1234)\n",
])
def test_sampler_that_seeds_its_own_generator_is_named(seeding):
    """Each call starts the same stream again: a generator reused across calls repeats."""
    body = (seeding + "    logits = logits / temperature\n" + FILTERS +
            "    probs = torch.softmax(logits, -1)\n" + DRAW)
    result = verdict("sample_token", **{"06_sample_token": SAMPLE + body})
    assert not result.passed and "seeds a generator itself" in result.message, result.message


def test_sampler_without_max_subtraction_is_named():
    body = ("    logits = logits / temperature\n" + FILTERS +
            "    e = torch.exp(logits)\n    probs = e / e.sum(-1, keepdim=True)\n" + DRAW)
    result = verdict("sample_token", **{"06_sample_token": SAMPLE + body})
    assert not result.passed and "without subtracting the max" in result.message, result.message


def test_sampler_that_returns_a_column_is_told_the_shape():
    body = ("    logits = logits / temperature\n" + FILTERS +
            "    return torch.multinomial(torch.softmax(logits, -1), 1, generator=generator)\n")
    result = verdict("sample_token", **{"06_sample_token": SAMPLE + body})
    assert not result.passed and "Return one token id per row" in result.message, result.message


@pytest.mark.parametrize("clamp, message", [
    (True, "was drawn but has probability 0"),
    (False, "a token id is outside"),
])
def test_sampling_by_hand_without_renormalising_fails(clamp, message):
    """Top-k on probabilities, then an inverse-CDF draw: the kept mass is below 1.

    (It ignores top_p: the case with top_k fails first.)
    """
    pick = "(total < u).sum(-1)" + (".clamp(max=probs.size(-1) - 1)" if clamp else "")
    body = ("    probs = torch.softmax(logits / temperature, -1)\n"
            "    if top_k is not None:\n"
            "        kth = torch.topk(probs, top_k).values[:, -1:]\n"
            "        probs = probs.masked_fill(probs < kth, 0.0)\n"
            "    total = probs.cumsum(-1)\n"
            "    u = torch.rand(probs.size(0), 1, generator=generator)\n"
            f"    return {pick}\n")
    result = verdict("sample_token", **{"06_sample_token": SAMPLE + body})
    assert not result.passed and message in result.message, result.message


@pytest.mark.parametrize("body", [
    # The same steps with the learner's own temperature_probs on filtered logits.
    "    logits = logits / temperature\n" + FILTERS +
    "    probs = temperature_probs(logits, 1.0)\n" + DRAW,
    # An inverse-CDF draw by hand, renormalised: correct.
    "    logits = logits / temperature\n" + FILTERS +
    "    probs = torch.softmax(logits.double(), -1)\n"
    "    u = torch.rand(probs.size(0), 1, generator=generator, dtype=torch.float64)\n"
    "    return (probs.cumsum(-1) < u).sum(-1).clamp(max=probs.size(-1) - 1)\n",
    # The Gumbel-max trick: argmax of logits plus Gumbel noise is a draw from softmax.
    "    logits = logits / temperature\n" + FILTERS +
    "    u = torch.rand(logits.shape, generator=generator).clamp_min(1e-12)\n"
    "    return (logits - torch.log(-torch.log(u))).argmax(-1)\n",
])
def test_sample_valid_variants_pass(body):
    assert_valid("sample_token", SAMPLE + body, 4)


def test_binary_logits_give_exact_probabilities():
    """The exact-boundary cases rely on float32 softmax giving powers of two exactly."""
    for row in lesson.BINARY_LOGITS:
        probs = torch.softmax(row, -1)
        assert sorted(probs.tolist()) == [1 / 16, 1 / 16, 1 / 8, 1 / 4, 1 / 2]
        ranked = torch.sort(row, descending=True).values
        assert torch.softmax(ranked, -1).cumsum(-1).tolist() == [0.5, 0.75, 0.875, 0.9375, 1.0]


def test_top_k_ties_may_be_broken_any_way():
    """Keeping any k of the tied logits passes; keeping all of them does not."""
    logits = torch.tensor([[2.0, 1.0, 1.0, 1.0, 0.0]])
    expected = to_plain(lesson.TOP_K.reference(logits=logits, k=2))
    other = to_plain(torch.tensor([[2.0, float("-inf"), float("-inf"), 1.0, float("-inf")]]))
    both = to_plain(torch.tensor([[2.0, 1.0, 1.0, 1.0, float("-inf")]]))
    assert lesson.TOP_K.compare(expected, other) is None
    assert lesson.TOP_K.compare(expected, both) is not None


def test_false_failure_odds_are_negligible():
    """Weissman's bound, added up over the rows of the public and some hidden cases."""
    exercise = lesson.SAMPLE
    total = 0.0
    for seed in (None, *range(1, 21)):
        for case in exercise.cases(seed):
            probs = to_plain(exercise.reference(**case.inputs))["probabilities"]
            for row in probs:
                support = int((row > 0).sum())
                draws = case.inputs["draws"]
                total += (2**support - 2) * math.exp(-2 * draws * lesson.MAX_DISTANCE**2)
    assert total < 1e-9, total


def test_correct_sampler_passes_for_many_seeds():
    for seed in range(4, 14):
        result = verdict("sample_token", seed)
        assert result.passed, result.message


# --- generate_tokens ----------------------------------------------------------------------

GENERATE = ("def generate_tokens(model, idx, max_new_tokens, *, greedy=False, temperature=1.0,"
            " top_k=None, top_p=None, generator=None, stop_token=None):\n")


def _loop(window: str = "idx[:, -model.config.n_positions:]", position: str = "-1",
          stop: str = "padding") -> str:
    """A loop like the solution's; the arguments put one mistake in."""
    lines = ["    finished = torch.zeros(idx.size(0), dtype=torch.bool)",
             "    for _ in range(max_new_tokens):",
             f"        logits, _ = model({window})",
             f"        last = logits[:, {position}, :]",
             "        if greedy:",
             "            nxt = greedy_next(last)",
             "        else:",
             "            nxt = sample_token(last, generator, temperature, top_k, top_p)"]
    if stop == "padding":
        lines += ["        if stop_token is not None:",
                  "            nxt = torch.where(finished, stop_token, nxt)",
                  "            finished |= nxt == stop_token",
                  "        idx = torch.cat([idx, nxt[:, None]], dim=1)",
                  "        if stop_token is not None and finished.all():",
                  "            break"]
    elif stop == "none":
        lines += ["        idx = torch.cat([idx, nxt[:, None]], dim=1)"]
    elif stop == "before appending":
        lines += ["        if stop_token is not None and (nxt == stop_token).all():",
                  "            break",
                  "        idx = torch.cat([idx, nxt[:, None]], dim=1)"]
    elif stop == "no padding":
        lines += ["        idx = torch.cat([idx, nxt[:, None]], dim=1)",
                  "        if stop_token is not None:",
                  "            finished |= nxt == stop_token",
                  "            if finished.all():",
                  "                break"]
    return GENERATE + "\n".join(lines + ["    return idx"]) + "\n"


@pytest.mark.parametrize("cell, diagnosis", [
    (_loop(position="0"), "the next token comes from the first position"),
    (_loop(window="idx[:, -1:]"), "the model only sees the newest token"),
    (_loop(stop="none"), "the loop does not stop at stop_token"),
    (_loop(stop="before appending"), "the stop token is not in the output"),
    (_loop(stop="no padding"), "a row that has finished keeps getting new tokens"),
    (_loop(window="idx[:, :model.config.n_positions]"),
     "the context is cut to the first n_positions tokens"),
])
def test_generate_bugs_are_named(cell, diagnosis):
    assert_diagnosed("generate_tokens", diagnosis, **{"06_generate_tokens": cell})


def test_generate_without_cropping_says_to_keep_the_last_tokens():
    result = verdict("generate_tokens", **{"06_generate_tokens": _loop(window="idx")})
    assert not result.passed and "idx[:, -model.config.n_positions:]" in result.message


@pytest.mark.parametrize("cell, message", [
    (_loop().replace("sample_token(last, generator,", "sample_token(last, None,"),
     "the loop does not pass its generator on"),
    (_loop().replace("    finished = torch.zeros",
                     "    torch.manual_seed(0)\n    finished = torch.zeros")
     .replace("sample_token(last, generator,", "sample_token(last, None,"),
     "the loop seeds its own random numbers"),
    (_loop().replace("sample_token(last, generator,",
                     "sample_token(last, torch.Generator().manual_seed(0),"),
     "the loop seeds its own random numbers"),
])
def test_generate_that_loses_the_generator_is_named(cell, message):
    for seed in (None, 4):
        result = verdict("generate_tokens", seed, **{"06_generate_tokens": cell})
        assert not result.passed and message in result.message, result.message


def test_generate_that_ignores_top_k_fails():
    cell = _loop().replace("sample_token(last, generator, temperature, top_k, top_p)",
                           "sample_token(last, generator, temperature)")
    assert not verdict("generate_tokens", **{"06_generate_tokens": cell}).passed


@pytest.mark.parametrize("cell", [
    _loop(window="idx[:, -model.config.n_positions:], last_only=True"),
    GENERATE + (
        "    rows = [list(r) for r in idx.tolist()]\n"
        "    done = [False] * len(rows)\n"
        "    for _ in range(max_new_tokens):\n"
        "        context = torch.tensor([r[-model.config.n_positions:] for r in rows])\n"
        "        last = model(context)[0][:, -1]\n"
        "        nxt = greedy_next(last) if greedy else sample_token(\n"
        "            last, generator, temperature=temperature, top_k=top_k, top_p=top_p)\n"
        "        for i, token in enumerate(nxt.tolist()):\n"
        "            rows[i].append(stop_token if done[i] else token)\n"
        "            done[i] = done[i] or token == stop_token\n"
        "        if stop_token is not None and all(done):\n"
        "            break\n"
        "    return torch.tensor(rows)\n"),
])
def test_generate_valid_variants_pass(cell):
    assert_valid("generate_tokens", cell, 4, 5)


# --- the grader ---------------------------------------------------------------------------

FAST = SandboxLimits(notebook_s=120, exercise_s=40)
FULL = {e.id: float(e.points) for e in for_lesson("06")}


@pytest.mark.slow
def test_grader_scores_lesson06(tmp_path):
    lessons = load_lessons(ROOT / "lessons")
    good = grade_submission(submission(tmp_path / "a.ipynb"), lessons, seed=7, limits=FAST,
                            hide=(str(ROOT / "solutions"),))
    assert good.error is None and {e.id: e.score for e in good.exercises} == FULL, good
    no_temperature = SAMPLE + FILTERS + "    probs = torch.softmax(logits, -1)\n" + DRAW
    cheat = ("def temperature_probs(logits, temperature):\n"
             "    from gpt2course.sampling import next_token_probs\n"
             "    return next_token_probs(logits, temperature=temperature)\n")
    bad = grade_submission(
        submission(tmp_path / "b.ipynb", **{"06_sample_token": no_temperature,
                                             "06_temperature_probs": cheat}),
        lessons, seed=7, limits=FAST, hide=(str(ROOT / "solutions"),))
    scores = {e.id: e.score for e in bad.exercises}
    assert scores == {**FULL, "06.sample_token": 0.0, "06.temperature_probs": 0.0}, bad
    messages = {e.id: e.message for e in bad.exercises}
    assert "the temperature is not used" in messages["06.sample_token"]
    assert "'gpt2course' cannot be used" in messages["06.temperature_probs"]


# --- the explorer -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_model():
    torch.manual_seed(0)
    config = GPT2Config(n_layer=2, n_head=2, n_embd=32, n_positions=16)
    return GPT2(config).eval()


@pytest.fixture(scope="module")
def enc():
    return gpt2_encoding()


@pytest.mark.parametrize("temperature, top_k, top_p", [
    (1.0, None, None), (0.5, 5, None), (2.0, None, 0.3), (0.8, 3, 0.9), (1.0, 0, 1.0),
])
def test_explorer_shows_the_ten_best_with_next_token_probs(small_model, enc, temperature,
                                                           top_k, top_p):
    from gpt2course.viz.explorer import explorer_state, settings

    shown = explorer_state(small_model, enc, "Hello world", temperature, top_k, top_p)
    ids = torch.tensor([enc.encode("Hello world")])
    with torch.no_grad():
        last = small_model(ids)[0][:, -1, :]
    t, k, p = settings(temperature, top_k, top_p)
    probs = next_token_probs(last, temperature=t, top_k=k, top_p=p)[0]
    assert [c.token_id for c in shown] == torch.topk(last[0], 10).indices.tolist()
    for cand in shown:
        assert cand.prob == pytest.approx(float(probs[cand.token_id]), abs=1e-6)
        assert cand.text == enc.decode([cand.token_id])
    if k:
        assert sum(c.prob > 0 for c in shown) == k


def test_explorer_starts_from_endoftext_and_cuts_long_prompts(small_model, enc):
    from gpt2course.viz.explorer import context_ids

    assert context_ids(enc, "", 16) == [ENDOFTEXT_ID]
    long = " one two" * 20
    assert context_ids(enc, long, 16) == enc.encode(long)[-16:]
    assert context_ids(enc, "a<|endoftext|>", 16)[-1] == ENDOFTEXT_ID


def test_explorer_rejects_a_bad_temperature(small_model, enc):
    from gpt2course.errors import InputError
    from gpt2course.viz.explorer import explorer_state

    with pytest.raises(InputError, match="temperature must be > 0"):
        explorer_state(small_model, enc, "Hi", temperature=0)


def test_explorer_widget_click_appends_and_sliders_update(small_model, enc):
    from gpt2course.viz.explorer import NextTokenExplorer, next_token_explorer, visible

    explorer = NextTokenExplorer(small_model, enc, "Hello")
    first = explorer.candidates[0]
    assert explorer.buttons[0].description == visible(first.text)
    assert {c.description for c in (explorer.temperature, explorer.top_k, explorer.top_p)} == {
        "temperature", "top-k", "top-p"}
    explorer.buttons[0].click()
    assert explorer.prompt.value == "Hello" + first.text
    explorer.top_k.value = 2
    assert [label.value != "0.0%" for label in explorer.labels] == [True, True] + [False] * 8
    assert sum(bar.value for bar in explorer.bars) == pytest.approx(1.0, abs=1e-5)
    before, allowed = explorer.prompt.value, [c.token_id for c in explorer.candidates[:2]]
    token = explorer.draw()  # top-k = 2: only the two best can come out
    assert token in allowed and explorer.prompt.value == before + enc.decode([token])
    box = next_token_explorer(small_model, enc, "Hi")
    assert box.explorer.prompt.value == "Hi" and "gpt2course-explorer" in box._dom_classes
