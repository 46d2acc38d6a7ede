"""Reading notebooks safely, and finding nbgrader's cell metadata."""

from __future__ import annotations

import codecs
import json
import re
import warnings
from pathlib import Path
from typing import Any

import nbformat
from nbformat.validator import normalize

from ..errors import CourseError
from ..i18n import tr

MAX_NOTEBOOK_BYTES = 50_000_000  # a lesson with outputs is well under 5 MB


class NotebookError(CourseError):
    """A file is not a readable Jupyter notebook. ``str()`` names the file; ``reason`` is
    what is wrong, alone (for a grade's row, which names the file already)."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(tr("{path}: {reason}", path=str(path), reason=reason))
        self.path, self.reason = path, reason

    def __reduce__(self):  # pickled with both arguments (the default passes only the text)
        return type(self), (self.path, self.reason)


def read_notebook(path: Path) -> nbformat.NotebookNode:
    """A valid version-4.5 notebook, or a ``NotebookError`` that says what is wrong.

    What Jupyter would open is graded: older versions are upgraded (v3 -> v4, 4.x -> 4.5,
    which gives cells ids), and a file whose header disagrees with its cells (e.g. 4.4
    declared but 4.5 cell ids kept, as tools that downgrade leave it) is repaired with
    ``nbformat.validator.normalize`` before it is validated.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as err:
        raise NotebookError(path, tr("cannot read it ({reason}).",
                                     reason=err.strerror)) from None
    if size > MAX_NOTEBOOK_BYTES:
        shown = f"{size:,}"
        raise NotebookError(path, tr("{size} bytes is too big for a notebook; clear its "
                                     "outputs (Kernel > Restart & Clear Output) and save "
                                     "again.", size=shown))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # missing cell ids ...: repaired below
            notebook = nbformat.reads(decoded(path.read_bytes()), as_version=4)
            notebook = _repaired(notebook)
            nbformat.validate(notebook)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise NotebookError(path, tr("not a Jupyter notebook (not valid JSON text: "
                                     "{reason}).", reason=bounded(str(err)))) from None
    except Exception as err:  # noqa: BLE001 - nbformat raises many kinds for bad files
        raise NotebookError(path, tr("not a Jupyter notebook, or a damaged one ({reason}).",
                                     reason=bounded(f"{type(err).__name__}: {err}"))
                            ) from None
    return notebook


def decoded(data: bytes) -> str:
    """A notebook file's text. Jupyter writes UTF-8, but editors add a byte-order mark or
    save UTF-16 (Windows), and tools leave bytes that are not UTF-8 in outputs: the
    grade must not be lost for them. Such bytes become U+FFFD; the JSON is still checked.
    """
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16", errors="replace")
    return data.decode("utf-8-sig", errors="replace")


# The keys nbformat 4.5 allows in a cell; a tool's extra key is dropped, as Jupyter ignores it.
CELL_KEYS = {"id", "cell_type", "metadata", "source", "outputs", "execution_count", "attachments"}


def _repaired(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The notebook upgraded to nbformat 4.5 and normalised, when it does not validate as is."""
    try:
        nbformat.validate(notebook)
        return notebook
    except nbformat.ValidationError:
        pass
    cells = notebook.get("cells")
    if not isinstance(cells, list) or not all(isinstance(c, dict) for c in cells):
        return notebook  # nothing to repair: validation says what is wrong
    minor = notebook.get("nbformat_minor")
    if isinstance(minor, int) and minor < nbformat.v4.nbformat_minor:
        notebook = nbformat.v4.upgrade(notebook, from_version=4, from_minor=minor)
    for cell in notebook.cells:
        for key in set(cell) - CELL_KEYS:
            del cell[key]
    _, repaired = normalize(notebook, strip_invalid_metadata=True)
    return nbformat.from_dict(repaired)


def bounded(text: str, limit: int = 200) -> str:
    """``text`` on one line, at most about ``limit`` characters, cut between words with "…".

    Never cuts inside a word: the cut goes back to the last space or punctuation mark.
    """
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit + 1]
    breaks = [m.start() for m in re.finditer(r"[^\w]", cut)]
    end = max(breaks, default=0)  # a word longer than the limit is left out whole
    return (cut[:end].rstrip(" ,;:([{'\"") + " …").lstrip()


def nbgrader_meta(cell: Any) -> dict[str, Any]:
    """A cell's nbgrader metadata, or {} when it has none (or it is malformed)."""
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return meta if isinstance(meta, dict) else {}
