"""Attacks of ``attack_handins_more.py`` that the tests grade (one hand-in holds several),
and the notebook files of public grader bug reports: a byte-order mark, UTF-16, bytes
that are not UTF-8, IPython syntax in a solution cell."""

from __future__ import annotations

import codecs
import json

import pytest
from attack_handins import GELU_CELL, MLP_OK
from attack_handins_more import GLOBALS, MAGICS, REWRITE
from grading_support import grade, make_submission, message, scores

from gpt2course.grading.ipython_syntax import python_source
from gpt2course.grading.notebooks import read_notebook
from gpt2course.grading.untrusted import clean_text

# Run in every exercise's process: its standard descriptors closed, another working folder.
# They cost nothing of a correct solution.
OWN_STATE = "import os\nfor fd in (0, 1, 2):\n    os.close(fd)\nos.chdir('/')\n"


@pytest.mark.slow
def test_results_are_those_of_the_exercise_s_own_process(tmp_path):
    """gelu's cases computed with the forbidden F.gelu where it is allowed (mlp's process)
    and written over gelu's results earn nothing; settings that only change the learner's
    own process leave a correct answer its points."""
    cells = {"04_gelu": "def gelu(x):\n    return x\n" + REWRITE,
             "04_mlp": OWN_STATE + GLOBALS.replace(GELU_CELL, "") + MLP_OK}
    result = grade(make_submission(tmp_path / "rewrite.ipynb", **cells))
    assert scores(result) == {"04.gelu": 0.0, "04.mlp": 2.0, "04.MLP": 1.0}
    assert "values are off" in message(result, "04.gelu")


def _stray_bytes(data: bytes) -> bytes:
    """Latin-1 bytes in the notebook's metadata (its last "metadata", never empty)."""
    at = data.rindex(b'"metadata": {') + len(b'"metadata": {')
    return data[:at] + b'"tool": "caf\xe9 \xff", ' + data[at:]


@pytest.mark.parametrize("encode", [
    lambda text: codecs.BOM_UTF8 + text.encode(),
    lambda text: text.encode("utf-16"),
    lambda text: _stray_bytes(text.encode()),
], ids=["bom", "utf-16", "latin-1-bytes"])
def test_notebooks_saved_by_other_editors_are_read(tmp_path, encode):
    path = make_submission(tmp_path / "plain.ipynb")
    text = json.dumps(json.loads(path.read_text()), indent=1)
    odd = tmp_path / "odd.ipynb"
    odd.write_bytes(encode(text))
    assert [c.source for c in read_notebook(odd).cells] == [
        c.source for c in read_notebook(path).cells]


def test_ipython_syntax_becomes_python():
    assert python_source("%%time\nx = 1\n").strip() == "x = 1"
    assert python_source("\n%%capture out\n%%time\ny = 2\n").strip() == "y = 2"
    assert "run_cell_magic('bash'" in python_source("%%bash\nrm -rf /\n")
    converted = python_source(MAGICS["04_mlp"])
    compile(converted, "cell", "exec")  # every line is Python now
    assert "get_ipython().getoutput('ls')" in converted
    assert "run_line_magic('time', 'y = 1')" in converted
    text = 's = """\n%not a magic\n"""\n'
    assert python_source(text) == text


def test_lone_surrogates_in_feedback_are_shown_as_escapes():
    """A learner's string "\\udcff" in an error would stop a UTF-8 print or CSV write."""
    shown = clean_text("bad \udcff and \ud800 end", 100)
    assert shown == "bad \\udcff and \\ud800 end"
    shown.encode("utf-8")
