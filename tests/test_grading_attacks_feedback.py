"""Attacks through what the grader shows and writes: terminal escapes and huge texts in the
feedback, results files that make numpy allocate what they claim, edited nbgrader
metadata, and file names that a spreadsheet or Gradescope would act on.
"""

from __future__ import annotations

import csv
import io
import json

from attack_handins import CONTROL, edit_metadata
from attack_support import ZERO
from grading_support import LESSONS, grade, make_submission, message, scores

from gpt2course.cli import main
from gpt2course.grading.grade import MAX_MESSAGE, ExerciseGrade, SubmissionGrade
from gpt2course.grading.reports import to_csv, to_gradescope

ESCAPES = ("'\\x1b[1A\\x1b[2K\\rs.ipynb: 4 / 4\\x1b]52;c;cm0gLXJm\\x07"
           "\\u202e<script>alert(1)</script>'")
# The npz claims 4e9 float64s (32 GB) in 64 bytes: numpy would allocate first, then read.
NPZ_BOMB = """
        import os, struct, zipfile
        header = "{'descr': '<f8', 'fortran_order': False, 'shape': (4000000000,), }"
        header = header.ljust(118) + chr(10)
        npy = b'\\x93NUMPY\\x01\\x00' + struct.pack('<H', len(header)) + header.encode()
        with zipfile.ZipFile('../out/2.npz', 'w') as z:
            z.writestr('c0_0.npy', npy + bytes(64))
        with open('../out/2.json', 'w') as f:
            f.write('{"cell_errors": [], "cases": [' + ', '.join(
                ['{"value": {"__array__": "c0_0"}}'] * 2) + ']}')
        os._exit(0)
"""


def test_feedback_is_safe_to_print_bounded_and_metadata_changes_nothing(tmp_path):
    cells = {
        "04_gelu": f"print({ESCAPES})\n\ndef gelu(x):\n    raise RuntimeError({ESCAPES})\n",
        "04_mlp": "def mlp(x, **weights):\n"
                  "    return {'k%07d' % i + 'y' * 50: 0 for i in range(20_000)}\n",
        "04_MLP": "class MLP(nn.Module):\n    def __init__(self, n_embd):\n"
                  "        super().__init__()\n"
                  "        self.c_fc = nn.Linear(n_embd, 4 * n_embd)\n"
                  "        self.c_proj = nn.Linear(4 * n_embd, n_embd)\n\n"
                  "    def forward(self, x):\n"
                  + NPZ_BOMB.replace("\n        ", "\n        ").rstrip() + "\n",
    }
    sub = make_submission(tmp_path / "s.ipynb", filled=False, edit=edit_metadata, **cells)
    result = grade(sub)
    assert result.error is None  # the npz bomb is a wrong answer, not a grader failure
    assert scores(result) == ZERO and result.max_total == 4  # points: 100 and 04_extra ignored
    for e in result.exercises:
        assert not CONTROL.search(e.message), e.message[:300]
        assert len(e.message) <= MAX_MESSAGE + 10
    shown = message(result, "04.gelu")
    assert "\\x1b[1A" in shown and "\\u202e" in shown  # visible as escapes, not acted on
    assert "could not read what your code returned" in message(result, "04.MLP")


def test_reports_keep_formulas_and_markup_as_text():
    rows = [SubmissionGrade("=HYPERLINK(\"http://x\",\"4\").ipynb", "04_mlp",
                            [ExerciseGrade("04.gelu", 1, 0.0, "<b>4 / 4</b>")]),
            SubmissionGrade("@SUM(A1).ipynb", error="+cmd|' /C calc'!A0"),
            SubmissionGrade("honest.ipynb", "04_mlp", [ExerciseGrade("04.gelu", 1, 1.0, "")])]
    table = list(csv.reader(io.StringIO(to_csv(rows))))
    cells = [c for row in table[1:] for c in row]
    assert not [c for c in cells if c and c[0] in "=+-@"], cells
    assert table[1][0] == "'=HYPERLINK(\"http://x\",\"4\").ipynb" and table[3][0] == "honest.ipynb"
    results = json.loads(to_gradescope(rows[0]))
    assert results["output_format"] == results["test_output_format"] == "text"


def test_a_hostile_file_name_reaches_neither_terminal_nor_spreadsheet(tmp_path, capsys):
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "=HYPERLINK(1)\x1b[2J\x1b]0;pwned\x07.ipynb").write_text("not a notebook")
    out = tmp_path / "g.csv"
    assert main(["grade", str(subs), "--lessons", str(LESSONS), "--out", str(out)]) == 1
    printed = capsys.readouterr()
    assert not CONTROL.search(printed.out + printed.err), printed
    row = next(csv.DictReader(out.open()))
    assert "=HYPERLINK" in row["submission"] and not row["error"].startswith("=")
