"""Call a learner's function on one case and turn what it returns into plain data.

This module runs in two places: in the learner's own notebook (``check``) and in the
grader's sandbox process. In the sandbox it is loaded from its file path, beside
``plain.py`` and without the ``gpt2course`` package, so it must import nothing else from
the course: only the standard library, numpy and torch.
"""

from __future__ import annotations

import copy
import inspect
import os
import traceback
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import numpy as np
import torch

try:  # in the package
    from .plain import NotPlain, check_returns, to_plain, to_torch
except ImportError:  # in the sandbox: a file beside this one, no package around it
    from plain import NotPlain, check_returns, to_plain, to_torch  # type: ignore[no-redef]


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
