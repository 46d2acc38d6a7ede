"""A second catalog of realistic learner bugs, written apart from the lesson suites'.

Each ``Bug`` is a learner's cell as they might hand it in: ``source`` replaces the solution
notebook's cell ``cell`` (the rest of the notebook stays correct), and ``function`` is what
``check`` is then called on. ``words`` is a regular expression (case-insensitive) that a
feedback naming this bug in plain words matches: the bug counts as NAMED when the verdict
fails and its feedback matches it: the "Likely bug:" line or a hint, not the lines every
failure has (which case, the shapes, how many values are off) nor the learner's own error
text (``run.feedback``).

These bugs were written from how learners get GPT-2, minbpe and nanoGPT wrong, without
looking at the lessons' own bug lists, so that they measure what the checks catch on bugs
nobody tuned them for. ``benchmarks/bug_rates.py --set new`` runs them; ``--set holdout``,
``--set holdout2`` and ``--set holdout3`` run smaller sets written later (``holdout.py``,
``holdout2.py``, ``holdout3.py``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Bug:
    """One learner bug: the cell ``cell`` of lesson ``lesson`` replaced by ``source``."""

    lesson: str
    name: str
    cell: str
    function: str
    source: str
    words: str


def catalog(which: str = "new") -> tuple[Bug, ...]:
    """Every bug of a set, lesson by lesson: "new" (lesson01.py ... lesson06.py), "holdout"
    (holdout.py: written after the first fixes, measured, then fixed as kinds) or
    "holdout2" (holdout2.py: written at the end, measured once, never tuned on) or "holdout3"
    (holdout3.py: written before reading the diagnoses, measured once, then fixed as kinds)."""
    from . import (
        holdout,
        holdout2,
        holdout3,
        holdout4,
        lesson01,
        lesson02,
        lesson03,
        lesson04,
        lesson05,
        lesson06,
    )

    modules = {"holdout": (holdout,), "holdout2": (holdout2,), "holdout3": (holdout3,),
               "holdout4": (holdout4,)}.get(
        which, (lesson01, lesson02, lesson03, lesson04, lesson05, lesson06))
    found = [bug for module in modules for bug in module.BUGS]
    names = [b.name for b in found]
    assert len(names) == len(set(names)), "bug names must be unique"
    return tuple(found)
