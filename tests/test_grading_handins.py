"""What learners really hand in: split or copied solution cells, notebooks that Jupyter
opens but that declare the wrong nbformat, files that are no notebook; and the exit codes
of ``gpt2course grade`` that tell a script whether every hand-in was graded."""

from __future__ import annotations

import json

import nbformat
import pytest
from grading_support import FULL, LESSONS, ROOT, grade, make_submission, message, scores

from gpt2course.cli import main
from gpt2course.grading.notebooks import NotebookError, bounded, read_notebook

SOLUTIONS = ROOT / "solutions"


def _split_cell(nb, grade_id: str, at: str) -> None:
    """Split the solution cell ``grade_id`` before the line starting with ``at``; both halves
    keep the nbgrader metadata, as JupyterLab's "Split Cell" does."""
    for k, cell in enumerate(nb.cells):
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            lines = cell.source.splitlines()
            cut = next(i for i, line in enumerate(lines) if line.startswith(at))
            second = nbformat.from_dict(json.loads(json.dumps(cell)))
            second.id = cell.id + "b"
            cell.source, second.source = "\n".join(lines[:cut]), "\n".join(lines[cut:])
            nb.cells.insert(k + 1, second)
            return
    raise AssertionError(f"no cell {grade_id}")


def _stub_copy_above(nb, grade_id: str, stub_source: str) -> None:
    for k, cell in enumerate(nb.cells):
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            stub = nbformat.from_dict(json.loads(json.dumps(cell)))
            stub.id = cell.id + "s"
            stub.source = stub_source
            nb.cells.insert(k, stub)
            return
    raise AssertionError(f"no cell {grade_id}")


def _lesson_source(grade_id: str, lesson: str = "04_mlp") -> str:
    nb = nbformat.read(LESSONS / f"{lesson}.ipynb", as_version=4)
    return next(c.source for c in nb.cells
                if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


# --- duplicate grade_ids -------------------------------------------------------------------


def test_a_split_solution_cell_is_graded_as_the_notebook_runs_it(tmp_path):
    # gelu's cell split in two: the first half defines a helper, the second the function.
    helper = ("def _inner(x):\n    return math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)\n"
              "\n\ndef gelu(x):\n    return 0.5 * x * (1.0 + torch.tanh(_inner(x)))\n")
    sub = make_submission(tmp_path / "split.ipynb", **{"04_gelu": helper},
                          edit=lambda nb: _split_cell(nb, "04_gelu", "def gelu"))
    assert sum(1 for c in nbformat.read(sub, 4).cells
               if c.metadata.get("nbgrader", {}).get("grade_id") == "04_gelu") == 2
    result = grade(sub)
    assert result.error is None and scores(result) == FULL
    assert "2 cells with the nbgrader id '04_gelu'" in message(result, "04.gelu")
    assert "nbgrader id" not in message(result, "04.mlp")  # only the duplicated one is named


def test_a_stub_copy_above_the_real_answer_does_not_hide_it(tmp_path):
    stub = _lesson_source("04_mlp")
    assert "raise NotImplementedError()" in stub
    sub = make_submission(tmp_path / "copied.ipynb",
                          edit=lambda nb: _stub_copy_above(nb, "04_mlp", stub))
    result = grade(sub)
    assert scores(result) == FULL
    assert "2 cells with the nbgrader id '04_mlp'" in message(result, "04.mlp")


def test_the_last_definition_wins_as_in_jupyter(tmp_path):
    # The answer above, an unfilled copy below: Jupyter's Run All leaves the stub defined.
    stub = _lesson_source("04_gelu")

    def stub_below(nb):
        _stub_copy_above(nb, "04_gelu", "placeholder")
        cells = nb.cells
        k = next(i for i, c in enumerate(cells) if c.source == "placeholder")
        cells[k], cells[k + 1] = cells[k + 1], cells[k]
        cells[k + 1].source = stub

    result = grade(make_submission(tmp_path / "below.ipynb", edit=stub_below))
    assert scores(result)["04.gelu"] == 0.0
    assert "2 cells with the nbgrader id '04_gelu'" in message(result, "04.gelu")


# --- what Jupyter opens --------------------------------------------------------------------


def _as_json(path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def test_nbformat_44_with_cell_ids_is_graded(tmp_path):
    sub = make_submission(tmp_path / "downgraded.ipynb")
    data = _as_json(sub)
    data["nbformat_minor"] = 4  # cell ids kept: invalid for 4.4, yet Jupyter opens it
    sub.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(nbformat.ValidationError):
        nbformat.validate(nbformat.reads(sub.read_text(), as_version=4))
    result = grade(sub)
    assert result.error is None and scores(result) == FULL


@pytest.mark.parametrize("damage", ["no_ids_45", "extra_cell_key", "bad_metadata", "v3"])
def test_other_repairable_notebooks_are_read(tmp_path, damage):
    source = make_submission(tmp_path / "ok.ipynb")
    data = _as_json(source)
    if damage == "no_ids_45":
        for cell in data["cells"]:
            del cell["id"]
    elif damage == "extra_cell_key":
        data["cells"][1]["collapsed"] = True  # a key of old tools, unknown to 4.5
    elif damage == "bad_metadata":
        data["cells"][1]["metadata"]["scrolled"] = "yes"  # must be a bool or "auto"
    else:
        data = json.loads(nbformat.writes(
            nbformat.convert(nbformat.reads(source.read_text(), as_version=4), 3)))
    path = tmp_path / f"{damage}.ipynb"
    path.write_text(json.dumps(data), encoding="utf-8")
    notebook = read_notebook(path)
    nbformat.validate(notebook)
    assert notebook.nbformat == 4 and all(c.get("id") for c in notebook.cells)
    solution = [c.source for c in notebook.cells if c.metadata.get("nbgrader", {}).get("solution")]
    assert any("0.044715" in s for s in solution)  # the learner's answer survives the repair


def test_a_damaged_notebook_error_is_never_cut_mid_word(tmp_path):
    data = _as_json(make_submission(tmp_path / "ok.ipynb"))
    data["cells"][2]["cell_type"] = "codee"  # nothing can repair an unknown cell type
    bad = tmp_path / "bad.ipynb"
    bad.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(NotebookError) as err:
        read_notebook(bad)
    text = str(err.value)
    inner = text[text.index("(") + 1: text.rindex(")")]
    assert "not a Jupyter notebook, or a damaged one" in text
    assert inner.endswith(" …") and len(inner) <= 205
    assert _whole_words(inner[:-2], json.dumps(data) + _validation_text(bad))


def _validation_text(path) -> str:
    try:
        nbformat.validate(nbformat.reads(path.read_text(), as_version=4))
    except nbformat.ValidationError as err:
        return f"{type(err).__name__}: {' '.join(str(err).split())}"
    return ""


def _whole_words(shown: str, full: str) -> bool:
    """Every word of ``shown`` is a whole word of ``full`` (the last one too)."""
    import re

    words = set(re.findall(r"\w+", full))
    return all(w in words for w in re.findall(r"\w+", shown))


@pytest.mark.parametrize("text, limit", [
    ("Additional properties are not allowed ('metadata' was unexpected) " * 6, 120),
    ("short", 200),
    ("a" * 50 + " " + "b" * 300, 100),
    ("c" * 400, 100),
    ("one,two;three:four(five)six" * 20, 90),
])
def test_bounded_never_cuts_a_word(text, limit):
    shown = bounded(text, limit)
    assert len(shown) <= limit + 2
    if shown == " ".join(text.split()):
        return
    assert shown.endswith("…")
    assert _whole_words(shown.rstrip(" …"), text)


# --- exit codes ----------------------------------------------------------------------------


def test_a_single_file_that_cannot_be_graded_exits_2(tmp_path, capsys):
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes on attention")
    assert main(["grade", str(notes), "--lessons", str(LESSONS)]) == 2
    assert "ERROR" in capsys.readouterr().out


def test_a_folder_exits_1_when_any_row_is_an_error_and_still_writes_reports(tmp_path, capsys):
    folder = tmp_path / "handins"
    folder.mkdir()
    make_submission(folder / "alice.ipynb")
    (folder / "notes.ipynb").write_text("not a notebook")
    (folder / "notes.txt").write_text("not a notebook either: skipped, no row")
    out = tmp_path / "grades.csv"
    assert main(["grade", str(folder), "--lessons", str(LESSONS), "--out", str(out)]) == 1
    assert "1 of 2 submissions could not be graded" in capsys.readouterr().err
    rows = out.read_text().splitlines()
    assert len(rows) == 3
    assert any("notes.ipynb" in r and "not a Jupyter notebook" in r for r in rows)


def test_a_folder_of_good_hand_ins_exits_0(tmp_path):
    folder = tmp_path / "handins"
    folder.mkdir()
    make_submission(folder / "alice.ipynb")
    make_submission(folder / "bob.ipynb", filled=False)  # zero points is a grade, not an error
    assert main(["grade", str(folder), "--lessons", str(LESSONS)]) == 0
