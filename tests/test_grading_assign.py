"""``gpt2course assign``: lessons written from solutions, and a stale lesson is caught."""

from __future__ import annotations

import shutil

import nbformat
import pytest
from grading_support import LESSONS, ROOT, SOLUTION

from gpt2course.cli import main
from gpt2course.errors import CourseError
from gpt2course.grading.assign import assign, strip_solution
from gpt2course.grading.notebooks import nbgrader_meta


def test_lessons_in_the_repository_are_up_to_date(capsys):
    assert main(["assign", str(ROOT / "solutions"), str(LESSONS), "--check"]) == 0
    assert "up to date" in capsys.readouterr().out


def test_solution_blocks_become_placeholders_at_their_indent():
    source = "def f(x):\n    ### BEGIN SOLUTION\n    return x\n    ### END SOLUTION\ny = 1"
    assert strip_solution(source, "here") == (
        "def f(x):\n    # YOUR CODE HERE\n    raise NotImplementedError()\ny = 1")


@pytest.mark.parametrize("source", [
    "### BEGIN SOLUTION\nx = 1",
    "### END SOLUTION",
    "### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION",
])
def test_unbalanced_markers_are_an_error(source):
    with pytest.raises(CourseError, match="SOLUTION"):
        strip_solution(source, "04_mlp.ipynb, cell 3")


def test_lesson_keeps_metadata_and_loses_outputs_and_answers():
    lesson = nbformat.read(LESSONS / "04_mlp.ipynb", as_version=4)
    solution = nbformat.read(SOLUTION, as_version=4)
    assert [nbgrader_meta(c) for c in lesson.cells] == [nbgrader_meta(c) for c in solution.cells]
    code = [c for c in lesson.cells if c.cell_type == "code"]
    assert all(c.outputs == [] and c.execution_count is None for c in code)
    assert not any("BEGIN SOLUTION" in c.source or "0.044715 * x" in c.source for c in code)
    assert any(c.outputs for c in solution.cells if c.cell_type == "code")


def test_check_fails_on_a_stale_lesson_and_assign_fixes_it(tmp_path, capsys):
    solutions, lessons = tmp_path / "solutions", tmp_path / "lessons"
    solutions.mkdir()
    shutil.copy(SOLUTION, solutions)
    lessons.mkdir()
    shutil.copy(LESSONS / "04_mlp.ipynb", lessons)
    nb = nbformat.read(solutions / "04_mlp.ipynb", as_version=4)
    nb.cells[0].source += "\n\nA new sentence."
    nbformat.write(nb, solutions / "04_mlp.ipynb")
    assert main(["assign", str(solutions), str(lessons), "--check"]) == 1
    assert "out of date: 04_mlp.ipynb" in capsys.readouterr().err
    assert assign(solutions, lessons) == ["04_mlp.ipynb"]
    assert assign(solutions, lessons, check=True) == []


def test_a_lesson_without_its_check_cell_is_refused(tmp_path):
    nb = nbformat.read(SOLUTION, as_version=4)
    nb.cells = [c for c in nb.cells if nbgrader_meta(c).get("grade_id") != "04_mlp_check"]
    (tmp_path / "s").mkdir()
    nbformat.write(nb, tmp_path / "s" / "04_mlp.ipynb")
    with pytest.raises(CourseError, match="check cell '04_mlp_check'"):
        assign(tmp_path / "s", tmp_path / "l")
    assert not (tmp_path / "l").exists()
