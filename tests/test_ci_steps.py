"""``make test`` runs every step through ``.ci/steps``: a red step does not stop the
others, the summary lists each step with its time, and the exit code says if any failed."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

STEPS = Path(__file__).resolve().parents[1] / ".ci" / "steps"
pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")


def _run(tmp_path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(STEPS), *args], cwd=tmp_path, capture_output=True,
                          text=True, timeout=60)


def test_a_failing_step_does_not_stop_the_next_and_fails_at_the_end(tmp_path):
    done = _run(tmp_path, "first", "echo one > first.txt; exit 3",
                "second", "echo two > second.txt",
                "third", "false")
    assert done.returncode == 1
    assert (tmp_path / "first.txt").exists() and (tmp_path / "second.txt").exists()
    summary = done.stdout[done.stdout.index("=== summary"):].splitlines()[1:]
    assert [line.split()[0] for line in summary] == ["FAILED", "ok", "FAILED", "total"]
    assert summary[1].endswith("second") and "s wall" in summary[1] and "s CPU" in summary[1]
    assert "s machine" in summary[1]


@pytest.mark.skipif(not Path("/proc/stat").exists(), reason="the machine's CPU time: Linux")
def test_the_machine_column_counts_what_the_step_does_not_wait_for(tmp_path):
    """A process the step leaves running (as a sandboxed grader's processes are reaped by
    another parent) is missing from the step's CPU time but not from the machine's."""
    burn = ("import time\nwhile time.process_time() < 1.5:\n    pass\n"
            "open('done', 'w').close()\n")
    (tmp_path / "burn.py").write_text(burn)
    done = _run(tmp_path, "orphan",
                "(python3 burn.py &) ; while [ ! -f done ]; do sleep 0.1; done")
    assert done.returncode == 0, done.stderr
    row = done.stdout[done.stdout.index("=== summary"):].splitlines()[1].split()
    wall, cpu, machine = int(row[1]), int(row[4]), int(row[7])
    assert cpu == 0 and machine >= 1 and wall >= 1, row


def test_all_green_exits_0_and_keeps_each_steps_output(tmp_path):
    done = _run(tmp_path, "hello", "echo hello from the step", "err", "echo to stderr >&2")
    assert done.returncode == 0
    assert "hello from the step" in done.stdout and "to stderr" in done.stderr


def test_the_makefile_runs_its_test_steps_through_it():
    makefile = (STEPS.parents[1] / "Makefile").read_text()
    recipe = makefile[makefile.index("\ntest: setup"):].split("\n\n")[0]
    assert "bash .ci/steps" in recipe
    for step in ("ruff check", "pytest tests", "assign --check", "--nbval solutions/",
                 "--nbval-lax lessons/"):
        assert step in recipe, step
