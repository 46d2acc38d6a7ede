"""General difference analysers: which kind of mistake turns the expected output into the
learner's, for whole kinds of bugs at once.

``diagnose`` tries them, in ``ANALYSERS`` order, on every failing case of every exercise
after the exercise's known bugs. Each takes ``(expected, got, inputs)`` (plain data:
numpy arrays, lists; ``inputs`` the case's inputs) and returns a sentence in the
learner's language, or None. None of them fires when ``got`` equals ``expected``: each
only names a transformation that changes ``expected`` (tests/test_analysers.py).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from ..i18n import tr
from .analyse_kinds import KIND_ANALYSERS
from .analyse_values import VALUE_ANALYSERS

Analyser = Callable[[Any, Any, dict[str, Any]], "str | None"]
RTOL, ATOL = 1e-4, 1e-5
LARGE_INPUT = 50.0  # |input| above this makes exp() overflow in float32 without max-subtraction


def explain(expected: Any, got: Any, inputs: dict[str, Any], compare: Any = None) -> str | None:
    """The first analyser's finding for this failing case, or None."""
    if _same(expected, got):
        return None
    plain_inputs = {k: _array(v) for k, v in inputs.items()}
    for analyser in ANALYSERS:
        try:
            found = analyser(expected, got, plain_inputs)
        except (ValueError, TypeError, IndexError, FloatingPointError):
            continue  # an analyser that cannot read this output has nothing to say
        if found:
            return found
    return None


# --- helpers -----------------------------------------------------------------------------------


def _array(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    return value


def _numeric(a: Any) -> bool:
    return isinstance(a, np.ndarray) and a.dtype.kind in "biuf" and a.size > 0


def _close(a: np.ndarray, b: np.ndarray) -> bool:
    if a.shape != b.shape:
        return False
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    return bool(np.allclose(b64, a64, rtol=RTOL, atol=ATOL, equal_nan=True))


def _same(expected: Any, got: Any) -> bool:
    if isinstance(expected, np.ndarray) and isinstance(got, np.ndarray):
        return expected.dtype == got.dtype and _close(expected, got)
    try:
        return bool(type(expected) is type(got) and expected == got)
    except (ValueError, TypeError):
        return False


def _both_arrays(expected: Any, got: Any) -> bool:
    return _numeric(expected) and _numeric(got)


def _finite(a: np.ndarray) -> bool:
    return bool(np.isfinite(a.astype(np.float64)).all())


# --- the analysers --------------------------------------------------------------------------------


def dtype_only(expected: Any, got: Any, inputs: dict[str, Any]) -> str | None:
    """Right values, wrong dtype."""
    if not _both_arrays(expected, got) or expected.shape != got.shape:
        return None
    if expected.dtype != got.dtype and _close(expected, got):
        return tr("the values are right, only the dtype differs: return {expected}, not {got} "
                  "(convert with .to(torch.{expected})).", expected=str(expected.dtype),
                  got=str(got.dtype))
    return None


def shape_only(expected: Any, got: Any, inputs: dict[str, Any]) -> str | None:
    """Right values in the right order, wrong shape (a missing or extra axis of size 1 ...)."""
    if not _both_arrays(expected, got) or expected.shape == got.shape:
        return None
    if expected.ndim == got.ndim and permuted_axes(expected, got, inputs):
        return None  # axes in another order: permuted_axes names it (a transpose)
    if expected.size == got.size and _close(expected, got.reshape(expected.shape)):
        return tr("the values are right and in order, only the shape differs: {got} instead of "
                  "{expected} (an axis of size 1 added or dropped, or a reshape too many).",
                  got=tuple(got.shape), expected=tuple(expected.shape))
    return None


def permuted_axes(expected: Any, got: Any, inputs: dict[str, Any]) -> str | None:
    """The axes in another order: transposed (two axes swapped) or any permutation."""
    if not _both_arrays(expected, got) or expected.ndim < 2 or expected.ndim > 5:
        return None
    for order in itertools.permutations(range(expected.ndim)):
        if order == tuple(range(expected.ndim)):
            continue
        moved = np.transpose(expected, order)
        if moved.shape != got.shape or _close(moved, expected) or not _close(moved, got):
            continue
        swapped = [i for i, j in enumerate(order) if i != j]
        if len(swapped) == 2:
            return tr("your output is the expected one with axes {a} and {b} swapped (a "
                      "transpose too many or too few; .T on a 3-D or 4-D tensor reverses all "
                      "axes: use .transpose(-2, -1)).", a=swapped[0], b=swapped[1])
        return tr("your output is the expected one with its axes in the order {order}: "
                  "permute or transpose them back.", order=order)
    return None


def reordered_along_axis(expected: Any, got: Any, inputs: dict[str, Any]) -> str | None:
    """Right slices, wrong order along one axis (reversed, rolled, permuted)."""
    if not _both_arrays(expected, got) or expected.shape != got.shape:
        return None
    for axis in range(expected.ndim):
        n = expected.shape[axis]
        if n < 2:
            continue
        e, g = np.moveaxis(expected, axis, 0), np.moveaxis(got, axis, 0)
        mapping = []
        for k in range(n):
            match = [j for j in range(n) if _close(e[j], g[k])]
            if not match:
                break
            mapping.append(match[0] if k not in match else k)
        if len(mapping) == n and sorted(mapping) != mapping and sorted(mapping) == list(range(n)):
            if mapping == list(range(n))[::-1]:
                return tr("the items along axis {axis} are in reverse order.", axis=axis)
            return tr("the right items, in the wrong order along axis {axis} (item {k} holds "
                      "what belongs at {j}).", axis=axis,
                      k=next(k for k, j in enumerate(mapping) if k != j),
                      j=next(j for k, j in enumerate(mapping) if k != j))
    return None


def shifted_by_one(expected: Any, got: Any, inputs: dict[str, Any]) -> str | None:
    """The output shifted by one position along an axis (off by one in a loop or a mask)."""
    if not _both_arrays(expected, got) or expected.shape != got.shape:
        return None
    for axis in range(expected.ndim):
        n = expected.shape[axis]
        if n < 3:
            continue
        e, g = np.moveaxis(expected, axis, 0), np.moveaxis(got, axis, 0)
        if _close(e[1:], e[:-1]):
            continue  # constant along this axis: a shift changes nothing
        if _close(g[1:], e[:-1]):
            return tr("your output is shifted by one position along axis {axis}: item i holds "
                      "what belongs at i - 1 (an index off by one).", axis=axis)
        if _close(g[:-1], e[1:]):
            return tr("your output is shifted by one position along axis {axis}: item i holds "
                      "what belongs at i + 1 (an index off by one).", axis=axis)
    return None


def constant_factor(expected: Any, got: Any, inputs: dict[str, Any]) -> str | None:
    """``got = c * expected`` for one constant c: a scale applied wrongly, or a flipped sign."""
    if not _both_arrays(expected, got) or expected.shape != got.shape:
        return None
    if not (_finite(expected) and _finite(got)) or expected.dtype.kind not in "f":
        return None
    e, g = expected.astype(np.float64).ravel(), got.astype(np.float64).ravel()
    norm = float(e @ e)
    if norm == 0 or np.count_nonzero(e) < 2:
        return None
    c = float(e @ g) / norm
    if abs(c - 1) < 1e-3 or not np.allclose(g, c * e, rtol=1e-3, atol=1e-5):
        return None
    if abs(c + 1) < 1e-3:
        return tr("your output has the right size but the opposite sign everywhere: a sign "
                  "is flipped (a - b instead of b - a?).")
    return tr("your output is the expected one times {factor}{named}: a scale is applied "
              "wrongly (multiplied instead of divided, or the wrong constant).",
              factor=f"{c:.4g}", named=_name_factor(c, inputs))


def _name_factor(c: float, inputs: dict[str, Any]) -> str:
    """`` (= sqrt(8))`` when c is a simple function of a size found in the inputs."""
    sizes = sorted({int(s) for v in inputs.values() if isinstance(v, np.ndarray)
                    for s in v.shape if s > 1} | {int(v) for v in inputs.values()
                                                  if type(v) is int and v > 1})
    for n in sizes:
        for text, value in ((f"sqrt({n})", math.sqrt(n)), (f"1/sqrt({n})", 1 / math.sqrt(n)),
                            (f"{n}", float(n)), (f"1/{n}", 1 / n)):
            if abs(c - value) <= 1e-3 * abs(value):
                return f" (= {text})"
    return ""


def unchanged_input(expected: Any, got: Any, inputs: dict[str, Any]) -> str | None:
    """The output is one of the inputs, unchanged: an operation's result was thrown away."""
    if not _numeric(got):
        return None
    for name, value in inputs.items():
        if not (_numeric(value) and value.shape == got.shape and _close(value, got)):
            continue
        if _numeric(expected) and expected.shape == got.shape and _close(value, expected):
            continue  # the input is the right answer here: nothing was thrown away
        return tr("your output is the input {name}, unchanged: a result was computed and "
                  "thrown away (e.g. scores.masked_fill(...) without keeping what it "
                  "returns), or the step that changes it is missing.", name=name)
    return None


def not_normalised(expected: Any, got: Any, inputs: dict[str, Any]) -> str | None:
    """Probabilities whose rows do not sum to 1, or that sum to 1 along another axis."""
    if not _both_arrays(expected, got) or expected.shape != got.shape or expected.ndim < 1:
        return None
    e = expected.astype(np.float64)
    with np.errstate(invalid="ignore"):
        if not (_finite(e) and (e >= 0).all() and np.allclose(e.sum(-1), 1, atol=1e-4)):
            return None
        g = got.astype(np.float64)
        if np.allclose(g.sum(-1), 1, atol=1e-4, equal_nan=False):
            return None
        for axis in range(expected.ndim - 1):
            if expected.shape[axis] > 1 and np.allclose(g.sum(axis), 1, atol=1e-4):
                return tr("your probabilities sum to 1 along axis {axis}, not along the last "
                          "axis: softmax over the wrong dimension (use dim=-1).", axis=axis)
    return tr("the rows of your output do not sum to 1, but they are probabilities: "
              "normalise over the last axis (a softmax or a division is missing or wrong).")


def overflow_on_large_inputs(expected: Any, got: Any, inputs: dict[str, Any]) -> str | None:
    """NaN or inf where the expected output is finite, with large inputs: no max-subtraction."""
    if not _both_arrays(expected, got) or expected.shape != got.shape:
        return None
    bad = ~np.isfinite(got.astype(np.float64)) & np.isfinite(expected.astype(np.float64))
    if not bad.any():
        return None
    largest = max((float(np.abs(v[np.isfinite(v)]).max()) for v in inputs.values()
                   if _numeric(v) and v.dtype.kind == "f" and np.isfinite(v).any()), default=0.0)
    if largest < LARGE_INPUT:
        return None
    return tr("your output has NaN or inf where the expected one is finite, and this case has "
              "large inputs (up to {largest}): exp() overflows. Subtract the row's maximum "
              "before exp (softmax is unchanged by it).", largest=f"{largest:.4g}")


def wrong_layout(expected: Any, got: Any, inputs: dict[str, Any]) -> str | None:
    """The right values, arranged differently: a reshape without a transpose, interleaved or
    strided heads."""
    if not _both_arrays(expected, got) or expected.size != got.size or expected.size < 4:
        return None
    if expected.shape == got.shape and _close(expected, got):
        return None
    e = np.sort(expected.astype(np.float64).ravel())
    g = np.sort(got.astype(np.float64).ravel())
    if not np.allclose(g, e, rtol=RTOL, atol=ATOL, equal_nan=True):
        return None
    if np.unique(np.round(e, 5)).size < max(4, e.size // 4):
        return None  # too many repeated values to tell an arrangement apart
    return tr("your output holds exactly the right values, but arranged differently: a "
              "reshape or view without the transpose it needs, or heads/columns split in "
              "another layout (interleaved or strided instead of blocks).")


def missing_bias(expected: Any, got: Any, inputs: dict[str, Any]) -> str | None:
    """``expected - got`` is a bias vector from the inputs, broadcast: the bias is missing
    (or, with the opposite sign, added twice)."""
    if not _both_arrays(expected, got) or expected.shape != got.shape or expected.ndim < 1:
        return None
    if expected.dtype.kind != "f" or not (_finite(expected) and _finite(got)):
        return None
    diff = expected.astype(np.float64) - got.astype(np.float64)
    for name, value in inputs.items():
        if not (_numeric(value) and value.ndim == 1 and value.shape[0] == expected.shape[-1]):
            continue
        bias = value.astype(np.float64)
        if not np.abs(bias).max() > 1e-6:
            continue
        if np.allclose(diff, np.broadcast_to(bias, diff.shape), rtol=1e-3, atol=1e-4):
            return tr("your output is off by exactly {name}: that bias is not added.", name=name)
        if np.allclose(-diff, np.broadcast_to(bias, diff.shape), rtol=1e-3, atol=1e-4):
            return tr("your output is off by exactly {name}: that bias is added twice.",
                      name=name)
    return None


def sequence_items(expected: Any, got: Any, inputs: dict[str, Any]) -> str | None:
    """A sequence with one item too many or too few: the first or last dropped, an extra one,
    an off-by-one length."""
    if isinstance(expected, np.ndarray) and isinstance(got, np.ndarray):
        if expected.ndim != 1 or got.ndim != 1:
            return None
        expected, got = expected.tolist(), got.tolist()
    if not (isinstance(expected, list) and isinstance(got, list)) or expected == got:
        return None
    if len(got) == len(expected) - 1:
        if got == expected[1:]:
            return tr("the first item is missing from your output (a loop or slice that "
                      "starts one too late).")
        if got == expected[:-1]:
            return tr("the last item is missing from your output (a loop or range that stops "
                      "one too early).")
        at = next((i for i in range(len(got)) if got[i] != expected[i]), len(got))
        if got[at:] == expected[at + 1:]:
            return tr("your output misses one item, at position {i} (expected {item}).",
                      i=at, item=repr(expected[at]))
    if len(got) == len(expected) + 1:
        if got[1:] == expected:
            return tr("your output has an extra item at the start.")
        if got[:-1] == expected:
            return tr("your output has an extra item at the end (a loop or range that goes "
                      "one step too far).")
        at = next((i for i in range(len(expected)) if got[i] != expected[i]), len(expected))
        if got[at + 1:] == expected[at:]:
            return tr("your output has one extra item, at position {i} ({item}).",
                      i=at, item=repr(got[at]))
    if got and len(got) != len(expected) and all(x in expected for x in got):
        return tr("your output has {got} items where {expected} are expected; the items it "
                  "has are right ones: something stops too early or repeats.",
                  got=len(got), expected=len(expected))
    return None


def localised(expected: Any, got: Any, inputs: dict[str, Any]) -> str | None:
    """Right everywhere except on one diagonal of the last two axes (a mask off by one
    diagonal), or at one index of one axis (the first or last position handled apart)."""
    if not _both_arrays(expected, got) or expected.shape != got.shape or expected.ndim < 1:
        return None
    e, g = expected.astype(np.float64), got.astype(np.float64)
    with np.errstate(invalid="ignore"):
        bad = ~np.isclose(g, e, rtol=RTOL, atol=ATOL, equal_nan=True)
    if not bad.any() or bad.all():
        return None
    if expected.ndim >= 2 and expected.shape[-1] == expected.shape[-2] > 2:
        rows, cols = np.nonzero(bad.reshape(-1, *bad.shape[-2:]).any(0))
        offsets = set((cols - rows).tolist())
        if len(offsets) == 1:
            return tr("your output is wrong only on the diagonal j - i = {d} of the last two "
                      "axes and right elsewhere: a mask or a loop bound off by one diagonal "
                      "(tril/triu's diagonal=, or < versus <=).", d=offsets.pop())
    for axis in range(expected.ndim):
        n = expected.shape[axis]
        hit = np.nonzero(np.moveaxis(bad, axis, 0).reshape(n, -1).any(1))[0]
        if n > 2 and hit.size == 1:
            return tr("your output is wrong only at index {k} of axis {axis} (of {n}) and right "
                      "elsewhere: that position is handled apart, or a loop misses it.",
                      k=int(hit[0]), axis=axis, n=n)
    return None


ANALYSERS: tuple[Analyser, ...] = (
    dtype_only, shape_only, unchanged_input, overflow_on_large_inputs, not_normalised,
    constant_factor, missing_bias, permuted_axes, shifted_by_one, reordered_along_axis,
    *KIND_ANALYSERS,  # analyse_kinds.py: sorted values, broadcasts, offsets, parts, lengths
    wrong_layout, localised, sequence_items,
    *VALUE_ANALYSERS,  # analyse_values.py: empty pieces of text, values nearly right
)
