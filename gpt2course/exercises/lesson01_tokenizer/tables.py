"""The merge tables the encoding and decoding exercises run on: one trained on a short text,
the same with GPT-2-style byte ids, GPT-2's own, and the reference tokenizer built on one."""

from __future__ import annotations

import random
from functools import lru_cache
from typing import Any

from .common import Pairs, plain_merges, ranks_of

SMALL_TEXT = ("the dog. the dog! the doge. hot dogs, the cat; that dog...\n"
              "I'm here, we'll go. 中文 中文 🙂🙂")


@lru_cache(maxsize=8)
def _trained(text: str, num_merges: int, split: bool) -> tuple[tuple[int, int], ...]:
    from ...bpe import GPT2_SPLIT_PATTERN, train_merges

    return tuple(train_merges(text, num_merges, GPT2_SPLIT_PATTERN if split else None))


def small_merges(text: str = SMALL_TEXT, num_merges: int = 40, split: bool = True) -> Pairs:
    """A merge table trained on a short text (with GPT-2's split), as the learner's lists."""
    return [list(pair) for pair in _trained(text, num_merges, split)]


def shuffled_byte_ids(seed: int) -> list[int]:
    """A permutation of 0..255: byte b gets id ids[b], as GPT-2 does (with its own order)."""
    ids = list(range(256))
    random.Random(seed).shuffle(ids)
    return ids


def permuted_table(merges: Pairs, byte_ids: list[int]) -> Pairs:
    """The same merges written with other byte ids (merged ids >= 256 stay)."""
    def relabel(i: int) -> int:
        return byte_ids[i] if i < 256 else i

    return [[relabel(a), relabel(b)] for a, b in merges]


@lru_cache(maxsize=1)
def gpt2_tables() -> tuple[Pairs, list[int], dict[str, int]]:
    """GPT-2's merges (50,000 pairs), byte ids and special tokens, from tiktoken's table."""
    from ...tokenizer import BPETokenizer

    tok = BPETokenizer.from_tiktoken("gpt2")
    return plain_merges(tok.merges), list(tok.byte_ids), dict(tok.special_tokens)


def reference_tokenizer(merges: Pairs, special_tokens: dict[str, int] | None,
                        byte_ids: list[int] | None, pattern: Any = "gpt2"):
    """The reference tokenizer on a table in the learner's form; ``pattern`` None: no split."""
    from ...bpe import BYTE_IDS, GPT2_SPLIT_PATTERN
    from ...tokenizer import BPETokenizer

    return BPETokenizer(GPT2_SPLIT_PATTERN if pattern == "gpt2" else pattern,
                        merges=ranks_of(merges), byte_ids=byte_ids or BYTE_IDS,
                        special_ids=special_tokens or {})
