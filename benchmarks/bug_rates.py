"""How many of the lesson suites' known bugs ``check`` catches and names, per lesson.

Runs the mutation tests of ``tests/test_lesson0N*.py`` (those that go through
``check_support.fails_with`` or ``SolutionCells.assert_diagnosed``) with
``GPT2COURSE_BUG_RATES`` set, so each bug tried is recorded instead of only asserted, and
prints caught and named rates per lesson.

    python benchmarks/bug_rates.py                 # this checkout's package
    python benchmarks/bug_rates.py --before DIR    # also the same tests against another
                                                   # checkout (e.g. an older commit:
                                                   # git archive COMMIT | tar -x -C DIR)

Bugs whose test cannot even be collected against an older package count as not caught.

    python benchmarks/bug_rates.py --set new       # the second catalog, benchmarks/bugs/:
                                                   # bugs written apart from the suites,
                                                   # through check and the grader's cases
    python benchmarks/bug_rates.py --set holdout   # a held-out part, measured, then fixed
    python benchmarks/bug_rates.py --set holdout2  # a second one, never tuned on
    python benchmarks/bug_rates.py --set holdout3  # a third, measured before its fixes

For these sets a bug is NAMED when its feedback (the "Likely bug:" line or a hint, not the
lines every failure has) matches the bug's own words (``Bug.words``), not merely when some
diagnosis is shown; MISNAMED when a diagnosis is shown that names another bug.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LESSONS = ("01", "02", "03", "04", "05", "06")


# Every test may try bugs; these only check valid code, or loop over the package's own
# variants (whose number differs between versions).
SELECT = ("not each_diagnosis and not every_diagnosis and not solution and not valid "
          "and not explorer and not grader and not hidden and not passes")


def run(before: Path | None) -> list[dict]:
    """One row per bug tried: {"test", "caught", "named"}. With ``before`` (a checkout), this
    checkout's tests run in a copy of it, against its package."""
    with tempfile.TemporaryDirectory() as tmp:
        record = Path(tmp) / "bugs.jsonl"
        root = ROOT
        if before is not None:
            root = Path(tmp) / "before"
            shutil.copytree(before, root, ignore=shutil.ignore_patterns(".git", ".venv"))
            shutil.copytree(ROOT / "tests", root / "tests", dirs_exist_ok=True)
            shutil.copy(ROOT / "conftest.py", root / "conftest.py")
        env = {**os.environ, "GPT2COURSE_BUG_RATES": str(record),
               "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")])}
        tests = [str(path) for n in LESSONS
                 for path in sorted((root / "tests").glob(f"test_lesson{n}*.py"))]
        subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                        "-m", "not slow", "-k", SELECT, *tests],
                       cwd=root, env=env, stdout=subprocess.DEVNULL, check=False)
        return [json.loads(line) for line in record.read_text().splitlines()] \
            if record.exists() else []


def rates(rows: list[dict], tried: collections.Counter) -> dict[str, tuple[int, int, int]]:
    """lesson -> (bugs, caught, named); ``tried`` (bugs per test) is the denominator, so a
    test that stops before its bug is tried counts as not caught."""
    per_test: dict[str, list[int]] = collections.defaultdict(lambda: [0, 0])
    for row in rows:
        per_test[row["test"]][0] += row["caught"]
        per_test[row["test"]][1] += row["named"]
    found: dict[str, list[int]] = collections.defaultdict(lambda: [0, 0, 0])
    for test, n in tried.items():
        lesson = test.split("test_lesson", 1)[1][:2]
        caught, named = per_test.get(test, [0, 0])
        found[lesson][0] += n
        found[lesson][1] += min(caught, n)
        found[lesson][2] += min(named, n)
    return {n: tuple(found[n]) for n in LESSONS}


def run_new(before: Path | None, which: str = "new") -> list[dict]:
    """One row per bug of the new catalog (``benchmarks/bugs``), with ``before``'s package
    (a checkout) or this one's."""
    package = before if before is not None else ROOT
    env = {**os.environ, "GPT2COURSE_LANG": "en",
           "PYTHONPATH": os.pathsep.join([str(package), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-m", "bugs.run", "--json", "--set", which],
                          cwd=ROOT / "benchmarks",
                          env=env, capture_output=True, text=True, check=False)
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def new_rates(rows: list[dict], step: str) -> dict[str, tuple[int, ...]]:
    """lesson -> (bugs, caught, named, misnamed) of ``step`` ("check" or "grade");
    misnamed: a diagnosis was shown, naming another bug."""
    found: dict[str, list[int]] = collections.defaultdict(lambda: [0, 0, 0, 0])
    for row in rows:
        found[row["lesson"]][0] += 1
        found[row["lesson"]][1] += row[step]["caught"]
        found[row["lesson"]][2] += row[step]["named"]
        found[row["lesson"]][3] += row[step].get("misnamed", False)
    return {n: tuple(found[n]) for n in LESSONS}


def print_new(before: Path | None, which: str) -> None:
    now = run_new(None, which)
    old = run_new(before, which) if before else None
    print("lesson  bugs  check: caught  named   grade: caught  named  misnamed"
          + ("   (before, grade: caught  named  misnamed)" if old else ""))
    tables = [new_rates(now, "check"), new_rates(now, "grade")]
    if old:
        tables.append(new_rates(old, "grade"))
    for lesson in [*LESSONS, "all"]:
        cells = [t[lesson] if lesson != "all" else tuple(sum(v[i] for v in t.values())
                                                          for i in range(4)) for t in tables]
        n = cells[0][0]
        line = f"  {lesson:>3} {n:5d}"
        for step, (_, caught, named, misnamed) in enumerate(cells):
            line += f"         {_pct(caught, n):>6}  {_pct(named, n):>5}"
            line += f"  {_pct(misnamed, n):>8}" if step else ""
        print(line)


def _pct(part: int, whole: int) -> str:
    return f"{part / max(whole, 1):.0%}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path,
                        help="another checkout (e.g. git worktree add DIR COMMIT) whose "
                             "gpt2course to run the same tests against")
    parser.add_argument("--set", default="tests",
                        choices=("tests", "new", "holdout", "holdout2", "holdout3",
                                 "holdout4"),
                        help="tests: the lesson suites' bugs; new: the catalog in "
                             "benchmarks/bugs; holdout, holdout2, holdout3: its held-out sets")
    args = parser.parse_args()
    if args.set != "tests":
        print_new(args.before, args.set)
        return
    now = run(None)
    tried = collections.Counter(row["test"] for row in now)
    after = rates(now, tried)
    before = rates(run(args.before), tried) if args.before else None
    print("lesson  bugs  caught  named" + ("   (before: caught  named)" if before else ""))
    for lesson in LESSONS:
        n, caught, named = after[lesson]
        line = f"  {lesson}  {n:5d}  {_pct(caught, n):>6}  {_pct(named, n):>5}"
        if before:
            _, b_caught, b_named = before[lesson]
            line += f"            {_pct(b_caught, n):>6}  {_pct(b_named, n):>5}"
        print(line)
    total = [sum(v[i] for v in after.values()) for i in range(3)]
    line = f"  all {total[0]:5d}  {_pct(total[1], total[0]):>6}  {_pct(total[2], total[0]):>5}"
    if before:
        b = [sum(v[i] for v in before.values()) for i in range(3)]
        line += f"            {_pct(b[1], total[0]):>6}  {_pct(b[2], total[0]):>5}"
    print(line)


if __name__ == "__main__":
    main()
