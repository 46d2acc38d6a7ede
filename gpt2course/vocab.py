"""Where GPT-2's vocabulary comes from: tiktoken's ``gpt2`` encoding.

tiktoken downloads two files (``vocab.bpe`` and ``encoder.json``) the first
time, then reads them from its cache. Set ``TIKTOKEN_CACHE_DIR`` to a folder
that already holds them to work offline.
"""

from __future__ import annotations

import functools
import os

import tiktoken

from .errors import DownloadError

ENDOFTEXT = "<|endoftext|>"
ENDOFTEXT_ID = 50256  # the last id in GPT-2's vocabulary


@functools.lru_cache(maxsize=1)
def gpt2_encoding() -> tiktoken.Encoding:
    """Return tiktoken's GPT-2 encoding (50,257 tokens), downloading it once if needed."""
    try:
        return tiktoken.get_encoding("gpt2")
    except Exception as err:  # tiktoken raises several kinds (network, file, hash)
        where = os.environ.get("TIKTOKEN_CACHE_DIR")
        place = (
            f"TIKTOKEN_CACHE_DIR is set to {where!r}, but GPT-2's files are not there."
            if where
            else "TIKTOKEN_CACHE_DIR is not set, and the download failed."
        )
        raise DownloadError(
            "Could not load GPT-2's vocabulary (tiktoken encoding 'gpt2'). "
            f"{place} Connect to the internet once so tiktoken can download it, or set "
            "TIKTOKEN_CACHE_DIR to a folder that holds tiktoken's cached GPT-2 files "
            f"(tiktoken said: {type(err).__name__}: {str(err)[:120]})"
        ) from None
