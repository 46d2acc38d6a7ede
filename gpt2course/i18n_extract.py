"""Find every message the package shows, and the ones its Chinese catalog lacks.

Run ``python -m gpt2course.i18n_extract`` to print, as ready-to-fill gettext entries,
each message id that has no Chinese text yet (empty output: nothing missing). Add the
Chinese to the ``.po`` file of the area the message belongs to, in
``gpt2course/locale/zh/``. ``tests/test_i18n.py`` runs the same search.
"""

from __future__ import annotations

import sys
from pathlib import Path

from .i18n import KEYWORDS, LOCALE_DIR, catalog

PACKAGE_DIR = Path(__file__).parent


def extract_messages() -> dict[str, list[str]]:
    """Every message id marked with ``tr``/``N_`` in the package -> where it is used
    (``path:line``). Uses Babel's Python extractor, so only string literals count:
    a message built with an f-string is not found (and is a bug)."""
    from babel.messages.extract import extract_from_dir

    found: dict[str, list[str]] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        str(PACKAGE_DIR), method_map=[("**.py", "python")], keywords=KEYWORDS,
    ):
        if isinstance(message, tuple):  # plural forms: the course uses none
            message = message[0]
        found.setdefault(message, []).append(f"{filename}:{lineno}")
    for message, where in _train_flag_help().items():
        found.setdefault(message, []).append(where)
    return found


def _train_flag_help() -> dict[str, str]:
    """The comments of TrainConfig's fields, which ``python -m gpt2course.train --help``
    shows through ``tr``: message -> ``train.py:line``."""
    import inspect

    from .train import TrainConfig
    from .train_cli import field_comments

    lines, first = inspect.getsourcelines(TrainConfig)
    where = {}
    for comment in field_comments("".join(lines)).values():
        line = next(i for i, text in enumerate(lines) if comment in text)
        where[comment] = f"train.py:{first + line}"
    return where


def missing(lang: str = "zh") -> dict[str, list[str]]:
    """Message ids used in the package with no ``lang`` text in the catalog."""
    have = catalog(lang)
    return {m: where for m, where in extract_messages().items() if m not in have}


def main() -> int:
    from babel.messages.catalog import Catalog
    from babel.messages.pofile import write_po

    todo = missing()
    if not todo:
        return 0
    out = Catalog(locale="zh_CN")
    for message, where in todo.items():
        out.add(message, "", locations=[(w.rsplit(":", 1)[0], int(w.rsplit(":", 1)[1]))
                                            for w in where])
    write_po(sys.stdout.buffer, out, omit_header=True, width=100)
    print(f"# {len(todo)} message(s) without Chinese; add them under {LOCALE_DIR / 'zh'}",
          file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
