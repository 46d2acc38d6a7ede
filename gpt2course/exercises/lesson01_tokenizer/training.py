"""Lesson 01, exercises 4-5: training BPE merges on chunks, and GPT-2's split pattern."""

from __future__ import annotations

import random
from collections.abc import Callable

from ...i18n import N_
from ..core import Case, Exercise, exact
from .common import TOKENIZER_LIBRARIES, Pairs, diagnoses_of, gpt2_chunks, random_text

# --- 4. training ----------------------------------------------------------------------------


def _train_cases(seed: int | None) -> list[Case]:
    if seed is None:
        return [
            Case("the classic example 'aaabdaaabac', 3 merges",
                 {"chunks": ["aaabdaaabac"], "num_merges": 3}),
            Case("'hug pug pun bun hugs' cut into words, 6 merges",
                 {"chunks": gpt2_chunks("hug pug pun bun hugs"), "num_merges": 6}),
            Case("a short text in chunks, 12 merges",
                 {"chunks": gpt2_chunks("the dog. the dog! the cat, the hat; that dog..."),
                  "num_merges": 12}),
            Case("more merges asked for than possible: stop early",
                 {"chunks": ["ab", "ab"], "num_merges": 5}),
            Case("repeated chunks: each occurrence counts",
                 {"chunks": ["low", "low", "low", "lower", "newest", "newest", "wid"],
                  "num_merges": 6}),
        ]
    rng = random.Random(seed)
    return [Case("a hidden text in chunks, 25 merges",
                 {"chunks": gpt2_chunks(random_text(rng, 60)), "num_merges": 25}),
            Case("a hidden text as one chunk, 10 merges",
                 {"chunks": [random_text(rng, 20, unicode=False)], "num_merges": 10})]


def _train(chunks: list[str], num_merges: int, *, first_id: int = 256, recount: bool = True,
           tie: str = "first", min_count: int = 1) -> Pairs:
    """BPE training on chunks, with one thing changed: how the diagnoses are built."""
    from ...bpe import count_pairs, merge_pair

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
        top = (min if tie == "least" else max)(counts.values())
        tied = [p for p in counts if counts[p] == top]
        best = {"last": tied[-1], "smallest": min(tied)}.get(tie, tied[0])
        merges.append(list(best))
        seqs = [merge_pair(ids, best, new_id) for ids in seqs]
    return merges


def _reference_train(chunks: list[str], num_merges: int) -> Pairs:
    return _train(chunks, num_merges)


TRAIN_TIE = N_("when several pairs are equally common, merge the one that appears first "
             "(in the first chunk that has it).")

SET_OF_CHUNKS = N_("a chunk that occurs several times was counted once (a set, or a dict of "
                   "unique chunks without their counts). Every occurrence counts: weight each "
                   "distinct chunk's pairs by how often the chunk occurs.")

TRAIN_BPE = Exercise(
    id="01.train_bpe",
    function="train_bpe",
    points=2,
    reference=_reference_train,
    cases=_train_cases,
    compare=exact,
    diagnoses=diagnoses_of(
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
        (SET_OF_CHUNKS,
         lambda chunks, num_merges: _train(list(dict.fromkeys(chunks)), num_merges)),
        (SET_OF_CHUNKS, lambda chunks, num_merges: _train(list(set(chunks)), num_merges)),
        (N_("training stopped early, when the most common pair occurred only once. Keep "
            "merging while any pair is left, until num_merges merges are made."),
         lambda chunks, num_merges: _train(chunks, num_merges, min_count=2)),
        (TRAIN_TIE, lambda chunks, num_merges: _train(chunks, num_merges, tie="last")),
        (TRAIN_TIE, lambda chunks, num_merges: _train(chunks, num_merges, tie="smallest")),
        (N_("the least frequent pair was merged (min of the counts); each step merges the most "
            "frequent pair (max)."), lambda chunks, num_merges: _train(chunks, num_merges,
                                                                       tie="least")),
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
    return gpt2_chunks(text)


def split_with(pattern: str) -> Callable[[str], list[str]]:
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
    diagnoses=diagnoses_of(
        (N_("the text was not split. Use regex.findall(GPT2_SPLIT_PATTERN, text)."),
         lambda text: [text] if text else []),
        (WHITESPACE_LOST, lambda text: text.split()),
        (WHITESPACE_LOST, split_with(NO_WHITESPACE)),
        (N_("a space is a chunk of its own here. In GPT-2 one space goes with the word after it "
         "(' dog'): that is the ' ?' in front of \\p{L}+."), split_with(SPACE_ALONE)),
    ),
    forbidden_modules=TOKENIZER_LIBRARIES,
)
