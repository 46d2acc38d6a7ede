"""Helpers for the grading tests: hand-written submissions built from the real lesson."""

from __future__ import annotations

from pathlib import Path

import nbformat

from gpt2course.grading.grade import SubmissionGrade, grade_submission, load_lessons
from gpt2course.grading.notebooks import nbgrader_meta
from gpt2course.grading.sandbox import SandboxLimits

ROOT = Path(__file__).resolve().parents[1]
LESSONS = ROOT / "lessons"
SOLUTION = ROOT / "solutions" / "04_mlp.ipynb"
SEED = 7
FAST = SandboxLimits(notebook_s=60, exercise_s=8)


def learner_cells(path: Path) -> list[tuple[str, str]]:
    """(grade_id, source) of a notebook's solution cells and ("setup", source) of its setup
    cells, in notebook order: what the grader runs of a submission."""
    found = []
    for cell in nbformat.read(path, as_version=4).cells:
        meta = nbgrader_meta(cell)
        if meta.get("solution"):
            found.append((meta["grade_id"], cell.source))
        elif "setup" in cell.metadata.get("tags", []):
            found.append(("setup", cell.source))
    return found


def solution_sources(lesson: str = "04_mlp") -> dict[str, str]:
    """grade_id -> the instructor's solution code (markers left in: they are comments)."""
    nb = nbformat.read(ROOT / "solutions" / f"{lesson}.ipynb", as_version=4)
    return {nbgrader_meta(c)["grade_id"]: c.source for c in nb.cells
            if nbgrader_meta(c).get("solution")}


def make_submission(path: Path, *, lesson: str = "04_mlp", filled: bool = True, edit=None,
                    **sources: str) -> Path:
    """A lesson notebook with solution cells filled (or not), some replaced by ``sources``.

    ``edit(notebook)`` may change anything else, e.g. the check cells.
    """
    nb = nbformat.read(LESSONS / f"{lesson}.ipynb", as_version=4)
    correct = solution_sources(lesson)
    for cell in nb.cells:
        gid = nbgrader_meta(cell).get("grade_id")
        if gid in sources:
            cell.source = sources[gid]
        elif filled and gid in correct:
            cell.source = correct[gid]
    if edit:
        edit(nb)
    nbformat.write(nb, path)
    return path


def grade(path: Path, limits: SandboxLimits = FAST) -> SubmissionGrade:
    return grade_submission(path, load_lessons(LESSONS), seed=SEED, limits=limits,
                            hide=(str(ROOT / "solutions"),))


def scores(result: SubmissionGrade) -> dict[str, float]:
    return {e.id: e.score for e in result.exercises}


def message(result: SubmissionGrade, exercise_id: str) -> str:
    return next(e.message for e in result.exercises if e.id == exercise_id)


FULL = {"04.gelu": 1.0, "04.mlp": 2.0, "04.MLP": 1.0}
