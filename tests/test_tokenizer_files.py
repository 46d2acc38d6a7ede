"""The reference BPE tokenizer saved to and loaded from its file format."""

from __future__ import annotations

from pathlib import Path

import pytest
import tiktoken
from tokenizer_support import HAND_MERGES_NO_SPLIT, HAND_TEXT, MIXED_TEXTS

from gpt2course.errors import CourseError, InputError
from gpt2course.tokenizer import BPETokenizer
from gpt2course.vocab import ENDOFTEXT

# The fixtures tik, gpt2 and shakespeare are in conftest.py.


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
