"""What an exercise is, and how a learner's answers are judged.

An ``Exercise`` says which function (or class) the learner writes, which inputs it is
tried on (``Case``s), how its output is compared with the reference's (``compare.py``),
and which known-wrong versions of the reference (``Diagnosis``) name a likely bug when
the learner's output matches one of them; general analysers (``analyse.py``) name the
kind of difference when no known bug matches.

``judge`` turns the learner's outputs into a ``Verdict``. The notebook's ``check`` and
the grader both call it, so a learner sees exactly the verdict the grader will give on
the same cases: the same forbidden-call findings, time limit, input-change report and
upstream policy (see ``judge``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from ..i18n import tr
from .calling import InputChanged, LearnerError
from .compare import (  # noqa: F401 - re-exported: lesson modules import them from here
    Compare,
    Mismatch,
    close,
    describe,
    exact,
    frequencies_match,
    shown,
    with_hints,
)
from .error_kinds import explain_error
from .plain import spec_of, to_plain

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
    must_not_modify: inputs the exercise says not to change (``"x"``, or ``"args.x"`` for
    a nested input); changing one in place fails the case, by name.
    stand_in: a correct drop-in for the learner's function or class, for later exercises
    that call it (``check`` runs them with it; see ``judge``). None: the reference, for
    functions whose reference takes the learner's parameters (``adapter="call"``), and the
    class of the same name in ``stand_ins.py`` for a class.
    returns: what the learner's function (or module's forward) must return, as a
    ``plain.check_returns`` contract; None: what the reference returns (``contract``).
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
    must_not_modify: tuple[str, ...] = ()
    stand_in: Callable[[], Any] | None = None
    returns: Any = None
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

    def contract(self, case: Case) -> Any:
        """What the learner's function must return on ``case`` (a ``plain.check_returns``
        contract): ``returns`` when the exercise sets it, else the kind of the reference's
        output: a tensor where it gives a tensor, an int where it gives an int ... A sampler
        or generation loop returns a tensor of token ids."""
        if self.returns is not None:
            return self.returns
        if self.adapter in ("sample", "generate"):
            return "tensor"
        expected = self.expected(case)
        if self.adapter == "module_parameters":
            expected = expected["output"]
        return spec_of(expected)

    def correct_version(self) -> Any:
        """A correct function or class to stand in for the learner's (None if there is none):
        ``stand_in``; for a function, the reference; for a class, the class of that name in
        ``stand_ins.py`` (what the grader gets from the instructor's solution cell)."""
        if self.stand_in is not None:
            return self.stand_in()
        if self.adapter == "call":
            return self.reference
        from . import stand_ins

        return getattr(stand_ins, self.function, None)


def gen(seed: int) -> torch.Generator:
    """A CPU ``torch.Generator`` seeded with ``seed``: every case's random inputs come from
    one, so the same seed gives the same cases on every machine and run."""
    return torch.Generator().manual_seed(seed)


# --- verdicts -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """Why there is no output to compare: missing function, crash, timeout, bad type."""

    text: str


def timed_out(function: str, seconds: float) -> Problem:
    """The grader's and ``check``'s words for an exercise that ran past its time limit."""
    return Problem(tr("{name} took longer than {seconds} s, the time limit; look for an "
                      "endless loop or a very slow step.", name=function, seconds=f"{seconds:g}"))


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


@dataclass(frozen=True)
class Upstream:
    """The same cases run with correct versions of the learner's earlier functions in place
    of theirs (``replaced``). ``culprits``: those of the replaced functions known to be
    wrong (their own exercise fails); may be empty."""

    replaced: tuple[str, ...]
    outputs: Sequence[Any] | Problem
    culprits: tuple[str, ...] = ()


@dataclass(frozen=True)
class Forbidden:
    """A forbidden operation found in the learner's code: how it was written, and where."""

    spelled: str
    line: int


def judge(exercise: Exercise, cases: Sequence[Case], outputs: Sequence[Any] | Problem, *,
          public_only: bool = False, forbidden: Sequence[Forbidden] = (),
          upstream: Upstream | None = None) -> Verdict:
    """The one verdict of ``check`` and the grader, from the learner's outputs.

    outputs: one per case: plain data, or a ``LearnerError``, ``InputChanged`` or
    ``Problem``; or one ``Problem`` for the whole exercise (a timeout, a missing
    function). forbidden: forbidden calls found in the learner's code
    (``forbidden.scan``): any one fails the exercise. public_only: the cases are the
    public ones (``check``); the passing message says the grade also runs hidden cases.
    All cases must pass for the points.

    One bug costs one exercise: when the exercise calls the learner's earlier functions
    and fails, ``upstream`` holds the run with correct versions of those in their place.
    If that run passes, the exercise keeps its points, and the message names the
    earlier function that breaks it. The substitution can only help: a failing
    ``upstream`` run leaves the learner's own verdict as it is.
    """
    if forbidden:
        return Verdict(exercise, 0, len(cases), forbidden_message(exercise, forbidden))
    own = _judge_outputs(exercise, cases, outputs, public_only)
    if own.passed or upstream is None:
        return own
    fair = _judge_outputs(exercise, cases, upstream.outputs, public_only)
    if not fair.passed:
        return own
    blamed = upstream.culprits or upstream.replaced
    note = tr("{name} is right with a correct {upstream}, so it keeps its points; your "
              "{upstream} is what breaks it. Fix {upstream} first. With yours, {name} gives:",
              name=exercise.function, upstream=" / ".join(blamed))
    return Verdict(exercise, fair.passed_cases, fair.total_cases,
                   f"{fair.message}\n  {note}\n{_indent(own.message)}")


def _judge_outputs(exercise: Exercise, cases: Sequence[Case], outputs: Sequence[Any] | Problem,
                   public_only: bool) -> Verdict:
    if isinstance(outputs, Problem):
        text = outputs.text
        if not text.startswith(exercise.function):
            text = f"{exercise.function}: {text}"
        return Verdict(exercise, 0, len(cases), text)
    return _judge_cases(exercise, cases, outputs, public_only)


def forbidden_message(exercise: Exercise, found: Sequence[Forbidden]) -> str:
    """The grader's and ``check``'s words for forbidden calls in the learner's code."""
    first = found[0]
    return tr("{name}: your code uses {call} (line {line}), which exercise {id} does not "
              "allow: write that step yourself with basic tensor operations.",
              name=exercise.function, call=first.spelled, line=first.line, id=exercise.id)


def _judge_cases(exercise: Exercise, cases: Sequence[Case], outputs: Sequence[Any],
                 public_only: bool) -> Verdict:
    name, total = exercise.function, len(cases)
    for number, (case, got) in enumerate(zip(cases, outputs, strict=True), start=1):
        failed = _failure(exercise, case, got, number, total)
        if failed is not None:
            return Verdict(exercise, 0 if failed == _NOT_WRITTEN else number - 1, total,
                           _not_written(name) if failed == _NOT_WRITTEN else failed)
    if public_only:
        text = (tr("{name}: the 1 public case passed (the grade also runs hidden cases).",
                   name=name) if total == 1 else
                tr("{name}: the {n} public cases passed (the grade also runs hidden cases).",
                   name=name, n=total))
    else:
        text = (tr("{name}: passed the 1 case.", name=name) if total == 1 else
                tr("{name}: passed all {n} cases.", name=name, n=total))
    return Verdict(exercise, total, total, text)


_NOT_WRITTEN = "not written"  # a marker _failure returns


def _not_written(name: str) -> str:
    return tr("{name}: not written yet (it still raises NotImplementedError). Replace "
              "`raise NotImplementedError()` with your code.", name=name)


def _failure(exercise: Exercise, case: Case, got: Any, number: int, total: int) -> str | None:
    """The message for one failing case, or None when it passes."""
    where = tr('{name}: case {number} of {total} failed ("{case}").', name=exercise.function,
               number=number, total=total, case=case.name)
    if isinstance(got, LearnerError):
        if got.text.endswith("NotImplementedError"):
            return _NOT_WRITTEN
        hint = next((m for text, m in exercise.error_hints if text in got.text), None)
        hint = hint or explain_error(got.text)  # what such an error usually means
        return (f"{where}\n  " + tr("Your code raised an error:") + f"\n{_indent(got.text)}"
                + (f"\n  {_likely(hint)}" if hint else ""))
    if isinstance(got, InputChanged):
        return f"{where}\n  " + changed_message(exercise, got.names)
    if isinstance(got, Problem):
        return f"{where}\n{_indent(got.text)}"
    expected = exercise.expected(case)
    found = exercise.compare(expected, got)
    if found is None:
        return None
    lines = [where, found.summary, *found.details]
    if isinstance(expected, np.ndarray) and isinstance(got, np.ndarray):
        # (for anything else the summary already says what was expected and what came)
        lines.insert(1, tr("expected {expected}\n  got      {got}",
                           expected=describe(expected), got=describe(got)))
    bug = diagnose(exercise, case, got, expected)
    if bug:
        lines.append(_likely(bug))
    return "\n  ".join(lines)


def _likely(bug: str) -> str:
    # "Likely bug: " stays the last line's start: tests and tools find the diagnosis by it.
    return tr("Likely bug: {bug}", bug=shown(bug))


def changed_message(exercise: Exercise, names: Sequence[str]) -> str:
    """The words for a learner's function that changed inputs it must not change (the
    words say why, so they hold whether or not the lesson's text says it)."""
    return tr("{name} changed its input {inputs} in place, so the caller's tensor changed "
              "too: code that uses it afterwards (the lesson's later cells, the model) gets "
              "wrong numbers. Work on a copy (x.clone()) or use the version of the operation "
              "that returns a new tensor (masked_fill, not masked_fill_; x / t, not x /= t).",
              name=exercise.function, inputs=", ".join(names))


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())


def diagnose(exercise: Exercise, case: Case, got: Any, expected: Any = None) -> str | None:
    """What the learner's wrong output most likely comes from, or None.

    First the exercise's known bugs (a variant that raises on this case is skipped: it
    can never escape to the caller), then the general analysers of ``analyse.py`` on the
    difference between ``expected`` and ``got``. Returns an untranslated message id for a
    known bug, a translated message for an analyser's finding.
    """
    for diagnosis in exercise.diagnoses:
        try:
            with torch.no_grad():
                wrong = to_plain(diagnosis.variant(**case.inputs))
            if exercise.compare(wrong, got) is None:
                return diagnosis.message
        except Exception:  # noqa: BLE001, S112 - a buggy variant may fail where the learner's does not
            continue
    from .analyse import explain

    if expected is None:
        expected = exercise.expected(case)
    try:
        return explain(expected, got, case.inputs, exercise.compare)
    except Exception:  # noqa: BLE001 - an analyser must never cost the learner their verdict
        return None
