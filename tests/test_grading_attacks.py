"""Attacks on the grader: each one must score nothing it should not.

Every submission here is the unfilled lesson or the correct one plus one trick, graded in
the real sandbox. "Full" exercises must stay full where the trick is elsewhere.
"""

from __future__ import annotations

import os
import subprocess

import nbformat
import pytest
from grading_support import FULL, grade, make_submission, message, scores

from gpt2course.grading.sandbox import SANDBOX_UIDS, SandboxLimits

ZERO = {k: 0.0 for k in FULL}
ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0, reason="path hiding needs root")


def _unfilled_gelu_with(code: str) -> dict[str, str]:
    """A gelu cell that runs ``code`` and leaves gelu unfilled."""
    return {"04_gelu": code + "\n\ndef gelu(x):\n    raise NotImplementedError()\n"}


def _gelu_that(body: str) -> dict[str, str]:
    """A gelu cell whose function runs ``body`` (indented) and returns the right answer."""
    inner = "\n".join("    " + line for line in body.strip().splitlines())
    return {"04_gelu": f"def gelu(x):\n{inner}\n    return 0.5 * x * (1.0 + torch.tanh("
                       "math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))\n"}


def _module_that(body: str) -> dict[str, str]:
    """An MLP class (used by no other exercise) whose forward runs ``body`` first."""
    inner = "\n".join("        " + line for line in body.strip().splitlines())
    return {"04_MLP": (
        "class MLP(nn.Module):\n"
        "    def __init__(self, n_embd):\n"
        "        super().__init__()\n"
        "        self.c_fc = nn.Linear(n_embd, 4 * n_embd)\n"
        "        self.c_proj = nn.Linear(4 * n_embd, n_embd)\n\n"
        f"    def forward(self, x):\n{inner}\n"
        "        return self.c_proj(gelu(self.c_fc(x)))\n")}


def _check_cells(nb, new_source: str | None):
    for cell in list(nb.cells):
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", "").endswith("_check"):
            if new_source is None:
                nb.cells.remove(cell)
            else:
                cell.source = new_source


def test_edited_check_cells_change_nothing(tmp_path):
    sub = make_submission(tmp_path / "s.ipynb", filled=False,
                          edit=lambda nb: _check_cells(nb, "print('passed all cases')"))
    assert scores(grade(sub)) == ZERO


def test_deleted_check_cells_change_nothing(tmp_path):
    unfilled = make_submission(tmp_path / "u.ipynb", filled=False,
                               edit=lambda nb: _check_cells(nb, None))
    filled = make_submission(tmp_path / "f.ipynb", edit=lambda nb: _check_cells(nb, None))
    assert scores(grade(unfilled)) == ZERO
    assert scores(grade(filled)) == FULL


def test_monkeypatching_the_comparison_does_nothing(tmp_path):
    cell = ("import gpt2course.exercises.core as core\n"
            "core.close = lambda *a, **k: (lambda expected, got: None)\n")
    sub = make_submission(tmp_path / "s.ipynb", filled=False, **_unfilled_gelu_with(cell))
    assert scores(grade(sub)) == ZERO


def test_replacing_check_itself_does_nothing(tmp_path):
    cell = "def check(fn):\n    print(fn.__name__ + ': passed all cases.')\n"
    sub = make_submission(tmp_path / "s.ipynb", filled=False, **_unfilled_gelu_with(cell))
    assert scores(grade(sub)) == ZERO


def test_calling_the_reference_is_blocked(tmp_path):
    cell = "from gpt2course.model import gelu as _ref\n\ndef gelu(x):\n    return _ref(x)\n"
    result = grade(make_submission(tmp_path / "s.ipynb", **{"04_gelu": cell}))
    assert scores(result)["04.gelu"] == 0.0


@ROOT_ONLY
def test_removing_the_import_block_still_finds_no_reference(tmp_path):
    cell = (
        "import sys, importlib\n"
        "sys.meta_path[:] = [f for f in sys.meta_path if type(f).__name__ != 'Forbidden']\n"
        f"sys.path.insert(0, {str(make_submission.__globals__['ROOT'])!r})\n"
        "_ref = importlib.import_module('gpt2course.model').gelu\n\n"
        "def gelu(x):\n    return _ref(x)\n")
    result = grade(make_submission(tmp_path / "s.ipynb", **{"04_gelu": cell}))
    assert scores(result)["04.gelu"] == 0.0


def test_reading_the_solution_notebook_is_blocked(tmp_path):
    root = str(make_submission.__globals__["ROOT"])
    cell = ("import json\n"
            f"_nb = json.load(open({root!r} + '/solutions/04_mlp.ipynb'))\n"
            "exec(''.join(_nb['cells'][4]['source']))\n")
    result = grade(make_submission(tmp_path / "s.ipynb", filled=False, **{"04_gelu": cell}))
    assert scores(result)["04.gelu"] == 0.0


def test_the_forbidden_library_function_is_refused(tmp_path):
    cell = "def gelu(x):\n    return F.gelu(x, approximate='tanh')\n"
    result = grade(make_submission(tmp_path / "s.ipynb", **{"04_gelu": cell}))
    assert scores(result) == {**FULL, "04.gelu": 0.0}
    assert "torch.nn.functional.gelu is not allowed in exercise 04.gelu" in message(
        result, "04.gelu")


def test_an_object_equal_to_everything_scores_nothing(tmp_path):
    cell = ("class Yes:\n    def __eq__(self, other):\n        return True\n"
            "    __hash__ = None\n\ndef gelu(x):\n    return Yes()\n")
    result = grade(make_submission(tmp_path / "s.ipynb", **{"04_gelu": cell}))
    assert scores(result)["04.gelu"] == 0.0


def test_a_tensor_subclass_scores_nothing(tmp_path):
    cell = ("class Fake(torch.Tensor):\n    def __eq__(self, other):\n        return True\n\n"
            "def gelu(x):\n    return torch.zeros_like(x).as_subclass(Fake)\n")
    result = grade(make_submission(tmp_path / "s.ipynb", **{"04_gelu": cell}))
    assert scores(result)["04.gelu"] == 0.0
    assert "not a subclass" in message(result, "04.gelu")


def test_a_fake_results_file_scores_nothing(tmp_path):
    report = tmp_path / "grades.csv"
    report.write_text("instructor's file")
    fake = ('import json, os\n'
            'json.dump({"score": 100, "cases": []}, open("../out/0.json", "w"))\n'
            'json.dump({"score": 100}, open("../out/results.json", "w"))\n'
            'try:\n'
            f'    open({str(report)!r}, "w").write("alice,4,4")\n'
            'except OSError:\n    pass\n'
            'os._exit(0)\n')
    result = grade(make_submission(tmp_path / "s.ipynb", filled=False,
                                   **_unfilled_gelu_with(fake)))
    assert scores(result) == ZERO
    if os.geteuid() == 0:  # as root the learner runs as nobody and cannot write here
        assert report.read_text() == "instructor's file"


def test_a_pickle_payload_is_never_unpickled(tmp_path):
    marker = tmp_path / "pwned"
    payload = (
        "import numpy as np, os\n"
        "class Boom:\n"
        "    def __reduce__(self):\n"
        f"        return (open, ({str(marker)!r}, 'w'))\n"
        "np.save('../out/0.npz', np.array([Boom()], dtype=object), allow_pickle=True)\n"
        "os.replace('../out/0.npz.npy', '../out/0.npz')\n"
        "open('../out/0.json', 'w').write("
        "'{\"cases\": [{\"value\": {\"__array__\": \"arr_0\"}}]}')\n"
        "os._exit(0)\n")
    os.chmod(tmp_path, 0o777)  # let the sandbox user try to write the marker
    result = grade(make_submission(tmp_path / "s.ipynb", filled=False,
                                   **_unfilled_gelu_with(payload)))
    assert scores(result) == ZERO
    assert not marker.exists()


def test_an_object_array_return_is_refused(tmp_path):
    cell = "import numpy as np\n\ndef gelu(x):\n    return np.array([object()], dtype=object)\n"
    result = grade(make_submission(tmp_path / "s.ipynb", **{"04_gelu": cell}))
    assert scores(result)["04.gelu"] == 0.0


def test_printing_a_fake_score_does_nothing(tmp_path):
    cell = "for _ in range(100):\n    print('gelu: passed all 4 cases.  TOTAL 4 / 4')\n"
    sub = make_submission(tmp_path / "s.ipynb", filled=False, **_unfilled_gelu_with(cell))
    assert scores(grade(sub)) == ZERO


def test_sys_exit_in_a_cell_stops_nothing(tmp_path):
    result = grade(make_submission(tmp_path / "s.ipynb", filled=False,
                                   **_unfilled_gelu_with("import sys\nsys.exit(0)")))
    assert scores(result) == ZERO
    unharmed = make_submission(tmp_path / "t.ipynb", **{"04_MLP": "import sys\nsys.exit(0)"})
    assert scores(grade(unharmed)) == {**FULL, "04.MLP": 0.0}


def test_os_exit_inside_the_learners_code_loses_only_that_exercise(tmp_path):
    result = grade(make_submission(tmp_path / "s.ipynb", **_module_that("import os\nos._exit(0)")))
    assert scores(result) == {**FULL, "04.MLP": 0.0}
    assert "do not call exit()" in message(result, "04.MLP")


@pytest.mark.slow
def test_an_endless_loop_times_out_and_loses_only_that_exercise(tmp_path):
    result = grade(make_submission(tmp_path / "s.ipynb", **_module_that("while True:\n    pass")))
    assert scores(result) == {**FULL, "04.MLP": 0.0}
    assert "took longer than" in message(result, "04.MLP")


def test_a_memory_bomb_loses_only_that_exercise(tmp_path):
    bomb = "hog = []\nwhile True:\n    hog.append(bytearray(100_000_000))"
    limits = SandboxLimits(notebook_s=60, exercise_s=8, memory_mb=1536)
    result = grade(make_submission(tmp_path / "s.ipynb", **_module_that(bomb)), limits)
    assert scores(result) == {**FULL, "04.MLP": 0.0}
    # Filling memory is slow on a busy machine: out of memory or out of time, both stop it.
    assert "MemoryError" in message(result, "04.MLP") or "took longer" in message(
        result, "04.MLP")


@pytest.mark.slow
def test_a_fork_bomb_is_contained_and_cleaned_up(tmp_path):
    bomb = "import os\nfor _ in range(10_000):\n    os.fork()"
    result = grade(make_submission(tmp_path / "s.ipynb", **_module_that(bomb)))
    assert scores(result) == {**FULL, "04.MLP": 0.0}
    left = subprocess.run(["pgrep", "-u", ",".join(map(str, SANDBOX_UIDS))],
                          capture_output=True, text=True).stdout
    assert not [pid for pid in left.split() if _in_deleted_folder(pid)]


def _in_deleted_folder(pid: str) -> bool:
    """Processes of a finished grading job still sit in its deleted folder; others do not."""
    try:
        return os.readlink(f"/proc/{pid}/cwd").endswith("(deleted)")
    except OSError:
        return False  # already gone


def test_huge_output_is_capped_and_loses_only_that_exercise(tmp_path):
    flood = "while True:\n    print('x' * 1_000_000)"
    result = grade(make_submission(tmp_path / "s.ipynb", **_module_that(flood)))
    assert scores(result) == {**FULL, "04.MLP": 0.0}
    assert len(message(result, "04.MLP")) < 6000


@pytest.mark.skipif(os.geteuid() != 0, reason="cutting the network needs root or user namespaces")
def test_the_network_is_cut(tmp_path):
    probe = ("import socket\ntry:\n    socket.create_connection(('127.0.0.1', 22), timeout=1)\n"
             "except OSError as err:\n    raise RuntimeError('no network: ' + str(err))\n")
    result = grade(make_submission(tmp_path / "s.ipynb", **_gelu_that(probe)))
    assert result.sandbox["network_cut"] is True
    assert "no network" in message(result, "04.gelu")


def test_grader_does_not_import_learner_code(tmp_path):
    cell = "import builtins\nbuiltins.PWNED = True\n" + _gelu_that("")["04_gelu"]
    result = grade(make_submission(tmp_path / "s.ipynb", **{"04_gelu": cell}))
    import builtins

    assert scores(result) == FULL and not hasattr(builtins, "PWNED")
    assert nbformat  # the module is used above through make_submission
