"""gpt2course: build GPT-2 from scratch, piece by piece.

The reference GPT-2 here is what every check and the grader compare against.

The names below are imported on first use (PEP 562), so that ``import gpt2course``
does not load PyTorch: the ``gpt2course`` command starts at once, its ``--help``
needs no torch, and a Ctrl-C while torch loads is the command's one-line
"interrupted", not a traceback from inside an import.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .config import GPT2Config
    from .errors import CourseError
    from .model import GPT2, KVCache
    from .sampling import generate
    from .vocab import gpt2_encoding
    from .weights import load_pretrained

_HOMES = {
    "GPT2": ".model",
    "GPT2Config": ".config",
    "KVCache": ".model",
    "CourseError": ".errors",
    "generate": ".sampling",
    "gpt2_encoding": ".vocab",
    "load_pretrained": ".weights",
}
__all__ = ["GPT2", "GPT2Config", "KVCache", "CourseError", "generate", "gpt2_encoding",
           "load_pretrained"]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    if name == "check":
        # ``gpt2course.check(fn)`` after ``import gpt2course``: the check module, which is
        # callable (``from gpt2course import check`` gives it too).
        return import_module(f"{__name__}.check")
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(_HOMES[name], __name__), name)
    globals()[name] = value  # once found, a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_HOMES])
