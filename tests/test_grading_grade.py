"""``gpt2course grade`` on hand-written submissions: full marks, zero, and the right losses."""

from __future__ import annotations

import os
import shutil
from types import SimpleNamespace

import pytest
from grading_support import FULL, LESSONS, grade, make_submission, message, scores

RELU_MLP = """
def mlp(x, c_fc_weight, c_fc_bias, c_proj_weight, c_proj_bias):
    return torch.relu(x @ c_fc_weight.T + c_fc_bias) @ c_proj_weight.T + c_proj_bias
"""
ERF_GELU = """
def gelu(x):
    return 0.5 * x * (1 + torch.erf(x / math.sqrt(2)))
"""


def test_correct_submission_scores_full_marks(tmp_path):
    result = grade(make_submission(tmp_path / "alice.ipynb"))
    assert result.error is None and scores(result) == FULL
    assert result.total == result.max_total == 4


def test_unfilled_lesson_scores_zero_without_crashing(tmp_path):
    result = grade(make_submission(tmp_path / "bob.ipynb", filled=False))
    assert scores(result) == {k: 0.0 for k in FULL}
    assert "not written yet" in message(result, "04.gelu")


def test_relu_in_the_mlp_loses_only_the_mlp(tmp_path):
    result = grade(make_submission(tmp_path / "c.ipynb", **{"04_mlp": RELU_MLP}))
    assert scores(result) == {**FULL, "04.mlp": 0.0}
    assert message(result, "04.mlp").endswith("Likely bug: the MLP uses ReLU; GPT-2 uses GELU.")


def test_exact_gelu_costs_only_gelu_and_is_named_where_it_breaks_others(tmp_path):
    """One bug costs one exercise: mlp and MLP are graded with a correct gelu."""
    result = grade(make_submission(tmp_path / "d.ipynb", **{"04_gelu": ERF_GELU}))
    assert scores(result) == {**FULL, "04.gelu": 0.0}
    assert "exact (erf) GELU" in message(result, "04.gelu")
    assert "your gelu is what breaks it" in message(result, "04.mlp")
    assert "exact (erf) GELU" in message(result, "04.mlp")


def test_a_broken_cell_loses_only_what_it_defines(tmp_path):
    result = grade(make_submission(tmp_path / "e.ipynb", **{"04_MLP": "class MLP(:\n"}))
    assert scores(result) == {**FULL, "04.MLP": 0.0}
    assert "SyntaxError" in message(result, "04.MLP")


def test_ipython_syntax_runs_as_in_jupyter(tmp_path):
    """%%time and %%capture cells, %time stmt, !shell, x = !cmd, obj? (attack_handins_more):
    the code around them runs as it did in Jupyter."""
    from attack_handins_more import MAGICS

    result = grade(make_submission(tmp_path / "f.ipynb", **MAGICS))
    assert scores(result) == FULL


def test_renamed_function_is_reported_missing(tmp_path):
    cell = "def my_gelu(x):\n    return x\n"
    result = grade(make_submission(tmp_path / "g.ipynb", **{"04_gelu": cell}))
    assert scores(result)["04.gelu"] == 0.0
    assert "No function or class named 'gelu'" in message(result, "04.gelu")


def test_solution_written_in_a_new_cell_is_not_taken(tmp_path):
    def move_answer_to_new_cell(nb):
        import nbformat

        gelu_cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get(
            "grade_id") == "04_gelu")
        nb.cells.append(nbformat.v4.new_code_cell(gelu_cell.source))
        nb.cells.remove(gelu_cell)

    result = grade(make_submission(tmp_path / "h.ipynb", edit=move_answer_to_new_cell))
    assert scores(result)["04.gelu"] == 0.0
    assert "solution cell for gelu was not found" in message(result, "04.gelu")


def test_not_a_notebook_gives_one_clear_error(tmp_path):
    bad = tmp_path / "essay.ipynb"
    bad.write_text("this is not json")
    result = grade(bad)
    assert result.exercises == [] and "not a Jupyter notebook" in result.error


def test_a_notebook_of_another_course_gives_one_clear_error(tmp_path):
    import nbformat

    other = tmp_path / "other.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1")]), other)
    assert "no solution cells of any lesson" in grade(other).error


def test_the_training_lesson_is_recognised_and_has_nothing_to_score(tmp_path, capsys):
    from gpt2course.cli import main

    handed_in = tmp_path / "07_training.ipynb"
    shutil.copy(LESSONS / "07_training.ipynb", handed_in)
    result = grade(handed_in)
    assert (result.error, result.lesson, result.exercises) == (None, "07_training.ipynb", [])
    assert main(["grade", str(handed_in), "--lessons", str(LESSONS)]) == 0
    assert "07_training.ipynb has no graded exercises; nothing to score" in capsys.readouterr().out


def test_grading_works_after_transformers_was_imported(tmp_path):
    """Once a model class is taken from transformers, its spec lists Path objects."""
    from transformers import GPT2LMHeadModel  # noqa: F401  (as an instructor's notebook may)

    from gpt2course.grading.sandbox import hidden_paths

    assert any("transformers" in p for p in hidden_paths())
    assert all(isinstance(p, str) for p in hidden_paths())
    result = grade(make_submission(tmp_path / "erin.ipynb"))
    assert result.error is None and scores(result) == FULL


@pytest.mark.parametrize("command", ["grade", "check"])
def test_windows_gets_one_clear_line_instead_of_an_import_error(command, monkeypatch, capsys):
    from gpt2course import cli
    from gpt2course.grading import commands

    monkeypatch.setattr(commands, "os", SimpleNamespace(name="nt", environ=os.environ))
    assert cli.main([command, str(LESSONS / "04_mlp.ipynb"), "--lessons", str(LESSONS)]) == 2
    err = capsys.readouterr().err
    assert f"gpt2course {command}:" in err and "Windows" in err and "WSL" in err
    assert "Traceback" not in err
