"""The Gradescope bundle, run as Gradescope runs it: the zip unpacked into a simulated
``/autograder`` (a temporary folder named by ``AUTOGRADER_ROOT``), the submission in
``submission/``, ``run_autograder`` started directly, and its ``results/results.json``
checked against Gradescope's specification of that file.

Gradescope's ``setup.sh`` pip-installs the bundle into ``/autograder/venv``; offline, the
simulated venv's ``gpt2course`` runs this Python with the *bundled* package first on the
path, so a file missing from the bundle fails here too.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from grading_support import LESSONS, SEED, make_submission

from gpt2course.cli import main

RELU_MLP = ("def mlp(x, c_fc_weight, c_fc_bias, c_proj_weight, c_proj_bias):\n"
            "    hidden = torch.relu(x @ c_fc_weight.T + c_fc_bias)\n"
            "    return hidden @ c_proj_weight.T + c_proj_bias\n")

# Gradescope's results.json (help.gradescope.com, "Autograder Specifications"): the keys
# it reads at the top level and in each test.
TOP_KEYS = {"score", "execution_time", "output", "output_format", "test_output_format",
            "test_name_format", "visibility", "stdout_visibility", "extra_data", "tests",
            "leaderboard"}
TEST_KEYS = {"score", "max_score", "status", "name", "name_format", "number", "output",
             "output_format", "tags", "visibility", "extra_data"}
VISIBILITY = {"hidden", "after_due_date", "after_published", "visible"}


def check_results_schema(data: dict) -> None:
    """Fail unless ``data`` is a results.json Gradescope accepts, with every test named,
    scored out of its maximum, and the total equal to the sum of the tests."""
    assert set(data) <= TOP_KEYS, set(data) - TOP_KEYS
    assert isinstance(data["score"], (int, float))
    for key in ("output",):
        assert isinstance(data.get(key, ""), str)
    assert data.get("stdout_visibility", "hidden") in VISIBILITY
    assert data.get("visibility", "visible") in VISIBILITY
    if "execution_time" in data:
        assert isinstance(data["execution_time"], (int, float))
    tests = data["tests"]
    assert isinstance(tests, list) and tests
    for test in tests:
        assert set(test) <= TEST_KEYS, set(test) - TEST_KEYS
        assert {"name", "score", "max_score", "status", "output", "visibility"} <= set(test)
        assert isinstance(test["name"], str) and test["name"]
        assert isinstance(test["output"], str)
        assert test["status"] in ("passed", "failed")
        assert test["visibility"] in VISIBILITY
        assert 0 <= test["score"] <= test["max_score"] or test["max_score"] == 0
        assert (test["status"] == "passed") == (test["score"] == test["max_score"] > 0)
    assert abs(data["score"] - sum(t["score"] for t in tests)) < 1e-9


@pytest.fixture(scope="module")
def autograder(tmp_path_factory) -> Path:
    """/autograder as Gradescope lays it out, with the bundle unpacked in source/."""
    root = tmp_path_factory.mktemp("autograder")
    bundle = root.parent / "autograder.zip"
    assert main(["gradescope-bundle", str(bundle), "--lessons", str(LESSONS),
                 "--seed", str(SEED)]) == 0
    with zipfile.ZipFile(bundle) as z:
        for info in z.infolist():
            target = Path(z.extract(info, root / "source"))
            mode = info.external_attr >> 16
            if mode:
                target.chmod(mode)
    venv_bin = root / "venv" / "bin"
    venv_bin.mkdir(parents=True)
    (venv_bin / "gpt2course").write_text(
        "#!/bin/sh\n"
        f'PYTHONPATH="{root / "source"}" exec "{sys.executable}" -c '
        '"import sys; from gpt2course.cli import main; sys.exit(main())" "$@"\n')
    (venv_bin / "gpt2course").chmod(0o755)
    return root


def run_autograder(root: Path, handed_in: Path | None) -> dict:
    """One Gradescope run: a fresh submission/ and results/, then run_autograder."""
    for folder in ("submission", "results"):
        shutil.rmtree(root / folder, ignore_errors=True)
        (root / folder).mkdir()
    if handed_in is not None:
        shutil.copy(handed_in, root / "submission" / handed_in.name)
    env = {**os.environ, "AUTOGRADER_ROOT": str(root)}
    env.pop("GPT2COURSE_GRADING_SEED", None)
    done = subprocess.run([str(root / "source" / "run_autograder")], env=env, cwd=root,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    data = json.loads((root / "results" / "results.json").read_text())
    check_results_schema(data)
    return data


def test_the_bundled_package_is_the_one_that_runs(autograder):
    out = subprocess.run(
        [str(autograder / "venv" / "bin" / "gpt2course"), "--help"],
        capture_output=True, text=True, timeout=120, cwd=autograder)
    assert out.returncode == 0 and "grade" in out.stdout
    probe = subprocess.run(  # from outside the checkout, as the wrapper runs it
        [sys.executable, "-c", "import gpt2course; print(gpt2course.__file__)"],
        env={**os.environ, "PYTHONPATH": str(autograder / "source")}, cwd=autograder,
        capture_output=True, text=True, timeout=120)
    assert Path(probe.stdout.strip()).is_relative_to(autograder / "source")


@pytest.mark.slow
def test_full_marks_and_partial_credit(autograder, tmp_path):
    full = run_autograder(autograder, make_submission(tmp_path / "04_mlp.ipynb"))
    assert full["score"] == 4
    assert [(t["name"], t["score"], t["status"]) for t in full["tests"]] == [
        ("04.gelu", 1.0, "passed"), ("04.mlp", 2.0, "passed"), ("04.MLP", 1.0, "passed")]
    (tmp_path / "relu").mkdir()
    partial = run_autograder(autograder, make_submission(tmp_path / "relu" / "04_mlp.ipynb",
                                                         **{"04_mlp": RELU_MLP}))
    assert partial["score"] == 2
    mlp = next(t for t in partial["tests"] if t["name"] == "04.mlp")
    assert mlp["status"] == "failed" and mlp["score"] == 0 and "mlp" in mlp["output"]


def test_no_notebook_and_a_broken_one_still_give_results(autograder, tmp_path):
    nothing = run_autograder(autograder, None)
    assert nothing["score"] == 0 and "No .ipynb file" in nothing["tests"][0]["output"]
    broken = tmp_path / "04_mlp.ipynb"
    broken.write_text("my notes, not a notebook")
    data = run_autograder(autograder, broken)
    assert data["score"] == 0 and "not a Jupyter notebook" in data["tests"][0]["output"]


def test_the_seed_is_not_on_any_command_line(autograder):
    script = (autograder / "source" / "run_autograder").read_text()
    assert f"GPT2COURSE_GRADING_SEED={SEED}" in script and "--seed" not in script
