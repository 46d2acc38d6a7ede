"""Kinds of learner bug named since the third held-out catalog (benchmarks/bugs/holdout3.py):
the analysers of ``exercises/analyse_values.py``, swapped axes named before a reshape, and
the known bugs they showed missing (a merge that never skips, special tokens dropped, one
position vector for all, a top-k cut-off from an ascending sort, a generation loop that stops
when one row does, a (B, 1) draw, a pair returned the wrong way round), and those a fourth
probe (holdout4.py) showed: text changed before cutting, torch.max's (values, indices),
logits divided in place, the least frequent pair, softmax over a cached step's query axis,
a loop that appends to the prompt)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import regex
import torch
from check_support import SolutionCells, fails_with, learner

from gpt2course.check import run_check
from gpt2course.exercises import analyse
from gpt2course.exercises import analyse_values as V

ROOT = Path(__file__).resolve().parents[1]
RNG = np.random.default_rng(3)
X = RNG.standard_normal((3, 8)).astype(np.float32)
PIECES = ["The", " dog", "."]


def test_nearly_equal_names_values_a_little_off_everywhere():
    found = V.nearly_equal(X, X * np.float32(1.002), {})
    assert found and "too few digits" in found, found
    assert V.nearly_equal(X, X.copy(), {}) is None
    assert V.nearly_equal(X, X * 1.1, {}) is None  # far off: not "nearly"
    assert V.nearly_equal(X, RNG.standard_normal(X.shape).astype(np.float32), {}) is None
    one_off = X.copy()
    one_off[0, 0] += 1e-3
    assert V.nearly_equal(X, one_off, {}) is None  # one value: no pattern


def test_empty_pieces_names_a_split_that_keeps_what_lies_between():
    found = V.empty_pieces(PIECES, ["", "", "", ""], {})
    assert found and "regex.findall" in found and "4 of your 4" in found, found
    assert V.empty_pieces(PIECES, list(PIECES), {}) is None
    assert V.empty_pieces(["a", ""], ["", "a"], {}) is None  # "" is expected there
    assert V.empty_pieces([1, 2], [1, 0], {}) is None


@pytest.mark.parametrize("analyser", V.VALUE_ANALYSERS, ids=lambda a: a.__name__)
def test_value_analysers_run_in_explain(analyser):
    assert analyser in analyse.ANALYSERS


def test_swapped_axes_of_size_one_are_named_as_swapped_not_as_a_reshape():
    expected = X[None]  # (1, 3, 8)
    found = analyse.explain(expected, expected.transpose(1, 0, 2).copy(), {})
    assert found and "axes 0 and 1 swapped" in found, found
    assert "only the shape differs" in analyse.explain(X, X.reshape(1, 3, 8), {})


# --- through check, as a learner writes the bug ---------------------------------------------


def test_gelu_with_a_rounded_constant_is_named():
    @learner("gelu")
    def gelu(x):
        return 0.5 * x * (1 + torch.tanh(0.8 * (x + 0.044715 * x**3)))

    fails_with(gelu, "too few digits")


def test_split_that_returns_what_lies_between_the_matches_is_named():
    pattern = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""

    @learner("split_chunks")
    def split_chunks(text):
        return regex.split(pattern, text)

    fails_with(split_chunks, "use regex.findall")


def test_merge_that_moves_on_by_one_and_keeps_the_last_id_is_named():
    @learner("merge_pair")
    def merge_pair(ids, pair, new_id):
        out, i = [], 0
        while i < len(ids):
            at_pair = i + 1 < len(ids) and ids[i] == pair[0] and ids[i + 1] == pair[1]
            out.append(new_id if at_pair else ids[i])
            i += 1
        return out

    fails_with(merge_pair, "skip the second id of the pair")


def test_input_embedding_with_one_position_for_all_is_named():
    @learner("input_embedding")
    def input_embedding(idx, wte, wpe):
        return wte[idx] + wpe[idx.shape[1]]

    fails_with(input_embedding, "the same position vector")


def test_input_embedding_with_positions_backwards_is_named():
    @learner("input_embedding")
    def input_embedding(idx, wte, wpe):
        T = idx.shape[1]
        return wte[idx] + wpe[torch.arange(T - 1, -1, -1)]

    fails_with(input_embedding, "the positions run backwards")


def test_top_k_cut_off_from_an_ascending_sort_is_named():
    @learner("top_k_logits")
    def top_k_logits(logits, k):
        cutoff = torch.sort(logits, dim=-1).values[:, k - 1:k]
        return logits.masked_fill(logits < cutoff, float("-inf"))

    fails_with(top_k_logits, "the cut-off comes from the wrong end")


def test_sampler_returning_one_column_of_draws_is_told_to_squeeze():
    @learner("sample_token")
    def sample_token(logits, generator, temperature=1.0, top_k=None, top_p=None):
        probs = torch.softmax(logits / temperature, dim=-1)
        return torch.multinomial(probs, 1, generator=generator)

    verdict = run_check(sample_token)
    assert not verdict.passed and ".squeeze(-1)" in verdict.message, verdict.message


def test_pair_and_count_returned_the_wrong_way_round_is_named():
    @learner("most_common_pair")
    def most_common_pair(ids):
        counts = {}
        for pair in zip(ids, ids[1:], strict=False):
            counts[pair] = counts.get(pair, 0) + 1
        if not counts:
            return None
        best = max(counts, key=counts.get)
        return counts[best], best

    verdict = run_check(most_common_pair)
    assert not verdict.passed and "in the wrong order" in verdict.message, verdict.message


def test_special_tokens_dropped_by_a_split_without_brackets_is_named():
    notebook = SolutionCells(ROOT / "solutions" / "01_tokenizer.ipynb")
    verdict = notebook.verdict("encode_text", **{"01_encode_text": '''
def encode_text(text, merges, special_tokens=None, byte_ids=None):
    special_tokens = special_tokens or {}
    byte_ids = byte_ids or list(range(256))
    pieces = [text]
    if special_tokens:
        pieces = regex.split("|".join(regex.escape(s) for s in special_tokens), text)
    out = []
    for piece in pieces:
        for chunk in split_chunks(piece):
            out += encode_chunk([byte_ids[b] for b in chunk.encode("utf-8")], merges)
    return out
'''})
    assert not verdict.passed and "special tokens are missing" in verdict.message


def test_generation_that_stops_when_one_row_does_is_named():
    notebook = SolutionCells(ROOT / "solutions" / "06_sampling.ipynb")
    verdict = notebook.verdict("generate_tokens", **{"06_generate_tokens": '''
def generate_tokens(model, idx, max_new_tokens, *, greedy=False, temperature=1.0, top_k=None,
                    top_p=None, generator=None, stop_token=None):
    for _ in range(max_new_tokens):
        logits, _ = model(idx[:, -model.config.n_positions:])
        last = logits[:, -1, :]
        nxt = greedy_next(last) if greedy else sample_token(last, generator, temperature,
                                                             top_k, top_p)
        idx = torch.cat([idx, nxt[:, None]], dim=1)
        if stop_token is not None and (nxt == stop_token).any():
            break
    return idx
'''})
    assert not verdict.passed and "as soon as one row produces stop_token" in verdict.message




def test_text_changed_names_pieces_that_no_longer_join_back_to_the_text():
    text = {"text": "The dog."}
    found = V.text_changed(PIECES, ["the", " dog", "."], text)
    assert found and "lower-cased" in found, found
    found = V.text_changed(PIECES, ["The", "dog", "."], text)
    assert found and "from character 3 on" in found, found
    assert V.text_changed(PIECES, list(PIECES), text) is None
    assert V.text_changed(PIECES, ["The ", "dog", "."], text) is None  # joins back: cut elsewhere


def test_split_of_a_lower_cased_text_is_named():
    pattern = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""

    @learner("split_chunks")
    def split_chunks(text):
        return regex.findall(pattern, text.lower())

    fails_with(split_chunks, "lower-cased")


def test_torch_max_pair_returned_is_told_to_take_values_or_indices():
    @learner("greedy_next")
    def greedy_next(logits):
        return torch.max(logits, dim=-1)

    verdict = run_check(greedy_next)
    assert not verdict.passed and ".indices" in verdict.message, verdict.message


def test_temperature_that_divides_the_logits_in_place_is_caught():
    @learner("temperature_probs")
    def temperature_probs(logits, temperature):
        logits /= temperature
        return torch.softmax(logits, dim=-1)

    verdict = run_check(temperature_probs)
    assert not verdict.passed and "logits" in verdict.message, verdict.message


def test_training_on_the_least_frequent_pair_is_named():
    @learner("train_bpe")
    def train_bpe(chunks, num_merges):
        seqs = [list(c.encode("utf-8")) for c in chunks]
        merges = []
        for k in range(num_merges):
            counts = {}
            for ids in seqs:
                for pair in zip(ids, ids[1:], strict=False):
                    counts[pair] = counts.get(pair, 0) + 1
            if not counts:
                break
            best = min(counts, key=counts.get)
            merges.append(best)
            out = []
            for ids in seqs:
                new, i = [], 0
                while i < len(ids):
                    hit = i + 1 < len(ids) and (ids[i], ids[i + 1]) == best
                    new.append(256 + k if hit else ids[i])
                    i += 2 if hit else 1
                out.append(new)
            seqs = out
        return merges

    fails_with(train_bpe, "the least frequent pair was merged")


def test_cached_softmax_over_the_query_axis_is_named():
    @learner("cached_attention")
    def cached_attention(q, k, v, k_cache, v_cache):
        k_all, v_all = torch.cat([k_cache, k], dim=2), torch.cat([v_cache, v], dim=2)
        scores = q @ k_all.transpose(-2, -1) / q.shape[-1] ** 0.5
        return torch.softmax(scores, dim=2) @ v_all, k_all, v_all

    fails_with(cached_attention, "softmax runs over the query axis")


def test_generation_that_appends_to_the_prompt_each_step_is_named():
    notebook = SolutionCells(ROOT / "solutions" / "06_sampling.ipynb")
    verdict = notebook.verdict("generate_tokens", **{"06_generate_tokens": '''
def generate_tokens(model, idx, max_new_tokens, *, greedy=False, temperature=1.0, top_k=None,
                    top_p=None, generator=None, stop_token=None):
    out = idx
    for _ in range(max_new_tokens):
        logits, _ = model(out[:, -model.config.n_positions:])
        nxt = greedy_next(logits[:, -1, :]) if greedy else sample_token(
            logits[:, -1, :], generator, temperature, top_k, top_p)
        out = torch.cat([idx, nxt[:, None]], dim=1)
    return out
'''})
    assert not verdict.passed and "only the last new token" in verdict.message
