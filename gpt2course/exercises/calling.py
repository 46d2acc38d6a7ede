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


class InputChanged(Exception):
    """The learner's code changed, in place, inputs the exercise says not to change."""

    def __init__(self, names: list[str]) -> None:
        super().__init__(", ".join(names))
        self.names = list(names)


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


def build_module_parameters(cls: Callable[..., Any], inputs: dict[str, Any]) -> Any:
    """Like ``build_module``, and also which names the module learns: ``{"output": what it
    returns, "parameters": its sorted parameter names}``. (Weights kept as buffers load and
    compute the same, but an optimiser would never train them.)"""
    module = cls(**inputs["init"])
    module.load_state_dict(inputs["state"], strict=True)
    module.eval()
    with torch.no_grad():
        output = module(**inputs["args"])
    return {"output": output, "parameters": sorted(n for n, _ in module.named_parameters())}


def draw_samples(fn: Callable[..., Any], inputs: dict[str, Any]) -> Any:
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

    def run(generator: torch.Generator | None = None) -> Any:
        generator = generator or torch.Generator().manual_seed(seed)
        return fn(**{**args, **rows}, generator=generator), generator

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


def run_generation(fn: Callable[..., Any], inputs: dict[str, Any]) -> Any:
    """For a generation loop: ``fn(model, **args, generator=g)`` with a ``TinyLM`` model.

    ``g`` is a generator seeded with ``seed``; it is only passed when the case has one.
    A case with ``"repeat": True`` runs the loop three times (seed, the same seed, seed + 1)
    and returns ``{"shape", "same seed, same tokens", "another seed, other tokens"}``: a
    sampled loop cannot be compared token by token with the reference's.
    """
    args = dict(inputs["args"])
    if inputs.get("seed") is None:
        return fn(tiny_lm(inputs["model"]), **args)

    def run(seed: int) -> Any:
        return fn(tiny_lm(inputs["model"]), **args,
                  generator=torch.Generator().manual_seed(seed))

    out = run(int(inputs["seed"]))
    if not inputs.get("repeat") or type(out) is not torch.Tensor:
        return out
    again, other = run(int(inputs["seed"])), run(int(inputs["seed"]) + 1)
    return {"shape": list(out.shape), "same seed, same tokens": bool(torch.equal(out, again)),
            "another seed, other tokens": not torch.equal(out, other)}


ADAPTERS: dict[str, Callable[[Callable[..., Any], dict[str, Any]], Any]] = {
    "call": call_function,
    "module": build_module,
    "module_parameters": build_module_parameters,
    "sample": draw_samples,
    "generate": run_generation,
}


def run_case(obj: Any, inputs: dict[str, Any], adapter: str = "call",
             must_not_modify: tuple[str, ...] | list[str] = ()) -> Any:
    """Run the learner's ``obj`` on its own deep copy of one case's inputs; return plain data.

    Raises ``LearnerError`` with the learner's traceback when their code raises,
    ``NotPlain`` when it returns something that cannot be compared safely, and
    ``InputChanged`` when it changed one of ``must_not_modify`` (names of inputs, dotted
    for nested ones: ``"args.logits"``) in place.
    """
    given = to_torch(fresh(inputs))
    before = {name: fresh(_lookup(given, name)) for name in must_not_modify}
    try:
        with torch.no_grad():
            result = ADAPTERS[adapter](obj, given)
    except Exception as err:  # noqa: BLE001 - any error in their code is theirs to see
        raise LearnerError(learner_traceback(err)) from None
    changed = [name for name, value in before.items()
               if not _same(value, _lookup(given, name))]
    if changed:
        raise InputChanged(changed)
    return to_plain(result)


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
