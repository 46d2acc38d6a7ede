"""How long grading takes: one complete submission of every lesson, and a batch of 20.

Run: python benchmarks/bench_grade.py   (target: one full submission in under 60 s)
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

from gpt2course.cli import main
from gpt2course.grading.grade import grade_submission, load_lessons
from gpt2course.grading.sandbox import SandboxLimits

ROOT = Path(__file__).resolve().parents[1]


def main_bench() -> None:
    lessons = load_lessons(ROOT / "lessons")
    solutions = sorted((ROOT / "solutions").glob("*.ipynb"))
    total = 0.0
    for path in solutions:  # a solution notebook is a complete, correct submission
        start = time.perf_counter()
        grade = grade_submission(path, lessons, seed=1, limits=SandboxLimits())
        seconds = time.perf_counter() - start
        total += seconds
        print(f"{path.name}: {grade.total:g}/{grade.max_total:g} in {seconds:.1f} s")
    print(f"one full submission of every lesson: {total:.1f} s (target < 60 s)")

    with tempfile.TemporaryDirectory() as tmp:
        batch = Path(tmp) / "batch"
        batch.mkdir()
        for i in range(20):
            source = solutions[i % len(solutions)]
            shutil.copy(source, batch / f"learner{i:02d}_{source.name}")
        start = time.perf_counter()
        main(["grade", str(batch), "--lessons", str(ROOT / "lessons"), "--jobs", "2",
              "--out", str(Path(tmp) / "grades.csv")])
        seconds = time.perf_counter() - start
    print(f"batch of 20 with --jobs 2: {seconds:.1f} s, {20 / seconds * 60:.0f} submissions/min",
          file=sys.stderr)


if __name__ == "__main__":
    main_bench()
