"""Attacks that reach into the grader's process or into the course's own reference, and
forbidden operations under spellings the first scan did not know.

A graded cell runs in the sandbox next to the code that calls the learner's function and
checks what it may not change. Policy: walking that process's frames or objects, editing
its import machinery, replacing functions of torch/numpy/Python, or loading this package
(the reference of every exercise; ``check`` excepted) is forbidden in every exercise, found
in the source (``forbidden.tampering``), reported as a forbidden call, in ``check`` too.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from grading_support import ROOT, grade, make_submission, message, scores, solution_sources

from gpt2course.exercises import for_lesson
from gpt2course.exercises.forbidden import runtime_names, scan, tampering

GELU = next(e for e in for_lesson("04") if e.id == "04.gelu")

REACHING = {
    "import sys\nf = sys._getframe(1)": "sys._getframe",
    "from sys import _getframe as g\nf = g()": "g",
    "import gc\nobjs = gc.get_objects()": "gc.get_objects",
    "from inspect import stack\ns = stack()": "stack",
    "try:\n    1 / 0\nexcept Exception as e:\n    f = e.__traceback__.tb_frame.f_back": "tb_frame",
    "g = (i for i in ())\nf = getattr(g, 'gi_' + 'frame')": "getattr(g",
    "import torch\ntorch.allclose = lambda *a, **k: True": "torch.allclose",
    "import torch\ntorch.Tensor.__eq__ = lambda s, o: True": "torch.Tensor.__eq__",
    "import numpy as np\nsetattr(np, 'array_' + 'equal', print)": "setattr",
    "import math\nmath.isclose = lambda *a, **k: True": "math.isclose",
    "import builtins\nbuiltins.isinstance = lambda o, t: True": "builtins.isinstance",
    "import sys\nsys.modules['calling']._same = None": "sys.modules",
    "s = getattr(__import__('sys'), 'mod' + 'ules')": "getattr",
    "import calling\ncalling._same = lambda a, b: True": "calling._same",
    "import plain\nplain.check_returns = lambda v, s: v": "plain.check_returns",
    "import sys\nsys.meta_path.clear()": "sys.meta_path",
    "import ctypes": "ctypes",
    "from gpt2course.model import gelu": "gpt2course.model",
    "import gpt2course.sampling as s": "gpt2course.sampling",
    "import importlib\nm = importlib.import_module('gpt2' + 'course.model')": "gpt2course",
    "exec(open('/opt/course/gpt2course/model.py').read())": "gpt2course",
    "import torch\nop = torch._C._jit_get_operation('aten::gelu')": "_jit_get_operation",
    "import torch.library as L": "torch.library",
}
HONEST = [
    "import torch\ntorch.backends.cudnn.deterministic = True",
    "import gc\ngc.collect()",
    "from gpt2course import check\ncheck(gelu)",
    "class M(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
    "        self.w = nn.Parameter(torch.zeros(2))\n        self.forward = self.forward",
    "import sys\nprint(sys.version)",
    "def f(x):\n    '''Like gpt2course.model.gelu.'''\n    return x",
    "print('the same ids as tiktoken gives')",
]


@pytest.mark.parametrize("source", list(REACHING))
def test_reaching_into_the_grader_is_found_in_every_spelling(source):
    found = tampering(source)
    assert any(REACHING[source] in f.spelled for f in found), (source, found)
    assert scan(source, GELU)  # so check() and the grader refuse it in every exercise


def test_honest_solutions_are_not_taken_for_tampering():
    lessons = ["01_tokenizer", "02_embeddings", "03_attention", "04_mlp", "05_blocks",
               "06_sampling"]
    cells = [s for lesson in lessons for s in solution_sources(lesson).values()]
    assert len(cells) > 20
    for source in [*cells, *HONEST]:
        assert not tampering(source), source


@pytest.mark.parametrize("spelling", [
    "import torch._refs.nn.functional as R\ny = R.gelu(x)",
    "y = torch.ops.aten.gelu_(x)",
    "y = torch._C._nn.gelu_(x)",
    "from torch._decomp import decompositions as D\ny = D.gelu(x)",
])
def test_other_spellings_of_a_forbidden_op_are_found(spelling):
    assert scan(spelling, GELU), spelling


def test_every_path_to_a_forbidden_kernel_is_refused_at_run_time():
    """Names the scan cannot read (built at run time) still end in the refused kernel."""
    worker = ROOT / "gpt2course" / "grading"
    probe = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(worker)!r})
        import torch, worker
        worker.block({{"id": "04.gelu", "forbidden_modules": ["gpt2course"],
                      "forbidden_functions": {runtime_names(GELU)!r}}})
        x = torch.randn(5)
        n = "ge" + "lu"
        tries = {{
            "inplace": lambda: getattr(torch.ops.aten, n + "_")(x.clone()),
            "c-inplace": lambda: getattr(torch._C._nn, n + "_")(x.clone()),
            "jit": lambda: torch._C._jit_get_operation("aten::" + n)[0](x),
            "out": lambda: getattr(torch._C._nn, n)(x, out=torch.empty(5)),
            "module": lambda: getattr(torch.nn, n.upper())()(x),
            "refs": lambda: getattr(__import__("torch._refs.nn.functional").
                                    _refs.nn.functional, n)(x),
            "decomposition": lambda: [f for k, f in decomposition_table.items()
                                      if str(k) == f"aten.{{n}}.default"][0](x),
            "meta-kernel": lambda: [k for k in decomposition_table
                                    if str(k) == f"aten.{{n}}.default"][0].py_kernels[
                                        torch._C.DispatchKey.Meta](x),
            "objects": lambda: getattr(__import__("gc"), "get_" + "objects")(),
            "undone": lambda: undo() or torch._C._jit_get_operation("aten::" + n)[0](x),
        }}
        def undo():  # what names the registrations, emptied: they must hold all the same
            for module in (worker, sys.modules["refusals"]):
                for key, value in list(vars(module).items()):
                    if isinstance(value, list | dict | set) and not key.startswith("__"):
                        value.clear()
            import weakref
            for finalizer in list(weakref.finalize._registry):
                finalizer()
            __import__("gc").collect()
        from torch._decomp import decomposition_table
        for name, call in tries.items():
            try:
                call()
                print("RAN", name)
            except Exception as err:
                print("refused", name, type(err).__name__)
        print("tanh still works", float(torch.tanh(torch.zeros(1))))
        """)
    done = subprocess.run([sys.executable, "-I", "-c", probe], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert "RAN" not in done.stdout, done.stdout
    assert done.stdout.count("refused") == 10 and "tanh still works 0.0" in done.stdout


def test_patching_the_input_check_in_the_sandbox_scores_nothing(tmp_path):
    in_place = ("def apply_causal_mask(scores):\n    T = scores.shape[-1]\n"
                "    return scores.masked_fill_(~causal_mask(T), float('-inf'))\n")
    patched = "import calling\ncalling._same = lambda a, b: True\n\n" + in_place
    lesson = "03_attention"
    result = grade(make_submission(tmp_path / "p.ipynb", lesson=lesson,
                                   **{"03_apply_causal_mask": patched}))
    got = scores(result)
    assert result.lesson == "03_attention.ipynb"
    assert got["03.apply_causal_mask"] == 0.0
    assert "calling._same" in message(result, "03.apply_causal_mask")
    # a cell runs before every exercise: reaching into the grader costs them all
    assert set(got.values()) == {0.0}

