"""Reports (CSV, JSON, Gradescope), batches with --jobs and --resume, and the bundle."""

from __future__ import annotations

import csv
import json
import zipfile

from grading_support import LESSONS, SEED, make_submission

from gpt2course.cli import main
from gpt2course.grading.grade import ExerciseGrade, SubmissionGrade
from gpt2course.grading.reports import to_csv, to_gradescope


def _grade() -> SubmissionGrade:
    return SubmissionGrade("a.ipynb", "04_mlp.ipynb", [
        ExerciseGrade("04.gelu", 1, 1.0, "gelu: passed all 4 cases."),
        ExerciseGrade("04.mlp", 2, 0.0, "mlp: case 1 of 4 failed."),
    ])


def test_csv_has_one_row_per_submission_and_a_column_per_exercise():
    rows = list(csv.reader(to_csv([_grade(), SubmissionGrade("bad.txt", error="not a notebook")])
                           .splitlines()))
    assert rows[0] == ["submission", "lesson", "04.gelu", "04.mlp", "total", "max", "error"]
    assert rows[1] == ["a.ipynb", "04_mlp.ipynb", "1", "0", "1", "3", ""]
    assert rows[2] == ["bad.txt", "", "", "", "0", "0", "not a notebook"]


def test_gradescope_results_follow_its_schema():
    data = json.loads(to_gradescope(_grade()))
    assert data["score"] == 1.0
    assert data["tests"][1] == {"name": "04.mlp", "score": 0.0, "max_score": 2,
                                "status": "failed", "output": "mlp: case 1 of 4 failed.",
                                "visibility": "visible"}


def test_batch_with_two_jobs_grades_everything_and_resume_skips_done_work(tmp_path, capsys):
    subs = tmp_path / "subs"
    subs.mkdir()
    make_submission(subs / "alice.ipynb")
    make_submission(subs / "bob.ipynb", filled=False)
    (subs / "carol.ipynb").write_bytes(b"%PDF-1.4 not a notebook")
    out = subs / "grades.csv"  # inside the folder: a later run must not grade its own reports
    args = ["grade", str(subs), "--lessons", str(LESSONS), "--jobs", "2", "--out", str(out),
            "--json", str(tmp_path / "grades.json"), "--seed", str(SEED)]
    assert main(args) == 1  # carol's row is an error; the reports are written all the same
    rows = {r["submission"].rsplit("/", 1)[1]: r for r in csv.DictReader(out.open())}
    assert rows["alice.ipynb"]["total"] == "4" and rows["bob.ipynb"]["total"] == "0"
    assert "not a Jupyter notebook" in rows["carol.ipynb"]["error"]
    assert len(json.loads((tmp_path / "grades.json").read_text())) == 3

    # A saved result is reused, not graded again: mark alice's record and see it come back.
    saved = next((subs / "grades.csv.parts").glob("*alice.ipynb.json"))
    record = json.loads(saved.read_text())
    record["exercises"][0]["message"] = "from the saved record"
    saved.write_text(json.dumps(record))
    assert main([*args, "--resume"]) == 1
    assert "from the saved record" in (tmp_path / "grades.json").read_text()
    assert len(json.loads((tmp_path / "grades.json").read_text())) == 3


def test_a_report_never_overwrites_a_hand_in_or_another_report(tmp_path, capsys):
    nb = tmp_path / "alice.ipynb"
    make_submission(nb)
    before = nb.read_bytes()
    base = ["grade", str(nb), "--lessons", str(LESSONS)]
    assert main([*base, "--out", str(nb)]) == 2
    assert main([*base, "--json", str(tmp_path / "other.ipynb")]) == 2
    assert main([*base, "--out", str(tmp_path / "r"), "--json", str(tmp_path / "r")]) == 2
    assert nb.read_bytes() == before and not (tmp_path / "r").exists()
    assert "another file" in capsys.readouterr().err


def test_gradescope_output_for_one_submission(tmp_path):
    sub = make_submission(tmp_path / "alice.ipynb")
    results = tmp_path / "results.json"
    assert main(["grade", str(sub), "--lessons", str(LESSONS), "--gradescope", str(results)]) == 0
    data = json.loads(results.read_text())
    assert data["score"] == 4 and [t["status"] for t in data["tests"]] == ["passed"] * 3


def test_gradescope_bundle_holds_the_scripts_package_and_lessons(tmp_path):
    out = tmp_path / "autograder.zip"
    assert main(["gradescope-bundle", str(out), "--lessons", str(LESSONS), "--seed", "99"]) == 0
    with zipfile.ZipFile(out) as z:
        names = set(z.namelist())
        run = z.read("run_autograder").decode()
        mode = z.getinfo("run_autograder").external_attr >> 16
    assert {"setup.sh", "run_autograder", "pyproject.toml", "lessons/04_mlp.ipynb",
            "gpt2course/grading/worker.py"} <= names
    assert "GPT2COURSE_GRADING_SEED=99" in run and "--seed" not in run
    assert "results.json" in run and mode & 0o111
