"""``gpt2course generate``: load a checkpoint, continue a prompt, print text as it comes."""

from __future__ import annotations

import codecs
from typing import TextIO

import torch

from .errors import InputError
from .sampling import generate_stream
from .vocab import ENDOFTEXT, ENDOFTEXT_ID, gpt2_encoding
from .weights import load_pretrained


def stream_generate(
    *,
    model: str,
    prompt: str,
    max_new_tokens: int,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    greedy: bool = False,
    seed: int | None = None,
    out: TextIO,
) -> None:
    """Write ``prompt`` and then each new piece of text to ``out`` as soon as it is decoded.

    Generation stops at ``<|endoftext|>``. An empty prompt starts a fresh document.
    """
    enc = gpt2_encoding()
    gpt = load_pretrained(model)
    ids = enc.encode(prompt, allowed_special={ENDOFTEXT}) or [ENDOFTEXT_ID]
    if max(ids) >= gpt.config.vocab_size:
        raise InputError(
            f"this model knows {gpt.config.vocab_size} tokens, but the prompt needs id {max(ids)}: "
            "it was not trained with GPT-2's tokenizer (vocab_size 50257)."
        )
    ids = ids[-gpt.config.n_positions :]
    generator = torch.Generator().manual_seed(seed) if seed is not None else None
    # A token can end in the middle of a UTF-8 character (an emoji, a Chinese
    # character); the incremental decoder holds those bytes until the rest arrives.
    utf8 = codecs.getincrementaldecoder("utf-8")(errors="replace")
    out.write(prompt)
    out.flush()
    for token in generate_stream(
        gpt, torch.tensor([ids]), max_new_tokens, temperature=temperature, top_k=top_k,
        top_p=top_p, greedy=greedy, generator=generator, stop_token=ENDOFTEXT_ID,
    ):
        if int(token) == ENDOFTEXT_ID:
            break
        out.write(utf8.decode(enc.decode_single_token_bytes(int(token))))
        out.flush()
    out.write(utf8.decode(b"", final=True) + "\n")
    out.flush()
