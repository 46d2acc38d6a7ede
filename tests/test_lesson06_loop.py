"""Lesson 06, exercise 6 (the generation loop): a mutation suite.

Each buggy version is code a learner could write, run in the lesson's own namespace
(setup cell and correct solutions, one cell replaced). Its check must fail with the
diagnosis that names the bug; valid variants must pass, on public and hidden cases.
"""

from __future__ import annotations

import pytest
from lesson06_support import assert_diagnosed, assert_valid, verdict

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
