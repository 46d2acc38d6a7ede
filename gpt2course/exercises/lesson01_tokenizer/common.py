"""What every lesson 01 exercise shares: the learner's data forms, random texts for hidden
cases, and (message, bug variant) pairs made into diagnoses.

The reference is imported inside functions only (see the package docstring).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from ..core import Diagnosis

Pairs = list[list[int]]
EOT = "<|endoftext|>"
# Libraries that would do the exercises for the learner (tiktoken is always blocked).
TOKENIZER_LIBRARIES = ("tokenizers", "sentencepiece", "minbpe", "transformers")


def diagnoses_of(*pairs: tuple[str, Callable[..., Any]]) -> tuple[Diagnosis, ...]:
    """(message, bug variant) pairs -> diagnoses. A variant that raises on a case is skipped
    there by ``core.diagnose``, so it never breaks a verdict."""
    return tuple(Diagnosis(message, variant) for message, variant in pairs)


# --- random texts for hidden cases ----------------------------------------------------------

WORDS = ("the", "dog", "dog.", "dog!", "a", "cat", "and", "I'm", "don't", "we'll", "to",
         "be", "or", "not", "2024", "42", "café", "naïve", "中文", "你好", "🙂", "hello,",
         "world", "--", "...", "tokens", "merge", "Romeo", "Juliet", "thee", "thou")


def random_text(rng: random.Random, n_words: int, *, unicode: bool = True) -> str:
    """Words joined by spaces, with some newlines and double spaces: like a small book."""
    words = [w for w in WORDS if unicode or w.isascii()]
    parts = []
    for _ in range(n_words):
        parts.append(rng.choice(words))
        parts.append(rng.choice((" ", " ", " ", " ", " ", "\n", "  ", ", ")))
    return "".join(parts).rstrip(" ")


def plain_merges(merges: dict) -> Pairs:
    """{(a, b): new_id} in rank order -> [[a, b], ...], the learner's form."""
    return [list(pair) for pair in merges]


def ranks_of(merges: Pairs) -> dict[tuple[int, int], int]:
    """[[a, b], ...] -> {(a, b): the id it makes}: ``merges[i]`` makes ``256 + i``."""
    return {(int(a), int(b)): 256 + i for i, (a, b) in enumerate(merges)}


def tally(pairs: list[tuple[int, int]]) -> dict[tuple[int, int], int]:
    """How often each pair occurs in ``pairs``, in order of first appearance."""
    counts: dict[tuple[int, int], int] = {}
    for pair in pairs:
        counts[pair] = counts.get(pair, 0) + 1
    return counts


def gpt2_chunks(text: str) -> list[str]:
    """``text`` cut by GPT-2's split pattern (the reference, imported here on first use)."""
    from ...bpe import split_text

    return split_text(text)


def utf8_ids(text: str) -> list[int]:
    """The UTF-8 bytes of ``text`` as ints: the reference of exercise 1."""
    return list(text.encode("utf-8"))
