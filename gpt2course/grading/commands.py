"""The command-line subcommands for exercises and grading: assign, check, grade, bundle.

Each ``add_*`` function registers one subcommand; ``cli.py`` lists them in SUBCOMMANDS.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ..cli_types import output_file, positive_float, positive_int
from ..errors import CourseError
from ..i18n import tr

DEFAULT_SEED = 20240611


def _seed_default() -> int:
    return int(os.environ.get("GPT2COURSE_GRADING_SEED", DEFAULT_SEED))


def _require_posix(command: str) -> None:
    """The sandbox needs fork, process groups and rlimits; say so instead of an ImportError."""
    if os.name != "posix":
        raise CourseError(tr(
            "`gpt2course {command}` runs learners' code in a sandbox built on Linux/macOS "
            "process limits, which Windows does not have. Run it in WSL, on a Linux "
            "JupyterHub, or on Colab; in a notebook, check(your_function) works everywhere.",
            command=command))


def add_assign(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("assign", help="write the learners' lessons/ from solutions/")
    p.add_argument("solutions", nargs="?", default="solutions", type=Path)
    p.add_argument("lessons", nargs="?", default="lessons", type=Path)
    p.add_argument("--check", action="store_true",
                   help="write nothing; fail if a lesson is out of date")
    p.set_defaults(run=_run_assign)


def _run_assign(args: argparse.Namespace) -> int:
    from .assign import assign

    stale = assign(args.solutions, args.lessons, check=args.check)
    if args.check and stale:
        print(tr("out of date: {names}. Run `gpt2course assign` and commit the result.",
                 names=", ".join(stale)), file=sys.stderr)
        return 1
    print(tr("wrote {names}", names=", ".join(stale)) if stale else tr("up to date"))
    return 0


def add_check(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("check", help="grade one notebook here and print each exercise's verdict")
    p.add_argument("notebook", type=Path)
    p.add_argument("--lessons", default="lessons", type=Path)
    p.set_defaults(run=_run_check)


def _run_check(args: argparse.Namespace) -> int:
    _require_posix("check")
    from .grade import grade_submission, load_lessons
    from .sandbox import SandboxLimits

    grade = grade_submission(args.notebook, load_lessons(args.lessons), seed=None,
                             limits=SandboxLimits())
    if grade.error:
        raise CourseError(grade.error)
    if not grade.exercises:
        print(_summary(grade))
        return 0
    for e in grade.exercises:
        print(e.message)
    print("\n" + tr("{total} / {max} points on the public cases", total=_num(grade.total),
                    max=_num(grade.max_total)))
    return 0


def add_grade(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("grade", help="grade submitted notebooks safely (CSV, JSON, Gradescope)")
    p.add_argument("submissions", type=Path, help="a notebook, or a folder of them")
    p.add_argument("--lessons", default="lessons", type=Path,
                   help="the instructor's lesson notebooks (default: lessons)")
    p.add_argument("--out", type=output_file,
                   help="CSV: one row per submission, one column per exercise")
    p.add_argument("--json", type=output_file, help="JSON with every message")
    p.add_argument("--gradescope", type=output_file,
                   help="Gradescope results.json (one submission)")
    p.add_argument("--jobs", type=positive_int, default=1, help="submissions graded at once")
    p.add_argument("--resume", action="store_true",
                   help="skip submissions already graded into the same output")
    p.add_argument("--seed", type=int, default=_seed_default(),
                   help="seed of the hidden cases; keep yours secret "
                        "(default: $GPT2COURSE_GRADING_SEED or a fixed one)")
    p.add_argument("--time-limit", type=positive_float, default=180.0,
                   help="seconds for one whole notebook (default 180)")
    p.add_argument("--memory-mb", type=positive_int, default=3072,
                   help="memory for the learner's process (default 3072)")
    p.add_argument("--lesson", help="grade every hand-in as this lesson, e.g. 04 "
                                    "(default: recognised from its solution cells)")
    p.set_defaults(run=_run_grade)


def _run_grade(args: argparse.Namespace) -> int:
    _require_posix("grade")
    from .grade import find_submissions, grade_many, lesson_number, load_lessons
    from .reports import write_reports
    from .sandbox import SandboxLimits

    if args.jobs < 1:
        raise CourseError(tr("--jobs must be 1 or more, got {jobs}.", jobs=args.jobs))
    first_output = args.out or args.json or args.gradescope
    if args.resume and first_output is None:
        raise CourseError(tr("--resume needs --out, --json or --gradescope: it reuses the "
                             "results saved next to that file."))
    lessons = load_lessons(args.lessons)
    lesson = lesson_number(args.lesson, lessons) if args.lesson else None
    store = first_output.with_name(first_output.name + ".parts") if first_output else None
    paths = _without_reports(find_submissions(args.submissions), args, store)
    if not paths:
        raise CourseError(tr("{folder} holds no files to grade.", folder=args.submissions))
    limits = SandboxLimits(notebook_s=args.time_limit, memory_mb=args.memory_mb)
    solutions = args.lessons.resolve().parent / "solutions"
    grades = grade_many(
        paths, lessons, seed=args.seed, limits=limits, jobs=args.jobs, store=store,
        resume=args.resume, hide=(str(solutions),) if solutions.is_dir() else (),
        on_done=lambda g: print(_summary(g), flush=True), lesson=lesson,
    )
    if len(grades) == 1 and not grades[0].error:
        for e in grades[0].exercises:
            print(e.message)
    write_reports(grades, csv_path=args.out, json_path=args.json,
                  gradescope_path=args.gradescope)
    return _grade_exit_code(args.submissions, grades)


def _without_reports(paths: list[Path], args: argparse.Namespace,
                     store: Path | None) -> list[Path]:
    """The submissions less this run's own reports (they may be written inside the
    submissions' folder, and a later run must not grade them). A report that would
    overwrite a hand-in (the file given, or any notebook) or another report is refused
    before anything is written, so that no file is lost."""
    outputs = [p.resolve() for p in (args.out, args.json, args.gradescope) if p is not None]
    for i, out in enumerate(outputs):
        if out in outputs[:i]:
            raise CourseError(tr("--out, --json and --gradescope must name different files; "
                                 "{path} is given twice.", path=str(out)))
        if out == Path(args.submissions).resolve() or out.suffix == ".ipynb":
            raise CourseError(tr("{path} is a notebook or a hand-in; write the report to "
                                 "another file, so that it is not overwritten.", path=str(out)))
    parts = store.resolve() if store is not None else None
    return [p for p in paths if p.resolve() not in outputs
            and (parts is None or parts not in p.resolve().parents)]


def _grade_exit_code(target: Path, grades: list) -> int:
    """0: every submission graded. A single file that could not be graded is bad input: 2.
    A folder with any error row: 1 (the reports are written all the same)."""
    failed = [g for g in grades if g.error]
    if not failed:
        return 0
    if not target.is_dir():
        return 2
    print(tr("{count} of {total} submissions could not be graded (error rows above).",
             count=len(failed), total=len(grades)), file=sys.stderr)
    return 1


def _summary(grade) -> str:
    if grade.error:
        return tr("{submission}: ERROR {error}", submission=grade.submission, error=grade.error)
    if not grade.exercises:
        return tr("{submission}: {lesson} has no graded exercises; nothing to score",
                  submission=grade.submission, lesson=grade.lesson)
    return f"{grade.submission}: {_num(grade.total)} / {_num(grade.max_total)}"


def add_bundle(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("gradescope-bundle",
                       help="write the zip Gradescope needs to run this grader itself")
    p.add_argument("out", type=output_file, help="where to write the .zip")
    p.add_argument("--lessons", default="lessons", type=Path)
    p.add_argument("--seed", type=int, default=_seed_default())
    p.set_defaults(run=_run_bundle)


def _run_bundle(args: argparse.Namespace) -> int:
    from .bundle import write_bundle

    names = write_bundle(args.out, args.lessons, args.seed)
    print(tr("wrote {path} ({count} files). Upload it as the autograder in Gradescope.",
             path=args.out, count=len(names)))
    return 0


def _num(x: float) -> str:
    return f"{x:g}"
