"""Byte-pair encoding (BPE) as small pure functions.

BPE starts from bytes: every text is a list of byte values 0..255. Training
looks for the pair of neighbouring tokens that occurs most often, gives that
pair a new id, and replaces it everywhere; then it repeats. Each learned
*merge* ``(a, b) -> new_id`` is remembered in order. The order is the merge's
*rank*: a merge learned earlier has a smaller new id, so "lowest rank first"
simply means "smallest new id first".

Encoding new text replays the merges: in each chunk, find the neighbouring pair
with the lowest rank, merge it, and repeat until no pair is a known merge.

GPT-2 does not run BPE over the whole text at once. A regular expression first
cuts the text into chunks (words, numbers, punctuation, spaces), and merges
never cross a chunk boundary. So " dog" and " dog." share the token " dog".

These functions are the references that lesson 01's exercises are checked against.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from itertools import pairwise

import regex

from .errors import InputError
from .i18n import tr

# GPT-2's split pattern, one alternative per kind of chunk:
#   's 't 're 've 'm 'll 'd   English contractions, as their own chunks
#   ?\p{L}+                   a word (letters), with at most one space before it
#   ?\p{N}+                   a number (digits of any script), with one optional space
#   ?[^\s\p{L}\p{N}]+         punctuation and symbols, with one optional space
#   \s+(?!\S)                 spaces, but leave the last one to start the next word
#   \s+                       any spaces that are left (e.g. at the end of the text)
# \p{L} and \p{N} come from the `regex` module's Unicode tables. For the rare
# characters new in Unicode 17 they may differ from tiktoken's (Unicode 16) tables.
GPT2_SPLIT_PATTERN = (
    r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
)

# The ids of the 256 single bytes when they are simply the byte values.
BYTE_IDS: tuple[int, ...] = tuple(range(256))

Pair = tuple[int, int]


def split_text(text: str, pattern: str | None = GPT2_SPLIT_PATTERN) -> list[str]:
    """Cut ``text`` into the chunks BPE works on; ``pattern=None`` keeps it whole.

    GPT-2's pattern keeps every character: ``"".join(split_text(t)) == t``.
    """
    if pattern is None:
        return [text] if text else []
    return regex.findall(pattern, text)


def count_pairs(ids: Sequence[int]) -> dict[Pair, int]:
    """Count each pair of neighbours: ``[1, 2, 1, 2]`` -> ``{(1, 2): 2, (2, 1): 1}``.

    The dict keeps the order in which pairs first appear.
    """
    counts: dict[Pair, int] = {}
    for pair in pairwise(ids):
        counts[pair] = counts.get(pair, 0) + 1
    return counts


def merge_pair(ids: Sequence[int], pair: Pair, new_id: int) -> list[int]:
    """Replace every ``pair`` in ``ids``, left to right, by ``new_id``.

    Left to right matters when a pair overlaps itself: merging (7, 7) in
    ``[7, 7, 7]`` gives ``[new_id, 7]``.
    """
    merged: list[int] = []
    i = 0
    while i < len(ids):
        if i + 1 < len(ids) and ids[i] == pair[0] and ids[i + 1] == pair[1]:
            merged.append(new_id)
            i += 2
        else:
            merged.append(ids[i])
            i += 1
    return merged


def train_merges(
    text: str,
    num_merges: int,
    pattern: str | None = GPT2_SPLIT_PATTERN,
    special_tokens: Iterable[str] = (),
) -> dict[Pair, int]:
    """Learn ``num_merges`` merges from ``text``; return ``{(a, b): new_id}`` in learned order.

    New ids start at 256, right after the bytes. Each step merges the pair that
    occurs most often in the whole text; a tie goes to the pair that appears
    first. Training stops early when no pair is left to merge.
    special_tokens: cut out of the text first, as ``encode`` does (``split_special``),
    so no merge learns their bytes or crosses their boundary (``b"<|"``, ``b".<|"``).
    """
    specials = set(special_tokens)
    # The same chunk (" the") occurs thousands of times; work on each distinct
    # chunk once and weight its pairs by how often it occurs.
    chunk_counts = Counter(
        chunk
        for piece in split_special(text, specials)
        if piece not in specials
        for chunk in split_text(piece, pattern)
    )
    chunks = [list(chunk.encode("utf-8")) for chunk in chunk_counts]
    weights = list(chunk_counts.values())

    merges: dict[Pair, int] = {}
    for new_id in range(256, 256 + num_merges):
        counts: dict[Pair, int] = {}
        for ids, weight in zip(chunks, weights, strict=True):
            for pair, n in count_pairs(ids).items():
                counts[pair] = counts.get(pair, 0) + n * weight
        if not counts:
            break
        best = max(counts, key=counts.__getitem__)  # the first of equal counts wins
        merges[best] = new_id
        chunks = [merge_pair(ids, best, new_id) for ids in chunks]
    return merges


def encode_chunk(
    chunk: bytes, merges: Mapping[Pair, int], byte_ids: Sequence[int] = BYTE_IDS
) -> list[int]:
    """Turn one chunk's bytes into token ids by replaying ``merges``, lowest rank first.

    ``byte_ids[b]`` is the id of byte ``b`` (GPT-2 does not use the byte value itself).
    """
    ids = [byte_ids[b] for b in chunk]
    while len(ids) >= 2:
        # Of the pairs present, pick the one learned first (smallest new id).
        ranks = [(merges[pair], pair) for pair in pairwise(ids) if pair in merges]
        if not ranks:
            break
        new_id, pair = min(ranks)
        ids = merge_pair(ids, pair, new_id)
    return ids


def encode_chunk_fast(
    chunk: bytes, merges: Mapping[Pair, int], byte_ids: Sequence[int] = BYTE_IDS,
    *, counter: list[int] | None = None,
) -> list[int]:
    """The ids ``encode_chunk`` gives, in about n log n steps instead of up to n * n.

    ``encode_chunk`` rescans the whole chunk after every merge, so one long chunk
    (100,000 letters, or a run of Chinese characters without punctuation, which
    GPT-2's pattern keeps as one chunk) costs time proportional to its length squared.
    Here the parts form a linked list, and a heap holds every neighbouring pair
    that is a known merge, keyed by (rank, position): the lowest rank first and, among
    equal ranks, the leftmost, which is exactly the order ``merge_pair`` merges in.
    A merge changes only its two neighbours' pairs; entries that no longer describe
    a pair in the list are skipped when they come out ("lazy deletion").
    counter: if given, ``counter[0]`` is increased by the heap operations done (for tests).
    """
    ids = [byte_ids[b] for b in chunk]
    n = len(ids)
    if n < 2:
        return ids
    rank_of = merges.get
    push, pop = heapq.heappush, heapq.heappop
    nxt = list(range(1, n + 1))  # index of the next live part (n: none)
    prv = list(range(-1, n - 1))  # index of the previous live part (-1: none)
    # One int per entry, rank * n + position, compares like the pair (rank, position).
    heap = [rank_of(pair) * n + i for i, pair in enumerate(pairwise(ids)) if pair in merges]
    heapq.heapify(heap)
    ops = len(heap)
    while heap:
        rank, i = divmod(pop(heap), n)
        ops += 1
        j = nxt[i]
        if j >= n or rank_of((ids[i], ids[j])) != rank:
            continue  # stale: a part of it was merged away or changed since it was pushed
        ids[i] = rank  # the merged token's id is its rank
        ids[j] = -1  # -1 marks a dead part; no merge has -1 in it
        k = nxt[i] = nxt[j]
        if k < n:
            prv[k] = i
            new_rank = rank_of((rank, ids[k]))  # the pair that now starts at i
            if new_rank is not None:
                push(heap, new_rank * n + i)
                ops += 1
        h = prv[i]
        if h >= 0:
            new_rank = rank_of((ids[h], rank))  # the pair that now ends at i
            if new_rank is not None:
                push(heap, new_rank * n + h)
                ops += 1
    if counter is not None:
        counter[0] += ops
    return [token for token in ids if token >= 0]


def build_vocab(merges: Mapping[Pair, int], byte_ids: Sequence[int] = BYTE_IDS) -> dict[int, bytes]:
    """Return ``{id: bytes}`` for every byte and merged token."""
    vocab = {token_id: bytes([b]) for b, token_id in enumerate(byte_ids)}
    # Merges come in learned order, so both halves are already in the vocab.
    for (a, b), new_id in merges.items():
        vocab[new_id] = vocab[a] + vocab[b]
    return vocab


def decode_ids(ids: Iterable[int], vocab: Mapping[int, bytes]) -> str:
    """Join the tokens' bytes and read them as UTF-8; broken bytes become U+FFFD.

    One token may hold only part of a character (Chinese characters are 3 bytes
    and emoji are 4), so a slice of valid ids can be invalid UTF-8.
    """
    return b"".join(vocab[i] for i in ids).decode("utf-8", errors="replace")


def fix_surrogates(text: str) -> str:
    """Make ``text`` encodable as UTF-8, as tiktoken does.

    A Python str can hold UTF-16 surrogates (U+D800..U+DFFF), which UTF-8 cannot
    store. A correct pair of them becomes the one character it stands for; a
    lone one becomes U+FFFD.
    """
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def split_special(text: str, special_tokens: Iterable[str]) -> list[str]:
    """Cut ``text`` around special tokens; each special token becomes a piece of its own.

    ``split_special("a<|endoftext|>b", ["<|endoftext|>"])`` -> ``["a", "<|endoftext|>", "b"]``.
    Empty pieces are dropped.
    """
    # Longest first, so that a special token that contains another one wins.
    specials = sorted(special_tokens, key=len, reverse=True)
    if not specials:
        return [text] if text else []
    pattern = "(" + "|".join(regex.escape(s) for s in specials) + ")"
    return [piece for piece in regex.split(pattern, text) if piece]


def recover_merges(ranks: Mapping[bytes, int]) -> tuple[list[int], dict[Pair, int]]:
    """Rebuild ``(byte_ids, merges)`` from a tiktoken-style table ``{token_bytes: rank}``.

    tiktoken keeps only each token's bytes and rank (its id), not the pair it was
    merged from. The pair can be found again: encode the token's bytes using only
    the merges of lower rank. That stops exactly one merge short, at two ids.
    """
    missing = [b for b in range(256) if bytes([b]) not in ranks]
    if missing:
        raise InputError(tr("the table has no token for byte {byte}; BPE needs all 256",
                            byte=missing[0]))
    byte_ids = [ranks[bytes([b])] for b in range(256)]
    merges: dict[Pair, int] = {}
    for token, rank in sorted(ranks.items(), key=lambda item: item[1]):
        if len(token) == 1:
            continue
        parts = encode_chunk(token, merges, byte_ids)  # only lower ranks are known so far
        if len(parts) != 2:
            raise InputError(tr("token {token!r} (rank {rank}) is not a merge of two lower "
                                "tokens", token=token, rank=rank))
        merges[(parts[0], parts[1])] = rank
    return byte_ids, merges
