"""Lesson 03 (masked self-attention) as a whole: the exercises, the grader on the real
lesson, and the attention pictures. The mutation suites are in test_lesson03_*.py.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import pytest
import torch
from check_support import fails_with, learner
from grading_support import make_submission

from gpt2course.exercises import for_lesson
from gpt2course.grading.grade import grade_submission, load_lessons
from gpt2course.grading.sandbox import SandboxLimits

ROOT = Path(__file__).resolve().parents[1]
submission = partial(make_submission, lesson="03_attention")  # this lesson, solved
LESSON03 = for_lesson("03")


def test_lesson_03_exercises_in_notebook_order():
    assert [e.function for e in LESSON03] == [
        "attention_scores", "causal_mask", "apply_causal_mask", "attention",
        "multi_head_attention", "cached_attention"]


@pytest.mark.parametrize("exercise", LESSON03, ids=lambda e: e.id)
def test_each_diagnosis_variant_is_named(exercise):
    for diagnosis in exercise.diagnoses:
        fails_with(learner(exercise.function)(diagnosis.variant), diagnosis.message)


@pytest.mark.parametrize("exercise", LESSON03, ids=lambda e: e.id)
def test_hidden_cases_depend_on_the_seed(exercise):
    a, b = exercise.cases(1), exercise.cases(2)
    assert {c.name for c in exercise.cases(None)}.isdisjoint({c.name for c in a})
    first = next(iter(a[0].inputs.values()))
    if isinstance(first, torch.Tensor):
        assert not torch.equal(first, next(iter(b[0].inputs.values())))


# --- the grader on the real lesson ----------------------------------------------------------


def _grade(path: Path) -> dict[str, tuple[float, str]]:
    result = grade_submission(path, load_lessons(ROOT / "lessons"), seed=5,
                              limits=SandboxLimits(notebook_s=120, exercise_s=20),
                              hide=(str(ROOT / "solutions"),))
    return {e.id: (e.score, e.message) for e in result.exercises}


def test_grader_gives_full_marks_to_the_solutions(tmp_path):
    got = _grade(submission(tmp_path / "03.ipynb"))
    assert {k: v[0] for k, v in got.items()} == {e.id: float(e.points) for e in LESSON03}


def test_grader_refuses_fused_attention(tmp_path):
    cheat = ("def attention(q, k, v):\n"
             "    import torch.nn.functional as F\n"
             "    return F.scaled_dot_product_attention(q, k, v, is_causal=True)\n")
    got = _grade(submission(tmp_path / "03.ipynb", **{"03_attention": cheat}))
    assert got["03.attention"][0] == 0.0 and "does not allow" in got["03.attention"][1]
    assert got["03.causal_mask"][0] == 1.0


# --- the pictures -----------------------------------------------------------------------------


def test_attention_maps_and_viewer_on_a_small_model():
    import matplotlib

    matplotlib.use("Agg")
    from gpt2course.config import GPT2Config
    from gpt2course.model import GPT2
    from gpt2course.viz.attention import attention_maps, attention_viewer

    torch.manual_seed(0)
    model = GPT2(GPT2Config(vocab_size=50, n_positions=16, n_embd=16, n_layer=2, n_head=4))
    maps = attention_maps(model.eval(), torch.tensor([[1, 2, 3, 4]]))
    assert maps.shape == (2, 4, 4, 4)
    assert torch.allclose(maps.sum(-1), torch.ones(2, 4, 4))
    assert (maps.triu(1) == 0).all()
    box = attention_viewer(maps, ["a", "b", "c", "d"])
    layer, head = box.children[0].children
    assert (layer.description, head.description) == ("layer", "head")
    layer.value, head.value = 1, 3  # redraws without error
    with pytest.raises(ValueError, match="n_layer, n_head, T, T"):
        attention_viewer(maps[0], ["a", "b", "c", "d"])
