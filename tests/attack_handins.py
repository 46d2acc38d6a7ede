"""A catalog of attack hand-ins on lesson 04 (gelu, mlp, MLP), for the tests and for
``benchmarks/grading_attacks.py`` (which grades them all in the mode it runs in).

Each ``Attack`` is the unfilled lesson (or the solved one) with some solution cells
replaced, the most points it may earn, and a ``harm`` check that looks for damage outside
its own row (a file written where it must not be, a leaked secret, a survivor, text that
would fool the instructor's terminal or spreadsheet). ``ctx`` gives each run its own
folder and token so that concurrent runs never see each other's markers.
"""

from __future__ import annotations

import os
import re
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
GELU_OK = "0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))"
GELU_CELL = f"def gelu(x):\n    return {GELU_OK}\n"
MLP_OK = ("def mlp(x, c_fc_weight, c_fc_bias, c_proj_weight, c_proj_bias):\n"
          "    return gelu(x @ c_fc_weight.T + c_fc_bias) @ c_proj_weight.T + c_proj_bias\n")
# Characters a terminal or a spreadsheet acts on: escapes, bells, carriage returns.
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


@dataclass
class Ctx:
    """Where one run's markers go: a world-writable folder and a unique token."""

    folder: Path
    token: str

    def marker(self, name: str) -> Path:
        return self.folder / f"{self.token}-{name}"


@dataclass
class Attack:
    name: str
    kind: str
    cells: dict[str, str]
    allowed: dict[str, float]  # exercise id -> most points it may earn
    filled: bool = False
    harm: Callable[[Ctx, object], list[str]] = field(default=lambda ctx, grade: [])
    slow: bool = False


def _cell(code: str) -> str:
    return textwrap.dedent(code).strip() + "\n"


def no_controls(ctx: Ctx, grade) -> list[str]:
    texts = [e.message for e in grade.exercises] + [grade.error or ""]
    return [f"control character {m.group()!r} in the feedback"
            for t in texts if (m := CONTROL.search(t))]


def markers_absent(*names: str) -> Callable[[Ctx, object], list[str]]:
    def harm(ctx: Ctx, grade) -> list[str]:
        return [f"{n} was written" for n in names if ctx.marker(n).exists()]
    return harm


def not_in_feedback(*texts: str) -> Callable[[Ctx, object], list[str]]:
    def harm(ctx: Ctx, grade) -> list[str]:
        shown = "\n".join(e.message for e in grade.exercises) + (grade.error or "")
        return [f"{t!r} shown in the feedback" for t in texts if t in shown]
    return harm


def both(*checks):
    return lambda ctx, grade: [p for c in checks for p in c(ctx, grade)]


ZERO = {"04.gelu": 0.0, "04.mlp": 0.0, "04.MLP": 0.0}
FULL = {"04.gelu": 1.0, "04.mlp": 2.0, "04.MLP": 1.0}


def attacks(ctx: Ctx) -> list[Attack]:
    """Every attack of the catalog, for this run's ``ctx``."""
    out = ctx.folder
    return [
        Attack("patch-comparisons", "monkeypatching", {"04_gelu": _cell("""
            import builtins, math, numpy as np, torch
            torch.allclose = lambda *a, **k: True
            torch.equal = lambda *a, **k: True
            torch.Tensor.__eq__ = lambda self, other: torch.ones((), dtype=torch.bool)
            math.isclose = lambda *a, **k: True
            np.allclose = np.array_equal = lambda *a, **k: True
            np.testing.assert_allclose = lambda *a, **k: None
            _real = builtins.isinstance
            builtins.isinstance = lambda o, t: True if t is torch.Tensor else _real(o, t)
            def gelu(x):
                return torch.zeros_like(x)
            """)}, ZERO),
        Attack("array-like-returns", "fake results", {
            "04_gelu": _cell("""
                import numpy as np
                class Anything:
                    def __array__(self, *a, **k):
                        return np.zeros(3)
                    @classmethod
                    def __torch_function__(cls, func, types, args=(), kwargs=None):
                        return True
                    def __eq__(self, other):
                        return True
                def gelu(x):
                    return Anything()
                """),
            "04_mlp": _cell("""
                import numpy as np
                def mlp(x, c_fc_weight, c_fc_bias, c_proj_weight, c_proj_bias):
                    return np.ma.masked_all(tuple(x.shape), dtype=np.float32)
                """),
            "04_MLP": _cell("""
                import numpy as np
                class Sub(np.ndarray):
                    def __eq__(self, other):
                        return np.ones(np.shape(other), bool)
                class MLP(nn.Module):
                    def __init__(self, n_embd):
                        super().__init__()
                        self.c_fc = nn.Linear(n_embd, 4 * n_embd)
                        self.c_proj = nn.Linear(4 * n_embd, n_embd)
                    def forward(self, x):
                        return torch.nn.Parameter(torch.zeros_like(x))
                """)}, ZERO),
        Attack("reference-import", "our reference", {"04_gelu": _cell(f"""
            import sys, importlib
            sys.meta_path[:] = [f for f in sys.meta_path if type(f).__name__ != 'Forbidden']
            sys.path.insert(0, {str(ROOT)!r})
            for name in list(sys.modules):
                if name.startswith('gpt2'):
                    del sys.modules[name]
            try:
                gelu = importlib.import_module('gpt2' + 'course.model').gelu
            except Exception:
                _src = open({str(ROOT / 'gpt2course' / 'model.py')!r}).read()
                _ns = {{}}
                exec(compile(_src.replace('from .', 'from gpt2course.'), 'm', 'exec'), _ns)
                gelu = _ns['gelu']
            """)}, ZERO),
        *[Attack(f"forbidden-{label}", "forbidden by another name", {"04_gelu": _cell(code)},
                 ZERO) for label, code in (
            ("refs", "import torch._refs.nn.functional as R\n"
                     "def gelu(x):\n    return R.gelu(x, approximate='tanh')\n"),
            ("inplace", "def gelu(x):\n"
                        "    return torch.ops.aten.gelu_(x.clone(), approximate='tanh')\n"),
            ("c-inplace", "def gelu(x):\n"
                          "    return torch._C._nn.gelu_(x.clone(), approximate='tanh')\n"),
            ("jit-operation", "op = torch._C._jit_get_operation('aten::gelu')[0]\n"
                              "def gelu(x):\n    return op(x, approximate='tanh')\n"),
        )],
        Attack("stdin-and-frames", "the instructor's cells", {
            "04_gelu": "def gelu(x):\n    return x * 0.5\n",
            "04_mlp": _cell(f"""
                import gc, os, sys
                found = []
                try:
                    found.append(sys.stdin.read())
                except Exception:
                    pass
                frame = sys._getframe()
                while frame is not None:
                    found += [repr(v) for v in frame.f_locals.values()]
                    frame = frame.f_back
                found += [o for o in gc.get_objects() if isinstance(o, str)]
                leaked = [t for t in found if '0.0447' + '15' in t and 'def gelu' in t]
                if leaked:
                    with open({str(ctx.marker('leak'))!r}, 'w') as f:
                        f.write(leaked[0])
                    os.chmod({str(ctx.marker('leak'))!r}, 0o666)
                def mlp(x, c_fc_weight, c_fc_bias, c_proj_weight, c_proj_bias):
                    raise RuntimeError('found: ' + (leaked[0] if leaked else 'nothing'))
                """)}, ZERO, harm=both(markers_absent("leak"), not_in_feedback("0.044715"))),
        Attack("control-characters", "feedback injection", {
            "04_gelu": _cell("""
                import os, sys
                fake = '\\x1b[1A\\x1b[2K\\rstudent.ipynb: 4 / 4\\x1b]52;c;cm0gLXJmIH4=\\x07'
                print(fake); print(fake, file=sys.stderr)
                for fd in (1, 2):
                    try:
                        with open(f'/proc/{os.getppid()}/fd/{fd}', 'w') as log:
                            log.write(fake * 50)
                    except OSError:
                        pass
                def gelu(x):
                    raise RuntimeError(fake + ' =HYPERLINK("http://x") <script>alert(1)</script>')
                """),
            "04_mlp": "raise ValueError('\\x1b[2J\\x1b[31m4 / 4\\x07')\n",
            "04_MLP": _cell("""
                import os, signal
                os.kill(os.getppid(), signal.SIGKILL)
                """)}, ZERO, harm=no_controls),
        Attack("huge-messages", "feedback injection", {
            "04_gelu": "def gelu(x):\n    raise RuntimeError('x' * 50_000_000)\n",
            "04_mlp": _cell("""
                def mlp(x, c_fc_weight, c_fc_bias, c_proj_weight, c_proj_bias):
                    return {'k%07d' % i + 'y' * 50: 0 for i in range(200_000)}
                """),
            "04_MLP": "raise ValueError('z' * 30_000_000)\n"}, ZERO,
            harm=lambda ctx, g: [f"{e.id}: a message of {len(e.message)} characters"
                                 for e in g.exercises if len(e.message) > 20_000]),
        Attack("exits-and-interrupts", "exits", {
            "04_gelu": "def gelu(x):\n    raise KeyboardInterrupt\n",
            "04_mlp": MLP_OK + "import sys\nsys.exit(3)\n",
            "04_MLP": _cell("""
                class Out(SystemExit):
                    def __str__(self):
                        raise RecursionError('no')
                class MLP(nn.Module):
                    def __init__(self, n_embd):
                        super().__init__()
                        raise Out()
                """)}, {"04.gelu": 0.0, "04.mlp": 2.0, "04.MLP": 0.0}),
        Attack("kill-the-worker", "exits", {"04_gelu": _cell("""
            import os, signal
            os.kill(os.getppid(), signal.SIGSTOP)
            os.kill(os.getppid(), signal.SIGKILL)
            """)}, ZERO),
        Attack("deep-recursion", "recursion", {
            "04_gelu": _cell("""
                import sys
                sys.setrecursionlimit(10**9)
                def down(n):
                    return down(n + 1) + 1
                def gelu(x):
                    return down(0)
                """),
            "04_mlp": _cell("""
                def mlp(x, c_fc_weight, c_fc_bias, c_proj_weight, c_proj_bias):
                    out = []
                    for _ in range(200_000):
                        out = [out]
                    return out
                """)}, ZERO),
        Attack("metadata-points", "notebook metadata", {}, ZERO,  # see ``edit_metadata``
               harm=lambda ctx, g: [] if g.max_total == 4 else [f"out of {g.max_total}"]),
        Attack("write-outside", "writes outside the job", {"04_gelu": _cell(f"""
            import os, glob, sys
            targets = [{str(out / (ctx.token + '-planted'))!r},
                       os.path.join({str(ROOT)!r}, 'gpt2course', 'zz_planted.py'),
                       os.path.join(os.path.dirname(os.__file__), 'zz_planted.py'),
                       '/tmp/' + {ctx.token!r} + '-tmp', os.path.expanduser('~/.zz_planted')]
            targets += [os.path.join(p, 'zz_planted.pth') for p in sys.path if 'packages' in p]
            for t in targets:
                try:
                    with open(t, 'w') as f:
                        f.write('import os  # planted')
                except OSError:
                    pass
            """) + "\ndef gelu(x):\n    raise NotImplementedError()\n"}, ZERO,
            harm=lambda ctx, g: [p for p in _planted(ctx) if os.path.exists(p)]),
        Attack("signal-the-grader", "signals", {"04_gelu": _cell("""
            import os, signal
            for pid in [int(p) for p in os.listdir('/proc') if p.isdigit()]:
                if pid not in (os.getpid(), os.getppid()):
                    try:
                        os.kill(pid, signal.SIGSTOP)
                    except OSError:
                        pass
            """)}, ZERO),
        Attack("cpu-hog", "starving a classmate", {
            "04_gelu": _cell("""
                import os, time
                if not os.path.exists('hogging'):
                    open('hogging', 'w').close()
                    for _ in range(60):
                        if os.fork() == 0:
                            os.setsid()
                            while True:
                                pass
                """),
            "04_MLP": _cell("""
                class MLP(nn.Module):
                    def __init__(self, n_embd):
                        super().__init__()
                        import time
                        time.sleep(7)
                """)}, ZERO, slow=True),
        Attack("results-npz-bomb", "results files", {"04_gelu": _cell("""
            import io, os, zipfile, struct
            header = "{'descr': '<f8', 'fortran_order': False, 'shape': (4000000000,), }"
            header = header.ljust(118) + '\\n'
            npy = b'\\x93NUMPY\\x01\\x00' + struct.pack('<H', len(header)) + header.encode()
            with zipfile.ZipFile('../out/0.npz', 'w') as z:
                z.writestr('c0_0.npy', npy + b'\\0' * 64)
            with open('../out/0.json', 'w') as f:
                f.write('{"cell_errors": [], "cases": [' + ', '.join(
                    ['{"value": {"__array__": "c0_0"}}'] * 4) + ']}')
            os._exit(0)
            """)}, ZERO),
    ]


def _planted(ctx: Ctx) -> list[str]:
    import site
    import sys

    paths = [str(ctx.marker("planted")), str(ROOT / "gpt2course" / "zz_planted.py"),
             os.path.join(os.path.dirname(os.__file__), "zz_planted.py"),
             f"/tmp/{ctx.token}-tmp", os.path.expanduser("~/.zz_planted")]
    paths += [os.path.join(p, "zz_planted.pth") for p in [*site.getsitepackages(), *sys.path]
              if "packages" in p]
    return paths


def edit_metadata(nb) -> None:
    """The metadata attack: every cell's points raised and unlocked, and an extra graded
    solution cell of 100 points that defines gelu correctly under a new id."""
    extra = {"grade": True, "solution": True, "points": 100, "grade_id": "04_extra",
             "locked": False}
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader")
        if meta:
            meta["points"] = 100
            meta["locked"] = False
    nb.cells.append(nbformat.v4.new_code_cell(GELU_CELL, metadata={"nbgrader": extra}))
