"""The exercise registry, the comparisons, and the in-notebook ``check``."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

import gpt2course
from gpt2course.check import check, run_check
from gpt2course.exercises import all_exercises, by_function, by_id, for_lesson
from gpt2course.exercises.core import close, exact, frequencies_match
from gpt2course.model import gelu as reference_gelu

LESSON04 = for_lesson("04")


def test_registry_finds_exercises_by_id_function_and_lesson():
    assert by_id("04.gelu") is by_function("gelu")
    assert [e.id for e in LESSON04] == ["04.gelu", "04.mlp", "04.MLP"]
    ids = [e.id for e in all_exercises()]
    assert len(ids) == len(set(ids))
    assert by_function("no_such_thing") is None


def test_hidden_cases_depend_on_the_seed_and_differ_from_public():
    for exercise in LESSON04:
        public, a, b = exercise.cases(None), exercise.cases(1), exercise.cases(2)
        first = next(iter(a[0].inputs.values()))
        if isinstance(first, dict):  # the module exercise: compare the input x
            first = a[0].inputs["args"]["x"]
            other = b[0].inputs["args"]["x"]
        else:
            other = next(iter(b[0].inputs.values()))
        assert not torch.equal(first, other)
        assert {c.name for c in public}.isdisjoint({c.name for c in a})
        again = exercise.cases(1)
        assert [c.name for c in again] == [c.name for c in a]


def test_reference_passes_its_own_check(capsys):
    def gelu(x):
        return reference_gelu(x)

    check(gelu)
    assert capsys.readouterr().out == ("gelu: the 2 public cases passed (the grade also runs "
                                      "hidden cases).\n")


@pytest.mark.parametrize("exercise", [e for e in LESSON04 if e.diagnoses and e.adapter == "call"],
                         ids=lambda e: e.id)
def test_each_known_bug_is_named(exercise):
    for diagnosis in exercise.diagnoses:
        bug = diagnosis.variant
        bug.__name__ = exercise.function
        verdict = run_check(bug)
        assert not verdict.passed
        assert verdict.message.endswith("Likely bug: " + diagnosis.message)


def test_failure_shows_expected_got_and_first_wrong_position():
    def gelu(x):
        return 0.5 * x * (1 + torch.erf(x / math.sqrt(2)))

    text = run_check(gelu).message
    assert 'case 1 of 2 failed ("9 numbers from -4 to 4")' in text
    assert "expected a tensor of shape (9,) and dtype float32" in text
    assert "max error" in text and "first wrong value at [0]" in text


def test_wrong_shape_and_dtype_are_named():
    def gelu(x):
        return x.sum()

    assert "wrong shape: expected (9,), got ()" in run_check(gelu).message

    def gelu(x):  # noqa: F811 - the learner tries again
        return reference_gelu(x).double()

    assert "wrong dtype: expected float32, got float64" in run_check(gelu).message


def test_nan_output_is_named():
    def gelu(x):
        return x * float("nan")

    assert "NaN or inf" in run_check(gelu).message


def test_learner_error_shows_their_traceback_only():
    def gelu(x):
        return x + undefined_name  # noqa: F821

    text = run_check(gelu).message
    assert "Your code raised an error" in text
    assert "NameError: name 'undefined_name' is not defined" in text
    frames = [line.strip() for line in text.splitlines() if line.strip().startswith("File ")]
    assert frames and all(", in gelu" in f for f in frames), frames  # only the learner's frame
    package = Path(gpt2course.__file__).parent
    assert str(package) not in text and "calling.py" not in text  # no frames of the package


def test_unfilled_exercise_says_not_written_yet():
    def gelu(x):
        raise NotImplementedError()

    assert "not written yet" in run_check(gelu).message


def test_objects_that_claim_equality_are_refused():
    class AlwaysEqual:
        def __eq__(self, other):
            return True

    def gelu(x):
        return AlwaysEqual()

    verdict = run_check(gelu)
    assert not verdict.passed and "Return a torch.Tensor" in verdict.message


def test_tensor_subclasses_are_refused():
    class Sneaky(torch.Tensor):
        pass

    def gelu(x):
        return reference_gelu(x).as_subclass(Sneaky)

    verdict = run_check(gelu)
    assert not verdict.passed and "Sneaky" in verdict.message


def test_check_of_something_unknown_says_what_to_pass():
    assert "check(gelu), not check(gelu(x))" in run_check(3)


def test_module_exercise_goes_through_the_adapter():
    class MLP(torch.nn.Module):
        def __init__(self, n_embd):
            super().__init__()
            self.c_fc = torch.nn.Linear(n_embd, 4 * n_embd)
            self.c_proj = torch.nn.Linear(4 * n_embd, n_embd)

        def forward(self, x):
            return self.c_proj(reference_gelu(self.c_fc(x)))

    assert run_check(MLP).passed

    class MLP(torch.nn.Module):  # noqa: F811 - wrong parameter names
        def __init__(self, n_embd):
            super().__init__()
            self.fc = torch.nn.Linear(n_embd, 4 * n_embd)

    assert "c_fc.weight" in run_check(MLP).message


def test_exact_and_close_comparisons():
    a = np.arange(6, dtype=np.int64).reshape(2, 3)
    assert exact(a, a.copy()) is None
    b = a.copy()
    b[1, 2] = 9
    assert "first difference at [1, 2]" in exact(a, b).details[0]
    assert exact([1, 2, "x"], [1, 2, "x"]) is None
    assert exact([1, 2], [1, 2.0]) is not None  # a float is not a token id
    x = np.ones(3, dtype=np.float32)
    assert close(1e-5, 0)(x, x + 1e-6) is None
    assert close(1e-5, 0)(x, x + 1e-3) is not None


def test_frequencies_match_accepts_a_fair_sampler_and_rejects_a_wrong_one():
    probs = np.array([[0.5, 0.3, 0.2, 0.0]])
    rng = np.random.default_rng(0)
    fair = rng.choice(4, size=(1, 4000), p=probs[0])
    compare = frequencies_match(0.05)
    assert compare(probs, fair) is None
    uniform = rng.choice(3, size=(1, 4000))
    assert "do not follow" in compare(probs, uniform).summary
    impossible = fair.copy()
    impossible[0, 0] = 3
    assert "probability 0" in compare(probs, impossible).summary


def test_close_requires_the_same_inf_where_the_reference_has_one():
    """A tolerance times inf is inf: without care, any finite value would pass there."""
    import numpy as np

    from gpt2course.exercises.core import close

    compare = close(atol=1e-5, rtol=1e-4)
    expected = np.array([1.0, -np.inf, 2.0], dtype=np.float32)
    assert compare(expected, expected.copy()) is None
    leak = compare(expected, np.array([1.0, -1e9, 2.0], dtype=np.float32))
    assert leak is not None and "expected -inf, got -1e+09" in leak.details[0]
    nan = compare(expected, np.array([1.0, -np.inf, np.nan], dtype=np.float32))
    assert nan is not None and "NaN or inf where a number is expected" in nan.summary
