"""Corpora for the course, and the batches a language model trains on.

``tiny_shakespeare()`` returns the text of Tiny Shakespeare (about 1 MB). It looks for
the file in this order:

1. the folder named by the environment variable ``GPT2COURSE_DATA_DIR``;
2. the cache folder ``GPT2COURSE_CACHE_DIR`` (default ``~/.cache/gpt2course``);
3. the internet: it downloads the file into the cache folder, from the folder URL
   ``GPT2COURSE_DATA_URL`` when it is set (a mirror holding ``tinyshakespeare.txt``),
   else from the corpus's original address.

Every copy is checked against a known SHA-256 hash, so a damaged or different file
is never used by mistake.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from .errors import DownloadError, InputError
from .i18n import tr

DATA_DIR_VAR = "GPT2COURSE_DATA_DIR"
CACHE_DIR_VAR = "GPT2COURSE_CACHE_DIR"
DATA_URL_VAR = "GPT2COURSE_DATA_URL"


@dataclass(frozen=True)
class Corpus:
    """Where a corpus comes from and how to recognise a good copy."""

    filename: str
    url: str
    sha256: str


CORPORA = {
    "tinyshakespeare": Corpus(
        filename="tinyshakespeare.txt",
        url="https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt",
        sha256="86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed",
    ),
}


def cache_dir() -> Path:
    """The folder downloads go to: ``$GPT2COURSE_CACHE_DIR`` or ``~/.cache/gpt2course``."""
    return Path(os.environ.get(CACHE_DIR_VAR) or Path.home() / ".cache" / "gpt2course")


def corpus_url(corpus: Corpus) -> str:
    """Where ``corpus`` is downloaded from: ``$GPT2COURSE_DATA_URL/<filename>`` or its own URL."""
    mirror = os.environ.get(DATA_URL_VAR, "").strip().rstrip("/")
    return f"{mirror}/{corpus.filename}" if mirror else corpus.url


def corpus_path(name: str = "tinyshakespeare") -> Path:
    """Return the path of a checked copy of corpus ``name``, downloading it if needed.

    Raises ``InputError`` for an unknown name, ``DownloadError`` (one line, naming the
    fix) when no good copy is here and none can be downloaded.
    """
    if name not in CORPORA:
        raise InputError(tr("Unknown corpus {name!r}. Known corpora: {known}.",
                            name=name, known=sorted(CORPORA)))
    corpus = CORPORA[name]

    data_dir = os.environ.get(DATA_DIR_VAR)
    if data_dir and (Path(data_dir) / corpus.filename).is_file():
        path = Path(data_dir) / corpus.filename
        if _sha256(path.read_bytes()) != corpus.sha256:
            # The user put this file there, so report it rather than delete it.
            raise DownloadError(tr(
                "{path} is not the expected {name} file (its SHA-256 hash is wrong). "
                "Replace it with a fresh copy from {url}, or unset {var}.",
                path=path, name=name, url=corpus_url(corpus), var=DATA_DIR_VAR))
        return path

    cached = cache_dir() / corpus.filename
    if cached.is_file():
        if _sha256(cached.read_bytes()) == corpus.sha256:
            return cached
        cached.unlink()  # damaged: fetch it again
    from .downloads.fetch import fetch_url  # here: it imports huggingface_hub lazily anyway

    return fetch_url(corpus_url(corpus), cached, expected_hash=corpus.sha256,
                     what=corpus.filename, advice=_data_advice(corpus))


def _data_advice(corpus: Corpus) -> str:
    """What to do when ``corpus`` cannot be downloaded (one sentence)."""
    return tr("Run `gpt2course download` again; if {url} cannot be reached, set {url_var} to "
              "a mirror folder that holds {file}, or set {dir_var} to a folder that holds it.",
              url=corpus_url(corpus), url_var=DATA_URL_VAR, file=corpus.filename,
              dir_var=DATA_DIR_VAR)


def tiny_shakespeare() -> str:
    """Return the text of Tiny Shakespeare (1,115,394 characters, all ASCII)."""
    return corpus_path("tinyshakespeare").read_text(encoding="utf-8")


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def train_val_split(
    ids: torch.Tensor | Sequence[int], val_fraction: float = 0.1
) -> tuple[torch.Tensor, torch.Tensor]:
    """Split a token sequence into (train, val): the last ``val_fraction`` is for validation.

    No shuffling: validation text is text the model has not seen, not a random
    sample of sentences whose neighbours it trained on.
    """
    data = _as_1d_long(ids, "ids")
    if not 0.0 < val_fraction < 1.0:
        raise InputError(tr("val_fraction must be between 0 and 1 (e.g. 0.1), not {value}.",
                            value=val_fraction))
    n_train = round(len(data) * (1.0 - val_fraction))
    if n_train == 0 or n_train == len(data):
        raise InputError(tr(
            "Cannot split {n} tokens with val_fraction={value}: "
            "one part would be empty. Use more tokens or another fraction.",
            n=len(data), value=val_fraction))
    return data[:n_train], data[n_train:]


def get_batch(
    data: torch.Tensor | Sequence[int],
    batch_size: int,
    block_size: int,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Pick ``batch_size`` random windows of ``block_size`` tokens: inputs ``x`` and targets ``y``.

    Both have shape ``(B, T)`` = ``(batch_size, block_size)``. ``y`` is ``x`` moved
    one token to the right: ``y[b, t]`` is the token that follows ``x[b, t]``.
    Pass a seeded ``torch.Generator`` to get the same batches every run.
    """
    data = _as_1d_long(data, "data")
    for name, value in (("batch_size", batch_size), ("block_size", block_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InputError(tr("{name} must be a whole number of at least 1, not {value!r}.",
                                name=name, value=value))
    if len(data) < block_size + 1:
        raise InputError(tr(
            "data has {n} tokens, but one window needs block_size + 1 = {need} (the inputs "
            "plus one more token for the last target). Use a smaller block_size or more data.",
            n=len(data), need=block_size + 1))
    starts = torch.randint(len(data) - block_size, (batch_size,), generator=generator)
    offsets = torch.arange(block_size)
    x = data[starts[:, None] + offsets]  # (B, T): row b is data[starts[b] : starts[b] + T]
    y = data[starts[:, None] + offsets + 1]
    return x, y


def _as_1d_long(ids: torch.Tensor | Sequence[int], name: str) -> torch.Tensor:
    """Return ``ids`` as a 1-D int64 tensor (lists and NumPy arrays are converted)."""
    try:
        data = torch.as_tensor(ids)
    except (TypeError, ValueError, RuntimeError):
        raise InputError(tr("{name} must be a sequence of token ids, not {kind}.",
                            name=name, kind=type(ids).__name__)) from None
    if data.numel() == 0:
        data = data.long()  # torch.as_tensor([]) is float; an empty list is still fine here
    if data.ndim != 1:
        shape = tuple(data.shape)
        raise InputError(tr("{name} must be one flat sequence of token ids, got shape {shape}.",
                            name=name, shape=shape))
    if data.is_floating_point() or data.is_complex() or data.dtype == torch.bool:
        raise InputError(tr("{name} must hold whole-number token ids, not {dtype}.",
                            name=name, dtype=data.dtype))
    return data.long()
