"""Plain data: what may cross from the learner's process to the grader, and what a
learner's function must return.

Plain data is JSON values (None, bool, int, float, str, lists, dicts with string keys) and
numpy arrays of numbers. Arrays travel in an ``.npz`` file; in the JSON they are
``{"__array__": key}``. Like ``calling.py``, this module also runs in the grader's sandbox,
loaded from its file path without the ``gpt2course`` package: it imports nothing from the
course, only the standard library, numpy and torch.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

ARRAY_KEY = "__array__"
NUMERIC_KINDS = "biufc"  # bool, signed, unsigned, float, complex: never objects
# numpy's own scalar types of bools, integers of every width and floats up to float64:
# ``.item()`` gives the Python bool, int or float (bytes(np.uint8s) and ids in an np.int16
# are as good as ints).
NUMPY_SCALARS = frozenset(np.dtype(code).type for code in
                          "?" + np.typecodes["AllInteger"] + "efd")
# A tuple subclass that keeps every one of these from tuple reads and compares as a tuple
# (a namedtuple, typing.NamedTuple): its items are what a plain tuple of them would hold.
TUPLE_METHODS = ("__iter__", "__len__", "__getitem__", "__contains__", "__eq__", "__ne__",
                 "__hash__", "__lt__", "__le__", "__gt__", "__ge__")


class NotPlain(TypeError):
    """The learner returned what the exercise does not take: a numpy array where a tensor
    is expected, a tensor subclass, None, an object of their own ...

    ``record`` says it as JSON, for the judge to word in the learner's language
    (``core.returned_problem``): ``{"got": a kind (``KINDS``), "type": the value's type,
    "where": "" or the path inside the value ("[2]"), "want": the contract there or None}``.
    """

    def __init__(self, got: str, type_name: str, where: str = "", want: Any = None) -> None:
        self.record = {"got": got, "type": type_name, "where": where, "want": want}
        super().__init__(
            f"Your code returned {got} ({type_name}){' at ' + where if where else ''}. "
            "Return a torch.Tensor (not a subclass), a number, a string, or a list or "
            "tuple of these, as the exercise asks."
        )


# --- plain data -------------------------------------------------------------------------


def to_plain(value: Any) -> Any:
    """Tensors become numpy arrays; lists, tuples, dicts and JSON scalars are kept.

    Only the exact types are accepted: a subclass of ``torch.Tensor``, ``int`` or ``list``
    could change how it compares or prints, so it is refused (``NotPlain``), as is a tensor
    numpy cannot hold (bfloat16, sparse): reading it as float32 would hide its dtype. Two
    exceptions change nothing of that: numpy's scalar types (``NUMPY_SCALARS``) become
    Python numbers, and a namedtuple (``named_tuple``) a list of its items.
    """
    kind = type(value)
    if kind is torch.Tensor:
        try:
            return value.detach().cpu().clone().resolve_conj().resolve_neg().numpy()
        except (TypeError, RuntimeError):
            raise NotPlain("tensor unreadable", _tensor_name(value)) from None
    if kind is np.ndarray:
        if value.dtype.kind not in NUMERIC_KINDS:
            raise NotPlain("numpy array", f"numpy.ndarray of {value.dtype}")
        return value.copy()
    if value is None or kind in (bool, int, float, str):
        return value
    if kind in NUMPY_SCALARS:
        return value.item()
    if kind in (list, tuple) or named_tuple(value):
        return [to_plain(v) for v in value]
    if kind is dict:
        if not all(type(k) is str for k in value):
            raise NotPlain("dict keys", "dict")
        return {k: to_plain(v) for k, v in value.items()}
    raise NotPlain(kind_of(value), _type_name(value))


# --- what a learner's function must return ---------------------------------------------------

# A contract ("spec") is plain JSON, so that it travels to the sandbox with the cases:
# "tensor" (exactly torch.Tensor; shape and dtype are the comparison's job), "int" (a Python
# int or a numpy integer, never a bool), "float", "bool", "str", "none", "any",
# {"seq": spec} (a list or tuple, each item meeting spec), {"items": [spec, ...]} (a list or
# tuple whose i-th item meets the i-th spec), {"dict": spec} (a dict with str
# keys, each value meeting spec), {"one of": [spec, ...]}.
KINDS = ("tensor", "tensor subclass", "tensor unreadable", "numpy array", "numpy scalar",
         "int", "float", "bool", "str", "none", "list", "tuple", "dict", "dict keys", "object")


def kind_of(value: Any) -> str:
    """Which of ``KINDS`` a value is."""
    kind = type(value)
    if kind is torch.Tensor:
        return "tensor"
    if isinstance(value, torch.Tensor):
        return "tensor subclass"
    if isinstance(value, np.ndarray):
        return "numpy array"
    if isinstance(value, np.generic):
        return "numpy scalar"
    simple = {type(None): "none", bool: "bool", int: "int", float: "float", str: "str",
              list: "list", tuple: "tuple", dict: "dict"}
    return "tuple" if named_tuple(value) else simple.get(kind, "object")


def named_tuple(value: Any) -> bool:
    """Whether ``value`` is of a tuple subclass that reads and compares exactly as a tuple
    (``collections.namedtuple``, ``typing.NamedTuple``): the lesson's "return a tuple"
    holds for it. A subclass that redefines any of ``TUPLE_METHODS`` could read or compare
    otherwise, and stays an object of its own; so do torch's results (``logits.max(-1)``
    gives values and indices: the words for an object name the type, torch.return_types)."""
    kind = type(value)
    return (kind is not tuple and isinstance(value, tuple)
            and not kind.__module__.startswith("torch")
            and all(getattr(kind, name) is getattr(tuple, name) for name in TUPLE_METHODS))


def spec_of(expected: Any) -> Any:
    """The contract that the reference's plain output (``to_plain``) stands for: arrays were
    tensors (every reference computes in torch), lists were lists or tuples."""
    if isinstance(expected, np.ndarray):
        return "tensor"
    if isinstance(expected, list):
        items = [spec_of(v) for v in expected]
        if all(i == items[0] for i in items):
            return {"seq": items[0] if items else "any"}
        return {"items": items}  # a fixed group, e.g. (pair, count)
    if isinstance(expected, dict):
        values = [spec_of(v) for v in expected.values()]
        return {"dict": values[0] if values and all(v == values[0] for v in values) else "any"}
    return {type(None): "none", bool: "bool", int: "int", float: "float",
            str: "str"}.get(type(expected), "any")


def check_returns(value: Any, spec: Any, where: str = "") -> Any:
    """``value`` if it meets ``spec``; else ``NotPlain`` naming what it is and where.

    A value the comparison could be fooled by (a tensor subclass, an object with its own
    ``__eq__``, a numpy array passed off as a tensor) never meets a contract."""
    if spec is None or spec == "any":
        return value  # to_plain still refuses what cannot be compared safely
    got = kind_of(value)
    sequence = isinstance(spec, dict) and ("seq" in spec or "items" in spec)
    if (got == "tensor" and sequence) or (got in ("list", "tuple") and spec == "tensor"):
        return value  # a tensor for a sequence or back: the comparison names it, with hints
    if isinstance(spec, dict) and "one of" in spec:
        for option in spec["one of"]:
            try:
                return check_returns(value, option, where)
            except NotPlain:
                continue
        raise NotPlain(got, _type_name(value), where, spec)
    if isinstance(spec, dict) and "seq" in spec and got in ("list", "tuple"):
        for i, item in enumerate(value):
            check_returns(item, spec["seq"], f"{where}[{i}]")
        return value
    if isinstance(spec, dict) and "items" in spec and got in ("list", "tuple"):
        try:
            for i, (item, item_spec) in enumerate(zip(value, spec["items"], strict=False)):
                check_returns(item, item_spec, f"{where}[{i}]")
        except NotPlain as err:
            err.record["swapped"] = _meets_reversed(value, spec["items"])
            raise
        return value  # a wrong length is the comparison's to report
    if isinstance(spec, dict) and "dict" in spec and got == "dict":
        for key, item in value.items():
            if type(key) is not str:
                raise NotPlain("dict keys", "dict", where, spec)
            check_returns(item, spec["dict"], f"{where}[{key!r}]")
        return value
    if got == "tensor" and spec == "tensor" and not _readable(value):
        raise NotPlain("tensor unreadable", _tensor_name(value), where, spec)
    if got == spec or (spec == "int" and got == "numpy scalar"
                       and isinstance(value, np.integer)):
        return value
    if spec == "float" and got == "numpy scalar" and isinstance(value, np.floating):
        return value
    raise NotPlain(got, _type_name(value), where, spec)


def _meets_reversed(value: Any, specs: list) -> bool:
    """Whether ``value``'s items, in reverse order, meet ``specs``: a pair returned the wrong
    way round, (count, pair) for (pair, count)."""
    flipped = list(value)[::-1]
    try:
        for item, item_spec in zip(flipped, specs, strict=False):
            check_returns(item, item_spec)
    except NotPlain:
        return False
    return len(flipped) >= 2


def _readable(tensor: torch.Tensor) -> bool:
    """Whether numpy can hold the tensor as it is (not bfloat16, not sparse, not on "meta")."""
    if tensor.layout != torch.strided or tensor.device.type == "meta":
        return False
    try:
        torch.empty(0, dtype=tensor.dtype).numpy()
    except (TypeError, RuntimeError):
        return False
    return True


def _type_name(value: Any) -> str:
    kind = type(value)
    if isinstance(value, np.ndarray):
        return f"numpy.ndarray of {value.dtype}"
    module = kind.__module__
    return kind.__qualname__ if module == "builtins" else f"{module}.{kind.__qualname__}"


def _tensor_name(value: torch.Tensor) -> str:
    return f"{_type_name(value)} of {value.dtype}, layout {value.layout}"


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
