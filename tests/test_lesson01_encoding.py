"""Lesson 01, exercises 6-8 (encoding a chunk, encoding text, decoding): each known bug is
caught and named, correct variants pass, and the learner's encoder matches tiktoken with
GPT-2's table.
"""

from __future__ import annotations

from collections import Counter

import pytest
import regex
from lesson01_support import (
    EOT,
    assert_named,
    decode_tokens,
    encode_chunk,
    encode_text,
    merge_pair,
    split_chunks,
    text_to_bytes,
    verdict,
)

from gpt2course.exercises import lesson01_tokenizer as L

# --- known bugs, one by one ---------------------------------------------------------------------


def chunk_with(choose, first_id=256):
    def encode(ids, merges):
        ranks = {tuple(p): i for i, p in enumerate(merges)}
        while True:
            pairs = list(zip(ids, ids[1:], strict=False))
            present = [p for p in pairs if p in ranks]
            if not present:
                return ids
            if choose == "frequent":
                counts = Counter(present)
                best = max(counts, key=counts.get)
            elif choose == "left":
                best = present[0]
            else:
                best = min(present, key=ranks.get)
            ids = merge_pair(ids, best, first_id + ranks[best])

    return encode


def test_encode_chunk_by_frequency_instead_of_rank():
    assert_named(chunk_with("frequent"), "encode_chunk", "lowest rank first")


def test_encode_chunk_leftmost_pair_first():
    assert_named(chunk_with("left"), "encode_chunk", "leftmost pair")


@pytest.mark.parametrize("first_id", [255, 257])
def test_encode_chunk_off_by_one_new_ids(first_id):
    assert_named(chunk_with("rank", first_id), "encode_chunk", "off by one")


def test_valid_variant_applying_each_merge_in_order_passes():
    def encode(ids, merges):
        for i, pair in enumerate(merges):  # rank order: every merge once, left to right
            ids = merge_pair(ids, pair, 256 + i)
        return ids

    assert verdict(encode, "encode_chunk").passed
    assert verdict(encode, "encode_chunk", seed=9).passed


def test_encode_text_without_splitting():
    def buggy(text, merges, special_tokens=None, byte_ids=None):
        return encode_chunk(text_to_bytes(text), merges)

    assert_named(buggy, "encode_text", "not cut into chunks")


def test_encode_text_with_a_split_that_drops_whitespace():
    def buggy(text, merges, special_tokens=None, byte_ids=None):
        special_tokens = special_tokens or {}
        ids = []
        for chunk in regex.split("(" + regex.escape(EOT) + ")", text):
            if chunk in special_tokens:
                ids.append(special_tokens[chunk])
            for word in chunk.split(" ") if chunk not in special_tokens else []:
                ids += encode_chunk([(byte_ids or list(range(256)))[b]
                                     for b in text_to_bytes(word)], merges)
        return ids

    assert_named(buggy, "encode_text", "spaces or newlines were lost")


def test_encode_text_splitting_the_special_token():
    def buggy(text, merges, special_tokens=None, byte_ids=None):
        byte_ids = byte_ids or list(range(256))
        return [i for chunk in split_chunks(text)
                for i in encode_chunk([byte_ids[b] for b in text_to_bytes(chunk)], merges)]

    assert_named(buggy, "encode_text", "special token was cut")


def test_encode_text_ignoring_byte_ids():
    def buggy(text, merges, special_tokens=None, byte_ids=None):
        return encode_text(text, merges, special_tokens, None)

    assert_named(buggy, "encode_text", "byte_ids[b]")


def test_decode_that_fails_on_a_partial_character():
    def buggy(ids, merges, special_tokens=None, byte_ids=None):
        text = decode_tokens(ids, merges, special_tokens, byte_ids)
        if "\ufffd" in text:
            b"\xf0\x9f".decode("utf-8")  # what errors="strict" does on a cut character
        return text

    result = verdict(buggy, "decode_tokens")
    assert not result.passed
    assert "invalid UTF-8" in result.message and "UnicodeDecodeError" in result.message
    assert "Likely bug: decoding is strict" in result.message


def test_decode_dropping_broken_bytes():
    def buggy(ids, merges, special_tokens=None, byte_ids=None):
        return decode_tokens(ids, merges, special_tokens, byte_ids).replace("\ufffd", "")

    assert_named(buggy, "decode_tokens", "errors='replace'")


def test_decode_each_token_alone():
    def buggy(ids, merges, special_tokens=None, byte_ids=None):
        return "".join(decode_tokens([i], merges, special_tokens, byte_ids) for i in ids)

    assert_named(buggy, "decode_tokens", "decoded on its own")


# --- GPT-2's real table --------------------------------------------------------------------------


def test_encoding_that_merges_only_once_is_named():
    def once(ids, merges):
        ranks = {tuple(pair): i for i, pair in enumerate(merges)}
        present = [p for p in zip(ids, ids[1:], strict=False) if p in ranks]
        if not present:
            return list(ids)
        best = min(present, key=ranks.get)
        return merge_pair(ids, best, 256 + ranks[best])

    assert_named(once, "encode_chunk", "only one merge was made")


def test_special_token_names_not_escaped_are_named():
    def unescaped(text, merges, special_tokens=None, byte_ids=None):
        special_tokens = special_tokens or {}
        byte_ids = byte_ids or list(range(256))
        pieces = regex.split("(" + "|".join(special_tokens) + ")", text) \
            if special_tokens else [text]
        ids = []
        for piece in pieces:
            if piece in special_tokens:
                ids.append(special_tokens[piece])
                continue
            for chunk in split_chunks(piece):
                ids += encode_chunk([byte_ids[b] for b in text_to_bytes(chunk)], merges)
        return ids

    assert_named(unescaped, "encode_text", "names were put into a regex without escaping")


@pytest.mark.parametrize("name", ["encode_text", "decode_tokens"])
def test_special_tokens_none_not_handled_is_named(name):
    def encode(text, merges, special_tokens=None, byte_ids=None):
        if special_tokens is None:
            raise TypeError("'NoneType' object is not iterable")  # for name in None
        return encode_text(text, merges, special_tokens, byte_ids)

    def decode(ids, merges, special_tokens=None, byte_ids=None):
        names = {i: name for name, i in special_tokens.items()}  # None has no items()
        return decode_tokens(ids, merges, {n: i for i, n in names.items()}, byte_ids)

    assert_named(encode if name == "encode_text" else decode, name,
                 "special_tokens may be None")


def test_the_learners_encoder_gives_tiktokens_ids_with_gpt2s_table():
    from gpt2course.vocab import gpt2_encoding

    merges, byte_ids, special = L.gpt2_tables()
    text = ("Hello world! It's 2024, naïve café 中文 🙂.\n\n  Spaces   and tabs\t"
            f"{EOT}The end.")
    ids = encode_text(text, merges, special, byte_ids)
    assert ids == gpt2_encoding().encode(text, allowed_special="all")
    assert decode_tokens(ids, merges, special, byte_ids) == text
