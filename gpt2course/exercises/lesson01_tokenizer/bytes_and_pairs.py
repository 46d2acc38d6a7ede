"""Lesson 01, exercises 1-3: text to UTF-8 bytes, the most common pair, merging one pair."""

from __future__ import annotations

import random
from itertools import pairwise

from ...i18n import N_
from ..core import Case, Exercise, exact
from .common import TOKENIZER_LIBRARIES, diagnoses_of, random_text, tally, utf8_ids

# --- 1. text to bytes -----------------------------------------------------------------------


def _bytes_cases(seed: int | None) -> list[Case]:
    if seed is None:
        return [
            Case("plain English", {"text": "Hi there!"}),
            Case("accents, Chinese and an emoji", {"text": "café 中文 🙂"}),
            Case("the empty string", {"text": ""}),
        ]
    rng = random.Random(seed)
    return [Case("a hidden text", {"text": random_text(rng, 12)}),
            Case("a hidden short text", {"text": random_text(rng, 2)})]


NOT_UTF8 = N_("these are not UTF-8 bytes: another encoding (latin-1 or ASCII) replaced or "
              "dropped the characters it cannot write. Use text.encode('utf-8').")


def _encoded(codec: str, errors: str):
    return lambda text: list(text.encode(codec, errors=errors))


TEXT_TO_BYTES = Exercise(
    id="01.text_to_bytes",
    function="text_to_bytes",
    points=1,
    reference=utf8_ids,
    cases=_bytes_cases,
    compare=exact,
    diagnoses=diagnoses_of(
        (N_("these are Unicode code points (ord(c)), not UTF-8 bytes: 'é' takes 2 bytes and "
         "'中' takes 3. Use text.encode('utf-8')."), lambda text: [ord(c) for c in text]),
        (N_("this is UTF-16, not UTF-8."), lambda text: list(text.encode("utf-16-le"))),
        *((NOT_UTF8, _encoded(codec, errors)) for codec in ("latin-1", "ascii")
          for errors in ("replace", "ignore")),
    ),
    forbidden_modules=TOKENIZER_LIBRARIES,
)


# --- 2. the most common pair ------------------------------------------------------------------


def _pair_cases(seed: int | None) -> list[Case]:
    if seed is None:
        return [
            Case("overlapping pairs: [1, 5, 5, 5, 5, 1]", {"ids": [1, 5, 5, 5, 5, 1]}),
            Case("the most common pair is at the very end", {"ids": [1, 2, 3, 4, 7, 8, 7, 8]}),
            Case("[1, 2, 3, 1, 2]", {"ids": [1, 2, 3, 1, 2]}),
            Case("a tie between four pairs: the first one seen wins",
                 {"ids": [5, 6, 0, 1, 2, 0, 9, 9, 0, 3, 4, 0, 5, 6, 1, 2, 9, 9, 3, 4]}),
            Case("one id: no pair at all", {"ids": [42]}),
        ]
    rng = random.Random(seed)
    return [Case("hidden ids of a text", {"ids": utf8_ids(random_text(rng, 15))}),
            Case("hidden random ids", {"ids": [rng.randrange(4) for _ in range(40)]})]


def _best(counts: dict[tuple[int, int], int]) -> list | None:
    if not counts:
        return None
    pair = max(counts, key=counts.__getitem__)
    return [list(pair), counts[pair]]


def _reference_pair(ids: list[int]) -> list | None:
    from ...bpe import count_pairs

    return _best(count_pairs(ids))


def _pair_in_steps_of_two(ids):
    return _best(tally(list(zip(ids[::2], ids[1::2], strict=False))))


def _pair_not_overlapping(ids):
    """Counts like str.count: after a match, the search goes on after the pair."""
    counts: dict[tuple[int, int], int] = {}
    for pair in pairwise(ids):
        if pair in counts:
            continue
        n, j = 0, 0
        while j + 1 < len(ids):
            if (ids[j], ids[j + 1]) == pair:
                n, j = n + 1, j + 2
            else:
                j += 1
        counts[pair] = n
    return _best(counts)


def _pair_without_last(ids):
    return _best(tally(list(pairwise(ids[:-1]))))


def _pair_tie_last(ids):
    counts = tally(list(pairwise(ids)))
    if not counts:
        return None
    top = max(counts.values())
    pair = [p for p in counts if counts[p] == top][-1]
    return [list(pair), top]


def _pair_tie_sorted(ids, largest=False):
    counts = tally(list(pairwise(ids)))
    if not counts:
        return None
    top = max(counts.values())
    tied = sorted(p for p in counts if counts[p] == top)
    return [list(tied[-1] if largest else tied[0]), top]


def _pair_by_key(ids):
    counts = tally(list(pairwise(ids)))
    return [list(max(counts)), counts[max(counts)]] if counts else None


TIE_MESSAGE = N_("when several pairs are equally common, return the one that appears first in "
               "ids (max(counts, key=counts.get) does this, since a dict keeps its order).")

MOST_COMMON_PAIR = Exercise(
    id="01.most_common_pair",
    function="most_common_pair",
    points=1,
    reference=_reference_pair,
    cases=_pair_cases,
    compare=exact,
    diagnoses=diagnoses_of(
        (N_("pairs were counted in steps of two. Every two neighbours form a pair: "
         "[5, 5, 5] holds the pair (5, 5) twice."), _pair_in_steps_of_two),
        (N_("overlapping pairs were skipped: after counting a pair, the next pair starts at "
            "its second id. [5, 5, 5] holds the pair (5, 5) twice; count every two "
            "neighbours."), _pair_not_overlapping),
        (N_("the last pair of ids is not counted (check the end of your loop)."),
         _pair_without_last),
        (TIE_MESSAGE, _pair_tie_last),
        (TIE_MESSAGE, _pair_tie_sorted),
        (TIE_MESSAGE, lambda ids: _pair_tie_sorted(ids, largest=True)),
        (N_("the largest pair was taken, not the most frequent one: max(counts) compares the "
            "pairs themselves. Use max(counts, key=counts.get)."), _pair_by_key),
    ),
    forbidden_modules=TOKENIZER_LIBRARIES,
)


# --- 3. merge one pair ----------------------------------------------------------------------


def _merge_cases(seed: int | None) -> list[Case]:
    if seed is None:
        return [
            Case("merge [1, 2] in [1, 2, 3, 1, 2]",
                 {"ids": [1, 2, 3, 1, 2], "pair": [1, 2], "new_id": 256}),
            # 11, 2 holds the digits of 1, 2: ids merged as text ("11,2") would match it
            Case("the pair is not at the end, and 11, 2 is not the pair",
                 {"ids": [1, 2, 3, 11, 2, 1, 2, 9], "pair": [1, 2], "new_id": 300}),
            Case("overlapping: merge [7, 7] in [7, 7, 7]",
                 {"ids": [7, 7, 7], "pair": [7, 7], "new_id": 256}),
            Case("the pair does not occur", {"ids": [3, 4, 5], "pair": [4, 3], "new_id": 256}),
        ]
    rng = random.Random(seed)
    ids = [rng.randrange(3) for _ in range(30)]
    return [Case("hidden random ids", {"ids": ids, "pair": [ids[3], ids[4]], "new_id": 260}),
            Case("hidden: a repeated id", {"ids": [1] * 7 + [2], "pair": [1, 1], "new_id": 999})]


def _reference_merge(ids: list[int], pair: list[int], new_id: int) -> list[int]:
    from ...bpe import merge_pair

    return merge_pair(ids, (pair[0], pair[1]), new_id)


def _merge_first_only(ids, pair, new_id):
    for i in range(len(ids) - 1):
        if ids[i] == pair[0] and ids[i + 1] == pair[1]:
            return ids[:i] + [new_id] + ids[i + 2:]
    return list(ids)


def _merge_without_skip(ids, pair, new_id):
    out = []
    for i in range(len(ids) - 1):
        out.append(new_id if ids[i] == pair[0] and ids[i + 1] == pair[1] else ids[i])
    return out


def _merge_without_skip_keeping_last(ids, pair, new_id):
    last = [ids[-1]] if ids else []
    return _merge_without_skip(ids, pair, new_id) + last


def _merge_dropping_last(ids, pair, new_id):
    out, i = [], 0
    while i < len(ids) - 1:
        if ids[i] == pair[0] and ids[i + 1] == pair[1]:
            out.append(new_id)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out


def _merge_first_id_only(ids, pair, new_id):
    out, i = [], 0
    while i < len(ids):
        if i + 1 < len(ids) and ids[i] == pair[0]:
            out, i = [*out, new_id], i + 2
        else:
            out, i = [*out, ids[i]], i + 1
    return out


def _merge_from_the_right(ids, pair, new_id):
    return _reference_merge(ids[::-1], pair[::-1], new_id)[::-1]


def _merge_as_text(ids, pair, new_id):
    text = ",".join(map(str, ids)).replace(f"{pair[0]},{pair[1]}", str(new_id))
    return [int(part) for part in text.split(",")] if text else []


SKIP_BOTH = N_("after a merge, skip the second id of the pair: move on by 2, not by 1.")

MERGE_PAIR = Exercise(
    id="01.merge_pair",
    must_not_modify=("ids",),
    function="merge_pair",
    points=1,
    reference=_reference_merge,
    cases=_merge_cases,
    compare=exact,
    diagnoses=diagnoses_of(
        (N_("nothing was merged. If you compare (ids[i], ids[i + 1]) == pair, note that pair may "
         "be a list, and a tuple never equals a list: compare pair[0] and pair[1]."),
         lambda ids, pair, new_id: list(ids)),
        (N_("only the first place where the pair occurs was merged; merge every one."),
         _merge_first_only),
        (SKIP_BOTH, _merge_without_skip),
        (SKIP_BOTH, _merge_without_skip_keeping_last),
        (N_("the last id is lost when it is not part of a merged pair; keep it."),
         _merge_dropping_last),
        (N_("only the first id of the pair is compared: merge where ids[i] == pair[0] and "
            "ids[i + 1] == pair[1], both."), _merge_first_id_only),
        (N_("overlapping pairs were merged from the right: merge left to right, so in "
            "[7, 7, 7] the first two 7s merge, [256, 7]."), _merge_from_the_right),
        (N_("the ids were merged as text: '1,2' also matches inside '11,2'. Compare the ids "
            "themselves, one by one, not their digits."), _merge_as_text),
    ),
    forbidden_modules=TOKENIZER_LIBRARIES,
)
