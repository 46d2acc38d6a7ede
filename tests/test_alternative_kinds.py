"""Kinds of valid code that must not fail for their form (tests/alternatives/ holds whole
solutions of each kind; these pin the pieces): numpy scalars and namedtuples in what a
function returns, parameters renamed by the learner."""

from __future__ import annotations

import collections

import numpy as np
import pytest
import torch

from gpt2course.exercises.calling import as_written
from gpt2course.exercises.plain import NotPlain, check_returns, to_plain


@pytest.mark.parametrize("value", [np.uint8(7), np.int16(7), np.uint64(7), np.int32(7)])
def test_numpy_integers_of_any_width_are_ints(value):
    assert to_plain(check_returns([value, 3], {"seq": "int"})) == [7, 3]


def test_a_namedtuple_is_a_tuple_and_a_tuple_that_compares_its_own_way_is_not():
    Pair = collections.namedtuple("Pair", "pair count")  # noqa: PYI024 - what learners write
    got = check_returns(Pair((1, np.int64(2)), 3), {"items": [{"seq": "int"}, "int"]})
    assert to_plain(got) == [[1, 2], 3]

    class Always(tuple):
        def __eq__(self, other):
            return True

        __hash__ = tuple.__hash__

    with pytest.raises(NotPlain):
        check_returns(Always(((1, 2), 3)), {"items": [{"seq": "int"}, "int"]})
    with pytest.raises(NotPlain):
        to_plain(Always((1,)))
    with pytest.raises(NotPlain, match="torch.return_types"):  # (values, indices): named
        check_returns(torch.zeros(2, 3).max(dim=-1), "tensor")


def test_renamed_parameters_go_by_position_and_the_rest_by_name():
    def sample(logits, gen, temp=1.0, k=None, p=None):
        return logits, gen, temp, k, p

    inputs = {"logits": 1, "generator": 2, "temperature": 3, "top_k": 4, "top_p": 5}
    assert as_written(sample, inputs) == (1, 2, 3, 4, 5)

    def generate(lm, prompt, steps, *, top_k=None, generator=None):
        return lm, prompt, steps, top_k, generator

    inputs = {"model": "m", "idx": "i", "max_new_tokens": 4, "top_k": 2, "generator": "g"}
    assert as_written(generate, inputs) == ("m", "i", 4, 2, "g")

    def missing(logits, generator):
        return logits

    with pytest.raises(TypeError, match="temperature"):
        as_written(missing, {"logits": torch.zeros(1), "generator": None, "temperature": 1.0})
