"""``gpt2course assign``: write each learner's lesson from its solution notebook.

``solutions/NN_name.ipynb`` is the single source of a lesson. In its solution cells
(nbgrader metadata ``solution: true``) the code between ``### BEGIN SOLUTION`` and
``### END SOLUTION`` becomes ``# YOUR CODE HERE`` + ``raise NotImplementedError()``;
outputs are cleared; cell metadata (nbgrader's included) is kept. ``--check`` writes
nothing and fails when a lesson is out of date.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat

from ..errors import CourseError
from ..exercises import for_lesson
from .notebooks import atomic_write_text, nbgrader_meta, read_notebook

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
LESSON_NAME = re.compile(r"^(\d\d)_\w+\.ipynb$")


def lesson_from_solution(solution: nbformat.NotebookNode, name: str) -> str:
    """The learner's notebook text for one solution notebook."""
    lesson = nbformat.from_dict(nbformat.v4.new_notebook())
    lesson.metadata = solution.metadata
    for number, cell in enumerate(solution.cells, start=1):
        cell = nbformat.from_dict(dict(cell))
        meta = nbgrader_meta(cell)
        has_marker = BEGIN in cell.source or END in cell.source
        if has_marker and not meta.get("solution"):
            raise CourseError(f"{name}, cell {number}: solution markers in a cell that is not "
                              "a solution cell; set nbgrader 'solution': true on it.")
        if cell.cell_type == "code":
            if meta.get("solution"):
                cell.source = strip_solution(cell.source, f"{name}, cell {number}")
            cell.outputs = []
            cell.execution_count = None
        lesson.cells.append(cell)
    return nbformat.writes(lesson) + "\n"


def strip_solution(source: str, where: str) -> str:
    """Replace each marked solution block with the placeholder, at the marker's indent."""
    out: list[str] = []
    inside = False
    for line in source.splitlines():
        marker = line.strip()
        if marker == BEGIN:
            if inside:
                raise CourseError(f"{where}: '{BEGIN}' twice without '{END}' between.")
            inside = True
            indent = line[: len(line) - len(line.lstrip())]
            out += [f"{indent}# YOUR CODE HERE", f"{indent}raise NotImplementedError()"]
        elif marker == END:
            if not inside:
                raise CourseError(f"{where}: '{END}' without '{BEGIN}' before it.")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise CourseError(f"{where}: '{BEGIN}' is never closed by '{END}'.")
    return "\n".join(out)


def validate_lesson(solution: nbformat.NotebookNode, name: str) -> None:
    """Each exercise of the lesson has a solution cell and a check cell worth its points."""
    match = LESSON_NAME.match(name)
    if not match:
        raise CourseError(f"{name}: lesson notebooks are named NN_name.ipynb, e.g. 04_mlp.ipynb.")
    ids = [nbgrader_meta(c).get("grade_id") for c in solution.cells]
    twice = sorted({i for i in ids if i and ids.count(i) > 1})
    if twice:
        raise CourseError(f"{name}: nbgrader grade_id repeated: {twice}; each must be unique.")
    points = {nbgrader_meta(c).get("grade_id"): nbgrader_meta(c).get("points")
              for c in solution.cells}
    for exercise in for_lesson(match.group(1)):
        sid, cid = exercise.grade_id, exercise.grade_id + "_check"
        if sid not in points:
            raise CourseError(f"{name}: exercise {exercise.id} has no solution cell "
                              f"(nbgrader grade_id {sid!r}).")
        if points.get(cid) != exercise.points:
            raise CourseError(f"{name}: the check cell {cid!r} must exist and be worth "
                              f"{exercise.points} points, as exercise {exercise.id} is.")


def assign(solutions: Path, lessons: Path, *, check: bool = False) -> list[str]:
    """Write (or with ``check``, compare) every lesson; return the lessons that were stale."""
    solutions, lessons = Path(solutions), Path(lessons)
    if not solutions.is_dir():
        raise CourseError(f"{solutions} is not a folder of solution notebooks.")
    sources = sorted(solutions.glob("*.ipynb"))
    if not sources:
        raise CourseError(f"{solutions} holds no .ipynb files.")
    stale: list[str] = []
    for source in sources:
        notebook = read_notebook(source)
        validate_lesson(notebook, source.name)
        text = lesson_from_solution(notebook, source.name)
        target = lessons / source.name
        current = target.read_text(encoding="utf-8") if target.exists() else None
        if current != text:
            stale.append(target.name)
            if not check:
                lessons.mkdir(parents=True, exist_ok=True)
                atomic_write_text(target, text)
    if lessons.is_dir():
        expected = {s.name for s in sources}
        stale += sorted(f"{p.name} (no solution notebook)" for p in lessons.glob("*.ipynb")
                        if p.name not in expected)
    from ..translations_build import assign_translations  # the Chinese edition: lessons/zh

    return stale + assign_translations(solutions, lessons, check=check, assign=assign)
