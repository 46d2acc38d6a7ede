"""``gpt2course download``: fetch everything the course needs, once, into one folder.

After it, lessons, ``check``, ``grade`` and ``generate`` run with no network.
``--to DIR`` fills DIR instead of the course's cache: an instructor copies DIR to
every lab machine and sets ``GPT2COURSE_CACHE_DIR`` to it there.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path
from typing import TextIO

from ..cli_types import output_folder
from ..errors import CourseError
from ..i18n import tr
from .endpoint import CACHE_DIR_VAR, hub_endpoint

DEFAULT_WEIGHTS = ("gpt2",)


def add_download(sub: argparse._SubParsersAction) -> None:
    """Add the ``download`` subcommand to the ``gpt2course`` parser."""
    p = sub.add_parser("download", help=tr("fetch GPT-2's vocabulary, Tiny Shakespeare and "
                                           "weights once, for use without network"))
    p.add_argument("--weights", nargs="*", default=list(DEFAULT_WEIGHTS), metavar="MODEL",
                   help=tr("hub ids of the weights to fetch (default: gpt2, the 124M model; "
                           "--weights with no name fetches none)"))
    p.add_argument("--course-model", action="store_true",
                   help=tr("also the course's small Shakespeare GPT-2 (trained once, about "
                           "2 minutes, if it is missing)"))
    p.add_argument("--to", metavar="DIR", type=output_folder,
                   help=tr("fill DIR instead of the course's cache, to copy to lab machines "
                           "(then set {var}=DIR there)", var=CACHE_DIR_VAR))
    p.set_defaults(run=run_download)


def run_download(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Fetch each piece in turn; the first failure raises ``DownloadError`` (one line).
    ``out``: where progress goes (default: ``sys.stdout`` at the time of the call)."""
    out = out or sys.stdout
    from ..weights import hub_id
    from .hub import check_repo_id

    for name in args.weights:  # a misspelt name fails before anything is downloaded
        try:
            check_repo_id(hub_id(name))
        except CourseError as err:
            raise CourseError(tr("argument --weights: {error}", error=err)) from None
    if args.to is None:
        return _download(args, out)
    before = os.environ.get(CACHE_DIR_VAR)
    os.environ[CACHE_DIR_VAR] = str(args.to.expanduser().resolve())
    try:
        return _download(args, out)
    finally:
        if before is None:
            del os.environ[CACHE_DIR_VAR]
        else:
            os.environ[CACHE_DIR_VAR] = before


def _download(args: argparse.Namespace, out: TextIO) -> int:
    from ..data import cache_dir

    out.write(tr("Downloading into {folder} (Hub: {endpoint})", folder=cache_dir(),
                 endpoint=hub_endpoint()) + "\n")
    for what, path in _fetch_all(args):
        out.write(f"[  ok   ] {what}: {path}\n")
        out.flush()
    if args.to is not None:
        out.write(tr("Done. Copy {folder} to each lab machine and set {var} to where it is "
                     "there; the course then needs no network.", folder=cache_dir(),
                     var=CACHE_DIR_VAR) + "\n")
    else:
        out.write(tr("Done: the course now runs without network.") + "\n")
    return 0


def _fetch_all(args: argparse.Namespace):
    """Yield (what, where) for each piece once it is in the cache and checked."""
    from ..data import corpus_path
    from ..weights import CONFIG_FILE, WEIGHTS_FILE, hub_id
    from .hub import ensure_file

    yield tr("GPT-2 vocabulary"), _vocabulary()
    yield tr("Tiny Shakespeare"), _into_cache(corpus_path("tinyshakespeare"))
    for name in args.weights:
        repo = hub_id(name)
        ensure_file(repo, CONFIG_FILE)
        yield tr("weights {model}", model=repo), ensure_file(repo, WEIGHTS_FILE)
    if args.course_model:
        from ..pretrained import shakespeare_folder, shakespeare_model

        shakespeare_model()
        yield tr("the course's Shakespeare GPT-2"), shakespeare_folder()


def _vocabulary() -> Path:
    """Save GPT-2's ranks in the course's cache: from tiktoken if it has them, else the Hub."""
    from .. import vocab
    from .hub_vocab import load_saved_encoding, save_ranks, vocab_path

    if load_saved_encoding() is None:
        vocab.gpt2_encoding.cache_clear()
        enc = vocab.gpt2_encoding()  # the Hub path saves the file itself
        if load_saved_encoding() is None:
            save_ranks({enc.decode_single_token_bytes(i): i for i in range(enc.n_vocab - 1)})
    return vocab_path()


def _into_cache(path: Path) -> Path:
    """A checked file found elsewhere (``GPT2COURSE_DATA_DIR``) copied into the cache, so
    that the cache folder alone is enough on another machine."""
    from ..data import cache_dir

    dest = cache_dir() / path.name
    if path.resolve() != dest.resolve():
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, dest)
    return dest
