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

import copy
import inspect
import math
import os
import traceback
from collections.abc import Callable
from types import SimpleNamespace
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


class LearnerError(Exception):
    """The learner's code raised; ``text`` is their traceback, package frames removed."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


class InputChanged(Exception):
    """The learner's code changed, in place, inputs the exercise says not to change."""

    def __init__(self, names: list[str]) -> None:
        super().__init__(", ".join(names))
        self.names = list(names)


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


# --- calling the learner's code -----------------------------------------------------------


Expect = Callable[[Any], Any]  # check_returns with the case's contract: raises or passes


def call_function(fn: Callable[..., Any], inputs: dict[str, Any],
                  expect: Expect = lambda v: v) -> Any:
    """The default way in: ``fn(**inputs)``, as the exercise's signature names them (or by
    position, when the learner named their parameters otherwise: ``as_written``)."""
    return expect(as_written(fn, inputs))


def as_written(fn: Callable[..., Any], inputs: dict[str, Any],
               signature_of: Callable[..., Any] | None = None) -> Any:
    """``fn(**inputs)``; or, when ``fn`` names some of its parameters otherwise (``def
    mlp(x, w_fc, b_fc, w_proj, b_proj)``, ``def sample_token(logits, gen, temp=1.0, k=None,
    p=None)``), the fewest leading inputs by position and the rest by name: a case's inputs
    are in the order of the notebook's signature. When nothing binds (a parameter missing
    or extra), the keyword call raises the learner's own error.
    ``signature_of``: the function whose signature ``fn`` has (a module's ``forward``)."""
    try:
        signature = inspect.signature(signature_of or fn)
    except (TypeError, ValueError):
        return fn(**inputs)
    values, names = list(inputs.values()), list(inputs)
    for n in range(len(values) + 1):
        args, kwargs = values[:n], dict(zip(names[n:], values[n:], strict=True))
        try:
            signature.bind(*args, **kwargs)
        except TypeError:
            continue
        return fn(*args, **kwargs)
    return fn(**inputs)


def build_module(cls: Callable[..., Any], inputs: dict[str, Any],
                 expect: Expect = lambda v: v) -> Any:
    """For a class exercise: ``cls(**init)``, load ``state`` strictly, run it on ``args``.

    The learner's class must name its parameters as the reference does (``c_fc.weight``
    ...), which is what lets GPT-2's published weights load into it later.
    """
    module = _built(cls, inputs)
    with torch.no_grad():
        return expect(as_written(module, inputs["args"], module.forward))


def _built(cls: Callable[..., Any], inputs: dict[str, Any]) -> Any:
    module = as_written(cls, inputs["init"])
    load_strictly(module, inputs["state"])
    module.eval()
    return module


def load_strictly(module: Any, state: dict[str, Any]) -> None:
    """``module.load_state_dict(state, strict=True)``, except that ``state`` (GPT-2's
    parameters) need not hold a parameter tied to one it loads (the same tensor under a
    second name, as nanoGPT ties ``lm_head.weight = wte.weight``) nor the learner's own
    buffers (nanoGPT's causal mask ``attn.bias``): they keep their values. Any other
    missing or unexpected name raises PyTorch's own error, which names them."""
    found = module.load_state_dict(state, strict=False)
    own = module.state_dict(keep_vars=True)
    loaded = {id(own[name]) for name in state if name in own}
    buffers = {name for name, _ in module.named_buffers()}
    untied = [name for name in found.missing_keys
              if id(own[name]) not in loaded and name not in buffers]
    if untied or found.unexpected_keys:
        module.load_state_dict(state, strict=True)


def build_module_parameters(cls: Callable[..., Any], inputs: dict[str, Any],
                            expect: Expect = lambda v: v) -> Any:
    """Like ``build_module``, and also which names the module learns: ``{"output": what it
    returns, "parameters": its sorted parameter names}``. (Weights kept as buffers load and
    compute the same, but an optimiser would never train them.)"""
    module = _built(cls, inputs)
    with torch.no_grad():
        output = expect(as_written(module, inputs["args"], module.forward))
    return {"output": output, "parameters": sorted(n for n, _ in module.named_parameters())}


def draw_samples(fn: Callable[..., Any], inputs: dict[str, Any],
                 expect: Expect = lambda v: v) -> Any:
    """For a sampler of one token per row: ``draws`` tokens for each row, with a seeded generator.

    Rows are drawn independently, so one call on the rows repeated ``draws`` times does
    the work of ``draws`` calls, much faster. Returns ``{"draws": (B, draws) ids, "again":
    the same from a second call with a generator seeded the same way}``, so the grader
    can check the frequencies and that a seed makes sampling repeatable; ``"second"``: a
    second call with the first call's generator (it must not repeat the first). When the call
    does not return one id per row, returns ``{"first": what it returned, "rows": B}``.
    """
    args, draws, seed = inputs["args"], int(inputs["draws"]), int(inputs["seed"])
    rows = {k: v.repeat(draws, *[1] * (v.dim() - 1)) for k, v in args.items()
            if type(v) is torch.Tensor}

    given = {**args, **rows}
    head, *others = given

    def run(generator: torch.Generator | None = None) -> Any:
        generator = generator or torch.Generator().manual_seed(seed)
        # In the notebook's order, sample_token(logits, generator, temperature, ...), so
        # that parameters the learner renamed can go by position (``as_written``).
        call = {head: given[head], "generator": generator, **{k: given[k] for k in others}}
        return expect(as_written(fn, call)), generator

    first, generator = run()
    batch = next(iter(rows.values())).size(0)
    if type(first) is not torch.Tensor or tuple(first.shape) != (batch,):
        return {"first": first, "rows": batch}
    second = run(generator)[0]  # the same generator again: its stream must go on
    return {"draws": first.reshape(draws, -1).T, "again": run()[0].reshape(draws, -1).T,
            "second": second.reshape(draws, -1).T}


class TinyLM(torch.nn.Module):
    """A tiny stand-in for GPT-2 in the generation exercises, built from two tables.

    It is called like GPT-2: ``model(idx)`` with ids ``(B, T)`` returns ``(logits, None)``,
    logits ``(B, T, vocab_size)``, and ``model.config`` has ``n_positions`` and
    ``vocab_size``. The logits at position t depend on token t and on the mean of tokens
    0..t, so the model needs the whole sequence, as GPT-2 does.
    """

    def __init__(self, table: torch.Tensor, context: torch.Tensor, n_positions: int) -> None:
        super().__init__()
        self.register_buffer("table", table)
        self.register_buffer("context", context)
        self.config = SimpleNamespace(n_positions=int(n_positions), vocab_size=table.size(0))

    def forward(self, idx: torch.Tensor, targets: Any = None, *, cache: Any = None,
                last_only: bool = False) -> tuple[torch.Tensor, None]:
        if type(idx) is not torch.Tensor or idx.dtype != torch.long or idx.dim() != 2:
            raise ValueError("the model needs token ids as a torch.long tensor of shape (B, T).")
        if cache is not None:
            raise ValueError("this small model has no KV cache; call it as model(idx).")
        if not 1 <= idx.size(1) <= self.config.n_positions:
            raise ValueError(f"the model got {idx.size(1)} tokens, but it reads 1 to "
                             f"n_positions = {self.config.n_positions}. Keep only the last "
                             "ones: idx[:, -model.config.n_positions:].")
        steps = torch.arange(1, idx.size(1) + 1, dtype=self.table.dtype).view(1, -1, 1)
        logits = self.table[idx] + self.context[idx].cumsum(dim=1) / steps
        return (logits[:, -1:] if last_only else logits), None


def tiny_lm(spec: dict[str, Any]) -> TinyLM:
    """The ``TinyLM`` that a case describes: ``{"table", "context", "n_positions"}``."""
    return TinyLM(spec["table"], spec["context"], spec["n_positions"])


def run_generation(fn: Callable[..., Any], inputs: dict[str, Any],
                   expect: Expect = lambda v: v) -> Any:
    """For a generation loop: ``fn(model, **args, generator=g)`` with a ``TinyLM`` model.

    ``g`` is a generator seeded with ``seed``; it is only passed when the case has one.
    A case with ``"repeat": True`` runs the loop three times (seed, the same seed, seed + 1)
    and returns ``{"shape", "same seed, same tokens", "another seed, other tokens"}``: a
    sampled loop cannot be compared token by token with the reference's.
    """
    args = dict(inputs["args"])
    if inputs.get("seed") is None:
        return expect(as_written(fn, {"model": tiny_lm(inputs["model"]), **args}))

    def run(seed: int) -> Any:  # parameters the learner renamed go by position (as_written)
        return expect(as_written(fn, {"model": tiny_lm(inputs["model"]), **args,
                                      "generator": torch.Generator().manual_seed(seed)}))

    out = run(int(inputs["seed"]))
    if not inputs.get("repeat") or type(out) is not torch.Tensor:
        return out
    again, other = run(int(inputs["seed"])), run(int(inputs["seed"]) + 1)
    return {"shape": list(out.shape), "same seed, same tokens": bool(torch.equal(out, again)),
            "another seed, other tokens": not torch.equal(out, other)}


ADAPTERS: dict[str, Callable[[Callable[..., Any], dict[str, Any], Expect], Any]] = {
    "call": call_function,
    "module": build_module,
    "module_parameters": build_module_parameters,
    "sample": draw_samples,
    "generate": run_generation,
}


def run_case(obj: Any, inputs: dict[str, Any], adapter: str = "call",
             must_not_modify: tuple[str, ...] | list[str] = (), returns: Any = None) -> Any:
    """Run the learner's ``obj`` on its own deep copy of one case's inputs; return plain data.

    Raises ``LearnerError`` with the learner's traceback when their code raises,
    ``NotPlain`` when it returns something that cannot be compared safely or that breaks
    the exercise's contract ``returns`` (see ``check_returns``; None: any plain value), and
    ``InputChanged`` when it changed one of ``must_not_modify`` (names of inputs, dotted
    for nested ones: ``"args.logits"``) in place.
    """
    given = to_torch(fresh(inputs))
    before = {name: fresh(_lookup(given, name)) for name in must_not_modify}
    try:
        with torch.no_grad():
            result = ADAPTERS[adapter](obj, given, _expecting(returns))
    except NotPlain:
        raise
    except Exception as err:  # noqa: BLE001 - any error in their code is theirs to see
        raise LearnerError(learner_traceback(err)) from None
    changed = [name for name, value in before.items()
               if not _same(value, _lookup(given, name))]
    if changed:
        raise InputChanged(changed)
    return to_plain(result)


def _expecting(spec: Any) -> Expect:
    def expect(value: Any) -> Any:
        return check_returns(value, spec)

    return expect


def fresh(value: Any) -> Any:
    """A copy of a case's inputs that shares nothing mutable with them (faster than
    ``copy.deepcopy`` on long lists of merges)."""
    kind = type(value)
    if kind is torch.Tensor:
        return value.clone()
    if kind is np.ndarray:
        return value.copy()
    if kind is list:
        return [fresh(v) for v in value]
    if kind is tuple:
        return tuple(fresh(v) for v in value)
    if kind is dict:
        return {k: fresh(v) for k, v in value.items()}
    if value is None or kind in (bool, int, float, str):
        return value
    return copy.deepcopy(value)


def _lookup(inputs: dict[str, Any], dotted: str) -> Any:
    value: Any = inputs
    for part in dotted.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _same(before: Any, after: Any) -> bool:
    if isinstance(before, torch.Tensor):
        return (isinstance(after, torch.Tensor) and before.shape == after.shape
                and before.dtype == after.dtype and torch.equal(
                    torch.nan_to_num(before, nan=0.0) if before.is_floating_point() else before,
                    torch.nan_to_num(after, nan=0.0) if after.is_floating_point() else after))
    try:
        return bool(before == after)
    except Exception:  # noqa: BLE001 - values that cannot be compared are not checked
        return True


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
