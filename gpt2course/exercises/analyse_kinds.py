"""More general difference analysers, each for one kind of learner bug that shows in the
output whatever the exercise: right values sorted, a broadcast that grew the result, ids
off by a constant, part of a tuple returned, a loop that runs too long or stops early,
text cut in other places.

They have ``analyse.py``'s signature, ``(expected, got, inputs) -> sentence or None``
(plain data: numpy arrays, lists, str), and its promise: none fires when ``got`` equals
``expected``. ``analyse.ANALYSERS`` lists them where they run (before the broader
``wrong_layout`` and ``localised``, which would otherwise claim their cases with a vaguer
sentence).
"""

from __future__ import annotations

from itertools import zip_longest
from typing import Any

import numpy as np

from ..i18n import N_, tr

RTOL, ATOL = 1e-4, 1e-5  # the same tolerance as analyse.py's


def _numeric(a: Any) -> bool:
    return isinstance(a, np.ndarray) and a.dtype.kind in "biuf" and a.size > 0


def _close(a: np.ndarray, b: np.ndarray) -> bool:
    if a.shape != b.shape:
        return False
    return bool(np.allclose(b.astype(np.float64), a.astype(np.float64), rtol=RTOL, atol=ATOL,
                            equal_nan=True))


def _ints(value: Any) -> np.ndarray | None:
    """``value`` as a flat int64 array when it is an int array or a (nested) list of ints."""
    if isinstance(value, np.ndarray):
        return value.astype(np.int64).ravel() if value.dtype.kind in "iu" and value.size else None
    if isinstance(value, list) and value:
        flat = np.asarray(value, dtype=object).ravel()
        if all(type(v) is int for v in flat):
            return flat.astype(np.int64)
    return None


def sorted_values(expected: Any, got: Any, inputs: dict[str, Any]) -> str | None:
    """Each row holds the right values, sorted (a sort or top-k whose result was never put
    back at the tokens' positions)."""
    if not (_numeric(expected) and _numeric(got)) or expected.shape != got.shape:
        return None
    if expected.shape[-1] < 3:
        return None
    ascending = np.sort(expected.astype(np.float64), axis=-1)
    for order, name in ((ascending, "ascending"), (ascending[..., ::-1], "descending")):
        if _close(order, expected):
            return None  # the expected rows are sorted already: nothing to tell apart
        if _close(order, got):
            return tr("each row of your output holds the right values, but sorted ({order}): "
                      "every value belongs at its own position (its token's index). Put the "
                      "values back where they came from (scatter them with the indices that "
                      "sort or topk gave you), or do not sort.", order=name)
    return None


def broadcast_grew(expected: Any, got: Any, inputs: dict[str, Any]) -> str | None:
    """A bigger output whose shape is the expected one broadcast against another: operands
    whose axes did not line up."""
    if not (_numeric(expected) and _numeric(got)) or got.size <= expected.size:
        return None
    e, g = expected.shape, got.shape
    if len(g) < len(e) or len(g) > len(e) + 2:
        return None
    aligned = g[len(g) - len(e):]
    if not all(a == b or b == 1 for a, b in zip(aligned, e, strict=True)):
        return None
    return tr("your output has shape {got} where {expected} is expected: two tensors whose "
              "axes do not line up were broadcast into a bigger result (say (T, 1, C) with "
              "(B, T, C), or (B,) with (B, 1)). Check each operand's shape where you add, "
              "multiply or compare, and where you add or drop an axis (None, unsqueeze, "
              "keepdim).", got=tuple(g), expected=tuple(e))


# Offsets worth a name: what a learner most likely forgot or added.
_OFFSETS = {1: N_("An index or id is off by one."),
            256: N_("The 256 byte tokens come first: a merged token's id is 256 + its rank.")}
# One wrong item off by one of these is telling; by any other number it may be chance.
_TELLING = (256,)


def offset_by_constant(expected: Any, got: Any, inputs: dict[str, Any]) -> str | None:
    """Integer ids or indices that, where they differ, all differ by the same constant."""
    e, g = _ints(expected), _ints(got)
    if e is None or g is None or e.shape != g.shape:
        return None
    diff = g - e
    wrong = diff[diff != 0]
    if wrong.size == 0 or not (wrong == wrong[0]).all():
        return None
    c = int(wrong[0])
    if wrong.size == 1 and abs(c) not in _TELLING:
        return None
    shift = f"{c:+d}"
    if wrong.size == diff.size:
        found = tr("your output is the expected one plus {c} everywhere: an offset is added "
                   "or forgotten.", c=shift)
    else:
        found = tr("where your output differs from the expected one ({n} of {total} items), "
                   "it is off by exactly {c}: an offset is missing or added there.",
                   n=int(wrong.size), total=int(diff.size), c=shift)
    named = _OFFSETS.get(abs(c))
    return f"{found} {tr(named)}" if named else found


def part_of_expected(expected: Any, got: Any, inputs: dict[str, Any]) -> str | None:
    """Only one item of an expected tuple or list (the pair without its count ...)."""
    if not isinstance(expected, list) or not 2 <= len(expected) <= 4:
        return None
    for i, item in enumerate(expected):
        same = (_close(item, got) if isinstance(item, np.ndarray) and isinstance(got, np.ndarray)
                else type(item) is type(got) and item == got)
        if same and not _equal_items(expected, got):
            return tr("your output is only item {i} of the {n} expected ({item}): return all "
                      "{n}, in order, as one tuple (e.g. return pair, count).",
                      i=i, n=len(expected), item=_short(item))
    return None


def _equal_items(expected: list, got: Any) -> bool:
    try:
        return bool(expected == got)
    except (ValueError, TypeError):
        return False


def _short(value: Any) -> str:
    text = repr(value.tolist() if isinstance(value, np.ndarray) else value)
    return text if len(text) <= 40 else text[:37] + "..."


def too_long_or_short(expected: Any, got: Any, inputs: dict[str, Any]) -> str | None:
    """Along one axis, more or fewer items than expected, and the ones that overlap are
    right: a loop that runs too far or ends too soon."""
    if not (_numeric(expected) and _numeric(got)) or expected.ndim != got.ndim:
        return None
    differ = [a for a in range(expected.ndim) if expected.shape[a] != got.shape[a]]
    if len(differ) != 1:
        return None
    axis = differ[0]
    n_e, n_g = expected.shape[axis], got.shape[axis]
    short, long_ = (got, expected) if n_g < n_e else (expected, got)
    n = short.shape[axis]
    if n == 0:
        return None
    head = np.take(long_, range(n), axis=axis)
    if not _close(head, short):
        return None
    if n_g == n_e + 1:
        return tr("your output has {got} items along axis {axis} where {expected} are "
                  "expected; the first {expected} are right: a loop runs one step too far "
                  "(range(n + 1), or <= for <).", got=n_g, expected=n_e, axis=axis)
    if n_g > n_e:
        return tr("your output has {got} items along axis {axis} where {expected} are "
                  "expected; the first {expected} are right: a loop runs {extra} steps too "
                  "far, or does not stop when it should (a stop condition or break that "
                  "never fires).", got=n_g, expected=n_e, axis=axis, extra=n_g - n_e)
    return tr("your output stops early: {got} of the {expected} items along axis {axis}, and "
              "those are right. A loop ends or breaks too soon (a stop condition met by one "
              "row ends them all?), or a range stops one too early.",
              got=n_g, expected=n_e, axis=axis)


def text_cut_elsewhere(expected: Any, got: Any, inputs: dict[str, Any]) -> str | None:
    """Strings that join back to the same text, cut in other places."""
    if not (isinstance(expected, list) and isinstance(got, list)) or expected == got:
        return None
    if not all(isinstance(s, str) for s in [*expected, *got]):
        return None
    if "".join(expected) != "".join(got):
        return None
    at = next(i for i, (e, g) in enumerate(zip_longest(expected, got)) if e != g)
    return tr("your pieces join back to the right text but are cut in other places: piece "
              "{i} is {got} where {expected} is expected. Check the split pattern: each "
              "alternative, its order, and what it lets a piece start with (a space?).",
              i=at, got=repr(got[at]) if at < len(got) else "-",
              expected=repr(expected[at]) if at < len(expected) else "-")


def _sizes(inputs: dict[str, Any], prefix: str = "") -> list[tuple[str, int]]:
    """(name, size) of every int in the inputs (nested dicts too: a module's init) and of
    every axis of every input tensor (``wpe.shape[0]``); ints first."""
    ints, axes = [], []
    for key, value in inputs.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            ints_and_axes = _sizes(value)
            ints += [s for s in ints_and_axes if ".shape[" not in s[0]]
            axes += [s for s in ints_and_axes if ".shape[" in s[0]]
        elif type(value) is int and value > 1:
            ints.append((name, value))
        elif hasattr(value, "shape") and 0 < len(value.shape) <= 4:
            axes += [(f"{name}.shape[{i}]", int(n)) for i, n in enumerate(value.shape) if n > 1]
    return ints + axes


def size_named(expected: Any, got: Any, inputs: dict[str, Any]) -> str | None:
    """A wrong size along an axis that is another size of the inputs (n_positions where
    vocab_size belongs): the wrong table, weight or axis was used."""
    if not (_numeric(expected) and _numeric(got)) or expected.ndim != got.ndim:
        return None
    differ = [a for a in range(got.ndim) if got.shape[a] != expected.shape[a]]
    if len(differ) != 1:
        return None
    axis = differ[0]
    sizes = _sizes(inputs)
    wrong = next((name for name, n in sizes if n == got.shape[axis]), None)
    right = next((name for name, n in sizes if n == expected.shape[axis]), None)
    if wrong is None or right is None:
        return None
    return tr("axis {axis} of your output has size {got} (= {wrong}) where {expected} (= "
              "{right}) is expected: the wrong table, weight or axis was used there.",
              axis=axis, got=got.shape[axis], wrong=wrong, expected=expected.shape[axis],
              right=right)


def repeated_item(expected: Any, got: Any, inputs: dict[str, Any]) -> str | None:
    """A list that repeats one item where the expected items differ: a loop whose state is
    never updated."""
    if not (isinstance(expected, list) and isinstance(got, list)) or len(got) < 3:
        return None
    first = got[0]
    if isinstance(first, str):
        return None  # equal strings (often '') come from splitting, not from a stale loop
    try:
        if not all(item == first for item in got) or all(item == expected[0] for item in expected):
            return None
    except (ValueError, TypeError):
        return None
    return tr("your output repeats one item ({item}) {n} times where the expected items "
              "differ: a loop does not update what it works on (a result computed and never "
              "stored, e.g. ids = merge_pair(...) forgotten).", item=_short(first), n=len(got))


def missing_input_factor(expected: Any, got: Any, inputs: dict[str, Any]) -> str | None:
    """``got * x == expected`` (or ``got == expected * x``) for an input x: a factor missing
    or applied twice."""
    if not (_numeric(expected) and _numeric(got)) or expected.shape != got.shape:
        return None
    if expected.dtype.kind != "f":
        return None
    e, g = expected.astype(np.float64), got.astype(np.float64)
    for name, value in inputs.items():
        if not (_numeric(value) and value.dtype.kind == "f"):
            continue
        try:
            v = np.broadcast_to(value.astype(np.float64), e.shape)
        except ValueError:
            continue
        if np.allclose(v, 1.0) or not np.isfinite(v).all() or np.abs(v).max() < 1e-3:
            continue
        if np.allclose(g * v, e, rtol=1e-3, atol=1e-5):
            return tr("your output times {name} is the expected one: a factor {name} is "
                      "missing (e.g. x * ... at the front of the formula).", name=name)
        if np.allclose(g, e * v, rtol=1e-3, atol=1e-5):
            return tr("your output is the expected one times {name}: {name} is multiplied in "
                      "once too often.", name=name)
    return None


KIND_ANALYSERS = (sorted_values, broadcast_grew, offset_by_constant, part_of_expected,
                  too_long_or_short, size_named, repeated_item, missing_input_factor,
                  text_cut_elsewhere)
