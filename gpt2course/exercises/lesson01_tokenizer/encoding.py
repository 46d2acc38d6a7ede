"""Lesson 01, exercises 6-7: encoding one chunk by merge rank, and encoding a whole text
(chunks, special tokens, GPT-2's byte ids)."""

from __future__ import annotations

import random
from collections.abc import Callable
from itertools import pairwise
from typing import Any

from ...i18n import N_
from ..core import Case, Exercise, exact
from .common import (
    EOT,
    TOKENIZER_LIBRARIES,
    Pairs,
    diagnoses_of,
    gpt2_chunks,
    random_text,
    ranks_of,
    tally,
    utf8_ids,
)
from .tables import (
    SMALL_TEXT,
    gpt2_tables,
    permuted_table,
    reference_tokenizer,
    shuffled_byte_ids,
    small_merges,
)
from .training import NO_WHITESPACE, WHITESPACE_LOST, split_with

# --- 6. encoding one chunk by rank ----------------------------------------------------------


def _chunk_cases(seed: int | None) -> list[Case]:
    if seed is None:
        a, b, c, d = 97, 98, 99, 100  # the bytes of "abcd"
        return [
            Case("a merge table of one pair", {"ids": [a, b, c, a, b], "merges": [[a, b]]}),
            Case("'ccaaaca': each way of choosing the pair gives another answer",
                 {"ids": [c, c, a, a, a, c, a], "merges": [[c, c], [c, a], [a, c]]}),
            Case("'abc' where [b, c] has a lower rank than [a, b]",
                 {"ids": [a, b, c], "merges": [[b, c], [a, b]]}),
            Case("'ababab': the rare pair [b, a] has the lowest rank",
                 {"ids": [a, b, a, b, a, b], "merges": [[b, a], [a, b], [256, 256]]}),
            Case("'abcd' where merged tokens merge again",
                 {"ids": [a, b, c, d], "merges": [[c, d], [a, b], [256, 257], [257, 256]]}),
            Case("' the dog.' with a table trained on a short text",
                 {"ids": [32, 116, 104, 101, 32, 100, 111, 103, 46], "merges": small_merges()}),
        ]
    rng = random.Random(seed)
    merges = small_merges()
    words = [w for w in gpt2_chunks(SMALL_TEXT + random_text(rng, 20)) if len(w.encode()) > 2]
    return [Case(f"hidden chunk {k}", {"ids": utf8_ids(rng.choice(words)),
                                       "merges": merges}) for k in range(3)]


def _reference_chunk(ids: list[int], merges: Pairs) -> list[int]:
    from ...bpe import encode_chunk

    return encode_chunk(bytes(ids), ranks_of(merges))


def _chunk_with(choose: str, *, first_id: int = 256) -> Callable[..., list[int]]:
    """encode_chunk that picks the pair to merge in another way."""

    def encode(ids: list[int], merges: Pairs) -> list[int]:
        from ...bpe import merge_pair

        ranks = {(a, b): first_id + i for i, (a, b) in enumerate(merges)}
        ids = list(ids)
        while len(ids) >= 2:
            present = [p for p in pairwise(ids) if p in ranks]
            if not present:
                break
            if choose in ("lowest", "once"):
                pair = min(present, key=ranks.__getitem__)
            elif choose == "highest":
                pair = max(present, key=ranks.__getitem__)
            elif choose == "left":
                pair = present[0]
            else:  # "frequent": the pair that occurs most often in the chunk now
                counts = tally(present)
                pair = max(counts, key=counts.__getitem__)
            ids = merge_pair(ids, pair, ranks[pair])
            if choose == "once":
                break
        return ids

    return encode


OFF_BY_ONE = N_("new token ids are off by one: merges[i] makes token 256 + i.")
RANK_NOT_FREQUENCY = N_("pairs were merged in order of how often they occur. When encoding, "
                      "merge the pair with the lowest rank first (the earliest in merges), "
                      "as in training, whatever its count in this chunk.")

ENCODE_CHUNK = Exercise(
    id="01.encode_chunk",
    function="encode_chunk",
    points=2,
    reference=_reference_chunk,
    cases=_chunk_cases,
    compare=exact,
    diagnoses=diagnoses_of(
        (RANK_NOT_FREQUENCY, _chunk_with("frequent")),
        (N_("the leftmost pair that has a merge was merged first. Look at all pairs and merge "
         "the one with the lowest rank, wherever it is."), _chunk_with("left")),
        (N_("the pair with the highest rank was merged first; the lowest rank (learned "
         "earliest) comes first."), _chunk_with("highest")),
        (N_("only one merge was made. Repeat: find the lowest-rank pair, merge it, and "
            "look again, until no pair of the chunk has a merge."), _chunk_with("once")),
        (OFF_BY_ONE,
         _chunk_with("lowest", first_id=257)),
        (OFF_BY_ONE,
         _chunk_with("lowest", first_id=255)),
    ),
    forbidden_modules=TOKENIZER_LIBRARIES,
)


# --- 7. encoding text ------------------------------------------------------------------------


def _text_cases(seed: int | None) -> list[Case]:
    merges = small_merges()
    eot = {EOT: 256 + len(merges)}
    if seed is None:
        shuffled = shuffled_byte_ids(1)
        return [
            Case("two sentences, special_tokens=None (no special token)",
                 {"text": "the dog. the dog!", "merges": merges, "special_tokens": None,
                  "byte_ids": None}),
            Case("a table trained without splitting, so it has merges like 'g.'",
                 {"text": "the dog. the dog!", "merges": small_merges(split=False),
                  "special_tokens": {}, "byte_ids": None}),
            Case("spaces, a newline and Chinese",
                 {"text": "the  doge\nthat dog 中文 🙂", "merges": merges, "special_tokens": {},
                  "byte_ids": None}),
            # The merge ('.', '<') tells a special token cut into ordinary tokens from
            # one cut at an unescaped '<' (which never meets the '.' before it).
            Case("two documents joined by <|endoftext|>",
                 {"text": f"the dog.{EOT}the cat", "merges": [*merges, [46, 60]],
                  "special_tokens": {EOT: 257 + len(merges)}, "byte_ids": None}),
            Case("GPT-2-style byte ids (byte b has id byte_ids[b])",
                 {"text": "that dog. the cat!", "merges": permuted_table(merges, shuffled),
                  "special_tokens": eot, "byte_ids": shuffled}),
        ]
    rng = random.Random(seed)
    shuffled = shuffled_byte_ids(seed)
    gpt2_merges, gpt2_bytes, gpt2_special = gpt2_tables()
    return [
        Case("a hidden text with <|endoftext|>",
             {"text": random_text(rng, 10) + EOT + random_text(rng, 10), "merges": merges,
              "special_tokens": eot, "byte_ids": None}),
        Case("a hidden text with other byte ids",
             {"text": random_text(rng, 15), "merges": permuted_table(merges, shuffled),
              "special_tokens": eot, "byte_ids": shuffled}),
        Case("GPT-2's real table on a hidden text",
             {"text": random_text(rng, 8) + EOT + random_text(rng, 4), "merges": gpt2_merges,
              "special_tokens": gpt2_special, "byte_ids": gpt2_bytes}),
    ]


NONE_SPECIALS_MESSAGE = N_("special_tokens may be None, meaning no special tokens: treat it as "
                           "an empty dict (special_tokens = special_tokens or {}).")
NONE_SPECIALS = tuple((text, NONE_SPECIALS_MESSAGE) for text in (
    "'NoneType' object is not iterable", "argument of type 'NoneType' is not iterable",
    "'NoneType' object has no attribute", "'NoneType' object is not subscriptable"))


def reference_encode(text: str, merges: Pairs, special_tokens: dict[str, int] | None = None,
                     byte_ids: list[int] | None = None) -> list[int]:
    return reference_tokenizer(merges, special_tokens, byte_ids).encode(text, allowed_special="all")


def _text_with(*, pattern: Any = "gpt2", specials: bool = True, identity_bytes: bool = False,
               split: Callable[[str], list[str]] | None = None, escape: bool = True,
               dropped: bool = False):
    """encode_text with one thing changed."""

    def encode(text, merges, special_tokens=None, byte_ids=None):
        from ...bpe import encode_chunk, split_special

        byte_ids = None if identity_bytes else byte_ids
        tok = reference_tokenizer(merges, special_tokens, byte_ids, pattern)
        if not specials:
            return tok.encode_ordinary(text)
        if dropped:  # the text between the special tokens, without them
            names = special_tokens or {}
            return [i for piece in split_special(text, names) if piece not in names
                    for i in tok.encode_ordinary(piece)]
        if not escape and special_tokens:  # names used as a regex: '|' means "or"
            import regex

            ids: list[int] = []
            for piece in regex.split("(" + "|".join(special_tokens) + ")", text):
                ids += [special_tokens[piece]] if piece in special_tokens else \
                    tok.encode_ordinary(piece)
            return ids
        if split is None:
            return tok.encode(text, allowed_special="all")
        ids: list[int] = []
        for piece in split_special(text, special_tokens or {}):
            if piece in (special_tokens or {}):
                ids.append(special_tokens[piece])
            else:
                for chunk in split(piece):
                    ids += encode_chunk(chunk.encode("utf-8"), tok.merges, tok.byte_ids)
        return ids

    return encode


ENCODE_TEXT = Exercise(
    id="01.encode_text",
    function="encode_text",
    points=2,
    reference=reference_encode,
    cases=_text_cases,
    compare=exact,
    diagnoses=diagnoses_of(
        (N_("the special token was cut into ordinary tokens. Find each special token in the "
         "text first and give it its one id; encode only the text between them."),
         _text_with(specials=False)),
        (N_("the special tokens are missing from your ids: the text around them is encoded, "
            "but each special token's own id is not there. regex.split drops what its pattern "
            "matched unless the pattern is in brackets (a capture group): split with "
            "'(' + names + ')' to keep the names, then give each its id."),
         _text_with(dropped=True)),
        (N_("the special tokens' names were put into a regex without escaping: '|' in "
            "'<|endoftext|>' means 'or', so the text is cut at '<', 'endoftext' and '>'. "
            "Escape each name (regex.escape(name)) before joining them with '|'."),
         _text_with(escape=False)),
        (N_("the text was not cut into chunks first, so merges crossed word boundaries. "
         "Split with split_chunks, then encode each chunk on its own."), _text_with(pattern=None)),
        (WHITESPACE_LOST, _text_with(split=str.split)),
        (WHITESPACE_LOST, _text_with(split=split_with(NO_WHITESPACE))),
        (N_("byte b was given the id b. Use byte_ids[b] when byte_ids is given (GPT-2 numbers "
         "its bytes in another order)."), _text_with(identity_bytes=True)),
    ),
    error_hints=NONE_SPECIALS,
    forbidden_modules=TOKENIZER_LIBRARIES,
    time_limit_s=30.0,
)
