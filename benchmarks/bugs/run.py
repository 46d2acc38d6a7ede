"""Run the new bug catalog through ``check`` (public cases) and the grader's cases.

    python -m bugs.run [--lesson 03] [--set holdout] [--json]      (from benchmarks/)

Prints one JSON object per bug with ``--json`` (for ``bug_rates.py``), else a table of
the bugs not caught or not named, with their feedback. The notebook's other cells come
from this checkout's ``solutions/``; ``gpt2course`` is whichever one Python imports.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path

import nbformat

from . import Bug, catalog

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = {"01": "01_tokenizer", "02": "02_embeddings", "03": "03_attention",
             "04": "04_mlp", "05": "05_blocks", "06": "06_sampling"}
SEED = 7  # the hidden cases the grader adds (any seed: the cases are drawn from it)


def _cells(lesson: str) -> list[tuple[str, str]]:
    """(grade_id or "setup", source) of the solution notebook's cells the grader runs."""
    found = []
    path = ROOT / "solutions" / f"{NOTEBOOKS[lesson]}.ipynb"
    for cell in nbformat.read(path, as_version=4).cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            found.append((meta["grade_id"], cell.source))
        elif "setup" in cell.metadata.get("tags", []):
            found.append(("setup", cell.source))
    return found


def learner_function(bug: Bug, cells: list[tuple[str, str]]):
    """The function or class ``bug.function`` as a learner with this bug would define it."""
    namespace: dict = {"__name__": "__main__"}
    for gid, source in cells:
        code = bug.source if gid == bug.cell else source
        exec(compile(code, f"<{gid}>", "exec"), namespace)  # noqa: S102 - the catalog's own code
    return namespace[bug.function]


# Lines every failing verdict has, whatever the bug: they locate the failure but name no
# cause, so a bug's words found only there do not make it named.
GENERIC = re.compile("|".join((
    r"^\S+: case \d+ of \d+ failed", r"^\s*expected a tensor of shape", r"^\s*got {6}",
    r"values (are off|differ)", r"first (wrong value|difference) at", r"^\s*wrong (shape|dtype):",
    r"^\s*expected .*, got .*\.$", r"^\s*expected a (sequence|dict|tensor)",
)))


def feedback(message: str) -> str:
    """What in a verdict can name a bug: the "Likely bug:" line and any hint line; not the
    generic lines, nor the learner's own traceback and error text."""
    kept, in_error = [], False
    for line in message.splitlines():
        if "Your code raised an error:" in line:
            in_error = True
            continue
        if in_error and "Likely bug: " not in line:
            continue  # the traceback and the error's own text, up to a diagnosis
        in_error = False
        if not GENERIC.search(line):
            kept.append(line)
    return "\n".join(kept)


def try_bug(bug: Bug, cells: list[tuple[str, str]]) -> dict:
    """{"caught", "named"} for check (public cases) and the grade (public + hidden)."""
    from gpt2course.check import run_check

    fn = learner_function(bug, cells)
    public = run_check(fn, source=bug.source)
    graded = public if not public.passed else run_check(fn, seed=SEED, source=bug.source)
    row = {"lesson": bug.lesson, "bug": bug.name}
    for key, verdict in (("check", public), ("grade", graded)):
        caught = not verdict.passed
        named = caught and bool(re.search(bug.words, feedback(verdict.message), re.I))
        # misnamed: a diagnosis is shown, and it names some other bug
        misnamed = caught and not named and "Likely bug: " in verdict.message
        row[key] = {"caught": caught, "named": named, "misnamed": misnamed,
                    "message": verdict.message}
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lesson", action="append", help="only these lessons (01 ... 06)")
    parser.add_argument("--json", action="store_true", help="one JSON object per bug")
    parser.add_argument("--set", dest="which", default="new",
                        choices=("new", "holdout", "holdout2", "holdout3", "holdout4"))
    args = parser.parse_args()
    os.environ.setdefault("GPT2COURSE_LANG", "en")
    bugs = [b for b in catalog(args.which) if not args.lesson or b.lesson in args.lesson]
    cells = {n: _cells(n) for n in sorted({b.lesson for b in bugs})}
    for bug in bugs:
        try:
            row = try_bug(bug, cells[bug.lesson])
        except Exception as err:  # noqa: BLE001 - a crash of the check is a miss, reported
            miss = {"caught": False, "named": False, "message": f"check crashed: {err!r}"}
            row = {"lesson": bug.lesson, "bug": bug.name, "check": miss, "grade": miss}
        if args.json:
            print(json.dumps(row), flush=True)
        elif not (row["check"]["named"] and row["grade"]["named"]):
            status = ("NOT CAUGHT" if not row["grade"]["caught"] else
                      "MISNAMED" if row["grade"]["misnamed"] else "not named")
            print(f"--- {bug.lesson} {bug.name}: {status}\n{row['grade']['message']}\n",
                  flush=True)


if __name__ == "__main__":
    sys.exit(main())
