"""What a learner's function returns is part of each exercise: a numpy array, a tensor
subclass, None, a float where an int is due ... fail by name, in check and in the grade
alike; a verdict never says the same line twice; ``from gpt2course import check`` is
callable; a timed-out check stops the learner's loop even off the main thread."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
import torch

from gpt2course.check import TimeUp, run_check, within
from gpt2course.exercises import all_exercises, by_id
from gpt2course.exercises.plain import NotPlain, check_returns, spec_of
from gpt2course.exercises.returns import returned_text

CALLS = [e for e in all_exercises() if e.adapter == "call"]


def _as(exercise, change):
    """The reference of ``exercise``, its output passed through ``change``, named as the
    learner's function."""

    def learner(**inputs):
        with torch.no_grad():
            return change(exercise.reference(**inputs))

    learner.__name__ = exercise.function
    return learner


def _wrong_kind(value):
    """The same values in another kind: a tensor as a numpy array, an int as a tensor, a
    list of ints as a numpy array, a str as bytes, None as 0."""
    if isinstance(value, torch.Tensor):
        return value.numpy()
    if isinstance(value, bool) or value is None:
        return 0
    if isinstance(value, int):
        return torch.tensor(value)
    if isinstance(value, str):
        return value.encode()
    if isinstance(value, (list, tuple)):
        if value and all(isinstance(v, torch.Tensor) for v in value):
            return [v.numpy() for v in value]
        try:
            return np.array(value)
        except (TypeError, ValueError):
            return tuple(_wrong_kind(v) for v in value)
    return object()


@pytest.mark.parametrize("exercise", CALLS, ids=lambda e: e.id)
def test_the_reference_meets_its_own_contract_and_another_kind_fails(exercise):
    assert run_check(_as(exercise, lambda v: v)).passed
    verdict = run_check(_as(exercise, _wrong_kind))
    assert not verdict.passed
    assert "Your code returned" in verdict.message or "of what your code returned" in \
        verdict.message, verdict.message


@pytest.mark.parametrize("exercise_id, change, words", [
    ("04.gelu", lambda v: v.numpy(), "returned a numpy array. Return a torch.Tensor"),
    ("04.gelu", lambda v: None, "Is a return statement missing"),
    ("04.gelu", lambda v: v.bfloat16(), "cannot read"),
    ("04.gelu", lambda v: torch.nn.Parameter(v), "a subclass of torch.Tensor"),
    ("04.gelu", lambda v: [v], "expected a tensor of shape (9,), got a sequence of 1"),
    ("03.cached_attention", lambda v: (v[0].numpy(), *v[1:]), "Item [0] of what"),
    ("05.count_parameters", lambda v: torch.tensor(v), ".item()"),
    ("05.count_parameters", float, "returned a Python float. Return a Python int"),
    ("01.text_to_bytes", lambda v: np.array(v), "returned a numpy array. Return a list"),
    ("01.text_to_bytes", lambda v: torch.tensor(v), "expected a sequence of 9 items, got a "
     "tensor"),
    ("01.text_to_bytes", lambda v: [float(b) for b in v], "Item [0] of what"),
    ("01.decode_tokens", lambda v: v.encode(), "Return a str"),
    ("06.greedy_next", lambda v: v.numpy(), "returned a numpy array. Return a torch.Tensor"),
])
def test_a_wrong_kind_is_named_with_the_fix(exercise_id, change, words):
    verdict = run_check(_as(by_id(exercise_id), change))
    assert not verdict.passed and words in verdict.message, verdict.message


@pytest.mark.parametrize("exercise_id, change", [
    ("05.count_parameters", np.int64),   # a numpy integer is an int (the contract says so)
    ("01.text_to_bytes", tuple),         # a tuple of ints for a list of ints
    ("01.most_common_pair", lambda v: v if v is None else (tuple(v[0]), v[1])),
])
def test_equivalent_kinds_that_the_contract_allows_pass(exercise_id, change):
    verdict = run_check(_as(by_id(exercise_id), change))
    assert verdict.passed, verdict.message


def test_classes_and_samplers_have_contracts_too():
    class AsNumpy(torch.nn.Module):
        def __init__(self, n_embd):
            super().__init__()
            self.weight = torch.nn.Parameter(torch.ones(n_embd))
            self.bias = torch.nn.Parameter(torch.zeros(n_embd))

        def forward(self, x):
            mean, var = x.mean(-1, keepdim=True), x.var(-1, unbiased=False, keepdim=True)
            return ((x - mean) / (var + 1e-5).sqrt() * self.weight + self.bias).numpy()

    AsNumpy.__name__ = "LayerNorm"
    assert "numpy array" in run_check(AsNumpy, source="").message

    def sample_token(logits, generator, temperature=1.0, top_k=None, top_p=None):
        return torch.multinomial(torch.softmax(logits, -1), 1, generator=generator)[:, 0].numpy()

    assert "numpy array" in run_check(sample_token).message


def test_contracts_from_reference_outputs():
    assert spec_of(np.zeros(3)) == "tensor"
    assert spec_of([[1, 2], 3]) == {"items": [{"seq": "int"}, "int"]}
    assert spec_of([1, 2]) == {"seq": "int"}
    assert spec_of(None) == "none"
    assert check_returns(np.int64(3), "int") == 3
    for value, spec in [(True, "int"), (np.float32(1), "int"), ([1, "a"], {"seq": "int"}),
                        (torch.zeros(2).as_subclass(torch.nn.Parameter), "tensor")]:
        with pytest.raises(NotPlain):
            check_returns(value, spec)


def test_a_record_from_the_learners_process_is_worded_safely():
    text = returned_text({"got": "rm -rf", "type": "x" * 10_000 + "\x1b[2J", "where": 5,
                          "want": {"seq": {"seq": {"seq": {"seq": {"seq": {"seq": "int"}}}}}}})
    assert len(text) < 800 and "\x1b" not in text and "Your code returned" in text
    assert "Your code returned" in returned_text("not a dict")


# --- no line twice ---------------------------------------------------------------------------


def _lines_once(message: str) -> None:
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    twice = {line for line in lines if lines.count(line) > 1}
    assert not twice, message


@pytest.mark.parametrize("exercise", CALLS, ids=lambda e: e.id)
def test_no_verdict_says_a_line_twice(exercise):
    attempts = [_as(exercise, lambda v: None), _as(exercise, _wrong_kind)]
    for diagnosis in exercise.diagnoses:
        variant = diagnosis.variant
        attempts.append(lambda variant=variant, **kw: variant(**kw))
    for attempt in attempts:
        attempt.__name__ = exercise.function
        _lines_once(run_check(attempt, source="").message)


# --- `from gpt2course import check` --------------------------------------------------------------


def test_from_gpt2course_import_check_can_be_called(capsys):
    from gpt2course import check

    gelu = _as(by_id("04.gelu"), lambda v: v)
    check(gelu)
    import gpt2course

    gpt2course.check(gelu)
    from gpt2course.check import check as the_function

    the_function(gelu)
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 3 and all(line.startswith("gelu: the 2 public cases passed")
                                 for line in out), out


# --- the time limit off the main thread ----------------------------------------------------------


def _endless(swallow: int = 0) -> None:
    caught = 0
    while True:
        try:
            while True:
                pass
        except BaseException:  # noqa: BLE001 - a learner's loop that swallows one stop
            caught += 1
            if caught > swallow:
                raise


@pytest.mark.parametrize("swallow", [0, 1])
def test_a_timed_out_thread_is_stopped(swallow):
    outcome: dict = {}

    def in_a_thread() -> None:  # not the main thread: no SIGALRM; the thread fallback runs
        try:
            within(0.3, lambda: _endless(swallow))
        except TimeUp:
            outcome["timed out"] = True

    before = set(threading.enumerate())
    runner = threading.Thread(target=in_a_thread)
    runner.start()
    runner.join(10)
    assert outcome.get("timed out")
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and set(threading.enumerate()) - before:
        time.sleep(0.05)
    assert not set(threading.enumerate()) - before, "the learner's loop is still running"
