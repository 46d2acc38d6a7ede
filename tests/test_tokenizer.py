"""Tests for the reference BPE: the pure functions, training, and equality with tiktoken."""

from __future__ import annotations

import os
import random
import string
from pathlib import Path

import pytest
import tiktoken
from hypothesis import given, settings
from hypothesis import strategies as st

from gpt2course.bpe import (
    count_pairs,
    decode_ids,
    encode_chunk,
    encode_chunk_fast,
    fix_surrogates,
    merge_pair,
    recover_merges,
    split_special,
    split_text,
    train_merges,
)
from gpt2course.data import tiny_shakespeare
from gpt2course.errors import CourseError, DownloadError, InputError
from gpt2course.tokenizer import GPT2_SPLIT_PATTERN, BPETokenizer
from gpt2course.vocab import ENDOFTEXT, ENDOFTEXT_ID, gpt2_encoding

# ---- fixtures ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tik() -> tiktoken.Encoding:
    try:
        return gpt2_encoding()
    except DownloadError as err:
        pytest.skip(f"GPT-2's BPE files are not available offline: {err}")


@pytest.fixture(scope="module")
def gpt2(tik: tiktoken.Encoding) -> BPETokenizer:
    return BPETokenizer.from_tiktoken("gpt2")


@pytest.fixture(scope="module")
def shakespeare() -> str:
    try:
        return tiny_shakespeare()
    except DownloadError as err:
        pytest.skip(f"Tiny Shakespeare is not on this machine and cannot be downloaded: {err}")


# ---- the pure functions -----------------------------------------------------------------


def test_count_pairs_counts_neighbours_in_first_seen_order() -> None:
    counts = count_pairs([5, 6, 5, 6, 7])
    assert counts == {(5, 6): 2, (6, 5): 1, (6, 7): 1}
    assert list(counts) == [(5, 6), (6, 5), (6, 7)]
    assert count_pairs([5]) == {}
    assert count_pairs([]) == {}


def test_merge_pair_goes_left_to_right() -> None:
    assert merge_pair([1, 2, 3, 1, 2], (1, 2), 99) == [99, 3, 99]
    # An overlapping run merges from the left: 7 7 7 -> (7 7) 7.
    assert merge_pair([7, 7, 7], (7, 7), 300) == [300, 7]
    assert merge_pair([7, 7, 7, 7], (7, 7), 300) == [300, 300]
    assert merge_pair([1], (1, 2), 99) == [1]


# Worked by hand, without the split pattern (pattern=None), on "nonono no".
# Bytes: n=110, o=111, space=32.
#
#   start   n o n o n o _ n o     pairs: (n,o)=4  (o,n)=2  (o,_)=1  (_,n)=1
#   merge 1 (n,o) -> 256          256 256 256 _ 256
#                                 pairs: (256,256)=2  (256,_)=1  (_,256)=1
#   merge 2 (256,256) -> 257      257 256 _ 256        (left to right: the 3rd 256 is left)
#                                 pairs: (257,256)=1  (256,_)=1  (_,256)=1, a three-way tie
#   merge 3 (257,256) -> 258      258 _ 256             (the tie goes to the pair seen first)
#   merge 4 (258,_) -> 259        259 256
#   merge 5 (259,256) -> 260      260                   the whole text is one token
#   merge 6: no pairs left, so training stops early.
HAND_TEXT = "nonono no"
HAND_MERGES_NO_SPLIT = {
    (110, 111): 256,
    (256, 256): 257,
    (257, 256): 258,
    (258, 32): 259,
    (259, 256): 260,
}
# With GPT-2's split pattern the chunks are "nonono" and " no", and no merge may
# cross from one chunk to the other:
#
#   merge 1 (n,o) -> 256          "nonono" -> 256 256 256     " no" -> _ 256      (n,o)=3+1
#   merge 2 (256,256) -> 257      257 256                     _ 256
#   merge 3 (257,256) -> 258      258                         _ 256   tie 1:1, "nonono" is first
#   merge 4 (_,256) -> 259        258                         259
#   then every chunk is one token and training stops.
HAND_MERGES_GPT2_SPLIT = {(110, 111): 256, (256, 256): 257, (257, 256): 258, (32, 256): 259}


def test_train_merges_matches_the_hand_worked_example() -> None:
    assert train_merges(HAND_TEXT, 10, pattern=None) == HAND_MERGES_NO_SPLIT
    assert train_merges(HAND_TEXT, 10) == HAND_MERGES_GPT2_SPLIT
    assert list(train_merges(HAND_TEXT, 2, pattern=None).values()) == [256, 257]
    assert train_merges("", 5) == {}


def test_encode_chunk_applies_merges_by_rank_not_by_position() -> None:
    # " nonono": _ n o n o n o. After (n,o) the candidates are (_,256) rank 259 and
    # (256,256) rank 257: the lower rank wins although (_,256) comes first.
    #   _ 256 256 256 -> _ 257 256 -> _ 258, and (_,258) is not a merge.
    assert encode_chunk(b" nonono", HAND_MERGES_GPT2_SPLIT) == [32, 258]
    assert encode_chunk(b"no", HAND_MERGES_GPT2_SPLIT) == [256]
    assert encode_chunk(b"xyz", HAND_MERGES_GPT2_SPLIT) == [120, 121, 122]
    assert encode_chunk(b"", HAND_MERGES_GPT2_SPLIT) == []


def test_encode_chunk_uses_byte_ids() -> None:
    byte_ids = list(reversed(range(256)))  # byte b has id 255 - b
    merges = {(255 - ord("a"), 255 - ord("b")): 256}
    assert encode_chunk(b"abc", merges, byte_ids) == [256, 255 - ord("c")]


def test_split_text_follows_gpt2_rules_and_keeps_every_character() -> None:
    text = "I'm   here, it's 2024!\n\n  ok"
    chunks = split_text(text)
    assert chunks == ["I", "'m", "  ", " here", ",", " it", "'s", " 2024", "!", "\n\n ", " ok"]
    assert "".join(chunks) == text
    assert split_text(text, pattern=None) == [text]
    assert split_text("") == []


def test_split_special_cuts_around_special_tokens() -> None:
    eot = ENDOFTEXT
    assert split_special(f"a{eot}b{eot}", [eot]) == ["a", eot, "b", eot]
    assert split_special("plain", [eot]) == ["plain"]
    assert split_special("plain", []) == ["plain"]
    # The longer special token wins when one contains the other.
    assert split_special("x<|a|>|>", ["<|a|>", "<|a|>|>"]) == ["x", "<|a|>|>"]


def test_decode_ids_replaces_partial_utf8() -> None:
    vocab = {i: bytes([i]) for i in range(256)}
    ids = list("中".encode())  # three bytes: e4 b8 ad
    assert decode_ids(ids, vocab) == "中"
    assert decode_ids(ids[:1], vocab) == "\ufffd"
    assert decode_ids(ids[:2] + [ord("x")], vocab) == "\ufffdx"


def test_fix_surrogates_matches_tiktoken_rule() -> None:
    assert fix_surrogates("\ud83d\ude00") == "😀"  # a correct pair becomes its character
    assert fix_surrogates("a\ud800b") == "a\ufffdb"  # a lone one becomes U+FFFD
    assert fix_surrogates("plain") == "plain"


@given(st.text())
@settings(max_examples=300, deadline=None)
def test_split_text_never_loses_text(text: str) -> None:
    assert "".join(split_text(text, GPT2_SPLIT_PATTERN)) == text


def test_recover_merges_undoes_training() -> None:
    tok = BPETokenizer().train(HAND_TEXT, vocab_size=260)
    ranks = {token: i for i, token in tok.vocab.items()}  # what tiktoken would store
    assert recover_merges(ranks) == (list(range(256)), HAND_MERGES_GPT2_SPLIT)
    del ranks[b"n"]
    with pytest.raises(InputError, match="no token for byte 110"):
        recover_merges(ranks)
    ranks = {bytes([b]): b for b in range(256)} | {b"abc": 256}
    with pytest.raises(InputError, match="not a merge of two"):
        recover_merges(ranks)


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


MIXED_TEXTS = [
    "It's here. They're late, we've won, I'm sure you'll say he'd go; don't.",
    "IT'S LOUD. 'Tis a quote: 'single' and \"double\"; o'clock; rock 'n' roll",
    "In 1999 about 3.14159 of 1,000,000 people paid $42.50 (or 12%) on 2024-06-01.",
    "a  b   c    d\t\te\n\nf \n g\r\n  \n\n\n    end   ",
    "    \t\n  ",
    "",
    'def f(x: int) -> int:\n    """Return x+1."""\n    return x + 1  # add one\n',
    "for (int i = 0; i < n; ++i) { s += a[i] * b[i]; }\n\tif (s != 0) return -1;",
    "Emoji: 😀👍🏽 👨‍👩‍👧‍👦 🇨🇳🇯🇵 ❤️ 🔥🔥🔥",
    "中文分词：我们今天学习字节对编码。你好，世界！一二三 ４５６",
    "日本語のテキスト、カタカナとひらがな。東京は晴れです。",
    "النص العربي يكتب من اليمين إلى اليسار ١٢٣",
    "Ünïcödé: naïve café, Straße, ﬁ ligature, Ελληνικά, русский, हिन्दी, 한국어",
    "zero\u200bwidth\u00a0nbsp\u2003em\u3000ideographic \ufeffbom \x00\x1f\x7f",
    "lone surrogates: \ud800 and \udfff; a pair written as two: \ud83d\ude00 end",
    "x" * 5000 + " " + "ab" * 3000,
]


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


# ---- training ---------------------------------------------------------------------------


def test_train_builds_a_tokenizer_from_the_hand_example() -> None:
    tok = BPETokenizer().train(HAND_TEXT, vocab_size=256 + 4)
    assert tok.merges == HAND_MERGES_GPT2_SPLIT
    assert tok.vocab[258] == b"nonono" and tok.vocab[259] == b" no"
    assert tok.encode("no nonono") == [256, 32, 258]
    assert tok.vocab_size == 260


def test_train_numbers_special_tokens_after_the_merges() -> None:
    tok = BPETokenizer(special_tokens=[ENDOFTEXT]).train(HAND_TEXT * 3, vocab_size=259)
    assert len(tok.merges) == 2
    assert tok.special_tokens == {ENDOFTEXT: 258}
    assert tok.encode(f"no{ENDOFTEXT}", allowed_special="all") == [256, 258]
    assert tok.vocab_size == 259


def test_trained_tokenizer_round_trips(shakespeare: str) -> None:
    text = shakespeare[:20_000]
    tok = BPETokenizer().train(text, vocab_size=300)
    assert len(tok.merges) == 44
    ids = tok.encode(text)
    assert len(ids) < len(text.encode())  # merges make the text shorter
    assert tok.decode(ids) == text
    assert tok.decode(tok.encode("Zürich 中文 😀")) == "Zürich 中文 😀"  # unseen text is fine


def test_train_refuses_bad_vocab_size() -> None:
    with pytest.raises(InputError, match="at least 256"):
        BPETokenizer().train("hello", vocab_size=255)
    with pytest.raises(InputError, match="at least 257"):
        BPETokenizer(special_tokens=[ENDOFTEXT]).train("hello", vocab_size=256)
    with pytest.raises(InputError, match="whole number"):
        BPETokenizer().train("hello", vocab_size=300.0)
    with pytest.raises(InputError, match="takes a str"):
        BPETokenizer().train(b"hello", vocab_size=300)


# ---- bad input --------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [b"bytes", None, 42, ["a", "list"]])
def test_encode_refuses_non_text(gpt2: BPETokenizer, bad: object) -> None:
    with pytest.raises(InputError, match="takes a str"):
        gpt2.encode(bad)
    with pytest.raises(InputError, match="takes a str"):
        gpt2.encode_ordinary(bad)


def test_decode_refuses_bad_ids(gpt2: BPETokenizer) -> None:
    with pytest.raises(InputError, match="50257 is not in"):
        gpt2.decode([1, 50257])
    with pytest.raises(InputError, match="-1 is not in"):
        gpt2.decode([-1])
    with pytest.raises(InputError, match="whole-number"):
        gpt2.decode([1.5])
    with pytest.raises(InputError, match="list of token ids"):
        gpt2.decode("hello")


def test_decode_accepts_numpy_and_torch_ids(gpt2: BPETokenizer) -> None:
    np = pytest.importorskip("numpy")
    torch = pytest.importorskip("torch")
    ids = gpt2.encode("Hello there")
    assert gpt2.decode(np.array(ids)) == "Hello there"
    assert gpt2.decode(torch.tensor(ids)) == "Hello there"


def test_only_gpt2_can_come_from_tiktoken() -> None:
    with pytest.raises(InputError, match="gpt2"):
        BPETokenizer.from_tiktoken("cl100k_base")


# ---- save and load ----------------------------------------------------------------------


def test_save_load_round_trip_of_a_trained_tokenizer(tmp_path: Path, shakespeare: str) -> None:
    text = shakespeare[:5_000]
    tok = BPETokenizer(special_tokens=[ENDOFTEXT]).train(text, vocab_size=280)
    path = tmp_path / "tiny.bpe"
    tok.save(path)
    assert path.read_text(encoding="utf-8").startswith("gpt2course-bpe 1\n")
    loaded = BPETokenizer.load(path)
    assert loaded.merges == tok.merges and loaded.special_tokens == tok.special_tokens
    sample = text + ENDOFTEXT + "new words 中文"
    assert loaded.encode(sample, allowed_special="all") == tok.encode(sample, allowed_special="all")


def test_save_load_round_trip_of_gpt2(
    tmp_path: Path, gpt2: BPETokenizer, tik: tiktoken.Encoding
) -> None:
    path = tmp_path / "gpt2.bpe"
    gpt2.save(path)
    loaded = BPETokenizer.load(path)
    assert loaded.byte_ids == gpt2.byte_ids and loaded.merges == gpt2.merges
    text = MIXED_TEXTS[0] + ENDOFTEXT + MIXED_TEXTS[9]
    assert loaded.encode(text, allowed_special="all") == tik.encode(text, allowed_special="all")


def test_save_load_keeps_no_pattern(tmp_path: Path) -> None:
    tok = BPETokenizer(pattern=None).train(HAND_TEXT, vocab_size=261)
    tok.save(tmp_path / "t.bpe")
    loaded = BPETokenizer.load(tmp_path / "t.bpe")
    assert loaded.pattern is None and loaded.merges == HAND_MERGES_NO_SPLIT


def replace_line(text: str, key: str, new: str) -> str:
    """Replace the line that starts with ``key`` by ``new``."""
    return "\n".join(new if line.startswith(key) else line for line in text.split("\n"))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda s: "hello\n" + s, "not a tokenizer file"),
        (lambda s: "", "not a tokenizer file"),
        (lambda s: s.replace("merge 110 111 256", "merge 110 x 256"), "line 4"),
        (lambda s: s.replace("merge 256 256 257", "merge 256 999 257"), "no earlier token"),
        (lambda s: s.replace("merge 256 256 257", "merge 256 256 256"), "growing"),
        (lambda s: s.replace("bytes 0 1 2 ", "bytes 0 0 2 "), "256 different byte ids"),
        (lambda s: s.replace("pattern ", "pattern {"), "line 2"),
        (lambda s: s + "colour blue\n", "unknown line kind"),
        (lambda s: s + "merge 110 111 258\n", "merged twice"),
        (lambda s: replace_line(s, "pattern", "pattern 5"), "JSON string or null"),
        (
            lambda s: "\n".join(x for x in s.split("\n") if not x.startswith("pattern")),
            "no pattern",
        ),
        (lambda s: s.replace("bytes ", "bites "), "unknown line kind"),
    ],
)
def test_load_explains_a_damaged_file(tmp_path: Path, change, message: str) -> None:
    path = tmp_path / "t.bpe"
    BPETokenizer().train(HAND_TEXT, vocab_size=258).save(path)
    path.write_text(change(path.read_text(encoding="utf-8")), encoding="utf-8")
    with pytest.raises(InputError, match=message):
        BPETokenizer.load(path)


def test_load_explains_missing_and_binary_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="Could not read"):
        BPETokenizer.load(tmp_path / "nothing-here.bpe")
    (tmp_path / "binary.bpe").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(CourseError, match="Could not read|not a tokenizer file"):
        BPETokenizer.load(tmp_path / "binary.bpe")


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


# ---- training with special tokens ---------------------------------------------------------


def test_training_learns_nothing_from_special_tokens(shakespeare: str) -> None:
    docs = [doc for doc in shakespeare[:60_000].split("\n\n") if doc.strip()]
    text = ENDOFTEXT.join(docs)
    tok = BPETokenizer(special_tokens=[ENDOFTEXT]).train(text, 1000)
    # The documents hold none of "<", "|", ">" or "endoftext": any token with one of them
    # was learned from the special token (as b"<|", b"endoftext", b".<|" were).
    assert not any(mark in text.replace(ENDOFTEXT, "") for mark in "<|>") \
        and "endoftext" not in text.replace(ENDOFTEXT, "")
    learned = [tok.vocab[i] for i in range(256, 256 + len(tok.merges))]
    assert len(learned) == 1000 - 257
    assert not [t for t in learned if any(m in t for m in (b"<", b"|", b">", b"endoftext"))]
    ids = tok.encode(text, allowed_special="all")
    assert ids.count(tok.special_tokens[ENDOFTEXT]) == len(docs) - 1
    assert tok.decode(ids) == text


def test_train_merges_cuts_out_the_special_tokens() -> None:
    text = "ab<|x|>ab<|x|><|x|>ab"
    merges = train_merges(text, 10, special_tokens=["<|x|>"])
    assert merges == {(97, 98): 256}
