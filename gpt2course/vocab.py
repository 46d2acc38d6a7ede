"""Where GPT-2's vocabulary comes from: tiktoken's ``gpt2`` encoding, or the same table
built from the Hugging Face Hub.

``gpt2_encoding()`` looks, in order:

1. in the course's cache (``<GPT2COURSE_CACHE_DIR>/vocab/gpt2.tiktoken``, written by
   ``gpt2course download`` or by step 3): no network;
2. in tiktoken's cache (``TIKTOKEN_CACHE_DIR``), or tiktoken's own download from
   OpenAI's host. Skipped when ``HF_ENDPOINT`` names a mirror and tiktoken has
   nothing cached: with a mirror, every download goes through the mirror;
3. on the Hub (``HF_ENDPOINT``): ``openai-community/gpt2``'s ``vocab.json`` and
   ``merges.txt``, converted and checked to be tiktoken's table (see
   ``downloads/hub_vocab.py``), then saved for step 1.
"""

from __future__ import annotations

import functools
import hashlib
import os
import tempfile
from pathlib import Path

import tiktoken

from .downloads.endpoint import mirror_set, reachable, short_reason
from .downloads.hub_vocab import encoding_from_hub, load_saved_encoding
from .errors import DownloadError
from .i18n import tr

ENDOFTEXT = "<|endoftext|>"
ENDOFTEXT_ID = 50256  # the last id in GPT-2's vocabulary
# The two files tiktoken's gpt2 encoding downloads (tiktoken_ext/openai_public.py).
TIKTOKEN_URLS = (
    "https://openaipublic.blob.core.windows.net/gpt-2/encodings/main/vocab.bpe",
    "https://openaipublic.blob.core.windows.net/gpt-2/encodings/main/encoder.json",
)


@functools.lru_cache(maxsize=1)
def gpt2_encoding() -> tiktoken.Encoding:
    """Return GPT-2's encoding (50,257 tokens; tiktoken's ``gpt2`` ids), downloading once.

    Raises ``DownloadError`` (one line, naming the fix) when it is nowhere to be had.
    """
    saved = load_saved_encoding()
    if saved is not None:
        return saved
    tiktoken_error = None
    if tiktoken_cached() or (not mirror_set() and reachable(TIKTOKEN_URLS[0])):
        try:
            return tiktoken.get_encoding("gpt2")
        except Exception as err:  # tiktoken raises several kinds (network, file, hash)
            tiktoken_error = err
    try:
        return encoding_from_hub()
    except DownloadError as err:
        if tiktoken_error is None:
            raise
        raise DownloadError(tr("Could not load GPT-2's vocabulary: tiktoken said {tiktoken}, "
                               "and the Hub: {hub}", tiktoken=short_reason(tiktoken_error),
                               hub=err)) from None


def tiktoken_cache_dir() -> Path | None:
    """The folder tiktoken keeps its downloads in (its own rules, tiktoken/load.py);
    None when caching is switched off (``TIKTOKEN_CACHE_DIR=""``)."""
    for var in ("TIKTOKEN_CACHE_DIR", "DATA_GYM_CACHE_DIR"):
        if var in os.environ:
            return Path(os.environ[var]) if os.environ[var] else None
    return Path(tempfile.gettempdir()) / "data-gym-cache"


def tiktoken_cached() -> bool:
    """Are both of tiktoken's GPT-2 files in its cache (so no download is needed)?"""
    folder = tiktoken_cache_dir()
    return folder is not None and all(
        (folder / hashlib.sha1(url.encode()).hexdigest()).is_file() for url in TIKTOKEN_URLS)
