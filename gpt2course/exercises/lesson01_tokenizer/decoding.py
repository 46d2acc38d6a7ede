"""Lesson 01, exercise 8: decoding token ids back to text."""

from __future__ import annotations

import random

from ...i18n import N_
from ..core import Case, Exercise, exact
from .common import EOT, TOKENIZER_LIBRARIES, Pairs, diagnoses_of, random_text
from .encoding import NONE_SPECIALS, reference_encode
from .tables import permuted_table, reference_tokenizer, shuffled_byte_ids, small_merges

# --- 8. decoding -----------------------------------------------------------------------------


def _decode_cases(seed: int | None) -> list[Case]:
    merges = small_merges()
    eot = {EOT: 256 + len(merges)}
    tok_ids = reference_encode("the dog. 中文 🙂", merges, eot)
    if seed is None:
        shuffled = shuffled_byte_ids(2)
        return [
            Case("ids of 'the dog. 中文 🙂'",
                 {"ids": tok_ids, "merges": merges, "special_tokens": eot, "byte_ids": None}),
            Case("an emoji cut after 2 of its 4 bytes (invalid UTF-8), special_tokens=None",
                 {"ids": [32, 240, 159], "merges": merges, "special_tokens": None,
                  "byte_ids": None}),
            Case("two Chinese characters cut in the middle",
                 {"ids": [228, 184, 173, 230], "merges": merges, "special_tokens": {},
                  "byte_ids": None}),
            Case("the special token",
                 {"ids": [reference_encode("dog", merges)[0], eot[EOT]], "merges": merges,
                  "special_tokens": eot, "byte_ids": None}),
            Case("GPT-2-style byte ids",
                 {"ids": reference_encode("that dog!", permuted_table(merges, shuffled), eot,
                                          shuffled),
                  "merges": permuted_table(merges, shuffled), "special_tokens": eot,
                  "byte_ids": shuffled}),
        ]
    rng = random.Random(seed)
    ids = reference_encode(random_text(rng, 12) + EOT, merges, eot)
    return [Case("hidden ids", {"ids": ids, "merges": merges, "special_tokens": eot,
                                "byte_ids": None}),
            Case("hidden ids, cut short", {"ids": ids[: len(ids) // 2] + [240, 159, 153],
                                           "merges": merges, "special_tokens": eot,
                                           "byte_ids": None})]


def _reference_decode(ids: list[int], merges: Pairs, special_tokens: dict[str, int] | None = None,
                      byte_ids: list[int] | None = None) -> str:
    return reference_tokenizer(merges, special_tokens, byte_ids).decode(ids)


def _decode_with(how: str):
    def decode(ids, merges, special_tokens=None, byte_ids=None):
        table = byte_ids
        if how == "inverse" and byte_ids is not None:
            table = sorted(range(256), key=byte_ids.__getitem__)  # the inverse permutation
        tok = reference_tokenizer(merges, special_tokens, None if how == "identity" else table)
        if how == "each":
            return "".join(tok.decode_bytes([i]).decode("utf-8", errors="replace") for i in ids)
        data = tok.decode_bytes(ids)
        return data.decode("utf-8", errors="ignore" if how == "ignore" else "replace")

    return decode


DECODE_TOKENS = Exercise(
    id="01.decode_tokens",
    function="decode_tokens",
    points=1,
    reference=_reference_decode,
    cases=_decode_cases,
    compare=exact,
    diagnoses=diagnoses_of(
        (N_("broken bytes were dropped. Decode with errors='replace', so that they show as "
         "'\ufffd' and the reader can see something was cut."), _decode_with("ignore")),
        (N_("each token was decoded on its own, so a character split over two tokens became "
         "two '\ufffd'. Join all the bytes first, then decode once."), _decode_with("each")),
        (N_("byte_ids were not used: the token byte_ids[b] stands for the byte b."),
         _decode_with("identity")),
        (N_("byte_ids was read the wrong way round: byte_ids[b] is the token of the byte b, "
            "so the token byte_ids[b] decodes to bytes([b]), not the token b to "
            "bytes([byte_ids[b]])."), _decode_with("inverse")),
    ),
    error_hints=(("UnicodeDecodeError", N_("decoding is strict: bytes.decode('utf-8') fails on "
                                           "a character cut in two. Use .decode('utf-8', "
                                           "errors='replace').")), *NONE_SPECIALS),
    forbidden_modules=TOKENIZER_LIBRARIES,
)
