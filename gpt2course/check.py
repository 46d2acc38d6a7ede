"""``check(fn)``: the one line under each exercise in a notebook.

It runs the learner's function (or class) on the exercise's public cases, right here in
the notebook, and prints the verdict the grader gives on those cases, decided by the
same ``judge`` under the same rules:

- forbidden operations are looked for in the learner's cell under every spelling
  (``exercises.forbidden``) and refused while their code runs;
- the whole exercise has the grader's time limit (``Exercise.time_limit_s``);
- every case gets its own copy of the inputs, and changing an input the exercise says
  not to change is reported by name;
- earlier exercises' functions that this one calls are replaced by correct ones, so one
  bug costs one exercise; when only the learner's own earlier function breaks this one,
  the message says so (the grader does the same with the instructor's solutions).
"""

from __future__ import annotations

import ast
import ctypes
import inspect
import os
import signal
import sys
import threading
import time
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from .exercises import Exercise, Verdict, all_exercises, by_function, for_lesson, judge
from .exercises.calling import InputChanged, LearnerError, run_case
from .exercises.core import Case, Problem, Upstream, timed_out
from .exercises.forbidden import refused, scan
from .exercises.plain import NotPlain
from .exercises.returns import returned_text
from .grading.ipython_syntax import python_source
from .i18n import tr


def check(obj: Any) -> None:
    """Check your function or class against the reference and print a short verdict.

    Under nbgrader (``nbgrader autograde`` / ``validate`` set ``NBGRADER_EXECUTION``) a
    verdict that is not a pass also raises ``CheckFailed``: nbgrader scores a test cell by
    whether it raises.
    """
    __tracebackhide__ = True  # IPython shows the learner's cell, not this function
    verdict = run_check(obj)
    print(verdict if isinstance(verdict, str) else verdict.message)
    if os.environ.get("NBGRADER_EXECUTION") and not getattr(verdict, "passed", False):
        raise CheckFailed(tr("check({name}) did not pass (see above): no points for this cell.",
                             name=getattr(obj, "__name__", type(obj).__name__)))


class CheckFailed(AssertionError):
    """A ``check`` that did not pass, raised only where nbgrader grades the notebook."""


def run_check(obj: Any, seed: int | None = None, *, source: str | None = None) -> Verdict | str:
    """The verdict for ``obj`` on the public cases (or hidden cases from ``seed``).

    source: the learner's code to scan for forbidden calls; by default the notebook cell
    that defines ``obj``, else ``inspect.getsource(obj)``. Returns a plain message
    instead when ``obj`` is not one of the course's exercises.
    """
    name = getattr(obj, "__name__", None)
    exercise = by_function(name) if isinstance(name, str) else None
    exercise = exercise or _bound_to(obj)
    if exercise is None:
        return tr("check() needs one of the functions or classes you wrote for an exercise "
                  "({known}); got {got}. Pass it without calling it: check(gelu), not "
                  "check(gelu(x)).", known=", ".join(e.function for e in all_exercises()),
                  got=repr(name or type(obj).__name__))
    cases = exercise.cases(seed)
    code = source if source is not None else learner_source(obj, exercise.function)
    found = scan(code, exercise) if code else []
    outputs = run_limited(exercise, obj, cases)
    upstream = None
    public = seed is None
    if not judge(exercise, cases, outputs, public_only=public).passed:
        namespace = _namespace(obj)
        replaced = _upstream(exercise, namespace)
        if replaced:
            with _replaced(namespace, replaced):
                fair = run_limited(exercise, obj, cases)
            upstream = Upstream(tuple(replaced), fair, _wrong(replaced, namespace))
    return judge(exercise, cases, outputs, public_only=public, forbidden=found,
                 upstream=upstream)


def run_limited(exercise: Exercise, obj: Any, cases: list[Case]) -> list[Any] | Problem:
    """The learner's outputs on ``cases``, each on its own copy of the inputs, forbidden
    functions refused; a ``Problem`` naming the function when all of it takes longer
    than the exercise's time limit (the grader's)."""

    contracts = [exercise.contract(case) for case in cases]  # the reference, not timed

    def run_all() -> list[Any]:
        with refused(exercise):
            return [outcome(exercise, obj, case.inputs, returns)
                    for case, returns in zip(cases, contracts, strict=True)]

    try:
        return within(exercise.time_limit_s, run_all)
    except TimeUp:
        return timed_out(exercise.function, exercise.time_limit_s)


def outcome(exercise: Exercise, obj: Any, inputs: dict[str, Any], returns: Any = None) -> Any:
    """What the learner's code gives on one case: plain data, a LearnerError, an
    InputChanged or a Problem (a breach of the contract ``returns``, in the grader's words)."""
    try:
        return run_case(obj, inputs, exercise.adapter, exercise.must_not_modify, returns)
    except (LearnerError, InputChanged) as err:
        return err
    except NotPlain as err:
        return Problem(returned_text(err.record))


# --- the time limit ------------------------------------------------------------------------


class TimeUp(BaseException):
    """Raised into the learner's code when its time is up (not an Exception, so that their
    ``except Exception`` does not swallow it)."""


def within(seconds: float, call: Callable[[], Any]) -> Any:
    """``call()``, or ``TimeUp`` after ``seconds``; the learner's code is stopped either way.

    In the main thread (a Jupyter kernel runs cells there) a SIGALRM timer interrupts the
    learner's code. Elsewhere, or where there is no SIGALRM (Windows), the call runs in a
    daemon thread; when its time is up, ``TimeUp`` is raised inside that thread
    (``PyThreadState_SetAsyncExc``), again until it ends, so an endless loop does not go on
    burning a core in the kernel. (Only a call stuck inside one long C function, which
    checks for Python exceptions only when it returns, can outlive ``STOP_GRACE_S``.)
    """
    if threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer"):
        def on_alarm(signum: int, frame: Any) -> None:
            raise TimeUp

        previous = signal.signal(signal.SIGALRM, on_alarm)
        signal.setitimer(signal.ITIMER_REAL, seconds)
        try:
            return call()
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = call()
        except BaseException as err:  # noqa: BLE001 - handed back to the caller's thread
            box["error"] = err

    worker = threading.Thread(target=run, daemon=True, name="gpt2course-check")
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        stop_thread(worker)
        raise TimeUp
    if "error" in box:
        raise box["error"]
    return box["value"]


STOP_GRACE_S = 2.0  # how long stop_thread keeps raising TimeUp in a thread that goes on


def stop_thread(thread: threading.Thread, grace_s: float = STOP_GRACE_S) -> bool:
    """Raise ``TimeUp`` inside ``thread`` until it ends (its ``except BaseException`` may
    swallow one); True when it ended within ``grace_s``."""
    deadline = time.monotonic() + grace_s
    while thread.is_alive() and time.monotonic() < deadline:
        if thread.ident is not None:
            ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread.ident),
                                                       ctypes.py_object(TimeUp))
        thread.join(0.05)
    return not thread.is_alive()


# --- earlier exercises' functions ------------------------------------------------------------


def _namespace(obj: Any) -> dict[str, Any] | None:
    """The globals the learner's function (or class's methods) look names up in."""
    if inspect.isfunction(obj):
        return obj.__globals__
    for member in vars(obj).values() if inspect.isclass(obj) else ():
        if inspect.isfunction(member):
            return member.__globals__
    return None


def _upstream(exercise: Exercise, namespace: dict[str, Any] | None) -> dict[str, Any]:
    """Earlier exercises of the lesson that the learner defined: name -> correct version."""
    if namespace is None:
        return {}
    found = {}
    for earlier in for_lesson(exercise.lesson):
        if earlier.id == exercise.id:
            break
        theirs = namespace.get(earlier.function)
        correct = earlier.correct_version() if theirs is not None else None
        if correct is not None:
            found[earlier.function] = (_drop_in(correct, theirs) if earlier.stand_in is None
                                       else correct)
    return found


def _drop_in(reference: Callable[..., Any], theirs: Any) -> Any:
    """The reference, called the way the learner's own function is: its positional
    arguments are named by the learner's signature (the case inputs' names)."""
    try:
        signature, wanted = inspect.signature(theirs), inspect.signature(reference).parameters
    except (TypeError, ValueError):
        return reference
    takes_any = any(p.kind is p.VAR_KEYWORD for p in wanted.values())

    def correct(*args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        return reference(**{k: v for k, v in bound.arguments.items() if takes_any or k in wanted})

    correct.__name__ = getattr(theirs, "__name__", "correct")
    return correct


@contextmanager
def _replaced(namespace: dict[str, Any] | None, replaced: dict[str, Any]) -> Iterator[None]:
    saved = {name: namespace[name] for name in replaced} if namespace is not None else {}
    try:
        if namespace is not None:
            namespace.update(replaced)
        yield
    finally:
        if namespace is not None:
            namespace.update(saved)


def _wrong(replaced: dict[str, Any], namespace: dict[str, Any] | None) -> tuple[str, ...]:
    """Which of the learner's replaced functions fail their own public cases."""
    if namespace is None:
        return ()
    wrong = []
    for name in replaced:
        verdict = run_check(namespace[name], source="")
        if isinstance(verdict, Verdict) and not verdict.passed:
            wrong.append(name)
    return tuple(wrong)


# --- the learner's code ------------------------------------------------------------------------


def _bound_to(obj: Any) -> Exercise | None:
    """The exercise whose name the learner bound ``obj`` to, when ``obj`` has a name of its
    own (``gelu = lambda x: ...``, ``gelu = _my_gelu``): the grader finds it by that name."""
    spaces = [obj.__globals__] if inspect.isfunction(obj) else []
    spaces += [shell.user_ns] if (shell := _shell()) is not None else []
    for exercise in all_exercises():
        if any(space.get(exercise.function) is obj for space in spaces):
            return exercise
    return None


def learner_source(obj: Any, name: str | None = None) -> str | None:
    """The code to scan for forbidden calls: the last notebook cell that defines or assigns
    the exercise's ``name`` (what the grader scans: the solution cell), else the one that
    defines ``obj``'s own name, else ``obj``'s own source."""
    names = [n for n in (name, getattr(obj, "__name__", "")) if n]
    for wanted in names:
        for cell in reversed(_notebook_cells()):
            if _defines(cell, wanted):
                return cell
    try:
        return inspect.getsource(obj)
    except (OSError, TypeError):
        return None


def _shell() -> Any:
    """The IPython shell this runs in, or None."""
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    return get_ipython()


def _notebook_cells() -> list[str]:
    shell = _shell()
    cells = shell.user_ns.get("In", []) if shell is not None else []
    return [c for c in cells if isinstance(c, str)]


def _defines(source: str, name: str) -> bool:
    try:
        tree = ast.parse(python_source(source))
    except (SyntaxError, ValueError):
        return False
    return any((isinstance(node, ast.FunctionDef | ast.ClassDef | ast.AsyncFunctionDef)
                and node.name == name)
               or (isinstance(node, ast.Assign)
                   and any(isinstance(t, ast.Name) and t.id == name for t in node.targets))
               for node in tree.body)


# --- `from gpt2course import check` -----------------------------------------------------------


class _CallableModule(types.ModuleType):
    """This module, callable as ``check(fn)``: ``from gpt2course import check`` gives the
    module (Python finds the submodule before any function of that name), and a learner
    who writes it means the function, as the lessons' ``from gpt2course.check import check``
    gives it."""

    def __call__(self, obj: Any) -> None:
        __tracebackhide__ = True
        check(obj)


sys.modules[__name__].__class__ = _CallableModule
