"""The reference BPE tokenizer against tiktoken: the same ids on any text, special tokens,
partial UTF-8, and the fast merge loop on long chunks."""

from __future__ import annotations

import os
import random
import string
from pathlib import Path

import pytest
import tiktoken
from hypothesis import given, settings
from hypothesis import strategies as st
from tokenizer_support import MIXED_TEXTS

from gpt2course.bpe import encode_chunk, encode_chunk_fast, split_text, train_merges
from gpt2course.errors import InputError
from gpt2course.tokenizer import BPETokenizer
from gpt2course.vocab import ENDOFTEXT, ENDOFTEXT_ID

# The fixtures tik, gpt2 and shakespeare are in conftest.py.


# ---- equality with tiktoken -------------------------------------------------------------


def test_recovered_merges_are_gpt2s_own_merges(gpt2: BPETokenizer) -> None:
    """The pairs found from tiktoken's ranks are exactly those in GPT-2's vocab.bpe file."""
    folder = os.environ.get("TIKTOKEN_CACHE_DIR")
    files = (
        [p for p in Path(folder).iterdir() if p.read_bytes()[:9] == b"#version:"] if folder else []
    )
    if not files:
        pytest.skip("GPT-2's vocab.bpe is not in TIKTOKEN_CACHE_DIR")
    # vocab.bpe writes each byte as a printable character: bytes that print as
    # themselves keep their character, the other 68 get chr(256), chr(257), ...
    shown = [b for b in range(256) if chr(b).isprintable() and b != ord(" ")]
    hidden = [b for b in range(256) if b not in shown]
    char_to_byte = {chr(b): b for b in shown} | {chr(256 + i): b for i, b in enumerate(hidden)}
    lines = files[0].read_text(encoding="utf-8").splitlines()[1:]
    expected = [tuple(bytes(char_to_byte[c] for c in w) for w in line.split()) for line in lines]

    # from_tiktoken found its merges with recover_merges.
    assert [(gpt2.vocab[a], gpt2.vocab[b]) for a, b in gpt2.merges] == expected
    assert list(gpt2.merges.values()) == list(range(256, 256 + len(expected)))


def test_tiny_shakespeare_encodes_exactly_like_tiktoken(
    gpt2: BPETokenizer, tik: tiktoken.Encoding, shakespeare: str
) -> None:
    ids = gpt2.encode(shakespeare)
    assert ids == tik.encode(shakespeare)
    assert gpt2.decode(ids) == shakespeare



@pytest.mark.parametrize("text", MIXED_TEXTS)
def test_mixed_text_encodes_exactly_like_tiktoken(
    gpt2: BPETokenizer, tik: tiktoken.Encoding, text: str
) -> None:
    assert gpt2.encode(text) == tik.encode(text)
    assert gpt2.encode_ordinary(text) == tik.encode_ordinary(text)


# Code points that this Python's Unicode tables call unassigned (Cn) are left out:
# the `regex` module may know newer characters (Unicode 17) than tiktoken does, and
# then it splits them differently. Everything assigned in Python's tables is in.
KNOWN_CHARS = st.characters(exclude_categories=["Cn", "Cs"])
SURROGATES = st.characters(categories=["Cs"])


@given(st.text(KNOWN_CHARS))
@settings(max_examples=500, deadline=None)
def test_any_text_encodes_like_tiktoken(gpt2: BPETokenizer, tik: tiktoken.Encoding, s: str) -> None:
    assert gpt2.encode_ordinary(s) == tik.encode_ordinary(s)


@given(st.text(st.one_of(KNOWN_CHARS, SURROGATES)))
@settings(max_examples=300, deadline=None)
def test_text_with_surrogates_encodes_like_tiktoken(
    gpt2: BPETokenizer, tik: tiktoken.Encoding, s: str
) -> None:
    assert gpt2.encode_ordinary(s) == tik.encode_ordinary(s)


@given(st.text(st.characters(exclude_categories=["Cs"])))
@settings(max_examples=500, deadline=None)
def test_decode_inverts_encode(gpt2: BPETokenizer, s: str) -> None:
    assert gpt2.decode(gpt2.encode_ordinary(s)) == s


# ---- special tokens ---------------------------------------------------------------------


def test_special_token_text_is_refused_by_default(gpt2: BPETokenizer) -> None:
    with pytest.raises(InputError, match="allowed_special") as info:
        gpt2.encode(f"one{ENDOFTEXT}two")
    assert isinstance(info.value, ValueError)  # what tiktoken raises, so old code still works
    assert "encode_ordinary" in str(info.value)


def test_allowed_special_token_gets_one_id(gpt2: BPETokenizer, tik: tiktoken.Encoding) -> None:
    text = f"The end.{ENDOFTEXT}Once upon a time{ENDOFTEXT}"
    for allowed in ("all", {ENDOFTEXT}):
        ids = gpt2.encode(text, allowed_special=allowed)
        assert ids == tik.encode(text, allowed_special=allowed)
        assert ids.count(ENDOFTEXT_ID) == 2
        assert gpt2.decode(ids) == text


def test_encode_ordinary_splits_special_text_like_other_text(
    gpt2: BPETokenizer, tik: tiktoken.Encoding
) -> None:
    ids = gpt2.encode_ordinary(ENDOFTEXT)
    assert ids == tik.encode_ordinary(ENDOFTEXT)
    assert ENDOFTEXT_ID not in ids and len(ids) > 1


def test_allowed_special_must_be_all_or_a_set_of_known_tokens(gpt2: BPETokenizer) -> None:
    with pytest.raises(InputError, match="'all' or a set"):
        gpt2.encode("hi", allowed_special="none")
    with pytest.raises(InputError, match="does not have"):
        gpt2.encode("hi", allowed_special={"<|pad|>"})


# ---- partial UTF-8 ----------------------------------------------------------------------


def test_decode_of_part_of_a_character_gives_replacement(gpt2: BPETokenizer) -> None:
    tok = BPETokenizer()  # no merges: one id per byte
    ids = tok.encode("中")
    assert len(ids) == 3
    assert tok.decode(ids[:1]) == "\ufffd"
    assert tok.decode_bytes(ids[:1]) == "中".encode()[:1]
    # GPT-2 has tokens that hold only part of a character too.
    ids = gpt2.encode("🔥")
    assert len(ids) > 1
    assert "\ufffd" in gpt2.decode(ids[:1])
    assert gpt2.decode(ids) == "🔥"


# ---- long chunks: the fast merge loop ----------------------------------------------------

CJK = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF)


def _random_text(seed: int, n: int, alphabet: str) -> str:
    rng = random.Random(seed)
    return "".join(rng.choice(alphabet) for _ in range(n))


def _cjk(seed: int, n: int) -> str:
    rng = random.Random(seed)
    return "".join(chr(rng.randint(0x4E00, 0x9FFF)) for _ in range(n))


@pytest.mark.parametrize("text", [
    pytest.param(_random_text(0, 100_000, string.ascii_lowercase), id="100k-letters"),
    pytest.param(_cjk(1, 100_000), id="100k-chinese"),
    pytest.param("a" * 50_000, id="50k-same-letter"),
    pytest.param(" " + "ab" * 20_000, id="40k-repeating-pair"),
    pytest.param(_random_text(2, 30_000, "0123456789"), id="30k-digits"),
])
def test_one_long_chunk_encodes_like_tiktoken(
    gpt2: BPETokenizer, tik: tiktoken.Encoding, text: str
) -> None:
    assert len(split_text(text)) <= 2  # really one long chunk (and the space of the last)
    assert gpt2.encode(text) == tik.encode(text)


def test_random_long_mixes_encode_like_tiktoken(gpt2: BPETokenizer, tik: tiktoken.Encoding) -> None:
    rng = random.Random(3)
    parts = [string.ascii_letters, "中文分词器没有标点的长句子", " ", "0123456789", ".,!?-", "é😀ü"]
    for seed in range(5):
        text = "".join(rng.choice(rng.choice(parts)) for _ in range(20_000 + seed))
        assert gpt2.encode(text) == tik.encode(text)


@given(st.text(st.one_of(CJK, st.sampled_from("abcxyz")), min_size=200, max_size=3000))
@settings(max_examples=60, deadline=None)
def test_long_chinese_and_latin_chunks_encode_like_tiktoken(
    gpt2: BPETokenizer, tik: tiktoken.Encoding, s: str
) -> None:
    assert gpt2.encode(s) == tik.encode(s)


@given(st.binary(max_size=300), st.integers(0, 2**32 - 1))
@settings(max_examples=200, deadline=None)
def test_fast_loop_equals_the_lesson_loop_on_any_merges(data: bytes, seed: int) -> None:
    # Merges trained on random text over a small alphabet: many overlapping pairs
    # such as (7, 7), where the left-to-right order matters.
    rng = random.Random(seed)
    training = "".join(rng.choice("aab ") for _ in range(200))
    merges = train_merges(training, 40, pattern=None)
    chunk = bytes(rng.choice(b"aab ") for _ in range(len(data))) + data
    assert encode_chunk_fast(chunk, merges) == encode_chunk(chunk, merges)


def test_fast_loop_work_grows_like_n_log_n_not_n_squared(gpt2: BPETokenizer) -> None:
    """Count heap operations (not seconds): doubling the chunk about doubles the work."""
    work = {}
    for n in (10_000, 20_000, 40_000):
        counter = [0]
        chunk = _random_text(4, n, string.ascii_lowercase).encode()
        encode_chunk_fast(chunk, gpt2.merges, gpt2.byte_ids, counter=counter)
        work[n] = counter[0]
        assert work[n] < 10 * n  # a handful of heap operations per byte
    assert work[40_000] / work[20_000] < 2.3 and work[20_000] / work[10_000] < 2.3


def test_lesson_loop_work_is_quadratic_which_is_why_the_fast_one_exists(
    gpt2: BPETokenizer, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The same count for lesson 01's loop: pairs looked at. 4x the chunk, ~10x the work
    (linear work would grow 4x; n log n about 4.6x)."""
    import gpt2course.bpe as bpe

    looked = [0]
    real_pairwise = bpe.pairwise

    def counting_pairwise(ids):
        looked[0] += len(ids)
        return real_pairwise(ids)

    monkeypatch.setattr(bpe, "pairwise", counting_pairwise)
    work = {}
    for n in (1_000, 4_000):
        looked[0] = 0
        encode_chunk(_random_text(5, n, string.ascii_lowercase).encode(), gpt2.merges,
                     gpt2.byte_ids)
        work[n] = looked[0]
    assert work[4_000] / work[1_000] > 8
