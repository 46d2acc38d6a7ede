"""Lesson 06 test support: the solution notebook's namespace, in which each test replaces
one cell, and the pieces of a sampler cell the tests put together."""

from __future__ import annotations

from pathlib import Path

from check_support import SolutionCells

ROOT = Path(__file__).resolve().parents[1]


SOLUTION = ROOT / "solutions" / "06_sampling.ipynb"


NOTEBOOK = SolutionCells(SOLUTION)
verdict, assert_diagnosed = NOTEBOOK.verdict, NOTEBOOK.assert_diagnosed


def assert_valid(name: str, cell: str, *seeds: int) -> None:
    gid = f"06_{name}"
    for seed in (None, *seeds):
        result = verdict(name, seed, **{gid: cell})
        assert result.passed, result.message


SAMPLE = "def sample_token(logits, generator, temperature=1.0, top_k=None, top_p=None):\n"
FILTERS = ("    if top_k is not None:\n        logits = top_k_logits(logits, top_k)\n"
           "    if top_p is not None:\n        logits = top_p_logits(logits, top_p)\n")
DRAW = "    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)\n"
