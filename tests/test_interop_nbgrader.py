"""The course in a real nbgrader course: ``generate_assignment`` on our solution notebook
gives the lesson ``gpt2course assign`` writes, ``validate`` passes a filled lesson and
fails a wrong one, and ``autograde`` gives each exercise the points ``gpt2course grade``
gives the same hand-in, at full marks and partial.

nbgrader scores a test cell by whether it raises; ``check()`` raises ``CheckFailed``
when nbgrader runs it (it sets ``NBGRADER_EXECUTION``). Everything lives in tmp_path: the
course folder, the gradebook (SQLite) and HOME. Offline; every nbgrader call is bounded.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from grading_support import LESSONS, ROOT, grade, make_submission, scores

from gpt2course.exercises import for_lesson
from gpt2course.grading.notebooks import nbgrader_meta

pytest.importorskip("nbgrader", reason="nbgrader is in the dev extra: pip install -e '.[dev]'")
pytestmark = pytest.mark.slow  # each nbgrader command runs the lesson in a kernel

ASSIGNMENT, NOTEBOOK = "lesson04", "04_mlp"
RELU_MLP = ("def mlp(x, c_fc_weight, c_fc_bias, c_proj_weight, c_proj_bias):\n"
            "    hidden = torch.relu(x @ c_fc_weight.T + c_fc_bias)\n"
            "    return hidden @ c_proj_weight.T + c_proj_bias\n")
NBGRADER_S = 600  # one nbgrader command; a lesson runs in well under a minute


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    """An nbgrader course folder whose source is our solution notebook, released."""
    root = tmp_path_factory.mktemp("course")
    (root / "source" / ASSIGNMENT).mkdir(parents=True)
    shutil.copy(ROOT / "solutions" / f"{NOTEBOOK}.ipynb", root / "source" / ASSIGNMENT)
    (root / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        f"c.CourseDirectory.root = {str(root)!r}\n"
        f"c.CourseDirectory.db_url = {'sqlite:///' + str(root / 'gradebook.db')!r}\n"
        "c.CourseDirectory.course_id = 'gpt2course'\n"
        f"c.Execute.timeout = {NBGRADER_S // 2}\n"
    )
    # nbgrader runs the `alembic` command to create its database; a venv's scripts need
    # not be on PATH, so provide one that runs the installed alembic with this Python.
    shim = root / "bin"
    shim.mkdir()
    (shim / "alembic").write_text(f"#!{sys.executable}\nimport sys\n"
                                  "from alembic.config import main\nsys.exit(main())\n")
    (shim / "alembic").chmod(0o755)
    (root / "home").mkdir()
    nbgrader(root, "generate_assignment", ASSIGNMENT, "--force")
    return root


def nbgrader(root: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{root / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
           "HOME": str(root / "home")}
    env.pop("NBGRADER_EXECUTION", None)
    done = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=root, env=env,
                          capture_output=True, text=True, timeout=NBGRADER_S)
    assert done.returncode == 0, f"nbgrader {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return done


def test_generate_assignment_gives_the_lesson_that_assign_writes(course):
    released = nbformat.read(course / "release" / ASSIGNMENT / f"{NOTEBOOK}.ipynb", 4)
    ours = nbformat.read(LESSONS / f"{NOTEBOOK}.ipynb", 4)
    assert [c.source for c in released.cells] == [c.source for c in ours.cells]
    assert [{k: v for k, v in nbgrader_meta(c).items() if k not in ("checksum", "cell_type")}
            for c in released.cells] == [nbgrader_meta(c) for c in ours.cells]


def test_validate_passes_a_filled_lesson_and_fails_a_wrong_one(course, tmp_path):
    filled = make_submission(tmp_path / "filled.ipynb")
    wrong = make_submission(tmp_path / "wrong.ipynb", **{"04_mlp": RELU_MLP})
    # One command validates both, in this order (nbgrader prints each notebook's result in
    # turn): the filled lesson passes, the wrong one fails at its check cell.
    done = nbgrader(course, "validate", str(filled), str(wrong))
    text = done.stdout + done.stderr
    success = "Success! Your notebook passes all the tests."
    assert text.count(success) == 1 and text.count("VALIDATION FAILED") == 1, text
    good, bad = text.split(success)
    assert "VALIDATION FAILED ON 1 CELL(S)" in bad and "check(mlp)" in bad, text
    assert "CheckFailed" in bad


def test_autograde_points_agree_with_gpt2course_grade(course, tmp_path):
    handins = {
        "alice": make_submission(tmp_path / "alice.ipynb"),  # full marks
        "bob": make_submission(tmp_path / "bob.ipynb", **{"04_mlp": RELU_MLP}),  # partial
    }
    for student, path in handins.items():
        folder = course / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        shutil.copy(path, folder / f"{NOTEBOOK}.ipynb")
    nbgrader(course, "autograde", ASSIGNMENT, "--create")

    from nbgrader.api import Gradebook

    check_cell = {e.grade_id + "_check": e.id for e in for_lesson("04")}
    ours = {student: scores(grade(path)) for student, path in handins.items()}
    with Gradebook("sqlite:///" + str(course / "gradebook.db")) as gradebook:
        for student in handins:
            graded = gradebook.find_submission_notebook(NOTEBOOK, ASSIGNMENT, student)
            theirs = {check_cell[g.name]: g.score for g in graded.grades}
            assert theirs == ours[student], student
    assert ours["alice"] == {"04.gelu": 1.0, "04.mlp": 2.0, "04.MLP": 1.0}
    assert ours["bob"] == {"04.gelu": 1.0, "04.mlp": 0.0, "04.MLP": 1.0}  # partial
