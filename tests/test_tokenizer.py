"""Tests for the reference BPE: the pure functions, training, and bad input. Equality with
tiktoken is in test_tokenizer_tiktoken.py, saving and loading in test_tokenizer_files.py."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tokenizer_support import HAND_MERGES_GPT2_SPLIT, HAND_MERGES_NO_SPLIT, HAND_TEXT

from gpt2course.bpe import (
    count_pairs,
    decode_ids,
    encode_chunk,
    fix_surrogates,
    merge_pair,
    recover_merges,
    split_special,
    split_text,
    train_merges,
)
from gpt2course.errors import InputError
from gpt2course.tokenizer import GPT2_SPLIT_PATTERN, BPETokenizer
from gpt2course.vocab import ENDOFTEXT

# The fixtures tik, gpt2 and shakespeare are in conftest.py.


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
