"""Lesson 01, the tokenizer: minbpe-style loops, Counter, bytearray, finditer ..."""

MOST_COMMON_COUNTER = '''def count_pairs(ids):
    return dict(Counter(zip(ids, ids[1:])))


def most_common_pair(ids):
    counts = Counter(zip(ids, ids[1:]))
    if not counts:
        return None
    pair, n = counts.most_common(1)[0]  # a stable sort: the first seen wins a tie
    return pair, n
'''

MOST_COMMON_LOOP = '''def count_pairs(ids):
    counts = {}
    for i in range(len(ids) - 1):
        key = (ids[i], ids[i + 1])
        if key in counts:
            counts[key] += 1
        else:
            counts[key] = 1
    return counts


def most_common_pair(ids):
    best, best_count = None, 0
    for pair, count in count_pairs(ids).items():
        if count > best_count:
            best, best_count = pair, count
    if best is None:
        return None
    return (best, best_count)
'''

MERGE_SKIP_FLAG = '''def merge_pair(ids, pair, new_id):
    out = []
    skip = False
    for i, x in enumerate(ids):
        if skip:
            skip = False
            continue
        if i < len(ids) - 1 and (x, ids[i + 1]) == tuple(pair):
            out.append(new_id)
            skip = True
        else:
            out.append(x)
    return out
'''

MERGE_IN_PLACE_COPY = '''def merge_pair(ids, pair, new_id):
    ids = list(ids)  # a copy: the caller's list stays as it was
    a, b = pair
    i = 0
    while i < len(ids) - 1:
        if ids[i] == a and ids[i + 1] == b:
            ids[i:i + 2] = [new_id]
        i += 1
    return ids
'''

TRAIN_MINBPE = '''def train_bpe(chunks, num_merges):
    seqs = [list(chunk.encode("utf-8")) for chunk in chunks]
    merges = []
    for i in range(num_merges):
        stats = {}
        for ids in seqs:
            for pair in zip(ids, ids[1:]):
                stats[pair] = stats.get(pair, 0) + 1
        if not stats:
            break
        pair = max(stats, key=stats.get)
        idx = 256 + i
        seqs = [merge_pair(ids, pair, idx) for ids in seqs]
        merges.append(pair)
    return merges
'''

TRAIN_COUNTER = '''def train_bpe(chunks, num_merges):
    words = Counter(chunks)
    seqs = {w: list(w.encode()) for w in words}
    merges = []
    while len(merges) < num_merges:
        stats = Counter()
        for w, ids in seqs.items():
            for pair in zip(ids, ids[1:]):
                stats[pair] += words[w]
        if not stats:
            break
        best = max(stats.items(), key=lambda kv: kv[1])[0]
        new_id = 256 + len(merges)
        seqs = {w: merge_pair(ids, best, new_id) for w, ids in seqs.items()}
        merges.append(list(best))
    return merges
'''

ENCODE_CHUNK_MINBPE = '''def encode_chunk(ids, merges):
    ranks = {tuple(p): i for i, p in enumerate(merges)}
    ids = list(ids)
    while len(ids) >= 2:
        stats = count_pairs(ids)
        pair = min(stats, key=lambda p: ranks.get(p, float("inf")))
        if pair not in ranks:
            break  # nothing else can be merged
        ids = merge_pair(ids, pair, 256 + ranks[pair])
    return ids
'''

ENCODE_CHUNK_SCAN = '''def encode_chunk(ids, merges):
    rank_of = {}
    for r, (a, b) in enumerate(merges):
        rank_of[(a, b)] = r
    tokens = list(ids)
    while True:
        best = None
        for i in range(len(tokens) - 1):
            r = rank_of.get((tokens[i], tokens[i + 1]))
            if r is not None and (best is None or r < best):
                best = r
        if best is None:
            return tokens
        tokens = merge_pair(tokens, merges[best], 256 + best)
'''

ENCODE_TEXT_RE = '''import re


def encode_text(text, merges, special_tokens=None, byte_ids=None):
    special = special_tokens or {}
    table = byte_ids if byte_ids is not None else list(range(256))
    if special:
        pattern = "(" + "|".join(re.escape(s) for s in special) + ")"
        parts = re.split(pattern, text)
    else:
        parts = [text]
    cache = {}
    out = []
    for part in parts:
        if part in special:
            out.append(special[part])
            continue
        for chunk in split_chunks(part):
            if chunk not in cache:
                cache[chunk] = encode_chunk([table[b] for b in chunk.encode("utf-8")], merges)
            out.extend(cache[chunk])
    return out
'''

ENCODE_TEXT_FIND = '''def encode_text(text, merges, special_tokens=None, byte_ids=None):
    special_tokens = dict(special_tokens or {})
    byte_ids = list(range(256)) if byte_ids is None else byte_ids

    def ordinary(piece):
        ids = []
        for chunk in split_chunks(piece):
            ids += encode_chunk([byte_ids[b] for b in text_to_bytes(chunk)], merges)
        return ids

    ids, start = [], 0
    while True:
        found = [(text.find(s, start), -len(s), s) for s in special_tokens]
        found = [f for f in found if f[0] >= 0]
        if not found:
            return ids + ordinary(text[start:])
        at, _, name = min(found)
        ids += ordinary(text[start:at]) + [special_tokens[name]]
        start = at + len(name)
'''

DECODE_BYTEARRAY = '''def decode_tokens(ids, merges, special_tokens=None, byte_ids=None):
    byte_ids = byte_ids or list(range(256))
    pieces = {}
    for b, i in enumerate(byte_ids):
        pieces[i] = bytes([b])
    for n, (a, b) in enumerate(merges):
        pieces[256 + n] = pieces[a] + pieces[b]
    if special_tokens:
        for name, i in special_tokens.items():
            pieces[i] = name.encode("utf-8")
    out = bytearray()
    for i in ids:
        out.extend(pieces[i])
    return out.decode("utf-8", errors="replace")
'''

DECODE_RECURSIVE = '''def decode_tokens(ids, merges, special_tokens=None, byte_ids=None):
    to_byte = {i: b for b, i in enumerate(byte_ids)} if byte_ids else {b: b for b in range(256)}
    names = {i: name for name, i in (special_tokens or {}).items()}

    def expand(i):
        if i in names:
            return names[i].encode("utf-8")
        if i in to_byte:
            return bytes([to_byte[i]])
        a, b = merges[i - 256]
        return expand(a) + expand(b)

    return b"".join(expand(i) for i in ids).decode("utf-8", "replace")
'''

ALTERNATIVES = [
    ("01_text_to_bytes", "list comprehension over encode()",
     "def text_to_bytes(text):\n    return [b for b in text.encode()]\n"),
    ("01_text_to_bytes", "bytearray",
     "def text_to_bytes(text):\n    return list(bytearray(text, 'utf-8'))\n"),
    ("01_text_to_bytes", "a tuple of ints",
     "def text_to_bytes(text):\n    return tuple(map(int, text.encode('utf-8')))\n"),
    ("01_most_common_pair", "Counter.most_common", MOST_COMMON_COUNTER),
    ("01_most_common_pair", "an index loop and a strict >", MOST_COMMON_LOOP),
    ("01_merge_pair", "a for loop with a skip flag", MERGE_SKIP_FLAG),
    ("01_merge_pair", "slice assignment on a copy", MERGE_IN_PLACE_COPY),
    ("01_train_bpe", "minbpe: every chunk, no dedup", TRAIN_MINBPE),
    ("01_train_bpe", "a Counter of words, merges as lists", TRAIN_COUNTER),
    ("01_split_chunks", "finditer",
     "def split_chunks(text):\n"
     "    return [m.group(0) for m in regex.finditer(GPT2_SPLIT_PATTERN, text)]\n"),
    ("01_split_chunks", "a compiled pattern",
     "SPLITTER = regex.compile(GPT2_SPLIT_PATTERN)\n\n\n"
     "def split_chunks(text):\n    return SPLITTER.findall(text)\n"),
    ("01_encode_chunk", "minbpe: the pair of lowest rank via min", ENCODE_CHUNK_MINBPE),
    ("01_encode_chunk", "a scan for the lowest rank", ENCODE_CHUNK_SCAN),
    ("01_encode_text", "re.split with a cache of chunks", ENCODE_TEXT_RE),
    ("01_encode_text", "str.find for special tokens", ENCODE_TEXT_FIND),
    ("01_decode_tokens", "a bytearray", DECODE_BYTEARRAY),
    ("01_decode_tokens", "recursive expansion of merges", DECODE_RECURSIVE),
]
