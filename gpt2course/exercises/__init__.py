"""Every graded exercise of the course, found by id, by the learner's function name, or by lesson.

To add exercises for a lesson, see README.md in this folder.
"""

from __future__ import annotations

from importlib import import_module

from ..errors import CourseError
from .core import Case, Diagnosis, Exercise, Verdict, close, exact, frequencies_match, judge

# One module (or package of modules) per lesson; each defines EXERCISES, a tuple in the order
# the notebook asks them.
LESSON_MODULES = (
    "lesson01_tokenizer", "lesson02_embeddings", "lesson03_attention", "lesson04_mlp",
    "lesson05_blocks", "lesson06_sampling",
)

__all__ = [
    "Case", "Diagnosis", "Exercise", "Verdict", "all_exercises", "by_function", "by_id",
    "close", "exact", "for_lesson", "frequencies_match", "judge",
]


def all_exercises() -> tuple[Exercise, ...]:
    """All exercises, lesson by lesson; ids and function names are checked to be unique."""
    found: list[Exercise] = []
    for name in LESSON_MODULES:
        found.extend(import_module(f"{__name__}.{name}").EXERCISES)
    for attr in ("id", "function"):
        values = [getattr(e, attr) for e in found]
        twice = sorted({v for v in values if values.count(v) > 1})
        if twice:
            raise CourseError(f"exercise {attr}s must be unique in the course; repeated: {twice}")
    return tuple(found)


def by_id(exercise_id: str) -> Exercise:
    """The exercise with this id, e.g. ``"04.gelu"``."""
    for exercise in all_exercises():
        if exercise.id == exercise_id:
            return exercise
    raise CourseError(f"there is no exercise {exercise_id!r}; known: "
                      f"{', '.join(e.id for e in all_exercises())}")


def by_function(name: str) -> Exercise | None:
    """The exercise in which the learner writes ``name`` (a function or class), if any."""
    return next((e for e in all_exercises() if e.function == name), None)


def by_grade_id(grade_id: str) -> Exercise | None:
    """The exercise whose solution cell has this nbgrader ``grade_id``, if any."""
    return next((e for e in all_exercises() if e.grade_id == grade_id), None)


def for_lesson(lesson: str) -> tuple[Exercise, ...]:
    """The exercises of one lesson, e.g. ``"04"``, in notebook order."""
    return tuple(e for e in all_exercises() if e.lesson == lesson)
