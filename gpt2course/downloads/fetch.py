"""Download one file: resumable, shown with a progress bar, checked by its hash.

The bytes arrive in ``<dest>.<hash>.part``. A download cut short leaves that file behind,
and the next call asks the server only for the rest (an HTTP ``Range`` request);
huggingface_hub's ``http_get`` does the transfer, its retries and its tqdm
progress bar. Only a complete file whose hash matches is renamed to ``dest``, so
``dest`` is never a half-written or wrong file.

Hashes: a SHA-256 (what the Hub gives as the ETag of large "LFS" files, and the
course pins for Tiny Shakespeare) or a git blob SHA-1 (the Hub's ETag of small
files: ``sha1(b"blob <size>\\0" + content)``, git's object id).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from ..errors import DownloadError
from ..i18n import tr
from .endpoint import fix_advice, short_reason

CHUNK = 1 << 20


def http_get(url: str, temp_file, **kwargs) -> None:
    """huggingface_hub's streaming GET (Range resume, retries, tqdm bar); imported lazily."""
    from huggingface_hub.file_download import http_get as hub_http_get

    hub_http_get(url, temp_file, **kwargs)


def file_hash(path: Path, kind: str) -> str:
    """``"sha256"`` or ``"git-sha1"`` (git's blob id) of the file at ``path``, as hex."""
    if kind == "git-sha1":
        digest = hashlib.sha1(b"blob %d\0" % path.stat().st_size)
    else:
        digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def hash_kind(expected: str) -> str | None:
    """Which hash ``expected`` is, by its length: 64 hex digits SHA-256, 40 git SHA-1."""
    if len(expected) == 64:
        return "sha256"
    if len(expected) == 40:
        return "git-sha1"
    return None


def matches(path: Path, expected: str | None) -> bool:
    """Is ``path`` a file with hash ``expected``? (An unknown kind of hash: any file is.)"""
    if not path.is_file():
        return False
    kind = hash_kind(expected or "")
    return kind is None or file_hash(path, kind) == expected


def part_path(dest: Path, expected_hash: str | None) -> Path:
    """Where the bytes of ``dest`` gather: ``<name>.<hash start>.part``, so that a download
    is only ever continued with bytes of the same version of the file."""
    tag = f".{expected_hash[:12]}" if expected_hash else ""
    return dest.with_name(f"{dest.name}{tag}.part")


def fetch_url(url: str, dest: Path, *, expected_hash: str | None, size: int | None = None,
              what: str | None = None, advice: str | None = None) -> Path:
    """Download ``url`` to ``dest`` (resuming ``dest.part``) and check ``expected_hash``.

    size: the length in bytes when known (from the Hub's metadata).
    advice: the sentence a failure ends with (default: ``fix_advice()``, about the Hub).
    Raises ``DownloadError`` (one line: what failed and what to do) when the server
    cannot be reached or the file that arrived has the wrong hash; a wrong file is
    deleted, so the next try starts afresh.
    """
    what = what or dest.name
    advice = advice or fix_advice()
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = part_path(dest, expected_hash)
    for stale in dest.parent.glob(f"{dest.name}.*part"):
        if stale != part:
            stale.unlink()  # left by a download of another version of the file
    have = part.stat().st_size if part.is_file() else 0
    if size is not None and have > size:
        part.unlink()
        have = 0
    try:
        with part.open("r+b" if have else "wb") as f:
            f.seek(have)
            http_get(url, f, resume_size=have, expected_size=size,
                     displayed_filename=what)
    except Exception as err:  # network, HTTP status, size mismatch: all end in the same advice
        if part.is_file() and part.stat().st_size == 0:
            part.unlink()  # nothing to resume from
        raise DownloadError(tr("Could not download {what} from {url} ({reason}). {fix}",
                               what=what, url=url, reason=short_reason(err),
                               fix=advice)) from None
    if not matches(part, expected_hash):
        part.unlink()
        raise DownloadError(tr("The {what} that came from {url} has the wrong hash, so it was "
                               "deleted; run `gpt2course download` again. {fix}",
                               what=what, url=url, fix=advice))
    os.replace(part, dest)
    return dest
