"""Lesson 01 test support: correct learner code (what the solution notebook teaches), and
the helpers that run it through ``check``. The buggy variants in the test files are written
the way a learner would write them, not copied from the diagnoses.
"""

from __future__ import annotations

from pathlib import Path

import regex
from check_support import fails_with, learner

from gpt2course.check import run_check

ROOT = Path(__file__).resolve().parents[1]
SOLUTION = ROOT / "solutions" / "01_tokenizer.ipynb"
PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
EOT = "<|endoftext|>"


# --- correct learner code (what the solution notebook teaches) --------------------------------


def text_to_bytes(text):
    return list(text.encode("utf-8"))


def count_pairs(ids):
    counts = {}
    for pair in zip(ids, ids[1:], strict=False):
        counts[pair] = counts.get(pair, 0) + 1
    return counts


def most_common_pair(ids):
    counts = count_pairs(ids)
    if not counts:
        return None
    pair = max(counts, key=counts.get)
    return pair, counts[pair]


def merge_pair(ids, pair, new_id):
    out, i = [], 0
    while i < len(ids):
        if i + 1 < len(ids) and ids[i] == pair[0] and ids[i + 1] == pair[1]:
            out.append(new_id)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out


def train_bpe(chunks, num_merges):
    seqs = [text_to_bytes(c) for c in chunks]
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


def split_chunks(text):
    return regex.findall(PATTERN, text)


def encode_chunk(ids, merges):
    ranks = {tuple(pair): i for i, pair in enumerate(merges)}
    while len(ids) >= 2:
        present = [p for p in zip(ids, ids[1:], strict=False) if p in ranks]
        if not present:
            break
        best = min(present, key=ranks.get)
        ids = merge_pair(ids, best, 256 + ranks[best])
    return ids


def encode_text(text, merges, special_tokens=None, byte_ids=None):
    special_tokens = special_tokens or {}
    byte_ids = byte_ids or list(range(256))
    ids = []
    pieces = regex.split("(" + "|".join(map(regex.escape, special_tokens)) + ")", text) \
        if special_tokens else [text]
    for piece in pieces:
        if piece in special_tokens:
            ids.append(special_tokens[piece])
            continue
        for chunk in split_chunks(piece):
            ids += encode_chunk([byte_ids[b] for b in text_to_bytes(chunk)], merges)
    return ids


def decode_tokens(ids, merges, special_tokens=None, byte_ids=None):
    byte_ids = byte_ids or list(range(256))
    vocab = {byte_ids[b]: bytes([b]) for b in range(256)}
    for i, (a, b) in enumerate(merges):
        vocab[256 + i] = vocab[a] + vocab[b]
    for name, i in (special_tokens or {}).items():
        vocab[i] = name.encode("utf-8")
    return b"".join(vocab[i] for i in ids).decode("utf-8", errors="replace")


CORRECT = [text_to_bytes, most_common_pair, merge_pair, train_bpe, split_chunks, encode_chunk,
           encode_text, decode_tokens]


def verdict(fn, name=None, seed=None):
    if name:
        fn = learner(name)(fn)  # a buggy version carries the exercise's name, as in the notebook
    result = run_check(fn, seed=seed)
    assert not isinstance(result, str), result
    return result


def assert_named(fn, name, words):
    fails_with(learner(name)(fn), words)
