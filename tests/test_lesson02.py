"""Lesson 02 (embeddings): correct answers and valid variants pass, known bugs are named."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from check_support import fails_with, learner, passes
from grading_support import make_submission

from gpt2course.check import run_check
from gpt2course.exercises import for_lesson
from gpt2course.grading.grade import grade_submission, load_lessons
from gpt2course.grading.sandbox import SandboxLimits

ROOT = Path(__file__).resolve().parents[1]
submission = partial(make_submission, lesson="02_embeddings")  # this lesson, solved
LESSON02 = for_lesson("02")


def test_lesson_02_has_three_exercises_in_notebook_order():
    assert [e.id for e in LESSON02] == ["02.one_hot_ids", "02.token_embedding",
                                        "02.input_embedding"]


@pytest.mark.parametrize("exercise", LESSON02, ids=lambda e: e.id)
def test_every_diagnosis_is_named_and_hidden_cases_differ(exercise):
    for diagnosis in exercise.diagnoses:
        fails_with(learner(exercise.function)(diagnosis.variant), diagnosis.message)
    public, a, b = exercise.cases(None), exercise.cases(1), exercise.cases(2)
    assert {c.name for c in public}.isdisjoint({c.name for c in a})
    assert not torch.equal(a[0].inputs["idx"], b[0].inputs["idx"])


# --- one_hot_ids ------------------------------------------------------------------------


def test_one_hot_valid_variants_pass():
    @learner("one_hot_ids")
    def by_comparison(idx, vocab_size):
        return (idx.unsqueeze(-1) == torch.arange(vocab_size)).to(torch.float32)

    @learner("one_hot_ids")
    def by_scatter(idx, vocab_size):
        out = torch.zeros(*idx.shape, vocab_size)
        return out.scatter_(-1, idx.unsqueeze(-1), 1.0)

    @learner("one_hot_ids")
    def by_eye(idx, vocab_size):
        return torch.eye(vocab_size)[idx]

    assert passes(by_comparison) and passes(by_scatter) and passes(by_eye)


def test_one_hot_wrong_dtype_gets_a_hint():
    @learner("one_hot_ids")
    def as_long(idx, vocab_size):
        return (idx.unsqueeze(-1) == torch.arange(vocab_size)).long()

    message = run_check(as_long).message
    assert "wrong dtype: expected float32, got int64" in message
    assert ".float()" in message


def test_one_hot_off_by_one_is_named():
    @learner("one_hot_ids")
    def shifted(idx, vocab_size):
        return (idx[..., None] == torch.arange(1, vocab_size + 1)).float()

    fails_with(shifted, "the 1 is one place too far")


# --- token_embedding ----------------------------------------------------------------------


def test_token_embedding_valid_variants_pass():
    @learner("token_embedding")
    def by_index(idx, wte):
        return wte[idx]

    @learner("token_embedding")
    def by_one_hot(idx, wte):
        return (idx[..., None] == torch.arange(wte.shape[0])).float() @ wte

    @learner("token_embedding")
    def by_index_select(idx, wte):
        return wte.index_select(0, idx.flatten()).view(*idx.shape, wte.shape[1])

    assert passes(by_index) and passes(by_one_hot) and passes(by_index_select)


def test_token_embedding_wrong_shape_gets_a_hint():
    @learner("token_embedding")
    def flat(idx, wte):
        return wte[idx.flatten()]

    message = run_check(flat).message
    assert "wrong shape" in message and "(B, T, C)" in message


# --- input_embedding ----------------------------------------------------------------------


def test_input_embedding_valid_variants_pass():
    @learner("input_embedding")
    def with_arange(idx, wte, wpe):
        return wte[idx] + wpe[torch.arange(idx.shape[1])]

    @learner("input_embedding")
    def with_slice_and_unsqueeze(idx, wte, wpe):
        return wte[idx] + wpe[: idx.shape[1]].unsqueeze(0)

    assert passes(with_arange) and passes(with_slice_and_unsqueeze)


def test_f_embedding_is_refused_by_check_as_by_the_grader():
    @learner("input_embedding")
    def with_f_embedding(idx, wte, wpe):
        return F.embedding(idx, wte) + F.embedding(torch.arange(idx.shape[1]), wpe)

    verdict = run_check(with_f_embedding)
    assert not verdict.passed and "F.embedding" in verdict.message


def test_position_embeddings_not_added_is_named():
    @learner("input_embedding")
    def tokens_only(idx, wte, wpe):
        return wte[idx]

    fails_with(tokens_only, "the position embeddings are not added")


def test_positions_from_token_ids_and_from_one_are_named():
    @learner("input_embedding")
    def ids_as_positions(idx, wte, wpe):
        return wte[idx] + wpe[idx]

    @learner("input_embedding")
    def from_one(idx, wte, wpe):
        return wte[idx] + wpe[1 : idx.shape[1] + 1]

    fails_with(ids_as_positions, "wpe is indexed with the token ids")
    fails_with(from_one, "positions start at 1")


# --- the grader on the real lesson ----------------------------------------------------------


# --- the kinds of bug named in issue 15, as a learner writes them ---------------------------


@pytest.mark.parametrize("fn, bug", [
    (learner("token_embedding")(lambda idx, wte: wte[:, idx]), "the ids index the columns"),
    (learner("token_embedding")(lambda idx, wte: wte.T[idx]), "the ids index the columns"),
    (learner("input_embedding")(
        lambda idx, wte, wpe: wte[idx] + wpe[torch.arange(idx.shape[0])]),
     "T is taken from the batch axis"),
    (learner("input_embedding")(lambda idx, wte, wpe: wte[idx] + wpe[:len(idx)]),
     "T is taken from the batch axis"),
    (learner("input_embedding")(lambda idx, wte, wpe: torch.cat(
        [wte[idx], wpe[: idx.shape[1]].expand(idx.shape[0], -1, -1)], dim=-1)),
     "token and position vectors are concatenated"),
    (learner("one_hot_ids")(lambda idx, vocab_size: (
        idx[..., None] == torch.arange(int(idx.max()) + 1)).float()),
     "the vector length comes from the ids"),
])
def test_issue_15_embedding_kinds_are_caught_and_named(fn, bug):
    fails_with(fn, bug)


def test_input_embedding_with_a_loop_over_positions_passes():
    @learner("input_embedding")
    def input_embedding(idx, wte, wpe):
        out = torch.stack([wte[idx[:, t]] + wpe[t] for t in range(idx.shape[1])], dim=1)
        return out

    assert passes(input_embedding)


def test_grader_gives_full_marks_to_the_solutions(tmp_path):
    result = grade_submission(submission(tmp_path / "02.ipynb"), load_lessons(ROOT / "lessons"),
                              seed=5, limits=SandboxLimits(notebook_s=90, exercise_s=20),
                              hide=(str(ROOT / "solutions"),))
    assert {e.id: e.score for e in result.exercises} == {
        "02.one_hot_ids": 1.0, "02.token_embedding": 1.0, "02.input_embedding": 2.0}


def test_grader_refuses_f_embedding(tmp_path):
    cheat = ("def token_embedding(idx, wte):\n"
             "    import torch.nn.functional as F\n"
             "    return F.embedding(idx, wte)\n")
    path = submission(tmp_path / "02.ipynb", **{"02_token_embedding": cheat})
    result = grade_submission(path, load_lessons(ROOT / "lessons"), seed=5,
                              limits=SandboxLimits(notebook_s=90, exercise_s=20),
                              hide=(str(ROOT / "solutions"),))
    scores = {e.id: e.score for e in result.exercises}
    # input_embedding calls the refused token_embedding: it keeps its points (graded with
    # a correct token_embedding), and its message names token_embedding
    assert scores == {"02.one_hot_ids": 1.0, "02.token_embedding": 0.0,
                      "02.input_embedding": 2.0}
    refused = next(e.message for e in result.exercises if e.id == "02.token_embedding")
    assert "F.embedding" in refused and "does not allow" in refused
    later = next(e.message for e in result.exercises if e.id == "02.input_embedding")
    assert "your token_embedding is what breaks it" in later


# --- more bugs, from the second bug catalog (benchmarks/bugs) --------------------------------


def test_positions_added_to_the_ids_before_the_lookup_are_named():
    @learner("input_embedding")
    def ids_plus_positions(idx, wte, wpe):
        return wte[idx + torch.arange(idx.shape[1])]

    fails_with(ids_plus_positions, "the positions are added to the token ids before")


def test_one_hot_scattered_along_the_time_axis_is_named():
    @learner("one_hot_ids")
    def scattered(idx, vocab_size):
        return torch.zeros(*idx.shape, vocab_size).scatter(1, idx[..., None], 1.0)

    fails_with(scattered, "the 1s are scattered along the wrong dimension")


def test_one_hot_scattered_along_the_last_axis_passes():
    @learner("one_hot_ids")
    def scattered(idx, vocab_size):
        return torch.zeros(*idx.shape, vocab_size).scatter(-1, idx[..., None], 1.0)

    assert passes(scattered)


def test_positions_broadcast_against_the_batch_axis_are_named():
    @learner("input_embedding")
    def misaligned(idx, wte, wpe):
        return wte[idx] + wpe[: idx.shape[1]].unsqueeze(1)

    fails_with(misaligned, "were broadcast into a bigger result")
