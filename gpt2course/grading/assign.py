"""``gpt2course assign``: write each learner's lesson from its solution notebook.

``solutions/NN_name.ipynb`` is the single source of a lesson. In its solution cells
(nbgrader metadata ``solution: true``) the code between ``### BEGIN SOLUTION`` and
``### END SOLUTION`` becomes ``# YOUR CODE HERE`` + ``raise NotImplementedError()``
(in a markdown cell, ``YOUR ANSWER HERE``). A solution cell without markers becomes
the stub as a whole, as ``nbgrader generate_assignment`` does, with a warning naming
the cell: no answer ever reaches a lesson. Outputs are cleared; cell metadata
(nbgrader's included) is kept. ``--check`` writes nothing and fails when a lesson is
out of date.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import nbformat

from ..course_folders import LESSON_NAME
from ..errors import CourseError
from ..exercises import for_lesson
from ..files import atomic_write_text
from ..i18n import tr
from .notebooks import nbgrader_meta, read_notebook

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"


CODE_STUB = ("# YOUR CODE HERE", "raise NotImplementedError()")  # nbgrader's own stubs
TEXT_STUB = ("YOUR ANSWER HERE",)


def lesson_from_solution(solution: nbformat.NotebookNode, name: str,
                         warn: Callable[[str], None] | None = None) -> str:
    """The learner's notebook text for one solution notebook.

    ``warn`` receives a message for each solution cell without markers (it becomes the
    stub as a whole). Raises ``CourseError`` naming the cell for misplaced markers.
    """
    lesson = nbformat.from_dict(nbformat.v4.new_notebook())
    lesson.metadata = solution.metadata
    for number, cell in enumerate(solution.cells, start=1):
        cell = nbformat.from_dict(dict(cell))
        where = tr("{name}, cell {number}", name=name, number=number)
        meta = nbgrader_meta(cell)
        has_marker = BEGIN in cell.source or END in cell.source
        if has_marker and not meta.get("solution"):
            raise CourseError(tr("{where}: solution markers in a cell that is not a solution "
                                 "cell; set nbgrader 'solution': true on it.", where=where))
        if meta.get("solution"):
            stub = CODE_STUB if cell.cell_type == "code" else TEXT_STUB
            if has_marker:
                cell.source = strip_solution(cell.source, where, stub)
            else:
                cell.source = "\n".join(stub)
                if warn is not None:
                    warn(tr("{where} (nbgrader id {grade_id!r}): a solution cell without "
                            "'{begin}' / '{end}'; the whole cell became the stub, as nbgrader "
                            "does. Mark the part to hide to keep the rest.", where=where,
                            grade_id=meta.get("grade_id"), begin=BEGIN, end=END))
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        lesson.cells.append(cell)
    return nbformat.writes(lesson) + "\n"


def strip_solution(source: str, where: str, stub: tuple[str, ...] = CODE_STUB) -> str:
    """Replace each marked solution block with ``stub``, at the marker's indent."""
    out: list[str] = []
    inside = False
    for line in source.splitlines():
        marker = line.strip()
        if marker == BEGIN:
            if inside:
                raise CourseError(tr("{where}: '{begin}' twice without '{end}' between.",
                                     where=where, begin=BEGIN, end=END))
            inside = True
            indent = line[: len(line) - len(line.lstrip())]
            out += [indent + text for text in stub]
        elif marker == END:
            if not inside:
                raise CourseError(tr("{where}: '{end}' without '{begin}' before it.",
                                     where=where, begin=BEGIN, end=END))
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise CourseError(tr("{where}: '{begin}' is never closed by '{end}'.",
                             where=where, begin=BEGIN, end=END))
    return "\n".join(out)


def validate_lesson(solution: nbformat.NotebookNode, name: str) -> None:
    """Each exercise of the lesson has a solution cell and a check cell worth its points."""
    match = LESSON_NAME.match(name)
    if not match:
        raise CourseError(tr("{name}: lesson notebooks are named NN_name.ipynb, e.g. "
                                "04_mlp.ipynb.", name=name))
    ids = [nbgrader_meta(c).get("grade_id") for c in solution.cells]
    twice = sorted({i for i in ids if i and ids.count(i) > 1})
    if twice:
        raise CourseError(tr("{name}: nbgrader grade_id repeated: {ids}; each must be unique.",
                                name=name, ids=", ".join(twice)))
    points = {nbgrader_meta(c).get("grade_id"): nbgrader_meta(c).get("points")
              for c in solution.cells}
    for exercise in for_lesson(match.group(1)):
        sid, cid = exercise.grade_id, exercise.grade_id + "_check"
        if sid not in points:
            raise CourseError(tr("{name}: exercise {exercise} has no solution cell "
                                  "(nbgrader grade_id {grade_id!r}).", name=name,
                                  exercise=exercise.id, grade_id=sid))
        if points.get(cid) != exercise.points:
            raise CourseError(tr("{name}: the check cell {grade_id!r} must exist and be worth "
                                  "{points} points, as exercise {exercise} is.", name=name,
                                  grade_id=cid, points=exercise.points, exercise=exercise.id))


def _refuse_to_erase_solutions(sources: list[Path], lessons: Path) -> None:
    """Raise ``CourseError`` before anything is written if a lesson to write would replace
    a notebook that holds solutions (the two folders given the other way round, or twice)."""
    for source in sources:
        target = lessons / source.name
        if target.is_file() and (target.resolve() == source.resolve()
                                 or BEGIN in target.read_text(encoding="utf-8", errors="replace")):
            raise CourseError(tr("{path} holds solutions ({marker}); writing the lesson there "
                                 "would erase them. Give the folders in this order: "
                                 "gpt2course assign SOLUTIONS LESSONS.",
                                 path=str(target), marker=BEGIN))


def assign(solutions: Path, lessons: Path, *, check: bool = False,
           warn: Callable[[str], None] | None = None) -> list[str]:
    """Write (or with ``check``, compare) every lesson; return the lessons that were stale.

    ``warn`` gets each warning (default: printed to stderr). Raises ``CourseError``.
    """
    if warn is None:
        def warn(text: str) -> None:
            print(tr("warning: {text}", text=text), file=sys.stderr)

    solutions, lessons = Path(solutions), Path(lessons)
    if not solutions.is_dir():
        raise CourseError(tr("{folder} is not a folder of solution notebooks.",
                                folder=solutions))
    sources = sorted(solutions.glob("*.ipynb"))
    if not sources:
        raise CourseError(tr("{folder} holds no .ipynb files.", folder=solutions))
    if not check:
        _refuse_to_erase_solutions(sources, lessons)
    stale: list[str] = []
    for source in sources:
        notebook = read_notebook(source)
        validate_lesson(notebook, source.name)
        text = lesson_from_solution(notebook, source.name, warn)
        target = lessons / source.name
        current = target.read_text(encoding="utf-8") if target.exists() else None
        if current != text:
            stale.append(target.name)
            if not check:
                lessons.mkdir(parents=True, exist_ok=True)
                atomic_write_text(target, text)
    if lessons.is_dir():
        expected = {s.name for s in sources}
        stale += sorted(tr("{name} (no solution notebook)", name=p.name)
                        for p in lessons.glob("*.ipynb") if p.name not in expected)
    from ..translations_build import assign_translations  # the Chinese edition: lessons/zh

    return stale + assign_translations(solutions, lessons, check=check, assign=assign)
