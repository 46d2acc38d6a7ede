"""How many of the course's known bugs the general analysers name on their own.

For every exercise, each known-bug variant (``Exercise.diagnoses``) plays the learner,
and is judged on the public cases with the exercise's known bugs taken away: what is
left to name it are the general analysers (``exercises/analyse.py``). Prints, per
lesson, how many variants fail (caught) and how many of those get a "Likely bug" line
(named). A measure of how well the analysers cover kinds of bugs nobody listed.

    python benchmarks/analyser_coverage.py
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict

from gpt2course.exercises import all_exercises, judge
from gpt2course.exercises.calling import LearnerError, run_case
from gpt2course.exercises.plain import NotPlain


def main() -> None:
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for exercise in all_exercises():
        bare = dataclasses.replace(exercise, diagnoses=())
        cases = exercise.cases(None)
        for diagnosis in exercise.diagnoses:
            outputs = []
            for case in cases:
                try:
                    outputs.append(run_case(diagnosis.variant, case.inputs))
                except (LearnerError, NotPlain) as err:
                    outputs.append(LearnerError(str(err)))
            verdict = judge(bare, cases, outputs)
            row = counts[exercise.lesson]
            row[0] += 1
            row[1] += not verdict.passed
            row[2] += "Likely bug:" in verdict.message
    print("lesson  variants  caught  named by analysers alone")
    for lesson, (n, caught, named) in sorted(counts.items()):
        print(f"{lesson:>6}  {n:>8}  {caught:>6}  {named:>6} ({named / max(caught, 1):.0%})")


if __name__ == "__main__":
    main()
