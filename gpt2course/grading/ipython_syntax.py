"""A notebook cell's IPython syntax as plain Python, for the grader's sandbox.

A learner's solution cell may hold what Jupyter accepts and Python does not: a cell magic
on its first line (``%%time``), line magics (``%load_ext``, ``%time y = f(x)``), shell
escapes (``!pip install ...``, ``files = !ls``), help requests (``torch.tanh?``). In the
grade, the code around them must run as it ran in Jupyter. IPython (installed with
Jupyter) turns each into a call of ``get_ipython()``; the worker gives the cells a small
``get_ipython()`` whose magics that run code (``%time``) run it and whose others do
nothing. Cell magics that only measure or capture (``%%time``, ``%%capture``) are taken
off here, and the rest of the cell is graded as code; other cell magics (``%%bash``,
``%%writefile``, ``%%html``) run nothing.
"""

from __future__ import annotations

import re

# Cell magics whose body is ordinary Python that Jupyter runs in the notebook's namespace.
BODY_RUNS = frozenset({"time", "timeit", "capture", "prun", "memit", "debug"})
_CELL_MAGIC = re.compile(r"\s*%%(\w+)")


def python_source(source: str) -> str:
    """``source`` with IPython syntax turned into Python (see the module's docstring)."""
    lines = source.splitlines(keepends=True)
    first = next((n for n, line in enumerate(lines) if line.strip()), None)
    if first is not None:
        magic = _CELL_MAGIC.match(lines[first])
        if magic and magic.group(1) in BODY_RUNS:
            return python_source("".join(lines[first + 1:]))
    try:
        from IPython.core.inputtransformer2 import TransformerManager
    except ImportError:
        return _without_magics(source)
    try:
        return TransformerManager().transform_cell(source)
    except Exception:  # noqa: BLE001 - a cell IPython cannot read is graded as it is
        return source


def _without_magics(source: str) -> str:
    """Without IPython: magic and shell lines become ``pass``, other cell magics nothing."""
    lines = source.splitlines()
    if lines and lines[0].lstrip().startswith("%%"):
        return ""
    out = []
    for line in lines:
        stripped = line.lstrip()
        if stripped.startswith(("%", "!")):
            line = line[: len(line) - len(stripped)] + "pass"
        out.append(line)
    return "\n".join(out)
