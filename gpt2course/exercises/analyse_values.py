"""Difference analysers for two more kinds of learner bug, whatever the exercise: values
that are nearly right everywhere (a rounded constant, a slightly different formula), and
pieces of text that came out empty (a split that returns what lies between the matches).

Same signature and promise as ``analyse.py``'s: ``(expected, got, inputs) -> sentence or
None`` on plain data, silent when ``got`` equals ``expected``. They run last in
``analyse.ANALYSERS``: each names a kind only when no sharper analyser has.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..i18n import tr

RTOL, ATOL = 1e-4, 1e-5  # the same tolerance as analyse.py's
NEARLY = 3e-3  # "nearly right": every difference below this share of the largest value


def nearly_equal(expected: Any, got: Any, inputs: dict[str, Any]) -> str | None:
    """Every value within a small fraction of the expected one, several beyond the tolerance:
    a constant written with too few digits, or a slightly different formula."""
    if not (isinstance(expected, np.ndarray) and isinstance(got, np.ndarray)):
        return None
    if expected.shape != got.shape or expected.dtype.kind != "f" or got.dtype.kind != "f":
        return None
    e, g = expected.astype(np.float64), got.astype(np.float64)
    if not (np.isfinite(e).all() and np.isfinite(g).all()) or e.size < 2:
        return None
    scale = float(np.abs(e).max())
    off = ~np.isclose(g, e, rtol=RTOL, atol=ATOL)
    largest = float(np.abs(g - e).max())
    if scale == 0 or off.sum() < 2 or largest > NEARLY * scale:
        return None
    return tr("your values are all close to the expected ones (the largest difference is "
              "{diff}, {share} of the largest value) but not equal within the tolerance: a "
              "constant written with too few digits (e.g. 0.8 for sqrt(2/pi) = 0.79788..., "
              "3.14 for pi), or a slightly different formula (another approximation, eps in "
              "another place).", diff=f"{largest:.3g}", share=f"{largest / scale:.2%}")


def empty_pieces(expected: Any, got: Any, inputs: dict[str, Any]) -> str | None:
    """A list of strings holding empty strings where the expected list has none: a split
    that returns the text between the matches, not the matches."""
    if not (isinstance(expected, list) and isinstance(got, list)) or not got:
        return None
    if not all(isinstance(s, str) for s in [*expected, *got]) or "" in expected:
        return None
    empty = sum(1 for s in got if s == "")
    if not empty:
        return None
    return tr("{n} of your {total} pieces are empty strings (''), and no expected piece is: "
              "a split (re.split, regex.split, str.split) returns the text between the "
              "matches of its pattern. To get the matches themselves, use regex.findall.",
              n=empty, total=len(got))


def text_changed(expected: Any, got: Any, inputs: dict[str, Any]) -> str | None:
    """Pieces of text that no longer join back to the input text, where the expected pieces
    do: the text was changed (lower-cased, stripped, characters dropped) before cutting."""
    if not (isinstance(expected, list) and isinstance(got, list)):
        return None
    if not all(isinstance(s, str) for s in [*expected, *got]):
        return None
    text = next((v for v in inputs.values() if isinstance(v, str) and v), None)
    joined = "".join(got)
    if text is None or "".join(expected) != text or joined == text or "" in got:
        return None
    changes = ((text.lower(), tr("lower-cased")), (text.upper(), tr("upper-cased")),
               (text.strip(), tr("stripped of the spaces at its ends")))
    how = next((words for changed, words in changes if joined == changed), None)
    if how is not None:
        return tr("your pieces join back to the text {how}, not to the text itself: cut the "
                  "text as it is, without changing it.", how=how)
    at = next((i for i, (a, b) in enumerate(zip(text, joined, strict=False)) if a != b),
              min(len(text), len(joined)))
    return tr("your pieces do not join back to the text: from character {i} on, they differ "
              "(the text has {expected}, your pieces {got}). Cutting must keep every "
              "character, spaces and newlines too, in order.", i=at,
              expected=repr(text[at:at + 5]), got=repr(joined[at:at + 5]))


VALUE_ANALYSERS = (empty_pieces, text_changed, nearly_equal)
