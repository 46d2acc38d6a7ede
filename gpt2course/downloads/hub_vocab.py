"""GPT-2's vocabulary built from the Hub's ``vocab.json`` and ``merges.txt``.

tiktoken's ``gpt2`` encoding is made from OpenAI's ``encoder.json`` and ``vocab.bpe``,
downloaded from one fixed host. The Hub repository ``openai-community/gpt2`` holds
the same data as ``vocab.json`` (token -> id) and ``merges.txt`` (the merges in
order), so it can come through ``HF_ENDPOINT`` like the weights.

Both files spell each byte as a printable character (GPT-2's ``bytes_to_unicode``,
from OpenAI's ``encoder.py``). Undoing that gives tiktoken's "mergeable ranks"
(token bytes -> id). The result is checked twice: each merge in ``merges.txt`` must
produce the token whose id is its rank (tiktoken relies on ids being merge
priorities), and the whole table must hash to ``RANKS_SHA256``, the SHA-256 of
OpenAI's ``r50k_base.tiktoken``, which holds exactly GPT-2's ranks. It is saved in
that same file format, ``<cache>/vocab/gpt2.tiktoken``.
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import tiktoken

from ..data import cache_dir
from ..errors import DownloadError
from ..files import replace_file
from ..i18n import tr

GPT2_REPO = "openai-community/gpt2"
HUB_FILES = ("vocab.json", "merges.txt")
# sha256 of r50k_base.tiktoken (tiktoken_ext/openai_public.py): GPT-2's 50,256 ranks.
RANKS_SHA256 = "306cd27f03c1a714eca7108e03d66b7dc042abe8c258b44c199a7ed9838dd930"
N_VOCAB = 50257
ENDOFTEXT = "<|endoftext|>"
VOCAB_FILE = "gpt2.tiktoken"


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's byte -> character table: printable bytes stand for themselves, the other
    68 (control codes, space, ...) get the characters from U+0100 on, in byte order."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1),
                 *range(ord("®"), ord("ÿ") + 1)]
    table = {b: chr(b) for b in printable}
    others = (b for b in range(256) if b not in table)
    table.update({b: chr(256 + n) for n, b in enumerate(others)})
    return table


def ranks_from_hub_files(vocab_json: bytes, merges_txt: bytes) -> dict[bytes, int]:
    """tiktoken's mergeable ranks from the Hub's two files; ``DownloadError`` if they
    do not agree with each other."""
    decode = {c: b for b, c in bytes_to_unicode().items()}
    try:
        vocab = json.loads(vocab_json)
        ranks = {bytes(decode[c] for c in token): rank
                 for token, rank in vocab.items() if token != ENDOFTEXT}
        merges = [line.split() for line in merges_txt.decode("utf-8").splitlines()
                  if line and not line.startswith("#version")]
        first = len(ranks) - len(merges)
        for i, (left, right) in enumerate(merges):
            token = bytes(decode[c] for c in left + right)
            if ranks.get(token) != first + i:
                raise ValueError(f"merge {i} ({left} {right}) is not token {first + i}")
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        raise DownloadError(tr("GPT-2's vocab.json and merges.txt do not fit together ({err}); "
                               "delete them and run `gpt2course download` again.",
                               err=err)) from None
    return ranks


def dump_ranks(ranks: dict[bytes, int]) -> bytes:
    """The ranks in tiktoken's file format: ``base64(token) rank`` per line, by rank."""
    return b"".join(base64.b64encode(token) + b" %d\n" % rank
                    for token, rank in sorted(ranks.items(), key=lambda item: item[1]))


def parse_ranks(data: bytes) -> dict[bytes, int]:
    """The reverse of ``dump_ranks``."""
    ranks = {}
    for line in data.splitlines():
        token, rank = line.split()
        ranks[base64.b64decode(token)] = int(rank)
    return ranks


def encoding_from_ranks(ranks: dict[bytes, int]) -> tiktoken.Encoding:
    """tiktoken's ``gpt2`` encoding (same split pattern and special token) on ``ranks``."""
    from tiktoken_ext.openai_public import r50k_pat_str

    return tiktoken.Encoding(name="gpt2", pat_str=r50k_pat_str, mergeable_ranks=ranks,
                             special_tokens={ENDOFTEXT: N_VOCAB - 1}, explicit_n_vocab=N_VOCAB)


def vocab_path() -> Path:
    """``<cache>/vocab/gpt2.tiktoken``: the course's checked copy of GPT-2's ranks."""
    return cache_dir() / "vocab" / VOCAB_FILE


def save_ranks(ranks: dict[bytes, int]) -> Path:
    """Check ``ranks`` against ``RANKS_SHA256`` and write them to ``vocab_path()``."""
    data = dump_ranks(ranks)
    if hashlib.sha256(data).hexdigest() != RANKS_SHA256:
        raise DownloadError(tr("The GPT-2 vocabulary that was downloaded is not GPT-2's "
                               "(its hash is wrong); it was not saved. Check HF_ENDPOINT."))
    path = vocab_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    replace_file(path, lambda part: part.write_bytes(data))
    return path


def load_saved_encoding() -> tiktoken.Encoding | None:
    """The encoding from ``vocab_path()`` if it is there and its hash is right, else None."""
    try:
        data = vocab_path().read_bytes()
    except OSError:
        return None
    if hashlib.sha256(data).hexdigest() != RANKS_SHA256:
        return None
    return encoding_from_ranks(parse_ranks(data))


def encoding_from_hub() -> tiktoken.Encoding:
    """Fetch ``vocab.json`` and ``merges.txt`` (through ``HF_ENDPOINT``), build and check
    the ranks, save them, and return the encoding. Raises ``DownloadError``."""
    from .hub import ensure_file

    vocab_json, merges_txt = (ensure_file(GPT2_REPO, name).read_bytes() for name in HUB_FILES)
    ranks = ranks_from_hub_files(vocab_json, merges_txt)
    save_ranks(ranks)
    return encoding_from_ranks(ranks)
