"""Lesson 01 (the tokenizer) as a whole: the exercises, their cases, the solution notebook,
the grader and the token picture. The known bugs are in test_lesson01_pairs_and_training.py
and test_lesson01_encoding.py.
"""

from __future__ import annotations

import dataclasses
import json
import random

import nbformat
import pytest
from lesson01_support import CORRECT, ROOT, SOLUTION, verdict

from gpt2course.exercises import for_lesson
from gpt2course.exercises import lesson01_tokenizer as L
from gpt2course.exercises.core import Diagnosis, diagnose
from gpt2course.exercises.lesson01_tokenizer import training
from gpt2course.exercises.lesson01_tokenizer.common import gpt2_chunks
from gpt2course.exercises.plain import to_plain
from gpt2course.grading.notebooks import nbgrader_meta

# --- the exercises as a whole -----------------------------------------------------------------


def test_lesson_01_has_its_exercises_in_notebook_order():
    assert [e.function for e in for_lesson("01")] == [f.__name__ for f in CORRECT]
    assert sum(e.points for e in for_lesson("01")) == 11


@pytest.mark.parametrize("fn", CORRECT, ids=lambda f: f.__name__)
def test_correct_code_passes_public_and_hidden_cases(fn):
    for seed in (None, 3, 11):
        result = verdict(fn, seed=seed)
        assert result.passed, result.message


def json_only(value):
    """True when value holds only JSON types: no tuple, which the grader would make a list."""
    if isinstance(value, list):
        return all(json_only(v) for v in value)
    if isinstance(value, dict):
        return all(type(k) is str and json_only(v) for k, v in value.items())
    return value is None or type(value) in (bool, int, float, str)


@pytest.mark.parametrize("exercise", L.EXERCISES, ids=lambda e: e.id)
def test_cases_are_plain_data_so_the_notebook_and_the_grader_see_the_same(exercise):
    for seed in (None, 5):
        for case in exercise.cases(seed):
            assert json_only(case.inputs), case.name
            assert to_plain(case.inputs) == case.inputs, case.name


@pytest.mark.parametrize("exercise", L.EXERCISES, ids=lambda e: e.id)
def test_hidden_cases_depend_on_the_seed_and_differ_from_public(exercise):
    public = json.dumps([c.inputs for c in exercise.cases(None)])
    one, two = (json.dumps([c.inputs for c in exercise.cases(s)]) for s in (1, 2))
    assert one != two and one != public
    assert one == json.dumps([c.inputs for c in exercise.cases(1)])


@pytest.mark.parametrize("exercise", L.EXERCISES, ids=lambda e: e.id)
def test_every_diagnosis_differs_from_the_reference_on_some_public_case(exercise):
    cases = exercise.cases(None)
    for diagnosis in exercise.diagnoses:
        outputs = [to_plain(diagnosis.variant(**c.inputs)) for c in cases]
        assert any(exercise.compare(exercise.expected(c), o) is not None
                   for c, o in zip(cases, outputs, strict=True)), diagnosis.message


def test_a_variant_that_crashes_never_breaks_the_diagnosis():
    """A known-bug variant that raises on a case is skipped there; the next one is named."""
    def crashes(ids, pair, new_id):
        raise IndexError("this bug crashes on this case")

    exercise = dataclasses.replace(
        L.MERGE_PAIR, diagnoses=(Diagnosis("crashes", crashes), *L.MERGE_PAIR.diagnoses))
    first_only = next(d.message for d in L.MERGE_PAIR.diagnoses
                      if d.message.startswith("only the first place"))
    case = exercise.cases(None)[0]
    assert case.inputs == {"ids": [1, 2, 3, 1, 2], "pair": [1, 2], "new_id": 256}
    assert diagnose(exercise, case, [256, 3, 1, 2]) == first_only


def test_chunk_trained_reference_equals_the_package_training():
    from gpt2course.bpe import train_merges
    from gpt2course.data import tiny_shakespeare

    text = tiny_shakespeare()[:3000]
    expected = [list(p) for p in train_merges(text, 30)]
    assert training._reference_train(gpt2_chunks(text), 30) == expected


def test_solution_notebook_has_a_solution_and_check_cell_for_each_exercise():
    nb = nbformat.read(SOLUTION, as_version=4)
    meta = [nbgrader_meta(c) for c in nb.cells]
    ids = {m.get("grade_id"): m for m in meta if m}
    for exercise in for_lesson("01"):
        assert ids[exercise.grade_id]["solution"] is True
        assert ids[exercise.grade_id + "_check"]["points"] == exercise.points
    checks = [m for m in meta if m.get("grade")]
    assert sum(m["points"] for m in checks) == sum(e.points for e in for_lesson("01"))


def test_solution_notebook_passes_every_check():
    nb = nbformat.read(SOLUTION, as_version=4)
    outputs = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                      for o in c.outputs)
    for exercise in for_lesson("01"):
        assert f"{exercise.function}: the " in outputs, exercise.function


def test_hidden_case_texts_are_reproducible_and_vary():
    assert L.random_text(random.Random(3), 5) == L.random_text(random.Random(3), 5)
    assert L.random_text(random.Random(3), 5) != L.random_text(random.Random(4), 5)


def test_grading_the_solution_with_hidden_cases_gives_full_marks():
    from gpt2course.grading.grade import grade_submission, load_lessons
    from gpt2course.grading.sandbox import SandboxLimits

    result = grade_submission(SOLUTION, load_lessons(ROOT / "lessons"), seed=7,
                              limits=SandboxLimits(), hide=(str(ROOT / "solutions"),))
    assert result.error is None
    assert {e.id: e.score for e in result.exercises} == {e.id: e.points
                                                         for e in for_lesson("01")}


# --- the picture of tokens ------------------------------------------------------------------


def test_tokens_are_shown_with_visible_spaces_and_escaped_html():
    from gpt2course.viz.tokens import tokens_as_html, tokens_as_text

    assert tokens_as_text(["The", " dog", ".\n"]) == "[The][\u00b7dog][.\u21b5\n]"
    page = tokens_as_html(["<b>", " x"], ids=[1, 2])
    assert "&lt;b&gt;" in page and 'title="id 2"' in page and page.count("<span") == 2


def test_bad_input_to_the_token_picture_says_what_to_give():
    from gpt2course.viz.tokens import tokens_as_html, tokens_as_text

    with pytest.raises(TypeError, match="list of strings"):
        tokens_as_text("The dog")
    with pytest.raises(TypeError, match="list of strings"):
        tokens_as_text([464, 3290])
    with pytest.raises(ValueError, match="one id per token"):
        tokens_as_html(["a", "b"], ids=[1])
