"""Forbidden operations under every spelling: found in the learner's code, refused at run time.

An exercise lists the functions it forbids (``Exercise.forbidden_functions``, e.g.
``torch.nn.functional.gelu``). The same operation is reachable under other names:
``torch._C._nn.gelu``, ``torch.ops.aten.gelu.default``, ``nn.GELU``, ``getattr(F, "gelu")``,
``from torch.nn.functional import gelu as g``, ``importlib.import_module(...)``. This module

- widens the list to those spellings (``forbidden_names``),
- scans source code with ``ast`` for any reference to one of them (``scan``): the grader
  scans the learner's solution cell, ``check`` the cell (or source) that defines the
  function, and both report a finding in the same words (``core.forbidden_message``),
- and replaces them with functions that raise while the learner's code runs
  (``refused``, used by ``check``; the grader's worker does the same from the list).
"""

from __future__ import annotations

import ast
import contextlib
import importlib
import os
from collections.abc import Iterator
from typing import Any

import torch

from .core import Exercise, Forbidden

# Where torch keeps one operation under the same name as the functional one.
OP_NAMESPACES = ("torch.nn.functional", "torch._C._nn", "torch.ops.aten", "torch",
                 "torch._C._VariableFunctions", "torch._VF")
# Module classes that do the same work as a forbidden function.
EQUIVALENT_CLASSES = {
    "gelu": ("torch.nn.GELU",),
    "embedding": ("torch.nn.Embedding",),
    "layer_norm": ("torch.nn.LayerNorm",),
    "native_layer_norm": ("torch.nn.LayerNorm",),
    "scaled_dot_product_attention": ("torch.nn.MultiheadAttention",),
    "one_hot": (),
    "softmax": ("torch.nn.Softmax",),
}
# What the notebooks' setup cells import; a learner's own import of the name wins.
NOTEBOOK_ALIASES = {"torch": "torch", "F": "torch.nn.functional", "nn": "torch.nn"}
_MODULE_PATHS = {"torch.nn.modules.activation": "torch.nn", "torch.nn.modules.sparse": "torch.nn",
                 "torch.nn.modules.normalization": "torch.nn", "torch.nn.modules": "torch.nn",
                 "torch.functional": "torch"}


def forbidden_names(exercise: Exercise) -> frozenset[str]:
    """Every dotted name under which the exercise's forbidden functions can be reached."""
    names = set(exercise.forbidden_functions)
    for dotted in exercise.forbidden_functions:
        op = dotted.rsplit(".", 1)[-1]
        if op[:1].islower():  # a function: the same op in torch's other namespaces
            names.update(f"{ns}.{op}" for ns in OP_NAMESPACES)
            names.update(EQUIVALENT_CLASSES.get(op, ()))
    return frozenset(names)


def scan(source: str, exercise: Exercise) -> list[Forbidden]:
    """Forbidden operations referenced in ``source`` (called or not), in source order.

    Unparsable source gives no findings: running it will report the syntax error.
    """
    names = forbidden_names(exercise)
    if not names:
        return []
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    return _Scanner(names, _aliases(tree)).run(tree)


def _aliases(tree: ast.AST) -> dict[str, str]:
    """Local name -> the dotted name it stands for, from the code's imports."""
    aliases = dict(NOTEBOOK_ALIASES)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.asname:
                    aliases[a.asname] = a.name
                else:
                    aliases[a.name.split(".")[0]] = a.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for a in node.names:
                aliases[a.asname or a.name] = f"{node.module}.{a.name}"
    return aliases


class _Scanner:
    def __init__(self, names: frozenset[str], aliases: dict[str, str]) -> None:
        self.names, self.aliases = names, aliases
        self.found: list[Forbidden] = []

    def run(self, tree: ast.AST) -> list[Forbidden]:
        for node in ast.walk(tree):
            dotted = self.resolve(node)
            if dotted and self.is_forbidden(dotted):
                self.found.append(Forbidden(ast.unparse(node), getattr(node, "lineno", 0)))
            self.strings_run(node)
        unique = {(f.line, f.spelled): f for f in self.found}
        return sorted(unique.values(), key=lambda f: (f.line, f.spelled))

    def is_forbidden(self, dotted: str) -> bool:
        for long, short in _MODULE_PATHS.items():
            if dotted.startswith(long + "."):
                dotted = short + dotted[len(long):]
        parts = dotted.split(".")
        return any(".".join(parts[:n]) in self.names for n in range(2, len(parts) + 1))

    def resolve(self, node: ast.AST) -> str | None:
        """The dotted name an expression stands for, when it can be known from the code."""
        if isinstance(node, ast.Name):
            return self.aliases.get(node.id)
        if isinstance(node, ast.Attribute):
            owner = self.resolve(node.value)
            return f"{owner}.{node.attr}" if owner else None
        if isinstance(node, ast.Call) and node.args:
            func = self.resolve(node.func) or getattr(node.func, "id", None)
            text = _constant_text(node.args[1]) if len(node.args) > 1 else None
            if func in ("getattr", "builtins.getattr") and text:
                owner = self.resolve(node.args[0])
                return f"{owner}.{text}" if owner else None
            module = _constant_text(node.args[0])
            if func in ("importlib.import_module", "__import__") and module:
                return module if func != "__import__" else module.split(".")[0]
        if isinstance(node, ast.Subscript):  # F.__dict__["gelu"], vars(F)["gelu"]
            key = _constant_text(node.slice)
            inner = node.value
            if isinstance(inner, ast.Attribute) and inner.attr == "__dict__":
                owner = self.resolve(inner.value)
            elif isinstance(inner, ast.Call) and getattr(inner.func, "id", "") == "vars" \
                    and inner.args:
                owner = self.resolve(inner.args[0])
            else:
                owner = None
            return f"{owner}.{key}" if owner and key else None
        return None

    def strings_run(self, node: ast.AST) -> None:
        """Code in a constant string handed to eval or exec is scanned too."""
        if not (isinstance(node, ast.Call) and getattr(node.func, "id", "") in ("eval", "exec")
                and node.args):
            return
        text = _constant_text(node.args[0])
        if text:
            try:
                inner = ast.parse(text)
            except SyntaxError:
                return
            for found in _Scanner(self.names, {**self.aliases, **_aliases(inner)}).run(inner):
                self.found.append(Forbidden(found.spelled, getattr(node, "lineno", 0)))


def _constant_text(node: ast.AST) -> str | None:
    """A string known from the code alone: a literal, or literals joined with ``+``."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _constant_text(node.left), _constant_text(node.right)
        return left + right if left is not None and right is not None else None
    return None


def runtime_names(exercise: Exercise) -> list[str]:
    """The forbidden dotted names that exist in this torch, for replacing at run time."""
    return sorted(n for n in forbidden_names(exercise) if _find(n) is not None)


def _find(dotted: str) -> tuple[Any, str] | None:
    """(the object holding the last part, its name), when every part exists."""
    parts = dotted.split(".")
    try:
        owner: Any = importlib.import_module(parts[0])
        for part in parts[1:-1]:
            owner = getattr(owner, part)
        getattr(owner, parts[-1])
    except (ImportError, AttributeError, RuntimeError):
        return None
    return owner, parts[-1]


_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_TORCH = os.path.dirname(os.path.abspath(torch.__file__))


def refuser(dotted: str, exercise_id: str, original: Any) -> Any:
    """What replaces a forbidden function while the learner's code runs: it raises when
    called from the learner's code, and works as before for the course's own correct
    stand-ins (code in this package), which later exercises may call, and inside torch."""
    import sys

    from ..i18n import tr

    def refused(*args: Any, **kwargs: Any) -> Any:
        if sys._getframe(1).f_code.co_filename.startswith((_PACKAGE, _TORCH)):
            return original(*args, **kwargs)
        raise RuntimeError(tr("{call} is not allowed in exercise {id}: write it yourself.",
                              call=dotted, id=exercise_id))

    return refused


@contextlib.contextmanager
def refused(exercise: Exercise) -> Iterator[None]:
    """Within the block, every spelling of the exercise's forbidden functions raises."""
    saved = []
    try:
        for dotted in runtime_names(exercise):
            owner, name = _find(dotted)  # type: ignore[misc] - runtime_names found it
            original = getattr(owner, name)
            try:
                setattr(owner, name, refuser(dotted, exercise.id, original))
            except (AttributeError, TypeError):
                continue  # a read-only name: the source scan still finds it
            saved.append((owner, name, original))
        yield
    finally:
        for owner, name, value in reversed(saved):
            setattr(owner, name, value)
