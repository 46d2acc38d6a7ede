"""``gpt2course generate``: load a checkpoint, continue a prompt, print text as it comes."""

from __future__ import annotations

import codecs
from typing import TextIO

import torch

from .errors import InputError
from .i18n import tr
from .sampling import SamplingConfig, as_whole_number, check_max_new_tokens, generate_stream
from .vocab import ENDOFTEXT, ENDOFTEXT_ID, gpt2_encoding
from .weights import load_pretrained

SEED_LIMIT = 2**64  # torch.Generator.manual_seed takes 64-bit seeds


def stream_generate(
    *,
    model: str,
    prompt: str,
    max_new_tokens: int,
    sampling: SamplingConfig | None = None,
    seed: int | None = None,
    out: TextIO,
) -> None:
    """Write ``prompt`` and then each new piece of text to ``out`` as soon as it is decoded.

    sampling: how to pick tokens (default: plain sampling at temperature 1); generation
    also stops at ``<|endoftext|>``. An empty prompt starts a fresh document.
    Every setting is checked before the model is loaded; a bad one, a missing or
    damaged checkpoint, or a prompt longer than the model's context raises a
    ``CourseError`` that says what to do.
    """
    sampling = SamplingConfig.of(sampling, stop_token=ENDOFTEXT_ID)
    steps = check_max_new_tokens(max_new_tokens)
    generator = _seeded(seed)
    enc = gpt2_encoding()
    ids = enc.encode(prompt, allowed_special={ENDOFTEXT}) or [ENDOFTEXT_ID]
    gpt = load_pretrained(model)
    _check_prompt(ids, gpt.config.vocab_size, gpt.config.n_positions)
    # A token can end in the middle of a UTF-8 character (an emoji, a Chinese
    # character); the incremental decoder holds those bytes until the rest arrives.
    utf8 = codecs.getincrementaldecoder("utf-8")(errors="replace")
    out.write(prompt)
    out.flush()
    for token in generate_stream(gpt, torch.tensor([ids]), steps, sampling, generator=generator):
        if int(token) == ENDOFTEXT_ID:
            break
        out.write(utf8.decode(enc.decode_single_token_bytes(int(token))))
        out.flush()
    out.write(utf8.decode(b"", final=True) + "\n")
    out.flush()


def _seeded(seed: object) -> torch.Generator | None:
    if seed is None:
        return None
    value = as_whole_number(seed)
    if value is None or not 0 <= value < SEED_LIMIT:
        raise InputError(tr("seed must be a whole number from 0 to 2**64 - 1, not {value!r}.",
                            value=seed))
    return torch.Generator().manual_seed(value)


def _check_prompt(ids: list[int], vocab_size: int, n_positions: int) -> None:
    if max(ids) >= vocab_size:
        raise InputError(tr(
            "this model knows {vocab} tokens, but the prompt needs id {needed}: it was not "
            "trained with GPT-2's tokenizer (vocab_size 50257).",
            vocab=vocab_size, needed=max(ids)))
    if len(ids) > n_positions:
        raise InputError(tr(
            "the prompt is {count} tokens long, but this model sees at most {limit} at once "
            "(its context, n_positions); shorten the prompt.",
            count=len(ids), limit=n_positions))
