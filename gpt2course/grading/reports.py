"""Grades out: a CSV with one row per submission, JSON, and Gradescope's ``results.json``."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict
from pathlib import Path

from ..errors import CourseError
from ..files import atomic_write_text
from ..i18n import tr
from .grade import SubmissionGrade
from .untrusted import clean_text


def exercise_columns(grades: list[SubmissionGrade]) -> list[str]:
    """Every exercise id seen, in course order (ids sort by lesson, then notebook order)."""
    seen: dict[str, None] = {}
    for grade in sorted(grades, key=lambda g: g.lesson or ""):
        for e in grade.exercises:
            seen.setdefault(e.id, None)
    return list(seen)


def to_csv(grades: list[SubmissionGrade]) -> str:
    """One row per submission: its score per exercise, total, out of, and any error."""
    columns = exercise_columns(grades)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["submission", "lesson", *columns, "total", "max", "error"])
    for g in grades:
        scores = {e.id: e.score for e in g.exercises}
        writer.writerow([_cell(g.submission), g.lesson or "",
                         *(_num(scores.get(c, "")) for c in columns),
                         _num(g.total), _num(g.max_total), _cell(g.error or "")])
    return buffer.getvalue()


def _cell(text: str) -> str:
    """Text a spreadsheet shows as text: a file name like ``=HYPERLINK(...).ipynb`` would be
    run as a formula, so a leading ``= + - @`` (or tab, CR) gets a ``'`` in front (OWASP's
    advice on CSV injection). A file name that is not UTF-8 (its bytes kept by Python as
    surrogates) is written with the odd bytes as escapes such as ``\\udce9``."""
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def to_json(grades: list[SubmissionGrade]) -> str:
    """Everything: scores, messages and what the sandbox enforced, per submission."""
    rows = [{**asdict(g), "total": g.total, "max": g.max_total} for g in grades]
    return json.dumps(rows, indent=2) + "\n"


def to_gradescope(grade: SubmissionGrade) -> str:
    """Gradescope's autograder results: a total score and one test per exercise."""
    if grade.error:  # the reason once, in the test named after the file handed in
        name = clean_text(Path(grade.submission).name, 200) or "notebook"
        tests = [{"name": name, "score": 0, "max_score": 0,
                  "status": "failed", "output": grade.error, "visibility": "visible"}]
    else:
        tests = [
            {"name": e.id, "score": e.score, "max_score": e.points,
             "status": "passed" if e.score == e.points else "failed",
             "output": e.message, "visibility": "visible"}
            for e in grade.exercises
        ]
    summary = (tr("Your notebook could not be graded; the test below says why.") if grade.error
               else tr("{total} / {max} points", total=_num(grade.total),
                       max=_num(grade.max_total)))
    # stdout_visibility: the run's log (the grader's own lines) stays with the instructor.
    # output_format "text": a learner's message is shown as typed, never as HTML/Markdown.
    return json.dumps({"score": grade.total, "output": summary, "output_format": "text",
                       "test_output_format": "text", "stdout_visibility": "hidden",
                       "tests": tests}, indent=2) + "\n"


def write_reports(grades: list[SubmissionGrade], *, csv_path: Path | None = None,
                  json_path: Path | None = None, gradescope_path: Path | None = None) -> None:
    """Write the reports asked for; each file appears whole or not at all."""
    if gradescope_path is not None:
        if len(grades) != 1:
            raise CourseError(tr("--gradescope writes one submission's results, got {count} "
                                 "submissions; grade one notebook at a time for Gradescope.",
                                 count=len(grades)))
        atomic_write_text(Path(gradescope_path), to_gradescope(grades[0]))
    if csv_path is not None:
        atomic_write_text(Path(csv_path), to_csv(grades))
    if json_path is not None:
        atomic_write_text(Path(json_path), to_json(grades))


def _num(x: float | str) -> str:
    if isinstance(x, str):
        return x
    return f"{x:g}"
