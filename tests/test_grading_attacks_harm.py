"""Attacks that try to do harm inside their own job: exits, endless loops, memory and fork
bombs, floods of output, the network. Each loses at most its own exercise.
"""

from __future__ import annotations

import os
import subprocess

import pytest
from attack_support import ZERO, gelu_that, in_deleted_folder, module_that, unfilled_gelu_with
from grading_support import FULL, grade, make_submission, message, scores

from gpt2course.grading import jail
from gpt2course.grading.sandbox import SANDBOX_UIDS, SandboxLimits


def test_sys_exit_in_a_cell_stops_nothing(tmp_path):
    result = grade(make_submission(tmp_path / "s.ipynb", filled=False,
                                   **unfilled_gelu_with("import sys\nsys.exit(0)")))
    assert scores(result) == ZERO
    unharmed = make_submission(tmp_path / "t.ipynb", **{"04_MLP": "import sys\nsys.exit(0)"})
    assert scores(grade(unharmed)) == {**FULL, "04.MLP": 0.0}


def test_os_exit_inside_the_learners_code_loses_only_that_exercise(tmp_path):
    result = grade(make_submission(tmp_path / "s.ipynb", **module_that("import os\nos._exit(0)")))
    assert scores(result) == {**FULL, "04.MLP": 0.0}
    assert "do not call exit()" in message(result, "04.MLP")


@pytest.mark.slow
def test_an_endless_loop_times_out_and_loses_only_that_exercise(tmp_path):
    result = grade(make_submission(tmp_path / "s.ipynb", **module_that("while True:\n    pass")))
    assert scores(result) == {**FULL, "04.MLP": 0.0}
    assert "took longer than" in message(result, "04.MLP")


def test_a_memory_bomb_loses_only_that_exercise(tmp_path):
    bomb = "hog = []\nwhile True:\n    hog.append(bytearray(100_000_000))"
    limits = SandboxLimits(notebook_s=60, exercise_s=8, memory_mb=1536)
    result = grade(make_submission(tmp_path / "s.ipynb", **module_that(bomb)), limits)
    assert scores(result) == {**FULL, "04.MLP": 0.0}
    # Filling memory is slow on a busy machine: out of memory or out of time, both stop it.
    assert "MemoryError" in message(result, "04.MLP") or "took longer" in message(
        result, "04.MLP")


@pytest.mark.slow
def test_a_fork_bomb_is_contained_and_cleaned_up(tmp_path):
    bomb = "import os\nfor _ in range(10_000):\n    os.fork()"
    result = grade(make_submission(tmp_path / "s.ipynb", **module_that(bomb)))
    assert scores(result) == {**FULL, "04.MLP": 0.0}
    left = subprocess.run(["pgrep", "-u", ",".join(map(str, SANDBOX_UIDS))],
                          capture_output=True, text=True).stdout
    assert not [pid for pid in left.split() if in_deleted_folder(pid)]


def test_huge_output_is_capped_and_loses_only_that_exercise(tmp_path):
    flood = "while True:\n    print('x' * 1_000_000)"
    result = grade(make_submission(tmp_path / "s.ipynb", **module_that(flood)))
    assert scores(result) == {**FULL, "04.MLP": 0.0}
    assert len(message(result, "04.MLP")) < 6000


@pytest.mark.skipif(os.geteuid() != 0 and not jail.usable()[0],
                    reason="cutting the network needs root or bubblewrap")
def test_the_network_is_cut(tmp_path):
    probe = ("import socket\ntry:\n    socket.create_connection(('127.0.0.1', 22), timeout=1)\n"
             "except OSError as err:\n    raise RuntimeError('no network: ' + str(err))\n")
    result = grade(make_submission(tmp_path / "s.ipynb", **gelu_that(probe)))
    assert result.sandbox["network_cut"] is True
    assert "no network" in message(result, "04.gelu")


