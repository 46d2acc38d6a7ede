"""Lesson 01 (byte-level BPE): bugs from minbpe-style tokenizers written from scratch."""

from . import Bug

L = "01"

BUGS = (
    Bug(L, "bytes_code_points", "01_text_to_bytes", "text_to_bytes", '''
def text_to_bytes(text):
    return [ord(c) for c in text]
''', r"utf-?8|code point|ord\("),
    Bug(L, "bytes_object_not_list", "01_text_to_bytes", "text_to_bytes", '''
def text_to_bytes(text):
    return text.encode("utf-8")
''', r"\blist\b"),
    Bug(L, "pairs_last_tie", "01_most_common_pair", "most_common_pair", '''
def count_pairs(ids):
    counts = {}
    for pair in zip(ids, ids[1:]):
        counts[pair] = counts.get(pair, 0) + 1
    return counts


def most_common_pair(ids):
    counts = count_pairs(ids)
    if not counts:
        return None
    pair, n = sorted(counts.items(), key=lambda kv: kv[1])[-1]
    return pair, n
''', r"\btie|first"),
    Bug(L, "pairs_range_short", "01_most_common_pair", "most_common_pair", '''
def count_pairs(ids):
    counts = {}
    for i in range(len(ids) - 2):
        pair = (ids[i], ids[i + 1])
        counts[pair] = counts.get(pair, 0) + 1
    return counts


def most_common_pair(ids):
    counts = count_pairs(ids)
    if not counts:
        return None
    pair = max(counts, key=counts.get)
    return pair, counts[pair]
''', r"last pair|off by one|one too early|range"),
    Bug(L, "pairs_no_count", "01_most_common_pair", "most_common_pair", '''
def count_pairs(ids):
    counts = {}
    for pair in zip(ids, ids[1:]):
        counts[pair] = counts.get(pair, 0) + 1
    return counts


def most_common_pair(ids):
    counts = count_pairs(ids)
    if not counts:
        return None
    return max(counts, key=counts.get)
''', r"count|\(pair, ?count\)|tuple"),
    Bug(L, "merge_drops_last", "01_merge_pair", "merge_pair", '''
def merge_pair(ids, pair, new_id):
    merged = []
    i = 0
    while i < len(ids) - 1:
        if ids[i] == pair[0] and ids[i + 1] == pair[1]:
            merged.append(new_id)
            i += 2
        else:
            merged.append(ids[i])
            i += 1
    return merged
''', r"last"),
    Bug(L, "merge_first_only", "01_merge_pair", "merge_pair", '''
def merge_pair(ids, pair, new_id):
    merged = []
    i = 0
    while i < len(ids):
        if i + 1 < len(ids) and ids[i] == pair[0]:
            merged.append(new_id)
            i += 2
        else:
            merged.append(ids[i])
            i += 1
    return merged
''', r"second|both"),
    Bug(L, "merge_in_place", "01_merge_pair", "merge_pair", '''
def merge_pair(ids, pair, new_id):
    i = 0
    while i < len(ids) - 1:
        if ids[i] == pair[0] and ids[i + 1] == pair[1]:
            ids[i:i + 2] = [new_id]
        i += 1
    return ids
''', r"in place|copy"),
    Bug(L, "merge_string_replace", "01_merge_pair", "merge_pair", '''
def merge_pair(ids, pair, new_id):
    text = ",".join(str(i) for i in ids)
    text = text.replace(f"{pair[0]},{pair[1]}", str(new_id))
    return [int(part) for part in text.split(",")] if text else []
''', r"string|text|digit|part of"),
    Bug(L, "merge_from_right", "01_merge_pair", "merge_pair", '''
def merge_pair(ids, pair, new_id):
    merged = []
    i = len(ids) - 1
    while i >= 0:
        if i >= 1 and ids[i - 1] == pair[0] and ids[i] == pair[1]:
            merged.append(new_id)
            i -= 2
        else:
            merged.append(ids[i])
            i -= 1
    return merged[::-1]
''', r"left to right|overlap|right to left|from the right"),
    Bug(L, "train_ids_from_one", "01_train_bpe", "train_bpe", '''
def train_bpe(chunks, num_merges):
    times = Counter(chunks)
    seqs = [text_to_bytes(chunk) for chunk in times]
    weights = list(times.values())
    merges = []
    for k in range(1, num_merges + 1):
        counts = {}
        for ids, weight in zip(seqs, weights):
            for pair, n in count_pairs(ids).items():
                counts[pair] = counts.get(pair, 0) + n * weight
        if not counts:
            break
        best = max(counts, key=counts.get)
        merges.append(best)
        seqs = [merge_pair(ids, best, 256 + k) for ids in seqs]
    return merges
''', r"256|new id|off by one|number"),
    Bug(L, "train_joins_chunks", "01_train_bpe", "train_bpe", '''
def train_bpe(chunks, num_merges):
    ids = text_to_bytes("".join(chunks))
    merges = []
    for k in range(num_merges):
        counts = count_pairs(ids)
        if not counts:
            break
        best = max(counts, key=counts.get)
        merges.append(best)
        ids = merge_pair(ids, best, 256 + k)
    return merges
''', r"chunk|boundar|across"),
    Bug(L, "train_no_stop", "01_train_bpe", "train_bpe", '''
def train_bpe(chunks, num_merges):
    seqs = [text_to_bytes(chunk) for chunk in chunks]
    merges = []
    for k in range(num_merges):
        counts = {}
        for ids in seqs:
            for pair, n in count_pairs(ids).items():
                counts[pair] = counts.get(pair, 0) + n
        best = max(counts, key=counts.get)
        merges.append(best)
        seqs = [merge_pair(ids, best, 256 + k) for ids in seqs]
    return merges
''', r"no pair|empty|stop|break|fewer|single token"),
    Bug(L, "train_tuple_keys_lost", "01_train_bpe", "train_bpe", '''
def train_bpe(chunks, num_merges):
    seqs = [text_to_bytes(chunk) for chunk in set(chunks)]
    merges = []
    for k in range(num_merges):
        counts = {}
        for ids in seqs:
            for pair, n in count_pairs(ids).items():
                counts[pair] = counts.get(pair, 0) + n
        if not counts:
            break
        best = max(counts, key=counts.get)
        merges.append(best)
        seqs = [merge_pair(ids, best, 256 + k) for ids in seqs]
    return merges
''', r"how often|repeat|weight|duplicate|times|frequen"),
    Bug(L, "split_no_lookahead", "01_split_chunks", "split_chunks", r'''
def split_chunks(text):
    pattern = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+"""
    return regex.findall(pattern, text)
''', r"pattern|regex|space|whitespace|lookahead|\(\?!"),
    Bug(L, "split_on_spaces", "01_split_chunks", "split_chunks", r'''
def split_chunks(text):
    words = text.split(" ")
    return [words[0]] + [" " + w for w in words[1:]]
''', r"pattern|regex|findall|punctuation|split"),
    Bug(L, "split_letters_no_space", "01_split_chunks", "split_chunks", r'''
def split_chunks(text):
    pattern = r"""'s|'t|'re|'ve|'m|'ll|'d|\p{L}+|\p{N}+|[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
    return regex.findall(pattern, text)
''', r"pattern|space|optional| \?"),
    Bug(L, "encode_most_frequent", "01_encode_chunk", "encode_chunk", '''
def encode_chunk(ids, merges):
    ranks = {tuple(pair): i for i, pair in enumerate(merges)}
    ids = list(ids)
    while len(ids) >= 2:
        counts = count_pairs(ids)
        known = [p for p in counts if p in ranks]
        if not known:
            break
        best = max(known, key=counts.get)
        ids = merge_pair(ids, best, 256 + ranks[best])
    return ids
''', r"rank|lowest|learned first|order|frequen"),
    Bug(L, "encode_rank_as_id", "01_encode_chunk", "encode_chunk", '''
def encode_chunk(ids, merges):
    ranks = {tuple(pair): i for i, pair in enumerate(merges)}
    ids = list(ids)
    while len(ids) >= 2:
        known = [pair for pair in zip(ids, ids[1:]) if pair in ranks]
        if not known:
            break
        best = min(known, key=ranks.get)
        ids = merge_pair(ids, best, ranks[best])
    return ids
''', r"256"),
    Bug(L, "encode_one_pass", "01_encode_chunk", "encode_chunk", '''
def encode_chunk(ids, merges):
    ranks = {tuple(pair): i for i, pair in enumerate(merges)}
    ids = list(ids)
    known = [pair for pair in zip(ids, ids[1:]) if pair in ranks]
    for pair in sorted(set(known), key=ranks.get):
        ids = merge_pair(ids, pair, 256 + ranks[pair])
    return ids
''', r"repeat|again|loop|until|new pair|once"),
    Bug(L, "encode_text_no_chunks", "01_encode_text", "encode_text", '''
def encode_text(text, merges, special_tokens=None, byte_ids=None):
    special_tokens = special_tokens or {}
    if byte_ids is None:
        byte_ids = list(range(256))
    pieces = [text]
    if special_tokens:
        names = "|".join(regex.escape(name) for name in special_tokens)
        pieces = regex.split(f"({names})", text)
    ids = []
    for piece in pieces:
        if piece in special_tokens:
            ids.append(special_tokens[piece])
            continue
        ids.extend(encode_chunk([byte_ids[b] for b in text_to_bytes(piece)], merges))
    return ids
''', r"chunk|split_chunks"),
    Bug(L, "encode_text_ignores_special", "01_encode_text", "encode_text", '''
def encode_text(text, merges, special_tokens=None, byte_ids=None):
    if byte_ids is None:
        byte_ids = list(range(256))
    ids = []
    for chunk in split_chunks(text):
        ids.extend(encode_chunk([byte_ids[b] for b in text_to_bytes(chunk)], merges))
    return ids
''', r"special"),
    Bug(L, "encode_text_ignores_byte_ids", "01_encode_text", "encode_text", '''
def encode_text(text, merges, special_tokens=None, byte_ids=None):
    special_tokens = special_tokens or {}
    pieces = [text]
    if special_tokens:
        names = "|".join(regex.escape(name) for name in special_tokens)
        pieces = regex.split(f"({names})", text)
    ids = []
    for piece in pieces:
        if piece in special_tokens:
            ids.append(special_tokens[piece])
            continue
        for chunk in split_chunks(piece):
            ids.extend(encode_chunk(text_to_bytes(chunk), merges))
    return ids
''', r"byte_ids"),
    Bug(L, "decode_per_token", "01_decode_tokens", "decode_tokens", '''
def decode_tokens(ids, merges, special_tokens=None, byte_ids=None):
    if byte_ids is None:
        byte_ids = list(range(256))
    vocab = {byte_ids[b]: bytes([b]) for b in range(256)}
    for i, (a, b) in enumerate(merges):
        vocab[256 + i] = vocab[a] + vocab[b]
    for name, i in (special_tokens or {}).items():
        vocab[i] = name.encode("utf-8")
    return "".join(vocab[i].decode("utf-8", errors="replace") for i in ids)
''', r"join|each token|separately|one by one|split across|before decoding"),
    Bug(L, "decode_strict", "01_decode_tokens", "decode_tokens", '''
def decode_tokens(ids, merges, special_tokens=None, byte_ids=None):
    if byte_ids is None:
        byte_ids = list(range(256))
    vocab = {byte_ids[b]: bytes([b]) for b in range(256)}
    for i, (a, b) in enumerate(merges):
        vocab[256 + i] = vocab[a] + vocab[b]
    for name, i in (special_tokens or {}).items():
        vocab[i] = name.encode("utf-8")
    return b"".join(vocab[i] for i in ids).decode("utf-8")
''', r"replace|errors|invalid|ufffd"),
    Bug(L, "decode_byte_ids_wrong_way", "01_decode_tokens", "decode_tokens", '''
def decode_tokens(ids, merges, special_tokens=None, byte_ids=None):
    if byte_ids is None:
        byte_ids = list(range(256))
    vocab = {b: bytes([byte_ids[b]]) for b in range(256)}
    for i, (a, b) in enumerate(merges):
        vocab[256 + i] = vocab[a] + vocab[b]
    for name, i in (special_tokens or {}).items():
        vocab[i] = name.encode("utf-8")
    return b"".join(vocab[i] for i in ids).decode("utf-8", errors="replace")
''', r"byte_ids|invert|revers|other way|backwards"),
)
