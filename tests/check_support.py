"""Helpers for the lesson suites: run a learner's code through ``check`` and read the verdict.

Two ways in: a function written in the test (``learner``, ``passes``, ``fails_with``), or
a solution notebook's cells with some replaced (``SolutionCells``), as a learner edits them.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

from grading_support import learner_cells

import gpt2course.check as check_module
from gpt2course.check import run_check
from gpt2course.exercises import Verdict, by_function
from gpt2course.grading.ipython_syntax import python_source


def learner(name: str):
    """Name a function as the learner's would be named, so ``check`` finds its exercise."""

    def rename(fn):
        fn.__name__ = name
        return fn

    return rename


def passes(fn, seeds=(None, 3, 8)) -> bool:
    """``fn`` passes the public cases (seed None) and the hidden cases of each seed."""
    for seed in seeds:
        verdict = run_check(fn, seed=seed)
        assert verdict.passed, verdict.message
    return True


def named_bug(verdict: Verdict) -> str:
    """The diagnosis in a failing verdict ("" when none was named)."""
    _, found, bug = verdict.message.rpartition("Likely bug: ")
    return bug if found else ""


def _record(verdict: Verdict, bug: str, starts: bool = False) -> None:
    """With GPT2COURSE_BUG_RATES=FILE set, add one line to FILE per bug tried: was it caught
    (the check failed), and was it named (the diagnosis names it)? For benchmarks/bug_rates.py."""
    path = os.environ.get("GPT2COURSE_BUG_RATES")
    if not path:
        return
    found = named_bug(verdict)
    named = found.startswith(bug) if starts else bug in found
    test = os.environ.get("PYTEST_CURRENT_TEST", "?").split(" ")[0]
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps({"test": test, "caught": not verdict.passed,
                            "named": not verdict.passed and named}) + "\n")


def fails_with(fn, bug: str) -> str:
    """``fn`` fails the public cases and the diagnosis names ``bug``; returns the message."""
    verdict = run_check(fn)
    _record(verdict, bug)
    assert not verdict.passed, f"{fn.__name__} passed but has a bug"
    assert bug in named_bug(verdict), verdict.message
    return verdict.message


class SolutionCells:
    """A solution notebook's code as the grader runs it, with cells replaceable by grade_id."""

    def __init__(self, notebook: Path) -> None:
        self.cells = learner_cells(notebook)

    def namespace(self, **replace: str) -> dict:
        """The names a learner who wrote these cells (some replaced) would have defined;
        a cell under ``%%time`` is read as the grader reads it."""
        namespace: dict = {"__name__": "__main__"}
        for gid, source in self.cells:
            exec(compile(python_source(replace.get(gid, source)), gid, "exec"), namespace)
        return namespace

    def verdict(self, name: str, seed: int | None = None, **replace: str) -> Verdict:
        return run_check(self.namespace(**replace)[name], seed)

    def assert_diagnosed(self, name: str, message_start: str, **replace: str) -> None:
        result = self.verdict(name, **replace)
        _record(result, message_start, starts=True)
        assert not result.passed
        assert named_bug(result).startswith(message_start), result.message

    def assert_blames(self, name: str, upstream: str, **replace: str) -> None:
        """``name`` keeps its points with a bug only in the earlier ``upstream``, and its
        message says that ``upstream`` is what breaks it (one bug costs one exercise)."""
        result = self.verdict(name, **replace)
        assert result.passed, result.message
        assert f"your {upstream} is what breaks it" in result.message, result.message


def limit_check_time(monkeypatch, seconds: float, function: str | None = None) -> None:
    """Make ``check`` stop each exercise (only ``function``'s, when given) after at most
    ``seconds``: an endless loop then costs that, not the exercise's own time limit."""

    def quick(name):
        exercise = by_function(name)
        if exercise is None or function not in (None, name) or exercise.time_limit_s <= seconds:
            return exercise
        return dataclasses.replace(exercise, time_limit_s=seconds)

    monkeypatch.setattr(check_module, "by_function", quick)
