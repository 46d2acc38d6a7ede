"""Call a learner's function on one case and turn what it returns into plain data.

This module runs in two places: in the learner's own notebook (``check``) and in the
grader's sandbox process. In the sandbox it is loaded from its file path, without the
``gpt2course`` package, so it must import nothing from the course: only the standard
library, numpy and torch.

Plain data is what may cross from the learner's process to the grader: JSON values
(None, bool, int, float, str, lists, dicts with string keys) and numpy arrays of
numbers. Arrays travel in an ``.npz`` file; in the JSON they are ``{"__array__": key}``.
"""

from __future__ import annotations

import math
import os
import traceback
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

ARRAY_KEY = "__array__"
NUMERIC_KINDS = "biufc"  # bool, signed, unsigned, float, complex: never objects


class NotPlain(TypeError):
    """The learner returned something that is not a tensor, an array or plain data."""

    def __init__(self, what: str) -> None:
        super().__init__(
            f"Your code returned {what}. Return a torch.Tensor (not a subclass), "
            "a number, a string, or a list or tuple of these."
        )


class LearnerError(Exception):
    """The learner's code raised; ``text`` is their traceback, package frames removed."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


# --- plain data -------------------------------------------------------------------------


def to_plain(value: Any) -> Any:
    """Tensors become numpy arrays; lists, tuples, dicts and JSON scalars are kept.

    Only the exact types are accepted: a subclass of ``torch.Tensor``, ``int`` or ``list``
    could change how it compares or prints, so it is refused.
    """
    kind = type(value)
    if kind is torch.Tensor:
        return value.detach().cpu().clone().resolve_conj().resolve_neg().numpy()
    if kind is np.ndarray:
        if value.dtype.kind not in NUMERIC_KINDS:
            raise NotPlain(f"a numpy array of {value.dtype} (only numbers are accepted)")
        return value.copy()
    if value is None or kind in (bool, int, float, str):
        return value
    if kind in (np.bool_, np.int32, np.int64, np.float32, np.float64):
        return value.item()
    if kind in (list, tuple):
        return [to_plain(v) for v in value]
    if kind is dict:
        if not all(type(k) is str for k in value):
            raise NotPlain("a dict whose keys are not all strings")
        return {k: to_plain(v) for k, v in value.items()}
    raise NotPlain(f"an object of type {kind.__module__}.{kind.__qualname__}")


def pack(value: Any, arrays: dict[str, np.ndarray], prefix: str) -> Any:
    """Plain value -> JSON; each array moves into ``arrays`` under a key starting with prefix."""
    if isinstance(value, np.ndarray):
        key = f"{prefix}{len(arrays)}"
        arrays[key] = value
        return {ARRAY_KEY: key}
    if isinstance(value, float) and not math.isfinite(value):
        return {"__float__": repr(value)}  # JSON has no NaN or inf
    if isinstance(value, list):
        return [pack(v, arrays, prefix) for v in value]
    if isinstance(value, dict):
        return {k: pack(v, arrays, prefix) for k, v in value.items()}
    return value


def unpack(value: Any, arrays: Any) -> Any:
    """Inverse of ``pack``: ``arrays`` maps keys to numpy arrays (a dict or an NpzFile)."""
    if isinstance(value, dict):
        if set(value) == {ARRAY_KEY}:
            return arrays[value[ARRAY_KEY]]
        if set(value) == {"__float__"}:
            return float(value["__float__"])
        return {k: unpack(v, arrays) for k, v in value.items()}
    if isinstance(value, list):
        return [unpack(v, arrays) for v in value]
    return value


def to_torch(value: Any) -> Any:
    """Arrays in a case's inputs become tensors: learners write torch code."""
    if isinstance(value, np.ndarray):
        return torch.from_numpy(value.copy())
    if isinstance(value, list):
        return [to_torch(v) for v in value]
    if isinstance(value, dict):
        return {k: to_torch(v) for k, v in value.items()}
    return value


# --- calling the learner's code -----------------------------------------------------------


def call_function(fn: Callable[..., Any], inputs: dict[str, Any]) -> Any:
    """The default way in: ``fn(**inputs)``, as the exercise's signature names them."""
    return fn(**inputs)


def build_module(cls: Callable[..., Any], inputs: dict[str, Any]) -> Any:
    """For a class exercise: ``cls(**init)``, load ``state`` strictly, run it on ``args``.

    The learner's class must name its parameters as the reference does (``c_fc.weight``
    ...), which is what lets GPT-2's published weights load into it later.
    """
    module = cls(**inputs["init"])
    module.load_state_dict(inputs["state"], strict=True)
    module.eval()
    with torch.no_grad():
        return module(**inputs["args"])


ADAPTERS: dict[str, Callable[[Callable[..., Any], dict[str, Any]], Any]] = {
    "call": call_function,
    "module": build_module,
}


def run_case(obj: Any, inputs: dict[str, Any], adapter: str = "call") -> Any:
    """Run the learner's ``obj`` on one case; return plain data.

    Raises ``LearnerError`` with the learner's traceback when their code raises, and
    ``NotPlain`` when it returns something that cannot be compared safely.
    """
    try:
        with torch.no_grad():
            result = ADAPTERS[adapter](obj, to_torch(inputs))
    except Exception as err:  # noqa: BLE001 - any error in their code is theirs to see
        raise LearnerError(learner_traceback(err)) from None
    return to_plain(result)


def learner_traceback(err: BaseException) -> str:
    """The traceback of an error, keeping only frames outside this package."""
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    frames = [
        f for f in traceback.extract_tb(err.__traceback__)
        if not os.path.abspath(f.filename).startswith(package + os.sep)
        and "torch" + os.sep not in f.filename
    ]
    lines = ["Traceback (your code):\n"] if frames else []
    lines += traceback.format_list(frames)
    lines += traceback.format_exception_only(type(err), err)
    return "".join(lines).rstrip()
