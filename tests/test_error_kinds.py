"""``exercises/error_kinds.py``: each kind of error is explained from the text PyTorch or
Python really writes, unrelated errors get no sentence, and ``check`` shows the sentence as
the "Likely bug:" line under a learner's error."""

from __future__ import annotations

import re
import traceback
from pathlib import Path

import pytest
import torch
from check_support import SolutionCells, fails_with, learner
from torch import nn

from gpt2course.exercises.error_kinds import ERROR_KINDS, explain_error

ROOT = Path(__file__).resolve().parents[1]


def _error_of(code) -> str:
    """The text of the error ``code()`` raises, as a learner's traceback ends."""
    try:
        code()
    except Exception as err:  # noqa: BLE001 - collecting the real error text
        return "".join(traceback.format_exception_only(type(err), err))
    raise AssertionError("the code did not raise")


def _load_without_bias():
    module = nn.Linear(4, 4, bias=False)
    module.load_state_dict({"weight": torch.zeros(4, 4), "bias": torch.zeros(4)})


def _load_renamed():
    module = nn.Sequential()
    module.fc = nn.Linear(2, 2)
    module.load_state_dict({"c_fc.weight": torch.zeros(2, 2), "c_fc.bias": torch.zeros(2)})


def _load_wrong_size():
    nn.Linear(2, 3).load_state_dict({"weight": torch.zeros(2, 2), "bias": torch.zeros(3)})


# the code that raises, words the explanation must hold
ERRORS = [
    (_load_without_bias, "bias=False"),
    (_load_renamed, "names its parameters differently"),
    (_load_wrong_size, "weight has shape torch.Size([3, 2]) in your module"),
    (lambda: re.findall(r"\p{L}+", "a"), "use the regex module"),
    (lambda: torch.ones(2, 3) @ torch.ones(2, 3), "(2x3 @ 2x3)"),
    (lambda: torch.ones(2, 3, 8) - torch.ones(2, 3), "keepdim=True"),
    (lambda: torch.cat([torch.ones(2, 3), torch.ones(2)], dim=1), "numbers of axes (2 and 1)"),
    (lambda: torch.cat([torch.ones(2, 3), torch.ones(3, 1)], dim=1), "all but dim=1"),
    (lambda: torch.ones(2, 3, 4).transpose(1, 2).view(2, 12), "not contiguous"),
    (lambda: torch.ones(2, 6).view(4, 4), "[4, 4] does not fit the 12 numbers"),
    (lambda: nn.Embedding(4, 2)(torch.tensor([5])), "wpe takes the positions"),
    (lambda: torch.ones(3)[torch.tensor([3])], "index 3 is past the end of an axis of size 3"),
    (lambda: [1, 2][2], "a loop bound off by one"),
    (lambda: {[1, 2]: 1}, "make them tuples"),
    (lambda: max([]), "nothing was left to choose from"),
    (lambda: {1: "a"}[295], "no entry 295"),
    (lambda: (torch.ones(2), None).shape, "a tuple has no .shape"),
    (lambda: torch.ones(2, 3).sum(dim=2), "dim=2 does not exist"),
    (lambda: [(a, b, c) for a, b, c in [torch.ones(2, 3)]], "unpacking into 3 names"),
    (lambda: torch.multinomial(torch.tensor([[1.0, -1.0]]), 1), "not probabilities"),
    (lambda: torch.multinomial(torch.zeros(1, 3), 1), "every token was filtered out"),
    (lambda: torch.ones(2, 2) @ torch.ones(2, 2, dtype=torch.long), "different dtypes"),
    (lambda: torch.ones(3)[torch.tensor([0.0])], "indices must be integers"),
    (lambda: None.shape, "a value is None"),
    (lambda: 1 / 0, "a division by zero"),
    (lambda: torch.index_select(torch.ones(2, 3), 1, torch.tensor([8])), "index 8 is past"),
    (lambda: bytes([300]), "bytes() takes values 0 .. 255 only"),
    (lambda: [[97, 98]].index((97, 98)), "a tuple never equals a list"),
    (lambda: undefined_name_in_a_cell, "undefined_name_in_a_cell is not defined"),  # noqa: F821
]


@pytest.mark.parametrize("code, words", ERRORS, ids=[w for _, w in ERRORS])
def test_each_kind_explains_the_real_error_text(code, words):
    found = explain_error(_error_of(code))
    assert found and words in found, (found, _error_of(code))


def test_every_kind_has_an_example():
    texts = [_error_of(code) for code, _ in ERRORS]
    for pattern, _ in ERROR_KINDS:
        if pattern.pattern.startswith("maximum recursion"):
            continue  # too slow to raise in a test; its pattern is plain text
        assert any(pattern.search(t) for t in texts), pattern.pattern


@pytest.mark.parametrize("text", [
    "ValueError: something the course has never seen",
    "RuntimeError: CUDA out of memory",
    "",
])
def test_unrelated_errors_get_no_sentence(text):
    assert explain_error(text) is None


# --- through check: the "Likely bug:" line under the learner's error --------------------------


def test_decoding_that_forgets_the_special_tokens_is_told_which_id_is_missing():
    @learner("decode_tokens")
    def no_specials(ids, merges, special_tokens=None, byte_ids=None):
        vocab = {b: bytes([b]) for b in range(256)}
        for i, (a, b) in enumerate(merges):
            vocab[256 + i] = vocab[a] + vocab[b]
        return b"".join(vocab[i] for i in ids).decode("utf-8", errors="replace")

    fails_with(no_specials, "a lookup failed: your table has no entry")


def test_split_with_pythons_re_module_is_told_to_use_regex():
    @learner("split_chunks")
    def with_re(text):
        return re.findall(r" ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+", text)

    fails_with(with_re, "use the regex module")


def test_mlp_module_without_biases_is_told_so_not_that_its_names_are_wrong():
    cell = ("class MLP(nn.Module):\n    def __init__(self, n_embd):\n        super().__init__()\n"
            "        self.c_fc = nn.Linear(n_embd, 4 * n_embd, bias=False)\n"
            "        self.c_proj = nn.Linear(4 * n_embd, n_embd, bias=False)\n\n"
            "    def forward(self, x):\n        return self.c_proj(gelu(self.c_fc(x)))\n")
    notebook = SolutionCells(ROOT / "solutions" / "04_mlp.ipynb")
    notebook.assert_diagnosed("MLP", "the weights have biases", **{"04_MLP": cell})
