"""What ``gpt2course grade`` prints and writes: each file named once per row (terminal,
CSV, JSON, Gradescope), and in folder mode only notebooks graded, at any depth, with
one line saying how many other files were skipped."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import nbformat
import pytest
from grading_support import FAST, LESSONS, SEED, make_submission

from gpt2course.cli import main
from gpt2course.grading.grade import find_submissions, grade_submission, load_lessons
from gpt2course.grading.reports import to_csv, to_gradescope, to_json


def _bad_files(folder: Path) -> dict[str, Path]:
    """One file per kind of error row."""
    folder.mkdir(parents=True, exist_ok=True)
    made = {}
    made["not JSON"] = folder / "garbled.ipynb"
    made["not JSON"].write_text("{ this is not json")
    made["not a notebook"] = folder / "wrong shape.ipynb"
    made["not a notebook"].write_text('{"cells": 3}')
    made["no solution cells"] = folder / "empty lesson.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")]),
                   made["no solution cells"])
    made["a link"] = folder / "link.ipynb"
    made["a link"].symlink_to(made["not JSON"])
    made["missing"] = folder / "gone.ipynb"
    made["a fifo"] = folder / "pipe.ipynb"
    os.mkfifo(made["a fifo"])
    made["unicode name"] = folder / "作业 α.ipynb"
    made["unicode name"].write_text("[]")
    return made


def test_an_error_row_never_repeats_the_file_name(tmp_path, capsys):
    lessons = load_lessons(LESSONS)
    for kind, path in _bad_files(tmp_path / "subs").items():
        grade = grade_submission(path, lessons, seed=None, limits=FAST)
        assert grade.error, kind
        assert path.name not in grade.error and str(path) not in grade.error, (kind, grade.error)
        assert to_csv([grade]).count(path.name) == 1, kind
        for text in (to_json([grade]), to_gradescope(grade)):
            plain = json.dumps(json.loads(text), ensure_ascii=False)
            assert plain.count(path.name) == 1 and plain.count(grade.error) == 1, (kind, plain)
        results = json.loads(to_gradescope(grade))
        assert results["tests"][0]["name"] == path.name  # the student sees which file
        assert results["output"] != results["tests"][0]["output"]


def test_the_terminal_the_csv_and_the_json_name_each_file_once(tmp_path, capsys):
    subs = tmp_path / "subs"
    bad = _bad_files(subs)
    del bad["missing"]  # a folder lists only what is there
    out, js = tmp_path / "g.csv", tmp_path / "g.json"
    assert main(["grade", str(subs), "--lessons", str(LESSONS), "--out", str(out),
                 "--json", str(js), "--seed", str(SEED)]) == 1
    printed = capsys.readouterr().out.splitlines()
    for path in bad.values():
        [row] = [line for line in printed if line.startswith(f"{path}: ERROR ")]
        assert row.count(path.name) == 1, row
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert len(rows) == len(bad)
    for row in rows + json.loads(js.read_text(encoding="utf-8")):
        assert Path(row["submission"]).name not in row["error"], row


def test_check_names_the_file_once_too(tmp_path, capsys):
    path = tmp_path / "garbled.ipynb"
    path.write_text("{ nope")
    assert main(["check", str(path), "--lessons", str(LESSONS)]) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line.count("garbled.ipynb") == 1 and "not a Jupyter notebook" in line


def _class_folder(root: Path) -> dict[str, Path]:
    """An nbgrader-like exchange with what real hand-ins carry around."""
    notebooks = {
        "alice": make_submission(_mk(root) / "alice.ipynb"),
        "bob": make_submission(_mk(root / "submitted" / "bob" / "ps1") / "04_mlp.ipynb",
                               filled=False),
        "upper": make_submission(_mk(root / "carol") / "04_MLP.IPYNB"),
    }
    for name in ("README.md", "slides.pdf", "plot.png", "submitted/bob/ps1/timestamp.txt",
                 ".hidden.ipynb", "carol/.DS_Store", ".ipynb_checkpoints/alice-checkpoint.ipynb",
                 "__MACOSX/._alice.ipynb", ".git/config", "carol/notes.txt"):
        _mk((root / name).parent)
        (root / name).write_text("not a hand-in")
    return notebooks


def _mk(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_a_folder_grades_only_notebooks_at_any_depth(tmp_path):
    notebooks = _class_folder(tmp_path / "class")
    found, skipped = find_submissions(tmp_path / "class")
    assert sorted(found) == sorted(notebooks.values())
    names = {p.name for p in skipped}
    assert {"README.md", "slides.pdf", "plot.png", "timestamp.txt", ".hidden.ipynb",
            ".DS_Store", ".ipynb_checkpoints", "__MACOSX", ".git", "notes.txt"} == names


def test_the_grade_command_says_in_one_line_what_it_skipped(tmp_path, capsys):
    notebooks = _class_folder(tmp_path / "class")
    out = tmp_path / "grades.csv"
    assert main(["grade", str(tmp_path / "class"), "--lessons", str(LESSONS), "--out", str(out),
                 "--seed", str(SEED), "--jobs", "2"]) == 0  # no error rows for README etc.
    printed = capsys.readouterr().out.splitlines()
    [note] = [line for line in printed if line.startswith("skipped ")]
    assert note.startswith("skipped 10 file(s) that are not notebooks to grade")
    assert note.endswith(", …") and ".git" in note  # three names, then the rest elided
    rows = {Path(r["submission"]): r for r in csv.DictReader(out.open())}
    assert set(rows) == set(notebooks.values())
    assert rows[notebooks["alice"]]["total"] == rows[notebooks["upper"]]["total"] == "4"
    assert rows[notebooks["bob"]]["total"] == "0"


def test_a_folder_with_no_notebooks_is_bad_input(tmp_path, capsys):
    (tmp_path / "class").mkdir()
    (tmp_path / "class" / "README.md").write_text("hello")
    assert main(["grade", str(tmp_path / "class"), "--lessons", str(LESSONS)]) == 2
    err = capsys.readouterr().err
    assert "holds no notebooks (*.ipynb) to grade" in err


@pytest.mark.parametrize("name", ["README.md", "slides.pdf", "notes"])
def test_a_single_non_notebook_given_directly_still_fails_with_2(tmp_path, capsys, name):
    path = tmp_path / name
    path.write_bytes(b"%PDF-1.4")
    assert main(["grade", str(path), "--lessons", str(LESSONS)]) == 2
    [row] = capsys.readouterr().out.splitlines()
    assert row.startswith(f"{path}: ERROR ") and row.count(name) == 1


def test_a_second_run_does_not_count_its_own_reports_as_skipped(tmp_path, capsys):
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "broken.ipynb").write_text("{ nope")
    (subs / "README.md").write_text("hi")
    argv = ["grade", str(subs), "--lessons", str(LESSONS), "--out", str(subs / "grades.csv")]
    for _ in range(2):  # the second run finds grades.csv and grades.csv.parts/ beside them
        assert main([*argv, "--resume"]) == 1
        [note] = [line for line in capsys.readouterr().out.splitlines()
                  if line.startswith("skipped ")]
        assert note.startswith("skipped 1 file(s)") and note.endswith(": README.md"), note


def test_a_report_over_a_hand_in_names_the_option(tmp_path, capsys):
    (tmp_path / "a.ipynb").write_text("{}")
    assert main(["grade", str(tmp_path), "--lessons", str(LESSONS), "--json",
                 str(tmp_path / "a.ipynb")]) == 2
    assert "argument --json: " in capsys.readouterr().err


def test_skipped_names_reach_the_terminal_without_escapes(tmp_path, capsys):
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "a.ipynb").write_text("{ nope")
    (subs / "\x1b]0;pwned\x07.txt").write_text("hostile name")
    assert main(["grade", str(subs), "--lessons", str(LESSONS)]) == 1
    printed = capsys.readouterr().out
    assert "\x1b" not in printed and "\x07" not in printed
    assert "\\x1b]0;pwned\\x07.txt" in printed
