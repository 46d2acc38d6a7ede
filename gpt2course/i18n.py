"""Messages in the learner's language: English (the default) or Simplified Chinese.

Every sentence the package shows a person (check verdicts, diagnoses, hints, grader
feedback, ``doctor``, command-line errors, widget labels) goes through ``tr``::

    tr("took longer than {seconds} s", seconds=20)

The English text is the message id (gettext's convention). Chinese texts live in
gettext catalogs, ``gpt2course/locale/zh/*.po`` (one file per area of the package,
all merged), read with Babel. A message defined before the language is known (a
module-level constant such as a diagnosis) is marked with ``N_`` so the extractor
finds it, and translated with ``tr`` where it is shown.

The language is, in order: the last ``set_language`` call, the ``GPT2COURSE_LANG``
environment variable, then English. ``tests/test_i18n.py`` checks that every
message has a Chinese entry with the same ``{placeholders}``.
"""

from __future__ import annotations

import os
import string
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from importlib.util import find_spec
from pathlib import Path

LANGUAGES = ("en", "zh")
LOCALE_DIR = Path(__file__).with_name("locale")
# The functions whose first argument is a message id (for Babel's extractor).
KEYWORDS = {"tr": None, "N_": None}

_chosen: str | None = None


def normalize_language(lang: str) -> str:
    """``"zh"``, ``"zh_CN"``, ``"zh-Hans"``, ``"ZH"`` -> ``"zh"``; ``"en_US"`` -> ``"en"``.

    Raises ``ValueError`` naming the languages the course has.
    """
    code = _code(lang)
    if code is None:
        raise ValueError(tr("unknown language {lang!r}; use one of: {languages}",
                            lang=lang, languages=", ".join(LANGUAGES)))
    return code


def _code(lang: str) -> str | None:
    code = lang.strip().lower().replace("-", "_").split("_")[0].split(".")[0]
    return code if code in LANGUAGES else None


def set_language(lang: str | None) -> None:
    """Show messages in ``lang`` (``"en"`` or ``"zh"``) from now on; ``None`` goes back
    to ``GPT2COURSE_LANG`` or English."""
    global _chosen
    _chosen = None if lang is None else normalize_language(lang)
    if get_language() != "en" and find_spec("matplotlib") is not None:
        # The notebook's own plots have labels in this language too: give them a font.
        from .viz.fonts import use_language_fonts

        use_language_fonts()


@contextmanager
def speaking(lang: str | None) -> Iterator[None]:
    """Messages in ``lang`` inside the ``with`` block, also in the processes started there
    (through ``GPT2COURSE_LANG``); the previous setting comes back after. ``None``
    changes nothing."""
    global _chosen
    if lang is None:
        yield
        return
    before, before_env = _chosen, os.environ.get("GPT2COURSE_LANG")
    set_language(lang)
    os.environ["GPT2COURSE_LANG"] = get_language()
    try:
        yield
    finally:
        _chosen = before
        if before_env is None:
            os.environ.pop("GPT2COURSE_LANG", None)
        else:
            os.environ["GPT2COURSE_LANG"] = before_env


def get_language() -> str:
    """The language messages are shown in now: ``"en"`` or ``"zh"``."""
    if _chosen is not None:
        return _chosen
    return _code(os.environ.get("GPT2COURSE_LANG", "")) or "en"


def N_(msgid: str) -> str:  # noqa: N802 (gettext's name for "mark, translate later")
    """Mark ``msgid`` for the catalog without translating it now; ``tr`` it when shown."""
    return msgid


def tr(msgid: str, /, **fields: object) -> str:
    """``msgid`` in the current language, with ``{fields}`` filled in by ``str.format``.

    A message missing from the catalog falls back to English (tests forbid that).
    """
    text = msgid
    if get_language() != "en":
        text = catalog(get_language()).get(msgid) or msgid
    return text.format(**fields) if fields else text


def placeholders(text: str) -> set[str]:
    """The ``{names}`` in a ``str.format`` text: what a translation must keep."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


@cache
def catalog(lang: str) -> dict[str, str]:
    """msgid -> translated text, from every ``locale/<lang>/*.po`` file (fuzzy and empty
    entries left out)."""
    from babel.messages.pofile import read_po

    found: dict[str, str] = {}
    for path in sorted((LOCALE_DIR / lang).glob("*.po")):
        with path.open("rb") as f:
            for message in read_po(f):
                if message.id and message.string and not message.fuzzy:
                    found[str(message.id)] = str(message.string)
    return found
