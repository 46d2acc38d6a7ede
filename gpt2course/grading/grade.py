"""``gpt2course grade``: score submitted notebooks, one exercise at a time, safely.

Only the learner's solution cells (found by nbgrader ``grade_id``) are taken from a
submission; setup cells come from the instructor's copy of the lesson, and check cells
are not run at all, so editing or deleting them changes nothing. The learner's code runs
in the sandbox; the score is decided here, by ``judge``, on plain data.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..errors import CourseError
from ..exercises import Verdict, for_lesson, judge
from ..exercises.core import Problem
from ..i18n import tr
from .assign import LESSON_NAME
from .notebooks import NotebookError, atomic_write_text, nbgrader_meta, read_notebook
from .sandbox import Cell, SandboxLimits, run_sandboxed

SETUP_TAG = "setup"  # instructor cells the grader runs before the learner's (imports)


@dataclass
class ExerciseGrade:
    id: str
    points: float
    score: float
    message: str


@dataclass
class SubmissionGrade:
    """The grade of one submitted file; ``error`` is set when it could not be graded at all."""

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
    number: str
    name: str
    cells: list[Any]


def load_lessons(lessons_dir: Path) -> list[Lesson]:
    """The instructor's copies of the lessons (the notebooks ``assign`` wrote)."""
    paths = sorted(p for p in Path(lessons_dir).glob("*.ipynb") if LESSON_NAME.match(p.name))
    if not paths:
        raise CourseError(tr("no lesson notebooks (NN_name.ipynb) in {folder}; pass "
                             "--lessons with the folder that `gpt2course assign` wrote.",
                             folder=lessons_dir))
    return [Lesson(p.name[:2], p.name, read_notebook(p).cells) for p in paths]


def grade_submission(path: Path, lessons: list[Lesson], *, seed: int | None,
                     limits: SandboxLimits, hide: tuple[str, ...] = ()) -> SubmissionGrade:
    """Grade one file. Never raises for a bad submission: the error goes in the result.

    ``seed`` draws the hidden cases; with None only the public cases are run.
    """
    grade = SubmissionGrade(submission=str(path))
    try:
        submitted = read_notebook(path)
    except NotebookError as err:
        grade.error = str(err)
        return grade
    answers = _solution_sources(submitted.cells)
    lesson = max(lessons, key=lambda le: len(answers.keys() & _solution_ids(le)))
    if not answers.keys() & _solution_ids(lesson):
        ungraded = _ungraded_lesson(submitted.cells, lessons)
        if ungraded is not None:  # e.g. lesson 07 (training): nothing to score, not an error
            grade.lesson = ungraded.name
            return grade
        grade.error = tr("{path}: no solution cells of any lesson were found. Hand in the "
                         "lesson notebook itself, with your code in the cells given.", path=path)
        return grade
    grade.lesson = lesson.name
    exercises = list(for_lesson(lesson.number))
    cells = _cells_to_run(lesson, answers)
    cases = {e.id: e.cases(None) if seed is None else e.graded_cases(seed) for e in exercises}
    outputs, grade.sandbox = run_sandboxed(cells, exercises, cases, limits, hide)
    for e in exercises:
        got = outputs[e.id]
        if isinstance(got, Problem):
            verdict = Verdict(e, 0, len(cases[e.id]), f"{e.function}: {got.text}")
        else:
            verdict = judge(e, cases[e.id], got)
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
    """The instructor's setup cells and the learner's solution cells, in lesson order."""
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
                cells.append(Cell(label, source))
        elif SETUP_TAG in cell.metadata.get("tags", []):
            cells.append(Cell(f"setup {number}", cell.source))
    return cells


# --- many submissions ---------------------------------------------------------------------


def find_submissions(target: Path) -> list[Path]:
    """A file, or every non-hidden file under a folder (checkpoint copies left out)."""
    target = Path(target)
    if target.is_file():
        return [target]
    if not target.is_dir():
        raise CourseError(tr("{path} does not exist; give a notebook or a folder of them.",
                             path=target))
    return sorted(
        p for p in target.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(target).parts)
    )


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
) -> list[SubmissionGrade]:
    """Grade files ``jobs`` at a time. Each result is saved in ``store`` as soon as it is
    known (atomically), so an interrupted batch loses nothing; ``resume`` reuses them."""
    if store is not None:
        store.mkdir(parents=True, exist_ok=True)

    def one(path: Path) -> SubmissionGrade:
        saved = store / (_safe_name(path) + ".json") if store else None
        if resume and saved and saved.exists():
            try:
                return SubmissionGrade.from_dict(json.loads(saved.read_text(encoding="utf-8")))
            except (ValueError, TypeError):
                pass  # a damaged record is graded again
        grade = grade_submission(path, lessons, seed=seed, limits=limits, hide=hide)
        if saved:
            atomic_write_text(saved, json.dumps(asdict(grade), indent=1))
        if on_done:
            on_done(grade)
        return grade

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        return list(pool.map(one, paths))


def _safe_name(path: Path) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in str(path.resolve()))[-150:]
