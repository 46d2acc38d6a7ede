"""What an exercise is, and how a learner's answers are judged.

An ``Exercise`` says which function (or class) the learner writes, which inputs it is
tried on (``Case``s), how its output is compared with the reference's, and which
known-wrong versions of the reference (``Diagnosis``) name a likely bug when the
learner's output matches one of them.

``judge`` turns the learner's outputs into a ``Verdict``. The notebook's ``check`` and
the grader both call it, so a learner sees exactly the verdict the grader will give on
the same cases.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from .. import i18n
from .calling import LearnerError, to_plain

# Never importable in graded code: the reference itself and libraries that would do the
# work. Exercises add their own (``forbidden_modules``) and replace functions they must
# not call (``forbidden_functions``).
ALWAYS_FORBIDDEN = ("gpt2course", "tiktoken", "transformers")


@dataclass(frozen=True)
class Case:
    """One call of the learner's function: a short description and its named inputs.

    Inputs are tensors or plain JSON values (nested lists and dicts allowed).
    """

    name: str
    inputs: dict[str, Any]


@dataclass(frozen=True)
class Mismatch:
    """Why an output is not accepted, in a few plain lines."""

    summary: str
    details: tuple[str, ...] = ()


Compare = Callable[[Any, Any], "Mismatch | None"]


@dataclass(frozen=True)
class Diagnosis:
    """A known bug: ``variant`` is the reference with that bug; ``message`` names it."""

    message: str
    variant: Callable[..., Any]


@dataclass(frozen=True)
class Exercise:
    """One graded exercise.

    id: ``"NN.name"``, NN being the lesson number. function: the name the learner
    defines in the notebook (unique in the course, so ``check(fn)`` finds it).
    reference: computes the expected output from a case's inputs (imports the reference
    implementation lazily: this module also loads where the reference must not).
    cases: ``cases(seed)`` gives the public cases for ``seed=None``, hidden ones otherwise.
    """

    id: str
    function: str
    points: float
    reference: Callable[..., Any]
    cases: Callable[[int | None], list[Case]]
    compare: Compare
    diagnoses: tuple[Diagnosis, ...] = ()
    adapter: str = "call"
    forbidden_modules: tuple[str, ...] = ()
    forbidden_functions: tuple[str, ...] = ()
    # Known bugs that make the learner's code raise rather than return: (text found in
    # the error, message naming the bug).
    error_hints: tuple[tuple[str, str], ...] = ()
    time_limit_s: float = 20.0
    notes: dict[str, Any] = field(default_factory=dict)

    @property
    def lesson(self) -> str:
        return self.id.split(".", 1)[0]

    @property
    def grade_id(self) -> str:
        """The nbgrader cell id of the learner's solution cell (nbgrader allows no dots)."""
        return self.id.replace(".", "_")

    def graded_cases(self, seed: int) -> list[Case]:
        """What the grader runs: the public cases, then hidden ones drawn from ``seed``."""
        return self.cases(None) + self.cases(seed)

    def expected(self, case: Case) -> Any:
        """The reference output for a case, as plain data."""
        with torch.no_grad():
            return to_plain(self.reference(**case.inputs))


# --- comparisons --------------------------------------------------------------------------


def exact(expected: Any, got: Any) -> Mismatch | None:
    """Equal in every element, shape and dtype: for token ids, strings, counts."""
    return _walk(expected, got, _arrays_equal)


def close(atol: float = 1e-5, rtol: float = 1e-4) -> Compare:
    """Same shape and dtype, and ``|got - expected| <= atol + rtol * |expected|`` everywhere."""

    def compare(expected: Any, got: Any) -> Mismatch | None:
        return _walk(expected, got, lambda e, g: _arrays_close(e, g, atol, rtol))

    compare.__name__ = f"close(atol={atol}, rtol={rtol})"
    return compare


def with_hints(compare: Compare, hints: dict[str, str]) -> Compare:
    """``compare``, plus a hint line when the mismatch summary starts with one of ``hints``' keys.

    E.g. ``{"wrong shape": "Index the rows of wte with the ids."}``: the learner gets the
    shape mismatch and, under it, what usually causes it in this exercise.
    """

    def hinted(expected: Any, got: Any) -> Mismatch | None:
        found = compare(expected, got)
        if found is None:
            return None
        extra = tuple(i18n.tr(hint) for start, hint in hints.items()
                      if found.summary.startswith(start))
        return Mismatch(found.summary, found.details + extra)

    hinted.__name__ = getattr(compare, "__name__", "compare")
    return hinted


def frequencies_match(max_distance: float = 0.05) -> Compare:
    """For sampling: ``expected`` holds probabilities ``(..., V)``, ``got`` drawn ids ``(..., N)``.

    Passes when, for each row, the share of draws that fell on each token is within
    ``max_distance`` of its probability in total variation, and no draw hit a token of
    probability 0. Pick N so a correct sampler fails with negligible odds (see tests).
    """

    def compare(expected: Any, got: Any) -> Mismatch | None:
        if not isinstance(got, np.ndarray) or got.dtype.kind not in "iu":
            return Mismatch(f"expected an integer tensor of token ids, got {describe(got)}.")
        probs = expected.reshape(-1, expected.shape[-1])
        draws = got.reshape(probs.shape[0], -1) if got.size % probs.shape[0] == 0 else None
        if draws is None or got.shape[:-1] != expected.shape[:-1]:
            return Mismatch(f"wrong shape: got {tuple(got.shape)} for probabilities "
                            f"{tuple(expected.shape)}.")
        vocab = probs.shape[1]
        if draws.min() < 0 or draws.max() >= vocab:
            return Mismatch(f"a token id is outside 0..{vocab - 1}.")
        for row, (p, d) in enumerate(zip(probs, draws, strict=True)):
            freq = np.bincount(d, minlength=vocab) / d.size
            impossible = np.flatnonzero((p == 0) & (freq > 0))
            if impossible.size:
                return Mismatch(f"row {row}: token {impossible[0]} was drawn but has "
                                "probability 0.")
            distance = 0.5 * float(np.abs(freq - p).sum())
            if distance > max_distance:
                return Mismatch(
                    f"row {row}: the drawn tokens do not follow the expected probabilities "
                    f"(distance {distance:.3f} > {max_distance}).")
        return None

    compare.__name__ = f"frequencies_match({max_distance})"
    return compare


def _walk(expected: Any, got: Any, arrays: Callable[[np.ndarray, Any], Mismatch | None],
          where: str = "") -> Mismatch | None:
    """Compare nested plain data; arrays are handed to ``arrays``."""
    at = f" in {where}" if where else ""
    if isinstance(expected, np.ndarray):
        found = arrays(expected, got)
        if found and where:
            return Mismatch(found.summary[:-1] + at + ".", found.details)
        return found
    if isinstance(expected, list):
        if not isinstance(got, list) or len(got) != len(expected):
            return Mismatch(f"expected a sequence of {len(expected)} items{at}, "
                            f"got {describe(got)}.")
        for i, (e, g) in enumerate(zip(expected, got, strict=True)):
            found = _walk(e, g, arrays, f"{where}[{i}]")
            if found:
                return found
        return None
    if isinstance(expected, dict):
        if not isinstance(got, dict) or set(got) != set(expected):
            return Mismatch(f"expected a dict with keys {sorted(expected)}{at}, "
                            f"got {describe(got)}.")
        for key in expected:
            found = _walk(expected[key], got[key], arrays, f"{where}[{key!r}]")
            if found:
                return found
        return None
    if isinstance(expected, float) and isinstance(got, float):
        if math.isclose(expected, got, rel_tol=1e-6, abs_tol=1e-9):
            return None
    elif type(got) is type(expected) and got == expected:
        return None
    return Mismatch(f"expected {expected!r}{at}, got {describe(got)}.")


def _same_kind(expected: np.ndarray, got: Any) -> Mismatch | None:
    if not isinstance(got, np.ndarray):
        return Mismatch(f"expected a tensor of shape {tuple(expected.shape)}, got {describe(got)}.")
    if got.shape != expected.shape:
        return Mismatch(f"wrong shape: expected {tuple(expected.shape)}, got {tuple(got.shape)}.")
    if got.dtype != expected.dtype:
        return Mismatch(f"wrong dtype: expected {_dtype(expected)}, got {_dtype(got)}.")
    return None


def _arrays_equal(expected: np.ndarray, got: Any) -> Mismatch | None:
    found = _same_kind(expected, got)
    if found:
        return found
    differ = np.argwhere(expected != got)
    if differ.size == 0:
        return None
    first = tuple(int(i) for i in differ[0])
    return Mismatch(
        f"{len(differ)} of {expected.size} values differ.",
        (f"first difference at {list(first)}: expected {_num(expected[first])}, "
         f"got {_num(got[first])}",),
    )


def _arrays_close(expected: np.ndarray, got: Any, atol: float, rtol: float) -> Mismatch | None:
    found = _same_kind(expected, got)
    if found:
        return found
    unexpected = ~np.isfinite(got) & np.isfinite(expected)
    if unexpected.any():
        bad = tuple(int(i) for i in np.argwhere(unexpected)[0])
        return Mismatch(f"your output contains NaN or inf where a number is expected "
                        f"(first at {list(bad)}).")
    e, g = expected.astype(np.float64), got.astype(np.float64)
    finite = np.isfinite(e)
    # Where the reference is inf or NaN (a masked score, say), only the same value will do;
    # a tolerance would accept anything there, since rtol * inf is inf.
    same_special = (e == g) | (np.isnan(e) & np.isnan(g))
    with np.errstate(invalid="ignore"):
        error = np.where(finite, np.abs(g - e), 0.0)
        # "not <=" rather than ">", so that a NaN in got counts as wrong
        bad = np.where(finite, ~(error <= atol + rtol * np.abs(np.where(finite, e, 0.0))),
                       ~same_special)
    if not bad.any():
        return None
    first = tuple(int(i) for i in np.argwhere(bad)[0])
    worst = float(error.max()) if (bad & finite).any() else float("inf")
    return Mismatch(
        f"{int(bad.sum())} of {expected.size} values are off (max error {worst:.3g}, "
        f"allowed {atol:g} + {rtol:g} x |expected|).",
        (f"first wrong value at {list(first)}: expected {_num(expected[first])}, "
         f"got {_num(got[first])}",),
    )


def describe(value: Any) -> str:
    """A short name for what the learner returned."""
    if isinstance(value, np.ndarray):
        return f"a tensor of shape {tuple(value.shape)} and dtype {_dtype(value)}"
    if isinstance(value, list):
        return f"a sequence of {len(value)} items"
    if isinstance(value, dict):
        return f"a dict with keys {sorted(value)}"
    return f"{value!r}" if len(repr(value)) < 60 else f"a {type(value).__name__}"


def _dtype(a: np.ndarray) -> str:
    return f"{a.dtype}"


def _num(x: Any) -> str:
    return f"{float(x):.6g}" if np.asarray(x).dtype.kind in "fc" else str(x)


# --- verdicts -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    """The result of one exercise: passed or not, and a message for the learner."""

    exercise: Exercise
    passed_cases: int
    total_cases: int
    message: str

    @property
    def passed(self) -> bool:
        return self.total_cases > 0 and self.passed_cases == self.total_cases

    @property
    def score(self) -> float:
        return float(self.exercise.points) if self.passed else 0.0


def judge(exercise: Exercise, cases: Sequence[Case], outputs: Sequence[Any]) -> Verdict:
    """Compare the learner's outputs (plain data, or a ``LearnerError`` / ``Problem``).

    All cases must pass for the points. The message tells the first failing case:
    expected vs got, and the likely bug when a diagnosis matches.
    """
    name = exercise.function
    for number, (case, got) in enumerate(zip(cases, outputs, strict=True), start=1):
        where = f'{name}: case {number} of {len(cases)} failed ("{case.name}").'
        if isinstance(got, LearnerError) and got.text.endswith("NotImplementedError"):
            return Verdict(exercise, 0, len(cases),
                           f"{name}: not written yet (it still raises NotImplementedError). "
                           "Replace `raise NotImplementedError()` with your code.")
        if isinstance(got, LearnerError):
            hint = next((i18n.tr(m) for text, m in exercise.error_hints if text in got.text), None)
            return Verdict(exercise, number - 1, len(cases),
                           f"{where}\n  Your code raised an error:\n{_indent(got.text)}"
                           + (f"\n  Likely bug: {hint}" if hint else ""))
        if isinstance(got, Problem):
            return Verdict(exercise, number - 1, len(cases), f"{where}\n{_indent(got.text)}")
        expected = exercise.expected(case)
        found = exercise.compare(expected, got)
        if found is None:
            continue
        lines = [where, found.summary, *found.details]
        if isinstance(expected, np.ndarray):
            lines.insert(1, f"expected {describe(expected)}\n  got      {describe(got)}")
        bug = diagnose(exercise, case, got)
        if bug:
            lines.append(f"Likely bug: {bug}")
        return Verdict(exercise, number - 1, len(cases), "\n  ".join(lines))
    cases_passed = f"all {len(cases)} cases" if len(cases) > 1 else "the 1 case"
    return Verdict(exercise, len(cases), len(cases), f"{name}: passed {cases_passed}.")


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())


def diagnose(exercise: Exercise, case: Case, got: Any) -> str | None:
    """The message of the first known bug whose output the learner's output matches."""
    for diagnosis in exercise.diagnoses:
        with torch.no_grad():
            wrong = to_plain(diagnosis.variant(**case.inputs))
        if exercise.compare(wrong, got) is None:
            return i18n.tr(diagnosis.message)  # marked N_ where it is defined
    return None


@dataclass(frozen=True)
class Problem:
    """Why there is no output to compare: missing function, crash, timeout, bad type."""

    text: str
