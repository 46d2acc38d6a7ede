"""Attacks that try to gain points: edited check cells, monkeypatching, our reference,
forbidden operations under other names, fake results. Each must score nothing it should not.

Every submission is the unfilled lesson or the correct one plus one trick, graded in the
real sandbox; "full" exercises stay full where the trick is elsewhere.
"""

from __future__ import annotations

import os

from attack_support import (
    ROOT_ONLY,
    ZERO,
    check_cells,
    gelu_that,
    unfilled_gelu_with,
)
from grading_support import FULL, ROOT, grade, make_submission, message, scores


def test_edited_check_cells_change_nothing(tmp_path):
    sub = make_submission(tmp_path / "s.ipynb", filled=False,
                          edit=lambda nb: check_cells(nb, "print('passed all cases')"))
    assert scores(grade(sub)) == ZERO


def test_deleted_check_cells_change_nothing(tmp_path):
    unfilled = make_submission(tmp_path / "u.ipynb", filled=False,
                               edit=lambda nb: check_cells(nb, None))
    filled = make_submission(tmp_path / "f.ipynb", edit=lambda nb: check_cells(nb, None))
    assert scores(grade(unfilled)) == ZERO
    assert scores(grade(filled)) == FULL


def test_monkeypatching_the_comparison_does_nothing(tmp_path):
    cell = ("import gpt2course.exercises.core as core\n"
            "core.close = lambda *a, **k: (lambda expected, got: None)\n")
    sub = make_submission(tmp_path / "s.ipynb", filled=False, **unfilled_gelu_with(cell))
    assert scores(grade(sub)) == ZERO


def test_replacing_check_itself_does_nothing(tmp_path):
    cell = "def check(fn):\n    print(fn.__name__ + ': passed all cases.')\n"
    sub = make_submission(tmp_path / "s.ipynb", filled=False, **unfilled_gelu_with(cell))
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
        f"sys.path.insert(0, {str(ROOT)!r})\n"
        "_ref = importlib.import_module('gpt2course.model').gelu\n\n"
        "def gelu(x):\n    return _ref(x)\n")
    result = grade(make_submission(tmp_path / "s.ipynb", **{"04_gelu": cell}))
    assert scores(result)["04.gelu"] == 0.0


def test_reading_the_solution_notebook_is_blocked(tmp_path):
    root = str(ROOT)
    cell = ("import json\n"
            f"_nb = json.load(open({root!r} + '/solutions/04_mlp.ipynb'))\n"
            "exec(''.join(_nb['cells'][4]['source']))\n")
    result = grade(make_submission(tmp_path / "s.ipynb", filled=False, **{"04_gelu": cell}))
    assert scores(result)["04.gelu"] == 0.0


def test_the_forbidden_library_function_is_refused(tmp_path):
    cell = "def gelu(x):\n    return F.gelu(x, approximate='tanh')\n"
    result = grade(make_submission(tmp_path / "s.ipynb", **{"04_gelu": cell}))
    assert scores(result) == {**FULL, "04.gelu": 0.0}
    # found in the cell by the forbidden-call scan, in the words check() uses too
    assert "uses F.gelu (line 2), which exercise 04.gelu does not allow" in message(
        result, "04.gelu")


def test_a_forbidden_function_the_scan_cannot_see_is_refused_at_run_time(tmp_path):
    cell = ("def gelu(x):\n    name = ''.join(['ge', 'lu'])\n"
            "    return getattr(F, name)(x, approximate='tanh')\n")
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
                                   **unfilled_gelu_with(fake)))
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
                                   **unfilled_gelu_with(payload)))
    assert scores(result) == ZERO
    assert not marker.exists()


def test_an_object_array_return_is_refused(tmp_path):
    cell = "import numpy as np\n\ndef gelu(x):\n    return np.array([object()], dtype=object)\n"
    result = grade(make_submission(tmp_path / "s.ipynb", **{"04_gelu": cell}))
    assert scores(result)["04.gelu"] == 0.0


def test_printing_a_fake_score_does_nothing(tmp_path):
    cell = "for _ in range(100):\n    print('gelu: passed all 4 cases.  TOTAL 4 / 4')\n"
    sub = make_submission(tmp_path / "s.ipynb", filled=False, **unfilled_gelu_with(cell))
    assert scores(grade(sub)) == ZERO


def test_grader_does_not_import_learner_code(tmp_path):
    cell = "import builtins\nbuiltins.PWNED = True\n" + gelu_that("")["04_gelu"]
    result = grade(make_submission(tmp_path / "s.ipynb", **{"04_gelu": cell}))
    import builtins

    assert scores(result) == FULL and not hasattr(builtins, "PWNED")

