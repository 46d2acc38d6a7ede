"""Where the course's ``lessons/`` and ``solutions/`` folders are, wherever a command runs.

``gpt2course check``, ``grade``, ``assign`` and ``gradescope-bundle`` need the
instructor's notebooks. When the user does not name the folder, it is looked for,
first found wins: ``<folder>/lessons`` for the current folder and each folder
above it (so a command run inside ``lessons/``, ``lessons/zh/`` or any subfolder
of the checkout finds it), then beside the installed package (an editable install,
``pip install -e .``, lives in the checkout). A folder counts only if it holds a
lesson notebook (``NN_name.ipynb``).
"""

from __future__ import annotations

import re
from pathlib import Path

from .errors import CourseError
from .i18n import tr

LESSON_NAME = re.compile(r"^(\d\d)_\w+\.ipynb$")  # 01_tokenizer.ipynb, ...
PACKAGE_CHECKOUT = Path(__file__).resolve().parents[1]  # the checkout, for `pip install -e .`


def holds_lessons(folder: Path) -> bool:
    """True when ``folder`` is a folder with at least one ``NN_name.ipynb`` notebook."""
    try:
        return folder.is_dir() and any(LESSON_NAME.match(p.name) for p in folder.iterdir())
    except OSError:  # unreadable: not a course folder
        return False


def candidates(name: str, start: Path | None = None) -> list[Path]:
    """Where a folder ``name`` ("lessons" or "solutions") is looked for, in order."""
    here = _here() if start is None else Path(start)
    above = [] if here is None else [folder / name for folder in (here, *here.parents)]
    return above + [PACKAGE_CHECKOUT / name]


def _here() -> Path | None:
    try:
        return Path.cwd()
    except OSError:  # the current folder was deleted
        return None


def find_course_folder(name: str, flag: str, start: Path | None = None) -> Path:
    """The course's folder ``name``, found as the module says; ``start`` is the folder to
    begin from (default: the current one).

    Raises ``CourseError`` naming ``flag`` (the option that gives the folder) when none
    of the places holds one.
    """
    here = _here() if start is None else Path(start)
    for folder in candidates(name, here):
        if holds_lessons(folder):
            return folder
    raise CourseError(tr(
        "cannot find the course's {name} folder (looked in {here}, the folders above it and "
        "{package}); pass {flag} with the folder that holds the NN_name.ipynb notebooks.",
        name=name, here=str(here or "?"), package=str(PACKAGE_CHECKOUT), flag=flag))
