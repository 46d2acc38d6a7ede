"""Lesson 01, the tokenizer: bytes, pair counts, merges, BPE training, GPT-2's split
pattern, encoding by rank, decoding, the special token, and GPT-2's real table.

Everything the learner's functions take and return is plain data (the grader passes it
as JSON), so a merge table is a list of pairs ``[a, b]`` in rank order: ``merges[i]``
makes token ``256 + i``. That is also how GPT-2's own merge file is written.

The reference is imported inside functions only: this module is also loaded by the
registry in processes where ``gpt2course.bpe`` must stay unimported.

One module per group of exercises: ``bytes_and_pairs`` (1-3), ``training`` (4-5),
``encoding`` (6-7), ``decoding`` (8); ``common`` holds what they share and ``tables`` the
merge tables the encoding exercises run on.
"""

from .bytes_and_pairs import MERGE_PAIR, MOST_COMMON_PAIR, TEXT_TO_BYTES
from .common import EOT, random_text
from .decoding import DECODE_TOKENS
from .encoding import ENCODE_CHUNK, ENCODE_TEXT
from .tables import gpt2_tables, permuted_table, shuffled_byte_ids, small_merges
from .training import SPLIT_CHUNKS, TRAIN_BPE

__all__ = [
    "DECODE_TOKENS", "ENCODE_CHUNK", "ENCODE_TEXT", "EOT", "EXERCISES", "MERGE_PAIR",
    "MOST_COMMON_PAIR", "SPLIT_CHUNKS", "TEXT_TO_BYTES", "TRAIN_BPE", "gpt2_tables",
    "permuted_table", "random_text", "shuffled_byte_ids", "small_merges",
]

EXERCISES = (TEXT_TO_BYTES, MOST_COMMON_PAIR, MERGE_PAIR, TRAIN_BPE, SPLIT_CHUNKS, ENCODE_CHUNK,
             ENCODE_TEXT, DECODE_TOKENS)
