"""Grade every attack hand-in of ``tests/attack_handins.py`` next to an honest classmate,
in the sandbox mode this machine and user give, and print what each one gained or harmed.

    python benchmarks/grading_attacks.py [--only NAME ...] [--jobs 2]

Run it as root and as a normal user, with bubblewrap and without
(``GPT2COURSE_NO_BWRAP=1``): the README's sandbox table is these four runs. Exit code 1
when any attack gained points or did harm.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from attack_handins import FULL, Ctx, attacks, edit_metadata  # noqa: E402
from attack_handins_more import NEEDS, more_attacks  # noqa: E402
from grading_support import LESSONS, SEED, make_submission, scores  # noqa: E402

from gpt2course.grading import jail  # noqa: E402
from gpt2course.grading.grade import grade_many, load_lessons  # noqa: E402
from gpt2course.grading.sandbox import SandboxLimits  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", nargs="*", default=None)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="attacks-"))
    os.chmod(folder, 0o777)  # markers: let the sandbox user try to write them
    ctx = Ctx(folder, f"atk{os.getpid()}")
    every = [*attacks(ctx), *more_attacks(ctx)]
    chosen = [a for a in every if args.only is None or a.name in args.only]
    subs = []
    for attack in chosen:
        edit = edit_metadata if attack.name == "metadata-points" else None
        honest = make_submission(folder / f"{attack.name}-honest.ipynb")
        bad = make_submission(folder / f"{attack.name}.ipynb", filled=attack.filled,
                              edit=edit, **attack.cells)
        subs += [honest, bad]
    limits = SandboxLimits(notebook_s=60, exercise_s=8)
    start = time.monotonic()
    rows = grade_many(subs, load_lessons(LESSONS), seed=SEED, limits=limits, jobs=args.jobs)
    mode = (f"uid {os.geteuid()}, bubblewrap {'yes' if jail.usable()[0] else 'no'}, "
            f"{time.monotonic() - start:.0f} s")
    print(f"# {mode}")
    bad_count = 0
    for attack, honest, row in zip(chosen, rows[::2], rows[1::2], strict=True):
        problems = []
        if row.error:
            problems.append(f"error row: {row.error[:120]}")
        got = scores(row)
        problems += [f"gained {ex} {got.get(ex)} > {most}" for ex, most in attack.allowed.items()
                     if got.get(ex, 0.0) > most]
        problems += [f"lost {ex} {got.get(ex)} < {least}"
                     for ex, least in NEEDS.get(attack.name, {}).items()
                     if got.get(ex, 0.0) < least]
        if scores(honest) != FULL:
            problems.append(f"hurt its classmate: {scores(honest)}")
        problems += attack.harm(ctx, row)
        bad_count += bool(problems)
        print(f"{attack.name:22} {attack.kind:28} {'FAIL' if problems else 'ok':4} "
              f"{got} {'; '.join(problems)[:400]}")
    return 1 if bad_count else 0


if __name__ == "__main__":
    sys.exit(main())
