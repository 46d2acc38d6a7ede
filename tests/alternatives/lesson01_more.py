"""Lesson 01, a second batch: numpy, codecs, itertools.pairwise, heapq, generators,
sorted with a key, minbpe's merge dict, type hints, an extra keyword argument ..."""

BYTES_NUMPY = '''import numpy as np


def text_to_bytes(text: str) -> list[int]:
    """UTF-8 bytes through numpy, back to Python ints."""
    return np.frombuffer(text.encode("utf-8"), dtype=np.uint8).tolist()
'''

BYTES_CODECS = '''import codecs


def text_to_bytes(s):
    return [int(b) for b in codecs.encode(s, "utf-8")]
'''

PAIR_PAIRWISE_SORTED = '''from itertools import pairwise


def count_pairs(ids):
    counts = {}
    for pair in pairwise(ids):
        counts[pair] = counts.get(pair, 0) + 1
    return counts


def most_common_pair(ids):
    counts = count_pairs(ids)
    if not counts:
        return None
    # sorted is stable: among equal counts the first-seen pair stays first
    return sorted(counts.items(), key=lambda item: item[1], reverse=True)[0]
'''

PAIR_DEFAULTDICT_HEAPQ = '''import heapq
from collections import defaultdict


def count_pairs(ids):
    counts = defaultdict(int)
    for a, b in zip(ids[:-1], ids[1:]):
        counts[a, b] += 1
    return dict(counts)


def most_common_pair(ids: list[int]) -> tuple[tuple[int, int], int] | None:
    if len(ids) < 2:
        return None
    counts = count_pairs(ids)
    order = {pair: i for i, pair in enumerate(counts)}
    best = heapq.nsmallest(1, counts, key=lambda p: (-counts[p], order[p]))[0]
    return best, counts[best]
'''

MERGE_GENERATOR = '''def merge_pair(ids, pair, new_id):
    a, b = pair

    def merged():
        i = 0
        while i < len(ids):
            if i + 1 < len(ids) and ids[i] == a and ids[i + 1] == b:
                yield new_id
                i += 2
            else:
                yield ids[i]
                i += 1

    return list(merged())
'''

MERGE_SLICE_COMPARE = '''def merge_pair(ids: list[int], pair, new_id: int, *,
               verbose: bool = False) -> list[int]:
    """Replace each (pair[0], pair[1]) by new_id, left to right."""
    target = list(pair)
    out: list[int] = []
    i = 0
    while i < len(ids):
        if list(ids[i:i + 2]) == target:
            out.append(new_id)
            i += 2
            continue
        out.append(ids[i])
        i += 1
    if verbose:
        print(f"{len(ids)} -> {len(out)} ids")
    return out
'''

TRAIN_MINBPE_DICT = '''def train_bpe(chunks, num_merges, verbose=False):
    """minbpe style: merges kept as {pair: new id}, returned as the list of its keys."""
    ids_list = [list(ch.encode("utf-8")) for ch in chunks]
    merges = {}
    for i in range(num_merges):
        stats = Counter()
        for ids in ids_list:
            stats.update(zip(ids, ids[1:]))
        if not stats:
            break
        top = max(stats, key=stats.get)
        merges[top] = 256 + i
        ids_list = [merge_pair(ids, top, 256 + i) for ids in ids_list]
        if verbose:
            print(f"merge {i + 1}/{num_merges}: {top} -> {256 + i} ({stats[top]} times)")
    return list(merges)
'''

TRAIN_WEIGHTED_WORDS = '''def train_bpe(chunks, num_merges):
    freq = Counter(chunks)
    words = [[list(w.encode("utf-8")), n] for w, n in freq.items()]
    merges = []
    for step in range(num_merges):
        pair_counts = {}
        for ids, n in words:
            for i in range(len(ids) - 1):
                p = (ids[i], ids[i + 1])
                pair_counts[p] = pair_counts.get(p, 0) + n
        if len(pair_counts) == 0:
            return merges
        best = None
        for p, c in pair_counts.items():
            if best is None or c > pair_counts[best]:
                best = p
        for entry in words:
            entry[0] = merge_pair(entry[0], best, 256 + step)
        merges.append(best)
    return merges
'''

SPLIT_SLICES = '''_GPT2_RE = regex.compile(GPT2_SPLIT_PATTERN)


def split_chunks(text: str) -> list[str]:
    """GPT-2's chunks, taken as slices of the text."""
    return [text[m.start():m.end()] for m in _GPT2_RE.finditer(text)]
'''

ENCODE_CHUNK_HEAP = '''import heapq


def encode_chunk(ids, merges):
    """The course's fast idea: a linked list of parts, a heap of (rank, position)."""
    rank = {tuple(p): r for r, p in enumerate(merges)}
    parts = list(ids)
    nxt = list(range(1, len(parts) + 1))
    prv = list(range(-1, len(parts) - 1))
    alive = [True] * len(parts)
    heap = []

    def push(i):
        j = nxt[i]
        if j < len(parts):
            r = rank.get((parts[i], parts[j]))
            if r is not None:
                heapq.heappush(heap, (r, i, parts[i], parts[j]))

    for i in range(len(parts) - 1):
        push(i)
    while heap:
        r, i, a, b = heapq.heappop(heap)
        j = nxt[i] if alive[i] else len(parts)
        if j >= len(parts) or parts[i] != a or parts[j] != b:
            continue  # stale: one side changed since it was pushed
        parts[i] = 256 + r
        alive[j] = False
        nxt[i] = nxt[j]
        if nxt[j] < len(parts):
            prv[nxt[j]] = i
        if prv[i] >= 0:
            push(prv[i])
        push(i)
    return [p for p, keep in zip(parts, alive) if keep]
'''

ENCODE_CHUNK_SET_MIN = '''def encode_chunk(ids, merges):
    ranks = {(a, b): r for r, (a, b) in enumerate(merges)}
    ids = list(ids)
    while True:
        candidates = [(ranks[p], p) for p in set(zip(ids, ids[1:])) if p in ranks]
        if not candidates:
            return ids
        r, p = min(candidates)
        ids = merge_pair(ids, p, 256 + r)
'''

ENCODE_TEXT_LONGEST_FIRST = '''import numpy as np


def encode_text(text, merges, special_tokens=None, byte_ids=None):
    specials = special_tokens or {}
    lookup = np.arange(256) if byte_ids is None else np.asarray(byte_ids)
    ids = []
    pieces = [text]
    if specials:
        names = sorted(specials, key=len, reverse=True)  # the longest name wins
        pattern = "(" + "|".join(regex.escape(n) for n in names) + ")"
        pieces = regex.split(pattern, text)
    for piece in pieces:
        if piece in specials:
            ids.append(specials[piece])
        elif piece:
            for chunk in split_chunks(piece):
                raw = np.frombuffer(chunk.encode("utf-8"), dtype=np.uint8)
                ids.extend(encode_chunk(lookup[raw].tolist(), merges))
    return ids
'''

ENCODE_TEXT_TUPLE = '''def encode_text(text, merges, special_tokens=None, byte_ids=None):
    """Token ids, returned as a tuple (a sequence of ints)."""
    special_tokens = special_tokens if special_tokens is not None else {}
    to_id = byte_ids if byte_ids is not None else range(256)

    def plain(part):
        for chunk in split_chunks(part):
            yield from encode_chunk([to_id[b] for b in chunk.encode("utf-8")], merges)

    if not special_tokens:
        return tuple(plain(text))
    splitter = "(" + "|".join(map(regex.escape, special_tokens)) + ")"
    out = []
    for part in regex.split(splitter, text):
        out.extend([special_tokens[part]] if part in special_tokens else plain(part))
    return tuple(out)
'''

DECODE_TOKEN_BYTES = '''def decode_tokens(ids, merges, special_tokens=None, byte_ids=None):
    if byte_ids is None:
        byte_ids = list(range(256))
    table = {byte_ids[b]: bytes([b]) for b in range(256)}
    for i, (left, right) in enumerate(merges):
        table[256 + i] = table[left] + table[right]
    table.update({v: k.encode("utf-8") for k, v in (special_tokens or {}).items()})
    return str(b"".join(map(table.__getitem__, ids)), "utf-8", "replace")
'''

DECODE_LRU_CACHE = '''from functools import lru_cache


def decode_tokens(ids, merges, special_tokens=None, byte_ids=None):
    byte_of = {}
    for b in range(256):
        byte_of[b if byte_ids is None else byte_ids[b]] = b
    special = {i: s for s, i in (special_tokens or {}).items()}

    @lru_cache(maxsize=None)
    def piece(i: int) -> bytes:
        if i in special:
            return special[i].encode("utf-8")
        if i in byte_of:
            return bytes([byte_of[i]])
        left, right = merges[i - 256]
        return piece(left) + piece(right)

    data = bytearray()
    for i in ids:
        data += piece(int(i))
    return data.decode(encoding="utf-8", errors="replace")
'''

BYTES_NUMPY_ITEMS = '''import numpy as np


def text_to_bytes(text):
    return list(np.frombuffer(text.encode("utf-8"), dtype=np.uint8))  # numpy uint8 items
'''

PAIR_NAMEDTUPLE = '''from collections import namedtuple

Best = namedtuple("Best", ["pair", "count"])


def count_pairs(ids):
    counts = {}
    for pair in zip(ids, ids[1:]):
        counts[pair] = counts.get(pair, 0) + 1
    return counts


def most_common_pair(ids):
    counts = count_pairs(ids)
    if not counts:
        return None
    pair = max(counts, key=counts.get)
    return Best(pair, counts[pair])
'''

TRAIN_TIMED = '''%%time
def train_bpe(chunks, num_merges):
    seqs = [list(chunk.encode("utf-8")) for chunk in chunks]
    merges = []
    for step in range(num_merges):
        counts = Counter()
        for ids in seqs:
            counts.update(zip(ids, ids[1:]))
        if not counts:
            break
        pair = max(counts, key=counts.get)
        seqs = [merge_pair(ids, pair, 256 + step) for ids in seqs]
        merges.append(pair)
    return merges


print(train_bpe(["aaabdaaabac"], 3))
'''

ALTERNATIVES = [
    ("01_text_to_bytes", "numpy frombuffer, tolist, type hints", BYTES_NUMPY),
    ("01_text_to_bytes", "codecs.encode, a renamed parameter", BYTES_CODECS),
    ("01_text_to_bytes", "a list of numpy uint8", BYTES_NUMPY_ITEMS),
    ("01_most_common_pair", "itertools.pairwise, a stable sorted", PAIR_PAIRWISE_SORTED),
    ("01_most_common_pair", "defaultdict, heapq.nsmallest with a key", PAIR_DEFAULTDICT_HEAPQ),
    ("01_most_common_pair", "a namedtuple", PAIR_NAMEDTUPLE),
    ("01_merge_pair", "a generator", MERGE_GENERATOR),
    ("01_merge_pair", "slices compared as lists, a keyword argument", MERGE_SLICE_COMPARE),
    ("01_train_bpe", "minbpe's merge dict, Counter.update", TRAIN_MINBPE_DICT),
    ("01_train_bpe", "weighted words, a strict > scan", TRAIN_WEIGHTED_WORDS),
    ("01_train_bpe", "under %%time", TRAIN_TIMED),
    ("01_split_chunks", "slices of finditer's spans", SPLIT_SLICES),
    ("01_encode_chunk", "a heap over a linked list", ENCODE_CHUNK_HEAP),
    ("01_encode_chunk", "min over a set of ranked pairs", ENCODE_CHUNK_SET_MIN),
    ("01_encode_text", "numpy byte ids, longest special first", ENCODE_TEXT_LONGEST_FIRST),
    ("01_encode_text", "a generator, a tuple of ids", ENCODE_TEXT_TUPLE),
    ("01_decode_tokens", "a dict of bytes, str(..., 'replace')", DECODE_TOKEN_BYTES),
    ("01_decode_tokens", "lru_cache recursion", DECODE_LRU_CACHE),
]
