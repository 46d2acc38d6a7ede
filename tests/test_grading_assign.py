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


@pytest.mark.parametrize("order", ["same folder twice", "folders swapped"])
def test_assign_never_overwrites_solutions(tmp_path, capsys, order):
    solutions, lessons = tmp_path / "solutions", tmp_path / "lessons"
    solutions.mkdir()
    lessons.mkdir()
    shutil.copy(SOLUTION, solutions)
    shutil.copy(LESSONS / "04_mlp.ipynb", lessons)
    before = (solutions / "04_mlp.ipynb").read_bytes()
    source = solutions if order == "same folder twice" else lessons
    assert main(["assign", str(source), str(solutions)]) == 2
    assert "holds solutions" in capsys.readouterr().err
    assert (solutions / "04_mlp.ipynb").read_bytes() == before


def test_a_lesson_without_its_check_cell_is_refused(tmp_path):
    nb = nbformat.read(SOLUTION, as_version=4)
    nb.cells = [c for c in nb.cells if nbgrader_meta(c).get("grade_id") != "04_mlp_check"]
    (tmp_path / "s").mkdir()
    nbformat.write(nb, tmp_path / "s" / "04_mlp.ipynb")
    with pytest.raises(CourseError, match="check cell '04_mlp_check'"):
        assign(tmp_path / "s", tmp_path / "l")
    assert not (tmp_path / "l").exists()


def _solutions_copy(tmp_path, *names: str):
    folder = tmp_path / "solutions"
    folder.mkdir()
    for name in names:
        shutil.copy(ROOT / "solutions" / name, folder)
    return folder


def _cell(nb, grade_id):
    return next(c for c in nb.cells if nbgrader_meta(c).get("grade_id") == grade_id)


def _answers(name: str) -> list[str]:
    """Lines of every solution block of a real solution notebook (what must never leak)."""
    nb = nbformat.read(ROOT / "solutions" / name, as_version=4)
    lines = []
    for cell in nb.cells:
        if nbgrader_meta(cell).get("solution"):
            inside = False
            for line in cell.source.splitlines():
                if line.strip() in ("### BEGIN SOLUTION", "### END SOLUTION"):
                    inside = line.strip() == "### BEGIN SOLUTION"
                elif inside and line.strip():
                    lines.append(line.strip())
    return lines


@pytest.mark.parametrize("name, grade_id", [("04_mlp.ipynb", "04_mlp"),
                                            ("02_embeddings.ipynb", "02_token_embedding")])
def test_a_solution_cell_without_markers_becomes_the_whole_stub(tmp_path, capsys, name, grade_id):
    solutions = _solutions_copy(tmp_path, name)
    nb = nbformat.read(solutions / name, as_version=4)
    cell = _cell(nb, grade_id)
    answer = cell.source.replace("### BEGIN SOLUTION\n", "").replace("### END SOLUTION", "")
    cell.source = "\n".join(line for line in answer.splitlines() if "SOLUTION" not in line)
    nbformat.write(nb, solutions / name)

    assert main(["assign", str(solutions), str(tmp_path / "lessons")]) == 0
    err = capsys.readouterr().err
    assert "warning:" in err and f"nbgrader id '{grade_id}'" in err and "cell " in err
    lesson = nbformat.read(tmp_path / "lessons" / name, as_version=4)
    assert _cell(lesson, grade_id).source == "# YOUR CODE HERE\nraise NotImplementedError()"
    text = (tmp_path / "lessons" / name).read_text()
    leaked = [line for line in _answers(name) if len(line) > 12 and json_escaped(line) in text]
    assert not leaked, leaked


def json_escaped(line: str) -> str:
    import json

    return json.dumps(line)[1:-1]


def test_markdown_solution_cells_hide_the_answer(tmp_path, capsys):
    solutions = _solutions_copy(tmp_path, "04_mlp.ipynb")
    nb = nbformat.read(solutions / "04_mlp.ipynb", as_version=4)
    marked = nbformat.v4.new_markdown_cell(
        "Why tanh?\n### BEGIN SOLUTION\nZanzibar marmalade approximation.\n"
        "### END SOLUTION\nSay it in one line.")
    whole = nbformat.v4.new_markdown_cell("Because the secret answer is 42.")
    for cell, gid in ((marked, "04_why_tanh"), (whole, "04_why_wide")):
        cell.metadata["nbgrader"] = {"grade": True, "grade_id": gid, "locked": False,
                                     "points": 0, "schema_version": 3, "solution": True,
                                     "task": False}
    nb.cells[10:10] = [marked, whole]
    nbformat.write(nb, solutions / "04_mlp.ipynb")

    assign(solutions, tmp_path / "lessons")
    lesson = nbformat.read(tmp_path / "lessons" / "04_mlp.ipynb", as_version=4)
    assert _cell(lesson, "04_why_tanh").source == (
        "Why tanh?\nYOUR ANSWER HERE\nSay it in one line.")
    assert _cell(lesson, "04_why_wide").source == "YOUR ANSWER HERE"
    text = (tmp_path / "lessons" / "04_mlp.ipynb").read_text()
    assert "Zanzibar" not in text and "secret answer" not in text
    assert "SOLUTION" not in text
    assert "04_why_wide" in capsys.readouterr().err


def test_markers_in_a_markdown_cell_that_is_not_a_solution_are_an_error(tmp_path):
    solutions = _solutions_copy(tmp_path, "04_mlp.ipynb")
    nb = nbformat.read(solutions / "04_mlp.ipynb", as_version=4)
    nb.cells[0].source += "\n### BEGIN SOLUTION\nhidden\n### END SOLUTION"
    nbformat.write(nb, solutions / "04_mlp.ipynb")
    with pytest.raises(CourseError, match="04_mlp.ipynb, cell 1: solution markers"):
        assign(solutions, tmp_path / "lessons")
