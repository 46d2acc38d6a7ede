"""The Chinese edition of the lessons: translations kept beside the English source.

``solutions/NN_name.ipynb`` is the single source of a lesson. ``solutions/NN_name.zh.yaml``
holds the Chinese of every cell, keyed by the English cell's id, with the hash of the
English text it translates (format: TRANSLATIONS.md)::

    cells:
      "24849f34":
        en_hash: "1a2b3c4d5e6f"   # sha256(English source, UTF-8).hexdigest()[:12]
        zh: |-
          # 第一课：分词器
      "f115ae1b":
        en_hash: "0f0e0d0c0b0a"
        keep: true                 # a code cell with nothing to translate

``problems`` says what keeps a translation from matching its English notebook: a cell
with no entry (missing), an entry for an English text that has since changed (stale), an
entry for a cell that no longer exists (orphan), and a Chinese code cell whose code is
not the English code (only comments and string literals may differ: ``same_code``).

``python -m gpt2course.translations status [LESSON]`` prints them with the English text
to translate (exit 1 if any); ``... build [LESSON]`` writes ``solutions/zh/``
(``translations_build``); ``gpt2course assign`` then writes ``lessons/zh/``.
"""

from __future__ import annotations

import ast
import copy
import hashlib
import io
import re
import tokenize
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat

from .errors import CourseError
from .i18n import tr

LANG = "zh"
SUFFIX = f".{LANG}.yaml"
HASH_CHARS = 12
MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")
# The import cell switches check's messages to the notebook's language.
LANGUAGE_CALL = re.compile(r"""set_language\(\s*["'](\w+)["']\s*\)""")
# Tokens that carry no code: a translation may change them freely.
_IGNORED = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.ENCODING}


def en_hash(source: str) -> str:
    """First 12 hex digits of the sha256 of a cell's source (UTF-8): TRANSLATIONS.md."""
    return hashlib.sha256(source.encode("utf-8")).hexdigest()[:HASH_CHARS]


@dataclass(frozen=True)
class Entry:
    """One cell's translation: the hash of the English it was made from, and the Chinese
    source (``zh``), or ``zh is None`` for a cell kept as it is (``keep: true``)."""

    en_hash: str
    zh: str | None


@dataclass(frozen=True)
class Problem:
    """Why one cell's translation does not match the English notebook.

    kind: "missing", "stale", "orphan" or "code"; english: the English source to translate
    ("" for an orphan); detail: one line for a person.
    """

    kind: str
    cell_id: str
    english: str
    detail: str


def yaml_path(notebook: Path) -> Path:
    """``solutions/03_attention.ipynb`` -> ``solutions/03_attention.zh.yaml``."""
    return Path(notebook).with_suffix(SUFFIX)


def load_translations(path: Path) -> dict[str, Entry]:
    """Read and validate a ``.zh.yaml`` file: cell id -> ``Entry``.

    Raises ``CourseError`` naming the file and the entry when the file is not in the
    format (not YAML, no ``cells`` mapping, a hash that is not 12 hex digits, an entry with
    both or neither of ``zh`` and ``keep: true``, unknown keys).
    """
    import yaml

    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise CourseError(tr("{path}: cannot read it ({reason}).", path=path,
                             reason=err.strerror)) from None
    except yaml.YAMLError as err:
        raise CourseError(tr("{path}: not valid YAML ({reason}).", path=path,
                             reason=str(err).replace("\n", " "))) from None
    cells = data.get("cells") if isinstance(data, dict) else None
    if not isinstance(cells, dict):
        raise CourseError(tr("{path}: the file must hold a mapping 'cells:' of cell id -> "
                             "entry (see TRANSLATIONS.md).", path=path))
    return {str(cell_id): _entry(path, str(cell_id), raw) for cell_id, raw in cells.items()}


def _entry(path: Path, cell_id: str, raw: Any) -> Entry:
    where = f"{path}, cell {cell_id!r}"
    if not isinstance(raw, dict) or set(raw) - {"en_hash", "zh", "keep"}:
        raise CourseError(tr("{where}: an entry has only en_hash, and zh or keep: true.",
                             where=where))
    digest = raw.get("en_hash")
    if not (isinstance(digest, str) and re.fullmatch(r"[0-9a-f]{12}", digest)):
        raise CourseError(tr("{where}: en_hash must be the quoted first 12 hex digits of the "
                             "sha256 of the English source.", where=where))
    text, keep = raw.get("zh"), raw.get("keep")
    if (text is None) == (keep is not True) or (text is not None and not isinstance(text, str)):
        raise CourseError(tr("{where}: give exactly one of zh: (the Chinese text) and "
                             "keep: true.", where=where))
    return Entry(digest, text)


def code_tokens(source: str) -> list[tuple[int, str]]:
    """The tokens of a code cell that are code: comments, blank lines and the text of
    string literals left out (an f-string keeps its ``{expressions}`` and format specs).

    Raises ``ValueError`` when the source is not Python that ``tokenize`` can read.
    """
    out: list[tuple[int, str]] = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type in _IGNORED:
                continue
            if tok.type == tokenize.STRING:
                out.append((tok.type, _string_code(tok.string)))
            else:
                out.append((tok.type, tok.string))
    except (tokenize.TokenError, IndentationError, SyntaxError) as err:
        raise ValueError(str(err)) from None
    return out


def _string_code(literal: str) -> str:
    """What of a string literal is code: nothing, or an f-string's fields (expression,
    conversion, format spec), in any order: a translated label may put them elsewhere."""
    prefix = literal[: len(literal) - len(literal.lstrip("rRbBuUfF"))].lower()
    if "f" not in prefix:
        return "str"
    try:
        node = ast.parse(literal, mode="eval").body
    except SyntaxError:
        return literal
    values = node.values if isinstance(node, ast.JoinedStr) else []
    fields = sorted(ast.unparse(ast.JoinedStr(values=[v])) for v in values
                    if isinstance(v, ast.FormattedValue))
    return "f-string with " + " ".join(fields)


def same_code(english: str, chinese: str) -> str | None:
    """None when the two code cells are the same code, else a line saying where they differ.

    Only comments, docstrings and string literals may differ (the text of f-strings, not
    their expressions); the solution markers and the language of ``set_language`` are
    checked too.
    """
    en_markers = [ln.strip() for ln in english.splitlines() if ln.strip() in MARKERS]
    zh_markers = [ln.strip() for ln in chinese.splitlines() if ln.strip() in MARKERS]
    if en_markers != zh_markers:
        return tr("the ### BEGIN/END SOLUTION markers differ from the English cell's")
    if LANGUAGE_CALL.search(english) and LANGUAGE_CALL.findall(chinese) != [LANG]:
        return tr('the import cell must call set_language("{lang}")', lang=LANG)
    try:
        a, b = code_tokens(english), code_tokens(chinese)
    except ValueError as err:
        return tr("the code cannot be read as Python: {reason}", reason=err)
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return tr("code differs from the English cell: {zh!r} where English has {en!r} "
                      "(token {number})", zh=y[1], en=x[1], number=i + 1)
    if len(a) != len(b):
        return tr("code differs from the English cell: {zh} tokens of code, English has {en}",
                  zh=len(b), en=len(a))
    return None


def problems(english: nbformat.NotebookNode, entries: dict[str, Entry]) -> list[Problem]:
    """Everything that keeps ``entries`` from translating ``english``, in cell order."""
    found: list[Problem] = []
    ids = set()
    for cell in english.cells:
        ids.add(cell.id)
        entry = entries.get(cell.id)
        if entry is None:
            found.append(Problem("missing", cell.id, cell.source, tr("no translation")))
        elif entry.en_hash != en_hash(cell.source):
            found.append(Problem("stale", cell.id, cell.source, tr(
                "the English text changed (hash {now}, translated {then})",
                now=en_hash(cell.source), then=entry.en_hash)))
        elif cell.cell_type == "code" and entry.zh is not None:
            why = same_code(cell.source, entry.zh)
            if why:
                found.append(Problem("code", cell.id, cell.source, why))
    found += [Problem("orphan", cell_id, "", tr("no English cell has this id; remove the entry"))
              for cell_id in entries if cell_id not in ids]
    return found


def translated_notebook(english: nbformat.NotebookNode,
                        entries: dict[str, Entry]) -> nbformat.NotebookNode:
    """The Chinese notebook: the English one (ids, nbgrader metadata) with each cell's
    source replaced by its translation; outputs cleared, to be executed again.

    Raises ``CourseError`` if ``problems`` finds any.
    """
    wrong = problems(english, entries)
    if wrong:
        raise CourseError(tr("{count} cell(s) not translated or out of date; run `python -m "
                             "gpt2course.translations status`.", count=len(wrong)))
    notebook = copy.deepcopy(english)
    notebook.metadata.pop("widgets", None)  # the English run's widget state
    notebook.metadata["language"] = LANG
    for cell in notebook.cells:
        text = entries[cell.id].zh
        if text is not None:
            cell.source = text
        cell.metadata.pop("execution", None)  # timings of the English run
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return notebook


@dataclass(frozen=True)
class Lesson:
    """One English solution notebook and its translation file (which may not exist)."""

    notebook: Path

    @property
    def name(self) -> str:
        return self.notebook.name

    @property
    def translation(self) -> Path:
        return yaml_path(self.notebook)

    def status(self) -> list[Problem]:
        """``problems`` of this lesson; raises ``CourseError`` if the files are unreadable."""
        from .grading.notebooks import read_notebook

        english = read_notebook(self.notebook)
        if not self.translation.exists():
            return [Problem("missing", c.id, c.source, tr("no translation file"))
                    for c in english.cells]
        return problems(english, load_translations(self.translation))


def find_lessons(solutions: Path, which: str | None = None) -> list[Lesson]:
    """The lessons in ``solutions`` (``NN_name.ipynb``), or the one ``which`` names: "03",
    "03_attention", "03_attention.ipynb" or a path. Raises ``CourseError`` if none match."""
    solutions = Path(solutions)
    if not solutions.is_dir():
        raise CourseError(tr("{path} is not a folder; give the folder of the English "
                             "solution notebooks.", path=solutions))
    lessons = [Lesson(p) for p in sorted(solutions.glob("[0-9][0-9]_*.ipynb"))]
    if which:
        stem = Path(which).name.removesuffix(".ipynb").removesuffix(SUFFIX)
        lessons = [x for x in lessons if x.notebook.stem == stem or x.name[:2] == stem]
        if not lessons:
            raise CourseError(tr("no lesson {which!r} in {path}.", which=which, path=solutions))
    return lessons


def main(argv: list[str] | None = None) -> int:
    """``python -m gpt2course.translations {status,build} [LESSON]``."""
    from .translations_cli import main as run

    return run(argv)


if __name__ == "__main__":
    import sys

    sys.exit(main())
