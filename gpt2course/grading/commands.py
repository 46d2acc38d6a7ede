"""The command-line subcommands for exercises and grading: assign, check, grade, bundle.

Each ``add_*`` function registers one subcommand; ``cli.py`` lists them. The course's
folders default to the ones found from where the command runs (``course_folders``).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ..cli_types import input_path, output_file, real_number, whole_number
from ..course_folders import find_course_folder
from ..errors import CourseError
from ..i18n import tr

DEFAULT_SEED = 20240611
SEED_VARIABLE = "GPT2COURSE_GRADING_SEED"
MAX_SEED = 2**63 - 1  # hidden cases add a little to it; torch.Generator takes < 2**64
grading_seed = whole_number(0, MAX_SEED)
# Bounds of grade's options: beyond them a batch exhausts the machine rather than grades.
MAX_JOBS = 64  # each job is a sandboxed process with up to --memory-mb of memory
MAX_NOTEBOOK_S = 3600.0  # one notebook; every lesson's solution takes well under a minute
MIN_MEMORY_MB, MAX_MEMORY_MB = 256, 65536  # below 256 MB Python with torch cannot start


def _seed(given: int | None) -> int:
    """``--seed``, else ``$GPT2COURSE_GRADING_SEED``, else the fixed default."""
    if given is not None:
        return given
    text = os.environ.get(SEED_VARIABLE, "").strip()
    if not text:
        return DEFAULT_SEED
    try:
        return grading_seed(text)
    except argparse.ArgumentTypeError as err:
        raise CourseError(tr("{variable} {problem}", variable=SEED_VARIABLE,
                             problem=err)) from None


def _add_seed(p: argparse.ArgumentParser) -> None:
    p.add_argument("--seed", type=grading_seed, default=None, help=tr(
        "seed of the hidden cases, 0 to 2**63 - 1; keep yours secret (default: ${variable} or "
        "a fixed one)", variable=SEED_VARIABLE))


def _add_lessons(p: argparse.ArgumentParser) -> None:
    p.add_argument("--lessons", type=input_path, default=None, help=tr(
        "the instructor's lesson notebooks (default: the course's lessons folder, found from "
        "here: ./lessons, a folder above, or the checkout of the installed package)"))


def _lessons(args: argparse.Namespace) -> Path:
    return args.lessons if args.lessons is not None else find_course_folder("lessons",
                                                                             "--lessons")


def _require_posix(command: str) -> None:
    """The sandbox needs fork, process groups and rlimits; say so instead of an ImportError."""
    if os.name != "posix":
        raise CourseError(tr(
            "`gpt2course {command}` runs learners' code in a sandbox built on Linux/macOS "
            "process limits, which Windows does not have. Run it in WSL, on a Linux "
            "JupyterHub, or on Colab; in a notebook, check(your_function) works everywhere.",
            command=command))


def add_assign(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("assign", help=tr("write the learners' lessons/ from solutions/"))
    p.add_argument("solutions", nargs="?", default=None, type=input_path, help=tr(
        "the solution notebooks (default: the course's solutions folder, found from here)"))
    p.add_argument("lessons", nargs="?", default=None, type=input_path,
                   help=tr("where to write the lessons (default: lessons beside SOLUTIONS)"))
    p.add_argument("--check", action="store_true",
                   help=tr("write nothing; fail if a lesson is out of date"))
    p.set_defaults(run=_run_assign)


def _run_assign(args: argparse.Namespace) -> int:
    from .assign import assign

    solutions = args.solutions or find_course_folder("solutions", "SOLUTIONS")
    lessons = args.lessons or Path(solutions).parent / "lessons"
    stale = assign(solutions, lessons, check=args.check)
    if args.check and stale:
        print(tr("out of date: {names}. Run `gpt2course assign` and commit the result.",
                 names=", ".join(stale)), file=sys.stderr)
        return 1
    print(tr("wrote {names}", names=", ".join(stale)) if stale else tr("up to date"))
    return 0


def add_check(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("check",
                       help=tr("grade one notebook here and print each exercise's verdict"))
    p.add_argument("notebook", type=input_path, help=tr("the notebook to check"))
    _add_lessons(p)
    p.set_defaults(run=_run_check)


def _run_check(args: argparse.Namespace) -> int:
    _require_posix("check")
    from .grade import grade_submission, load_lessons
    from .sandbox import SandboxLimits

    grade = grade_submission(args.notebook, load_lessons(_lessons(args)), seed=None,
                             limits=SandboxLimits())
    if grade.error:
        raise CourseError(tr("{path}: {error}", path=str(args.notebook), error=grade.error))
    if not grade.exercises:
        print(_summary(grade))
        return 0
    for e in grade.exercises:
        print(e.message)
    print("\n" + tr("{total} / {max} points on the public cases", total=_num(grade.total),
                    max=_num(grade.max_total)))
    return 0


def add_grade(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("grade",
                       help=tr("grade submitted notebooks safely (CSV, JSON, Gradescope)"))
    p.add_argument("submissions", type=input_path, help=tr(
        "a notebook, or a folder: every *.ipynb in it and its subfolders (other files, hidden "
        "folders and checkpoints are skipped)"))
    _add_lessons(p)
    p.add_argument("--out", type=output_file,
                   help=tr("CSV: one row per submission, one column per exercise"))
    p.add_argument("--json", type=output_file, help=tr("JSON with every message"))
    p.add_argument("--gradescope", type=output_file,
                   help=tr("Gradescope results.json (one submission)"))
    p.add_argument("--jobs", type=whole_number(1, MAX_JOBS), default=1,
                   help=tr("submissions graded at once, 1 to {limit} (default 1)",
                           limit=MAX_JOBS))
    p.add_argument("--resume", action="store_true",
                   help=tr("skip submissions already graded into the same output"))
    _add_seed(p)
    p.add_argument("--time-limit", type=real_number(0, MAX_NOTEBOOK_S, low_open=True),
                   default=180.0, help=tr("seconds for one whole notebook, at most {limit} "
                                          "(default 180)", limit=int(MAX_NOTEBOOK_S)))
    p.add_argument("--memory-mb", type=whole_number(MIN_MEMORY_MB, MAX_MEMORY_MB),
                   default=3072, help=tr("memory for the learner's process, {low} to {high} "
                                         "(default 3072)", low=MIN_MEMORY_MB,
                                         high=MAX_MEMORY_MB))
    p.add_argument("--lesson", help=tr("grade every hand-in as this lesson, e.g. 04 "
                                       "(default: recognised from its solution cells)"))
    p.set_defaults(run=_run_grade)


def _run_grade(args: argparse.Namespace) -> int:
    _require_posix("grade")
    from .grade import find_submissions, grade_many, lesson_number, load_lessons
    from .reports import write_reports
    from .sandbox import SandboxLimits

    seed = _seed(args.seed)
    first_output = args.out or args.json or args.gradescope
    if args.resume and first_output is None:
        raise CourseError(tr("--resume needs --out, --json or --gradescope: it reuses the "
                             "results saved next to that file."))
    lessons_dir = _lessons(args)
    lessons = load_lessons(lessons_dir)
    lesson = lesson_number(args.lesson, lessons) if args.lesson is not None else None
    store = first_output.with_name(first_output.name + ".parts") if first_output else None
    found, skipped = find_submissions(args.submissions)
    paths = _without_reports(found, args, store)
    skipped = _without_reports(skipped, args, store)  # this run's own reports: not news
    if skipped:
        print(_skipped_line(skipped, args.submissions))
    if not paths:
        raise CourseError(tr("{folder} holds no notebooks (*.ipynb) to grade.",
                             folder=args.submissions))
    if args.gradescope is not None and len(paths) != 1:  # said before the work, not after
        raise CourseError(tr("--gradescope writes one submission's results, got {count} "
                             "submissions; grade one notebook at a time for Gradescope.",
                             count=len(paths)))
    limits = SandboxLimits(notebook_s=args.time_limit, memory_mb=args.memory_mb)
    solutions = lessons_dir.resolve().parent / "solutions"
    try:
        grades = grade_many(
            paths, lessons, seed=seed, limits=limits, jobs=args.jobs, store=store,
            resume=args.resume, hide=(str(solutions),) if solutions.is_dir() else (),
            on_done=lambda g: print(_summary(g), flush=True), lesson=lesson,
        )
    except KeyboardInterrupt:
        if store is None or len(paths) < 2:
            raise
        print("\n" + tr("interrupted; the results so far are kept in {folder}: run the same "
                        "command with --resume to go on.", folder=str(store)), file=sys.stderr)
        return 130
    if len(grades) == 1 and not grades[0].error:
        for e in grades[0].exercises:
            print(e.message)
    write_reports(grades, csv_path=args.out, json_path=args.json,
                  gradescope_path=args.gradescope)
    return _grade_exit_code(args.submissions, grades)


def _skipped_line(skipped: list[Path], folder: Path) -> str:
    """One line: how many files were not graded, with a few of their names."""
    from .untrusted import clean_text

    names = [clean_text(str(p.relative_to(folder)) if p.is_relative_to(folder) else str(p), 200)
             for p in skipped[:3]]  # a file name may hold terminal escapes
    more = "" if len(skipped) <= 3 else ", …"
    return tr("skipped {count} file(s) that are not notebooks to grade (hidden files, "
              "checkpoints, other kinds of files): {names}", count=len(skipped),
              names=", ".join(names) + more)


def _without_reports(paths: list[Path], args: argparse.Namespace,
                     store: Path | None) -> list[Path]:
    """The submissions less this run's own reports (they may be written inside the
    submissions' folder, and a later run must not grade them). A report that would
    overwrite a hand-in (the file given, or any notebook) or another report is refused
    before anything is written, so that no file is lost."""
    given = [(flag, p.resolve()) for flag, p in (("--out", args.out), ("--json", args.json),
                                                 ("--gradescope", args.gradescope))
             if p is not None]
    outputs = [out for _, out in given]
    for i, (flag, out) in enumerate(given):
        if out in outputs[:i]:
            raise CourseError(tr("--out, --json and --gradescope must name different files; "
                                 "{path} is given twice.", path=str(out)))
        if out == Path(args.submissions).resolve() or out.suffix.lower() == ".ipynb":
            raise CourseError(tr("argument {flag}: {path} is a notebook or a hand-in; write the "
                                 "report to another file, so that it is not overwritten.",
                                 flag=flag, path=str(out)))
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
    """The terminal's line for one submission; its file is named once, at the start."""
    from .untrusted import clean_text

    name = clean_text(grade.submission, 1000)  # a file name may hold terminal escapes
    if grade.error:
        return tr("{submission}: ERROR {error}", submission=name, error=grade.error)
    if not grade.exercises:
        return tr("{submission}: {lesson} has no graded exercises; nothing to score",
                  submission=name, lesson=grade.lesson)
    return f"{name}: {_num(grade.total)} / {_num(grade.max_total)}"


def add_bundle(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("gradescope-bundle",
                       help=tr("write the zip Gradescope needs to run this grader itself"))
    p.add_argument("out", type=output_file, help=tr("where to write the .zip"))
    _add_lessons(p)
    _add_seed(p)
    p.set_defaults(run=_run_bundle)


def _run_bundle(args: argparse.Namespace) -> int:
    from .bundle import write_bundle

    names = write_bundle(args.out, _lessons(args), _seed(args.seed))
    print(tr("wrote {path} ({count} files). Upload it as the autograder in Gradescope.",
             path=args.out, count=len(names)))
    return 0


def _num(x: float) -> str:
    return f"{x:g}"
