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
import re
from collections.abc import Iterator
from typing import Any

import torch

from .core import Exercise, Forbidden

# Where torch keeps one operation under the same name as the functional one.
OP_NAMESPACES = ("torch.nn.functional", "torch._C._nn", "torch.ops.aten", "torch",
                 "torch._C._VariableFunctions", "torch._VF", "torch.Tensor",
                 # torch's own Python implementations of the same operations
                 "torch._refs", "torch._refs.nn.functional", "torch._refs.special",
                 "torch._decomp.decompositions")
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
        if op[:1].islower():  # a function: the same op, in place too, in torch's other namespaces
            names.update(f"{ns}.{name}" for ns in OP_NAMESPACES for name in (op, op + "_"))
            names.update(EQUIVALENT_CLASSES.get(op, ()))
    return frozenset(names)


def scan(source: str, exercise: Exercise) -> list[Forbidden]:
    """Forbidden operations referenced in ``source`` (called or not), in source order,
    and any reach into the grader or the course's own reference (``tampering``).

    Unparsable source gives no findings: running it will report the syntax error.
    """
    names = forbidden_names(exercise)
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    found = _Scanner(names, _aliases(tree)).run(tree) if names else []
    ops = {n.rsplit(".", 1)[-1].rstrip("_") for n in names if n.rsplit(".", 1)[-1][:1].islower()}
    found += [Forbidden(repr(text), line) for text, line in _strings(tree)
              if any(f"::{op}" in text for op in ops)]  # torch._C._jit_get_operation("aten::gelu")
    return sorted({(f.line, f.spelled): f for f in [*found, *tampering(source)]}.values(),
                  key=lambda f: (f.line, f.spelled))


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
    for n in range(len(parts) - 1, 0, -1):  # the longest importable module (torch._refs ...)
        try:
            owner: Any = importlib.import_module(".".join(parts[:n]))
            for part in parts[n:-1]:
                owner = getattr(owner, part)
            getattr(owner, parts[-1])
        except ImportError:
            continue
        except (AttributeError, RuntimeError):
            return None
        return owner, parts[-1]
    return None


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


# --- reaching into the grader, or into the course's own reference ------------------------

# A graded cell runs in the grader's sandbox process, next to the code that calls the
# learner's function and checks what it may not change. A solution has no need to walk
# that process's frames or objects, edit its import machinery, replace functions of torch,
# numpy or Python, or load this package (the reference implementation of every exercise):
# each is a forbidden operation in every exercise (README, "Forbidden operations").
INTROSPECTION = frozenset({
    "sys._getframe", "sys._current_frames", "sys.settrace", "sys.setprofile", "sys.meta_path",
    "sys.path_hooks", "sys.modules", "gc.get_objects", "gc.get_referrers", "gc.get_referents",
    "inspect.currentframe", "inspect.stack", "inspect.trace", "inspect.getouterframes",
    "inspect.getinnerframes", "ctypes", "torch.library", "torch._C._jit_get_operation",
    "torch._C._dispatch_call_boxed", "builtins.__dict__", "importlib.reload",
})
FRAME_ATTRIBUTES = frozenset({"f_back", "f_locals", "f_globals", "f_builtins", "tb_frame",
                              "gi_frame", "cr_frame", "ag_frame", "__subclasses__",
                              "__globals__", "__builtins__"})
REFERENCE_MODULES = ("gpt2course", "tiktoken", "transformers")
ALLOWED_REFERENCE = frozenset({"gpt2course", "gpt2course.check"})  # the notebooks' check()
# A module or file path of the reference, in a string: "gpt2course.model", ".../tiktoken/",
# not a sentence that mentions it ("compare with tiktoken").
_REFERENCE_PATH = re.compile(r"(^|[/\\.])(" + "|".join(REFERENCE_MODULES) + r")([/\\.]|$)")
SANDBOX_HELPERS = ("calling", "plain")  # the course's modules the sandbox loads by file
_PATCHABLE_ROOTS = ("torch", "numpy", "math", "builtins", "sys", *SANDBOX_HELPERS, "random",
                    "os", "operator", "functools")


def tampering(source: str) -> list[Forbidden]:
    """Where ``source`` reaches into the grader's process (frames, ``gc``, import machinery,
    replaced functions of torch/numpy/Python) or loads the course's own reference
    (``gpt2course`` other than ``check``, tiktoken, transformers), in source order."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    scanner = _Scanner(frozenset(), _aliases(tree))
    found = []
    for node in ast.walk(tree):
        what = _reach(node, scanner)
        if what:
            found.append(Forbidden(what, getattr(node, "lineno", 0)))
    found += [Forbidden(repr(text[:60]), line) for text, line in _strings(tree)
              if _REFERENCE_PATH.search(text)]
    return sorted({(f.line, f.spelled): f for f in found}.values(),
                  key=lambda f: (f.line, f.spelled))


def _reach(node: ast.AST, scanner: _Scanner) -> str | None:
    """How ``node`` reaches into the grader or the reference, or None."""
    if isinstance(node, ast.Import | ast.ImportFrom):
        modules = [a.name for a in node.names] if isinstance(node, ast.Import) else [
            f"{node.module}.{a.name}" for a in node.names] if node.module and not node.level \
            else []
        bad = [m for m in modules if _is_reference(m) or _in(m, INTROSPECTION)]
        return ast.unparse(node) if bad else None
    if isinstance(node, ast.Attribute) and node.attr in FRAME_ATTRIBUTES:
        return ast.unparse(node)
    if isinstance(node, ast.Name) and node.id in FRAME_ATTRIBUTES:
        return node.id
    if isinstance(node, ast.Call) and getattr(node.func, "id", "") in (
            "getattr", "setattr", "delattr") and len(node.args) > 1:
        name = _constant_text(node.args[1])
        owner = scanner.resolve(node.args[0])
        if name in FRAME_ATTRIBUTES or (node.func.id != "getattr" and (
                name is None or _replaces(f"{owner}.{name}" if owner else None))):
            return ast.unparse(node)[:80]
    if isinstance(node, ast.Assign | ast.AugAssign | ast.Delete | ast.AnnAssign):
        targets = node.targets if isinstance(node, ast.Assign | ast.Delete) else [node.target]
        for target in targets:
            for t in ast.walk(target):
                if isinstance(t, ast.Attribute) and _replaces(scanner.resolve(t)):
                    return ast.unparse(t)
    dotted = scanner.resolve(node) if isinstance(node, ast.Attribute | ast.Name | ast.Call) \
        else None
    if dotted and (_in(dotted, INTROSPECTION) or _is_reference(dotted)):
        return ast.unparse(node)
    return None


def _in(dotted: str, names: frozenset[str]) -> bool:
    parts = dotted.split(".")
    return any(".".join(parts[:n]) in names for n in range(1, len(parts) + 1))


def _is_reference(dotted: str) -> bool:
    return dotted.split(".")[0] in REFERENCE_MODULES and dotted not in ALLOWED_REFERENCE


def _replaces(dotted: str | None) -> bool:
    """Whether assigning ``dotted`` replaces a function or class of a library (a
    monkeypatch), rather than setting a flag such as ``torch.backends.cudnn.benchmark``."""
    if not dotted or dotted.split(".")[0] not in _PATCHABLE_ROOTS:
        return False
    if dotted.split(".")[0] in SANDBOX_HELPERS:  # the grader's own helper modules there
        return True
    import sys

    value: Any = sys.modules.get(dotted.split(".")[0])  # looked up, never imported here
    for part in dotted.split(".")[1:]:
        value = getattr(value, part, None)
    return callable(value)


def _strings(tree: ast.AST) -> Iterator[tuple[str, int]]:
    """String constants handed to a call (docstrings and comments left out)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            for arg in [*node.args, *(k.value for k in node.keywords)]:
                text = _constant_text(arg)
                if text:
                    yield text, node.lineno
