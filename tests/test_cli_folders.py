"""The course's lessons/ and solutions/ are found wherever a command runs: the current
folder, any folder above it, or the checkout of the installed package; where none
holds them, one line names the option to pass."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from gpt2course import course_folders
from gpt2course.cli import main
from gpt2course.errors import CourseError

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def course(tmp_path, monkeypatch) -> Path:
    """A checkout elsewhere: lessons/ (with zh/), solutions/, a deep subfolder; the
    installed package's own checkout hidden, so only the current folder can find it."""
    root = tmp_path / "my course"
    for name in ("lessons", "solutions"):
        shutil.copytree(ROOT / name, root / name, ignore=shutil.ignore_patterns(".*"))
    (root / "notes" / "week 1").mkdir(parents=True)
    monkeypatch.setattr(course_folders, "PACKAGE_CHECKOUT", tmp_path / "site-packages")
    return root


@pytest.mark.parametrize("where", [".", "lessons", "lessons/zh", "solutions", "notes/week 1"])
def test_found_from_the_checkout_and_every_folder_in_it(course, monkeypatch, where):
    monkeypatch.chdir(course / where)
    assert course_folders.find_course_folder("lessons", "--lessons") == course / "lessons"
    assert course_folders.find_course_folder("solutions", "SOLUTIONS") == course / "solutions"


def test_a_folder_without_lesson_notebooks_does_not_count(course, tmp_path, monkeypatch):
    inner = course / "notes" / "week 1"
    (inner / "lessons").mkdir()
    (inner / "lessons" / "README.md").write_text("not lessons")
    monkeypatch.chdir(inner)
    assert course_folders.find_course_folder("lessons", "--lessons") == course / "lessons"


def test_beside_the_installed_package(tmp_path, monkeypatch):
    monkeypatch.setattr(course_folders, "PACKAGE_CHECKOUT", ROOT)
    monkeypatch.chdir(tmp_path)
    assert course_folders.find_course_folder("lessons", "--lessons") == ROOT / "lessons"


def test_nowhere_is_one_line_naming_the_option(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(course_folders, "PACKAGE_CHECKOUT", tmp_path / "site-packages")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(CourseError, match="pass --lessons with the folder"):
        course_folders.find_course_folder("lessons", "--lessons")
    (tmp_path / "x.ipynb").write_text("{}")
    for argv in (["check", "x.ipynb"], ["grade", "x.ipynb"], ["gradescope-bundle", "b.zip"]):
        assert main(argv) == 2, argv
        [line] = capsys.readouterr().err.splitlines()
        assert "cannot find the course's lessons folder" in line and "--lessons" in line, line
    assert main(["assign", "--check"]) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert "solutions folder" in line and "SOLUTIONS" in line


def test_check_runs_from_inside_lessons(course, monkeypatch, capsys):
    """The newcomer's case: `gpt2course check 04_mlp.ipynb` typed inside lessons/zh/."""
    monkeypatch.chdir(course / "lessons" / "zh")
    shutil.copy(course / "solutions" / "04_mlp.ipynb", "mine.ipynb")
    assert main(["check", "mine.ipynb"]) == 0
    assert capsys.readouterr().out.strip().endswith("4 / 4 points on the public cases")


def test_assign_finds_solutions_and_writes_lessons_beside_them(course, monkeypatch, capsys):
    monkeypatch.chdir(course / "notes")
    assert main(["assign", "--check"]) == 0  # the copy is up to date
    (course / "lessons" / "04_mlp.ipynb").unlink()
    assert main(["assign", "--check"]) == 1
    assert main(["assign"]) == 0
    assert (course / "lessons" / "04_mlp.ipynb").is_file()
    assert not (course / "notes" / "lessons").exists()  # never written where it runs
    capsys.readouterr()


def test_a_deleted_current_folder_still_answers(tmp_path, monkeypatch):
    gone = tmp_path / "gone"
    gone.mkdir()
    monkeypatch.chdir(gone)
    gone.rmdir()
    monkeypatch.setattr(course_folders, "PACKAGE_CHECKOUT", ROOT)
    assert course_folders.find_course_folder("lessons", "--lessons") == ROOT / "lessons"
