"""In Chinese the learner reads Chinese: a wrong function in a Chinese notebook gets a
Chinese verdict from check(), and `gpt2course grade --lang zh` writes Chinese feedback into
the CSV, the JSON and Gradescope's results.json."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import nbformat
import pytest

from gpt2course.cli import main
from gpt2course.grading.notebooks import nbgrader_meta
from gpt2course.translations import find_lessons, load_translations, translated_notebook
from gpt2course.translations_build import course_environment, execute

ROOT = Path(__file__).resolve().parents[1]
CHINESE = re.compile(r"[\u4e00-\u9fff]")
# The frame of an English verdict: none of it may be left in a Chinese one.
ENGLISH = re.compile(r"\b(failed|passed|expected|Likely bug|got)\b")
WRONG_MASK = "def causal_mask(T):\n    return torch.ones(T, T, dtype=torch.bool).triu()\n"


def _chinese_lesson_03() -> nbformat.NotebookNode:
    lesson = find_lessons(ROOT / "solutions", "03")[0]
    return translated_notebook(nbformat.read(lesson.notebook, as_version=4),
                               load_translations(lesson.translation))


def test_wrong_function_in_a_chinese_notebook_gets_a_chinese_verdict(tmp_path):
    notebook = _chinese_lesson_03()
    ids = [nbgrader_meta(c).get("grade_id") for c in notebook.cells]
    end = ids.index("03_causal_mask_check") + 1
    notebook.cells = notebook.cells[:end]  # the Chinese import cell ... the mask's check
    notebook.cells[ids.index("03_causal_mask")].source = WRONG_MASK
    execute(notebook, tmp_path, course_environment(ROOT))
    verdict = "".join(o.get("text", "") for o in notebook.cells[-1].outputs)
    assert "causal_mask" in verdict and CHINESE.search(verdict), verdict
    assert "上三角" in verdict, verdict  # the diagnosis of this very bug, in Chinese
    assert not ENGLISH.search(verdict), f"English left in the Chinese verdict:\n{verdict}"


def _feedback_of(kind: str, path: Path) -> str:
    """The text a learner reads for the causal_mask exercise (CSV: the error column of a
    hand-in that is not a notebook, the CSV's only sentence)."""
    if kind == "csv":
        rows = list(csv.DictReader(path.open(encoding="utf-8")))
        return next(r["error"] for r in rows if r["submission"].endswith("bob.ipynb"))
    data = json.loads(path.read_text(encoding="utf-8"))
    if kind == "json":
        alice = next(d for d in data if d["submission"].endswith("alice.ipynb"))
        return next(e["message"] for e in alice["exercises"] if e["id"] == "03.causal_mask")
    return next(t["output"] for t in data["tests"] if t["name"] == "03.causal_mask")


@pytest.fixture(scope="module")
def graded_in_chinese(tmp_path_factory):
    from grading_support import LESSONS, make_submission

    folder = tmp_path_factory.mktemp("zh")
    hand_ins = folder / "hand-ins"
    hand_ins.mkdir()
    alice = make_submission(hand_ins / "alice.ipynb", lesson="03_attention",
                            **{"03_causal_mask": WRONG_MASK})
    (hand_ins / "bob.ipynb").write_text("{ not a notebook", encoding="utf-8")
    out = {"csv": folder / "grades.csv", "json": folder / "grades.json",
           "gradescope": folder / "results.json"}
    common = ["--lessons", str(LESSONS), "--time-limit", "120", "--lang", "zh"]
    # exit 1: bob's hand-in could not be graded (its row says why)
    assert main(["grade", str(hand_ins), "--out", str(out["csv"]), "--json", str(out["json"]),
                 *common]) in (0, 1)
    assert main(["grade", str(alice), "--gradescope", str(out["gradescope"]), *common]) == 0
    return out


@pytest.mark.parametrize("kind", ["csv", "json", "gradescope"])
def test_grade_lang_zh_writes_chinese_feedback(graded_in_chinese, kind):
    text = _feedback_of(kind, graded_in_chinese[kind])
    assert CHINESE.search(text), text
    if kind != "csv":
        assert "上三角" in text, text  # the mask's diagnosis, in Chinese
    assert not ENGLISH.search(text), f"English left in the Chinese feedback:\n{text}"


@pytest.mark.parametrize("kind", ["wrong shape", "wrong dtype"])
def test_shape_and_dtype_hints_reach_a_chinese_learner(kind):
    # Hints are keyed by the kind of mismatch, not by English words of its summary, so the
    # Chinese summary gets the same hint under it, in Chinese.
    import numpy as np

    from gpt2course.exercises.compare import exact, shown, with_hints
    from gpt2course.i18n import N_, speaking

    hint = N_("Return the rows of wte as they are (float32); do not convert them.")
    compare = with_hints(exact, {kind: hint})
    expected = np.zeros((2, 3), dtype=np.float32)
    got = np.zeros((3, 2), np.float32) if kind == "wrong shape" else expected.astype(np.int64)
    for lang in ("en", "zh"):
        with speaking(lang):
            found = compare(expected, got)
            assert found is not None and found.kind == kind
            assert shown(hint) in found.details, (lang, found)
            if lang == "zh":
                assert CHINESE.search(found.summary) and CHINESE.search(shown(hint))
