"""Lesson 01, the tokenizer: bytes, pair counts, merges, BPE training, GPT-2's split
pattern, encoding by rank, decoding, the special token, and GPT-2's real table.

Everything the learner's functions take and return is plain data (the grader passes it
as JSON), so a merge table is a list of pairs ``[a, b]`` in rank order: ``merges[i]``
makes token ``256 + i``. That is also how GPT-2's own merge file is written.

The reference is imported inside functions only: this module is also loaded by the
registry in processes where ``gpt2course.bpe`` must stay unimported.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from functools import lru_cache
from itertools import pairwise
from typing import Any

from ..i18n import N_
from .core import Case, Diagnosis, Exercise, exact

Pairs = list[list[int]]
EOT = "<|endoftext|>"
# Libraries that would do the exercises for the learner (tiktoken is always blocked).
TOKENIZER_LIBRARIES = ("tokenizers", "sentencepiece", "minbpe", "transformers")
# What a variant returns when the bug it stands for would crash on a case: it then
# matches no learner output, and ``diagnose`` never sees an exception.
VARIANT_FAILED = "\x00this variant failed on this case\x00"


def _safe(variant: Callable[..., Any]) -> Callable[..., Any]:
    def run(**inputs: Any) -> Any:
        try:
            return variant(**inputs)
        except Exception:  # noqa: BLE001 - a buggy variant may fail where the learner's does
            return VARIANT_FAILED

    run.__name__ = getattr(variant, "__name__", "variant")
    return run


def _diagnoses(*pairs: tuple[str, Callable[..., Any]]) -> tuple[Diagnosis, ...]:
    return tuple(Diagnosis(message, _safe(variant)) for message, variant in pairs)


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


def _plain_merges(merges: dict) -> Pairs:
    """{(a, b): new_id} in rank order -> [[a, b], ...], the learner's form."""
    return [list(pair) for pair in merges]


def _ranks(merges: Pairs) -> dict[tuple[int, int], int]:
    return {(int(a), int(b)): 256 + i for i, (a, b) in enumerate(merges)}


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


def _reference_bytes(text: str) -> list[int]:
    return list(text.encode("utf-8"))


TEXT_TO_BYTES = Exercise(
    id="01.text_to_bytes",
    function="text_to_bytes",
    points=1,
    reference=_reference_bytes,
    cases=_bytes_cases,
    compare=exact,
    diagnoses=_diagnoses(
        (N_("these are Unicode code points (ord(c)), not UTF-8 bytes: 'é' takes 2 bytes and "
         "'中' takes 3. Use text.encode('utf-8')."), lambda text: [ord(c) for c in text]),
        (N_("this is UTF-16, not UTF-8."), lambda text: list(text.encode("utf-16-le"))),
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
    return [Case("hidden ids of a text", {"ids": _reference_bytes(random_text(rng, 15))}),
            Case("hidden random ids", {"ids": [rng.randrange(4) for _ in range(40)]})]


def _count(pairs: list[tuple[int, int]]) -> dict[tuple[int, int], int]:
    counts: dict[tuple[int, int], int] = {}
    for pair in pairs:
        counts[pair] = counts.get(pair, 0) + 1
    return counts


def _best(counts: dict[tuple[int, int], int]) -> list | None:
    if not counts:
        return None
    pair = max(counts, key=counts.__getitem__)
    return [list(pair), counts[pair]]


def _reference_pair(ids: list[int]) -> list | None:
    from ..bpe import count_pairs

    return _best(count_pairs(ids))


def _pair_in_steps_of_two(ids):
    return _best(_count(list(zip(ids[::2], ids[1::2], strict=False))))


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
    return _best(_count(list(pairwise(ids[:-1]))))


def _pair_tie_last(ids):
    counts = _count(list(pairwise(ids)))
    if not counts:
        return None
    top = max(counts.values())
    pair = [p for p in counts if counts[p] == top][-1]
    return [list(pair), top]


def _pair_tie_sorted(ids, largest=False):
    counts = _count(list(pairwise(ids)))
    if not counts:
        return None
    top = max(counts.values())
    tied = sorted(p for p in counts if counts[p] == top)
    return [list(tied[-1] if largest else tied[0]), top]


TIE_MESSAGE = N_("when several pairs are equally common, return the one that appears first in "
               "ids (max(counts, key=counts.get) does this, since a dict keeps its order).")

MOST_COMMON_PAIR = Exercise(
    id="01.most_common_pair",
    function="most_common_pair",
    points=1,
    reference=_reference_pair,
    cases=_pair_cases,
    compare=exact,
    diagnoses=_diagnoses(
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
    ),
    forbidden_modules=TOKENIZER_LIBRARIES,
)


# --- 3. merge one pair ----------------------------------------------------------------------


def _merge_cases(seed: int | None) -> list[Case]:
    if seed is None:
        return [
            Case("merge [1, 2] in [1, 2, 3, 1, 2]",
                 {"ids": [1, 2, 3, 1, 2], "pair": [1, 2], "new_id": 256}),
            Case("the pair is not at the end",
                 {"ids": [1, 2, 3, 1, 2, 9], "pair": [1, 2], "new_id": 300}),
            Case("overlapping: merge [7, 7] in [7, 7, 7]",
                 {"ids": [7, 7, 7], "pair": [7, 7], "new_id": 256}),
            Case("the pair does not occur", {"ids": [3, 4, 5], "pair": [4, 3], "new_id": 256}),
        ]
    rng = random.Random(seed)
    ids = [rng.randrange(3) for _ in range(30)]
    return [Case("hidden random ids", {"ids": ids, "pair": [ids[3], ids[4]], "new_id": 260}),
            Case("hidden: a repeated id", {"ids": [1] * 7 + [2], "pair": [1, 1], "new_id": 999})]


def _reference_merge(ids: list[int], pair: list[int], new_id: int) -> list[int]:
    from ..bpe import merge_pair

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


MERGE_PAIR = Exercise(
    id="01.merge_pair",
    must_not_modify=("ids",),
    function="merge_pair",
    points=1,
    reference=_reference_merge,
    cases=_merge_cases,
    compare=exact,
    diagnoses=_diagnoses(
        (N_("nothing was merged. If you compare (ids[i], ids[i + 1]) == pair, note that pair may "
         "be a list, and a tuple never equals a list: compare pair[0] and pair[1]."),
         lambda ids, pair, new_id: list(ids)),
        (N_("only the first place where the pair occurs was merged; merge every one."),
         _merge_first_only),
        (N_("after a merge, skip the second id of the pair: move on by 2, not by 1."),
         _merge_without_skip),
        (N_("the last id is lost when it is not part of a merged pair; keep it."),
         _merge_dropping_last),
    ),
    forbidden_modules=TOKENIZER_LIBRARIES,
)


# --- 4. training ----------------------------------------------------------------------------


def _split(text: str) -> list[str]:
    from ..bpe import split_text

    return split_text(text)


def _train_cases(seed: int | None) -> list[Case]:
    if seed is None:
        return [
            Case("the classic example 'aaabdaaabac', 3 merges",
                 {"chunks": ["aaabdaaabac"], "num_merges": 3}),
            Case("'hug pug pun bun hugs' cut into words, 6 merges",
                 {"chunks": _split("hug pug pun bun hugs"), "num_merges": 6}),
            Case("a short text in chunks, 12 merges",
                 {"chunks": _split("the dog. the dog! the cat, the hat; that dog..."),
                  "num_merges": 12}),
            Case("more merges asked for than possible: stop early",
                 {"chunks": ["ab", "ab"], "num_merges": 5}),
            Case("repeated chunks: each occurrence counts",
                 {"chunks": ["low", "low", "low", "lower", "newest", "newest", "wid"],
                  "num_merges": 6}),
        ]
    rng = random.Random(seed)
    return [Case("a hidden text in chunks, 25 merges",
                 {"chunks": _split(random_text(rng, 60)), "num_merges": 25}),
            Case("a hidden text as one chunk, 10 merges",
                 {"chunks": [random_text(rng, 20, unicode=False)], "num_merges": 10})]


def _train(chunks: list[str], num_merges: int, *, first_id: int = 256, recount: bool = True,
           tie: str = "first", min_count: int = 1) -> Pairs:
    """BPE training on chunks, with one thing changed: how the diagnoses are built."""
    from ..bpe import count_pairs, merge_pair

    seqs = [list(chunk.encode("utf-8")) for chunk in chunks]
    merges: Pairs = []
    frozen = None
    for new_id in range(first_id, first_id + num_merges):
        counts: dict[tuple[int, int], int] = {}
        for ids in seqs:
            for pair, n in count_pairs(ids).items():
                counts[pair] = counts.get(pair, 0) + n
        if not recount:  # the counts of the start, used again and again
            frozen = counts if frozen is None else frozen
            counts = {p: n for p, n in frozen.items() if list(p) not in merges}
        if not counts or max(counts.values()) < min_count:
            break
        top = max(counts.values())
        tied = [p for p in counts if counts[p] == top]
        best = {"first": tied[0], "last": tied[-1], "smallest": min(tied)}[tie]
        merges.append(list(best))
        seqs = [merge_pair(ids, best, new_id) for ids in seqs]
    return merges


def _reference_train(chunks: list[str], num_merges: int) -> Pairs:
    return _train(chunks, num_merges)


TRAIN_TIE = N_("when several pairs are equally common, merge the one that appears first "
             "(in the first chunk that has it).")

TRAIN_BPE = Exercise(
    id="01.train_bpe",
    function="train_bpe",
    points=2,
    reference=_reference_train,
    cases=_train_cases,
    compare=exact,
    diagnoses=_diagnoses(
        (N_("new token ids are off by one: the first merge makes token 256 (the bytes are "
         "0..255), the next one 257, and so on."),
         lambda chunks, num_merges: _train(chunks, num_merges, first_id=257)),
        (N_("new token ids are off by one: the first merge makes token 256, not 255 (255 is "
         "already the byte 255)."),
         lambda chunks, num_merges: _train(chunks, num_merges, first_id=255)),
        (N_("pair counts were computed only once. Count again after each merge: merging "
         "changes which pairs are in the text."),
         lambda chunks, num_merges: _train(chunks, num_merges, recount=False)),
        (N_("pairs were counted across chunk boundaries (the chunks were joined). Count the "
         "pairs inside each chunk only, and add up the counts."),
         lambda chunks, num_merges: _train(["".join(chunks)], num_merges)),
        (N_("a chunk that occurs several times was counted once (a set, or a dict of unique "
            "chunks without their counts). Every occurrence counts: weight each distinct "
            "chunk's pairs by how often the chunk occurs."),
         lambda chunks, num_merges: _train(list(dict.fromkeys(chunks)), num_merges)),
        (N_("training stopped early, when the most common pair occurred only once. Keep "
            "merging while any pair is left, until num_merges merges are made."),
         lambda chunks, num_merges: _train(chunks, num_merges, min_count=2)),
        (TRAIN_TIE, lambda chunks, num_merges: _train(chunks, num_merges, tie="last")),
        (TRAIN_TIE, lambda chunks, num_merges: _train(chunks, num_merges, tie="smallest")),
    ),
    forbidden_modules=TOKENIZER_LIBRARIES,
)


# --- 5. GPT-2's split pattern ---------------------------------------------------------------


def _split_cases(seed: int | None) -> list[Case]:
    if seed is None:
        return [
            Case("words and punctuation", {"text": "The dog. The dog!"}),
            Case("contractions and numbers", {"text": "I'm sure we'll pay 42 coins."}),
            Case("several spaces and a newline", {"text": "Hello,   world\n\nBye  "}),
            Case("Chinese and an emoji", {"text": "你好 世界 🙂!"}),
        ]
    rng = random.Random(seed)
    return [Case("a hidden text", {"text": random_text(rng, 25)})]


def _reference_split(text: str) -> list[str]:
    return _split(text)


def _split_with(pattern: str) -> Callable[[str], list[str]]:
    def split(text: str) -> list[str]:
        import regex

        return regex.findall(pattern, text)

    return split


NO_WHITESPACE = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+"""
SPACE_ALONE = r"""'s|'t|'re|'ve|'m|'ll|'d|\p{L}+|\p{N}+|[^\s\p{L}\p{N}]+|\s+"""
WHITESPACE_LOST = N_("spaces or newlines were lost. Every character must land in some chunk: "
                   "''.join(chunks) == text. Keep the pattern's last two parts, \\s+(?!\\S)|\\s+.")

SPLIT_CHUNKS = Exercise(
    id="01.split_chunks",
    function="split_chunks",
    points=1,
    reference=_reference_split,
    cases=_split_cases,
    compare=exact,
    diagnoses=_diagnoses(
        (N_("the text was not split. Use regex.findall(GPT2_SPLIT_PATTERN, text)."),
         lambda text: [text] if text else []),
        (WHITESPACE_LOST, lambda text: text.split()),
        (WHITESPACE_LOST, _split_with(NO_WHITESPACE)),
        (N_("a space is a chunk of its own here. In GPT-2 one space goes with the word after it "
         "(' dog'): that is the ' ?' in front of \\p{L}+."), _split_with(SPACE_ALONE)),
    ),
    forbidden_modules=TOKENIZER_LIBRARIES,
)


# --- tables for the encoding exercises ------------------------------------------------------

SMALL_TEXT = ("the dog. the dog! the doge. hot dogs, the cat; that dog...\n"
              "I'm here, we'll go. 中文 中文 🙂🙂")


@lru_cache(maxsize=8)
def _trained(text: str, num_merges: int, split: bool) -> tuple[tuple[int, int], ...]:
    from ..bpe import GPT2_SPLIT_PATTERN, train_merges

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
    from ..tokenizer import BPETokenizer

    tok = BPETokenizer.from_tiktoken("gpt2")
    return _plain_merges(tok.merges), list(tok.byte_ids), dict(tok.special_tokens)


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
    words = [w for w in _split(SMALL_TEXT + random_text(rng, 20)) if len(w.encode()) > 2]
    return [Case(f"hidden chunk {k}", {"ids": _reference_bytes(rng.choice(words)),
                                       "merges": merges}) for k in range(3)]


def _reference_chunk(ids: list[int], merges: Pairs) -> list[int]:
    from ..bpe import encode_chunk

    return encode_chunk(bytes(ids), _ranks(merges))


def _chunk_with(choose: str, *, first_id: int = 256) -> Callable[..., list[int]]:
    """encode_chunk that picks the pair to merge in another way."""

    def encode(ids: list[int], merges: Pairs) -> list[int]:
        from ..bpe import merge_pair

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
                counts = _count(present)
                pair = max(counts, key=counts.__getitem__)
            ids = merge_pair(ids, pair, ranks[pair])
            if choose == "once":
                break
        return ids

    return encode


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
    diagnoses=_diagnoses(
        (RANK_NOT_FREQUENCY, _chunk_with("frequent")),
        (N_("the leftmost pair that has a merge was merged first. Look at all pairs and merge "
         "the one with the lowest rank, wherever it is."), _chunk_with("left")),
        (N_("the pair with the highest rank was merged first; the lowest rank (learned "
         "earliest) comes first."), _chunk_with("highest")),
        (N_("only one merge was made. Repeat: find the lowest-rank pair, merge it, and "
            "look again, until no pair of the chunk has a merge."), _chunk_with("once")),
        (N_("new token ids are off by one: merges[i] makes token 256 + i."),
         _chunk_with("lowest", first_id=257)),
        (N_("new token ids are off by one: merges[i] makes token 256 + i."),
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


def _tokenizer(merges: Pairs, special_tokens: dict[str, int] | None,
               byte_ids: list[int] | None, pattern: Any = "gpt2"):
    from ..bpe import BYTE_IDS, GPT2_SPLIT_PATTERN
    from ..tokenizer import BPETokenizer

    return BPETokenizer(GPT2_SPLIT_PATTERN if pattern == "gpt2" else pattern,
                        merges=_ranks(merges), byte_ids=byte_ids or BYTE_IDS,
                        special_ids=special_tokens or {})


def _reference_text(text: str, merges: Pairs, special_tokens: dict[str, int] | None = None,
                    byte_ids: list[int] | None = None) -> list[int]:
    return _tokenizer(merges, special_tokens, byte_ids).encode(text, allowed_special="all")


def _text_with(*, pattern: Any = "gpt2", specials: bool = True, identity_bytes: bool = False,
               split: Callable[[str], list[str]] | None = None, escape: bool = True):
    """encode_text with one thing changed."""

    def encode(text, merges, special_tokens=None, byte_ids=None):
        from ..bpe import encode_chunk, split_special

        byte_ids = None if identity_bytes else byte_ids
        tok = _tokenizer(merges, special_tokens, byte_ids, pattern)
        if not specials:
            return tok.encode_ordinary(text)
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
    reference=_reference_text,
    cases=_text_cases,
    compare=exact,
    diagnoses=_diagnoses(
        (N_("the special token was cut into ordinary tokens. Find each special token in the "
         "text first and give it its one id; encode only the text between them."),
         _text_with(specials=False)),
        (N_("the special tokens' names were put into a regex without escaping: '|' in "
            "'<|endoftext|>' means 'or', so the text is cut at '<', 'endoftext' and '>'. "
            "Escape each name (regex.escape(name)) before joining them with '|'."),
         _text_with(escape=False)),
        (N_("the text was not cut into chunks first, so merges crossed word boundaries. "
         "Split with split_chunks, then encode each chunk on its own."), _text_with(pattern=None)),
        (WHITESPACE_LOST, _text_with(split=str.split)),
        (WHITESPACE_LOST, _text_with(split=_split_with(NO_WHITESPACE))),
        (N_("byte b was given the id b. Use byte_ids[b] when byte_ids is given (GPT-2 numbers "
         "its bytes in another order)."), _text_with(identity_bytes=True)),
    ),
    error_hints=NONE_SPECIALS,
    forbidden_modules=TOKENIZER_LIBRARIES,
    time_limit_s=30.0,
)


# --- 8. decoding -----------------------------------------------------------------------------


def _decode_cases(seed: int | None) -> list[Case]:
    merges = small_merges()
    eot = {EOT: 256 + len(merges)}
    tok_ids = _reference_text("the dog. 中文 🙂", merges, eot)
    if seed is None:
        shuffled = shuffled_byte_ids(2)
        return [
            Case("ids of 'the dog. 中文 🙂'",
                 {"ids": tok_ids, "merges": merges, "special_tokens": eot, "byte_ids": None}),
            Case("an emoji cut after 2 of its 4 bytes (invalid UTF-8), special_tokens=None",
                 {"ids": [32, 240, 159], "merges": merges, "special_tokens": None,
                  "byte_ids": None}),
            Case("two Chinese characters cut in the middle",
                 {"ids": [228, 184, 173, 230], "merges": merges, "special_tokens": {},
                  "byte_ids": None}),
            Case("the special token",
                 {"ids": [_reference_text("dog", merges)[0], eot[EOT]], "merges": merges,
                  "special_tokens": eot, "byte_ids": None}),
            Case("GPT-2-style byte ids",
                 {"ids": _reference_text("that dog!", permuted_table(merges, shuffled), eot,
                                         shuffled),
                  "merges": permuted_table(merges, shuffled), "special_tokens": eot,
                  "byte_ids": shuffled}),
        ]
    rng = random.Random(seed)
    ids = _reference_text(random_text(rng, 12) + EOT, merges, eot)
    return [Case("hidden ids", {"ids": ids, "merges": merges, "special_tokens": eot,
                                "byte_ids": None}),
            Case("hidden ids, cut short", {"ids": ids[: len(ids) // 2] + [240, 159, 153],
                                           "merges": merges, "special_tokens": eot,
                                           "byte_ids": None})]


def _reference_decode(ids: list[int], merges: Pairs, special_tokens: dict[str, int] | None = None,
                      byte_ids: list[int] | None = None) -> str:
    return _tokenizer(merges, special_tokens, byte_ids).decode(ids)


def _decode_with(how: str):
    def decode(ids, merges, special_tokens=None, byte_ids=None):
        tok = _tokenizer(merges, special_tokens, None if how == "identity" else byte_ids)
        if how == "each":
            return "".join(tok.decode_bytes([i]).decode("utf-8", errors="replace") for i in ids)
        data = tok.decode_bytes(ids)
        return data.decode("utf-8", errors="ignore" if how == "ignore" else "replace")

    return decode


DECODE_TOKENS = Exercise(
    id="01.decode_tokens",
    function="decode_tokens",
    points=1,
    reference=_reference_decode,
    cases=_decode_cases,
    compare=exact,
    diagnoses=_diagnoses(
        (N_("broken bytes were dropped. Decode with errors='replace', so that they show as "
         "'\ufffd' and the reader can see something was cut."), _decode_with("ignore")),
        (N_("each token was decoded on its own, so a character split over two tokens became "
         "two '\ufffd'. Join all the bytes first, then decode once."), _decode_with("each")),
        (N_("byte_ids were not used: the token byte_ids[b] stands for the byte b."),
         _decode_with("identity")),
    ),
    error_hints=(("UnicodeDecodeError", N_("decoding is strict: bytes.decode('utf-8') fails on "
                                           "a character cut in two. Use .decode('utf-8', "
                                           "errors='replace').")), *NONE_SPECIALS),
    forbidden_modules=TOKENIZER_LIBRARIES,
)

EXERCISES = (TEXT_TO_BYTES, MOST_COMMON_PAIR, MERGE_PAIR, TRAIN_BPE, SPLIT_CHUNKS, ENCODE_CHUNK,
             ENCODE_TEXT, DECODE_TOKENS)
