"""``python -m gpt2course.translations status|build [LESSON]``: what to translate, and
writing ``solutions/zh/``. Exit 1 when something is missing, stale or not built; 2 on
bad input."""

from __future__ import annotations

import argparse
import sys
import textwrap
from collections.abc import Sequence

from .course_folders import find_course_folder
from .errors import CourseError
from .i18n import speaking, tr
from .translations import find_lessons


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m gpt2course.translations",
                                     description="The Chinese edition of the lessons.")
    parser.add_argument("--lang", choices=("en", "zh"), default=None,
                        help="language of this tool's own messages")
    sub = parser.add_subparsers(dest="command", required=True)
    status = sub.add_parser("status", help="list the cells to translate, with their English")
    build = sub.add_parser("build", help="write solutions/zh/ (executed) from the translations")
    for p in (status, build):
        p.add_argument("lesson", nargs="?", help="03, 03_attention or a path (default: all)")
        p.add_argument("--solutions", default=None,
                       help="default: the course's solutions folder, found from here")
    status.add_argument("--brief", action="store_true", help="counts only, no English text")
    build.add_argument("--force", action="store_true", help="execute even if nothing changed")
    return parser


def status(solutions: str, lesson: str | None, brief: bool, out=None) -> int:
    """Print each lesson's missing/stale/orphan/code problems; 1 if there are any."""
    out = out or sys.stdout
    bad = 0
    for item in find_lessons(solutions, lesson):
        found = item.status()
        bad += len(found)
        counts = {k: sum(p.kind == k for p in found)
                  for k in ("missing", "stale", "orphan", "code")}
        print(tr("{name}: {missing} missing, {stale} stale, {orphan} orphan, {code} with "
                 "different code", name=item.name, **counts), file=out)
        for p in [] if brief else found:
            print(f"  [{p.kind}] {p.cell_id}: {p.detail}", file=out)
            if p.english:
                print(textwrap.indent(p.english, "    | ", lambda _: True), file=out)
    return 1 if bad else 0


def build(solutions: str, lesson: str | None, force: bool, out=None) -> int:
    """Write solutions/zh; print what was written, unchanged and skipped; 1 if skipped."""
    from .translations_build import build as run_build

    out = out or sys.stdout
    report = run_build(solutions, lesson, force=force)
    for name in report.written:
        print(tr("wrote {name} (executed, outputs stored)", name="zh/" + name), file=out)
    for name in report.unchanged:
        print(tr("{name}: sources unchanged, kept as it is", name="zh/" + name), file=out)
    for name, why in report.skipped:
        print(tr("skipped {name}: {why}", name=name, why=why), file=out)
    return 1 if report.skipped else 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    with speaking(args.lang):
        try:
            solutions = args.solutions or str(find_course_folder("solutions", "--solutions"))
            if args.command == "status":
                return status(solutions, args.lesson, args.brief)
            return build(solutions, args.lesson, args.force)
        except CourseError as err:
            print(tr("translations {command}: {error}", command=args.command, error=err),
                  file=sys.stderr)
            return 2
