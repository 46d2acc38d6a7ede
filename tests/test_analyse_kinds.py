"""The analysers of ``exercises/analyse_kinds.py``: each names its kind of bug, is silent on
a correct output and on random noise, and names a learner's bug through ``check``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from check_support import SolutionCells, fails_with, learner

from gpt2course.exercises import analyse
from gpt2course.exercises import analyse_kinds as K

RNG = np.random.default_rng(1)
ROOT = Path(__file__).resolve().parents[1]
X = RNG.standard_normal((3, 8)).astype(np.float32)
TOPK = np.where(X >= np.sort(X, -1)[:, -3:-2], X, -np.inf).astype(np.float32)
IDS = [97, 256, 98, 257, 99]

# analyser, expected, the learner's wrong output, words the message must hold
FIRES = [
    (K.sorted_values, X, -np.sort(-X, -1), "sorted (descending)"),
    (K.sorted_values, TOPK, -np.sort(-TOPK, -1), "scatter them"),
    (K.sorted_values, X, np.sort(X, -1), "sorted (ascending)"),
    (K.broadcast_grew, X[None], np.broadcast_to(X, (3, 3, 8)).copy(), "were broadcast"),
    (K.broadcast_grew, X[:, 0], np.add.outer(X[:, 0], X[:, 0]), "(3, 3) where (3,)"),
    (K.offset_by_constant, IDS, [97, 0, 98, 1, 99], "off by exactly -256"),
    (K.offset_by_constant, IDS, [97, 0, 98, 1, 99], "256 + its rank"),
    (K.offset_by_constant, np.arange(5), np.arange(1, 6), "plus +1 everywhere"),
    (K.part_of_expected, [[5, 5], 3], [5, 5], "only item 0 of the 2"),
    (K.part_of_expected, [X, 7], X.copy(), "return all 2"),
    (K.too_long_or_short, X, np.concatenate([X, X[:, :1]], 1), "one step too far"),
    (K.too_long_or_short, X, np.concatenate([X, X[:, :3]], 1), "3 steps too far"),
    (K.too_long_or_short, X, X[:, :5].copy(), "stops early: 5 of the 8"),
    (K.text_cut_elsewhere, ["The", " dog", "."], ["The ", "dog", "."], "piece 0 is 'The '"),
    (K.text_cut_elsewhere, ["a", "!!"], ["a", "!", "!"], "piece 1 is '!'"),
    (K.repeated_item, [[97, 97], [256, 97], [257, 98]], [[97, 97]] * 3, "repeats one item"),
    (K.missing_input_factor, X * X, X.copy(), "a factor x is missing"),
    (K.missing_input_factor, X.copy(), X * X, "x is multiplied in once too often"),
]
SIZES = {"init": {"vocab_size": 50, "n_positions": 8}, "args": {"idx": np.zeros((2, 6))}}


@pytest.mark.parametrize("analyser, expected, got, words", FIRES,
                         ids=[f"{f[0].__name__}-{n}" for n, f in enumerate(FIRES)])
def test_analyser_names_its_kind(analyser, expected, got, words):
    found = analyser(expected, got, {"x": X})
    assert found and words in found, found


def test_a_wrong_size_is_named_by_the_input_size_it_equals():
    found = K.size_named(np.zeros((2, 6, 50)), np.zeros((2, 6, 8)), SIZES)
    assert found and "size 8 (= n_positions) where 50 (= vocab_size)" in found, found
    assert K.size_named(np.zeros((2, 6, 50)), np.zeros((2, 6, 7)), SIZES) is None


CORRECT = [X, TOPK, X[:, 0], np.arange(5), IDS, [[5, 5], 3], [X, 7], ["The", " dog", "."],
           np.sort(X, -1), "text", 3]


@pytest.mark.parametrize("analyser", K.KIND_ANALYSERS, ids=lambda a: a.__name__)
@pytest.mark.parametrize("expected", range(len(CORRECT)))
def test_analyser_is_silent_on_a_correct_output(analyser, expected):
    value = CORRECT[expected]
    assert analyser(value, value, {"x": X, **SIZES}) is None


@pytest.mark.parametrize("analyser", K.KIND_ANALYSERS, ids=lambda a: a.__name__)
def test_analyser_is_silent_on_random_noise(analyser):
    noise = RNG.standard_normal(X.shape).astype(np.float32)
    assert analyser(X, noise, {"x": X}) is None
    assert analyser(IDS, [5, 1, 7, 300, 2], {}) is None
    assert analyser(["ab", "c"], ["x", "yz"], {}) is None


def test_one_wrong_id_by_a_chance_amount_is_not_called_an_offset():
    # One differing item off by 6 is no pattern; off by 256 (the byte tokens) is one.
    assert K.offset_by_constant([1, 2, 3, 8], [1, 2, 3, 2], {}) is None
    assert K.offset_by_constant([1, 2, 3, 300], [1, 2, 3, 44], {})


def test_sorted_rows_are_named_before_the_vaguer_layout_analyser():
    kinds = analyse.ANALYSERS.index(K.sorted_values)
    assert kinds < analyse.ANALYSERS.index(analyse.wrong_layout)
    assert analyse.explain(X, -np.sort(-X, -1), {}).startswith("each row of your output")


# --- through check, as a learner writes the bug ---------------------------------------------


def test_top_k_that_returns_the_sorted_logits_is_named():
    @learner("top_k_logits")
    def sorted_top_k(logits, k):
        values, _ = torch.sort(logits, dim=-1, descending=True)
        values[..., k:] = float("-inf")
        return values

    fails_with(sorted_top_k, "but sorted (descending)")


def test_encode_chunk_that_forgets_the_256_offset_is_named():
    @learner("encode_chunk")
    def rank_as_id(ids, merges):
        ranks = {tuple(pair): i for i, pair in enumerate(merges)}
        ids = list(ids)
        while len(ids) >= 2:
            known = [p for p in zip(ids, ids[1:], strict=False) if p in ranks]
            if not known:
                break
            best = min(known, key=ranks.get)
            out, i = [], 0
            while i < len(ids):
                if tuple(ids[i:i + 2]) == best:
                    out.append(ranks[best])
                    i += 2
                else:
                    out.append(ids[i])
                    i += 1
            ids = out
        return ids

    fails_with(rank_as_id, "a merged token's id is 256 + its rank")


def test_split_on_spaces_is_named_as_cut_in_other_places():
    @learner("split_chunks")
    def on_spaces(text):
        words = text.split(" ")
        return [words[0]] + [" " + w for w in words[1:]]

    fails_with(on_spaces, "cut in other places")


GENERATE = ('''def generate_tokens(model, idx, max_new_tokens, *, greedy=False, temperature=1.0,
                    top_k=None, top_p=None, generator=None, stop_token=None):
    for _ in range(max_new_tokens + 1):
        logits, _ = model(idx[:, -model.config.n_positions:])
        last = logits[:, -1, :]
        nxt = greedy_next(last) if greedy else sample_token(last, generator, temperature,
                                                             top_k, top_p)
        idx = torch.cat([idx, nxt[:, None]], dim=1)
    return idx
''')


def test_generation_one_token_too_far_is_named():
    notebook = SolutionCells(ROOT / "solutions" / "06_sampling.ipynb")
    verdict = notebook.verdict("generate_tokens", **{"06_generate_tokens": GENERATE})
    assert not verdict.passed and "a loop runs one step too far" in verdict.message
