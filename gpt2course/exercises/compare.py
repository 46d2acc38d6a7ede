"""How a learner's output is compared with the reference's.

A comparison takes ``(expected, got)``, both plain data (numpy arrays, JSON values, lists,
dicts; see ``plain.to_plain``), and returns ``None`` when ``got`` is accepted, or a
``Mismatch``: one summary line and a few detail lines, in the learner's language.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import i18n
from ..i18n import tr


def shown(message: str) -> str:
    """A message marked with ``N_`` where it was written (a diagnosis, a hint), in the
    learner's language; English when the catalog has no entry for it."""
    return i18n.tr(message)


@dataclass(frozen=True)
class Mismatch:
    """Why an output is not accepted, in a few plain lines."""

    summary: str
    details: tuple[str, ...] = ()
    # What kind of mismatch, in English whatever the language shown ("wrong shape", "wrong
    # dtype"), so hints keyed by kind find it in a Chinese summary too.
    kind: str = ""


Compare = Callable[[Any, Any], "Mismatch | None"]


def exact(expected: Any, got: Any) -> Mismatch | None:
    """Equal in every element, shape and dtype: for token ids, strings, counts."""
    return _walk(expected, got, _arrays_equal)


def close(atol: float = 1e-5, rtol: float = 1e-4) -> Compare:
    """Same shape and dtype, and ``|got - expected| <= atol + rtol * |expected|`` everywhere."""

    def compare(expected: Any, got: Any) -> Mismatch | None:
        return _walk(expected, got, lambda e, g: _arrays_close(e, g, atol, rtol))

    compare.__name__ = f"close(atol={atol}, rtol={rtol})"
    return compare


def with_hints(compare: Compare, hints: dict[str, str]) -> Compare:
    """``compare``, plus a hint line when the mismatch summary starts with one of ``hints``' keys.

    E.g. ``{"wrong shape": "Index the rows of wte with the ids."}``: the learner gets the
    shape mismatch and, under it, what usually causes it in this exercise. Keys are a
    mismatch's ``kind`` (the same in every language) or the start of its English summary.
    """

    def hinted(expected: Any, got: Any) -> Mismatch | None:
        found = compare(expected, got)
        if found is None:
            return None
        extra = tuple(shown(hint) for start, hint in hints.items()
                      if found.kind == start or found.summary.startswith(start))
        return Mismatch(found.summary, found.details + extra, found.kind)

    hinted.__name__ = getattr(compare, "__name__", "compare")
    return hinted


def frequencies_match(max_distance: float = 0.05) -> Compare:
    """For sampling: ``expected`` holds probabilities ``(..., V)``, ``got`` drawn ids ``(..., N)``.

    Passes when, for each row, the share of draws that fell on each token is within
    ``max_distance`` of its probability in total variation, and no draw hit a token of
    probability 0. Pick N so a correct sampler fails with negligible odds (see tests).
    """

    def compare(expected: Any, got: Any) -> Mismatch | None:
        if not isinstance(got, np.ndarray) or got.dtype.kind not in "iu":
            return Mismatch(tr("expected an integer tensor of token ids, got {got}.",
                               got=describe(got)))
        probs = expected.reshape(-1, expected.shape[-1])
        draws = got.reshape(probs.shape[0], -1) if got.size % probs.shape[0] == 0 else None
        if draws is None or got.shape[:-1] != expected.shape[:-1]:
            return Mismatch(tr("wrong shape: got {got} for probabilities {expected}.",
                               got=tuple(got.shape), expected=tuple(expected.shape)),
                            kind="wrong shape")
        vocab = probs.shape[1]
        if draws.min() < 0 or draws.max() >= vocab:
            return Mismatch(tr("a token id is outside 0..{last}.", last=vocab - 1))
        for row, (p, d) in enumerate(zip(probs, draws, strict=True)):
            freq = np.bincount(d, minlength=vocab) / d.size
            impossible = np.flatnonzero((p == 0) & (freq > 0))
            if impossible.size:
                return Mismatch(tr("row {row}: token {token} was drawn but has probability 0.",
                                   row=row, token=int(impossible[0])))
            distance = 0.5 * float(np.abs(freq - p).sum())
            if distance > max_distance:
                return Mismatch(tr(
                    "row {row}: the drawn tokens do not follow the expected probabilities "
                    "(distance {distance} > {limit}).",
                    row=row, distance=f"{distance:.3f}", limit=max_distance))
        return None

    compare.__name__ = f"frequencies_match({max_distance})"
    return compare


def _walk(expected: Any, got: Any, arrays: Callable[[np.ndarray, Any], Mismatch | None],
          where: str = "") -> Mismatch | None:
    """Compare nested plain data; arrays are handed to ``arrays``."""
    at = tr(" in {where}", where=where) if where else ""
    if isinstance(expected, np.ndarray):
        found = arrays(expected, got)
        if found and where:
            return Mismatch(found.summary[:-1] + at + ".", found.details, found.kind)
        return found
    if isinstance(expected, list):
        if not isinstance(got, list) or len(got) != len(expected):
            return Mismatch(tr("expected a sequence of {n} items{at}, got {got}.",
                               n=len(expected), at=at, got=describe(got)))
        for i, (e, g) in enumerate(zip(expected, got, strict=True)):
            found = _walk(e, g, arrays, f"{where}[{i}]")
            if found:
                return found
        return None
    if isinstance(expected, dict):
        if not isinstance(got, dict) or set(got) != set(expected):
            return Mismatch(tr("expected a dict with keys {keys}{at}, got {got}.",
                               keys=sorted(expected), at=at, got=describe(got)))
        for key in expected:
            found = _walk(expected[key], got[key], arrays, f"{where}[{key!r}]")
            if found:
                return found
        return None
    if isinstance(expected, float) and isinstance(got, float):
        if math.isclose(expected, got, rel_tol=1e-6, abs_tol=1e-9):
            return None
    elif type(got) is type(expected) and got == expected:
        return None
    return Mismatch(tr("expected {expected}{at}, got {got}.",
                       expected=repr(expected), at=at, got=describe(got)))


def same_kind(expected: np.ndarray, got: Any) -> Mismatch | None:
    """A mismatch when ``got`` is not an array of ``expected``'s shape and dtype, else None."""
    if not isinstance(got, np.ndarray):
        return Mismatch(tr("expected a tensor of shape {shape}, got {got}.",
                           shape=tuple(expected.shape), got=describe(got)))
    if got.shape != expected.shape:
        return Mismatch(tr("wrong shape: expected {expected}, got {got}.",
                           expected=tuple(expected.shape), got=tuple(got.shape)),
                        kind="wrong shape")
    if got.dtype != expected.dtype:
        return Mismatch(tr("wrong dtype: expected {expected}, got {got}.",
                           expected=_dtype(expected), got=_dtype(got)), kind="wrong dtype")
    return None


def _arrays_equal(expected: np.ndarray, got: Any) -> Mismatch | None:
    found = same_kind(expected, got)
    if found:
        return found
    differ = np.argwhere(expected != got)
    if differ.size == 0:
        return None
    first = tuple(int(i) for i in differ[0])
    return Mismatch(
        tr("{n} of {total} values differ.", n=len(differ), total=expected.size),
        (tr("first difference at {where}: expected {expected}, got {got}",
            where=list(first), expected=_num(expected[first]), got=_num(got[first])),),
    )


def _arrays_close(expected: np.ndarray, got: Any, atol: float, rtol: float) -> Mismatch | None:
    found = same_kind(expected, got)
    if found:
        return found
    unexpected = ~np.isfinite(got) & np.isfinite(expected)
    if unexpected.any():
        bad = tuple(int(i) for i in np.argwhere(unexpected)[0])
        return Mismatch(tr("your output contains NaN or inf where a number is expected "
                           "(first at {where}).", where=list(bad)))
    e, g = expected.astype(np.float64), got.astype(np.float64)
    finite = np.isfinite(e)
    # Where the reference is inf or NaN (a masked score, say), only the same value will do;
    # a tolerance would accept anything there, since rtol * inf is inf.
    same_special = (e == g) | (np.isnan(e) & np.isnan(g))
    with np.errstate(invalid="ignore"):
        error = np.where(finite, np.abs(g - e), 0.0)
        # "not <=" rather than ">", so that a NaN in got counts as wrong
        bad = np.where(finite, ~(error <= atol + rtol * np.abs(np.where(finite, e, 0.0))),
                       ~same_special)
    if not bad.any():
        return None
    first = tuple(int(i) for i in np.argwhere(bad)[0])
    worst = float(error.max()) if (bad & finite).any() else float("inf")
    return Mismatch(
        tr("{n} of {total} values are off (max error {worst}, allowed {atol} + {rtol} x "
           "|expected|).", n=int(bad.sum()), total=expected.size, worst=f"{worst:.3g}",
           atol=f"{atol:g}", rtol=f"{rtol:g}"),
        (tr("first wrong value at {where}: expected {expected}, got {got}",
            where=list(first), expected=_num(expected[first]), got=_num(got[first])),),
    )


def describe(value: Any) -> str:
    """A short name for what the learner returned."""
    if isinstance(value, np.ndarray):
        return tr("a tensor of shape {shape} and dtype {dtype}",
                  shape=tuple(value.shape), dtype=_dtype(value))
    if isinstance(value, list):
        return tr("a sequence of {n} items", n=len(value))
    if isinstance(value, dict):
        return tr("a dict with keys {keys}", keys=sorted(value))
    return f"{value!r}" if len(repr(value)) < 60 else tr("a {kind}", kind=type(value).__name__)


def _dtype(a: np.ndarray) -> str:
    return f"{a.dtype}"


def _num(x: Any) -> str:
    return f"{float(x):.6g}" if np.asarray(x).dtype.kind in "fc" else str(x)
