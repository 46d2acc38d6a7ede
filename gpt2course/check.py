"""``check(fn)``: the one line under each exercise in a notebook.

It runs the learner's function (or class) on the exercise's public cases, right here in
the notebook, and prints the same verdict the grader would give on those cases: all
passed, or the first failing case with expected vs got and the likely bug.
"""

from __future__ import annotations

from typing import Any

from .exercises import Exercise, Verdict, all_exercises, by_function, judge
from .exercises.calling import LearnerError, NotPlain, run_case
from .exercises.core import Problem


def check(obj: Any) -> None:
    """Check your function or class against the reference and print a short verdict."""
    verdict = run_check(obj)
    print(verdict if isinstance(verdict, str) else verdict.message)


def run_check(obj: Any, seed: int | None = None) -> Verdict | str:
    """The verdict for ``obj`` on the public cases (or hidden cases from ``seed``).

    Returns a plain message instead when ``obj`` is not one of the course's exercises.
    """
    name = getattr(obj, "__name__", None)
    exercise = by_function(name) if isinstance(name, str) else None
    if exercise is None:
        known = ", ".join(e.function for e in all_exercises())
        return (f"check() needs one of the functions or classes you wrote for an exercise "
                f"({known}); got {name or type(obj).__name__!r}. Pass it without calling it: "
                "check(gelu), not check(gelu(x)).")
    cases = exercise.cases(seed)
    return judge(exercise, cases, [outcome(exercise, obj, case.inputs) for case in cases])


def outcome(exercise: Exercise, obj: Any, inputs: dict[str, Any]) -> Any:
    """What the learner's code gives on one case: plain data, a LearnerError or a Problem."""
    try:
        return run_case(obj, inputs, exercise.adapter)
    except LearnerError as err:
        return err
    except NotPlain as err:
        return Problem(str(err))
