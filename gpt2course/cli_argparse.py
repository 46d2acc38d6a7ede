"""argparse in the user's language, with one-line errors.

argparse writes its own words (``usage:``, ``options``, ``the following arguments
are required: ...``) through ``gettext``, looked up as the module-level names
``argparse._`` and ``argparse.ngettext``. ``argparse_speaking`` points them at the
course's catalog (``tr``) while a parser is built, parses or prints its help, and
puts them back after, so ``gpt2course --lang zh grade --help`` is Chinese from the
usage line to the last error. The ids below are argparse's own English texts
(Python 3.10-3.13); one this list lacks is simply shown in English.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager

from .i18n import N_, tr

ARGPARSE_MESSAGES = (
    N_("usage: "),
    N_("positional arguments"),
    N_("options"),
    N_("optional arguments"),
    N_("show this help message and exit"),
    N_("argument %(argument_name)s: %(message)s"),
    N_("unrecognized arguments: %s"),
    N_("the following arguments are required: %s"),
    N_("one of the arguments %s is required"),
    N_("invalid choice: %(value)r (choose from %(choices)s)"),
    N_("invalid %(type)s value: %(value)r"),
    N_("expected one argument"),
    N_("expected at most one argument"),
    N_("expected at least one argument"),
    N_("expected %s argument"),
    N_("expected %s arguments"),
    N_("ambiguous option: %(option)s could match %(matches)s"),
    N_("not allowed with argument %s"),
    N_("ignored explicit argument %r"),
    N_("unexpected option string: %s"),
    N_("can't open '%(filename)s': %(error)s"),
)


def _translate(text: str | None) -> str | None:
    return tr(text) if text else text


def _translate_plural(singular: str, plural: str, n: int) -> str:
    return tr(singular if n == 1 else plural)


@contextmanager
def argparse_speaking() -> Iterator[None]:
    """argparse's own texts in the current language (``get_language()``) inside the block."""
    before = argparse._, argparse.ngettext  # type: ignore[attr-defined]
    argparse._ = _translate  # type: ignore[attr-defined]
    argparse.ngettext = _translate_plural  # type: ignore[attr-defined]
    try:
        yield
    finally:
        argparse._, argparse.ngettext = before  # type: ignore[attr-defined]


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a bad option is one line saying what to do (exit 2), not the usage text."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, tr("{prog}: {problem} (see {prog} --help)", prog=self.prog,
                        problem=message) + "\n")
