"""Valid alternative solutions (tests/alternatives/) pass: in ``check`` on the public cases
and on the hidden cases of several seeds (the cases the grader adds), with the judge the
grader uses; and a real ``grade`` of a notebook holding one alternative per exercise gives
full marks. No exercise is without at least two."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from alternatives import (
    lesson01,
    lesson01_more,
    lesson02,
    lesson02_more,
    lesson03,
    lesson03_more,
    lesson04,
    lesson04_more,
    lesson05,
    lesson05_more,
    lesson06,
    lesson06_more,
)
from check_support import SolutionCells
from grading_support import ROOT, make_submission

from gpt2course.check import run_check
from gpt2course.exercises import all_exercises, for_lesson
from gpt2course.grading.grade import grade_submission, load_lessons
from gpt2course.grading.sandbox import SandboxLimits

NAMES = {"01": "01_tokenizer", "02": "02_embeddings", "03": "03_attention", "04": "04_mlp",
         "05": "05_blocks", "06": "06_sampling"}
MODULES = (lesson01, lesson01_more, lesson02, lesson02_more, lesson03, lesson03_more, lesson04,
           lesson04_more, lesson05, lesson05_more, lesson06, lesson06_more)
CATALOG = [(m.__name__.split("lesson")[1][:2], *alt) for m in MODULES for alt in m.ALTERNATIVES]
SEEDS = (3, 11)  # hidden cases as the grader draws them
NOTEBOOKS: dict[str, SolutionCells] = {}


def _notebook(lesson: str) -> SolutionCells:
    if lesson not in NOTEBOOKS:
        NOTEBOOKS[lesson] = SolutionCells(ROOT / "solutions" / f"{NAMES[lesson]}.ipynb")
    return NOTEBOOKS[lesson]


def test_every_exercise_of_lessons_01_to_06_has_two_alternatives():
    count = Counter(grade_id for _, grade_id, _, _ in CATALOG)
    assert {e.grade_id for e in all_exercises()} == set(count)
    assert min(count.values()) >= 2, count


@pytest.mark.parametrize("lesson, grade_id, name, source", CATALOG,
                         ids=[f"{g}: {n}" for _, g, n, _ in CATALOG])
def test_an_alternative_passes_check_on_public_and_hidden_cases(lesson, grade_id, name, source):
    exercise = next(e for e in for_lesson(lesson) if e.grade_id == grade_id)
    learner = _notebook(lesson).namespace(**{grade_id: source})[exercise.function]
    for seed in (None, *SEEDS):
        verdict = run_check(learner, seed, source=source)
        assert verdict.passed, f"{name} (seed {seed}): {verdict.message}"


def _first_alternatives(lesson: str) -> dict[str, str]:
    chosen: dict[str, str] = {}
    for number, grade_id, _, source in CATALOG:
        if number == lesson:
            chosen.setdefault(grade_id, source)
    return chosen


def _last_alternatives(lesson: str) -> dict[str, str]:
    return {grade_id: source for number, grade_id, _, source in CATALOG if number == lesson}


@pytest.mark.parametrize("lesson", sorted(NAMES))
def test_a_notebook_of_alternatives_gets_full_marks_from_the_grader(tmp_path: Path, lesson):
    lessons = load_lessons(ROOT / "lessons")
    for pick in (_first_alternatives, _last_alternatives):
        path = make_submission(tmp_path / f"{lesson}-{pick.__name__}.ipynb",
                               lesson=NAMES[lesson], **pick(lesson))
        result = grade_submission(path, lessons, seed=SEEDS[0],
                                  limits=SandboxLimits(notebook_s=300, exercise_s=60),
                                  hide=(str(ROOT / "solutions"),))
        assert result.error is None, result.error
        lost = {e.id: e.message for e in result.exercises if e.score < e.points}
        assert not lost, lost
