"""Each general difference analyser on its own: it names its kind of mistake, and it is
silent on a correct output (and on a mistake of another kind)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from gpt2course.check import run_check
from gpt2course.exercises import analyse as A

RNG = np.random.default_rng(0)


def _x(*shape: int, scale: float = 1.0) -> np.ndarray:
    return (RNG.standard_normal(shape) * scale).astype(np.float32)


def _softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    e = np.exp(x - x.max(axis, keepdims=True))
    return (e / e.sum(axis, keepdims=True)).astype(np.float32)


SCORES = _x(2, 3, 5, 5)
PROBS = _softmax(_x(2, 3, 4, 6))
BIAS = _x(6)
X = _x(2, 4, 6)
HS = 8

# analyser, expected, the learner's wrong output, inputs, words the message must hold
FIRES = [
    (A.dtype_only, X, X.astype(np.float64), {}, "only the dtype differs"),
    (A.shape_only, X, X.reshape(1, 2, 4, 6), {}, "only the shape differs"),
    (A.permuted_axes, SCORES, SCORES.swapaxes(-1, -2).copy(), {}, "axes 2 and 3 swapped"),
    (A.permuted_axes, SCORES, SCORES.transpose(3, 2, 1, 0).copy(), {}, "order (3, 2, 1, 0)"),
    (A.reordered_along_axis, X, X[:, ::-1].copy(), {}, "axis 1 are in reverse order"),
    (A.reordered_along_axis, X, X[:, [1, 0, 2, 3]].copy(), {}, "wrong order along axis 1"),
    (A.shifted_by_one, X, np.concatenate([X[:, :1], X[:, :-1]], 1), {}, "i - 1"),
    (A.shifted_by_one, X, np.concatenate([X[:, 1:], X[:, -1:]], 1), {}, "i + 1"),
    (A.constant_factor, X, X * math.sqrt(HS), {"q": _x(1, 2, 3, HS)}, "sqrt(8)"),
    (A.constant_factor, X, X / HS, {"q": _x(1, 2, 3, HS)}, "1/8"),
    (A.constant_factor, X, X * 0.37, {}, "0.37"),
    (A.constant_factor, X, -X, {}, "opposite sign"),
    (A.unchanged_input, np.where(np.tril(np.ones((5, 5))) > 0, SCORES, -np.inf)
     .astype(np.float32), SCORES, {"scores": torch.from_numpy(SCORES)}, "input scores"),
    (A.not_normalised, PROBS, PROBS * 1.5, {}, "do not sum to 1"),
    (A.not_normalised, PROBS, _softmax(np.log(PROBS), axis=1), {}, "along axis 1"),
    (A.overflow_on_large_inputs, PROBS, np.full_like(PROBS, np.nan),
     {"logits": np.log(PROBS) * 100}, "Subtract the row's maximum"),
    (A.wrong_layout, X, X.reshape(2, 6, 4).swapaxes(1, 2).reshape(2, 4, 6).copy(), {},
     "arranged differently"),
    (A.missing_bias, X + BIAS, X, {"x": X, "c_proj_bias": BIAS}, "c_proj_bias: that bias is not"),
    (A.missing_bias, X + BIAS, X + 2 * BIAS, {"bias": BIAS}, "added twice"),
    (A.localised, np.tril(SCORES), np.tril(SCORES, -1), {}, "diagonal j - i = 0"),
    (A.localised, X, np.concatenate([X[:, :3], X[:, 3:] + 1], 1), {}, "index 3 of axis 1"),
    (A.sequence_items, [1, 2, 3, 4], [2, 3, 4], {}, "first item is missing"),
    (A.sequence_items, [1, 2, 3, 4], [1, 2, 3], {}, "last item is missing"),
    (A.sequence_items, [1, 2, 3, 4], [1, 3, 4], {}, "at position 1"),
    (A.sequence_items, [1, 2, 3, 4], [1, 2, 3, 4, 5], {}, "extra item at the end"),
    (A.sequence_items, [1, 2, 3, 4], [0, 1, 2, 3, 4], {}, "extra item at the start"),
    (A.sequence_items, np.array([5, 6, 7]), np.array([5, 6]), {}, "last item is missing"),
]


@pytest.mark.parametrize("analyser, expected, got, inputs, words", FIRES,
                         ids=[f"{f[0].__name__}-{n}" for n, f in enumerate(FIRES)])
def test_analyser_names_its_kind(analyser, expected, got, inputs, words):
    plain = {k: A._array(v) for k, v in inputs.items()}
    found = analyser(expected, got, plain)
    assert found and words in found, found


@pytest.mark.parametrize("analyser", A.ANALYSERS, ids=lambda a: a.__name__)
def test_analyser_is_silent_on_a_correct_output(analyser):
    symmetric = SCORES + SCORES.swapaxes(-1, -2)  # a transpose changes nothing here
    for expected, inputs in ((X, {"x": X}), (PROBS, {}), (symmetric, {}), (X + BIAS, {"b": BIAS}),
                             ([1, 2, 3], {}), (np.zeros((3, 4), np.float32), {})):
        got = expected.copy() if isinstance(expected, np.ndarray) else list(expected)
        assert analyser(expected, got, inputs) is None, (analyser.__name__, expected)


@pytest.mark.parametrize("analyser", A.ANALYSERS, ids=lambda a: a.__name__)
def test_analyser_is_silent_on_random_noise(analyser):
    """A wrong output with no structure is not given a made-up name."""
    noise = _x(2, 4, 6)
    assert analyser(X, noise, {"x": X}) is None


def test_explain_tries_them_in_order_and_never_fires_on_equal_outputs():
    assert A.explain(X, X.copy(), {}) is None
    assert "swapped" in A.explain(SCORES, SCORES.swapaxes(-1, -2).copy(), {})


def test_an_analyser_names_a_bug_no_known_variant_covers():
    """Through check: attention scores halved once too often (no known bug of lesson 03)."""
    def attention_scores(q, k):
        return q @ k.transpose(-2, -1) / (2 * math.sqrt(q.size(-1)))

    message = run_check(attention_scores).message
    assert "Likely bug: your output is the expected one times 0.5" in message, message
