"""Reading notebooks safely, finding nbgrader's cell metadata, writing files atomically."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import nbformat

from ..errors import CourseError

MAX_NOTEBOOK_BYTES = 50_000_000  # a lesson with outputs is well under 5 MB


class NotebookError(CourseError):
    """A file is not a readable Jupyter notebook."""


def read_notebook(path: Path) -> nbformat.NotebookNode:
    """A version-4 notebook, or a ``NotebookError`` that says what is wrong with the file."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as err:
        raise NotebookError(f"{path}: cannot read it ({err.strerror}).") from None
    if size > MAX_NOTEBOOK_BYTES:
        raise NotebookError(f"{path}: {size:,} bytes is too big for a notebook; clear its "
                            "outputs (Kernel > Restart & Clear Output) and save again.")
    try:
        notebook = nbformat.reads(path.read_text(encoding="utf-8"), as_version=4)
        nbformat.validate(notebook)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise NotebookError(f"{path}: not a Jupyter notebook (not valid JSON text: "
                            f"{err}).") from None
    except Exception as err:  # noqa: BLE001 - nbformat raises many kinds for bad files
        raise NotebookError(f"{path}: not a Jupyter notebook, or a damaged one "
                            f"({type(err).__name__}: {str(err)[:200]}).") from None
    return notebook


def nbgrader_meta(cell: Any) -> dict[str, Any]:
    """A cell's nbgrader metadata, or {} when it has none (or it is malformed)."""
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return meta if isinstance(meta, dict) else {}


def atomic_write_text(path: Path, text: str) -> None:
    """Write a file so that readers see either the old or the new content, never half."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
