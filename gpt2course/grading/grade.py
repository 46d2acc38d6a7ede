"""``gpt2course grade``: score submitted notebooks, one exercise at a time, safely.

Only the learner's solution cells (found by nbgrader ``grade_id``) are taken from a
submission; setup cells come from the instructor's copy of the lesson, and check cells
are not run at all, so editing or deleting them changes nothing. The learner's code runs
in the sandbox; the score is decided here, by ``judge``, on plain data.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import traceback
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..errors import CourseError
from ..exercises import Case, Exercise, Verdict, for_lesson, judge
from ..exercises.core import Forbidden, Upstream
from ..exercises.forbidden import scan, tampering
from ..files import atomic_write_text
from ..i18n import tr
from .assign import LESSON_NAME
from .ipython_syntax import python_source
from .notebooks import NotebookError, nbgrader_meta, read_notebook
from .sandbox import Cell, SandboxLimits, run_sandboxed
from .untrusted import clean_text

SETUP_TAG = "setup"  # instructor cells the grader runs before the learner's (imports)
MAX_MESSAGE = 8000  # characters of one exercise's feedback (a learner's output can be huge)


@dataclass
class ExerciseGrade:
    id: str
    points: float
    score: float
    message: str


@dataclass
class SubmissionGrade:
    """The grade of one submitted file; ``error`` is set when it could not be graded at all:
    the reason alone, without the file's name (every report shows it next to ``submission``)."""

    submission: str
    lesson: str | None = None
    exercises: list[ExerciseGrade] = field(default_factory=list)
    error: str | None = None
    sandbox: dict[str, Any] = field(default_factory=dict)

    @property
    def total(self) -> float:
        return sum(e.score for e in self.exercises)

    @property
    def max_total(self) -> float:
        return sum(e.points for e in self.exercises)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SubmissionGrade:
        grade = cls(**{k: v for k, v in data.items() if k != "exercises"})
        grade.exercises = [ExerciseGrade(**e) for e in data.get("exercises", [])]
        return grade


@dataclass(frozen=True)
class Lesson:
    """A lesson as the instructor assigned it; ``solutions``: grade_id -> the instructor's
    solution cells (from the solution notebook, when the grader has it)."""

    number: str
    name: str
    cells: list[Any]
    solutions: dict[str, list[str]] = field(default_factory=dict)


def load_lessons(lessons_dir: Path, solutions_dir: Path | None = None) -> list[Lesson]:
    """The instructor's copies of the lessons (the notebooks ``assign`` wrote), with the
    solution cells of ``solutions_dir`` (default: ``solutions`` next to ``lessons_dir``)
    when it has the same notebooks: later exercises are graded with correct versions of
    the earlier ones (see ``grade_exercises``)."""
    paths = sorted(p for p in Path(lessons_dir).glob("*.ipynb") if LESSON_NAME.match(p.name))
    if not paths:
        raise CourseError(tr("no lesson notebooks (NN_name.ipynb) in {folder}; pass "
                             "--lessons with the folder that `gpt2course assign` wrote.",
                             folder=lessons_dir))
    solutions = Path(solutions_dir or Path(lessons_dir).resolve().parent / "solutions")
    return [Lesson(p.name[:2], p.name, read_notebook(p).cells,
                   _solution_sources(read_notebook(solutions / p.name).cells)
                   if (solutions / p.name).is_file() else {})
            for p in paths]


def lesson_number(text: str, lessons: list[Lesson]) -> str:
    """``"4"``, ``"04"`` or ``"04_mlp"`` -> ``"04"``; ``CourseError`` if no such lesson."""
    number = text.strip()[:2].rstrip("_")
    number = number.zfill(2) if number.isdigit() else number
    if number not in {le.number for le in lessons}:
        raise CourseError(tr("--lesson {lesson}: no such lesson; use one of: {numbers}.",
                             lesson=text, numbers=", ".join(le.number for le in lessons)))
    return number


def grade_submission(path: Path, lessons: list[Lesson], *, seed: int | None,
                     limits: SandboxLimits, hide: tuple[str, ...] = (),
                     lesson: str | None = None) -> SubmissionGrade:
    """Grade one file. Never raises for a bad submission: the error goes in the result.

    ``seed`` draws the hidden cases; with None only the public cases are run. ``lesson``
    (``"04"``) grades the file as that lesson; by default the lesson is recognised from
    its solution cells, and cells of several lessons in one file are an error.
    Only a regular file is read: a symbolic link, a FIFO or a device is an error row.
    Every message is safe to print (no terminal escapes) and at most ``MAX_MESSAGE`` long.
    """
    grade = _grade_submission(path, lessons, seed=seed, limits=limits, hide=hide,
                              lesson=lesson)
    grade.error = None if grade.error is None else clean_text(grade.error, MAX_MESSAGE)
    for e in grade.exercises:
        e.message = clean_text(e.message, MAX_MESSAGE)
    return grade


def _grade_submission(path: Path, lessons: list[Lesson], *, seed: int | None,
                      limits: SandboxLimits, hide: tuple[str, ...],
                      lesson: str | None) -> SubmissionGrade:
    grade = SubmissionGrade(submission=str(path))
    submitted = None
    try:
        grade.error = _not_a_regular_file(path)
        submitted = None if grade.error else read_notebook(path)
    except NotebookError as err:
        grade.error = err.reason
    if submitted is None:
        return grade
    answers = _solution_sources(submitted.cells)
    chosen = choose_lesson(answers, submitted.cells, lessons, lesson)
    if isinstance(chosen, str):
        grade.error = chosen
        return grade
    grade.lesson = chosen.name
    if not for_lesson(chosen.number):  # e.g. lesson 07 (training): nothing to score
        return grade
    exercises = list(for_lesson(chosen.number))
    cells = _cells_to_run(chosen, answers)
    cases = {e.id: e.cases(None) if seed is None else e.graded_cases(seed) for e in exercises}
    outputs, grade.sandbox = run_sandboxed(cells, exercises, cases, limits, hide)
    verdicts = grade_exercises(chosen, exercises, cells, answers, cases, outputs, limits, hide)
    for e in exercises:
        verdict = verdicts[e.id]
        message = verdict.message
        if len(answers.get(e.grade_id, ())) > 1:
            message = tr("Your notebook has {count} cells with the nbgrader id {grade_id!r} "
                         "(a split or copied solution cell). They were run in notebook order, "
                         "so the last definition counts; keep your answer in one cell.",
                         count=len(answers[e.grade_id]), grade_id=e.grade_id) + "\n" + message
        if e.grade_id not in answers and not verdict.passed:
            message = tr("Your solution cell for {function} was not found (nbgrader id "
                         "{grade_id!r}), so the empty one was used. Write your code in the "
                         "cell given, not in a new cell.", function=e.function,
                         grade_id=e.grade_id) + "\n" + message
        grade.exercises.append(ExerciseGrade(e.id, e.points, verdict.score, message))
    return grade


def _not_a_regular_file(path: Path) -> str | None:
    """Why ``path`` is not graded (a link, a FIFO, a device ...), or None for a regular file."""
    try:
        info = os.lstat(path)
    except OSError as err:
        return tr("cannot be graded: {reason}.", reason=err.strerror)
    if stat.S_ISLNK(info.st_mode):
        return tr("not graded: it is a symbolic link. Only regular files inside the "
                  "submissions folder are graded; hand in the notebook itself.")
    if stat.S_ISDIR(info.st_mode):
        return tr("not graded: it is a folder. Give the notebook file (.ipynb) itself.")
    if not stat.S_ISREG(info.st_mode):
        return tr("not graded: it is not a regular file. Hand in the notebook itself.")
    return None


def choose_lesson(answers: dict[str, str], cells: list[Any], lessons: list[Lesson],
                  number: str | None) -> Lesson | str:
    """The lesson to grade a hand-in as, or the error row's message.

    ``number`` (the instructor's ``--lesson``) decides; otherwise the one lesson whose
    solution cells the file holds. A file with solution cells of several lessons is not
    guessed at: appending another lesson's solved cells must not change which is graded.
    """
    if number is not None:
        found = [le for le in lessons if le.number == number]
        if not found:
            return tr("there is no lesson {number} in the lessons folder.", number=number)
        return found[0]
    matching = [le for le in lessons if answers.keys() & _solution_ids(le)]
    if len(matching) > 1:
        return tr("holds solution cells of several lessons ({lessons}). Hand in one "
                  "lesson per notebook; the instructor can choose one with --lesson NN.",
                  lessons=", ".join(le.number for le in matching))
    if matching:
        return matching[0]
    ungraded = _ungraded_lesson(cells, lessons)
    if ungraded is not None:
        return ungraded
    return tr("no solution cells of any lesson were found. Hand in the lesson "
              "notebook itself, with your code in the cells given.")


def grade_exercises(lesson: Lesson, exercises: list[Exercise], cells: list[Cell],
                    answers: dict[str, list[str]], cases: dict[str, list[Case]],
                    outputs: dict[str, Any], limits: SandboxLimits,
                    hide: tuple[str, ...]) -> dict[str, Verdict]:
    """Each exercise's verdict, by ``judge`` (as ``check`` decides in the notebook).

    Forbidden calls are looked for in the learner's solution cell. One bug costs one
    exercise: a failing exercise that comes after others is run again, in the sandbox,
    with the instructor's versions of the earlier exercises' functions in place of the
    learner's; if it then passes, it keeps its points and the message names the earlier
    function that breaks it.
    """
    # Each learner cell runs before every exercise: one that reaches into the grader or
    # loads the reference (forbidden.tampering) counts against all of them.
    everywhere = [Forbidden(f"{f.spelled} [{c.label}]", f.line) for c in cells
                  if not c.label.startswith("setup") for f in tampering(c.source)]
    # Scanned as run: IPython syntax (a %magic line) would leave the raw cell unparsable.
    found = {e.id: scan("\n".join(map(python_source, answers.get(e.grade_id, []))), e)
             or everywhere
             for e in exercises}
    verdicts = {e.id: judge(e, cases[e.id], outputs[e.id], forbidden=found[e.id])
                for e in exercises}
    failing = {e.function for e in exercises if not verdicts[e.id].passed}
    upstream = {e.id: ([a.function for a in exercises[:n]], [a.grade_id for a in exercises[:n]])
                for n, e in enumerate(exercises)
                if n and not verdicts[e.id].passed and not found[e.id]
                and failing & {a.function for a in exercises[:n]}}
    if not upstream or not lesson.solutions:
        return verdicts
    again = [e for e in exercises if e.id in upstream]
    fair, _ = run_sandboxed(cells, again, cases, limits, hide, upstream=upstream,
                            reference_cells=_cells_to_run(lesson, lesson.solutions))
    by_function = {e.function: e.id for e in exercises}
    for e in again:  # in lesson order, so a culprit is an earlier exercise that still fails
        names = upstream[e.id][0]
        culprits = tuple(n for n in names if not verdicts[by_function[n]].passed)
        verdicts[e.id] = judge(e, cases[e.id], outputs[e.id],
                               upstream=Upstream(tuple(names), fair[e.id], culprits))
    return verdicts


def _ungraded_lesson(cells: list[Any], lessons: list[Lesson]) -> Lesson | None:
    """The lesson without exercises whose cells (by nbgrader ``grade_id``) these are, if any."""
    ids = _cell_ids(cells)
    for lesson in lessons:
        if not for_lesson(lesson.number) and ids & _cell_ids(lesson.cells):
            return lesson
    return None


def _cell_ids(cells: list[Any]) -> set[str]:
    return {gid for c in cells if isinstance(gid := nbgrader_meta(c).get("grade_id"), str)}


def _solution_ids(lesson: Lesson) -> set[str]:
    return set(_solution_sources(lesson.cells))


def _solution_sources(cells: list[Any]) -> dict[str, list[str]]:
    """grade_id -> sources of the code cells marked as that solution, in notebook order.

    A learner who split a solution cell, or left a copy of the stub above the answer, has
    several cells with one ``grade_id``; all run in order, as in Jupyter, so the last
    definition wins.
    """
    found: dict[str, list[str]] = {}
    for cell in cells:
        meta = nbgrader_meta(cell)
        gid = meta.get("grade_id")
        if cell.get("cell_type") == "code" and meta.get("solution") and isinstance(gid, str):
            source = cell.get("source", "")
            found.setdefault(gid, []).append(source if isinstance(source, str) else "")
    return found


def _cells_to_run(lesson: Lesson, answers: dict[str, list[str]]) -> list[Cell]:
    """The instructor's setup cells and the learner's solution cells, in lesson order, their
    IPython syntax (magics, shell escapes) turned into Python."""
    cells = []
    for number, cell in enumerate(lesson.cells, start=1):
        meta = nbgrader_meta(cell)
        if cell.cell_type != "code":
            continue
        if meta.get("solution"):
            gid = meta["grade_id"]
            sources = answers.get(gid, [cell.source])
            for k, source in enumerate(sources, start=1):
                label = gid if len(sources) == 1 else f"{gid} ({k}/{len(sources)})"
                cells.append(Cell(label, python_source(source)))
        elif SETUP_TAG in cell.metadata.get("tags", []):
            cells.append(Cell(f"setup {number}", python_source(cell.source)))
    return cells


# --- many submissions ---------------------------------------------------------------------


SKIPPED_FOLDERS = ("__MACOSX",)  # a zip made on a Mac holds copies of every file there


def find_submissions(target: Path) -> tuple[list[Path], list[Path]]:
    """What to grade under ``target``, and what was left out: ``(to_grade, skipped)``.

    A file given directly is graded whatever it is (a non-notebook is an error, exit 2).
    In a folder, at any depth (nbgrader's ``submitted/<student>/<assignment>/``, a
    Gradescope export's ``submission_<id>/``), only notebooks (``*.ipynb``) are graded;
    hidden files and folders (``.ipynb_checkpoints``, ``.git``), ``__MACOSX`` and every
    other file (README, PDF, images, nbgrader's ``timestamp.txt``) are skipped. Folders
    are walked without following symbolic links; a linked notebook or folder, a FIFO
    named ``*.ipynb`` ... are listed so that each gets a row saying why it was not graded.
    """
    target = Path(target)
    if os.path.lexists(target) and not target.is_dir():
        return [target], []
    if not target.is_dir():
        raise CourseError(tr("{path} does not exist; give a notebook or a folder of them.",
                             path=str(target)))
    found: list[Path] = []
    skipped: list[Path] = []
    for folder, dirs, files in os.walk(target):  # followlinks=False: a linked folder is a file
        left_out = [d for d in dirs if d.startswith(".") or d in SKIPPED_FOLDERS]
        skipped += [Path(folder, d) for d in left_out]
        links = [d for d in dirs if d not in left_out and os.path.islink(os.path.join(folder, d))]
        dirs[:] = [d for d in dirs if d not in left_out and d not in links]
        for name in files:
            wanted = name.lower().endswith(".ipynb") and not name.startswith(".")
            (found if wanted else skipped).append(Path(folder, name))
        found += [Path(folder, d) for d in links]
    return sorted(found), sorted(skipped)


def grade_many(
    paths: list[Path],
    lessons: list[Lesson],
    *,
    seed: int,
    limits: SandboxLimits,
    jobs: int = 1,
    store: Path | None = None,
    resume: bool = False,
    hide: tuple[str, ...] = (),
    on_done: Any = None,
    lesson: str | None = None,
) -> list[SubmissionGrade]:
    """Grade files ``jobs`` at a time; one row per path, in order, whatever a file does.

    Each result is saved in ``store`` as soon as it is known (atomically, one record per
    path: ``record_name``), so an interrupted batch loses nothing; ``resume`` reuses them.
    A submission that makes the grader itself fail gets an error row; the others go on.
    """
    if store is not None:
        store.mkdir(parents=True, exist_ok=True)

    def one(path: Path) -> SubmissionGrade:
        saved = store / record_name(path) if store else None
        if resume and saved and (old := _saved_grade(saved, path)) is not None:
            return old
        try:
            grade = grade_submission(path, lessons, seed=seed, limits=limits, hide=hide,
                                     lesson=lesson)
        except Exception as err:  # noqa: BLE001 - one file must never sink the batch
            last = traceback.format_exception_only(type(err), err)[-1].strip()[:300]
            grade = SubmissionGrade(str(path), error=tr(
                "the grader failed on this file ({error}); it was not graded.", error=last))
        if saved:
            try:
                atomic_write_text(saved, json.dumps(asdict(grade), indent=1))
            except OSError:
                pass  # the batch's reports are still written; only --resume loses this one
        if on_done:
            on_done(grade)
        return grade

    pool = ThreadPoolExecutor(max_workers=max(1, jobs))
    try:
        return list(pool.map(one, paths))
    finally:  # on Ctrl-C, the files not started yet are not started at all
        pool.shutdown(wait=True, cancel_futures=True)


def record_name(path: Path) -> str:
    """The file name of ``path``'s saved result: a hash of its absolute path (links not
    resolved, nothing cut), so no two submissions share one; then a readable tail."""
    key = os.path.abspath(path)
    digest = hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()[:32]
    tail = re.sub(r"[^A-Za-z0-9._-]", "_", os.path.basename(key))[-80:]
    return f"{digest}-{tail}.json"


def _saved_grade(saved: Path, path: Path) -> SubmissionGrade | None:
    """The saved result of ``path``, or None (missing, damaged or another file's)."""
    try:
        grade = SubmissionGrade.from_dict(json.loads(saved.read_text(encoding="utf-8")))
    except Exception:  # noqa: BLE001 - any damaged record is simply graded again
        return None
    return grade if grade.submission == str(path) else None
