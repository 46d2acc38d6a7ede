"""Writing a file whole: readers see the old content or the new, never half of it.

Every file the course writes that another process may read meanwhile goes through here:
reports and saved grades, lessons written by ``assign``, checkpoints (lesson 06 may load
the course model while lesson 07 saves it), downloaded vocabularies.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def replace_file(path: str | os.PathLike, write: Callable[[Path], object], *,
                 scratch: str | os.PathLike | None = None) -> None:
    """Create or replace ``path`` whole: ``write(tmp)`` fills a temporary file, which is then
    renamed over ``path`` (atomic on one filesystem). If ``write`` raises, ``path`` is as it
    was and the temporary file is gone.

    scratch: the folder of the temporary file (default: ``path``'s own), on the same
    filesystem; another folder keeps it out of a listing of ``path``'s.
    Raises what ``write`` raises, or ``OSError``.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part",
                               dir=scratch if scratch is not None else path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` whole (``replace_file``)."""
    replace_file(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
