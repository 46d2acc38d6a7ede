"""What the learner's code may not use in an exercise, refused in its own process.

Runs in the sandbox (copied next to ``worker.py``; it imports nothing of this package).
Before the learner's cells run, ``block`` makes the exercise's forbidden modules
unimportable and its forbidden functions raise, down to torch's kernels and torch's
Python versions of them, and keeps those refusals out of the learner's reach.
"""

from __future__ import annotations

import sys


def block(exercise: dict) -> None:
    """Make the exercise's forbidden modules unimportable and its forbidden functions raise."""
    import importlib
    import importlib.abc

    modules = tuple(exercise["forbidden_modules"])
    what = f"exercise {exercise['id']}"

    class Forbidden(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in modules or name in modules:
                raise ImportError(f"'{name}' cannot be used in {what}: write the code yourself.")
            return None

    for name in list(sys.modules):
        if name.split(".")[0] in modules:
            del sys.modules[name]
    sys.meta_path.insert(0, Forbidden())
    ops = set()
    for dotted in exercise["forbidden_functions"]:  # every spelling (exercises/forbidden.py)
        parts = dotted.split(".")
        if parts[-1][:1].islower():
            ops.add(parts[-1].rstrip("_"))
        try:
            owner = _owner(parts[:-1])
            setattr(owner, parts[-1], _refuse(dotted, what))
        except (ImportError, AttributeError, TypeError, RuntimeError):
            continue  # not in this torch, or read-only: the grader's source scan finds it
    _hold_for_good(_refuse_kernels(ops, what))


def _owner(parts: list[str]):
    """The object ``a.b.c`` names: the longest importable module, then attributes."""
    import importlib

    for n in range(len(parts), 0, -1):
        try:
            owner = importlib.import_module(".".join(parts[:n]))
        except ImportError:
            continue
        for part in parts[n:]:
            owner = getattr(owner, part)
        return owner
    raise ImportError(".".join(parts))


def _refuse_kernels(ops: set, what: str):
    """Refuse the forbidden operations where torch runs them: their ATen kernels.

    A Python name can be reached many ways (``torch.ops.aten.gelu_``,
    ``torch._C._jit_get_operation("aten::gelu")``, in-place and ``out=`` variants,
    ``nn.GELU``); every one ends in the operator's kernel, which a CPU registration of
    ``torch.library`` replaces for this process. Variants (``_scaled_dot_product_flash_
    attention_for_cpu``, ``native_layer_norm``) are matched by the op's leading words.
    torch's Python versions of those operators (its decomposition tables) are refused too.
    """
    if not ops:
        return None
    import warnings

    import torch

    keys = {op.rsplit("_", 1)[0] if op.count("_") >= 2 else op for op in ops}
    lib = torch.library.Library("aten", "IMPL")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "overriding a previously registered kernel"
        for schema in torch._C._jit_get_all_schemas():
            name = schema.name.partition("::")[2]
            if not schema.name.startswith("aten::") or not any(k in name for k in keys):
                continue
            overload = f"{name}.{schema.overload_name}" if schema.overload_name else name
            for key in ("CPU", "AutogradCPU"):
                try:
                    lib.impl(overload, _refuse(schema.name, what), key)
                except (RuntimeError, ValueError, TypeError):
                    continue
    _refuse_decompositions(keys, what)
    return lib


def _refuse_decompositions(keys: set, what: str) -> None:
    """Replace torch's Python implementations of the matched operators (its decomposition
    tables and Python kernels), which compute them from other operators."""
    try:
        import torch._decomp as decomp
        import torch._decomp.decompositions  # noqa: F401 - fills the tables
    except ImportError:
        return
    tables = [decomp.decomposition_table, *decomp.global_decomposition_table.values()]
    for table in tables:
        for op in list(table):
            name = getattr(op, "__name__", str(op)).split(".")[0]
            if any(k in name for k in keys):
                table[op] = _refuse(f"aten::{name}", what)
                kernels = getattr(op, "py_kernels", None)
                for key in list(kernels or ()):
                    kernels[key] = _refuse(f"aten::{name}", what)


def _hold_for_good(lib) -> None:
    """Keep ``lib``'s registrations (None: there are none) until this process ends, out of
    the learner's reach.

    Nothing in Python names it (a module global can be found and emptied, which would undo
    them): it lives in the closure of an audit hook, which cannot be removed, and its
    finalizer is detached. The hook refuses the calls that find objects without a name
    (``gc.get_objects`` ...), trace frames, or reach memory through ``ctypes``.
    """
    import weakref

    for finalizer in list(getattr(weakref.finalize, "_registry", {})):
        if lib is not None and (finalizer.peek() or [None])[0] is lib:
            finalizer.detach()
    held = [lib]

    def guard(event: str, args: tuple) -> None:
        if held and (event in REFUSED_EVENTS or event.startswith("ctypes.")):
            raise RuntimeError(f"{event} is not allowed in a graded exercise.")

    sys.addaudithook(guard)


REFUSED_EVENTS = frozenset({"gc.get_objects", "gc.get_referrers", "gc.get_referents",
                            "sys._current_frames", "sys.settrace", "sys.setprofile"})


def _refuse(dotted: str, what: str):
    def refused(*args, **kwargs):
        raise RuntimeError(f"{dotted} is not allowed in {what}: write it yourself.")

    return refused
