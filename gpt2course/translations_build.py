"""Write ``solutions/zh/`` from the English solutions and their ``.zh.yaml`` translations.

A Chinese notebook is rebuilt from its sources: the English notebook (ids, nbgrader
metadata, code) and the translation of each cell (``translations.translated_notebook``).
It is executed with nbclient only when its sources changed, so its stored outputs are
those of its own code, in the environment ``make test`` uses (the course's small model,
offline files from ``../shared`` when they exist). ``gpt2course assign`` calls
``assign_translations`` to write ``lessons/zh/`` and, with ``--check``, to report Chinese
notebooks that no longer match their sources.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from .errors import CourseError
from .i18n import tr
from .translations import LANG, Lesson, find_lessons, load_translations, translated_notebook

CELL_TIMEOUT_S = 1800  # lesson 07 trains a model: minutes on a busy 2-core machine


@dataclass
class BuildReport:
    """What ``build`` did with each lesson: written (executed), unchanged, or skipped (why)."""

    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)


def same_sources(a: nbformat.NotebookNode, b: nbformat.NotebookNode) -> bool:
    """Whether two notebooks have the same cells (id, type, source, metadata): executing
    one gives the other's outputs. Notebook metadata other than the language is ignored
    (widget state and kernel versions come from the run)."""
    def cells(nb: nbformat.NotebookNode) -> list[tuple]:
        return [(c.id, c.cell_type, c.source,
                 {k: v for k, v in c.get("metadata", {}).items() if k != "execution"})
                for c in nb.cells]

    return cells(a) == cells(b) and a.metadata.get("language") == b.metadata.get("language")


def course_environment(root: Path) -> dict[str, str]:
    """The environment of ``make test`` for a kernel: the course's own small model, its
    cache inside the checkout, and the offline files in ``../shared`` when present."""
    env = dict(os.environ)
    env.pop("GPT2COURSE_LANG", None)  # the notebook chooses its language itself
    env["GPT2COURSE_NO_PRETRAINED"] = "1"
    env.setdefault("GPT2COURSE_CACHE_DIR", str(root / ".cache" / "gpt2course"))
    shared = root.parent / "shared"
    if (shared / "tiktoken-cache").is_dir():
        env.setdefault("TIKTOKEN_CACHE_DIR", str(shared / "tiktoken-cache"))
    if (shared / "data" / "tinyshakespeare.txt").is_file():
        env.setdefault("GPT2COURSE_DATA_DIR", str(shared / "data"))
    env.setdefault("PYTHONHASHSEED", "0")
    return env


def execute(notebook: nbformat.NotebookNode, folder: Path, env: dict[str, str]) -> None:
    """Run every cell in a fresh kernel started in ``folder``; outputs and widget state are
    stored in ``notebook``. Raises ``CourseError`` naming the cell that failed."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellControlSignal, CellExecutionError, DeadKernelError

    client = NotebookClient(notebook, timeout=CELL_TIMEOUT_S, kernel_name="python3",
                            resources={"metadata": {"path": str(folder)}},
                            store_widget_state=True, record_timing=False)
    try:
        client.execute(env=env)
    except (CellExecutionError, CellControlSignal, DeadKernelError) as err:  # timeout too
        raise CourseError(tr("a cell failed when the Chinese notebook ran: {error}",
                             error=str(err).strip().splitlines()[-1])) from None


def build(solutions: Path, which: str | None = None, *, force: bool = False,
          run: bool = True) -> BuildReport:
    """Write ``solutions/zh/NN_name.ipynb`` for each lesson whose translation is complete.

    A lesson without a translation file, or with missing/stale/orphan/differing cells,
    is skipped and reported. A notebook whose sources did not change is left as it is
    unless ``force``; ``run=False`` writes it without outputs (for tests).
    """
    from .files import atomic_write_text
    from .grading.notebooks import read_notebook

    solutions = Path(solutions)
    report = BuildReport()
    folder = solutions / LANG
    env = course_environment(solutions.resolve().parent)
    for lesson in find_lessons(solutions, which):
        why = _not_buildable(lesson)
        if why:
            report.skipped.append((lesson.name, why))
            continue
        notebook = translated_notebook(read_notebook(lesson.notebook),
                                       load_translations(lesson.translation))
        target = folder / lesson.name
        if not force and target.exists() and same_sources(read_notebook(target), notebook):
            report.unchanged.append(lesson.name)
            continue
        folder.mkdir(exist_ok=True)
        if run:
            try:
                execute(notebook, folder, env)
            except CourseError as err:
                report.skipped.append((lesson.name, str(err)))
                continue
        atomic_write_text(target, nbformat.writes(notebook) + "\n")
        report.written.append(lesson.name)
    return report


def _not_buildable(lesson: Lesson) -> str | None:
    if not lesson.translation.exists():
        return tr("no translation file {name}", name=lesson.translation.name)
    wrong = lesson.status()
    if wrong:
        return tr("{count} cell(s) missing, stale, orphaned or with different code",
                  count=len(wrong))
    return None


def stale_translations(solutions: Path) -> list[str]:
    """The Chinese solution notebooks that do not match their sources, each with why;
    empty when ``solutions/zh`` does not exist (no Chinese edition yet)."""
    from .grading.notebooks import read_notebook

    folder = Path(solutions) / LANG
    if not folder.is_dir():
        return []
    stale: list[str] = []
    lessons = find_lessons(solutions)
    for lesson in lessons:
        name = f"{LANG}/{lesson.name}"
        target = folder / lesson.name
        why = _not_buildable(lesson)
        if why:
            stale.append(f"{name} ({why})")
        elif not target.exists() or not same_sources(read_notebook(target), translated_notebook(
                read_notebook(lesson.notebook), load_translations(lesson.translation))):
            stale.append(tr("{name} (run `python -m gpt2course.translations build`)", name=name))
    english = {x.name for x in lessons}
    extra = [LANG + "/" + p.name for p in sorted(folder.glob("*.ipynb")) if p.name not in english]
    stale += [tr("{name} (no English notebook)", name=name) for name in extra]
    return stale


def assign_translations(solutions: Path, lessons: Path, *, check: bool,
                        assign: Callable[..., list[str]]) -> list[str]:
    """``lessons/zh`` from ``solutions/zh`` with the same ``assign``; with ``check`` also
    the Chinese solutions that are out of date. Returns the stale names, as ``assign``."""
    folder = Path(solutions) / LANG
    if not folder.is_dir() or not any(folder.glob("*.ipynb")):
        return []
    behind = stale_translations(solutions)
    if behind and not check:
        print(tr("warning: the Chinese solutions are out of date, lessons/{lang} is written "
                 "from them as they are: {names}", lang=LANG, names="; ".join(behind)),
              file=sys.stderr)
    stale = behind if check else []
    stale += [f"{LANG}/{name}" for name in assign(folder, Path(lessons) / LANG, check=check)]
    return stale
